"""The at-rest video convention (uint8 `[T, H, W, 3]` RGB), conversion into it, and frame sampling.

uint8 because that is what files hold and what reference FVD code quantises to (StyleGAN-V
converts generated frames with `(x*127.5+128).clamp(0,255).uint8`). Every reader in
`ffbench.video` ends in `to_uint8`, so the accepted value ranges are the same for `.npy`, `.npz`,
frame folders, decoded containers and in-memory objects (`as_video`):

- uint8 as is; any other integer dtype (int8..int64, uint16..uint64) when every value lies in
  0..255, else a `VideoError` naming the file and the range found;
- floats in [0, 1], scaled by 255 and rounded (NaN/inf and values outside are refused);
- `[T,H,W]` / `[T,H,W,1]` grayscale repeated to RGB; RGBA only when alpha is fully opaque
  (otherwise the colour would depend on a background we do not know);
- bool, complex and object arrays are refused.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..errors import FFBenchError

__all__ = ["VideoError", "VideoInfo", "validate_video", "to_uint8", "to_float01", "as_video", "first_n",
           "consecutive", "every_kth", "central_n", "num_clips"]


class VideoError(FFBenchError, ValueError):
    """A video could not be read, written or used; the message names the file and the reason."""

    def __init__(self, source, reason: str):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{source}: {reason}")

    def __reduce__(self):  # picklable across DataLoader workers
        return (type(self), (self.source, self.reason))


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` finds. fps and duration_s are None for arrays and frame folders (no clock)."""
    path: str
    frames: int
    fps: float | None
    duration_s: float | None
    width: int
    height: int
    codec: str
    pix_fmt: str
    has_alpha: bool

    def to_dict(self) -> dict:
        return asdict(self)


# --- kinds ----------------------------------------------------------------------------------


# --- validation and conversion ------------------------------------------------------------

def validate_video(video, source="<tensor>") -> torch.Tensor:
    """Check the at-rest convention: uint8 [T,H,W,3], T >= 1. Returns the tensor."""
    if isinstance(video, np.ndarray):
        video = torch.from_numpy(np.ascontiguousarray(video))
    if not isinstance(video, torch.Tensor):
        raise VideoError(source, f"expected a tensor or array, got {type(video).__name__}")
    if video.dtype != torch.uint8:
        raise VideoError(source, f"expected dtype uint8, got {video.dtype} (use to_uint8)")
    if video.ndim != 4 or video.shape[-1] != 3:
        raise VideoError(source, f"expected shape [T,H,W,3], got {list(video.shape)}")
    if video.shape[0] == 0:
        raise VideoError(source, "video has zero frames")
    if video.shape[1] == 0 or video.shape[2] == 0:
        raise VideoError(source, f"video has an empty frame size {list(video.shape[1:3])}")
    return video


def _int_to_uint8(arr: np.ndarray, source) -> np.ndarray:
    """Any numpy integer array with values in 0..255 -> uint8 (numpy reduces every int dtype,
    unlike torch, whose min/max are not implemented for uint16/32/64)."""
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise VideoError(source, f"integer values ({arr.dtype}) must lie in [0, 255], "
                                     f"found [{lo}, {hi}]")
    return arr.astype(np.uint8)


def _as_numpy_or_float_tensor(array, source):
    """np.ndarray, or a float/uint8 torch tensor; other torch dtypes go through numpy."""
    if isinstance(array, np.ndarray):
        return array
    if isinstance(array, torch.Tensor):
        t = array.detach()
        if t.dtype == torch.uint8 or t.is_floating_point():
            return t.cpu()
        if t.dtype == torch.bool or t.is_complex():
            raise VideoError(source, f"unsupported dtype {t.dtype}")
        return t.cpu().numpy()
    raise VideoError(source, f"expected an array, got {type(array).__name__}")


def to_uint8(array, source="<array>") -> torch.Tensor:
    """Any supported array (numpy or torch, `[T,H,W]` or `[T,H,W,C]`, C in 1/3/4) to uint8
    [T,H,W,3]; value rules in the module docstring. Raises `VideoError(source, reason)`."""
    a = _as_numpy_or_float_tensor(array, source)
    if isinstance(a, np.ndarray):
        kind = a.dtype.kind
        if kind in "ui":
            a = _int_to_uint8(a, source) if a.dtype != np.uint8 else a
        elif kind == "f":
            if not a.dtype.isnative or a.dtype.itemsize > 8:  # big-endian files, long double
                a = a.astype(np.float64)
        else:
            raise VideoError(source, f"unsupported dtype {a.dtype}")
        a = np.ascontiguousarray(a)
        t = torch.from_numpy(a if a.flags.writeable else a.copy())  # read-only: PIL, mmap
    else:
        t = a
    if t.ndim == 3:
        t = t.unsqueeze(-1)
    if t.ndim != 4:
        raise VideoError(source, f"expected [T,H,W] or [T,H,W,C], got shape {list(t.shape)}")
    channels = t.shape[-1]
    if channels == 1:
        t = t.expand(*t.shape[:3], 3)
    elif channels == 4:
        alpha = t[..., 3]
        opaque = 255 if t.dtype == torch.uint8 else 1.0
        if not bool((alpha == opaque).all()):
            raise VideoError(source, "has a non-opaque alpha channel; flatten it onto a background first")
        t = t[..., :3]
    elif channels != 3:
        raise VideoError(source, f"expected 1, 3 or 4 channels, got {channels}")
    if t.dtype == torch.uint8:
        out = t
    elif t.is_floating_point():
        if t.numel() and not bool(torch.isfinite(t).all()):
            raise VideoError(source, "contains NaN or infinite values")
        if t.numel():
            lo, hi = float(t.min()), float(t.max())
            if lo < 0.0 or hi > 1.0:
                hint = " (looks like 0..255: divide by 255, or store uint8)" if hi <= 255 and lo >= 0 else ""
                raise VideoError(source, f"float values must lie in [0, 1], found [{lo:.4g}, {hi:.4g}]{hint}")
        out = (t.float() * 255.0).round().to(torch.uint8)
    else:  # pragma: no cover - integer tensors were converted through numpy above
        raise VideoError(source, f"unsupported dtype {t.dtype}")
    return validate_video(out.contiguous(), source)


def to_float01(video: torch.Tensor) -> torch.Tensor:
    """uint8 [..., 3] -> float32 in [0, 1] (the reconstruction-metric convention)."""
    if video.dtype != torch.uint8:
        raise VideoError("<tensor>", f"to_float01 expects uint8, got {video.dtype}")
    return video.float().div_(255.0)


def _frame_array(frame, source):
    """One frame of a list: PIL image (any mode), numpy array or torch tensor."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        Image = None
    if Image is not None and isinstance(frame, Image.Image):
        return pil_to_array(frame)
    if isinstance(frame, (np.ndarray, torch.Tensor)):
        return frame
    raise VideoError(source, f"frames must be PIL images, arrays or tensors, got {type(frame).__name__}")


def pil_to_array(im) -> np.ndarray:
    """PIL image -> [H,W], [H,W,3] or [H,W,4] array; palette/LA/I;16 modes widened so that a
    transparent palette entry or 16-bit value is seen by `to_uint8`, not silently dropped."""
    mode = im.mode
    if mode in ("P", "PA", "LA", "RGBa", "La"):
        im = im.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "HSV", "LAB"):
        im = im.convert("RGB")
    elif mode == "1":
        im = im.convert("L")
    return np.asarray(im)


def _channel_axis(shape, source) -> int | None:
    """Layout rule for 4-D inputs: the channel axis is 3 (`[T,H,W,C]`) or 1 (`[T,C,H,W]`),
    whichever has size 3 or 4; both or neither is refused (a trailing 1 is grayscale)."""
    last, second = shape[3] in (3, 4), shape[1] in (3, 4)
    if last and second:
        raise VideoError(source, f"ambiguous layout {list(shape)}: both axis 1 and axis 3 could be "
                                 f"channels; pass [T,H,W,3] with H, W not 3 or 4, or permute first")
    if last or shape[3] == 1:
        return 3
    if second or shape[1] == 1:
        return 1
    raise VideoError(source, f"cannot tell the channel axis of shape {list(shape)}: expected "
                             f"[T,H,W,3] or [T,3,H,W] (3 or 4 channels at axis 1 or 3)")


def as_video(obj, source="<api>") -> torch.Tensor:
    """What diffusers pipelines return (one video) -> uint8 [T,H,W,3].

    Accepts a list/tuple of PIL images (any mode) or of `[H,W,C]` arrays/tensors, or a numpy
    array / torch tensor `[T,H,W,C]`, `[T,C,H,W]` (layout rule: `_channel_axis`) or `[T,H,W]`;
    uint8, other integers in 0..255 or floats in [0, 1] (`output_type="np"` / `"pt"`). A
    batch `[N,T,...]` is refused: pass one video (`frames[0]`). Values in [-1, 1] are refused
    by the range check, not guessed.
    """
    hwc = False  # PIL frames are always [H,W,C]: no layout to guess
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise VideoError(source, "video has zero frames")
        hwc = all(type(f).__module__.startswith("PIL.") for f in obj)
        frames = [_frame_array(f, f"{source}[{i}]") for i, f in enumerate(obj)]
        if all(isinstance(f, torch.Tensor) for f in frames):
            shapes = {tuple(f.shape) for f in frames}
            if len(shapes) > 1:
                raise VideoError(source, f"frames differ in shape: {sorted(shapes)[:3]}")
            arr = torch.stack(frames)
        else:
            frames = [f.detach().cpu().numpy() if isinstance(f, torch.Tensor) else f for f in frames]
            shapes = {f.shape for f in frames}
            if len(shapes) > 1:
                raise VideoError(source, f"frames differ in shape: {sorted(shapes)[:3]}")
            arr = np.stack(frames)
    elif isinstance(obj, (np.ndarray, torch.Tensor)):
        arr = obj
    else:
        raise VideoError(source, f"expected a list of PIL images, an array or a tensor, "
                                 f"got {type(obj).__name__}")
    if arr.ndim == 5:
        raise VideoError(source, f"got a batch of shape {list(arr.shape)}; pass one video "
                                 f"(e.g. frames[0])")
    if arr.ndim == 4 and not hwc and _channel_axis(arr.shape, source) == 1:
        arr = arr.permute(0, 2, 3, 1) if isinstance(arr, torch.Tensor) else arr.transpose(0, 2, 3, 1)
    return to_uint8(arr, source)


# --- frame sampling -------------------------------------------------------------------------

def _need(video: torch.Tensor, needed: int, source, what: str) -> None:
    if video.shape[0] < needed:
        raise VideoError(source, f"has {video.shape[0]} frames, {what} needs {needed}")


def first_n(video: torch.Tensor, n: int, source="<tensor>") -> torch.Tensor:
    """Frames 0..n-1 (StyleGAN-V fake clips, IS 'first 16 frames')."""
    _need(video, n, source, f"first {n}")
    return video[:n]


def consecutive(video: torch.Tensor, n: int, offset: int = 0, stride: int = 1,
                source="<tensor>") -> torch.Tensor:
    """n frames offset, offset+stride, ... (StyleGAN-V real clips, with a random offset)."""
    if offset < 0 or stride < 1 or n < 1:
        raise VideoError(source, f"bad clip n={n} offset={offset} stride={stride}")
    _need(video, offset + (n - 1) * stride + 1, source, f"{n} frames from {offset} every {stride}")
    return video[offset: offset + (n - 1) * stride + 1: stride]


def every_kth(video: torch.Tensor, k: int, n: int | None = None, source="<tensor>") -> torch.Tensor:
    """Every k-th frame from 0 (VideoGPT/TATS frame stride); the first n of them if given."""
    if k < 1:
        raise VideoError(source, f"stride must be >= 1, got {k}")
    out = video[::k]
    return out if n is None else first_n(out, n, source)


def central_n(video: torch.Tensor, n: int, source="<tensor>") -> torch.Tensor:
    """The n frames centred in the video (VideoPoet's 'central 16 frames'); extra frame goes right."""
    _need(video, n, source, f"central {n}")
    start = (video.shape[0] - n) // 2
    return video[start: start + n]


def num_clips(num_frames: int, n: int, stride: int = 1) -> int:
    """How many offsets a clip of n frames with this stride can start at (0 if too short)."""
    return max(0, num_frames - (n - 1) * stride)
