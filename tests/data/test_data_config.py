from pathlib import Path

import pytest

import ffbench
from ffbench.data.config import (DatasetConfig, dataset_dirs, dataset_names, load_dataset_config,
                                 parse_dataset_config)
from ffbench.errors import ConfigError

MINIMAL = '''name = "{name}"
kind = "demo"
description = "d"
[prompts]
sampling = "first-n"
default_n = 4
[demo]
count = 4
'''


def test_shipped_datasets_load_from_the_package():
    assert {"ucf101", "msrvtt", "demo"} <= set(dataset_names())
    pkg = Path(ffbench.__file__).parent
    for name in ("ucf101", "msrvtt", "demo"):
        cfg = load_dataset_config(name)
        assert isinstance(cfg, DatasetConfig)
        assert cfg.path.parent == pkg / "resources" / "datasets"  # shipped as package data
        assert len(cfg.sha256) == 64


def test_ucf101_file_has_101_unique_classes_with_prompts():
    cfg = load_dataset_config("ucf101")
    classes = cfg.prompts.class_prompts
    assert len(classes) == 101
    assert list(classes)[0] == "ApplyEyeMakeup" and list(classes)[-1] == "YoYo"
    assert len({c.lower() for c in classes}) == 101
    assert all(p.strip() for p in classes.values())
    assert cfg.expected_videos == 13320


def test_msrvtt_file_states_the_2990_video_test_split():
    cfg = load_dataset_config("msrvtt")
    assert cfg.expected_videos == 2990
    assert cfg.prompts.split == "test" and cfg.prompts.default_n == 2990


def test_minimal_file_is_valid_and_unknown_top_level_key_is_an_error(tmp_path):
    f = tmp_path / "x.toml"
    f.write_text(MINIMAL.format(name="x"))
    assert parse_dataset_config(f).demo.count == 4
    f.write_text("colour = 1\n" + MINIMAL.format(name="x"))
    with pytest.raises(ConfigError) as e:
        parse_dataset_config(f)
    assert "'colour'" in str(e.value) and str(f) in str(e.value)


def test_unknown_section_key_is_named_with_its_section(tmp_path):
    f = tmp_path / "x.toml"
    f.write_text(MINIMAL.format(name="x").replace("default_n = 4", "default_n = 4\nsamplng = 3"))
    with pytest.raises(ConfigError, match=r"prompts\.samplng") as e:
        parse_dataset_config(f)
    assert str(f) in str(e.value)


@pytest.mark.parametrize("old, new, msg", [
    ("default_n = 4", 'default_n = "4"', "'prompts.default_n' must be an integer"),
    ('kind = "demo"', 'kind = "kinetics"', "'kind' = 'kinetics' is not one of"),
    ('sampling = "first-n"', 'sampling = "random"', "prompts.sampling"),
    ('count = 4', 'count = 4\nsizes = [63]', r"'demo.sizes\[0\]' = 63 must be even"),
])
def test_bad_values_are_errors(tmp_path, old, new, msg):
    f = tmp_path / "x.toml"
    f.write_text(MINIMAL.format(name="x").replace(old, new))
    with pytest.raises(ConfigError, match=msg):
        parse_dataset_config(f)


def test_name_must_match_file_and_toml_must_parse(tmp_path):
    f = tmp_path / "y.toml"
    f.write_text(MINIMAL.format(name="x"))
    with pytest.raises(ConfigError, match="must match the file name"):
        parse_dataset_config(f)
    f.write_text("name = ")
    with pytest.raises(ConfigError, match="invalid TOML"):
        parse_dataset_config(f)


def test_user_folder_adds_and_overrides_datasets(tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text(MINIMAL.format(name="mine"))
    (tmp_path / "demo.toml").write_text(MINIMAL.format(name="demo"))
    monkeypatch.setenv("FFBENCH_DATASETS", str(tmp_path))
    assert dataset_dirs()[0] == tmp_path
    assert "mine" in dataset_names()
    assert load_dataset_config("demo").path == tmp_path / "demo.toml"
    assert load_dataset_config("demo").demo.count == 4
    with pytest.raises(ConfigError, match="unknown dataset 'nope'"):
        load_dataset_config("nope")


def test_root_resolution(tmp_path, monkeypatch):
    cfg = load_dataset_config("msrvtt")
    monkeypatch.delenv("FFBENCH_MSRVTT_ROOT", raising=False)
    with pytest.raises(ConfigError, match="FFBENCH_MSRVTT_ROOT"):
        cfg.resolve_root(None)
    monkeypatch.setenv("FFBENCH_MSRVTT_ROOT", str(tmp_path))
    assert cfg.resolve_root(None) == tmp_path
    with pytest.raises(ConfigError, match="not a directory"):
        cfg.resolve_root(tmp_path / "absent")
