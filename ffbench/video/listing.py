"""Which videos a folder holds: files, arrays and frame folders, in natural order, with every
file that looks like an input but is not used named in `skipped` with the reason.

Rules (README "Accepted inputs"):
- containers (`CONTAINER_EXTENSIONS`) and arrays (`.npy`, `.npz`) are videos;
- a folder whose entries include image frames (`FRAME_EXTENSIONS`) is ONE video whose path is the
  folder (StyleGAN-V, Latte and many dataset dumps store videos as `DIR/<video>/<frame>.png`);
  its frames are sorted naturally (`frame2.png` before `frame10.png`);
- class sub-folders (UCF-101 `DIR/Class/v_x.avi`) are searched when `recursive`;
- a stem held both as an array and as a container in one folder (what `ffbench run` writes:
  `ID.npy` + `ID.mp4`) is ONE video: the exact array is used and the container is skipped with
  reason "duplicate of ID.npy";
- an ffbench run folder (`run.json` or `plan.jsonl` beside `samples/`) contributes only
  `samples/`; its `previews/` (one JPEG still per sample) would otherwise look like a frame folder;
- hidden and temp files (`.name`, `~name`, `name~`, `*.tmp`, `*.part`) are ignored: atomic writes
  leave `.<stem>.XXXX<suffix>` files while running.
Order is natural by relative path (digit runs compared as numbers): protocols take "the first N".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .core import VideoError

__all__ = ["VideoListing", "list_videos", "natural_key", "VIDEO_EXTENSIONS",
           "CONTAINER_EXTENSIONS", "ARRAY_EXTENSIONS", "FRAME_EXTENSIONS", "is_hidden",
           "frame_files", "is_run_folder"]

CONTAINER_EXTENSIONS = (".mp4", ".avi", ".webm", ".gif", ".mkv", ".mov")
ARRAY_EXTENSIONS = (".npy", ".npz")
VIDEO_EXTENSIONS = CONTAINER_EXTENSIONS + ARRAY_EXTENSIONS
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
_RUN_MARKERS = ("run.json", "plan.jsonl")  # harness.rundir.RunDir files
_TEMP_SUFFIXES = (".tmp", ".part", ".crdownload", "~")
_DIGITS = re.compile(r"(\d+)")


def natural_key(path, root=None) -> tuple:
    """Sort key: relative path parts, digit runs as integers (`v2` < `v10`), raw text breaks ties."""
    p = Path(path)
    parts = p.relative_to(root).parts if root is not None else p.parts
    key = []
    for part in parts:
        pieces = _DIGITS.split(part)
        key.append((tuple(int(x) if i % 2 else x for i, x in enumerate(pieces)), part))
    return tuple(key)


def is_hidden(name: str) -> bool:
    """Hidden or temporary names that are never inputs."""
    return name.startswith((".", "~")) or name.lower().endswith(_TEMP_SUFFIXES)


def frame_files(folder) -> list[Path]:
    """Image frames of a frame folder, sorted naturally (hidden/temp files ignored)."""
    folder = Path(folder)
    return sorted((p for p in folder.iterdir() if p.is_file() and not is_hidden(p.name)
                   and p.suffix.lower() in FRAME_EXTENSIONS), key=lambda p: natural_key(p.name))


def is_run_folder(folder) -> bool:
    """An ffbench run folder (`run.json` or `plan.jsonl` beside `samples/`): its videos are
    `samples/`; `previews/` (one still per sample), `features/`, `real/` are not videos."""
    folder = Path(folder)
    return (folder / "samples").is_dir() and any((folder / f).is_file() for f in _RUN_MARKERS)


@dataclass
class VideoListing:
    """Videos found under `root` and the inputs that were not used, with the reason.

    Behaves as the sequence of `videos` (iteration, `len`, indexing), so callers that expect the
    old `list[Path]` keep working.
    """
    root: Path
    videos: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def __iter__(self):
        return iter(self.videos)

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i):
        return self.videos[i]

    def __bool__(self) -> bool:
        return bool(self.videos)

    def relative(self, path) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def to_dict(self) -> dict:
        return {"root": str(self.root), "videos": [self.relative(p) for p in self.videos],
                "skipped": [{"path": self.relative(p), "reason": r} for p, r in self.skipped]}


def _scan(folder: Path, root: Path, recursive: bool, exts: tuple, out: VideoListing) -> None:
    try:
        entries = [p for p in folder.iterdir() if not is_hidden(p.name)]
    except OSError as e:
        out.skipped.append((folder, f"unreadable folder: {e.strerror or e}"))
        return
    for p in entries:
        if p.is_symlink() and not p.exists():
            out.skipped.append((p, "broken symbolic link"))
    files = [p for p in entries if p.is_file()]
    dirs = [p for p in entries if p.is_dir()]
    if is_run_folder(folder):
        for d in dirs:
            if d.name != "samples":
                out.skipped.append((d, "part of an ffbench run folder; its videos are in samples/"))
        _scan(folder / "samples", root, recursive, exts, out)
        return
    images = [p for p in files if p.suffix.lower() in FRAME_EXTENSIONS]
    if images and folder != root:
        out.videos.append(folder)  # a frame folder: one video; anything else inside is not used
        for p in files + dirs:
            if p.is_dir() or p.suffix.lower() in VIDEO_EXTENSIONS:
                out.skipped.append((p, f"inside frame folder {folder.name}"))
        return
    for p in images:
        out.skipped.append((p, "single image: a video as frames is a folder of images "
                               "(DIR/<video>/<frame>.png)"))
    arrays = {}
    for p in sorted((p for p in files if p.suffix.lower() in ARRAY_EXTENSIONS and p.suffix.lower() in exts),
                    key=lambda p: p.suffix.lower()):  # .npy before .npz
        if p.stem in arrays:
            out.skipped.append((p, f"duplicate of {arrays[p.stem].name}"))
        else:
            arrays[p.stem] = p
            out.videos.append(p)
    for p in files:
        suffix = p.suffix.lower()
        if suffix in CONTAINER_EXTENSIONS and suffix in exts:
            if p.stem in arrays:
                out.skipped.append((p, f"duplicate of {arrays[p.stem].name}"))
            else:
                out.videos.append(p)
    if recursive:
        for d in dirs:
            _scan(d, root, recursive, exts, out)


def list_videos(directory, extensions=None, *, recursive: bool = True) -> VideoListing:
    """Videos under `directory` (rules in the module docstring), sorted naturally by relative path.

    `extensions` restricts containers/arrays to those suffixes (frame folders are always found).
    Raises `VideoError` when `directory` is missing or not a folder; an empty listing is not an
    error here (the caller knows how many it needs and says so with `skipped`).
    """
    d = Path(directory)
    if not d.exists():
        raise VideoError(d, "is not a directory (it does not exist)")
    if not d.is_dir():
        raise VideoError(d, "is not a directory")
    exts = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in (extensions or VIDEO_EXTENSIONS))
    out = VideoListing(d)
    _scan(d, d, recursive, exts, out)
    out.videos.sort(key=lambda p: natural_key(p, d))
    out.skipped.sort(key=lambda s: natural_key(s[0], d))
    return out
