"""The plan: which samples a run makes, with what prompt and seed.

Why a stored plan: every rank, every resume and `--merge` must agree on the sample list. It is
computed once from the config (prompt set + run seed), written to plan.jsonl, and afterwards
always read back — so a changed dataset file on disk cannot silently change a half-done run.

A sample's seed is derived from (run seed, sample id) with `ffbench.seeding.derive_seed`
(docs/DESIGN.md "Determinism"), never from its position, so the video does not depend on batch size,
order or sharding.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass

from ..errors import ConfigError
from ..seeding import derive_seed
from .rundir import RunDir, RunDirError, atomic_write_bytes, check_id

__all__ = ["PlanItem", "Plan", "build_plan", "plan_from_prompts", "plan_from_folder",
           "folder_sample_id", "load_or_create_plan", "shard_items"]


@dataclass(frozen=True)
class PlanItem:
    sample_id: str
    prompt: str
    seed: int
    label: str | None = None
    video_id: str | None = None
    path: str | None = None    # an existing video file (`evaluate` on a folder): nothing to generate


@dataclass(frozen=True)
class Plan:
    items: tuple[PlanItem, ...]
    prompt_set: str = ""  # PromptSet.describe()
    skipped: tuple = ()   # (relative path, reason) of inputs left out when planning from a folder

    def __len__(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> list[str]:
        return [it.sample_id for it in self.items]

    def by_id(self) -> dict[str, PlanItem]:
        return {it.sample_id: it for it in self.items}

    def to_jsonl(self) -> str:
        def row(it):
            d = asdict(it)
            if d["path"] is None:  # generated samples: the format of earlier runs
                del d["path"]
            return json.dumps(d, ensure_ascii=False) + "\n"
        return "".join(row(it) for it in self.items)

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.to_jsonl().encode()).hexdigest()


def plan_from_prompts(prompts, seed: int, ids=None, labels=None, description="custom prompts") -> Plan:
    """A plan from a list of prompts (programmatic use); ids default to sample-00000, ..."""
    ids = list(ids) if ids is not None else [f"sample-{i:05d}" for i in range(len(prompts))]
    labels = list(labels) if labels is not None else [None] * len(prompts)
    if not (len(ids) == len(prompts) == len(labels)):
        raise ConfigError("prompts, ids and labels must have the same length")
    return Plan(tuple(PlanItem(check_id(i), str(p), derive_seed(seed, i), lab, None)
                      for i, p, lab in zip(ids, prompts, labels)), description)


def folder_sample_id(rel: str) -> str:
    """A safe sample id for a video at relative path `rel` (extension dropped): lowercase,
    '/' -> '__', other unsafe characters -> '-'; when that changed anything, a short hash of
    `rel` keeps two names that map alike apart."""
    import re

    last = rel.rsplit("/", 1)[-1]
    stem = rel.rsplit(".", 1)[0] if "." in last and not last.startswith(".") else rel
    sid = re.sub(r"[^a-z0-9._-]", "-", stem.lower().replace("/", "__")).lstrip("._-") or "video"
    sid = sid.replace("..", "-")[:100]
    if sid != stem:
        sid += "-" + hashlib.sha256(rel.encode()).hexdigest()[:8]
    return check_id(sid)


def plan_from_folder(folder, seed: int = 0, prompts: dict | None = None, labels_from_dirs=True) -> Plan:
    """A plan whose samples are the videos of `folder` as they are (`ffbench.video.list_videos`:
    recursive, natural order, frame folders, a stem held as both .npy and a container counted
    once: the exact .npy). `prompts` maps a video's relative path without extension, or its stem,
    to its prompt (CLIPSIM); a video's class label is its first sub-folder. Inputs the listing
    left out are in `Plan.skipped` as (relative path, reason)."""
    from pathlib import Path

    from ..video import list_videos

    root = Path(folder)
    listing = list_videos(root)
    items = []
    for f in listing.videos:
        rel = listing.relative(f)
        key = rel.rsplit(".", 1)[0] if f.is_file() else rel
        prompt = ""
        if prompts is not None:
            prompt = prompts.get(key, prompts.get(f.stem if f.is_file() else f.name)) or ""
        label = rel.split("/")[0] if labels_from_dirs and "/" in rel else None
        sid = folder_sample_id(rel)
        items.append(PlanItem(sid, prompt, derive_seed(seed, sid), label, rel, str(f.resolve())))
    ids = [it.sample_id for it in items]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{root}: two videos map to the same sample id (names differing only in case?)")
    skipped = tuple((listing.relative(p), r) for p, r in listing.skipped)
    return Plan(tuple(items), f"folder {root}", skipped)


def build_plan(config) -> Plan:
    """Prompts from ffbench.data for the config's dataset, n and seed."""
    from ..data import load_prompts

    ps = load_prompts(config.dataset, n=config.n or None, seed=config.seed,
                      root=config.dataset_root or None, prompt_file=config.prompt_file or None)
    items = []
    for it in ps:
        sid = it.sample_id.lower()
        try:
            check_id(sid)
        except ConfigError as e:
            raise ConfigError(f"dataset {config.dataset}: {e}") from None
        items.append(PlanItem(sid, it.prompt, derive_seed(config.seed, sid), it.label, it.video_id))
    ids = [i.sample_id for i in items]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"dataset {config.dataset}: sample ids are not unique (case-insensitive)")
    return Plan(tuple(items), ps.describe())


def _meta_path(rd: RunDir):
    return rd.root / "plan.meta.json"


_REMEDY = ("restore it, or use a new --out directory (the plan decides which samples the run "
           "holds; it is never guessed)")


def _read_meta(rd: RunDir) -> dict:
    from ..fileio import read_json_checked

    m = read_json_checked(_meta_path(rd), "plan description", _REMEDY, RunDirError)
    if not isinstance(m.get("n"), int) or not isinstance(m.get("plan_sha256"), str):
        raise RunDirError(f"{_meta_path(rd)}: damaged plan description (no n / plan_sha256); {_REMEDY}")
    return m


def _read_plan(rd: RunDir) -> Plan:
    """plan.jsonl, checked against plan.meta.json (count and sha256 of the bytes): a plan cut
    at a line end, edited, or without its description is refused, never run smaller."""
    try:
        data = rd.plan_jsonl.read_bytes()
    except OSError as e:
        from ..fileio import os_error_message

        raise RunDirError(f"{os_error_message(e, rd.plan_jsonl)}; {_REMEDY}") from None
    items = []
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise RunDirError(f"{rd.plan_jsonl}: damaged plan ({e}); {_REMEDY}") from None
    for n, line in enumerate(lines, 1):
        try:
            d = json.loads(line)
            items.append(PlanItem(check_id(d["sample_id"]), d["prompt"], int(d["seed"]),
                                  d.get("label"), d.get("video_id"), d.get("path")))
        except (ValueError, KeyError, TypeError) as e:
            raise RunDirError(f"{rd.plan_jsonl}:{n}: bad plan line ({e}); {_REMEDY}") from None
    m = _read_meta(rd)
    digest = hashlib.sha256(data).hexdigest()
    if m["n"] != len(items) or m["plan_sha256"] != digest:
        raise RunDirError(
            f"{rd.plan_jsonl}: {len(items)} samples (sha256 {digest[:12]}), but "
            f"{_meta_path(rd).name} records {m['n']} (sha256 {m['plan_sha256'][:12]}): the plan "
            f"was truncated or edited; {_REMEDY}")
    return Plan(tuple(items), m.get("prompt_set", ""), tuple(map(tuple, m.get("skipped", []))))


def _write_plan(rd: RunDir, plan: Plan) -> None:
    # the description first, the plan last: a plan.jsonl on disk always has its description
    atomic_write_bytes(_meta_path(rd),
                       json.dumps({"prompt_set": plan.prompt_set, "n": len(plan),
                                   "plan_sha256": plan.hash, "skipped": list(plan.skipped)},
                                  ensure_ascii=False).encode())
    atomic_write_bytes(rd.plan_jsonl, plan.to_jsonl().encode("utf-8"))


def _repair(rd: RunDir, config, plan: Plan | None, error: RunDirError) -> Plan:
    """A damaged plan.jsonl / plan.meta.json is rewritten only from a plan that provably is the
    one the run was made with (given, or built again from the config): the same sha256 as the
    intact file of the two. Else `error`."""
    if plan is None:
        from ..errors import FFBenchError

        try:
            plan = build_plan(config)
        except (FFBenchError, OSError):
            raise error from None
    want = None
    try:
        want = _read_meta(rd)["plan_sha256"]
    except RunDirError:  # the description is the damaged one: the plan file must agree
        try:
            want = hashlib.sha256(rd.plan_jsonl.read_bytes()).hexdigest()
        except OSError:
            want = None
    if want != plan.hash:
        raise error
    logging.getLogger(__name__).warning("%s: %s; rewritten from the config (same sha256)",
                                        rd.root, error)
    _write_plan(rd, plan)
    return _read_plan(rd)


def load_or_create_plan(rd: RunDir, config, plan: Plan | None = None) -> Plan:
    """The stored plan (validated), or a new one written atomically. Concurrent ranks may both
    build it; both write the same bytes, so the last rename wins harmlessly.

    `plan` (when given, e.g. built before the run directory was bound) is what the stored plan
    must equal; a damaged stored plan is rewritten from it when its recorded sha256 matches."""
    if rd.plan_jsonl.is_file():
        try:
            stored = _read_plan(rd)
        except RunDirError as e:
            stored = _repair(rd, config, plan, e)
        if plan is not None and stored.hash != plan.hash:
            raise RunDirError(f"{rd.root} already holds a different plan (prompts/seeds); "
                              "use a new run directory")
        return stored
    if plan is not None:
        for it in plan.items:
            check_id(it.sample_id)
        if len(set(plan.ids)) != len(plan):
            raise ConfigError("plan sample ids are not unique")
    plan = plan or build_plan(config)
    _write_plan(rd, plan)
    return _read_plan(rd)


def shard_items(plan: Plan, rank: int, world: int) -> list[PlanItem]:
    """Rank `rank` of `world` takes plan items rank, rank+world, ... (i::K)."""
    return list(plan.items[rank::world])
