"""Benchmark: `ffbench profile` of every stage at full size on the meta device.

The target (< 30 s, issue 9) is reported in ``extra_info`` (`seconds`, `target_seconds`,
`within_target`), never asserted: wall-clock time depends on the machine and its load, and the
test command (`tox`) must not fail on a busy or a bigger machine (issue 20). Under
``--benchmark-disable`` the profile still runs once and its output is checked.

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
    benchmark.extra_info["target_seconds"] = 30
    benchmark.extra_info["within_target"] = elapsed < 30
    print(f"\nffbench profile (all stages, full): {elapsed:.1f} s (target < 30 s)")
