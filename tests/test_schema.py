"""ffbench.schema: one validation mechanism for the four config families (issue #16).

For each family (dataset TOML, run config TOML, model TOML, its [fusionframes] table) an unknown
key, a wrong type (bool where int, str where int), a bad choice and a missing required key are a
ConfigError whose one-line message names the file and the dotted key.
"""
from __future__ import annotations

import dataclasses

import pytest

from ffbench.data.config import parse_dataset_config
from ffbench.errors import ConfigError, FFBenchError
from ffbench.generators.config import load_config
from ffbench.generators.fusionframes import FusionFramesOptions
from ffbench.harness.config import load_run_config
from ffbench.schema import replace

DATASET = '''name = "x"
kind = "demo"
description = "d"
[prompts]
sampling = "first-n"
default_n = 4
[demo]
count = 4
'''

RUN = '''model = "mypkg:make"
dataset = "demo"
metrics = ["fvd"]
n = 4
batch_size = 1
[real]
seed = 0
'''

MODEL = '''name = "x"
kind = "diffusers"
[video]
frames = 4
height = 8
width = 8
fps = 8
[diffusers]
pipeline = "TextToVideoSDPipeline"
model = "/nowhere"
batch_size = 1
dtype = "float16"
'''

FUSIONFRAMES = '''name = "x"
kind = "fusionframes"
[video]
frames = 15
height = 64
width = 64
fps = 2
[fusionframes]
keyframes = 15
height = 64
width = 64
steps = 2
dtype = "float32"
'''


def _dataset(path):
    return parse_dataset_config(path)


def _run(path):
    return load_run_config(path)


def _model(path):
    return load_config(path)


def _fusionframes(path):
    cfg = load_config(path)  # the model file is valid; its [fusionframes] table is checked by the adapter
    return FusionFramesOptions.from_table(cfg.fusionframes, cfg.path)


# (family, base text, old, new, dotted key, words of the message)
CASES = [
    # unknown key
    ("dataset", DATASET, "count = 4", "count = 4\ncuont = 4", "demo.cuont", "unknown key"),
    ("run", RUN, "seed = 0", "sed = 0", "real.sed", "unknown key"),
    ("model", MODEL, 'dtype = "float16"', "num_inference_step = 3", "diffusers.num_inference_step",
     "unknown key"),
    ("fusionframes", FUSIONFRAMES, "keyframes = 15", "keyframe = 15", "fusionframes.keyframe",
     "unknown key"),
    # bool where an int is wanted
    ("dataset", DATASET, "default_n = 4", "default_n = true", "prompts.default_n", "must be an integer, got bool"),
    ("run", RUN, "n = 4", "n = true", "n", "must be an integer, got bool"),
    ("model", MODEL, "frames = 4", "frames = true", "video.frames", "must be an integer, got bool"),
    ("fusionframes", FUSIONFRAMES, "steps = 2", "steps = true", "fusionframes.steps",
     "must be an integer, got bool"),
    # str where an int is wanted
    ("dataset", DATASET, "count = 4", 'count = "4"', "demo.count", "must be an integer, got str"),
    ("run", RUN, "batch_size = 1", 'batch_size = "1"', "batch_size", "must be an integer, got str"),
    ("model", MODEL, "batch_size = 1", 'batch_size = "1"', "diffusers.batch_size", "must be an integer, got str"),
    ("fusionframes", FUSIONFRAMES, "height = 64\nwidth = 64\nsteps", 'height = "64"\nwidth = 64\nsteps',
     "fusionframes.height", "must be an integer, got str"),
    # a value outside its choices
    ("dataset", DATASET, 'sampling = "first-n"', 'sampling = "random"', "prompts.sampling", "is not one of"),
    ("run", RUN, 'metrics = ["fvd"]', 'metrics = ["fvd@nope"]', "metrics", ": unknown metric 'fvd@nope'"),
    ("model", MODEL, 'dtype = "float16"', 'dtype = "fp8"', "diffusers.dtype",
     "= 'fp8' is not one of 'float32', 'float16' or 'bfloat16'"),
    ("fusionframes", FUSIONFRAMES, 'dtype = "float32"', 'dtype = "fp8"', "fusionframes.dtype", "is not one of"),
    # a missing required key (for [fusionframes], whose keys all have defaults: the table itself)
    ("dataset", DATASET, 'description = "d"\n', "", "description", "missing required key"),
    ("run", RUN, 'dataset = "demo"\n', "", "dataset", "missing required key"),
    ("model", MODEL, 'model = "/nowhere"\n', "", "diffusers.model", "missing required key"),
    ("fusionframes", FUSIONFRAMES, "[fusionframes]", "[fusionframez]", "fusionframez", "unknown key"),
    ("fusionframes", FUSIONFRAMES.split("[fusionframes]")[0], "", "", "[fusionframes]", "needs a"),
]
LOADERS = {"dataset": _dataset, "run": _run, "model": _model, "fusionframes": _fusionframes}


@pytest.mark.parametrize("family, text, old, new, key, words", CASES,
                         ids=[f"{c[0]}-{c[4]}-{c[5][:20]}" for c in CASES])
def test_errors_name_the_file_and_the_dotted_key(tmp_path, family, text, old, new, key, words):
    assert old in text
    path = tmp_path / "x.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        LOADERS[family](path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: "), msg
    assert (key if key.startswith("[") else f"'{key}'") in msg and words in msg, msg
    assert "\n" not in msg and "pydantic" not in msg and "http" not in msg, msg


def test_the_unmodified_files_are_valid(tmp_path):
    for family, text in (("dataset", DATASET), ("run", RUN), ("model", MODEL), ("fusionframes", FUSIONFRAMES)):
        path = tmp_path / "x.toml"
        path.write_text(text, encoding="utf-8")
        assert LOADERS[family](path) is not None


def test_unknown_key_lists_the_known_keys_of_its_table(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(RUN.replace("seed = 0", "sed = 0"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'real.sed' \(known: num_videos, root, seed, source, "
                                          r"stats\)"):
        load_run_config(path)


def test_an_int_is_a_float_but_kept_as_written_where_it_is_hashed(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(MODEL, encoding="utf-8")
    assert type(load_config(path).video.fps) is float  # `fps = 8` is 8.0 as before (ModelConfig.hash)
    path.write_text(RUN + "[model_overrides]\nfps = 8\nguidance = 7.5\n", encoding="utf-8")
    overrides = load_run_config(path).model_overrides
    assert overrides == {"fps": 8, "guidance": 7.5} and type(overrides["fps"]) is int


def test_keys_set_by_ffbench_are_not_keys_of_the_file(tmp_path):
    for text, key in (('model_config_hash = "x"\n' + RUN, "model_config_hash"), ('path = "y"\n' + MODEL, "path"),
                      ('sha256 = "0"\n' + DATASET, "sha256")):
        path = tmp_path / "x.toml"
        path.write_text(text, encoding="utf-8")
        loader = _run if "metrics" in text else _model if "video" in text else _dataset
        with pytest.raises(ConfigError, match=f"{path}: unknown key '{key}'"):
            loader(path)


def test_component_tables_are_named_by_their_table_key(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(MODEL + '[diffusers.components.motion_adapter]\nclass = "MotionAdapter"\nmodel = 3\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"key 'diffusers.components.motion_adapter.model' must be a string"):
        load_config(path)
    path.write_text(MODEL + '[diffusers.components.vae]\nclass = "AutoencoderKL"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[diffusers.components.vae\] needs 'model' or 'subfolder'"):
        load_config(path)


def test_configs_stay_frozen_dataclasses_and_replace_validates(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(MODEL, encoding="utf-8")
    cfg = load_config(path)
    assert dataclasses.is_dataclass(cfg) and cfg == load_config(path)
    assert hash(cfg.video) == hash(load_config(path).video)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.video.frames = 3
    assert replace(cfg.video, {"frames": 8}, "overrides").frames == 8
    with pytest.raises(ConfigError, match=r"^overrides: key 'frames' must be > 0, got 0$"):
        replace(cfg.video, {"frames": 0}, "overrides")
    assert issubclass(ConfigError, FFBenchError)


def test_bad_model_overrides_are_config_errors(tmp_path):
    from ffbench.generators.base import apply_overrides

    path = tmp_path / "x.toml"
    path.write_text(MODEL, encoding="utf-8")
    cfg = load_config(path)
    assert apply_overrides(cfg, frames=8, dtype="float32").diffusers.dtype == "float32"
    with pytest.raises(ConfigError, match=r"^x: overrides: key 'dtype' = 'fp8' is not one of"):
        apply_overrides(cfg, dtype="fp8")


def test_every_error_is_listed_on_one_line(tmp_path):
    """Two (or more) mistakes: each is named, not "(and 1 more error)" (issue #16 item 5)."""
    path = tmp_path / "x.toml"
    path.write_text(RUN.replace("seed = 0", "sed = 0").replace("n = 4", "n = true")
                    .replace('model = "mypkg:make"', 'modle = "mypkg:make"'), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_run_config(path)
    msg = str(e.value)
    assert "\n" not in msg and "more error" not in msg
    assert msg.startswith(f"{path}: unknown key ")
    parts = msg[len(f"{path}: "):].split("; ")
    assert parts[0] == "unknown key 'real.sed' (known: num_videos, root, seed, source, stats)"
    assert parts[1].startswith("unknown key 'modle' (did you mean 'model'? known: batch_size, ")
    assert parts[2] == "key 'n' must be an integer, got bool True"
    # the typo's "missing required key 'model'" is folded into its "did you mean"
    assert len(parts) == 3 and "missing required key" not in msg
    # a missing key with no typo nearby is listed as such
    path.write_text(RUN.replace('model = "mypkg:make"\n', "").replace("n = 4", "n = -1"),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_run_config(path)
    assert str(e.value) == (f"{path}: missing required key 'model'; key 'n' must be >= 0, got -1")
