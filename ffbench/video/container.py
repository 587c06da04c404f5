"""Container decoding (PyAV): a packet index per file, probing from timestamps, and decoding of
all frames or of a clip by seeking. The rules are in `ffbench.video.reader`'s docstring.

The index is one demux pass (no picture decoding) over the first video stream: every packet's
presentation timestamp, keyframe flag and duration, plus the stream metadata. Frame i of the
file is the packet with the i-th smallest pts — true for the codecs tested (MPEG-4 part 2,
H.264 with B-frames, VP9, FFV1, PNG, GIF); a clip read checks every decoded frame against it and
falls back to decoding from frame 0 when they disagree. The index is cached per
(path, mtime, size) in each process, so `probe` then `read_clip` demux the file once.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from .core import VideoError, VideoInfo, validate_video
from .writer import SIZE_KEY


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
    meta = dict(width=width, height=height, codec=cc.name,
                pix_fmt="yuva420p" if _side_alpha_decoder(stream) else cc.pix_fmt,
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


def index(path: Path) -> _Index:
    st = path.stat()
    return _cached_index(str(path), st.st_mtime_ns, st.st_size)


def probe_container(path: Path) -> VideoInfo:
    idx = index(path)
    frames = idx.packets or idx.header_frames  # demuxed: a truncated file keeps its header count
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


def decode(path: Path, indices=None) -> torch.Tensor:
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


# VP8/VP9 in WebM keep alpha in a side channel (track tag alpha_mode=1, BlockAdditional data)
# that FFmpeg's native vp8/vp9 decoders ignore: the video would be read as opaque. libvpx reads it.
_ALPHA_DECODERS = {"vp8": "libvpx", "vp9": "libvpx-vp9"}


def _side_alpha_decoder(stream) -> str | None:
    if str(stream.metadata.get("alpha_mode", "")).strip() == "1":
        return _ALPHA_DECODERS.get(stream.codec_context.name)
    return None


def _iter_frames(container, stream):
    """Every decoded picture from the current position (one place, so tests can count them)."""
    name = _side_alpha_decoder(stream)
    if name is None:
        yield from container.decode(stream)
        return
    import av

    if name not in av.codecs_available:
        raise VideoError(container.name, f"has a {stream.codec_context.name} alpha channel "
                                         f"(alpha_mode=1) and this PyAV build lacks the {name} "
                                         f"decoder that reads it")
    ctx = av.CodecContext.create(name, "r")
    ctx.width, ctx.height = stream.codec_context.width, stream.codec_context.height
    for packet in container.demux(stream):  # the last packet is empty: it flushes the decoder
        yield from ctx.decode(packet)


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
    idx = index(path)
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
