"""Masked-frame interpolation (MFI): the Video-LDM-style alternative FusionFrames is measured against.

Facts (shared/reference/paper.md, Table 2 and the appendix note on MFI, "own reimplementation of
Video LDM"): the U-Net input is the noisy latents + the zero-padded, upsampled context video +
mask channels; the network is the per-frame (2D) UNet with temporal layers; conditional frame
perturbation noises the context frames; windows of 2 context frames + 3 new frames. We keep
T -> 4T - 3 per pass (fps medium = one pass, high = two) so outputs compare frame for frame with
ours (interpolation.py).

Why this shape, so costs compare fairly: the network is OUR UNet with the keyframe model's base
widths (model 384, dim_mult 1,2,4,8, ...), in the ``conv1d_attn1d_layers`` temporal variant
(temporal *layers* inside the spatial blocks, as Video LDM), 4 + 4 + 1 = 9 input channels
[noisy latent | context latent or zeros | mask] -> 4 output channels, and the 5 frames of a window
stacked as '(b t) c h w' with num_frames = 5. Where FusionFrames' interpolation UNet handles a
pair of keyframes as ONE row (20 -> 12 channels), MFI spends five full UNet rows on it: that is
the cost difference the profiler (ffbench/profiling) measures.

Sampling (sampler.py): all T - 1 windows of a pass are one batch, v-prediction like our
interpolation model, the same guidance rule (w = 0.25, "with vs without context": the
unconditional rows get zero context and zero mask) and the same text-free context
([null embedding, 0] with mask [1, 0]). Conditional frame perturbation: the context latents are
noised to ``perturbation_step`` (a sampler step index, default 0 = no noise, as at inference in
Video LDM and ours); the perturbation level is not embedded separately (Video LDM adds it to the
time embedding; its cost is one small MLP). The keyframes of the input are copied into the output
at indices 4k, never re-generated; the context frames' outputs of the network are discarded.

Random weights only here (no MFI checkpoint exists): ``build_mfi_unet`` -> ``random_weights = True``.
"""
from __future__ import annotations

from typing import Optional

import torch

from ..errors import ConfigError
from .interpolation import SKIP_FRAMES, reassemble
from .presets import get_config
from .sampler import INTERPOLATION_GUIDANCE, Sampler, make_noise
from .text import checked_null_embedding, null_context
from .unet import UNet, UNetConfig, build_unet

__all__ = ["WINDOW", "CONTEXT_FRAMES", "NEW_FRAMES", "MFI_PRESETS", "mfi_config", "build_mfi_unet",
           "build_windows", "MFIInterpolator"]

WINDOW = 5  # frames per window: context, 3 new, context
CONTEXT_FRAMES = (0, WINDOW - 1)
NEW_FRAMES = 3
LATENT_CHANNELS = 4

_MFI = dict(in_channels=2 * LATENT_CHANNELS + 1, out_channels=LATENT_CHANNELS, num_frames=WINDOW,
            temporal="conv1d_attn1d_layers", interpolation=False, prediction="v")
# base widths of the keyframe presets (presets.py), MFI channels/temporal layers on top
MFI_PRESETS = {"full": "keyframe_full", "tiny": "keyframe_tiny"}


def mfi_config(preset: str = "full", **overrides) -> UNetConfig:
    """The MFI UNet config: the keyframe preset's widths with the MFI fields (``full``/``tiny``)."""
    if preset not in MFI_PRESETS:
        raise ConfigError(f"unknown MFI preset {preset!r}; known: {', '.join(MFI_PRESETS)}")
    return get_config(MFI_PRESETS[preset], **{**_MFI, **overrides})


def build_mfi_unet(preset: str = "full", device="cpu", seed: Optional[int] = None,
                   dtype: Optional[torch.dtype] = None, **overrides) -> UNet:
    """An MFI UNet with random weights (``device="meta"`` for counting without memory)."""
    return build_unet(mfi_config(preset, **overrides), device=device, seed=seed, dtype=dtype)


def build_windows(frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keyframes [T, C, h, w] -> (context [(T-1)*5, C, h, w], mask [(T-1)*5, 1, h, w]).

    Window k holds frame k at position 0 and frame k+1 at position 4; positions 1-3 (the frames to
    generate) are zero in the context and 0 in the mask ("zero-padded upsampled context video").
    """
    t, c, h, w = frames.shape
    ctx = frames.new_zeros(t - 1, WINDOW, c, h, w)
    ctx[:, 0] = frames[:-1]
    ctx[:, -1] = frames[1:]
    mask = frames.new_zeros(t - 1, WINDOW, 1, h, w)
    mask[:, list(CONTEXT_FRAMES)] = 1
    return ctx.reshape((t - 1) * WINDOW, c, h, w), mask.reshape((t - 1) * WINDOW, 1, h, w)


class MFIInterpolator:
    """Keyframe latents [T, 4, h, w] -> [4T-3, 4, h, w] (one pass) or [16T-15, ...] (two passes)."""

    def __init__(self, unet: UNet, null_embedding: torch.Tensor):
        cfg = unet.config
        if cfg.in_channels != 2 * cfg.out_channels + 1 or cfg.interpolation:
            raise ConfigError(f"MFIInterpolator needs an MFI UNet ([noisy C | context C | mask 1] -> C), "
                              f"got {cfg.in_channels} -> {cfg.out_channels} channels")
        if cfg.temporal == "none" or cfg.num_frames != WINDOW:
            raise ConfigError(f"MFIInterpolator needs a temporal UNet with num_frames={WINDOW}")
        self.unet = unet
        self.null_embedding = checked_null_embedding(null_embedding, cfg.context_dim)
        self.channels = cfg.out_channels
        self.prediction = cfg.prediction

    def model_inputs(self, frames: torch.Tensor, guidance: bool, dtype=None):
        """(context+mask conditioning [B, C+1, h, w], text context, text mask) for one pass.

        With guidance the batch is doubled: conditional rows, then rows with context and mask zeroed.
        """
        ctx, mask = build_windows(frames)
        cond = torch.cat([ctx, mask], dim=1)
        if guidance:
            cond = torch.cat([cond, torch.zeros_like(cond)])
        b = cond.shape[0]
        dtype = dtype or cond.dtype
        text, text_mask = null_context(self.null_embedding, b, 2, cond.device, dtype)
        return cond.to(dtype), text, text_mask

    @torch.no_grad()
    def interpolate(self, frames: torch.Tensor, generator, *, steps: int = 50,
                    guidance_scale: Optional[float] = INTERPOLATION_GUIDANCE, schedule: str = "cosine",
                    threshold_percentile: Optional[float] = 0.98, perturbation_step: int = 0,
                    progress: bool = False) -> torch.Tensor:
        """One pass: frames [T, C, h, w] -> generated frames packed per pair [T-1, 3C, h, w]."""
        if frames.dim() != 4 or frames.shape[1] != self.channels or frames.shape[0] < 2:
            raise ValueError(f"frames: expected [T >= 2, {self.channels}, h, w], got {tuple(frames.shape)}")
        p = next(self.unet.parameters())
        device, dtype = p.device, p.dtype
        frames = frames.to(device, torch.float32)
        sampler = Sampler(steps, schedule, self.prediction, threshold_percentile)
        if not 0 <= perturbation_step < steps:
            raise ConfigError(f"perturbation_step must be in 0..{steps - 1}, got {perturbation_step}")
        if perturbation_step > 0:  # conditional frame perturbation: noise the context frames
            noise = make_noise(generator, frames.shape, device)()
            frames = sampler.q_sample(frames, perturbation_step, noise)
        guided = guidance_scale is not None
        cond, text, text_mask = self.model_inputs(frames, guided, dtype)
        g = frames.shape[0] - 1
        unet = self.unet

        def model_fn(x: torch.Tensor, t_model: torch.Tensor):
            xx = x.to(dtype)
            if guided:
                xx, t_model = xx.repeat(2, 1, 1, 1), t_model.repeat(2)
            out = unet(torch.cat([xx, cond], dim=1), t_model, text, text_mask, num_frames=WINDOW)
            return out.chunk(2) if guided else out

        shape = (g * WINDOW, self.channels, *frames.shape[2:])
        x = sampler.sample(model_fn, shape, generator,
                           guidance_scale=float(guidance_scale) if guided else None,
                           device=device, dtype=torch.float32, progress=progress)
        new = x.reshape(g, WINDOW, self.channels, *frames.shape[2:])[:, 1:1 + NEW_FRAMES]
        return new.reshape(g, NEW_FRAMES * self.channels, *frames.shape[2:])

    def __call__(self, frames: torch.Tensor, passes: int, generator, **kwargs) -> torch.Tensor:
        """``passes`` MFI passes (0, 1 or 2, like fps low/medium/high): T -> 4T-3 -> 16T-15."""
        if passes not in range(len(SKIP_FRAMES) + 1):
            raise ConfigError(f"passes must be 0, 1 or 2, got {passes!r}")
        video = frames
        for _ in range(passes):
            video = reassemble(video.to(torch.float32), self.interpolate(video, generator, **kwargs))
        return video
