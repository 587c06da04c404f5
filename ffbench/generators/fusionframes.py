"""FusionFrames behind the Generator interface — the adapter shape, against a factory interface.

The FusionFrames pipeline itself (ffbench.fusionframes.pipeline) is written elsewhere; this
adapter only needs a *pipeline factory*:

    factory(options: FusionFramesOptions, *, device: torch.device, random_weights: bool) -> pipe
    pipe(prompts: list[str], seeds: list[int], **call) -> list of torch.uint8 [T, H, W, 3]

where `pipe` must draw all noise for prompt i from a generator seeded with seeds[i] (so a video
does not depend on batch composition), produce exactly `options.output_frames` frames at
`options.height` x `options.width`, and load real weights only via ffbench.weights (raising
WeightsMissing when absent) unless `random_weights` is true. `call` is the TOML's
[fusionframes.call] table (extra keyword arguments passed through unchanged).

The default factory (`pipeline_factory`, below) builds our FusionFramesPipeline
(ffbench.fusionframes, imported when the generator is built: it is heavy); tests and other
implementations pass `pipeline_factory=` or call `set_default_pipeline_factory(fn)`. The
dependency points one way: generators/ uses fusionframes/, which knows nothing of generators/.
"""
from __future__ import annotations

from dataclasses import asdict, field
from typing import Callable, Literal

from ..errors import ConfigError
from ..fusionframes.modes import FPS_MODES, output_frames
from ..schema import Float, PositiveInt, Str, Table, config, validate
from .base import Generator
from .config import ModelConfig

__all__ = ["FusionFramesOptions", "FusionFramesGenerator", "set_default_pipeline_factory",
           "pipeline_factory", "output_frames"]


_default_factory: Callable | None = None


def set_default_pipeline_factory(factory: Callable | None) -> None:
    """Register the callable that builds the FusionFrames pipeline (see module docstring)."""
    global _default_factory
    _default_factory = factory


@config
class FusionFramesOptions:
    """The [fusionframes] table (sources: shared/reference/kandinsky_video.md §1-2, §5)."""

    variant: Str = "conv1d-attn1d-blocks"  # temporal-block variant (paper §4.1)
    keyframes: PositiveInt = 15  # the released 1.0 checkpoint (num_frames = 15); the paper trains with 16
    fps_mode: Literal[FPS_MODES] = "low"  # low | medium | high
    height: PositiveInt = 512
    width: PositiveInt = 512
    steps: PositiveInt = 50
    guidance_scale: Float = 5.0  # keyframe CFG, (w+1)*cond - w*uncond
    interpolation_guidance_scale: Float = 0.25
    # "mfi": masked-frame interpolation (random weights only)
    interpolation: Literal["fusionframes", "mfi"] = "fusionframes"
    negative_prompt: Str | None = None
    keyframe_weights: Str = "fusionframes_keyframe"  # ffbench.weights registry names (or paths)
    interpolation_weights: Str = "fusionframes_interpolation"
    movq_weights: Str = "fusionframes_movq"
    text_encoder_weights: Str = "flan_ul2_encoder"
    dtype: Literal["float32", "float16", "bfloat16"] = "float16"
    call: Table = field(default_factory=dict)  # passed to the pipeline as it is

    @property
    def output_frames(self) -> int:
        return output_frames(self.keyframes, self.fps_mode)

    @classmethod
    def from_table(cls, table: dict, src: str = "<config>") -> "FusionFramesOptions":
        """Validate a model file's [fusionframes] table; errors name `src` and 'fusionframes.KEY'."""
        return validate(cls, table, src, prefix="fusionframes")


class FusionFramesGenerator(Generator):
    """FusionFrames as a Generator; the pipeline comes from a factory (module docstring)."""

    kind = "fusionframes"

    def __init__(self, config: ModelConfig, *, random_weights: bool | None = None, device=None,
                 pipeline_factory: Callable | None = None):
        super().__init__(config, random_weights=random_weights, device=device)
        src = config.path or config.name
        self.options = FusionFramesOptions.from_table(config.fusionframes or {}, src)
        v = config.video
        if (v.frames, v.height, v.width) != (self.options.output_frames, self.options.height,
                                            self.options.width):
            raise ConfigError(
                f"{src}: [video] says {v.frames}x{v.height}x{v.width} but [fusionframes] gives "
                f"{self.options.output_frames}x{self.options.height}x{self.options.width} "
                f"({self.options.keyframes} keyframes, fps_mode {self.options.fps_mode!r})")
        factory = pipeline_factory or _default_factory or globals()["pipeline_factory"]
        self.pipe = factory(self.options, device=self.device, random_weights=self.random_weights)

    def _generate(self, prompts: list[str], seeds: list[int]) -> list:
        return list(self.pipe(prompts, seeds, **self.options.call))

    def metadata(self) -> dict:
        md = super().metadata()
        md["fusionframes"] = asdict(self.options)
        # which interpolation made the in-between frames (report Table 2); none for keyframes only
        md["interpolation"] = None if self.options.fps_mode == "low" else self.options.interpolation
        return md

    def close(self) -> None:
        self.pipe = None


# ---------------------------------------------------------------------- our pipeline
class _AdapterPipe:
    """FusionFramesPipeline as a factory pipe: ``pipe(prompts, seeds, **call)`` -> videos."""

    def __init__(self, pipeline, options):
        self.pipeline = pipeline
        self.options = options
        self.last_metadata: dict | None = None

    def __call__(self, prompts: list[str], seeds: list[int], **call) -> list:
        o = self.options
        kw = dict(negative_prompt=o.negative_prompt, width=o.width, height=o.height, fps=o.fps_mode,
                  steps=o.steps, guidance_scale=o.guidance_scale,
                  interpolation_guidance_scale=o.interpolation_guidance_scale, num_keyframes=o.keyframes)
        call = dict(call)
        if "num_inference_steps" in call:  # the generic CLI's --steps / --guidance names
            kw["steps"] = int(call.pop("num_inference_steps"))
        kw.update(call)
        out = self.pipeline(list(prompts), seed=list(seeds), **kw)
        self.last_metadata = out.metadata
        return out.videos


def _weights_arg(value: str | None):
    """An options ``*_weights`` value: a registry name (default location) or a path."""
    from ..weights import REGISTRY

    return None if value is None or value in REGISTRY else value


def pipeline_factory(options, *, device, random_weights: bool):
    """The default factory: ffbench.fusionframes.FusionFramesPipeline.

    ``random_weights=True`` builds the ``tiny`` preset (random full-size weights are of no use for
    generation; full-size costs are measured on the meta device by ffbench.profiling). Otherwise
    the released files, located by the options' ``*_weights`` (registry names or paths).
    ``options.dtype`` applies on CUDA; CPUs run float32.
    """
    import torch

    from ..fusionframes.pipeline import RELEASED_DECODERS, FusionFramesPipeline

    device = torch.device(device)
    dtype = getattr(torch, options.dtype) if device.type == "cuda" else torch.float32
    temporal = options.variant.replace("-", "_")
    interpolation = getattr(options, "interpolation", "fusionframes")
    if random_weights:
        pipe = FusionFramesPipeline.tiny(0, temporal=temporal, interpolation=interpolation,
                                         device=device, dtype=dtype)
    elif interpolation != "fusionframes":
        raise ConfigError(f"interpolation = {interpolation!r} has no released weights (the paper's "
                          "masked-frame interpolation was never published): use random weights "
                          "(--random-weights / --tiny) to run it, or `ffbench profile` for its cost")
    else:
        # a registry name selects the decoder (1.1's video MoVQ or the 1.0 image MoVQ); a path
        # is taken as the image MoVQ's file
        decoder = "conv3x3x3_attn" if options.movq_weights == RELEASED_DECODERS["conv3x3x3_attn"] else "image"
        files = {"fusionframes_keyframe": _weights_arg(options.keyframe_weights),
                 "fusionframes_interpolation": _weights_arg(options.interpolation_weights),
                 "flan_ul2_encoder": _weights_arg(options.text_encoder_weights),
                 RELEASED_DECODERS[decoder]: _weights_arg(options.movq_weights)}
        pipe = FusionFramesPipeline.from_pretrained(None, temporal=temporal, decoder=decoder, device=device,
                                                    dtype=dtype, files={k: v for k, v in files.items() if v})
    return _AdapterPipe(pipe, options)
