"""Chunked MoVQ decoding (4 frames at a time, as the release) vs decoding all frames at once.

Records time and peak memory of both in ``benchmark.extra_info`` (``peak_ratio`` = chunked/all,
``time_ratio`` = chunked/all). Peak memory: CUDA allocator peak on a GPU; on Linux CPUs the peak
resident set (VmHWM, reset through /proc/self/clear_refs) above the level before the call.
On CUDA the released-size MoVQ (random weights) is used; on CPU the tiny preset.
"""
from __future__ import annotations

import ctypes
import gc
import time
from pathlib import Path

import pytest
import torch

from ffbench.fusionframes.movq import build_movq

CUDA = torch.cuda.is_available()
DEVICE = "cuda" if CUDA else "cpu"


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _peak_bytes(fn) -> tuple[int, float]:
    """(peak extra bytes while fn runs, seconds)."""
    gc.collect()
    if CUDA:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base, time.perf_counter() - t
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap back so RSS tracks live data
    except OSError:
        pass
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _rss_kib("VmRSS")
    t = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t
    return (_rss_kib("VmHWM") - base) * 1024, seconds


@pytest.mark.skipif(not CUDA and not Path("/proc/self/clear_refs").exists(),
                    reason="peak memory needs CUDA or Linux /proc")
@pytest.mark.benchmark(group="movq-decode")
def test_bench_chunked_vs_all_at_once(benchmark):
    threads = torch.get_num_threads()
    if CUDA:
        model = build_movq("full", seed=0, device=DEVICE)
        latents = torch.randn(16, 4, 64, 64, device=DEVICE)  # 16 frames of 512x512
    else:
        torch.set_num_threads(1)
        model = build_movq("tiny", seed=0)
        latents = torch.randn(24, 4, 10, 10)  # 24 frames of 80x80
    try:
        model.decode(latents[:1], chunk_size=None)  # warm-up (kernel selection)
        peak_all, t_all = _peak_bytes(lambda: model.decode(latents, chunk_size=None))
        peak_chunk, t_chunk = _peak_bytes(lambda: model.decode(latents, chunk_size=4))
        benchmark.pedantic(model.decode, args=(latents,), kwargs={"chunk_size": 4},
                           rounds=1, iterations=1)
    finally:
        torch.set_num_threads(threads)
    out_bytes = latents.shape[0] * 3 * (latents.shape[2] * 8) * (latents.shape[3] * 8) * 4
    benchmark.extra_info.update({
        "device": torch.cuda.get_device_name() if CUDA else "cpu",
        "preset": "full" if CUDA else "tiny", "frames": latents.shape[0],
        "latent_hw": list(latents.shape[2:]), "chunk_size": 4,
        "peak_bytes_all": peak_all, "peak_bytes_chunked": peak_chunk,
        "peak_ratio": peak_chunk / peak_all, "seconds_all": t_all, "seconds_chunked": t_chunk,
        "time_ratio": t_chunk / t_all, "output_bytes": out_bytes,
    })
    # all-at-once holds activations of every frame; chunked only of 4 (+ the output buffer)
    assert peak_all > out_bytes
    assert peak_chunk < 0.6 * peak_all, benchmark.extra_info
