"""`ffbench profile` through a subprocess."""
import json
import os
import subprocess
import sys

import pytest


def _run(*args, timeout=240):
    # one intra-op thread: tiny CPU models on a shared 2-core machine run ~25x faster
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "ffbench.cli", "profile", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_help():
    r = _run("--help")
    assert r.returncode == 0
    assert "--sweep" in r.stdout and "--stage" in r.stdout and "--device" in r.stdout


def test_tiny_sweep_json_out_and_plots(tmp_path):
    out = tmp_path / "prof"
    r = _run("--preset", "tiny", "--stage", "interpolation", "mfi", "--keyframes", "3",
             "--steps", "2", "--sweep", "resolution=64,128", "--sweep", "fps=medium,high", "--json",
             "--out", str(out), "--plot", str(tmp_path / "cmp.png"))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    rows = data["rows"]
    assert {(x["height"], x["fps"]) for x in rows} == {(64, "medium"), (64, "high"), (128, "medium"),
                                                       (128, "high")}
    assert {"interpolation", "mfi"} == {x["stage"] for x in rows}
    saved = json.loads((out / "profile.json").read_text())
    assert isinstance(saved, list) and len(saved) == len(rows)
    assert (out / "profile.csv").read_text().startswith("stage,")
    for stem in ("interp_vs_mfi",):  # stage_flops needs pipeline rows: test_stages.py
        assert (out / f"{stem}.png").stat().st_size > 1000
        assert (out / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "cmp.png").exists() and (tmp_path / "cmp.svg").exists()


def test_cpu_timing_table():
    r = _run("--preset", "tiny", "--device", "cpu", "--stage", "interpolation", "mfi", "--keyframes", "2",
             "--fps", "medium", "--height", "64", "--width", "64", "--steps", "2", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "MFI / FusionFrames interpolation FLOPs per video" in r.stdout
    assert "measured on cpu" in r.stdout and "seconds_per_call" in r.stdout
    assert "interpolation time per video" in r.stdout


@pytest.mark.parametrize("args,msg", [(["--sweep", "colour=1"], "AXIS"),
                                      (["--height", "500"], "positive multiples of 16 (the tiny pipeline"),
                                      (["--stage", "vae"], "invalid choice")])
def test_bad_arguments(args, msg):
    r = _run("--preset", "tiny", *args)
    assert r.returncode == 2
    assert msg in r.stderr
    assert "Traceback" not in r.stderr
