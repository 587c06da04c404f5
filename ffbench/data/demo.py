"""The embedded demo set: synthetic captioned videos made by code, identical on every machine.

Why synthetic: the demo and the tests need real-looking inputs (motion, texture, a caption that
matches the picture) without downloads. Each item is a coloured shape moving over a texture
("a red circle moving left to right over a checkerboard"); its parameters come from a numpy
generator seeded with (config seed, index), so item i is the same whatever the count, and the
pixels come from plain integer/float numpy arithmetic (no codec, no fonts, no antialiasing
library) so the arrays are the same bytes on every call. Sizes and frame counts cycle through
the config's lists (64/128 px, 16/24/32 frames) so the first few items cover every combination.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .config import DatasetConfig, DemoConfig, load_dataset_config
from ..fileio import atomic_write_text
from .prompts import PromptSet, base_provenance, make_sample_ids

__all__ = ["DemoItem", "demo_items", "render_demo_video", "make_demo_video", "write_demo",
           "demo_prompts", "SHAPES", "COLORS", "MOTIONS", "BACKGROUNDS"]

SHAPES = ("circle", "square", "triangle", "diamond")
COLORS = {"red": (220, 40, 40), "green": (40, 190, 70), "blue": (40, 90, 230),
          "yellow": (235, 215, 40), "magenta": (210, 50, 200), "orange": (245, 140, 30)}
MOTIONS = {  # name -> (start (x, y), end (x, y)) as fractions of the frame
    "moving left to right": ((0.2, 0.5), (0.8, 0.5)),
    "moving right to left": ((0.8, 0.5), (0.2, 0.5)),
    "moving from top to bottom": ((0.5, 0.2), (0.5, 0.8)),
    "moving from bottom to top": ((0.5, 0.8), (0.5, 0.2)),
    "moving diagonally": ((0.2, 0.2), (0.8, 0.8)),
}
BACKGROUNDS = {"checkerboard": "a checkerboard", "stripes": "horizontal stripes",
               "gradient": "a gray gradient", "noise": "a noise texture"}


@dataclass(frozen=True)
class DemoItem:
    index: int
    video_id: str   # also the file stem: demo-00000
    caption: str
    size: int
    frames: int
    shape: str
    color: str
    motion: str
    background: str
    seed: int


def _config(cfg) -> tuple[DatasetConfig, DemoConfig]:
    cfg = cfg if cfg is not None else load_dataset_config("demo")
    if cfg.demo is None:
        raise ConfigError(f"dataset {cfg.name!r} has no [demo] table")
    return cfg, cfg.demo


_COMBOS = [(s, c, m, b) for s in SHAPES for c in COLORS for m in MOTIONS for b in BACKGROUNDS]


def _item(index: int, d: DemoConfig) -> DemoItem:
    # a seeded permutation of every (shape, colour, motion, background): captions are distinct
    # for the first len(_COMBOS) items, then the cycle repeats with a fresh permutation
    cycle, pos = divmod(index, len(_COMBOS))
    order = np.random.default_rng([d.seed, cycle]).permutation(len(_COMBOS))
    shape, color, motion, background = _COMBOS[int(order[pos])]
    size = d.sizes[index % len(d.sizes)]
    frames = d.frames[(index // len(d.sizes)) % len(d.frames)]
    article = "an" if color[0] in "aeiou" else "a"
    caption = f"{article} {color} {shape} {motion} over {BACKGROUNDS[background]}"
    return DemoItem(index, f"demo-{index:05d}", caption, size, frames, shape, color, motion,
                    background, d.seed)


def demo_items(cfg: DatasetConfig | None = None, count: int | None = None) -> list[DemoItem]:
    _, d = _config(cfg)
    count = d.count if count is None else int(count)
    if count < 1:
        raise ConfigError(f"demo count must be >= 1, got {count}")
    return [_item(i, d) for i in range(count)]


def _background(kind: str, size: int, seed: int, index: int) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    cell = max(2, size // 8)
    if kind == "checkerboard":
        g = np.where(((y // cell) + (x // cell)) % 2 == 0, 80, 170)
    elif kind == "stripes":
        g = np.where((y // cell) % 2 == 0, 70, 150)
    elif kind == "gradient":
        g = 40 + (x + y) * 160 // (2 * (size - 1))
    else:  # noise
        g = np.random.default_rng([seed, index, 1]).integers(50, 200, size=(size, size))
    return np.repeat(g.astype(np.uint8)[..., None], 3, axis=2)


def _mask(shape: str, x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    dx, dy = x - cx, y - cy
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "square":
        return (np.abs(dx) <= r) & (np.abs(dy) <= r)
    if shape == "triangle":  # apex up, base 2r wide
        return (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2)
    return np.abs(dx) + np.abs(dy) <= r  # diamond


def render_demo_video(item: DemoItem):
    """uint8 [T, H, W, 3] RGB for one demo item (the at-rest video convention)."""
    import torch

    s, t = item.size, item.frames
    bg = _background(item.background, s, item.seed, item.index)
    (x0, y0), (x1, y1) = MOTIONS[item.motion]
    r = 0.14 * s
    color = np.array(COLORS[item.color], dtype=np.uint8)
    out = np.empty((t, s, s, 3), dtype=np.uint8)
    y, x = np.mgrid[0:s, 0:s].astype(np.float64) + 0.5  # pixel centres
    for f in range(t):
        a = f / (t - 1)
        out[f] = bg
        out[f][_mask(item.shape, x, y, (x0 + (x1 - x0) * a) * s, (y0 + (y1 - y0) * a) * s, r)] = color
    return torch.from_numpy(out)


def make_demo_video(index: int, cfg: DatasetConfig | None = None):
    """Demo item `index` rendered; same tensor on every call."""
    _, d = _config(cfg)
    return render_demo_video(_item(int(index), d))


def write_demo(out_dir, fmt: str = "mp4", cfg: DatasetConfig | None = None,
               count: int | None = None) -> list[Path]:
    """Write the demo videos as `<video_id>.<fmt>` plus captions.json, atomically per file.

    npy is exact; mp4 (H.264) is lossy — use npy where pixel values matter.
    """
    from ..video import write_video

    if fmt not in ("mp4", "npy"):
        raise ConfigError(f"demo format must be mp4 or npy, got {fmt!r}")
    cfg, d = _config(cfg)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, index = [], []
    for item in demo_items(cfg, count):
        p = write_video(out_dir / f"{item.video_id}.{fmt}", render_demo_video(item), fps=d.fps)
        paths.append(p)
        index.append({**asdict(item), "file": p.name})
    atomic_write_text(out_dir / "captions.json", json.dumps(
        {"dataset": cfg.name, "config_sha256": cfg.sha256, "items": index}, indent=1))
    return paths


def demo_prompts(cfg: DatasetConfig, n=None, seed: int = 0) -> PromptSet:
    """Captions of demo items 0..n-1 (the demo's content is fixed by its config seed, so the run
    seed is recorded but does not change which prompts are used)."""
    n = cfg.prompts.default_n if n is None else int(n)
    items = demo_items(cfg, n)
    return PromptSet(dataset=cfg.name, sample_ids=make_sample_ids(cfg.name, n),
                     prompts=tuple(i.caption for i in items), labels=(None,) * n,
                     video_ids=tuple(i.video_id for i in items), seed=int(seed),
                     sampling=cfg.prompts.sampling,
                     provenance=base_provenance(cfg, demo_seed=cfg.demo.seed))
