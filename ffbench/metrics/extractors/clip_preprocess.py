"""CLIP image preprocessing, bit-equal to the `clip` package's PIL path, batched.

Reference: openai/CLIP clip/clip.py `_transform(n_px)` = torchvision Resize(n_px, BICUBIC) of
the short side (long side `int(n_px * long / short)`), CenterCrop(n_px) (offsets
`int(round((size - n_px) / 2))`, Python's round-half-even), RGB, ToTensor (x / 255 in float32),
Normalize ((x - mean) / std in float32), applied to one PIL image per frame.

Why not a float tensor resize: Pillow resamples uint8 images in 22-bit fixed point, one
separable pass after the other with a uint8 image in between; a float32 bicubic pass differs by
up to 2 grey levels, ~1e-5 on a frame's cosine. So we run the reference resampler itself:

- CPU frames (`backend="pillow"`): Pillow per frame in a small thread pool (Pillow releases the
  GIL while it resamples), each frame resized and cropped exactly as torchvision does it; then
  one stacked uint8 array and one look-up of the float32 value ToTensor + Normalize give each
  (channel, grey level) — the table is computed once with torchvision's own transforms, so the
  output is `torch.equal` to the per-frame loop (tests/metrics/test_clipsim_preprocess.py).
- CUDA frames (`backend="emulated"`): an exact integer emulation of Pillow's bicubic resampler
  (Resample.c: coefficients in double, normalised, rounded to int with 22 fractional bits;
  accumulate from 2^21, arithmetic shift by 22, clip to 0..255, one pass per axis) as float64
  matrix products — every partial sum is an integer below 2^53, so float64 is exact in any
  summation order. Only the output pixels that survive the centre crop are computed.

The reference moves with the Pillow version (resample order and coefficients live in Pillow's C
code), so `pillow_version()` is recorded with every CLIPSIM number. The emulation follows the
horizontal-then-vertical order of Pillow <= 12 and 13.0 as measured on the sizes in the tests;
`test_emulation_equals_pillow` guards it against the installed Pillow.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch

__all__ = ["pil_preprocess", "resized_size", "crop_offsets", "pillow_version", "normalize_lut",
           "emulated_resize_crop", "pillow_resize_crop", "BACKENDS"]

BACKENDS = ("auto", "pillow", "emulated")
_PRECISION_BITS = 22  # Pillow Resample.c: 32 - 8 - 2


def pillow_version() -> str:
    import PIL

    return PIL.__version__


def resized_size(h: int, w: int, size: int) -> tuple[int, int]:
    """Output (h, w) of torchvision Resize(size) with an int: short side -> size, long side
    -> int(size * long / short) (truncated, as torchvision computes it)."""
    if h <= w:
        return size, int(size * w / h)
    return int(size * h / w), size


def crop_offsets(nh: int, nw: int, size: int) -> tuple[int, int]:
    """(top, left) of torchvision's center_crop: int(round((dim - size) / 2.0))."""
    return int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))


# --- exact value table for ToTensor + Normalize -----------------------------------------------

@lru_cache(maxsize=8)
def _lut_cpu(mean: tuple, std: tuple) -> torch.Tensor:
    from torchvision.transforms import Normalize, ToTensor

    levels = np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :, None], (1, 256, 3)).copy()
    return Normalize(mean, std)(ToTensor()(levels))[:, 0, :].contiguous()  # [3, 256] float32


def normalize_lut(mean: Sequence[float], std: Sequence[float], device=None) -> torch.Tensor:
    """[3, 256] float32: value of grey level v in channel c after ToTensor + Normalize (CPU)."""
    return _lut_cpu(tuple(float(m) for m in mean), tuple(float(s) for s in std)).to(device or "cpu")


def _apply_lut(crops: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """uint8 [B,S,S,3] -> float32 [B,3,S,S] through the per-channel table."""
    idx = crops.permute(0, 3, 1, 2).long()  # [B,3,S,S]
    idx = idx + (torch.arange(3, device=idx.device) * 256).view(1, 3, 1, 1)
    return lut.reshape(-1).take(idx)


# --- Pillow in a thread pool ------------------------------------------------------------------

_POOL: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _pool(workers: int) -> ThreadPoolExecutor:
    """A shared pool per (process, size): a forked child (DataLoader workers, torchrun) gets its
    own instead of a copy whose threads do not exist."""
    key = (os.getpid(), workers)
    if key not in _POOL:
        _POOL[key] = ThreadPoolExecutor(workers, thread_name_prefix="ffbench-clip-pil")
    return _POOL[key]


def _one_frame(frame: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    h, w = frame.shape[:2]
    nh, nw = resized_size(h, w, size)
    img = Image.fromarray(frame)  # uint8 [H,W,3] -> mode RGB
    if (nh, nw) != (h, w):  # torchvision returns the image itself when the size already fits
        img = img.resize((nw, nh), Image.Resampling.BICUBIC)
    top, left = crop_offsets(nh, nw, size)
    return np.asarray(img.crop((left, top, left + size, top + size)))


def pillow_resize_crop(frames: torch.Tensor, size: int = 224, workers: int | None = None) -> torch.Tensor:
    """uint8 [B,H,W,3] (CPU) -> uint8 [B,size,size,3] by Pillow, `workers` frames at a time
    (default: torch.get_num_threads(), at most 8)."""
    arr = frames.contiguous().numpy()
    workers = max(1, min(8, workers or torch.get_num_threads()))
    if workers == 1 or len(arr) == 1:
        out = [_one_frame(f, size) for f in arr]
    else:
        out = list(_pool(workers).map(lambda f: _one_frame(f, size), arr))
    return torch.from_numpy(np.stack(out))


# --- exact emulation of Pillow's bicubic resampler --------------------------------------------

def _bicubic(x: np.ndarray) -> np.ndarray:
    a = -0.5
    x = np.abs(x)
    return np.where(x < 1.0, ((a + 2.0) * x - (a + 3.0)) * x * x + 1,
                    np.where(x < 2.0, (((x - 5) * x + 8) * x - 4) * a, 0.0))


@lru_cache(maxsize=64)
def _coeff_matrix(in_size: int, out_size: int, first: int, count: int) -> np.ndarray:
    """Rows first..first+count of Pillow's fixed-point bicubic matrix [count, in_size] (float64
    holding integers). Mirrors precompute_coeffs + normalize_coeffs_8bpc in double precision."""
    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = 2.0 * filterscale
    ss = 1.0 / filterscale
    mat = np.zeros((count, in_size), dtype=np.float64)
    for row, xx in enumerate(range(first, first + count)):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)  # C (int) truncates; negatives clip to 0
        xmax = min(int(center + support + 0.5), in_size) - xmin
        k = np.array([_bicubic(np.float64((x + xmin - center + 0.5) * ss)) for x in range(xmax)])
        ww = 0.0
        for v in k:  # C sums left to right
            ww += float(v)
        if ww != 0.0:
            k = k / ww
        fixed = k * (1 << _PRECISION_BITS)
        mat[row, xmin:xmin + xmax] = np.where(k < 0, np.trunc(fixed - 0.5), np.trunc(fixed + 0.5))
    return mat


def _pass(x: torch.Tensor, mat: torch.Tensor) -> torch.Tensor:
    """One Pillow 8-bit pass along the last axis: integers (float64) -> uint8 values (float64)."""
    acc = x @ mat.T + float(1 << (_PRECISION_BITS - 1))
    return torch.floor(acc / float(1 << _PRECISION_BITS)).clamp_(0, 255)


@lru_cache(maxsize=64)
def pass_order(h: int, w: int, nh: int, nw: int) -> str:
    """"hv" or "vh": the order in which the installed Pillow runs its two passes for this
    resize. Pillow <= 12 always resamples horizontally first; Pillow 13 (python-pillow/Pillow
    PR #9549) runs the vertical pass first when the height shrinks much more than the width,
    by a rule in its C code. Rather than copy that rule (and break with the next release) we ask
    Pillow once per (input, output) size: resize a seeded noise image with Pillow and keep the
    order whose emulation equals it. Both orders agree when only one pass is needed."""
    from PIL import Image

    if nh == h or nw == w:
        return "hv"
    rng = np.random.default_rng(h * 100003 + w)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    ref = torch.from_numpy(np.array(Image.fromarray(img).resize((nw, nh), Image.Resampling.BICUBIC)))
    x = torch.from_numpy(img).permute(2, 0, 1).to(torch.float64)
    mh = torch.from_numpy(_coeff_matrix(w, nw, 0, nw))
    mv = torch.from_numpy(_coeff_matrix(h, nh, 0, nh))
    hv = _pass(_pass(x, mh).transpose(-1, -2), mv).transpose(-1, -2)
    if torch.equal(hv.to(torch.uint8).permute(1, 2, 0), ref):
        return "hv"
    vh = _pass(_pass(x.transpose(-1, -2), mv).transpose(-1, -2), mh)
    if torch.equal(vh.to(torch.uint8).permute(1, 2, 0), ref):
        return "vh"
    raise RuntimeError(  # a Pillow whose resampler we do not know: refuse rather than differ
        f"the installed Pillow {pillow_version()} resizes {w}x{h} -> {nw}x{nh} in a way ffbench's "
        "emulation does not reproduce; use the CLIP preprocessing backend 'pillow'")


def _rows_used(mat: torch.Tensor) -> tuple[int, int]:
    nz = torch.nonzero(mat.abs().sum(0)).flatten()
    return int(nz[0]), int(nz[-1]) + 1


def emulated_resize_crop(frames: torch.Tensor, size: int = 224, chunk: int = 32) -> torch.Tensor:
    """uint8 [B,H,W,3] on any device -> uint8 [B,size,size,3], equal to `pillow_resize_crop`.

    Only the output pixels inside the crop are computed, from the input rows/columns they read.
    """
    b, h, w, _ = frames.shape
    nh, nw = resized_size(h, w, size)
    top, left = crop_offsets(nh, nw, size)
    dev = frames.device
    need_h, need_v = nw != w, nh != h
    mh = torch.from_numpy(_coeff_matrix(w, nw, left, size)) if need_h else None
    mv = torch.from_numpy(_coeff_matrix(h, nh, top, size)) if need_v else None
    r0, r1 = _rows_used(mv) if need_v else (top, top + size)
    c0, c1 = _rows_used(mh) if need_h else (left, left + size)
    mv = mv[:, r0:r1].to(dev) if need_v else None
    mh = mh[:, c0:c1].to(dev) if need_h else None
    order = pass_order(h, w, nh, nw)
    out = []
    for i in range(0, b, chunk):
        x = frames[i:i + chunk, r0:r1, c0:c1].permute(0, 3, 1, 2).to(torch.float64)  # [b,3,rows,cols]
        if order == "hv":
            x = _pass(x, mh) if need_h else x
            x = _pass(x.transpose(-1, -2), mv).transpose(-1, -2) if need_v else x
        else:
            x = _pass(x.transpose(-1, -2), mv).transpose(-1, -2) if need_v else x
            x = _pass(x, mh) if need_h else x
        out.append(x.to(torch.uint8).permute(0, 2, 3, 1))
    return torch.cat(out).contiguous()


def pil_preprocess(frames: torch.Tensor, size: int = 224, mean: Sequence[float] = (0.0,) * 3,
                   std: Sequence[float] = (1.0,) * 3, backend: str = "auto",
                   workers: int | None = None) -> torch.Tensor:
    """uint8 [B,H,W,3] -> float32 [B,3,size,size] on the frames' device, equal to CLIP's
    per-frame `_transform` on CPU. backend "auto": Pillow threads on CPU, emulation elsewhere."""
    if backend not in BACKENDS:
        raise ValueError(f"CLIP preprocessing backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        backend = "pillow" if frames.device.type == "cpu" else "emulated"
    if backend == "pillow":
        crops = pillow_resize_crop(frames.cpu(), size, workers).to(frames.device)
    else:
        crops = emulated_resize_crop(frames, size)
    return _apply_lut(crops, normalize_lut(mean, std, crops.device))
