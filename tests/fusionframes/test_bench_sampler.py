"""Sampler benchmarks: our vectorised step vs a per-sample loop, our quantile vs torch.quantile.

Sizes: the keyframe stage's batch at the README resolution 640x384 (15 frames, 4 x 48 x 80
latents). Each benchmark checks the two implementations agree before timing them, and records
both times and their ratio in ``benchmark.extra_info`` (same process, same inputs).
"""
from __future__ import annotations

import math

import torch

from bench_timing import best_of
from ffbench.fusionframes.sampler import Sampler, _row_quantile

SHAPE = (15, 4, 48, 80)


def _per_sample_step(s: Sampler, out, x, t, noise):
    """Straightforward implementation: one batch row at a time, torch.quantile thresholding."""
    sa, s1 = s.sqrt_alphas_cumprod[t].item(), s.sqrt_one_minus_alphas_cumprod[t].item()
    rows = []
    for i in range(x.shape[0]):
        x0 = (x[i] - s1 * out[i]) / sa
        q = max(torch.quantile(x0.abs().flatten(), s.threshold_percentile).item(), 1.0)
        x0 = x0.clamp(-q, q) / q
        mean = s.posterior_mean_coef1[t].item() * x0 + s.posterior_mean_coef2[t].item() * x[i]
        rows.append(mean + math.exp(0.5 * s.posterior_log_variance[t].item()) * noise[i])
    return torch.stack(rows)


def _inputs():
    g = torch.Generator().manual_seed(0)
    x, out, noise = (torch.randn(SHAPE, generator=g) for _ in range(3))
    return x, out * 1.5, noise


def test_bench_step_vectorised_vs_per_sample(benchmark):
    s = Sampler(50)
    x, out, noise = _inputs()
    t = 30
    torch.testing.assert_close(s.step(out, x, t, noise), _per_sample_step(s, out, x, t, noise),
                               rtol=1e-5, atol=1e-5)
    t_ref = best_of(lambda: _per_sample_step(s, out, x, t, noise))
    t_ours = best_of(lambda: s.step(out, x, t, noise))
    benchmark.extra_info.update(shape=list(SHAPE), per_sample_s=t_ref, vectorised_s=t_ours,
                                speedup=t_ref / t_ours)
    benchmark(s.step, out, x, t, noise)


def test_bench_row_quantile_vs_torch_quantile(benchmark):
    x, _, _ = _inputs()
    rows = x.reshape(SHAPE[0], -1).abs()
    torch.testing.assert_close(_row_quantile(rows, 0.98), torch.quantile(rows, 0.98, dim=1))
    t_ref = best_of(lambda: torch.quantile(rows, 0.98, dim=1))
    t_ours = best_of(lambda: _row_quantile(rows, 0.98))
    benchmark.extra_info.update(shape=list(rows.shape), torch_quantile_s=t_ref, topk_s=t_ours,
                                speedup=t_ref / t_ours)
    benchmark(_row_quantile, rows, 0.98)
