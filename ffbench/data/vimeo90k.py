"""Vimeo-90k septuplets (paper Table 3: MoVQ decoder reconstructions are scored on them).

Official layout (toflow.csail.mit.edu, `vimeo_septuplet.zip` / the test-only download)::

    ROOT/sep_testlist.txt          one sequence id per line, e.g. "00001/0266"
    ROOT/sep_trainlist.txt
    ROOT/sequences/00001/0266/im1.png … im7.png     448x256 RGB frames

`Vimeo90kSeptuplet(root)` lists the ids of a split and loads each sequence as a uint8
[7,H,W,3] video (the ffbench convention). Anything missing or malformed raises
`Vimeo90kError` naming the file (and line) at fault — never a silent skip, because a
benchmark over a partial test list is not the published protocol.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..errors import FFBenchError
from ..textio import read_lines

__all__ = ["Vimeo90kError", "Vimeo90kSeptuplet", "read_list", "read_png_sequence",
           "frame_names", "SPLIT_FILES"]

SPLIT_FILES = {"test": "sep_testlist.txt", "train": "sep_trainlist.txt"}
_ID = re.compile(r"^\d{5}/\d{4}$")


class Vimeo90kError(FFBenchError):
    """The dataset on disk does not match the official layout; the message names the file."""


def frame_names(n: int = 7) -> list[str]:
    return [f"im{i}.png" for i in range(1, n + 1)]


def read_list(path) -> list[str]:
    """Sequence ids from a sep_*list.txt; blank lines are skipped, anything else must be
    'XXXXX/YYYY'."""
    path = Path(path)
    if not path.is_file():
        raise Vimeo90kError(f"{path}: list file not found (expected the official sep_testlist.txt)")
    ids = []
    for lineno, line in read_lines(path, "list file", comments=False):
        if not _ID.match(line):
            raise Vimeo90kError(f"{path}:{lineno}: malformed sequence id {line!r} (expected 'XXXXX/YYYY')")
        ids.append(line)
    if not ids:
        raise Vimeo90kError(f"{path}: list file has no sequence ids")
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise Vimeo90kError(f"{path}: sequence id {dup!r} listed twice")
    return ids


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise Vimeo90kError(f"{path}: frame not found")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode != "RGB":
                if im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema() != (255, 255):
                    raise Vimeo90kError(f"{path}: has a non-opaque alpha channel")
                im = im.convert("RGB")
            return np.asarray(im, dtype=np.uint8).copy()
    except Vimeo90kError:
        raise
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise Vimeo90kError(f"{path}: cannot read image: {e}") from e


def read_png_sequence(directory, names: list[str] | None = None) -> torch.Tensor:
    """A folder of frames -> uint8 [T,H,W,3]. `names` fixes the files (im1..im7 for Vimeo);
    without it every *.png is read in natural order (frame2 before frame10)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise Vimeo90kError(f"{directory}: sequence folder not found")
    if names is None:
        files = sorted(directory.glob("*.png"),
                       key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)])
        if not files:
            raise Vimeo90kError(f"{directory}: no .png frames")
    else:
        files = [directory / n for n in names]
    frames = [_read_png(f) for f in files]
    shape = frames[0].shape
    for f, a in zip(files, frames):
        if a.shape != shape:
            raise Vimeo90kError(f"{f}: size {a.shape[1]}x{a.shape[0]} differs from "
                                f"{files[0].name} ({shape[1]}x{shape[0]})")
    return torch.from_numpy(np.stack(frames))


class Vimeo90kSeptuplet:
    """Sequences of one split: `ids`, `len()`, `[i] -> (id, uint8 [7,H,W,3])`, iteration."""

    def __init__(self, root, split: str = "test", list_file=None,
                 protocol: str = "reconstruction@vimeo90k-septuplet"):
        from .. import protocols

        self.root = Path(root)
        if not self.root.is_dir():
            raise Vimeo90kError(f"{self.root}: Vimeo-90k root folder not found")
        if list_file is None:
            if split not in SPLIT_FILES:
                raise Vimeo90kError(f"unknown split {split!r}; known: {', '.join(SPLIT_FILES)}")
            list_file = self.root / SPLIT_FILES[split]
        self.list_file = Path(list_file)
        self.ids = read_list(self.list_file)
        self.frames_per_sequence = protocols.get(protocol).frames_per_sequence
        self.names = frame_names(self.frames_per_sequence)
        seq = self.root / "sequences"
        if not seq.is_dir():
            raise Vimeo90kError(f"{seq}: folder not found (official layout: ROOT/sequences/XXXXX/YYYY/im1.png)")

    def path(self, seq_id: str) -> Path:
        return self.root / "sequences" / seq_id

    def check(self) -> None:
        """Every listed frame exists (cheap: no decoding); raises naming the first missing one."""
        for i in self.ids:
            for n in self.names:
                f = self.path(i) / n
                if not f.is_file():
                    raise Vimeo90kError(f"{f}: frame not found (listed in {self.list_file})")

    def load(self, seq_id: str) -> torch.Tensor:
        return read_png_sequence(self.path(seq_id), self.names)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[str, torch.Tensor]:
        seq_id = self.ids[i]
        return seq_id, self.load(seq_id)

    def __iter__(self):
        for seq_id in self.ids:
            yield seq_id, self.load(seq_id)
