"""Reading every input kind into uint8 `[T,H,W,3]`: containers (PyAV), arrays, frame folders.

- `probe(path)`: frames, fps, duration, size, codec, pixel format, alpha — without decoding
  pictures. Containers: the frame count from the container header where it has one (mp4, mov,
  avi), else by demuxing (mkv, webm, gif); duration from timestamps (last pts - first pts + the
  last frame's duration), so variable-frame-rate files are right; fps = frames / duration.
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

import functools
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from .core import VideoError, to_uint8, validate_video
from .listing import ARRAY_EXTENSIONS, CONTAINER_EXTENSIONS, VIDEO_EXTENSIONS, frame_files
from .writer import SIZE_KEY

__all__ = ["VideoInfo", "probe", "read_video", "read_clip", "video_info", "NPZ_KEY"]

NPZ_KEY = "video"  # an .npz with several arrays must hold the video under this key


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

def _kind(path: Path) -> str:
    if not path.exists():
        raise VideoError(path, "file does not exist")
    if path.is_dir():
        if not frame_files(path):
            raise VideoError(path, "is a folder without image frames (.png, .jpg, .jpeg, .webp)")
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

def _open(path: Path):
    import av

    try:
        container = av.open(str(path))
    except Exception as e:  # av.error.* for corrupt or unsupported containers
        raise VideoError(path, f"cannot decode: {e}") from e
    if not container.streams.video:
        container.close()
        raise VideoError(path, "has no video stream")
    return container


@functools.lru_cache(maxsize=64)
def _has_alpha(fmt_name: str) -> bool:
    import av

    fmt = av.VideoFormat(fmt_name)
    return fmt.has_palette or any(c.is_alpha for c in fmt.components)


def _to_rgb(frame, path: Path, index: int) -> np.ndarray:
    """One decoded frame -> uint8 [H,W,3]; alpha formats decoded as RGBA and checked opaque."""
    if _has_alpha(frame.format.name):
        rgba = frame.to_ndarray(format="rgba")
        alpha = rgba[..., 3]
        if alpha.min() < 255:
            n = int((alpha < 255).sum())
            raise VideoError(path, f"frame {index} has a non-opaque alpha channel ({n} pixels with "
                                   f"alpha < 255, pixel format {frame.format.name}); flatten it "
                                   f"onto a background first")
        return rgba[..., :3]
    return frame.to_ndarray(format="rgb24")


def _stored_size(container) -> tuple[int, int] | None:
    value = container.metadata.get(SIZE_KEY, "")
    if value.startswith("ffbench_size="):
        w, h = value.split("=", 1)[1].split("x")
        return int(w), int(h)
    return None


@dataclass(frozen=True)
class _Index:
    """One demux pass over the first video stream: packet timestamps in presentation order, and
    the stream's metadata (so `probe` and `read_clip` open the file once between them)."""
    pts: tuple            # presentation timestamps, sorted (frame i has pts[i]); () if unknown
    key_pts: tuple        # pts of keyframes, sorted
    key_seek: dict        # keyframe pts -> timestamp to seek to (its dts, else pts)
    last_duration: int    # of the last frame, in time_base units (0 if unknown)
    time_base: Fraction | None
    header_frames: int    # the container's frame count (0 if it has none)
    packets: int
    width: int
    height: int
    codec: str
    pix_fmt: str | None
    rate: Fraction | None


def _build_index(container) -> _Index:
    stream = container.streams.video[0]
    cc = stream.codec_context
    width, height = _stored_size(container) or (cc.width, cc.height)
    meta = dict(width=width, height=height, codec=cc.name, pix_fmt=cc.pix_fmt,
                rate=stream.average_rate or stream.guessed_rate)
    rows, missing = [], False
    for pkt in container.demux(stream):
        if pkt.size == 0 or pkt.is_discard:
            continue
        ts = pkt.pts if pkt.pts is not None else pkt.dts
        missing |= ts is None
        rows.append((ts, pkt.dts, pkt.duration or 0, pkt.is_keyframe))
    if meta["pix_fmt"] is None and rows:  # some decoders (gif) know it only after a frame
        container.seek(0, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            meta["pix_fmt"] = frame.format.name
            break
    tb, header = stream.time_base, stream.frames or 0
    if missing or not rows:
        return _Index((), (), {}, 0, tb, header, len(rows), **meta)
    rows.sort(key=lambda r: r[0])
    pts = tuple(r[0] for r in rows)
    keys = {r[0]: (r[1] if r[1] is not None else r[0]) for r in rows if r[3]}
    return _Index(pts, tuple(sorted(keys)), keys, rows[-1][2], tb, header, len(rows), **meta)


@functools.lru_cache(maxsize=16)
def _cached_index(path: str, mtime_ns: int, size: int) -> _Index:
    container = _open(Path(path))
    try:
        return _build_index(container)
    except VideoError:
        raise
    except Exception as e:
        raise VideoError(path, f"cannot demux: {e}") from e
    finally:
        container.close()


def _index(path: Path) -> _Index:
    st = path.stat()
    return _cached_index(str(path), st.st_mtime_ns, st.st_size)


def _probe_container(path: Path) -> VideoInfo:
    idx = _index(path)
    frames = idx.header_frames or idx.packets
    if frames == 0:
        raise VideoError(path, "video has zero frames")
    rate, duration = idx.rate, None
    if idx.pts and idx.time_base:
        last = idx.last_duration
        if last <= 0 and len(idx.pts) > 1:
            last = idx.pts[-1] - idx.pts[-2]
        span = (idx.pts[-1] - idx.pts[0] + max(last, 0)) * idx.time_base
        if span <= 0 and rate:
            span = Fraction(frames) / Fraction(rate)
        duration = float(span) if span > 0 else None
    elif rate:
        duration = frames / float(rate)
    fps = frames / duration if duration else (float(rate) if rate else None)
    return VideoInfo(str(path), frames, fps, duration, idx.width, idx.height, idx.codec,
                     idx.pix_fmt or "", bool(idx.pix_fmt) and _has_alpha(idx.pix_fmt))


def _decode(path: Path, indices=None) -> torch.Tensor:
    """Decode frames (all, or the sorted `indices`), keeping only those; see module docstring."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        # frame threading pays off over a whole file; for a short clip its start-up latency
        # costs more than it saves (measured with tests/test_video_bench.py)
        stream.thread_type = "AUTO" if indices is None else "SLICE"
        size = _stored_size(container)
        frames = None
        if indices is not None and indices[0] > 0:
            frames = _decode_seeking(path, container, stream, indices)
            if frames is None:  # seek not trustworthy: decode from the first frame
                container.seek(0, stream=stream, backward=True, any_frame=False)
        if frames is None:
            frames = _decode_sequential(path, container, stream, indices)
    except VideoError:
        raise
    except Exception as e:  # av.error.* for corrupt streams
        raise VideoError(path, f"cannot decode: {e}") from e
    finally:
        container.close()
    if not frames:
        raise VideoError(path, "video has zero frames")
    video = torch.from_numpy(np.stack(frames))
    if size is not None:
        w, h = size
        video = video[:, :h, :w]
    return validate_video(video.contiguous(), path)


def _iter_frames(container, stream):
    """Every decoded picture from the current position (one place, so tests can count them)."""
    return container.decode(stream)


def _decode_sequential(path, container, stream, indices) -> list:
    wanted = None if indices is None else set(indices)
    last = None if indices is None else indices[-1]
    out, i = [], -1
    for i, frame in enumerate(_iter_frames(container, stream)):
        if wanted is None or i in wanted:
            out.append(_to_rgb(frame, path, i))
        if last is not None and i >= last:
            break
    if last is not None and i < last:
        raise VideoError(path, f"decoded only {i + 1} frames, the clip needs {last + 1}")
    return out


def _decode_seeking(path, container, stream, indices) -> list | None:
    """Seek to the keyframe before indices[0], identify frames by pts; None if not trustworthy."""
    idx = _index(path)
    if not idx.pts or indices[-1] >= len(idx.pts):
        return None
    position = {p: i for i, p in enumerate(idx.pts)}
    if len(position) != len(idx.pts):  # duplicate timestamps: cannot identify frames
        return None
    target = idx.pts[indices[0]]
    keys = [k for k in idx.key_pts if k <= target]
    if not keys:
        return None
    container.seek(idx.key_seek[keys[-1]], stream=stream, backward=True, any_frame=False)
    wanted, out, prev = set(indices), [], None
    for frame in _iter_frames(container, stream):
        i = position.get(frame.pts)
        if i is None or (prev is None and i > indices[0]) or (prev is not None and i != prev + 1):
            return None  # unknown pts, seek overshoot, or a gap: fall back
        prev = i
        if i in wanted:
            out.append(_to_rgb(frame, path, i))
        if i >= indices[-1]:
            return out
    return None


# --- public ---------------------------------------------------------------------------------

def probe(path) -> VideoInfo:
    """Frames, fps, duration (s), size, codec, pixel format and alpha of one input (any kind)."""
    path = Path(path)
    kind = _kind(path)
    if kind == "container":
        return _probe_container(path)
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
        return _decode(path)
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
    idx = _index(path)
    total = len(idx.pts) if idx.pts else (idx.header_frames or idx.packets)
    ids = _check_clip(path, total if total else 1 << 62, start, num_frames, stride)
    return _decode(path, ids)


def video_info(path) -> dict:
    """`probe` as a dict with the older key `duration` (seconds) kept for existing callers."""
    info = probe(path).to_dict()
    info["duration"] = info["duration_s"]
    return info
