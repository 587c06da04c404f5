"""The registered tiny models (issue 22): usable by name, marked random everywhere, fast presets,
while the paper's defaults stay on the `fusionframes` model."""
from __future__ import annotations

import json
import logging

import pytest

from ffbench.cli import main
from ffbench.errors import ConfigError
from ffbench.fusionframes.presets import SMOKE_TEST
from ffbench.generators.base import TINY_MODELS, available_models, load_generator, tiny_model


def test_tiny_models_are_registered_and_marked_random(capsys):
    models = available_models()
    for name in ("fusionframes-tiny", "tiny-diffusers"):
        assert models[name].random_weights is True, name
    assert set(TINY_MODELS.values()) <= set(models)
    assert main(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["fusionframes-tiny"]["random_weights"] and rows["tiny-diffusers"]["random_weights"]
    assert not rows["fusionframes"]["random_weights"]
    assert main(["models", "list"]) == 0
    table = capsys.readouterr().out
    line = next(ln for ln in table.splitlines() if ln.startswith("fusionframes-tiny "))
    assert "RANDOM" in line


def test_smoke_preset_is_the_registered_model_and_paper_defaults_stay():
    models = available_models()
    tiny = models["fusionframes-tiny"]
    assert {k: tiny.fusionframes[k] for k in SMOKE_TEST} == SMOKE_TEST
    assert (tiny.video.frames, tiny.video.height, tiny.video.width) == (17, 64, 64)
    full = models["fusionframes"].fusionframes
    assert (full["keyframes"], full["steps"], full["height"], full["width"]) == (15, 50, 512, 512)
    assert models["fusionframes"].video.frames == 225 and not models["fusionframes"].random_weights


def test_tiny_model_helper():
    assert tiny_model("fusionframes") == "fusionframes-tiny"
    assert tiny_model("modelscope-1.7b") == "tiny-diffusers"
    assert tiny_model("fusionframes-tiny") == "fusionframes-tiny"
    with pytest.raises(ConfigError, match="no tiny stand-in"):
        tiny_model("godiva")  # published-only


def test_fusionframes_tiny_by_name_generates_a_random_video():
    gen = load_generator("fusionframes-tiny", device="cpu")
    assert gen.random_weights is True
    (video,) = gen.generate(["a red ball"], [7])
    assert tuple(video.shape) == (17, 64, 64, 3)
    assert gen.metadata()["random_weights"] is True


def test_generate_fusionframes_tiny_flag_uses_the_smoke_preset(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["generate", "fusionframes", "--tiny", "--prompt", "a cat", "--out", str(out),
                 "--device", "cpu", "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["random_weights"] is True and summary["generated"] == 1
    derived = (out / "fusionframes-config.toml").read_text()
    assert "random_weights = true" in derived and "steps = 4" in derived and "keyframes = 5" in derived
    sample = json.loads(next((out / "samples").glob("*.json")).read_text())  # the run-dir format
    assert sample["random_weights"] is True and sample["frames"] == 17


def test_tiny_diffusers_is_built_locally_and_runs_quietly(isolated_home, caplog, capfd):
    from ffbench.generators.diffusers import resolve_model
    from ffbench.generators.tiny import RANDOM_WEIGHTS_MARKER

    caplog.set_level(logging.WARNING)
    gen = load_generator("tiny-diffusers", device="cpu")
    path = resolve_model("ffbench:tiny-text-to-video")
    assert path.is_relative_to(isolated_home) and (path / RANDOM_WEIGHTS_MARKER).is_file()
    assert gen.random_weights is True
    long_prompt = "a cat playing the piano on a stage in front of a large audience at night"
    videos = gen.generate(["dog", long_prompt], [1, 2])
    assert [tuple(v.shape) for v in videos] == [(16, 32, 32, 3)] * 2
    md = gen.metadata()
    assert md["random_weights"] is True and md["truncated_prompts"] == 1  # 16-token tokenizer
    _, err = capfd.readouterr()
    logs = err + caplog.text
    assert "deprecated" not in logs and "truncated" not in logs, logs
    with pytest.raises(ConfigError, match="unknown built-in tiny pipeline"):
        resolve_model("ffbench:nope")
