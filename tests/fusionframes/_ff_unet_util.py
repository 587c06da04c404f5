"""Shared helpers of the FusionFrames UNet tests (not a test module)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

KEYS_DIR = Path("/work/shared/reference/keys")
_FALLBACK = Path(__file__).resolve().parents[2] / "shared" / "reference" / "keys"


def keys_tsv(name: str) -> Path:
    for d in (KEYS_DIR, _FALLBACK):
        if (d / name).exists():
            return d / name
    pytest.fail(f"reference key list {name} not found in {KEYS_DIR} or {_FALLBACK}")


def read_tsv(name: str) -> list[tuple[str, tuple[int, ...]]]:
    rows = []
    for line in keys_tsv(name).read_text().splitlines():
        key, shape = line.split("\t")
        shape = shape.strip("[] ")
        rows.append((key, tuple(int(s) for s in shape.split(",")) if shape else ()))
    return rows


@torch.no_grad()
def randomize(module: torch.nn.Module, seed: int, std: float = 0.1, only=None) -> None:
    """Overwrite parameters (those whose names pass `only`) with N(0, std) noise, merge scalars
    with 0.5 — so zero-initialised parts (temporal outputs, conditional norms) become active."""
    g = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        if only is not None and not only(name):
            continue
        if name.endswith("merge"):
            p.fill_(0.5)
        else:
            p.copy_(torch.randn(p.shape, generator=g) * std)


def keyframe_inputs(cfg, videos: int, frames: int, hw=(16, 16), seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    b = videos * frames
    x = torch.randn(b, cfg.in_channels, *hw, generator=g)
    t = torch.full((b,), 500.0)
    ctx = torch.randn(videos, 6, cfg.context_dim, generator=g).repeat_interleave(frames, 0)
    mask = torch.tensor([True, True, True, True, False, False]).expand(b, 6).clone()
    return x, t, ctx, mask
