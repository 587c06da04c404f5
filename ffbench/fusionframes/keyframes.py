"""FusionFrames stage 1: a prompt -> the latents of its keyframes, all denoised together.

Facts (shared/reference/kandinsky_video.md §2 "Sampler / pipeline defaults", §5 stage 1, §7;
reference code KandinskyVideo branch kandinsky_video_1_0, ``t2v_pipeline.generate_base_frames``
and ``model/diffusion.py``):

- the keyframe UNet denoises the T keyframes of a video (T = 15 in the release) as one batch,
  frames stacked in the batch dimension ('(b t) c h w'); the text context of the prompt is
  repeated for every frame;
- frame positions (what the temporal attention is conditioned on) are
  ``arange(0, 180, 180 // T)`` = 0, 12, ..., 168 for T = 15; we write ``arange(T) * (180 // T)``,
  the same numbers for T = 15 and still T numbers for any other T (the release's ``arange``
  would give 17 positions for T = 16). They are built on the UNet's device (the release
  hard-codes ``cuda:0``);
- the sampler is the reference DDPM (cosine schedule over ``steps``, model time
  t * (1000 // steps), dynamic thresholding at 0.98), epsilon prediction, guidance
  (w + 1) * cond - w * uncond with w = 5, conditional and unconditional rows in one UNet call;
- the unconditional context is the null embedding (or the negative prompt, encoded by the
  reference's rule: see text.py).

Batch independence: the context length of a prompt changes the UNet's pooled text vector
(AttentionPolling averages over all positions, padding included), so each prompt is encoded and
sampled on its own, as the reference does (batch of one). Random numbers come from one CPU
``torch.Generator`` per video (a seed), so a video depends only on (weights, prompt, seed,
settings) - not on the batch, the device or the dtype of the generator.

Precision: the sample stays float32 (the reference keeps it float32 under fp16 autocast); the
UNet runs in its own dtype (fp32, fp16 or bf16) and its output is cast back before guidance.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import ConfigError
from .sampler import KEYFRAME_GUIDANCE, Sampler
from .text import TextEncoder
from .unet import UNet

__all__ = ["VIDEO_LEN", "temporal_positions", "KeyframeGenerator", "as_generator"]

VIDEO_LEN = 180  # generate_base_frames: video_len = 180


def temporal_positions(num_frames: int, device=None, video_len: int = VIDEO_LEN) -> torch.Tensor:
    """Frame positions of T keyframes: [0, 180 // T, 2 * (180 // T), ...] (long, on ``device``)."""
    if not isinstance(num_frames, int) or num_frames < 1 or video_len // num_frames < 1:
        raise ConfigError(f"num_frames must be an integer in 1..{video_len}, got {num_frames!r}")
    return torch.arange(num_frames, device=device, dtype=torch.long) * (video_len // num_frames)


def as_generator(seed) -> torch.Generator:
    """A CPU generator from an int seed (a torch.Generator passes through)."""
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    return torch.Generator("cpu").manual_seed(seed)


def _module_device_dtype(module: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    p = next(module.parameters())
    return p.device, p.dtype


class KeyframeGenerator:
    """Prompt -> keyframe latents ``[T, 4, H/8, W/8]`` (float32, on the UNet's device).

    ``unet``: a keyframe UNet (ffbench.fusionframes.unet, epsilon prediction, temporal variant
    with ``num_frames``); ``text_encoder``: a TextEncoder with projections and null embedding.
    The UNet's device and dtype decide where and how it runs (no device is hard-coded).
    """

    def __init__(self, unet: UNet, text_encoder: TextEncoder, *, num_frames: int | None = None,
                 latent_channels: int = 4, latent_scale: int = 8):
        cfg = unet.config
        if cfg.interpolation:
            raise ConfigError("KeyframeGenerator needs a keyframe UNet, got an interpolation UNet")
        self.unet = unet
        self.text_encoder = text_encoder
        self.num_frames = num_frames or cfg.num_frames
        if not self.num_frames:
            raise ConfigError("the UNet has no num_frames (text-to-image config); pass num_frames=")
        self.latent_channels = latent_channels
        self.latent_scale = latent_scale
        self.prediction = cfg.prediction

    def latent_shape(self, height: int, width: int, num_frames: int | None = None) -> tuple[int, ...]:
        s = self.latent_scale
        return (num_frames or self.num_frames, self.latent_channels, height // s, width // s)

    @torch.no_grad()
    def __call__(self, prompt: str, negative_prompt: str | None = None, *, height: int = 512,
                 width: int = 512, seed: int | torch.Generator = 0, steps: int = 50,
                 guidance_scale: float = KEYFRAME_GUIDANCE, num_frames: int | None = None,
                 schedule: str = "cosine", threshold_percentile: float | None = 0.98,
                 progress: bool = False, conditioning=None) -> torch.Tensor:
        """Sample the keyframes of one video. ``seed``: int or a CPU torch.Generator (its stream
        is consumed: the pipeline continues it for the interpolation stage). ``conditioning``:
        the prompt's ``text_encoder.condition(...)`` when already computed (batch of one)."""
        if not isinstance(prompt, str):
            raise ConfigError(f"prompt must be a string, got {type(prompt).__name__}")
        t = num_frames or self.num_frames
        pos = temporal_positions(t)  # validates t
        device, dtype = _module_device_dtype(self.unet)
        pos = pos.to(device)
        cond = conditioning
        if cond is None:
            cond = self.text_encoder.condition([prompt], None if negative_prompt is None else [negative_prompt])
        elif cond.context.shape[0] != 1:
            raise ConfigError(f"conditioning must be for one prompt, got a batch of {cond.context.shape[0]}")
        ctx = cond.context.to(device)
        mask = cond.mask.to(device)
        uctx = cond.uncond_context.to(device)
        umask = cond.uncond_mask.to(device)
        # one batch: T conditional rows then T unconditional rows (the reference's text_guidance)
        big_ctx = torch.cat([ctx.expand(t, -1, -1), uctx.expand(t, -1, -1)]).to(dtype)
        big_mask = torch.cat([mask.expand(t, -1), umask.expand(t, -1)])
        big_pos = pos.repeat(2)
        unet = self.unet

        def model_fn(x: torch.Tensor, t_model: torch.Tensor):
            out = unet(torch.cat([x, x]).to(dtype), t_model.repeat(2), big_ctx, big_mask,
                       num_frames=t, temporal_positions=big_pos)
            return out.chunk(2)

        sampler = Sampler(steps, schedule, self.prediction, threshold_percentile)
        return sampler.sample(model_fn, self.latent_shape(height, width, t), as_generator(seed),
                              guidance_scale=float(guidance_scale), device=device,
                              dtype=torch.float32, progress=progress)

    def generate(self, prompts: Sequence[str], seeds: Sequence[int], negative_prompts=None,
                 **kwargs) -> list[torch.Tensor]:
        """One latent video per prompt, each sampled alone with its own seed."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        seeds = list(seeds)
        if len(seeds) != len(prompts):
            raise ConfigError(f"{len(seeds)} seeds for {len(prompts)} prompts")
        negs = negative_prompts if isinstance(negative_prompts, (list, tuple)) else [negative_prompts] * len(prompts)
        if len(negs) != len(prompts):
            raise ConfigError(f"{len(negs)} negative prompts for {len(prompts)} prompts")
        return [self(p, n, seed=s, **kwargs) for p, n, s in zip(prompts, negs, seeds)]
