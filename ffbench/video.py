"""Video files and arrays in, uint8 `[T, H, W, 3]` RGB tensors out — and back.

The at-rest convention is uint8 because that is what files hold and what reference FVD code
quantises to (StyleGAN-V converts generated frames with `(x*127.5+128).clamp(0,255).uint8`).
Every reader returns that one layout, so extractors only ever convert from one place.

Writing mp4 uses H.264 in yuv420p, which needs even width and height: odd sizes are padded by
one pixel (edge replication) on the right/bottom, and the true size is stored in the container
metadata (`ffbench_size`) so `read_video` crops it back. H.264 at `MP4_CRF` is visually lossless
but not exact, and yuv420p halves chroma resolution: a round trip through mp4 changes pixel
values (tests state the tolerance), so keep `.npy` when exactness matters.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from .errors import FFBenchError
from .fileio import atomic_path, atomic_write_npy

__all__ = [
    "VideoError",
    "VIDEO_EXTENSIONS",
    "read_video",
    "write_video",
    "write_preview",
    "video_info",
    "list_videos",
    "validate_video",
    "to_uint8",
    "to_float01",
    "first_n",
    "consecutive",
    "every_kth",
    "central_n",
]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".gif", ".mkv", ".mov", ".npy", ".npz")
CONTAINER_EXTENSIONS = (".mp4", ".avi", ".webm", ".gif", ".mkv", ".mov")
# Constant rate factor of the H.264 writer: 17 is visually lossless; tests state the tolerance.
MP4_CRF = 17
_SIZE_KEY = "comment"  # mp4 metadata key that survives muxing; value "ffbench_size=WxH"


class VideoError(FFBenchError, ValueError):
    """A video could not be read, written or used; the message names the file and the reason."""

    def __init__(self, source, reason: str):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{source}: {reason}")


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


def to_uint8(array, source="<array>") -> torch.Tensor:
    """Any supported array to uint8 [T,H,W,3].

    Accepts uint8, or floats in [0, 1] (scaled by 255 and rounded); [T,H,W] and [T,H,W,1]
    grayscale are repeated to RGB; RGBA drops alpha only when it is fully opaque (otherwise the
    colour would depend on a background we do not know).
    """
    t = torch.from_numpy(np.ascontiguousarray(array)) if isinstance(array, np.ndarray) else array
    if not isinstance(t, torch.Tensor):
        raise VideoError(source, f"expected an array, got {type(array).__name__}")
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
        if not bool(torch.isfinite(t).all()):
            raise VideoError(source, "contains NaN or infinite values")
        lo, hi = float(t.min()), float(t.max())
        if lo < 0.0 or hi > 1.0:
            raise VideoError(source, f"float values must lie in [0, 1], found [{lo:.4g}, {hi:.4g}]")
        out = (t.float() * 255.0).round().to(torch.uint8)
    elif t.dtype in (torch.int16, torch.int32, torch.int64, torch.uint16):
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi > 255:
            raise VideoError(source, f"integer values must lie in [0, 255], found [{lo}, {hi}]")
        out = t.to(torch.uint8)
    else:
        raise VideoError(source, f"unsupported dtype {t.dtype}")
    return validate_video(out.contiguous(), source)


def to_float01(video: torch.Tensor) -> torch.Tensor:
    """uint8 [..., 3] -> float32 in [0, 1] (the reconstruction-metric convention)."""
    if video.dtype != torch.uint8:
        raise VideoError("<tensor>", f"to_float01 expects uint8, got {video.dtype}")
    return video.float().div_(255.0)


# --- reading --------------------------------------------------------------------------------

def list_videos(directory, extensions=VIDEO_EXTENSIONS) -> list[Path]:
    """Video files in `directory` (not recursive), sorted by name: protocols take 'the first N'."""
    d = Path(directory)
    if not d.is_dir():
        raise VideoError(d, "is not a directory")
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in extensions)


def _read_array(path: Path) -> torch.Tensor:
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                key = "video" if "video" in keys else (keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise VideoError(path, f"npz holds {keys}; expected one array or a 'video' key")
                arr = z[key]
        else:
            arr = np.load(path, allow_pickle=False)
    except VideoError:
        raise
    except Exception as e:  # numpy raises several types for corrupt files
        raise VideoError(path, f"cannot read array: {e}") from e
    return to_uint8(arr, path)


def _stored_size(container) -> tuple[int, int] | None:
    value = container.metadata.get(_SIZE_KEY, "")
    if value.startswith("ffbench_size="):
        w, h = value.split("=", 1)[1].split("x")
        return int(w), int(h)
    return None


def _read_container(path: Path) -> torch.Tensor:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(path, "has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
            size = _stored_size(container)
    except VideoError:
        raise
    except Exception as e:  # av.error.* for corrupt or unsupported containers
        raise VideoError(path, f"cannot decode: {e}") from e
    if not frames:
        raise VideoError(path, "video has zero frames")
    video = torch.from_numpy(np.stack(frames))
    if size is not None:
        w, h = size
        video = video[:, :h, :w]
    return validate_video(video.contiguous(), path)


def read_video(path, num_frames: int | None = None) -> torch.Tensor:
    """Read a file into uint8 [T,H,W,3].

    `num_frames`, when given, is the number of frames the caller needs: a shorter video is a
    `VideoError` (never silently padded); the first `num_frames` are returned.
    """
    path = Path(path)
    if not path.exists():
        raise VideoError(path, "file does not exist")
    if not path.is_file():
        raise VideoError(path, "is not a file")
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        video = _read_array(path)
    elif suffix in CONTAINER_EXTENSIONS:
        video = _read_container(path)
    else:
        raise VideoError(path, f"unsupported extension {suffix!r}; supported: {', '.join(VIDEO_EXTENSIONS)}")
    if num_frames is not None:
        video = first_n(video, num_frames, source=path)
    return video


def video_info(path) -> dict:
    """Frames, fps, size, codec and duration, read from the container (arrays: fps unknown)."""
    path = Path(path)
    if path.suffix.lower() in (".npy", ".npz"):
        v = read_video(path)
        return {"path": str(path), "frames": v.shape[0], "width": v.shape[2], "height": v.shape[1],
                "fps": None, "codec": "array", "duration": None}
    import av

    if not path.exists():
        raise VideoError(path, "file does not exist")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(path, "has no video stream")
            stream = container.streams.video[0]
            frames = sum(1 for _ in container.decode(stream))  # counted, since headers may lie
            rate = stream.average_rate or stream.guessed_rate
            size = _stored_size(container) or (stream.codec_context.width, stream.codec_context.height)
            codec = stream.codec_context.name
    except VideoError:
        raise
    except Exception as e:
        raise VideoError(path, f"cannot decode: {e}") from e
    if frames == 0:
        raise VideoError(path, "video has zero frames")
    fps = float(rate) if rate else None
    return {"path": str(path), "frames": frames, "width": size[0], "height": size[1], "fps": fps,
            "codec": codec, "duration": frames / fps if fps else None}


# --- writing --------------------------------------------------------------------------------

def write_video(path, video, fps: float = 8) -> Path:
    """Write uint8 [T,H,W,3] atomically: .mp4 (H.264 yuv420p), .npy (exact) or .gif/.webp preview."""
    path = Path(path)
    video = validate_video(video, path)
    suffix = path.suffix.lower()
    if suffix in (".gif", ".webp"):
        return write_preview(path, video, fps)
    if suffix == ".npy":
        atomic_write_npy(path, video.cpu().numpy())
    elif suffix == ".mp4":
        with atomic_path(path) as tmp:
            _write_mp4(tmp, video, fps)
    else:
        raise VideoError(path, f"cannot write {suffix!r}; use .mp4, .npy, .gif or .webp")
    return path


def _write_mp4(path: Path, video: torch.Tensor, fps: float) -> None:
    import av

    t, h, w, _ = video.shape
    frames = video.cpu().numpy()
    pad_h, pad_w = h % 2, w % 2  # yuv420p subsamples chroma 2x2: needs even sizes
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w", format="mp4") as container:
        container.metadata[_SIZE_KEY] = f"ffbench_size={w}x{h}"
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = w + pad_w, h + pad_h
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(MP4_CRF), "preset": "medium"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_preview(path, video, fps: float = 8, max_side: int | None = None) -> Path:
    """An animated GIF or WebP (Pillow) for reports; `max_side` downsizes large videos."""
    from PIL import Image

    path = Path(path)
    video = validate_video(video, path)
    images = [Image.fromarray(f) for f in video.cpu().numpy()]
    if max_side and max(images[0].size) > max_side:
        scale = max_side / max(images[0].size)
        size = (max(1, round(images[0].width * scale)), max(1, round(images[0].height * scale)))
        images = [im.resize(size, Image.BILINEAR) for im in images]
    fmt = {".gif": "GIF", ".webp": "WEBP"}.get(path.suffix.lower())
    if fmt is None:
        raise VideoError(path, "preview must be .gif or .webp")
    with atomic_path(path) as tmp:
        images[0].save(tmp, format=fmt, save_all=True, append_images=images[1:],
                       duration=max(1, round(1000 / fps)), loop=0)
    return path


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

