"""Writing videos: mp4 (H.264 yuv420p), exact `.npy`, and GIF / WebP previews.

mp4 uses H.264 in yuv420p, which needs even width and height: odd sizes are padded by one pixel
(edge replication) on the right/bottom, and the true size is stored in the container metadata
(`ffbench_size`) so the reader crops it back. H.264 at `MP4_CRF` is visually lossless but not
exact, and yuv420p halves chroma resolution: a round trip through mp4 changes pixel values (tests
state the tolerance), so keep `.npy` when exactness matters. Every write is atomic.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ..fileio import atomic_path, atomic_write_npy
from .core import VideoError, validate_video

__all__ = ["write_video", "write_preview", "MP4_CRF", "SIZE_KEY"]

# Constant rate factor of the H.264 writer: 17 is visually lossless; tests state the tolerance.
MP4_CRF = 17
SIZE_KEY = "comment"  # mp4 metadata key that survives muxing; value "ffbench_size=WxH"


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
        container.metadata[SIZE_KEY] = f"ffbench_size={w}x{h}"
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
