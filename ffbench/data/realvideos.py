"""Real-video sets for FVD / IS: protocol-exact clip sampling, manifests, parallel decoding.

Clip rules: `ffbench.clips.ClipSpec` (the one clip rule of every entry point).
Items are taken in sorted relative-path order and the first `num_videos` usable ones are kept
("first 2048 items", no shuffle); StyleGAN-V drops short videos before taking the first N, and
so do we. Corrupt files are reported, skipped and counted as well — never silently dropped.

The manifest lists every file (relative path, size, sha256, and optionally frame count and
size); its hash covers (path, size, sha256) sorted by path, so it ignores listing order and
changes when any file's bytes change. Frame counts are derived from content, so they are
reported but not hashed (that keeps the hash computable without decoding).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple

from ..errors import ConfigError
from .config import DatasetError, dataset_names, load_dataset_config
from ..fileio import atomic_write_text
from ..clips import CLIP_RULES, ClipSpec
from ..weights import sha256_of

__all__ = ["ClipSpec", "RealClip", "RealSetStats", "RealVideoSet", "Manifest", "ManifestEntry",
           "build_manifest", "list_video_files", "real_video_set", "CLIP_RULES"]

log = logging.getLogger(__name__)


# --- clip rules: ffbench.clips ------------------------------------------------------------

def _protocol_num_videos(protocol) -> int | None:
    from .. import protocols

    p = protocols.get(protocol) if isinstance(protocol, str) else protocol
    if isinstance(p, protocols.FVDProtocol):
        return p.num_real
    if isinstance(p, protocols.ISProtocol):
        return p.num_samples
    if isinstance(p, protocols.KernelProtocol) and p.fvd_protocol:
        return p.fvd().num_real
    return getattr(p, "num_real", None)


# --- listing and manifest ------------------------------------------------------------------

def list_video_files(directory, extensions=None) -> list[Path]:
    """Videos under `directory` through the one listing (`ffbench.video.list_videos`: recursive,
    class sub-folders, frame folders, natural order, a stem as .npy and container counted once);
    what it leaves out is logged with the reason."""
    from ..video import VideoError, list_videos

    try:
        listing = list_videos(directory, extensions)
    except VideoError as e:
        raise DatasetError(str(e)) from None
    for p, reason in listing.skipped:
        log.warning("%s: not used: %s (%s)", directory, listing.relative(p), reason)
    return list(listing.videos)


@dataclass(frozen=True)
class ManifestEntry:
    path: str                   # relative, posix
    size: int
    sha256: str
    frames: int | None = None   # None when not counted, or when the file does not decode
    width: int | None = None
    height: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Manifest:
    root: str
    entries: tuple[ManifestEntry, ...]

    @property
    def hash(self) -> str:
        rows = sorted([e.path, e.size, e.sha256] for e in self.entries)
        return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)

    @property
    def errors(self) -> list[ManifestEntry]:
        return [e for e in self.entries if e.error]

    def to_dict(self) -> dict:
        return {"root": self.root, "hash": self.hash, "num_files": len(self.entries),
                "total_bytes": self.total_bytes, "entries": [asdict(e) for e in self.entries]}

    def save(self, path) -> Path:
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1))


def _size(p: Path) -> int:
    """Bytes of a video file, or of the frames of a frame folder."""
    return sum(f.stat().st_size for f in _frames(p)) if p.is_dir() else p.stat().st_size


def _sha256(p: Path) -> str:
    """Content hash of a video file, or of a frame folder (frame names and bytes, in order).
    A frame folder is not hashed as `weights.sha256_of` hashes folders: manifest hashes key the
    real-statistics cache, so this rule stays as it was written."""
    if not p.is_dir():
        return sha256_of(p)
    h = hashlib.sha256(b"ffbench-frame-folder-v1\0")
    for f in _frames(p):
        h.update(f"{f.name}\0{sha256_of(f)}\n".encode())
    return h.hexdigest()


def _frames(p: Path) -> list[Path]:
    from ..video.listing import frame_files

    return frame_files(p)


class _ManifestJob:
    """Picklable per-file work for DataLoader workers: hash, and optionally count frames."""

    def __init__(self, root: Path, files: list[Path], frames: bool):
        self.root, self.files, self.frames = root, files, frames

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        from ..video import VideoError, video_info

        p = self.files[i]
        rel = p.relative_to(self.root).as_posix()
        entry = {"path": rel, "size": _size(p), "sha256": _sha256(p)}
        if self.frames:
            try:
                info = video_info(p)
                entry.update(frames=info["frames"], width=info["width"], height=info["height"])
            except VideoError as e:
                entry["error"] = e.reason
        return entry


def _loader(job, workers: int | None):
    from ..video.loader import worker_loader

    return worker_loader(job, workers)


def build_manifest(source, files=None, frames: bool = True, workers: int | None = None,
                   progress: bool = True) -> Manifest:
    """Manifest of a folder (all video files, recursively) or of given `files` under `source`."""
    from ..progress import progress as progress_bar

    root = Path(source)
    files = list_video_files(root) if files is None else [Path(f) for f in files]
    if not files:
        return Manifest(str(root), ())
    rows = []
    for entry in progress_bar(_loader(_ManifestJob(root, files, frames), workers), total=len(files),
                      desc="manifest", unit="file", quiet=not progress):
        rows.append(ManifestEntry(**entry))
    return Manifest(str(root), tuple(sorted(rows, key=lambda e: e.path)))


# --- decoding clips ------------------------------------------------------------------------

class RealClip(NamedTuple):
    index: int          # position among used clips (0..num_videos-1)
    name: str           # relative path of the source file
    video: object       # torch.uint8 [n, H, W, 3]
    offset: int         # first frame taken
    total_frames: int   # frames in the source video


@dataclass
class RealSetStats:
    listed: int = 0
    requested: int | None = None
    used: int = 0
    short: list = field(default_factory=list)     # (name, frames)
    corrupt: list = field(default_factory=list)   # (name, reason)
    missing: list = field(default_factory=list)   # listed by the split, absent on disk

    @property
    def shortfall(self) -> int:
        return max(0, (self.requested or 0) - self.used)

    def to_dict(self) -> dict:
        return {"listed": self.listed, "requested": self.requested, "used": self.used,
                "discarded_short": len(self.short), "corrupt": len(self.corrupt),
                "missing": len(self.missing), "shortfall": self.shortfall,
                "short_files": self.short, "corrupt_files": self.corrupt,
                "missing_files": self.missing}


class RealVideoSet:
    """Iterates `RealClip`s (uint8 [n,H,W,3] at native resolution) in sorted file order.

    Every skipped file is logged (logger `ffbench.data.realvideos`, level WARNING) and counted.

    Decoding runs in DataLoader worker processes (`ffbench.video.ClipLoader`, the engine's one
    decoding path; `workers` None: `ffbench.video.loader.default_workers()`, 0: in-process),
    ahead of the consumer; results arrive in order, so "the first N
    usable videos" is exact whatever the worker count. After (or during) iteration `stats` says
    how many were used, discarded as short, corrupt or missing, with their names.
    """

    def __init__(self, root, files, spec: ClipSpec, num_videos: int | None = None, *,
                 name: str = "", missing=(), workers: int | None = None, progress: bool = True,
                 strict: bool = False, provenance: dict | None = None):
        self.root = Path(root)
        from ..video import natural_key

        self.files = sorted((Path(f) for f in files), key=lambda p: natural_key(p, self.root))
        self.spec, self.num_videos = spec, num_videos
        self.name = name or str(self.root)
        self.missing = list(missing)
        self.workers, self.progress, self.strict = workers, progress, strict
        self.provenance = dict(provenance or {})
        self.stats = RealSetStats(listed=len(self.files), requested=num_videos, missing=self.missing)
        self._manifest: Manifest | None = None

    def __len__(self) -> int:
        """Upper bound: usable clips are known only after decoding."""
        return len(self.files) if self.num_videos is None else min(self.num_videos, len(self.files))

    def __iter__(self) -> Iterator[RealClip]:
        from ..progress import progress as progress_bar

        stats = RealSetStats(listed=len(self.files), requested=self.num_videos, missing=self.missing)
        self.stats = stats
        for m in self.missing:
            log.warning("%s: %s is listed by the split but absent", self.name, m)
        if not self.files:
            self._finish(stats)
            return
        bar = progress_bar(total=len(self), desc=f"real videos {self.name}", unit="clip",
                           quiet=not self.progress)
        from ..video.loader import ClipLoader, ClipRequest

        names = [p.relative_to(self.root).as_posix() for p in self.files]
        loader = ClipLoader([ClipRequest(p, self.spec, self.spec.num_frames, self.spec.stride, rel)
                             for p, rel in zip(self.files, names)], self.workers)
        it = iter(loader)
        try:
            for i, video, _ in it:
                name, failure = names[i], loader.failures.get(i)
                if failure is not None and failure.kind == "short":
                    stats.short.append((name, loader.frames[i]))
                    log.warning("%s: discarded short video %s: %d frames, the clip rule needs %d",
                                self.name, name, loader.frames[i], self.spec.threshold)
                elif failure is not None:  # corrupt, or gone since it was listed
                    stats.corrupt.append((name, failure.reason))
                    log.warning("%s: skipped corrupt video %s: %s", self.name, name, failure.reason)
                else:
                    clip = RealClip(stats.used, name, video, loader.offsets[i], loader.frames[i])
                    stats.used += 1
                    bar.update(1)
                    bar.set_postfix(short=len(stats.short), corrupt=len(stats.corrupt), refresh=False)
                    yield clip
                    if self.num_videos is not None and stats.used >= self.num_videos:
                        break
        finally:
            it.close()  # shuts the worker processes down when we stop early
            bar.close()
        self._finish(stats)

    def _finish(self, stats: RealSetStats) -> None:
        if stats.short or stats.corrupt or stats.missing:
            log.warning("%s: used %d clips; discarded %d short, skipped %d corrupt, %d missing",
                        self.name, stats.used, len(stats.short), len(stats.corrupt), len(stats.missing))
        if stats.shortfall:
            msg = (f"{self.name}: only {stats.used} usable videos of the {stats.requested} requested "
                   f"({len(stats.short)} short, {len(stats.corrupt)} corrupt, {len(stats.missing)} missing)")
            if self.strict:
                raise DatasetError(msg)
            log.warning(msg)

    def manifest(self, frames: bool = False) -> Manifest:
        """Manifest of the listed files (hash only unless frames=True); cached."""
        if self._manifest is None or (frames and self._manifest.entries and
                                      self._manifest.entries[0].frames is None):
            self._manifest = build_manifest(self.root, self.files, frames=frames,
                                            workers=self.workers, progress=self.progress)
        return self._manifest

    def cache_key(self) -> str:
        """Keys the real-feature statistics cache: file contents (manifest hash), the clip rule
        and seed, and the number of clips. The metric adds its protocol hash and weights sha256."""
        blob = json.dumps({"manifest": self.manifest().hash, "clip": asdict(self.spec),
                           "num_videos": self.num_videos}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def describe(self) -> dict:
        return {"name": self.name, "root": str(self.root), "clip": asdict(self.spec),
                "num_videos": self.num_videos, "listed": len(self.files),
                "missing": len(self.missing), "provenance": self.provenance,
                "stats": self.stats.to_dict()}


# --- entry point ---------------------------------------------------------------------------

def _is_dataset_name(source) -> bool:
    s = str(source)
    return not isinstance(source, Path) and os.sep not in s and "/" not in s and s in dataset_names()


def _demo_dir(cfg, root) -> Path:
    from ..weights import home
    from .demo import write_demo

    d = Path(root) if root is not None else home() / "datasets" / f"demo-{cfg.sha256[:12]}"
    if not (d / "captions.json").is_file():
        write_demo(d, fmt="npy", cfg=cfg)
    return d


def real_video_set(source, protocol, root=None, *, num_videos: int | str | None = None,
                   seed: int = 0, split: str | None = None, workers: int | None = None,
                   progress: bool = True, strict: bool = False) -> RealVideoSet:
    """Real clips for a metric: `source` is a dataset name (ucf101, msrvtt, demo) or a folder.

    protocol: an FVD/IS protocol name or object (its real-clip rule, frames, stride, discard
    rule and sample count are used), or a `ClipSpec`. num_videos: None = the protocol's count
    (num_real / num_samples), "all" = every usable video, or a number. root: the dataset folder
    (else `$<root_env>`); for `demo` the folder the demo videos are written to (default: a
    cache folder under $FFBENCH_HOME).
    """
    if isinstance(protocol, ClipSpec):
        spec = protocol if protocol.seed == seed else ClipSpec(**{**asdict(protocol), "seed": seed})
        default_n = None
        proto_name = None
    else:
        spec = ClipSpec.from_protocol(protocol, seed)
        default_n = _protocol_num_videos(protocol)
        proto_name = protocol if isinstance(protocol, str) else protocol.name
    if num_videos is None:
        n = default_n
    elif num_videos == "all":
        n = None
    else:
        n = int(num_videos)
        if n < 1:
            raise ConfigError(f"num_videos must be >= 1, got {num_videos!r}")
    prov = {"protocol": proto_name, "seed": seed}
    missing: list = []
    if _is_dataset_name(source):
        cfg = load_dataset_config(source)
        prov.update(dataset=cfg.name, config_sha256=cfg.sha256)
        if cfg.kind == "demo":
            vdir = _demo_dir(cfg, root)
            files = list_video_files(vdir, cfg.real.extensions)
        elif cfg.kind == "ucf101":
            from .ucf101 import list_split_videos
            vdir, files, missing = list_split_videos(cfg, cfg.resolve_root(root), split)
        elif cfg.kind == "msrvtt":
            from .msrvtt import list_split_videos
            vdir, files, missing = list_split_videos(cfg, cfg.resolve_root(root), split)
        else:  # pragma: no cover
            raise ConfigError(f"dataset {cfg.name!r} has no real videos")
        prov["split"] = split or (cfg.real.split if cfg.real else None)
        name = cfg.name
    else:
        vdir = Path(source)
        if not vdir.is_dir():
            raise DatasetError(f"{source}: neither a known dataset ({', '.join(dataset_names())}) "
                               f"nor a folder of videos")
        if root is not None:
            raise ConfigError("root applies to dataset names; pass the folder itself as source")
        files = list_video_files(vdir)
        name = vdir.name or str(vdir)
    if not files:
        raise DatasetError(f"{vdir}: no video files found")
    return RealVideoSet(vdir, files, spec, n, name=name, missing=missing, workers=workers,
                        progress=progress, strict=strict, provenance=prov)
