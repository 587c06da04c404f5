"""Shard invariance: K = 1, `--shard i/2` + `--merge`, `--shard i/3` + `--merge`, and a real
`torchrun --nproc_per_node 2` (CPU, gloo) all give identical numbers."""
from __future__ import annotations

import subprocess
import sys

import pytest

from harness_util import (REPO, base_config, comparable, env, in_process, load_results,
                          real_stats_file, write_toml)


@pytest.fixture
def cfg_for(tmp_path):
    stats = real_stats_file(tmp_path / "real.npz")

    def make(name, **kw):
        return base_config(tmp_path / name, real={"stats": str(stats)},
                           metrics=["fvd@stylegan-v-2048x16", "is@c3d-ucf101"], **kw)
    return make


def test_shards_and_merge_equal_single_process(cfg_for):
    single = comparable(in_process(cfg_for("k1")))
    assert single["n_samples"] == 12
    for k in (2, 3):
        cfg = cfg_for(f"k{k}")
        for i in range(k):
            out = in_process(cfg, shard=f"{i}/{k}")
            assert out["shard"]["n_items"] == len(range(i, 12, k))
        from pathlib import Path

        assert not (Path(cfg["out"]) / "results.json").exists()  # shards never evaluate
        assert sorted(p.name for p in (Path(cfg["out"]) / "shards").iterdir()) == \
            [f"{i}.done" for i in range(k)]
        merged = in_process(cfg, merge=True)
        assert comparable(merged) == single


def test_merge_before_all_shards_are_done_is_an_error(cfg_for):
    from ffbench.harness.rundir import RunDirError

    cfg = cfg_for("partial")
    in_process(cfg, shard="0/2")
    with pytest.raises(RunDirError, match="not finished"):
        in_process(cfg, merge=True)


def test_torchrun_two_ranks_on_cpu_equals_single_process(cfg_for, tmp_path):
    single = comparable(in_process(cfg_for("single")))
    cfg = cfg_for("ddp")
    toml = write_toml(tmp_path / "ddp.toml", cfg)
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         "--standalone", "-m", "ffbench.cli", "run", str(toml), "--quiet"],
        capture_output=True, text=True, env=env(), cwd=str(REPO), timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = load_results(cfg["out"])
    assert comparable(res) == single
    shards = res["timings"]["shards"]
    assert sorted(shards) == ["0", "1"]
    assert {s["launcher"] for s in shards.values()} == {"torchrun"}
    assert sorted(s["n_items"] for s in shards.values()) == [6, 6]
