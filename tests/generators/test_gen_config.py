"""TOML schema: validation errors name the key and the file."""
import pytest

from ffbench.errors import ConfigError
from ffbench.generators.config import load_config, parse_config

BASE = """
name = "m"
kind = "diffusers"
[video]
frames = 4
height = 8
width = 8
fps = 8
[diffusers]
pipeline = "TextToVideoSDPipeline"
model = "/nowhere"
"""


def test_minimal_config_parses_with_defaults(write_toml):
    cfg = load_config(write_toml(BASE))
    assert cfg.video.frames == 4 and cfg.video.fps == 8.0
    assert cfg.diffusers.dtype == "float16" and cfg.diffusers.mode == "video"
    assert cfg.diffusers.call == {} and cfg.published == () and cfg.random_weights is False


@pytest.mark.parametrize("extra, where", [
    ("colour = 1\n", "'colour'"),
    ("[video.extra]\nx = 1\n", "'video.extra'"),
])
def test_unknown_top_level_or_video_key_is_an_error(write_toml, extra, where):
    text = BASE.replace('kind = "diffusers"\n', 'kind = "diffusers"\n' + extra) if "colour" in extra \
        else BASE + extra
    path = write_toml(text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert where in str(e.value) and str(path) in str(e.value)


def test_unknown_diffusers_key_names_key_and_file(write_toml):
    path = write_toml(BASE + 'num_inference_step = 3\n')
    with pytest.raises(ConfigError, match=r"unknown key 'diffusers.num_inference_step'") as e:
        load_config(path)
    assert str(path) in str(e.value)


def test_unknown_published_key(write_toml):
    text = BASE + '[[published]]\nmetric = "fvd"\nvalue = 1.0\nsource = "x"\nvalu = 2\n'
    with pytest.raises(ConfigError, match=r"'published\[0\].valu'"):
        load_config(write_toml(text))


@pytest.mark.parametrize("old, new, msg", [
    ("frames = 4", 'frames = "4"', "'video.frames' must be an integer"),
    ("frames = 4", "frames = 0", "must be > 0"),
    ("frames = 4", "frames = true", "'video.frames' must be an integer, got bool"),
    ('kind = "diffusers"', 'kind = "gan"', "is not one of"),
    ('name = "m"', 'name = "Bad Name"', "must be lower-case"),
    ('model = "/nowhere"', '', "missing required key 'diffusers.model'"),
])
def test_type_and_value_errors(write_toml, old, new, msg):
    with pytest.raises(ConfigError, match=msg):
        load_config(write_toml(BASE.replace(old, new)))


def test_kind_table_consistency():
    with pytest.raises(ConfigError, match="needs a \\[video\\]"):
        parse_config({"name": "x", "kind": "diffusers", "diffusers": {"pipeline": "P", "model": "m"}})
    with pytest.raises(ConfigError, match="needs a \\[diffusers\\]"):
        parse_config({"name": "x", "kind": "diffusers",
                      "video": {"frames": 1, "height": 1, "width": 1, "fps": 1}})
    cfg = parse_config({"name": "x", "kind": "published",
                        "published": [{"metric": "fvd", "value": 1, "source": "s", "as_printed": 2}]})
    assert cfg.published[0].value == 1.0 and cfg.published[0].as_printed == 2.0


def test_invalid_toml_is_a_config_error(write_toml):
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(write_toml("name = \n"))


def test_hash_ignores_docs_but_not_call_kwargs(write_toml):
    a = load_config(write_toml(BASE, "a.toml"))
    b = load_config(write_toml(BASE.replace('name = "m"', 'name = "m"\nnotes = "doc"'), "b.toml"))
    c = load_config(write_toml(BASE + "[diffusers.call]\nguidance_scale = 3.0\n", "c.toml"))
    assert a.hash == b.hash != c.hash
