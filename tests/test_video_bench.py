"""Clip loading throughput: `read_clip` vs decoding whole files vs the loading approach of two
widely used evaluation codebases (our own harnesses of their approach, written from reading
their loading code; no code copied):

- whole-file:   `read_video(path)[off:off+16]` (what ffbench did before read_clip);
- cd-fvd:       songweige/content-debiased-fvd `VideoDataset` uses torchvision `VideoClips`: a
                metadata pass reads the timestamps of every frame of every file, then each clip
                is read by seeking to its start pts (torchvision seeks to start-1, backward, to a
                keyframe), decoding and buffering frames up to the end pts, keeping the range;
- cmovq:        JunyaoHu/common_metrics_on_video_quality takes in-memory float tensors
                `[B,T,C,H,W]` in [0, 1]: users decode the whole video, convert it to float and
                slice the frames they need.
Files are UCF-101-like: 320x240, 150 frames, MPEG-4 part 2 in AVI (GOP 12), made with PyAV.
A clip is 16 frames at a seeded random offset; `probe` (frame count) is inside the timing, as
the loader needs it. `extra_info` holds videos/s and the ratios.

Normal test runs (`--benchmark-disable`) run only the cheap check that all four approaches give
the same clips, on tiny files; `tox -e bench` (`--benchmark-only`) measures.
"""
from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pytest
import torch

from bench_timing import best_of
from ffbench import video as V
from ffbench.video import container as decoding
from video_samples import make_video

pytestmark = pytest.mark.benchmark(group="video-clip")


def _ucf_like(d, n_files, frames, h, w):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n_files):
        base = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        shift = np.arange(frames)[:, None, None, None]
        content = ((base[None].astype(np.int32) + shift * 3) % 256).astype(np.uint8)
        paths.append(make_video(d / f"v_Class_g{i:02d}_c01.avi", "mpeg4", frames=content, rate=25,
                                options={"g": "12", "qscale": "4"}))
    return paths


def _offsets(paths, frames, n=16):
    rng = random.Random(0)
    return [rng.randint(0, frames - n) for _ in paths]


def ours(path, off, n=16):
    decoding._cached_index.cache_clear()  # no help from the in-process packet index cache
    V.probe(path)  # frame count, as ClipLoader does before choosing an offset
    return V.read_clip(path, off, n)


def whole(path, off, n=16):
    return V.read_video(path)[off: off + n]


def cdfvd_like(path, off, n=16):
    """Timestamps of every frame (VideoClips metadata), then seek to start-1 and decode to end."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        pts = sorted(p.pts for p in c.demux(s) if p.size)
    start, end = pts[off], pts[off + n - 1]
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        c.seek(max(start - 1, 0), any_frame=False, backward=True, stream=s)
        buf = []
        for f in c.decode(s):
            buf.append(f)
            if f.pts >= end:
                break
        keep = [f for f in buf if start <= f.pts <= end]
        return torch.from_numpy(np.stack([f.to_rgb().to_ndarray() for f in keep]))


def cmovq_like(path, off, n=16):
    """Whole video decoded and converted to float [T,C,H,W] in [0,1], then sliced."""
    import av

    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255)
    return x[off: off + n]


def _as_uint8(clip):
    return clip if clip.dtype == torch.uint8 else clip.mul(255).round().to(torch.uint8).permute(0, 2, 3, 1)


def test_all_loaders_give_the_same_clips(tmp_path):
    paths = _ucf_like(tmp_path, 2, 40, 48, 64)
    for p, off in zip(paths, _offsets(paths, 40)):
        ref = ours(p, off)
        assert ref.shape == (16, 48, 64, 3)
        for fn in (whole, cdfvd_like, cmovq_like):
            assert torch.equal(_as_uint8(fn(p, off)), ref), (fn.__name__, p.name, off)


def test_bench_clip_loading_ucf_like(benchmark, tmp_path):
    if benchmark.disabled:
        pytest.skip("UCF-101-like clip-loading benchmark: run `tox -e bench` (--benchmark-only)")
    frames = 150
    paths = _ucf_like(tmp_path, 4, frames, 240, 320)
    offs = _offsets(paths, frames)

    def run(fn):
        return lambda: [fn(p, o) for p, o in zip(paths, offs)]

    rates = {}
    for fn in (ours, whole, cdfvd_like, cmovq_like):
        run(fn)()  # warm-up (page cache, codec init)
        rates[fn.__name__] = len(paths) / best_of(run(fn), repeats=3)
    peaks = {}
    for fn in (ours, whole):
        tracemalloc.start()
        fn(paths[0], offs[0])
        peaks[fn.__name__] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    info = {"files": f"{len(paths)} x 320x240x{frames} mpeg4/avi", "clip": "16 frames, random offset",
            **{f"{k}_videos_per_s": round(v, 2) for k, v in rates.items()},
            "speedup_vs_whole": round(rates["ours"] / rates["whole"], 2),
            "speedup_vs_cdfvd_like": round(rates["ours"] / rates["cdfvd_like"], 2),
            "speedup_vs_cmovq_like": round(rates["ours"] / rates["cmovq_like"], 2),
            **{f"{k}_peak_numpy_mib": round(v, 1) for k, v in peaks.items()}}
    benchmark.extra_info.update(info)
    print("\n" + "\n".join(f"{k}: {v}" for k, v in info.items()))
    benchmark.pedantic(run(ours), rounds=3, iterations=1)
    assert peaks["ours"] < peaks["whole"]
