"""Measured time of the interpolation stages on the current device, beside their FLOPs.

Tiny presets on the CPU (always possible), full presets on CUDA when present. One UNet call per
pass at the real batch (the same inputs as stages.py: interpolation 20-channel rows, MFI windows of
5 rows; guidance doubling the batch) is timed after ``warmup`` calls; a pass costs ``steps`` such
calls (the sampler's own element-wise update is negligible beside the UNet), so the time per
video = sum over passes of (median time per call x steps). On CUDA the calls are timed with CUDA
events after a synchronise; elsewhere with ``time.perf_counter``.
"""
from __future__ import annotations

import statistics
import time

import torch

from .stages import Point, _passes, _tensor, _unet

__all__ = ["time_call", "time_interpolation"]


def time_call(fn, device: torch.device, warmup: int = 1, repeats: int = 3) -> float:
    """Median seconds of ``fn()`` on ``device`` after ``warmup`` untimed calls."""
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize(device)
                times.append(start.elapsed_time(end) / 1000.0)
            else:
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_interpolation(p: Point, warmup: int = 1, repeats: int = 3, dtype=None) -> list[dict]:
    """Rows {stage, pass, batch, seconds_per_call, seconds} for interpolation and MFI at ``p``.

    ``p.device`` must be "cpu" or "cuda" (random weights; full sizes only make sense on CUDA).
    """
    if p.device == "meta":
        raise ValueError("timing needs a real device (cpu or cuda), not meta")
    device = torch.device(p.device)
    dtype = dtype or (torch.float16 if device.type == "cuda" else torch.float32)
    h, w = p.latent
    g = 2 if p.guidance else 1
    rows = []
    for kind in ("interpolation", "mfi"):
        m = _unet(kind, p.preset, p.device).to(dtype)
        c = m.config
        for k, t, skip in _passes(p):
            n = g * (t - 1) * (5 if kind == "mfi" else 1)
            x = _tensor((n, c.in_channels, h, w), p.device, dtype)
            tt = torch.zeros(n, device=device)
            ctx = _tensor((n, 2, c.context_dim), p.device, dtype)
            mask = torch.ones(n, 2, dtype=torch.bool, device=device)
            if kind == "mfi":
                fn = lambda: m(x, tt, ctx, mask, num_frames=5)  # noqa: E731
            else:
                fn = lambda: m(x, tt, ctx, mask, num_temporal_groups=t - 1, skip_frames=skip,  # noqa: E731
                               perturbation_time=0)
            s = time_call(fn, device, warmup, repeats)
            rows.append({"stage": kind, "pass": k, "preset": p.preset, "device": p.device,
                         "height": p.height, "width": p.width, "keyframes": p.keyframes, "fps": p.fps,
                         "steps": p.steps, "guidance": p.guidance, "batch": n, "dtype": str(dtype),
                         "seconds_per_call": s, "seconds": s * p.steps})
        m.float()
    return rows
