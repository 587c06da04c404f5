"""Pipeline outputs (PIL lists, numpy, tensors; [0,1] or [-1,1]; frame- or channel-first) ->
the at-rest convention, torch.uint8 [T, H, W, 3].

Why strict: a wrong value range or layout produces a plausible-looking but wrong video, and every
metric downstream would silently change. So the declared range is checked (small rounding
overshoot is clipped, anything more is an error) and an ambiguous layout must be declared.
"""
from __future__ import annotations

import numpy as np

from .base import GeneratorError

__all__ = ["to_uint8_video", "split_videos"]


def _is_pil(x) -> bool:
    return hasattr(x, "convert") and hasattr(x, "size") and hasattr(x, "mode")


def to_uint8_video(video, value_range: str = "0,1", layout: str = "auto", source: str = "<output>"):
    """One video from a pipeline -> torch.uint8 [T,H,W,3].

    Accepts a list of PIL images, or a numpy array / torch tensor laid out THWC (frame-first,
    channels last), TCHW, or CTHW (channel-first); float values in [0,1] or [-1,1]
    (`value_range`), or uint8. Values slightly outside the range (rounding) are clipped; values
    far outside mean the range is wrong, which is an error rather than a silent clip.
    """
    import torch

    if isinstance(video, (list, tuple)):
        if not video:
            raise GeneratorError(f"{source}: empty frame list")
        if all(_is_pil(f) for f in video):
            return torch.from_numpy(np.stack([np.asarray(f.convert("RGB")) for f in video]))
        video = np.stack([np.asarray(f) for f in video])
    t = torch.from_numpy(np.ascontiguousarray(video)) if isinstance(video, np.ndarray) else video
    if not isinstance(t, torch.Tensor):
        raise GeneratorError(f"{source}: cannot convert {type(video).__name__} to a video")
    t = t.detach().cpu()
    if t.ndim != 4:
        raise GeneratorError(f"{source}: expected a 4-d video, got shape {list(t.shape)}")
    if layout == "auto":  # channels-last wins (diffusers' np/PIL outputs); else must be unique
        if t.shape[-1] == 3:
            layout = "THWC"
        elif t.shape[1] == 3 and t.shape[0] == 3:
            raise GeneratorError(f"{source}: shape {list(t.shape)} is TCHW or CTHW; set output_layout")
        elif t.shape[1] == 3 or t.shape[0] == 3:
            layout = "TCHW" if t.shape[1] == 3 else "CTHW"
        else:
            raise GeneratorError(f"{source}: no axis of size 3 in shape {list(t.shape)}; "
                                 f"set output_layout")
    perm = {"THWC": (0, 1, 2, 3), "TCHW": (0, 2, 3, 1), "CTHW": (1, 2, 3, 0)}[layout]
    t = t.permute(*perm)
    if t.shape[-1] != 3:
        raise GeneratorError(f"{source}: layout {layout} gives {t.shape[-1]} channels, not 3")
    if t.dtype == torch.uint8:
        return t.contiguous()
    if not t.is_floating_point():
        raise GeneratorError(f"{source}: unsupported dtype {t.dtype}")
    t = t.float()
    if not bool(torch.isfinite(t).all()):
        raise GeneratorError(f"{source}: output contains NaN or infinite values")
    lo, hi = (0.0, 1.0) if value_range == "0,1" else (-1.0, 1.0)
    tol = 0.02 * (hi - lo)
    vmin, vmax = float(t.min()), float(t.max())
    if vmin < lo - tol or vmax > hi + tol:
        raise GeneratorError(f"{source}: values span [{vmin:.3g}, {vmax:.3g}], outside the "
                             f"declared range [{lo:g}, {hi:g}]; set output_range")
    t = (t - lo) / (hi - lo)
    return (t.clamp(0, 1) * 255).round().to(torch.uint8).contiguous()


def split_videos(raw, n: int, frames: int) -> list:
    """Split a pipeline's frames output into n per-sample videos (not yet converted).

    Handles a batch array/tensor [n,...], a list of n videos, and flat frame lists/arrays of
    n*frames images in prompt-major order (text-to-image pipelines, TextToVideoZero).
    """
    if isinstance(raw, (list, tuple)):
        if len(raw) == n and n > 0 and not _is_pil(raw[0]) and (
                isinstance(raw[0], (list, tuple)) or getattr(raw[0], "ndim", 0) == 4):
            return list(raw)
        if len(raw) == n * frames:  # flat list of frames (PIL or HWC arrays)
            return [list(raw[i * frames:(i + 1) * frames]) for i in range(n)]
        if n == 1:
            return [list(raw)]
        raise GeneratorError(f"cannot split a list of {len(raw)} items into {n} videos")
    ndim = getattr(raw, "ndim", None)
    if ndim == 5:
        if raw.shape[0] != n:
            raise GeneratorError(f"pipeline returned a batch of {raw.shape[0]}, expected {n}")
        return [raw[i] for i in range(n)]
    if ndim == 4:
        if n == 1:
            return [raw]
        if raw.shape[0] == n * frames:
            return [raw[i * frames:(i + 1) * frames] for i in range(n)]
    raise GeneratorError(f"cannot split pipeline output of shape {getattr(raw, 'shape', '?')} "
                         f"into {n} videos")
