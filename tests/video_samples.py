"""Tiny videos made with PyAV at test time (no downloaded files): one helper for every codec the
reader tests use. Content is a per-frame ramp so frames are distinct (a wrong frame index is seen)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np


def ramp(n: int, h: int = 24, w: int = 32, alpha=None) -> np.ndarray:
    """uint8 [n,h,w,3] (or 4 with `alpha` as the alpha plane): frame i is visibly different."""
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for i in range(n):
        r = (xx * 7 + i * 11) % 256
        g = (yy * 9 + i * 5) % 256
        b = np.full_like(xx, (40 + 13 * i) % 256)
        planes = [r, g, b] + ([np.broadcast_to(alpha, (h, w))] if alpha is not None else [])
        frames.append(np.stack(planes, -1))
    return np.stack(frames).astype(np.uint8)


def make_video(path, codec: str, n: int = 20, h: int = 24, w: int = 32, rate: int = 8,
               pix_fmt: str = "yuv420p", options=None, durations_ms=None, last_ms=None,
               frames=None, fmt=None):
    """Encode `frames` (default `ramp(n)`) with PyAV. `durations_ms` (cycled) makes a VFR file
    with a 1 ms time base; `last_ms` is the last frame's duration."""
    import av

    frames = ramp(n, h, w) if frames is None else frames
    in_fmt = "rgba" if frames.shape[-1] == 4 else "rgb24"
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=rate)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        if options:
            s.options = dict(options)
        if durations_ms:
            s.codec_context.time_base = Fraction(1, 1000)
        t, dur = 0, {}

        def mux(packets):
            for p in packets:
                if durations_ms and p.pts in dur:  # the muxer stores what the packet says
                    p.duration = dur[p.pts]
                c.mux(p)

        for i, a in enumerate(frames):
            fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format=in_fmt)
            if durations_ms:
                d = last_ms if (last_ms and i == len(frames) - 1) else durations_ms[i % len(durations_ms)]
                fr.pts, fr.time_base, dur[t] = t, Fraction(1, 1000), d
                t += d
            mux(s.encode(fr))
        mux(s.encode())
    return path


# (file name, make_video kwargs): the four codecs read_clip must be exact on
CLIP_CODECS = {
    "avi-mpeg4": ("v.avi", dict(codec="mpeg4", options={"g": "6"})),
    "mp4-h264-bframes": ("v.mp4", dict(codec="libx264", options={"bf": "3", "g": "6", "preset": "fast"})),
    "webm-vp9": ("v.webm", dict(codec="libvpx-vp9", options={"g": "6", "deadline": "realtime", "cpu-used": "8"})),
    "mkv-vfr-h264": ("v.mkv", dict(codec="libx264", options={"bf": "2", "g": "5", "preset": "fast"},
                                   durations_ms=[50, 100, 30], fmt="matroska")),
}
