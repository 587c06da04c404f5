"""Prompt sets: which prompts a run generates from, under which sample ids, and why.

A `PromptSet` records the dataset, the sampling rule, the seed and the provenance (dataset file
and annotation/prompt files with their sha256) so a report can state exactly which prompts a
number was measured on. Sample ids (`ucf101-00012`) are positions in the set — never derived
from prompt text — so they are always safe file names, and file names never leak prompt text.

Sampling is *prefix-stable*: the first k prompts of a set of size n are the set of size k with the
same seed, so a run that is extended, or stopped early, keeps its already generated samples.
Randomness comes from `derive_seed(seed, key)`, a hash of the run seed and a stable key, so it
does not depend on Python's hash seed, on iteration order or on the number of workers.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple

from ..errors import ConfigError
from ..fileio import atomic_write_text
from ..textio import read_lines, read_text
from ..seeding import derive_seed

__all__ = ["PromptSet", "PromptItem", "derive_seed", "make_sample_ids", "load_prompts",
           "SAFE_ID", "read_prompts_file", "read_prompt_lines", "PROMPTS_FILE_FORMATS"]

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def make_sample_ids(prefix: str, n: int) -> tuple[str, ...]:
    width = max(5, len(str(max(n - 1, 0))))
    return tuple(f"{prefix}-{i:0{width}d}" for i in range(n))


class PromptItem(NamedTuple):
    sample_id: str
    prompt: str
    label: str | None      # class name (UCF-101); None where the dataset has no classes
    video_id: str | None   # the source video the prompt describes (MSR-VTT, demo)


@dataclass(frozen=True)
class PromptSet:
    dataset: str
    sample_ids: tuple[str, ...]
    prompts: tuple[str, ...]
    labels: tuple[str | None, ...]
    video_ids: tuple[str | None, ...]
    seed: int
    sampling: str
    provenance: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        n = len(self.sample_ids)
        for name in ("prompts", "labels", "video_ids"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"PromptSet.{name} has {len(getattr(self, name))} entries, "
                                 f"sample_ids has {n}")
        bad = [s for s in self.sample_ids if not SAFE_ID.match(s)]
        if bad:
            raise ValueError(f"sample ids must be safe file names, got {bad[:3]}")
        if len(set(self.sample_ids)) != n:
            raise ValueError("sample ids must be unique")
        empty = [s for s, p in zip(self.sample_ids, self.prompts) if not p.strip()]
        if empty:
            raise ValueError(f"empty prompt for {empty[:3]}")

    def __len__(self) -> int:
        return len(self.sample_ids)

    def __iter__(self) -> Iterator[PromptItem]:
        return (PromptItem(*t) for t in zip(self.sample_ids, self.prompts, self.labels, self.video_ids))

    def item(self, sample_id: str) -> PromptItem:
        try:
            i = self.sample_ids.index(sample_id)
        except ValueError:
            raise KeyError(f"{sample_id!r} is not in prompt set {self.dataset}") from None
        return PromptItem(self.sample_ids[i], self.prompts[i], self.labels[i], self.video_ids[i])

    @property
    def content_hash(self) -> str:
        """sha256 of what the set contains (ids, prompts, labels, videos), not of how it was made."""
        blob = json.dumps([self.dataset, self.sample_ids, self.prompts, self.labels, self.video_ids],
                          separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def describe(self) -> str:
        """One line for reports: dataset, rule, n, seed and the content hash."""
        src = self.provenance.get("prompt_file") or self.provenance.get("config_file", "")
        return (f"{self.dataset} prompts, {self.sampling}, n={len(self)}, seed={self.seed}, "
                f"set sha256 {self.content_hash[:12]}" + (f", from {Path(src).name}" if src else ""))

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "sampling": self.sampling, "seed": self.seed,
                "n": len(self), "content_hash": self.content_hash, "provenance": self.provenance,
                "items": [it._asdict() for it in self]}

    @classmethod
    def from_dict(cls, d: dict) -> "PromptSet":
        items = d["items"]
        s = cls(dataset=d["dataset"], seed=int(d["seed"]), sampling=d["sampling"],
                sample_ids=tuple(i["sample_id"] for i in items), prompts=tuple(i["prompt"] for i in items),
                labels=tuple(i.get("label") for i in items), video_ids=tuple(i.get("video_id") for i in items),
                provenance=dict(d.get("provenance", {})))
        if d.get("content_hash") and d["content_hash"] != s.content_hash:
            raise ConfigError(f"prompt set {d['dataset']}: content hash mismatch (file edited?)")
        return s

    def save(self, path) -> Path:
        """Atomic JSON write (temp file + rename)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1, ensure_ascii=False))

    @classmethod
    def load(cls, path) -> "PromptSet":
        try:
            return cls.from_dict(json.loads(read_text(path, "prompt set file")))
        except (OSError, ValueError, KeyError, TypeError) as e:
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"{path}: not a prompt set file ({e})") from None


def base_provenance(cfg, **extra) -> dict:
    out = {"dataset": cfg.name, "config_file": str(cfg.path) if cfg.path else None,
           "config_sha256": cfg.sha256}
    out.update({k: (str(v) if isinstance(v, Path) else v) for k, v in extra.items()})
    return out


def load_prompts(dataset_name: str, n: int | None = None, seed: int = 0, root=None,
                 prompt_file=None, *, split: str | None = None,
                 sampling: str | None = None) -> PromptSet:
    """The harness's entry point: `n` prompts of a dataset, reproducible from `seed`.

    `n=None` takes the dataset's default (`prompts.default_n`; for MSR-VTT all-captions: all).
    `root` is the dataset folder (else `$<root_env>`); UCF-101 prompts need no root (the class
    list ships with ffbench) but use the root's classInd.txt when given. `prompt_file` replaces
    the shipped per-class prompts (UCF-101 only; see ucf101.read_class_prompt_file).
    `split` / `sampling` override the dataset file (MSR-VTT: split test|1k-a|train|validate,
    sampling one-caption-per-video|all-captions).
    """
    from .config import load_dataset_config

    cfg = load_dataset_config(dataset_name)
    if n is not None and (isinstance(n, bool) or int(n) < 1):
        raise ConfigError(f"n must be a positive number of prompts, got {n!r}")
    if cfg.kind == "ucf101":
        from .ucf101 import ucf101_prompts
        if split is not None:
            raise ConfigError("UCF-101 prompts have no split (they are per class)")
        return ucf101_prompts(cfg, n=n, seed=seed, root=root, prompt_file=prompt_file)
    if prompt_file is not None:
        raise ConfigError(f"--prompt-file applies to class-based datasets (ucf101), not {cfg.name!r}")
    if cfg.kind == "msrvtt":
        from .msrvtt import msrvtt_prompts
        return msrvtt_prompts(cfg, n=n, seed=seed, root=root, split=split, sampling=sampling)
    if cfg.kind == "demo":
        from .demo import demo_prompts
        return demo_prompts(cfg, n=n, seed=seed)
    raise ConfigError(f"dataset {cfg.name!r}: no prompt loader for kind {cfg.kind!r}")  # pragma: no cover


# --- user prompt files ---------------------------------------------------------------------

PROMPTS_FILE_FORMATS = """\
Prompts file (matched to videos by file stem: `0007.mp4` <-> "0007"), by extension:
  .json   one object {"<stem>": "<prompt>", ...}
  .jsonl  one object per line {"video": "<stem>", "prompt": "<prompt>"}, or a run's
          plan.jsonl ({"sample_id": "<id>", "prompt": ..., ...}: its samples/<id>.npy)
  .csv    rows <stem>,<prompt> (a first row "video,prompt" is a header)
  other   (.txt, .tsv) one "<stem><TAB><prompt>" per line
All are UTF-8 with or without a BOM, CRLF or LF; blank lines and lines starting with '#' are
ignored (except inside .json)."""


def read_prompts_file(path) -> dict[str, str]:
    """{video stem: prompt} from a prompts file (formats in `PROMPTS_FILE_FORMATS`), in file order.

    Errors (`ConfigError`) name the file and line: missing file, invalid JSON/CSV row, a stem
    with two prompts, no prompts at all.
    """
    import csv
    import io

    path = Path(path)
    out: dict[str, str] = {}

    def put(stem, prompt, where):
        if not isinstance(stem, str) or not stem.strip() or not isinstance(prompt, str):
            raise ConfigError(f"{where}: expected a video stem and a prompt string")
        stem, prompt = stem.strip(), prompt.strip()
        if stem in out:
            raise ConfigError(f"{where}: video {stem!r} has two prompts")
        out[stem] = prompt

    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(read_text(path, "prompts file"))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: invalid JSON: {e}") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a JSON object {{\"<stem>\": \"<prompt>\"}}")
        for k, v in data.items():
            put(k, v, f"{path}: key {k!r}")
    elif suffix == ".jsonl":
        for n, line in read_lines(path, "prompts file"):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ConfigError(f"{path}:{n}: invalid JSON: {e}") from e
            if isinstance(rec, dict) and "sample_id" in rec and "prompt" in rec:
                put(rec["sample_id"], rec["prompt"], f"{path}:{n}")  # a run's plan.jsonl
                continue
            if not isinstance(rec, dict) or set(rec) - {"video", "prompt"} or len(rec) != 2:
                raise ConfigError(f'{path}:{n}: expected {{"video": "<stem>", "prompt": "<text>"}}')
            put(rec["video"], rec["prompt"], f"{path}:{n}")
    elif suffix == ".csv":
        reader = csv.reader(io.StringIO(read_text(path, "prompts file")))
        try:
            for row in reader:
                n = reader.line_num
                if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                    continue
                if len(row) != 2:
                    raise ConfigError(f"{path}:{n}: expected 2 columns <stem>,<prompt>, got {len(row)}")
                if not out and [c.strip().lower() for c in row] == ["video", "prompt"]:
                    continue  # header
                put(row[0], row[1], f"{path}:{n}")
        except csv.Error as e:
            raise ConfigError(f"{path}:{reader.line_num}: invalid CSV ({e})") from e
    else:
        for n, line in read_lines(path, "prompts file"):
            if "\t" not in line:
                raise ConfigError(f"{path}:{n}: expected '<stem><TAB><prompt>'")
            stem, prompt = line.split("\t", 1)
            put(stem, prompt, f"{path}:{n}")
    if not out:
        raise ConfigError(f"{path}: no prompts")
    return out


def read_prompt_lines(path) -> list[str]:
    """One prompt per line (`generate --prompts FILE.txt`): same text rules as every prompt file."""
    prompts = [line for _, line in read_lines(path, "prompts file")]
    if not prompts:
        raise ConfigError(f"{path}: no prompts (the file has no non-empty, non-comment lines)")
    return prompts
