"""`FusionFramesPipeline`: prompts -> uint8 videos, diffusers-style (components + ``__call__``).

Stages (shared/reference/kandinsky_video.md §2, §5; reference ``VideoKandinsky3T2VPipeline``,
KandinskyVideo branch kandinsky_video_1_0): text -> keyframes (keyframes.py) -> interpolation
passes per fps mode (interpolation.py) -> MoVQ decode in chunks of 4 frames (movq.py /
movq_video.py). Defaults are the release's ``__call__``: 512x512, fps "low", 50 steps, keyframe
guidance 5.0, interpolation guidance 0.25.

Output frames and playback rate per fps mode (15 keyframes, the release):
``low`` 15 frames at 2 fps, ``medium`` 57 frames at 8 fps, ``high`` 225 frames at 30 fps
(paper: "2 fps -> 8 fps -> 30 fps"; interpolation.FPS).

Seeds: one per prompt; a video is sampled alone from a CPU generator seeded with its seed (the
keyframe stage draws first, the interpolation passes continue the same stream), so it does not
depend on the other prompts of the call. ``seed=int`` gives prompt i the seed ``seed + i``;
pass a list for explicit per-prompt seeds.

Sizes: the MoVQ divides by 8 and the UNet's three downsamplings by 8 more, so width and height
must be multiples of 64 for the released configuration (the tiny preset: 8 x 2 = 16).

Presets: ``full`` (the release; ``from_pretrained``) and ``tiny`` (random weights, CPU in
seconds: the UNet presets' tiny widths with two levels instead of four, the tiny MoVQ topology
at width 8 (decoding 225 frames dominates otherwise), the tiny text encoder). ``from_pretrained(preset="tiny")`` loads files of the official layout built from tiny
models (tests).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from ..devices import resolve_device
from ..errors import ConfigError
from .interpolation import FPS, Interpolator, output_frames, passes_for
from .keyframes import KeyframeGenerator, as_generator
from .modes import INTERPOLATIONS
from .movq import PRESETS as MOVQ_PRESETS
from .presets import get_config
from .sampler import INTERPOLATION_GUIDANCE, KEYFRAME_GUIDANCE
from .text import TextEncoder
from .mfi import MFIInterpolator, mfi_config
from .unet import UNetConfig, build_unet

__all__ = ["FusionFramesOutput", "FusionFramesPipeline", "PIPELINE_PRESETS", "RELEASED_TEMPORAL",
           "RELEASED_DECODERS", "component_config", "size_multiple"]

RELEASED_TEMPORAL = "conv1d_attn1d_blocks"
# decoder variant -> weights registry name of its released file
RELEASED_DECODERS = {"image": "fusionframes_movq", "conv3x3x3_attn": "kandinsky_video_1_1_video_movq"}
_TINY_FAST = dict(dim_mult=(1, 2), num_blocks=(2, 2), add_cross_attention=(False, True),
                  add_self_attention=(False, True))
PIPELINE_PRESETS: dict[str, dict] = {
    "full": {"keyframe": get_config("keyframe_full"), "interpolation": get_config("interpolation_full"),
             "mfi": mfi_config("full"), "movq": MOVQ_PRESETS["full"]},
    "tiny": {"keyframe": get_config("keyframe_tiny", **_TINY_FAST),
             "interpolation": get_config("interpolation_tiny", **_TINY_FAST),
             "mfi": mfi_config("tiny", **_TINY_FAST),
             "movq": replace(MOVQ_PRESETS["tiny"], ch=8, norm_groups=4)},
}


def _preset(name: str) -> dict:
    if name not in PIPELINE_PRESETS:
        raise ConfigError(f"unknown pipeline preset {name!r}; known: {', '.join(PIPELINE_PRESETS)}")
    return PIPELINE_PRESETS[name]


def component_config(preset: str, part: str):
    """The config the pipeline builds `part` from ("keyframe", "interpolation", "mfi": UNetConfig;
    "movq": MoVQConfig) under `preset`: what the profiler counts is what the pipeline runs."""
    return _preset(preset)[part]


def size_multiple(preset: str) -> int:
    """Width and height must be multiples of this: MoVQ factor x keyframe UNet downscale."""
    p = _preset(preset)
    return p["movq"].downsample_factor * p["keyframe"].downscale


@dataclass
class FusionFramesOutput:
    videos: list  # torch.uint8 [T, H, W, 3] per prompt (CPU)
    metadata: dict
    latents: list | None = None  # float32 [T, 4, H/8, W/8] per prompt, with return_latents=True


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class FusionFramesPipeline:
    """Components: ``text_encoder`` (TextEncoder), ``unet`` (keyframe UNet), ``interpolation_unet``
    (FusionFrames' interpolation UNet, or an MFI UNet for masked-frame interpolation: the
    interpolator follows the UNet's config), ``interpolation_null_embedding`` [context_dim],
    ``movq`` (MoVQ or VideoMoVQ). Build with
    ``from_pretrained`` or ``tiny``; samplers are made per call from ``steps`` (the reference's
    DDPM, ``schedule`` / ``threshold_percentile`` attributes)."""

    schedule = "cosine"
    threshold_percentile = 0.98

    def __init__(self, text_encoder: TextEncoder, unet: nn.Module, interpolation_unet: nn.Module,
                 interpolation_null_embedding: torch.Tensor, movq: nn.Module, *,
                 random_weights: bool | None = None, config: dict | None = None):
        self.text_encoder = text_encoder
        self.unet = unet
        self.interpolation_unet = interpolation_unet
        self.interpolation_null_embedding = interpolation_null_embedding
        self.movq = movq
        self.keyframes = KeyframeGenerator(unet, text_encoder)
        if interpolation_unet.config.interpolation:
            self.interpolation = "fusionframes"
            self.interpolator = Interpolator(interpolation_unet, interpolation_null_embedding)
        else:
            self.interpolation = "mfi"
            self.interpolator = MFIInterpolator(interpolation_unet, interpolation_null_embedding)
        parts = (text_encoder, unet, interpolation_unet, movq)
        self.random_weights = (any(bool(getattr(m, "random_weights", False)) for m in parts)
                               if random_weights is None else bool(random_weights))
        self.config = dict(config or {})

    @property
    def components(self) -> dict:
        return {"text_encoder": self.text_encoder, "unet": self.unet,
                "interpolation_unet": self.interpolation_unet,
                "interpolation_null_embedding": self.interpolation_null_embedding, "movq": self.movq}

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def size_multiple(self) -> int:
        """width and height must be multiples of this (MoVQ factor x UNet downscale)."""
        return self.movq.config.downsample_factor * self.unet.config.downscale  # = size_multiple(preset)

    @property
    def num_keyframes(self) -> int:
        return self.keyframes.num_frames

    # ------------------------------------------------------------------ construction
    @classmethod
    def tiny(cls, seed: int = 0, *, temporal: str = RELEASED_TEMPORAL, decoder: str = "image",
             interpolation: str = "fusionframes", device=None,
             dtype: torch.dtype = torch.float32) -> "FusionFramesPipeline":
        """Explicit random-weight preset (``random_weights = True``): tiny text encoder, UNets
        and MoVQ from the same code as the full models; CPU in seconds at 64x64, few steps.
        ``interpolation="mfi"`` swaps in masked-frame interpolation (paper Table 2)."""
        from .movq import build_movq
        from .movq_video import build_video_movq

        p = _preset("tiny")
        device = torch.device(device) if device is not None else torch.device("cpu")
        te = TextEncoder.tiny(seed, context_dim=p["keyframe"].context_dim, device=device)
        kf_cfg = get_config(p["keyframe"], temporal=temporal)
        unet = build_unet(kf_cfg, device=device, seed=seed + 1, dtype=dtype).eval()
        if interpolation not in INTERPOLATIONS:
            raise ConfigError(f"unknown interpolation {interpolation!r}; known: {', '.join(INTERPOLATIONS)}")
        icfg = p["interpolation"] if interpolation == "fusionframes" else p["mfi"]
        iunet = build_unet(icfg, device=device, seed=seed + 2, dtype=dtype).eval()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 3)
            null = torch.randn(p["interpolation"].context_dim)
            movq = (build_movq(p["movq"], seed=seed + 4) if decoder == "image"
                    else build_video_movq(decoder, p["movq"], seed=seed + 4))
        movq = movq.to(device=device, dtype=dtype)
        config = {"preset": "tiny", "seed": seed, "temporal": temporal, "decoder": decoder,
                  "interpolation": interpolation, "dtype": str(dtype).replace("torch.", "")}
        return cls(te, unet, iunet, null.to(device), movq, random_weights=True, config=config)

    @classmethod
    def from_pretrained(cls, path=None, *, preset: str = "full", temporal: str = RELEASED_TEMPORAL,
                        decoder: str = "image", device=None, dtype: torch.dtype | None = None,
                        files: dict | None = None, verify_digest: bool = True) -> "FusionFramesPipeline":
        """Load the released files (official names, found by ffbench.weights.resolve):

        - ``kandinsky_video.pt`` (keyframe UNet + text projections + null embedding),
        - ``kandinsky_video_interpolation.pt`` (interpolation UNet + null embedding),
        - ``movq.pt`` (decoder ``image``) or Kandinsky Video 1.1's ``video_movq.pt``
          (decoder ``conv3x3x3_attn``),
        - ``flan-ul2/`` (the Flan-UL2 folder: config, tokenizer, weights).

        ``path``: a directory holding them (None: $FFBENCH_HOME, ~/.cache/ffbench);
        ``files``: per registry name an explicit path (overrides ``path``). Every missing file is
        named in one WeightsMissing. ``preset="tiny"`` reads files of the same layout made from
        tiny models. ``dtype`` defaults to fp16 on CUDA (the release's autocast) and fp32 on CPU.
        """
        from ..weights import WeightsMissing, get, resolve
        from .checkpoints import load_interpolation_unet, load_keyframe_unet
        from .movq import load_movq
        from .movq_video import load_video_movq

        p = _preset(preset)
        if temporal != RELEASED_TEMPORAL:
            raise ConfigError(f"temporal={temporal!r}: only {RELEASED_TEMPORAL!r} has released weights; "
                              "the other Table 1 variants exist as architectures (tiny(temporal=...), "
                              "ffbench.fusionframes.unet.build_unet)")
        if decoder not in RELEASED_DECODERS:
            raise ConfigError(f"decoder={decoder!r} has no released weights; choose one of "
                              f"{', '.join(RELEASED_DECODERS)} (other Table 3 variants: tiny(decoder=...))")
        device = resolve_device(device)
        if dtype is None:
            dtype = torch.float16 if device.type == "cuda" else torch.float32
        names = ["fusionframes_keyframe", "fusionframes_interpolation", RELEASED_DECODERS[decoder],
                 "flan_ul2_encoder"]
        files = dict(files or {})
        located, missing = {}, []
        for name in names:
            explicit = files.get(name)
            if explicit is None and path is not None:
                explicit = Path(path).expanduser() / get(name).filename
            try:
                located[name] = resolve(name, explicit, verify_digest=verify_digest)
            except WeightsMissing as e:
                missing.append((name, e))
        if missing:
            listed = ", ".join(get(n).filename for n, _ in missing)
            details = "\n\n".join(str(e) for _, e in missing)
            raise WeightsMissing(f"FusionFrames needs {len(missing)} more file(s): {listed}\n\n{details}")

        kf = load_keyframe_unet(located["fusionframes_keyframe"], p["keyframe"], device=device, dtype=dtype,
                                verify_digest=False)
        it = load_interpolation_unet(located["fusionframes_interpolation"], p["interpolation"],
                                     device=device, dtype=dtype, verify_digest=False)
        loader = load_movq if decoder == "image" else load_video_movq
        movq = loader(located[RELEASED_DECODERS[decoder]], device=device, dtype=dtype, preset=p["movq"])
        te = TextEncoder.from_pretrained(located["flan_ul2_encoder"], device=device,
                                         projections=kf.projections, null_embedding=kf.null_embedding.float(),
                                         context_dim=p["keyframe"].context_dim, verify_digest=False)
        config = {"preset": preset, "temporal": temporal, "decoder": decoder,
                  "dtype": str(dtype).replace("torch.", ""),
                  "files": {n: str(f) for n, f in located.items()}}
        return cls(te, kf.unet.eval(), it.unet.eval(), it.null_embedding.float(), movq.eval(),
                   random_weights=False, config=config)

    # ------------------------------------------------------------------ validation
    def _check_size(self, width, height) -> None:
        m = self.size_multiple
        for name, v in (("width", width), ("height", height)):
            if not _is_int(v) or v <= 0 or v % m:
                raise ConfigError(
                    f"{name}={v!r} must be a positive multiple of {m}: the MoVQ downsamples by "
                    f"{self.movq.config.downsample_factor} and the UNet's "
                    f"{len(self.unet.config.dim_mult) - 1} downsamplings by {self.unet.config.downscale}")

    @staticmethod
    def _seeds(seed, n: int) -> list:
        if isinstance(seed, (list, tuple)):
            if len(seed) != n:
                raise ConfigError(f"{len(seed)} seeds for {n} prompts")
            bad = [s for s in seed if not _is_int(s)]
            if bad:
                raise ConfigError(f"seeds must be integers, got {bad[0]!r}")
            return list(seed)
        if not _is_int(seed):
            raise ConfigError(f"seed must be an integer or a list of integers, got {seed!r}")
        return [seed + i for i in range(n)]

    # ------------------------------------------------------------------ call
    @torch.no_grad()
    def __call__(self, prompts, negative_prompt=None, width: int = 512, height: int = 512,
                 fps: str = "low", steps: int = 50, guidance_scale: float = KEYFRAME_GUIDANCE,
                 interpolation_guidance_scale: float = INTERPOLATION_GUIDANCE, seed=0,
                 num_keyframes: int | None = None, progress: bool = False,
                 return_latents: bool = False, decode_chunk_size: int = 4) -> FusionFramesOutput:
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise ConfigError("prompts must be a non-empty string or list of strings")
        if negative_prompt is None or isinstance(negative_prompt, str):
            negs = [negative_prompt] * len(prompts)
        else:
            negs = list(negative_prompt)
            if len(negs) != len(prompts):
                raise ConfigError(f"{len(negs)} negative prompts for {len(prompts)} prompts")
        passes = passes_for(fps)
        self._check_size(width, height)
        seeds = self._seeds(seed, len(prompts))
        t_keys = num_keyframes or self.num_keyframes
        device = self.device
        timings = {"text": 0.0, "keyframes": 0.0, "interpolation": 0.0, "decode": 0.0}
        videos, latents = [], []
        sampling = dict(steps=steps, schedule=self.schedule, threshold_percentile=self.threshold_percentile,
                        progress=progress)
        for prompt, neg, s in zip(prompts, negs, seeds):
            gen = as_generator(s)
            t0 = time.perf_counter()
            cond = self.text_encoder.condition([prompt], None if neg is None else [neg])
            _sync(device)
            t1 = time.perf_counter()
            keys = self.keyframes(prompt, neg, height=height, width=width, seed=gen,
                                  guidance_scale=guidance_scale, num_frames=t_keys, conditioning=cond,
                                  **sampling)
            _sync(device)
            t2 = time.perf_counter()
            lat = self.interpolator(keys, passes, gen, guidance_scale=interpolation_guidance_scale, **sampling)
            _sync(device)
            t3 = time.perf_counter()
            video = self.movq.latents_to_video(lat, chunk_size=decode_chunk_size)
            _sync(device)
            t4 = time.perf_counter()
            timings["text"] += t1 - t0
            timings["keyframes"] += t2 - t1
            timings["interpolation"] += t3 - t2
            timings["decode"] += t4 - t3
            videos.append(video)
            if return_latents:
                latents.append(lat.float().cpu())
        frames = output_frames(t_keys, fps)
        metadata = {
            "frames": frames, "keyframes": t_keys, "fps": FPS[fps], "fps_mode": fps,
            "interpolation": self.interpolation, "interpolation_passes": passes, "width": width, "height": height, "steps": steps,
            "guidance_scale": guidance_scale, "interpolation_guidance_scale": interpolation_guidance_scale,
            "negative_prompt": negative_prompt, "seeds": seeds,
            "timings": {k: round(v, 6) for k, v in timings.items()},
            "random_weights": self.random_weights, "device": str(device),
            "config": {**self.config, "keyframe_unet": _cfg_dict(self.unet.config),
                       "interpolation_unet": _cfg_dict(self.interpolation_unet.config),
                       "movq": type(self.movq).__name__},
        }
        return FusionFramesOutput(videos, metadata, latents if return_latents else None)


def _cfg_dict(cfg: UNetConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.to_dict().items()}
