"""The diffusers adapter on tiny local pipelines (random weights, CPU, no download)."""
import shutil

import numpy as np
import pytest
import torch

from gen_sizes import FRAMES, SIZE
from ffbench.errors import ConfigError
from ffbench.generators.base import Generator, GeneratorError, load_generator
from ffbench.generators.diffusers import DiffusersGenerator, ModelNotInCache
from ffbench.generators.tiny import RANDOM_WEIGHTS_MARKER, tiny_toml


def _check(videos, n, frames=FRAMES, size=SIZE):
    assert len(videos) == n
    for v in videos:
        assert isinstance(v, torch.Tensor) and v.dtype == torch.uint8
        assert tuple(v.shape) == (frames, size, size, 3)


def test_text_to_video_sd_end_to_end_from_saved_dir(tiny_t2v_toml):
    gen = load_generator(tiny_t2v_toml)
    assert isinstance(gen, Generator) and gen.random_weights  # the tiny TOML says so
    assert (gen.frames, gen.height, gen.width, gen.fps) == (FRAMES, SIZE, SIZE, 8.0)
    videos = gen.generate(["a cat", "a dog running"], [1, 2])
    _check(videos, 2)
    assert not torch.equal(videos[0], videos[1])
    # per-sample seeds: the same (prompt, seed) alone, in another batch, gives the same video
    alone = gen.generate(["a dog running"], [2])
    assert torch.equal(alone[0], videos[1])
    md = gen.metadata()
    assert md["random_weights"] is True and md["pipeline"] == "TextToVideoSDPipeline"
    assert md["call"]["num_frames"] == FRAMES and md["call"]["height"] == SIZE


def test_batch_size_does_not_change_videos(tiny_t2v_toml):
    one = load_generator(tiny_t2v_toml, batch_size=1).generate(["a", "b"], [5, 6])
    two = load_generator(tiny_t2v_toml, batch_size=2).generate(["a", "b"], [5, 6])
    for x, y in zip(one, two):  # batched float math may differ in the last bit
        assert (x.int() - y.int()).abs().max() <= 1


def test_animatediff_end_to_end(tiny_ad_dir, write_toml):
    toml = write_toml(tiny_toml(tiny_ad_dir, name="tiny-ad", pipeline="AnimateDiffPipeline",
                                frames=FRAMES, size=SIZE), "tiny-ad.toml")
    gen = load_generator(toml)
    _check(gen.generate(["a cat"], [0]), 1)


def test_overrides_change_the_output_shape(tiny_t2v_toml):
    gen = load_generator(tiny_t2v_toml, frames=2, height=8, width=24, steps=1)
    v = gen.generate(["x"], [0])[0]
    assert tuple(v.shape) == (2, 8, 24, 3)
    with pytest.raises(ConfigError, match="unknown override"):
        load_generator(tiny_t2v_toml, colour="red")


def test_random_weights_dir_needs_the_flag(tiny_t2v_dir, write_toml):
    text = tiny_toml(tiny_t2v_dir, frames=FRAMES, size=SIZE).replace("random_weights = true\n", "")
    toml = write_toml(text, "unmarked.toml")
    with pytest.raises(GeneratorError, match="RANDOM weights"):
        load_generator(toml)
    assert load_generator(toml, random_weights=True).random_weights


def test_random_weights_built_from_configs(tiny_t2v_dir, tmp_path, write_toml):
    """--random-weights on a 'real' model dir: components initialised from its configs."""
    real = tmp_path / "real"
    shutil.copytree(tiny_t2v_dir, real)
    (real / RANDOM_WEIGHTS_MARKER).unlink()
    for f in real.rglob("*.safetensors"):
        f.unlink()  # weights are not read in this mode
    text = tiny_toml(real, frames=FRAMES, size=SIZE).replace("random_weights = true\n", "")
    gen = load_generator(write_toml(text, "real.toml"), random_weights=True)
    assert gen.random_weights and any("random weights" in n for n in gen.notes)
    _check(gen.generate(["x"], [0]), 1)


def test_model_missing_from_cache_says_what_to_download(write_toml, tmp_path, monkeypatch):
    cache = tmp_path / "hfcache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    text = tiny_toml("/x", frames=FRAMES, size=SIZE).replace(
        'model = "/x"', 'model = "someone/not-downloaded-t2v"')
    toml = write_toml(text)
    with pytest.raises(ModelNotInCache) as e:
        load_generator(toml)
    msg = str(e.value)
    assert "huggingface-cli download someone/not-downloaded-t2v" in msg
    assert str(cache / "models--someone--not-downloaded-t2v") in msg and str(toml) in msg


def test_missing_local_directory_is_a_config_error(write_toml):
    toml = write_toml(tiny_toml("/definitely/not/here", frames=FRAMES, size=SIZE))
    with pytest.raises(ConfigError, match="neither an existing local directory"):
        load_generator(toml)


@pytest.mark.parametrize("extra, msg", [
    ("num_inference_stepz = 2\n", "'num_inference_stepz' is not an argument"),
    ("num_frames = 8\n", "must not set 'num_frames'"),
    ("generator = 1\n", "must not set 'generator'"),
])
def test_bad_call_kwargs_are_clear_errors(tiny_t2v_dir, write_toml, extra, msg):
    text = tiny_toml(tiny_t2v_dir, frames=FRAMES, size=SIZE) + extra  # appended to [diffusers.call]
    with pytest.raises(ConfigError, match=msg):
        load_generator(write_toml(text))


def test_unknown_pipeline_class(tiny_t2v_dir, write_toml):
    text = tiny_toml(tiny_t2v_dir).replace("TextToVideoSDPipeline", "TextToVideoSDPipelin")
    with pytest.raises(ConfigError, match="did you mean TextToVideoSDPipeline"):
        load_generator(write_toml(text))


def test_output_shape_mismatch_is_reported(tiny_t2v_toml):
    gen = load_generator(tiny_t2v_toml)

    class Wrong:
        def __call__(self, **kw):
            return type("Out", (), {"frames": np.zeros((1, FRAMES - 1, SIZE, SIZE, 3), np.float32)})()
    gen.pipe = Wrong()
    with pytest.raises(GeneratorError, match=r"promises \[4, 16, 16, 3\]"):
        gen.generate(["x"], [0])


class _FakeT2I:
    """Stands in for a Kandinsky3Pipeline: records calls, returns images from the generator."""

    def __init__(self):
        self.calls = []

    def set_progress_bar_config(self, **kw):
        pass

    def __call__(self, prompt, generator, num_images_per_prompt, height, width, **kw):
        self.calls.append(dict(prompt=prompt, n=num_images_per_prompt, **kw))
        imgs = torch.rand(num_images_per_prompt, height, width, 3, generator=generator)
        return type("Out", (), {"images": imgs.numpy()})()


@pytest.mark.parametrize("t2i_frames", ["independent", "static"])
def test_t2i_per_frame_mode(write_toml, tmp_path, t2i_frames):
    text = f"""name = "k3"
kind = "diffusers"
[video]
frames = 5
height = 6
width = 8
fps = 2
[diffusers]
pipeline = "Kandinsky3Pipeline"
model = "{tmp_path}"
mode = "t2i-per-frame"
t2i_frames = "{t2i_frames}"
batch_size = 4
[diffusers.call]
num_inference_steps = 3
"""
    from ffbench.generators.config import load_config

    fake = _FakeT2I()
    gen = DiffusersGenerator(load_config(write_toml(text)), pipeline=fake, device="cpu")
    videos = gen.generate(["a", "b"], [1, 2])
    assert [c["prompt"] for c in fake.calls] == ["a", "b"]  # one call per prompt
    assert all(c["num_inference_steps"] == 3 for c in fake.calls)
    for v in videos:
        assert tuple(v.shape) == (5, 6, 8, 3) and v.dtype == torch.uint8
    if t2i_frames == "independent":
        assert [c["n"] for c in fake.calls] == [5, 5]
        assert not torch.equal(videos[0][0], videos[0][1])  # i.i.d. frames
    else:
        assert [c["n"] for c in fake.calls] == [1, 1]
        assert all(torch.equal(videos[0][0], f) for f in videos[0])  # one image, repeated
    again = gen.generate(["b"], [2])[0]
    assert torch.equal(again, videos[1])


def test_video_mode_needs_a_frame_argument(write_toml, tmp_path):
    text = f"""name = "k3"
kind = "diffusers"
[video]
frames = 5
height = 8
width = 8
fps = 2
[diffusers]
pipeline = "Kandinsky3Pipeline"
model = "{tmp_path}"
"""
    with pytest.raises(ConfigError, match="t2i-per-frame"):
        load_generator(write_toml(text))
