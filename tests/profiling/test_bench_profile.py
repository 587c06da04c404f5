"""Benchmark: `ffbench profile` of every stage at full size on the meta device (< 30 s, issue 9).

Runs the command in-process (cli.main) so the figure is the profiler's, not the interpreter
start-up; the FLOP-counted model graphs are rebuilt from scratch (caches cleared) each round.
"""
import time

from ffbench.cli import main
from ffbench.profiling.stages import clear_cache


def test_bench_profile_full_all_stages(benchmark, tmp_path, capsys):
    def run():
        clear_cache()
        assert main(["profile", "--preset", "full", "--fps", "high", "--no-progress"]) == 0

    t0 = time.perf_counter()
    benchmark.pedantic(run, rounds=1, iterations=1)
    elapsed = time.perf_counter() - t0
    out = capsys.readouterr().out
    assert "MFI / FusionFrames interpolation FLOPs per video" in out
    benchmark.extra_info["seconds"] = round(elapsed, 2)
    benchmark.extra_info["limit_seconds"] = 30
    assert elapsed < 30, f"ffbench profile (all stages, full) took {elapsed:.1f} s"
