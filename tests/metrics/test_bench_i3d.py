"""I3D feature throughput (videos/s) and peak memory on CPU with random weights.

`test_bench_i3d_ci` runs in CI at 16x48x48, batch 1/2 (cheap). `test_bench_i3d_full_224` is the real
protocol size, 16x224x224 at batch 1/4/16, for `tox -e bench`. Peak memory is the peak resident
set size above the level before the call, sampled from /proc every 2 ms (torch's CPU allocator
is not visible to tracemalloc); `test_memory_grows_with_batch_not_with_videos` checks that the
directory pipeline holds one batch at a time."""
from __future__ import annotations

import threading
import time

import pytest
import torch

from ffbench.metrics.extractors import build_extractor
from ffbench.harness.realstats import real_statistics
from ffbench.protocols import get
from ffbench.video import write_video

pytestmark = pytest.mark.benchmark(group="i3d")


def _rss() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096
    except OSError:  # pragma: no cover - not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss_during(fn):
    """(result, peak RSS increase in bytes while fn runs)."""
    base = _rss()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.002)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        out = fn()
    finally:
        done.set()
        th.join()
    return out, max(0, max(peak[0], _rss()) - base)


def _throughput(benchmark, size, batches, rounds):
    ex = build_extractor("i3d-400", random_seed=0, resize="direct", resolution=size, device="cpu")
    g = torch.Generator().manual_seed(0)
    rows = {}
    for b in batches:
        v = torch.randint(0, 256, (b, 16, size, size, 3), dtype=torch.uint8, generator=g)
        ex(v)  # warm-up (kernel selection)
        best = float("inf")
        peak = 0
        for _ in range(rounds):
            t0 = time.perf_counter()
            _, p = peak_rss_during(lambda: ex(v))
            best = min(best, time.perf_counter() - t0)
            peak = max(peak, p)
        rows[b] = {"videos_per_s": b / best, "s_per_batch": best, "peak_rss_mib": peak / 2**20}
        print(f"\nI3D 16x{size}x{size} batch {b}: {b / best:.2f} videos/s, peak +{peak / 2**20:.0f} MiB")
    benchmark.extra_info.update({"size": f"16x{size}x{size}", "torch_threads": torch.get_num_threads(),
                                 **{f"batch{b}": r for b, r in rows.items()}})
    v = torch.randint(0, 256, (batches[0], 16, size, size, 3), dtype=torch.uint8, generator=g)
    benchmark.pedantic(lambda: ex(v), rounds=1, iterations=1)
    return rows


def test_bench_i3d_ci(benchmark):
    rows = _throughput(benchmark, 48, [1, 2], rounds=1)
    assert all(r["videos_per_s"] > 0 for r in rows.values())


def test_bench_i3d_full_224(benchmark):
    if benchmark.disabled:
        pytest.skip("full 16x224x224 I3D benchmark: run `tox -e bench`")
    rows = _throughput(benchmark, 224, [1, 4, 16], rounds=2)
    assert rows[16]["peak_rss_mib"] > rows[1]["peak_rss_mib"]


def test_memory_grows_with_batch_not_with_videos(tmp_path):
    g = torch.Generator().manual_seed(0)
    for i in range(6):
        write_video(tmp_path / f"v{i}.npy", torch.randint(0, 256, (16, 40, 40, 3), dtype=torch.uint8, generator=g))
    protocol = get("fvd@videogpt")
    ex = build_extractor("i3d-400", random_seed=0, resize="short-side-crop", resolution=40, device="cpu")
    ex(torch.zeros(2, 16, 40, 40, 3, dtype=torch.uint8))  # warm-up

    def run(limit):  # the engine's real-set reader, no cache
        return real_statistics(protocol, ex, source=tmp_path, num_videos=limit, batch_size=2,
                               use_cache=False, progress=False)

    s2, p2 = peak_rss_during(lambda: run(2))
    s8, p8 = peak_rss_during(lambda: run(6))
    assert s2.n == 2 and s8.n == 6
    # 3x the videos must not need anything like 3x the memory: one batch is held at a time
    assert p8 < 2 * p2 + 64 * 2**20, (p2, p8)
