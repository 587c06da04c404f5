"""Timing helper shared by the metric benchmarks."""
from __future__ import annotations

import time


def best_pair(a, b, reps=3):
    """Best-of-`reps` times of a and b, interleaved so a burst of load on a shared machine hits
    both sides alike."""
    ta = tb = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        ta, tb = min(ta, t1 - t0), min(tb, t2 - t1)
    return ta, tb
