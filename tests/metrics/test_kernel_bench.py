"""Subset MMD (kvd@...-subsets, StyleGAN-V's KID estimator) from the full kernel matrices vs
clean-fid's kernel_distance (three m×m×d products per subset), same inputs, same run.

A small case runs in CI (once, under --benchmark-disable) and asserts only the equal result;
the full-size case (N=2048 videos, 400-d I3D logits, 100 subsets of 1000) runs under
`tox -e bench`.
"""
from __future__ import annotations

import numpy as np
import pytest

from bench_timing import best_pair
from ffbench.metrics.kernel import subset_mmd2

pytestmark = pytest.mark.benchmark(group="kernel")


def _run(benchmark, n, d, subsets, size, reps):
    from cleanfid.fid import kernel_distance

    rng = np.random.RandomState(0)
    real = rng.randn(n, d) * 3
    fake = rng.randn(n, d) * 3 + 0.1

    def ours():
        return subset_mmd2(fake, real, subsets, size, seed=0)[0]

    def ref():
        np.random.seed(0)
        return kernel_distance(real, fake, num_subsets=subsets, max_subset_size=size)

    assert ours() == pytest.approx(ref(), rel=1e-10)
    t_ours, t_ref = best_pair(ours, ref, 1 if benchmark.disabled else reps)
    ratio = t_ref / t_ours
    benchmark.extra_info.update({"samples": n, "dim": d, "subsets": subsets, "subset_size": size,
                                 "ours_s": t_ours, "cleanfid_s": t_ref, "speedup": ratio})
    print(f"\nsubset MMD N={n} d={d} {subsets}x{size}: ours {t_ours:.2f} s, clean-fid "
          f"{t_ref:.2f} s -> {ratio:.1f}x")
    benchmark.pedantic(ours, rounds=1 if benchmark.disabled else reps, iterations=1)
    return ratio


def test_bench_subset_mmd_small(benchmark):
    _run(benchmark, 300, 64, 10, 200, reps=3)


def test_bench_subset_mmd_kvd_full(benchmark):
    if benchmark.disabled:
        pytest.skip("full-size KVD subset benchmark: run `tox -e bench`")
    assert _run(benchmark, 2048, 400, 100, 1000, reps=2) >= 2
