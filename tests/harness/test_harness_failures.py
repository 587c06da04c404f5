"""Failing samples are recorded and counted and the run completes; --max-failures stops early
with a clear message; a different config in an existing run directory is an error; prompts
never reach file names; the config schema rejects unknown keys."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_fakes import failure_kind
from harness_util import base_config, ffbench_run, in_process, real_stats_file, write_toml

from ffbench.errors import ConfigError
from ffbench.harness.config import parse_run_config
from ffbench.harness.generate import MaxFailuresReached
from ffbench.harness.rundir import SAFE_ID, RunDirError


@pytest.fixture
def stats(tmp_path):
    return str(real_stats_file(tmp_path / "real.npz"))


def _expected_failures(out):
    plan = [json.loads(line) for line in (Path(out) / "plan.jsonl").read_text().splitlines()]
    return {p["sample_id"]: failure_kind(p["seed"]) for p in plan if failure_kind(p["seed"])}


def test_failing_generator_is_recorded_counted_and_run_completes(tmp_path, stats):
    from ffbench.harness.plan import build_plan

    from harness_fakes import FailingGenerator

    cfg = base_config(tmp_path / "run", n=16, batch_size=3, real={"stats": stats})
    plan = build_plan(parse_run_config(cfg))
    kinds = {plan.items[i].seed: k for i, k in zip((1, 4, 5, 10), ("raise", "nan", "shape", "dtype"))}
    res = in_process(cfg, generator=FailingGenerator(kinds))
    expected = {it.sample_id: kinds[it.seed] for it in plan.items if it.seed in kinds}
    assert len(expected) == 4
    assert res["n_failed"] == len(expected) and res["n_samples"] == 16 - len(expected)
    assert {f["sample_id"] for f in res["failures"]} == set(expected)
    words = {"raise": "boom", "nan": "NaN", "shape": "shape", "dtype": "dtype"}
    for f in res["failures"]:
        assert f["stage"] == "generate"
        assert words[expected[f["sample_id"]]] in f["error"]
        err = json.loads((Path(cfg["out"]) / "errors" / f"{f['sample_id']}.json").read_text())
        assert err["sample_id"] == f["sample_id"] and "traceback" in err
        assert not (Path(cfg["out"]) / "samples" / f"{f['sample_id']}.npy").exists()
    assert all(s["n"] == res["n_samples"] and s["value"] is not None for s in res["scores"])


def test_max_failures_stops_early_with_clear_message(tmp_path, stats):
    cfg = base_config(tmp_path / "run", model="harness_fakes:make_failing", n=16,
                      real={"stats": stats})
    with pytest.raises(MaxFailuresReached, match="--max-failures is 2"):
        in_process({**cfg, "max_failures": 2})
    assert len(list((Path(cfg["out"]) / "errors").glob("*.json"))) == 2
    assert len(list((Path(cfg["out"]) / "samples").glob("*.json"))) < 16 - 2
    # the CLI: exit code 3, the message on stderr, no traceback
    toml = write_toml(tmp_path / "run.toml", {**cfg, "out": str(tmp_path / "cli")})
    p = ffbench_run(toml, "--max-failures", "1", "--quiet")
    assert p.returncode == 3
    assert "stopped early" in p.stderr and "--max-failures is 1" in p.stderr
    assert "Traceback" not in p.stderr


def test_different_config_in_existing_run_dir_is_an_error(tmp_path, stats):
    cfg = base_config(tmp_path / "run", real={"stats": stats}, n=10)
    in_process(cfg)
    with pytest.raises(RunDirError, match=r"different config.*seed"):
        in_process({**cfg, "seed": 4})
    with pytest.raises(RunDirError, match="different config"):
        in_process({**cfg, "metrics": ["fvd"]})
    # execution fields may change between a crash and its resume
    res = in_process({**cfg, "bootstrap": 5, "max_failures": 3})
    assert res["scores"][0]["ci_low"] is not None


def test_hostile_prompts_never_reach_file_names(tmp_path, stats):
    from ffbench.harness.plan import plan_from_prompts

    from harness_fakes import FakeGenerator

    prompts = ["../../etc/passwd", "a/b\\c", "line1\nline2\r\n", "nul\x00byte",
               "é" * 3000 + "🎬" * 500, "..", "/abs/path", "con", "*?<>|:\"'", " "]
    cfg = base_config(tmp_path / "run", real={"stats": stats}, metrics=["fvd"], n=len(prompts))
    plan = plan_from_prompts(prompts, seed=3)
    res = in_process(cfg, generator=FakeGenerator(), plan=plan)
    assert res["n_samples"] == len(prompts)
    root = Path(cfg["out"])
    for p in root.rglob("*"):
        assert p.resolve().is_relative_to(root.resolve())
        stem = p.name.split(".")[0]
        assert p.name in ("run.json", "plan.jsonl", "plan.meta.json", "results.json", "model.json") \
            or SAFE_ID.match(p.name), p
        assert "passwd" not in p.name and "\n" not in p.name and "é" not in stem
    stored = [json.loads(line)["prompt"] for line in (root / "plan.jsonl").read_text("utf-8").splitlines()]
    assert stored == prompts  # the prompts themselves survive, escaped, inside JSON
    assert not (tmp_path / "etc").exists()
    # ids must be safe themselves: unsafe ids are refused, never sanitised into collisions
    with pytest.raises(ConfigError, match="not a safe file name"):
        plan_from_prompts(["x"], seed=0, ids=["../x"])
    with pytest.raises(ConfigError, match="not a safe file name"):
        plan_from_prompts(["x"], seed=0, ids=["a/b"])


def test_clipsim_shared_pass_per_sample_and_ci(tmp_path):
    """clipsim and clipsim100 share ONE CLIP pass (random tiny CLIP); per-sample values and a
    bootstrap CI come out; values equal the CLIPSIM metric's functional twin."""
    import numpy as np
    import torch

    from ffbench.metrics.clipsim import clipsim
    from ffbench.metrics.extractors.clip import CLIPExtractor

    cfg = base_config(tmp_path / "run", n=3, metrics=["clipsim@vit-b-32", "clipsim100@vit-b-32"],
                      model_overrides={"frames": 2})
    res = in_process(cfg)
    dirs = sorted(p.name for p in (Path(cfg["out"]) / "features").iterdir() if p.is_dir())
    assert dirs == ["clip-vit-b-32"]
    a, b = res["scores"]
    assert b["value"] == pytest.approx(100 * a["value"], rel=1e-12)
    assert a["ci_low"] <= a["value"] <= a["ci_high"] and a["random_weights"]
    ids = sorted(res["per_sample"]["clipsim@vit-b-32"])
    videos = [torch.from_numpy(np.load(Path(cfg["out"]) / "samples" / f"{i}.npy")) for i in ids]
    prompts = [json.loads((Path(cfg["out"]) / "samples" / f"{i}.json").read_text())["prompt"] for i in ids]
    ref = clipsim(videos, prompts, extractor=CLIPExtractor.random(0), reduction="none")
    got = [res["per_sample"]["clipsim@vit-b-32"][i] for i in ids]
    assert got == pytest.approx(ref.tolist(), abs=1e-6)


def test_config_schema_errors(tmp_path):
    good = base_config(tmp_path / "x")
    assert parse_run_config({**good, "metrics": ["fvd", "is", "clipsim", "fvd@videogpt"]}).metrics == (
        "fvd@stylegan-v-2048x16", "is@c3d-ucf101", "clipsim@vit-b-32", "fvd@videogpt")
    with pytest.raises(ConfigError, match="unknown key 'sed'"):
        parse_run_config({**good, "sed": 1})
    with pytest.raises(ConfigError, match=r"unknown key 'real.sourec' \(known: num_videos, root, seed"):
        parse_run_config({**good, "real": {"sourec": "x"}})
    with pytest.raises(ConfigError, match="'n' must be an integer"):
        parse_run_config({**good, "n": "12"})
    with pytest.raises(ConfigError, match="unknown metric"):
        parse_run_config({**good, "metrics": ["fvd@nope"]})
    with pytest.raises(ConfigError, match="not a generation metric"):
        parse_run_config({**good, "metrics": ["reconstruction@vimeo90k-septuplet"]})
    with pytest.raises(ConfigError, match="required"):
        parse_run_config({"dataset": "demo", "metrics": ["fvd"]})
    toml = write_toml(tmp_path / "bad.toml", {**good, "typo_key": 1})
    p = ffbench_run(toml)
    assert p.returncode == 2 and "unknown key" in p.stderr and "Traceback" not in p.stderr


def test_extract_stage_failures_are_recorded(tmp_path, stats):
    """Videos too short for the protocol's clip fail in the feature stage, per sample."""
    cfg = base_config(tmp_path / "run", n=4, metrics=["fvd"], real={"stats": stats},
                      model_overrides={"frames": 8})
    res = in_process(cfg)
    assert res["n_failed"] == 4 and res["n_samples"] == 0
    assert {f["stage"] for f in res["failures"]} == {"clip"}
    assert "too short: 8 frames < 16" in res["failures"][0]["error"]
    (score,) = res["scores"]
    assert score["value"] is None and "at least 2" in score["extra"]["error"]


def test_editing_the_model_toml_is_a_different_config(tmp_path):
    """Same path, new content: resuming would mix two models' videos."""
    from ffbench.harness.config import parse_run_config
    from ffbench.harness.rundir import RunDir, RunDirError

    toml = tmp_path / "m.toml"
    base = ('name = "m"\nkind = "diffusers"\n[video]\nframes = 4\nheight = 16\nwidth = 16\nfps = 8\n'
            '[diffusers]\npipeline = "TextToVideoSDPipeline"\nmodel = "x"\n')
    toml.write_text(base)
    cfg = parse_run_config({"model": str(toml), "dataset": "demo", "metrics": ["clipsim"]})
    rd = RunDir(tmp_path / "run")
    rd.bind(cfg, "test")
    (tmp_path / "run" / "plan.jsonl").write_text("")  # the run has started (a bare run.json may be rebound)
    toml.write_text(base.replace("frames = 4", "frames = 8"))
    changed = parse_run_config({"model": str(toml), "dataset": "demo", "metrics": ["clipsim"]})
    assert cfg.model_config_hash and changed.model_config_hash != cfg.model_config_hash
    assert changed.hash != cfg.hash
    with pytest.raises(RunDirError, match="model_config_hash"):
        rd.bind(changed, "test")
