"""Reading every input kind into uint8 `[T,H,W,3]`: containers (PyAV), arrays, frame folders.

- `probe(path)`: frames, fps, duration, size, codec, pixel format, alpha — without decoding
  pictures. Containers: the frame count by demuxing (one packet per frame; the header count is
  used only when packets cannot be read, since a truncated AVI keeps its full header count);
  duration from timestamps (last pts - first pts + the last frame's duration), so
  variable-frame-rate files are right; fps = frames / duration.
- `read_video(path)`: every frame. `read_clip(path, start, n, stride)`: only frames
  start, start+stride, ... — for containers it seeks to the keyframe before `start` and stops
  after the last frame needed, and holds only the clip's frames (memory bounded by the clip).
  The result is identical to `read_video(path)[start : start+(n-1)*stride+1 : stride]`: frames
  are identified by presentation timestamp against a demuxed packet index; whenever that
  cannot be trusted (no timestamps, a seek that lands after `start`, a gap), it decodes from
  the first frame instead, still keeping only the clip.
- Alpha: pixel formats with an alpha channel or a palette (png/qtrle/ffv1 bgra, GIF) are decoded
  as RGBA and refused unless fully opaque — as arrays are (`core.to_uint8`).
Errors are `VideoError(path, reason)`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import container
from .core import VideoError, VideoInfo, to_uint8, validate_video
from .listing import (ARRAY_EXTENSIONS, CONTAINER_EXTENSIONS, FRAME_EXTENSIONS, VIDEO_EXTENSIONS,
                      frame_files)

__all__ = ["VideoInfo", "probe", "read_video", "read_clip", "video_info", "NPZ_KEY"]

NPZ_KEY = "video"  # an .npz with several arrays must hold the video under this key


def _kind(path: Path) -> str:
    if not path.exists():
        raise VideoError(path, "file does not exist")
    if path.is_dir():
        if not frame_files(path):
            raise VideoError(path, f"is a folder without image frames ({', '.join(FRAME_EXTENSIONS)})")
        return "frames"
    if not path.is_file():
        raise VideoError(path, "is not a file")
    suffix = path.suffix.lower()
    if suffix in ARRAY_EXTENSIONS:
        return "array"
    if suffix in CONTAINER_EXTENSIONS:
        return "container"
    raise VideoError(path, f"unsupported extension {suffix!r}; supported: {', '.join(VIDEO_EXTENSIONS)}"
                           f" or a folder of image frames")


def _check_clip(path, total: int, start: int, num_frames: int, stride: int) -> list[int]:
    if isinstance(start, bool) or start < 0 or num_frames < 1 or stride < 1:
        raise VideoError(path, f"bad clip start={start} num_frames={num_frames} stride={stride}")
    last = start + (num_frames - 1) * stride
    if last >= total:
        what = (f"first {num_frames}" if start == 0 and stride == 1
                else f"{num_frames} frames from {start} every {stride}")
        raise VideoError(path, f"has {total} frames, {what} needs {last + 1}")
    return list(range(start, last + 1, stride))


# --- arrays ---------------------------------------------------------------------------------

def _load_array(path: Path, mmap: bool):
    """The array of a .npy (memory-mapped when `mmap`) or .npz (a single array, or key 'video')."""
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                key = NPZ_KEY if NPZ_KEY in keys else (keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise VideoError(path, f"npz holds {keys}; expected one array or a {NPZ_KEY!r} key")
                return z[key]
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except VideoError:
        raise
    except Exception as e:  # numpy raises several types for corrupt files
        raise VideoError(path, f"cannot read array: {e}") from e


def _array_shape(path, arr) -> tuple[int, int, int, int]:
    if arr.ndim not in (3, 4):
        raise VideoError(path, f"expected [T,H,W] or [T,H,W,C], got shape {list(arr.shape)}")
    return arr.shape[0], arr.shape[1], arr.shape[2], (arr.shape[3] if arr.ndim == 4 else 1)


# --- frame folders --------------------------------------------------------------------------

def _read_frame_file(p: Path, size=None) -> torch.Tensor:
    from PIL import Image

    from .core import pil_to_array

    try:
        with Image.open(p) as im:
            im.load()
            arr = pil_to_array(im)
    except Exception as e:  # PIL raises many types for corrupt images
        raise VideoError(p, f"cannot read image: {e}") from e
    frame = to_uint8(arr[None], p)[0]
    if size is not None and tuple(frame.shape[:2]) != size:
        raise VideoError(p, f"frame size {frame.shape[1]}x{frame.shape[0]} differs from the first "
                            f"frame's {size[1]}x{size[0]}")
    return frame


def _read_frames(path: Path, indices=None) -> torch.Tensor:
    files = frame_files(path)
    picked = files if indices is None else [files[i] for i in indices]
    first = _read_frame_file(picked[0])
    frames = [first] + [_read_frame_file(p, tuple(first.shape[:2])) for p in picked[1:]]
    return validate_video(torch.stack(frames), path)


# --- containers -----------------------------------------------------------------------------


def probe(path) -> VideoInfo:
    """Frames, fps, duration (s), size, codec, pixel format and alpha of one input (any kind)."""
    path = Path(path)
    kind = _kind(path)
    if kind == "container":
        return container.probe_container(path)
    if kind == "array":
        arr = _load_array(path, mmap=True)
        t, h, w, c = _array_shape(path, arr)
        if t == 0:
            raise VideoError(path, "video has zero frames")
        return VideoInfo(str(path), t, None, None, w, h, path.suffix.lower().lstrip("."),
                         str(arr.dtype), c == 4)
    files = frame_files(path)
    first = _read_frame_file(files[0])
    from PIL import Image

    with Image.open(files[0]) as im:
        mode = im.mode
    return VideoInfo(str(path), len(files), None, None, int(first.shape[1]), int(first.shape[0]),
                     f"frames/{files[0].suffix.lower().lstrip('.')}", mode,
                     mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info)


def read_video(path, num_frames: int | None = None) -> torch.Tensor:
    """Read any input kind into uint8 [T,H,W,3].

    `num_frames`, when given, is the number of frames the caller needs: a shorter video is a
    `VideoError` (never silently padded); the first `num_frames` are returned (and only those
    are decoded).
    """
    path = Path(path)
    if num_frames is not None:
        return read_clip(path, 0, num_frames)
    kind = _kind(path)
    if kind == "container":
        return container.decode(path)
    if kind == "array":
        return to_uint8(_load_array(path, mmap=False), path)
    return _read_frames(path)


def read_clip(path, start: int, num_frames: int, stride: int = 1) -> torch.Tensor:
    """Frames start, start+stride, ..., (num_frames of them) as uint8 [num_frames,H,W,3].

    Equal to `read_video(path)[start : start + (num_frames-1)*stride + 1 : stride]`, but decodes
    only from the keyframe before `start` to the last frame needed, and holds only the clip
    (`.npy` is memory-mapped; frame folders read only the needed images; `.npz` members are
    loaded whole, as zip members cannot be mapped). Too few frames: `VideoError` saying how many.
    """
    path = Path(path)
    kind = _kind(path)
    if kind == "array":
        arr = _load_array(path, mmap=True)
        total = _array_shape(path, arr)[0]
        ids = _check_clip(path, total, start, num_frames, stride)
        return to_uint8(np.array(arr[ids[0]: ids[-1] + 1: stride]), path)
    if kind == "frames":
        ids = _check_clip(path, len(frame_files(path)), start, num_frames, stride)
        return _read_frames(path, ids)
    idx = container.index(path)
    total = len(idx.pts) if idx.pts else (idx.header_frames or idx.packets)
    ids = _check_clip(path, total if total else 1 << 62, start, num_frames, stride)
    return container.decode(path, ids)


def video_info(path) -> dict:
    """`probe` as a dict with the older key `duration` (seconds) kept for existing callers."""
    info = probe(path).to_dict()
    info["duration"] = info["duration_s"]
    return info
