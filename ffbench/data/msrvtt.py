"""MSR-VTT: caption annotation parsers, test-split captions as prompts, and its video folder.

Official formats:
  test_videodatainfo.json / train_val_videodatainfo.json (MSR-VTT release):
    {"info": {...}, "videos": [{"id": 7010, "video_id": "video7010", "category": 9, "url": ...,
     "start time": 112.79, "end time": 124.63, "split": "test"}, ...],
     "sentences": [{"sen_id": 180000, "video_id": "video7010", "caption": "..."}, ...]}
    splits: train video0..6512, validate video6513..7009, test video7010..9999 (2,990 videos,
    20 captions each).
  MSRVTT_JSFUSION_test.csv (1k-A, JSFusion): header `key,vid_key,video_id,sentence`, rows like
    `ret0,msr9770,video9770,a person is connecting something to system` (1,000 rows).
"""
from __future__ import annotations

import csv
import io
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..textio import read_text
from ..weights import sha256_of
from .config import DatasetConfig, DatasetError
from .prompts import PromptSet, base_provenance, derive_seed, make_sample_ids

__all__ = ["MSRVTTVideo", "MSRVTTAnnotations", "parse_videodatainfo", "parse_jsfusion_csv",
           "find_annotation", "load_annotations", "msrvtt_prompts", "list_split_videos", "SOURCE"]

SOURCE = ("the MSR-VTT release (test_videodatainfo.json, train_val_videodatainfo.json; "
          "https://www.microsoft.com/en-us/research/publication/msr-vtt-a-large-video-"
          "description-dataset-for-bridging-video-and-language/)")
CSV_SOURCE = "the JSFusion / CLIP4Clip MSR-VTT data package (msrvtt_data/MSRVTT_JSFUSION_test.csv)"
SPLITS = ("test", "1k-a", "train", "validate")
_VIDEO_ID = re.compile(r"^video(\d+)$")


@dataclass(frozen=True)
class MSRVTTVideo:
    video_id: str           # "video7010"
    split: str              # train | validate | test | 1k-a
    category: int | None = None
    url: str | None = None
    start: float | None = None
    end: float | None = None

    @property
    def number(self) -> int:
        return int(_VIDEO_ID.match(self.video_id).group(1))


@dataclass(frozen=True)
class MSRVTTAnnotations:
    videos: tuple[MSRVTTVideo, ...]                      # sorted by video number
    captions: dict = field(default_factory=dict)         # video_id -> tuple of (sen_id, caption)
    source: Path | None = None

    def split(self, name: str) -> "MSRVTTAnnotations":
        vids = tuple(v for v in self.videos if v.split == name)
        return MSRVTTAnnotations(vids, {v.video_id: self.captions.get(v.video_id, ()) for v in vids},
                                 self.source)

    @property
    def num_captions(self) -> int:
        return sum(len(c) for c in self.captions.values())


def _video_key(video_id: str, where: str) -> int:
    m = _VIDEO_ID.match(video_id) if isinstance(video_id, str) else None
    if m is None:
        raise DatasetError(f"{where}: video_id must look like 'video1234', got {video_id!r}")
    return int(m.group(1))


def parse_videodatainfo(path) -> MSRVTTAnnotations:
    """test_videodatainfo.json / train_val_videodatainfo.json -> videos and their captions."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: not found; it comes from {SOURCE}")
    try:
        data = json.loads(read_text(path, "annotation file"))
    except (ConfigError, json.JSONDecodeError) as e:
        raise DatasetError(f"{path}: not valid JSON ({e}); it comes from {SOURCE}") from None
    if not isinstance(data, dict) or not isinstance(data.get("videos"), list) \
            or not isinstance(data.get("sentences"), list):
        raise DatasetError(f"{path}: expected an object with 'videos' and 'sentences' lists "
                           f"(the MSR-VTT videodatainfo format from {SOURCE})")
    videos = {}
    for i, v in enumerate(data["videos"]):
        where = f"{path}: videos[{i}]"
        if not isinstance(v, dict) or "video_id" not in v or "split" not in v:
            raise DatasetError(f"{where}: needs 'video_id' and 'split'")
        _video_key(v["video_id"], where)
        if v["split"] not in ("train", "validate", "test"):
            raise DatasetError(f"{where}: split must be train, validate or test, got {v['split']!r}")
        if v["video_id"] in videos:
            raise DatasetError(f"{where}: duplicate video_id {v['video_id']!r}")
        videos[v["video_id"]] = MSRVTTVideo(v["video_id"], v["split"], v.get("category"), v.get("url"),
                                            v.get("start time"), v.get("end time"))
    captions: dict[str, list] = {vid: [] for vid in videos}
    for i, s in enumerate(data["sentences"]):
        where = f"{path}: sentences[{i}]"
        if not isinstance(s, dict) or not {"video_id", "caption", "sen_id"} <= set(s):
            raise DatasetError(f"{where}: needs 'sen_id', 'video_id' and 'caption'")
        if s["video_id"] not in videos:
            raise DatasetError(f"{where}: caption for unknown video {s['video_id']!r}")
        if not isinstance(s["caption"], str) or not s["caption"].strip():
            raise DatasetError(f"{where}: empty caption")
        captions[s["video_id"]].append((int(s["sen_id"]), s["caption"].strip()))
    ordered = tuple(sorted(videos.values(), key=lambda v: v.number))
    return MSRVTTAnnotations(ordered, {k: tuple(sorted(c)) for k, c in captions.items()}, path)


def parse_jsfusion_csv(path) -> MSRVTTAnnotations:
    """MSRVTT_JSFUSION_test.csv (1k-A): one sentence per video, split '1k-a'."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: not found; it comes from {CSV_SOURCE}")
    try:
        reader = csv.reader(io.StringIO(read_text(path, "CSV file")))
        header = next(reader, None)
        rows = list(reader)
    except (ConfigError, csv.Error) as e:
        raise DatasetError(f"{path}: cannot read CSV ({e}); it comes from {CSV_SOURCE}") from None
    expected = ["key", "vid_key", "video_id", "sentence"]
    if header is None or [h.strip() for h in header] != expected:
        raise DatasetError(f"{path}: header must be {','.join(expected)}, got {header!r} "
                           f"(1k-A file from {CSV_SOURCE})")
    videos, captions = {}, {}
    for lineno, row in enumerate(rows, 2):
        if not row:
            continue
        if len(row) != 4:
            raise DatasetError(f"{path}:{lineno}: expected 4 columns, got {len(row)}")
        _, _, vid, sentence = (c.strip() for c in row)
        _video_key(vid, f"{path}:{lineno}")
        if not sentence:
            raise DatasetError(f"{path}:{lineno}: empty sentence")
        videos.setdefault(vid, MSRVTTVideo(vid, "1k-a"))
        captions.setdefault(vid, []).append((lineno - 2, sentence))
    if not videos:
        raise DatasetError(f"{path}: no rows")
    ordered = tuple(sorted(videos.values(), key=lambda v: v.number))
    return MSRVTTAnnotations(ordered, {k: tuple(c) for k, c in captions.items()}, path)


def find_annotation(cfg: DatasetConfig, root, which: str) -> Path:
    candidates = getattr(cfg.annotations, which)
    root = Path(root)
    for rel in candidates:
        if (root / rel).is_file():
            return root / rel
    src = CSV_SOURCE if which == "jsfusion_csv" else SOURCE
    raise DatasetError(f"MSR-VTT {which} not found under {root} (tried {', '.join(candidates)}); "
                       f"it comes from {src}")


def load_annotations(cfg: DatasetConfig, root, split: str = "test") -> MSRVTTAnnotations:
    if split not in SPLITS:
        raise ConfigError(f"MSR-VTT split must be one of {', '.join(SPLITS)}, got {split!r}")
    if split == "1k-a":
        return parse_jsfusion_csv(find_annotation(cfg, root, "jsfusion_csv"))
    which = "test_json" if split == "test" else "train_val_json"
    ann = parse_videodatainfo(find_annotation(cfg, root, which)).split(split)
    if not ann.videos:
        raise DatasetError(f"{ann.source}: no videos of split {split!r}")
    return ann


def msrvtt_prompts(cfg: DatasetConfig, n=None, seed: int = 0, root=None, split=None,
                   sampling=None) -> PromptSet:
    """Captions as prompts.

    one-caption-per-video: each video's caption is drawn with a seed derived from (seed, video
    id), so it does not depend on which other videos are taken; when n is below the number of
    videos, the videos are a seeded permutation's first n (prefix-stable).
    all-captions: every (video, caption) pair in (video, sen_id) order; n below the total takes
    the first n of a seeded permutation.
    """
    root = cfg.resolve_root(root)
    split = split or cfg.prompts.split or "test"
    sampling = sampling or cfg.prompts.sampling
    if sampling not in ("one-caption-per-video", "all-captions"):
        raise ConfigError(f"MSR-VTT sampling must be one-caption-per-video or all-captions, got {sampling!r}")
    ann = load_annotations(cfg, root, split)
    no_caption = [v.video_id for v in ann.videos if not ann.captions.get(v.video_id)]
    videos = [v.video_id for v in ann.videos if ann.captions.get(v.video_id)]
    if sampling == "one-caption-per-video":
        pool = [(vid, ann.captions[vid][random.Random(derive_seed(seed, f"msrvtt-caption/{vid}"))
                                        .randrange(len(ann.captions[vid]))]) for vid in videos]
        default = cfg.prompts.default_n if sampling == cfg.prompts.sampling else len(pool)
    else:
        pool = [(vid, c) for vid in videos for c in ann.captions[vid]]
        default = len(pool)
    n = min(default, len(pool)) if n is None else int(n)
    if n > len(pool):
        raise ConfigError(f"MSR-VTT {split} has {len(pool)} {'videos' if sampling != 'all-captions' else 'captions'}"
                          f" with captions; asked for n={n}")
    if n < len(pool):
        pool = random.Random(derive_seed(seed, f"msrvtt-order/{split}/{sampling}")).sample(pool, len(pool))
    chosen = pool[:n]
    return PromptSet(
        dataset=cfg.name, sample_ids=make_sample_ids(cfg.name, n),
        prompts=tuple(c[1] for _, c in chosen), labels=(None,) * n,
        video_ids=tuple(vid for vid, _ in chosen), seed=int(seed), sampling=sampling,
        provenance=base_provenance(cfg, split=split, annotation_file=ann.source,
                                   annotation_sha256=sha256_of(ann.source),
                                   num_videos=len(ann.videos), expected_videos=cfg.expected_videos
                                   if split == "test" else None,
                                   sen_ids=[c[0] for _, c in chosen] if split != "1k-a" else None,
                                   videos_without_captions=no_caption))


def list_split_videos(cfg: DatasetConfig, root, split: str | None = None):
    """(video_dir, files sorted by name, missing video ids) of a split's videos."""
    root = Path(root)
    split = split or cfg.real.split
    ann = load_annotations(cfg, root, split)
    exts = tuple(e.lower() for e in cfg.real.extensions)
    wanted = {v.video_id for v in ann.videos}
    for rel in cfg.real.video_dirs:
        d = root / rel
        if not d.is_dir():
            continue
        found = {p.stem: p for p in d.iterdir() if p.is_file() and p.suffix.lower() in exts
                 and p.stem in wanted}
        if found:
            missing = sorted(wanted - set(found), key=lambda s: _video_key(s, ""))
            return d, sorted(found.values()), missing
    raise DatasetError(f"no MSR-VTT {split} videos ({'/'.join(exts)}) under {root} (tried "
                       f"{', '.join(cfg.real.video_dirs)}); they come from {SOURCE}")
