"""kill -9 a real `ffbench run` subprocess at several points (mid-generation, mid-features,
before results.json), resume, and get exactly the numbers of an uninterrupted run; the final
results also land in the store."""
from __future__ import annotations

import json

from harness_util import base_config, comparable, ffbench_run, in_process, load_results, write_toml


def test_kill9_at_three_points_then_resume_gives_identical_results(tmp_path):
    db = tmp_path / "results.db"
    expected = comparable(in_process(base_config(tmp_path / "uninterrupted")))
    assert expected["n_samples"] == 12 and all(s["value"] is not None for s in expected["scores"])

    out = tmp_path / "run"
    cfg = write_toml(tmp_path / "run.toml", base_config(out, db=str(db)))
    # 1. killed after the 5th generated sample
    p = ffbench_run(cfg, "--quiet", FFBENCH_CRASH_AT="generate:5")
    assert p.returncode == -9, p.stderr[-2000:]
    assert len(list((out / "samples").glob("*.json"))) == 5
    assert not (out / "features").exists() or not any((out / "features").rglob("*.npy"))
    # 2. resumed, killed after the 7th feature file (the first extractor pass)
    p = ffbench_run(cfg, "--quiet", FFBENCH_CRASH_AT="features:7")
    assert p.returncode == -9, p.stderr[-2000:]
    assert len(list((out / "samples").glob("*.json"))) == 12
    assert len(list((out / "features").rglob("*.npy"))) == 7
    # 3. resumed, killed when everything is computed but results.json is not yet written
    p = ffbench_run(cfg, "--quiet", FFBENCH_CRASH_AT="results:1")
    assert p.returncode == -9, p.stderr[-2000:]
    assert not (out / "results.json").exists()
    assert len(list((out / "features").rglob("*.npy"))) == 24
    # 4. resumed to the end
    p = ffbench_run(cfg, "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout)
    assert comparable(got) == expected
    assert comparable(load_results(out)) == expected
    assert not list(out.rglob(".*.tmp"))

    from ffbench.store import ResultsStore

    rows = ResultsStore(db).scores(got["run_id"])
    assert sorted(rows["protocol"]) == ["fvd@stylegan-v-2048x16", "is@c3d-ucf101"]
    fvd = next(s for s in expected["scores"] if s["protocol"].startswith("fvd"))
    assert rows.set_index("protocol").loc["fvd@stylegan-v-2048x16", "value"] == fvd["value"]
    assert bool(rows["random_weights"].all())
    # the generator's interpolation method reaches the stored run config (report Table 2)
    run_config = json.loads(ResultsStore(db).runs().set_index("run_id").loc[got["run_id"], "config_json"])
    assert got["interpolation"] == run_config["interpolation"] == "fusionframes"
