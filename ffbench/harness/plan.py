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


def _read_plan(rd: RunDir) -> Plan:
    items = []
    for n, line in enumerate(rd.plan_jsonl.read_text(encoding="utf-8").splitlines(), 1):
        try:
            d = json.loads(line)
            items.append(PlanItem(check_id(d["sample_id"]), d["prompt"], int(d["seed"]),
                                  d.get("label"), d.get("video_id"), d.get("path")))
        except (ValueError, KeyError, TypeError) as e:
            raise RunDirError(f"{rd.plan_jsonl}:{n}: bad plan line ({e})") from None
    meta = rd.root / "plan.meta.json"
    m = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {}
    return Plan(tuple(items), m.get("prompt_set", ""), tuple(map(tuple, m.get("skipped", []))))


def load_or_create_plan(rd: RunDir, config, plan: Plan | None = None) -> Plan:
    """The stored plan, or a new one written atomically. Concurrent ranks may both build it;
    both write the same bytes, so the last rename wins harmlessly."""
    if rd.plan_jsonl.is_file():
        stored = _read_plan(rd)
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
    atomic_write_bytes(rd.root / "plan.meta.json",
                       json.dumps({"prompt_set": plan.prompt_set, "n": len(plan),
                                   "plan_sha256": plan.hash, "skipped": list(plan.skipped)},
                                  ensure_ascii=False).encode())
    atomic_write_bytes(rd.plan_jsonl, plan.to_jsonl().encode("utf-8"))
    return _read_plan(rd)


def shard_items(plan: Plan, rank: int, world: int) -> list[PlanItem]:
    """Rank `rank` of `world` takes plan items rank, rank+world, ... (i::K)."""
    return list(plan.items[rank::world])
