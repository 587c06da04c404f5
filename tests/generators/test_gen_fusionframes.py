"""The FusionFrames adapter against its factory interface (the real pipeline is wired later)."""
import pytest
import torch

from ffbench.errors import ConfigError
from ffbench.generators import fusionframes as ffmod
from ffbench.generators.base import GeneratorError, find_config, load_generator
from ffbench.generators.config import parse_config
from ffbench.generators.fusionframes import FusionFramesGenerator, FusionFramesOptions, output_frames


def test_output_frames_rule():
    assert output_frames(16, "low") == 16
    assert output_frames(15, "medium") == 57  # released 1.0 code: 4*15-3
    assert output_frames(15, "high") == 225
    assert output_frames(16, "high") == 241


def _cfg(keyframes=2, fps_mode="medium", h=8, w=8, frames=None, **extra):
    return parse_config({
        "name": "ff-tiny", "kind": "fusionframes",
        "video": {"frames": frames or output_frames(keyframes, fps_mode), "height": h, "width": w, "fps": 8},
        "fusionframes": {"keyframes": keyframes, "fps_mode": fps_mode, "height": h, "width": w, **extra},
    })


class FakePipe:
    """Obeys the documented contract: noise for prompt i from a generator seeded with seeds[i]."""

    def __init__(self, options, device, random_weights):
        self.options, self.device, self.random_weights = options, device, random_weights
        self.calls = []

    def __call__(self, prompts, seeds, **call):
        self.calls.append((list(prompts), list(seeds), call))
        o = self.options
        return [torch.randint(0, 256, (o.output_frames, o.height, o.width, 3), dtype=torch.uint8,
                              generator=torch.Generator().manual_seed(s)) for s in seeds]


def test_generator_with_a_factory():
    seen = {}

    def factory(options, *, device, random_weights):
        seen.update(options=options, device=device, random_weights=random_weights)
        return FakePipe(options, device, random_weights)

    gen = FusionFramesGenerator(_cfg(call={"extra": 1}), pipeline_factory=factory,
                                random_weights=True, device="cpu")
    assert isinstance(seen["options"], FusionFramesOptions) and seen["random_weights"] is True
    videos = gen.generate(["a", "b"], [3, 4])
    assert [tuple(v.shape) for v in videos] == [(5, 8, 8, 3)] * 2
    assert gen.pipe.calls[0] == (["a", "b"], [3, 4], {"extra": 1})
    assert gen.metadata()["fusionframes"]["fps_mode"] == "medium"
    assert gen.metadata()["interpolation"] == "fusionframes"  # report Table 2 reads this
    low = FusionFramesGenerator(_cfg(fps_mode="low"), pipeline_factory=factory, device="cpu")
    assert low.metadata()["interpolation"] is None


def test_wrong_output_from_the_pipeline_is_caught():
    class Bad(FakePipe):
        def __call__(self, prompts, seeds, **call):
            return [torch.zeros(3, 8, 8, 3, dtype=torch.uint8) for _ in seeds]

    gen = FusionFramesGenerator(_cfg(), pipeline_factory=lambda o, **kw: Bad(o, **kw))
    with pytest.raises(GeneratorError, match="promises"):
        gen.generate(["a"], [0])


def test_default_factory_is_our_pipeline_and_needs_the_official_files(monkeypatch):
    from ffbench.weights import WeightsMissing

    monkeypatch.setattr(ffmod, "_default_factory", None)
    with pytest.raises(WeightsMissing, match="kandinsky_video.pt"):
        load_generator(find_config("fusionframes"))


def test_default_factory_registration(monkeypatch):
    monkeypatch.setattr(ffmod, "_default_factory", None)
    ffmod.set_default_pipeline_factory(lambda o, **kw: FakePipe(o, **kw))
    gen = load_generator(_cfg(), device="cpu")
    assert isinstance(gen, FusionFramesGenerator) and not gen.random_weights


def test_video_table_must_match_options():
    with pytest.raises(ConfigError, match="fps_mode"):
        FusionFramesGenerator(_cfg(frames=7), pipeline_factory=lambda o, **kw: None)


@pytest.mark.parametrize("extra, msg", [
    ({"keyframe": 16}, "unknown key 'fusionframes.keyframe'"),
    ({"fps_mode": "ultra"}, "'fusionframes.fps_mode' = 'ultra' is not one of"),
    ({"steps": 0}, "'fusionframes.steps' must be > 0"),
])
def test_option_validation(extra, msg):
    with pytest.raises(ConfigError, match=msg):
        FusionFramesOptions.from_table({**extra})


def test_mfi_option_runs_with_random_weights_and_is_refused_without(monkeypatch):
    from ffbench.generators.fusionframes import pipeline_factory

    cfg = _cfg(keyframes=2, fps_mode="medium", h=32, w=32, steps=2, interpolation="mfi")
    gen = FusionFramesGenerator(cfg, pipeline_factory=pipeline_factory, random_weights=True, device="cpu")
    (video,) = gen.generate(["a dog"], [1])
    assert video.shape == (5, 32, 32, 3) and gen.metadata()["interpolation"] == "mfi"
    with pytest.raises(ConfigError, match="no released weights"):
        FusionFramesGenerator(cfg, pipeline_factory=pipeline_factory, random_weights=False, device="cpu")
    with pytest.raises(ConfigError, match="fusionframes.interpolation"):
        FusionFramesGenerator(_cfg(interpolation="linear"), pipeline_factory=pipeline_factory)
