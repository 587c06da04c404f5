"""Our default Fréchet distance (`eig`) vs StyleGAN-V's scipy.linalg.sqrtm route, same inputs,
same run. The 400-d case runs in CI (once, under --benchmark-disable); the 2048-d case is
`test_bench_frechet_2048_full`, run by `tox -e bench` (scipy's sqrtm takes seconds there).

The speed-up target (>= 5x, which holds at few BLAS threads) is reported in ``extra_info``
(`speedup`, `target_speedup`, `within_target`), never asserted (issue 20): a ratio of timings
depends on the machine, its load and its BLAS threads. What is asserted is the equal result."""
from __future__ import annotations


import numpy as np
import pytest

from bench_timing import best_of
from ffbench.metrics.frechet import frechet_distance

pytestmark = pytest.mark.benchmark(group="frechet")
TARGET = 5.0  # README: eig is 7-8x faster than scipy sqrtm at 400-d and 2048-d on 2 threads


def _stats(d, n, seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, d)) @ (r.standard_normal((d, d)) / np.sqrt(d)) + r.standard_normal(d)
    x64 = x.astype(np.float32).astype(np.float64)
    mu = x64.mean(0)
    return mu, x64.T @ x64 / n - np.outer(mu, mu)  # StyleGAN-V's biased covariance


def _best_pair(a, b, reps):
    """Best-of-`reps` of each, in blocks (b, then a, then b again): BLAS thread pools stay warm
    within a block, and a burst of load on a shared machine has two chances to miss each side."""
    tb = best_of(b, reps)
    ta = best_of(a, reps)
    return ta, min(tb, best_of(b, reps))


def _run(benchmark, d, n, reps):
    mu1, s1 = _stats(d, n, 1)
    mu2, s2 = _stats(d, n, 2)

    def ours():
        return frechet_distance(mu1, s1, mu2, s2, "eig")

    def ref():
        return frechet_distance(mu1, s1, mu2, s2, "scipy-sqrtm")

    assert ours() == pytest.approx(ref(), rel=1e-6)
    if benchmark.disabled:
        reps = 1  # CI: one timing pair is enough to record the ratio
    t_ours, t_ref = _best_pair(ours, ref, reps)
    ratio = t_ref / t_ours
    benchmark.extra_info.update({"dim": d, "samples": n, "eig_s": t_ours, "scipy_sqrtm_s": t_ref,
                                 "speedup": ratio, "target_speedup": TARGET,
                                 "within_target": ratio >= TARGET})
    print(f"\nFréchet {d}-d (N={n}): eig {t_ours * 1e3:.1f} ms, scipy sqrtm {t_ref * 1e3:.1f} ms "
          f"-> {ratio:.1f}x (target >= {TARGET:g}x)")
    benchmark.pedantic(ours, rounds=reps, iterations=1)
    return ratio


def test_bench_frechet_400(benchmark):
    _run(benchmark, 400, 2048, reps=5)


def test_bench_frechet_400_rank_deficient(benchmark):
    _run(benchmark, 400, 256, reps=5)  # VideoGPT: 256 videos x 400-d


def test_bench_frechet_2048_full(benchmark):
    if benchmark.disabled:
        pytest.skip("2048-d full-size benchmark: run `tox -e bench` (scipy sqrtm takes seconds)")
    _run(benchmark, 2048, 4096, reps=2)
