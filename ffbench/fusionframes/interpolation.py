"""FusionFrames stage 2: latent frame interpolation as released (T frames -> 4T - 3).

Facts (shared/reference/kandinsky_video.md §2, §5, §7; paper.md; reference code KandinskyVideo
branch kandinsky_video_1_0, ``t2v_pipeline.interpolate_base_frames`` /
``_reshape_temporal_groups`` and ``model/diffusion.py`` ``text_guidance``):

- the G = T - 1 pairs of neighbouring frames are interpolated together, in ONE UNet pass per
  sampling step: sample shape [G, 12, h, w] = three in-between frames per pair packed in the
  channels (frame-major: channels 0-3 frame 1, 4-7 frame 2, 8-11 frame 3);
- UNet input = [left frame 4 | noisy 12 | right frame 4] (20 channels), output 12 channels,
  v-prediction; ``num_temporal_groups = G`` lets each Block's temporal convolution mix
  neighbouring pairs;
- no text: the context of every row is [interpolation null embedding, 0] with mask [1, 0];
- guidance w = 0.25, (w + 1) * cond - w * uncond, where the unconditional rows get the same
  noisy frames but zeros instead of the left/right frames ("with vs without keyframes"); both
  halves run in one UNet call (batch 2G, so the temporal convolution sees two runs of G groups);
- ``skip_frames`` = 3 on the first pass (neighbours 4 positions apart at the final rate),
  1 on the second; perturbation time 0 (no noise on the conditioning frames at inference);
- reassembly: frame i of the result is input frame i / 4 when i % 4 == 0, else generated frame
  (i % 4) of pair i // 4. The input frames are copied, never re-generated.

fps modes (``__call__(fps=...)`` of the release): ``low`` = keyframes only (15 frames),
``medium`` = one pass (57), ``high`` = two passes (225). Paper: keyframes are about 2 fps, one
pass gives about 8 fps, two passes about 30 fps (2 -> 8 -> 30); ``FPS`` records those values.
"""
from __future__ import annotations

import torch

from ..errors import ConfigError
from .modes import FPS, FPS_MODES, FRAMES_PER_PAIR, output_frames, passes_for
from .sampler import INTERPOLATION_GUIDANCE, Sampler
from .text import checked_null_embedding, null_context
from .unet import UNet

__all__ = ["FPS_MODES", "FPS", "SKIP_FRAMES", "passes_for", "output_frames", "reassemble",
           "unpack_groups", "Interpolator"]

SKIP_FRAMES = (3, 1)  # skip-frame value of the first and the second interpolation pass


def unpack_groups(groups: torch.Tensor, channels: int = 4) -> torch.Tensor:
    """[G, 3*C, h, w] -> [3G, C, h, w], pair-major then frame-major ('b (t c) h w -> (b t) c h w')."""
    g, c3, h, w = groups.shape
    if c3 != FRAMES_PER_PAIR * channels:
        raise ValueError(f"expected {FRAMES_PER_PAIR * channels} channels, got {c3}")
    return groups.reshape(g * FRAMES_PER_PAIR, channels, h, w)


def reassemble(frames: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Input frames [T, C, h, w] + generated pairs [T-1, 3C, h, w] -> [4T-3, C, h, w]."""
    t = frames.shape[0]
    if groups.shape[0] != t - 1:
        raise ValueError(f"{groups.shape[0]} groups for {t} frames (expected {t - 1})")
    middles = unpack_groups(groups, frames.shape[1]).to(frames.dtype).reshape(t - 1, FRAMES_PER_PAIR,
                                                                              *frames.shape[1:])
    out = torch.empty((4 * t - 3, *frames.shape[1:]), dtype=frames.dtype, device=frames.device)
    out[0::4] = frames
    # rows 4k+1, 4k+2, 4k+3 hold pair k's three frames
    body = out[: 4 * (t - 1)].reshape(t - 1, 4, *frames.shape[1:])
    body[:, 1:] = middles
    return out


class Interpolator:
    """Runs the interpolation UNet over a latent video (see module docstring).

    ``null_embedding``: the interpolation checkpoint's ``null_embedding`` [context_dim].
    """

    def __init__(self, unet: UNet, null_embedding: torch.Tensor):
        cfg = unet.config
        if not cfg.interpolation:
            raise ConfigError("Interpolator needs an interpolation UNet (interpolation=True)")
        if cfg.out_channels % FRAMES_PER_PAIR or cfg.in_channels != cfg.out_channels + 2 * (cfg.out_channels // 3):
            raise ConfigError(f"interpolation UNet channels {cfg.in_channels} -> {cfg.out_channels} are "
                              "not [left C | 3C noisy | right C] -> 3C")
        self.unet = unet
        self.null_embedding = checked_null_embedding(null_embedding, cfg.context_dim)
        self.channels = cfg.out_channels // FRAMES_PER_PAIR
        self.prediction = cfg.prediction

    @torch.no_grad()
    def interpolate(self, frames: torch.Tensor, skip_frames: int, generator, *, steps: int = 50,
                    guidance_scale: float = INTERPOLATION_GUIDANCE, schedule: str = "cosine",
                    threshold_percentile: float | None = 0.98, progress: bool = False) -> torch.Tensor:
        """One pass: frames [T, C, h, w] -> the generated pairs [T-1, 3C, h, w] (float32)."""
        if frames.dim() != 4 or frames.shape[1] != self.channels or frames.shape[0] < 2:
            raise ValueError(f"frames: expected [T >= 2, {self.channels}, h, w], got {tuple(frames.shape)}")
        p = next(self.unet.parameters())
        device, dtype = p.device, p.dtype
        frames = frames.to(device, torch.float32)
        g = frames.shape[0] - 1
        left, right = frames[:-1], frames[1:]
        zeros = torch.zeros_like(left)
        big_left = torch.cat([left, zeros]).to(dtype)  # conditional rows, then "no keyframes" rows
        big_right = torch.cat([right, zeros]).to(dtype)
        ctx, mask = null_context(self.null_embedding, 2 * g, 2, device, dtype)
        skips = torch.full((2 * g,), int(skip_frames), dtype=torch.long, device=device)
        unet = self.unet

        def model_fn(x: torch.Tensor, t_model: torch.Tensor):
            xx = x.to(dtype).repeat(2, 1, 1, 1)
            out = unet(torch.cat([big_left, xx, big_right], dim=1), t_model.repeat(2), ctx, mask,
                       num_temporal_groups=g, skip_frames=skips, perturbation_time=0)
            return out.chunk(2)

        sampler = Sampler(steps, schedule, self.prediction, threshold_percentile)
        shape = (g, FRAMES_PER_PAIR * self.channels, *frames.shape[2:])
        return sampler.sample(model_fn, shape, generator, guidance_scale=float(guidance_scale),
                              device=device, dtype=torch.float32, progress=progress)

    def __call__(self, frames: torch.Tensor, passes: int, generator, **kwargs) -> torch.Tensor:
        """``passes`` interpolation passes (skip_frames 3, then 1): T -> 4T-3 -> 16T-15."""
        if passes not in (0, 1, 2):
            raise ConfigError(f"passes must be 0, 1 or 2 (the released skip-frame schedule {SKIP_FRAMES}), "
                              f"got {passes!r}")
        video = frames
        for skip in SKIP_FRAMES[:passes]:
            video = reassemble(video.to(torch.float32), self.interpolate(video, skip, generator, **kwargs))
        return video
