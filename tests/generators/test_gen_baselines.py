"""Every packaged model TOML parses, names a real diffusers class and kwargs its __call__ accepts."""
import inspect
from pathlib import Path

import pytest

import ffbench
from ffbench.errors import ConfigError
from ffbench.generators.base import ModelNotFound, available_models, find_config, search_paths
from ffbench.generators.config import load_config

PACKAGED = Path(ffbench.__file__).parent / "resources" / "baselines"
FILES = sorted(PACKAGED.glob("*.toml"))
REQUIRED = {"modelscope-1.7b", "zeroscope-v2-576w", "animatediff-sd15", "cogvideox-2b",
            "cogvideox-5b", "ltx-video", "wan2.1-t2v-1.3b", "latte-1", "mochi-1", "hunyuanvideo",
            "text2video-zero", "kandinsky3-frames", "fusionframes"}


def test_all_required_models_are_packaged():
    names = {load_config(f).name for f in FILES}
    assert REQUIRED <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_toml_parses_and_name_matches_file(path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    if cfg.kind != "published":
        assert cfg.source.startswith("https://"), "cite where the defaults come from"
    for r in cfg.published:
        assert r.source and r.metric in {"fvd", "is", "clipsim"}


@pytest.mark.parametrize("path", [f for f in FILES if 'kind = "diffusers"' in f.read_text()],
                         ids=lambda p: p.stem)
def test_diffusers_toml_matches_installed_diffusers(path):
    import diffusers

    from ffbench.generators.diffusers import RESERVED_CALL_KWARGS, check_spec, frames_kwarg_for

    cfg = load_config(path)
    cls = check_spec(cfg.diffusers, str(path))  # raises on unknown class / kwargs
    assert cls is getattr(diffusers, cfg.diffusers.pipeline)
    params = inspect.signature(cls.__call__).parameters
    for key in cfg.diffusers.call:  # the same check, stated directly
        assert key in params and key not in RESERVED_CALL_KWARGS
    if cfg.diffusers.mode == "video":
        assert frames_kwarg_for(cls, cfg.diffusers) in params
    else:
        assert "num_images_per_prompt" in params


def test_published_provenance():
    models = available_models()
    fvd = [r for r in models["cogvideo-en"].published if r.metric == "fvd"][0]
    assert fvd.value == 701.59 and fvd.as_printed == 710.59  # Table 1 typo kept, corrected value used
    ff = {(r.metric, r.variant): r.value for r in models["fusionframes"].published}
    assert ff[("fvd", "Conv1dAttn1dBlocks (220k)")] == 433.054
    assert ff[("clipsim", "Conv1dAttn1dBlocks (220k)")] == 0.2976
    ms = models["modelscope-1.7b"].published
    assert [(r.metric, r.value) for r in ms] == [("clipsim", 0.2930)]
    lavie_rows = [r for m in ("lavie", "video-ldm", "make-a-video") for r in models[m].published
                  if r.metric != "is"]
    assert lavie_rows and all("LaVie" in (r.via or "") for r in lavie_rows)


def test_mochi_frames_are_valid_for_its_vae():
    cfg = available_models()["mochi-1"]
    assert (cfg.video.frames - 1) % 6 == 0  # 6k+1, else the VAE returns fewer frames


def test_fusionframes_video_matches_its_options():
    from ffbench.generators.fusionframes import FusionFramesOptions

    cfg = available_models()["fusionframes"]
    opts = FusionFramesOptions.from_table(cfg.fusionframes)
    assert (opts.output_frames, opts.height, opts.width) == (cfg.video.frames, cfg.video.height,
                                                            cfg.video.width)


def test_user_directory_shadows_packaged(monkeypatch, tmp_path):
    text = (PACKAGED / "modelscope-1.7b.toml").read_text().replace("frames = 16", "frames = 8")
    (tmp_path / "mine.toml").write_text(text)
    monkeypatch.setenv("FFBENCH_BASELINES", str(tmp_path))
    assert search_paths()[0] == tmp_path
    assert find_config("modelscope-1.7b").video.frames == 8
    monkeypatch.delenv("FFBENCH_BASELINES")
    assert find_config("modelscope-1.7b").video.frames == 16


def test_unknown_model_suggests_close_names():
    with pytest.raises(ModelNotFound, match="Did you mean modelscope-1.7b") as e:
        find_config("modelscope-1.6b")
    assert isinstance(e.value, ConfigError)


def test_published_only_model_cannot_generate():
    from ffbench.generators.base import GeneratorError, load_generator

    with pytest.raises(GeneratorError, match="reference-only"):
        load_generator("lavie")


def test_models_cli_list_and_show(cli):
    import json

    rows = json.loads(cli("models", "list", "--json", check=True).stdout)
    assert REQUIRED <= {r["name"] for r in rows}
    data = json.loads(cli("models", "show", "cogvideo-en", "--json", check=True).stdout)
    assert data["published"][1]["as_printed"] == 710.59
    r = cli("models", "show", "modelscope-1.7b", env={"HF_HUB_CACHE": "/nonexistent-cache"},
            check=True)
    assert "huggingface-cli download ali-vilab/text-to-video-ms-1.7b" in r.stdout
    r = cli("models", "show", "no-such-model")
    assert r.returncode == 2 and "unknown model" in r.stderr and "Traceback" not in r.stderr
