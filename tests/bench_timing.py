"""Timing helpers shared by the benchmarks (tests/ is on sys.path through the root conftest)."""
from __future__ import annotations

import time


def best_of(fn, repeats: int = 5) -> float:
    """Best wall time of `repeats` calls: the least disturbed by other load."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def best_pair(a, b, reps: int = 3) -> tuple[float, float]:
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
