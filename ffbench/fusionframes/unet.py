"""The FusionFrames (Kandinsky Video 1.0) UNet: keyframe and interpolation mode, one class.

Checkpoint-compatible key for key with the released files (shared/reference/kandinsky_video.md
§2-3; keys/kandinsky_video_1_0_{keyframe,interp}_unet_keys.tsv). Built from `UNetConfig`
(presets in presets.py); `build_unet` is the entry point.

Forward (frames are stacked in the batch dimension, '(b t) c h w'):

    unet(x, time, context=None, context_mask=None, *, num_frames=None, temporal_positions=None,
         num_temporal_groups=None, skip_frames=None, perturbation_time=None) -> Tensor

- x: [B, in_channels, H, W] latents; H and W multiples of 2**(levels-1) (8 for the presets).
  Keyframe model: B = b * T, the T frames of each video contiguous. Interpolation model:
  B = b * G with G = num_temporal_groups keyframe pairs per video, channels
  [left keyframe 4 | three noisy middle frames 3x4 | right keyframe 4] (20).
- time: [B] diffusion time on the model's 0..999 scale (the sampler's t * (1000 // steps)).
- context: [B, L, context_dim] projected text embeddings (required when the config has
  cross-attention, i.e. every preset); context_mask: [B, L] bool, True = attend (a row with
  no True attends uniformly, as the reference's masked_fill(-max) does).
- num_frames (keyframe temporal variants): frames per video, default `config.num_frames`.
- temporal_positions: frame positions, [B] or [T] (repeated per video); default
  arange(T) * (video_len // T) = 0, 12, ..., 168 for T = 15 (the release).
- num_temporal_groups (interpolation): G; switches on the per-Block temporal convolution over
  the groups and the skip/perturbation embeddings (as the release: without it the model runs
  frame-pairs independently and without those embeddings).
- skip_frames (interpolation, needed with num_temporal_groups): int or [B] long, 3 for the first
  interpolation pass and 1 for the second; perturbation_time: [B] noise level of the keyframes,
  default 0 (inference).
Returns [B, out_channels, H, W]: epsilon (keyframe) or v (interpolation, 3 frames x 4 ch).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional, Union

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .blocks import AttentionPolling, FrameInfo, SinusoidalPosEmb, embed_time
from .levels import DownSampleBlock, LevelParams, UpSampleBlock
from .temporal import VARIANTS, variant_spec

__all__ = ["UNetConfig", "UNet", "build_unet", "param_count"]


@dataclass(frozen=True)
class UNetConfig:
    """Hyper-parameters of one UNet (names follow the release's constructor arguments)."""

    model_channels: int = 384
    init_channels: int = 192
    in_channels: int = 4
    out_channels: int = 4
    time_embed_dim: int = 1536
    context_dim: Optional[int] = 4096
    groups: int = 32
    head_dim: int = 64
    expansion_ratio: int = 4
    compression_ratio: int = 2
    dim_mult: tuple[int, ...] = (1, 2, 4, 8)
    num_blocks: tuple[int, ...] = (3, 3, 3, 3)
    add_cross_attention: tuple[bool, ...] = (False, True, True, True)
    add_self_attention: tuple[bool, ...] = (False, True, True, True)
    num_frames: Optional[int] = 15
    temporal: str = "conv1d_attn1d_blocks"
    interpolation: bool = False
    video_len: int = 180  # frame-position scale of the release (positions = k * video_len // T)
    num_skip_embeddings: int = 20
    prediction: str = "epsilon"  # what the output means: "epsilon" or "v" (sampler reads it)

    def __post_init__(self):
        def bad(msg):
            raise ConfigError(f"UNetConfig: {msg}")

        if self.temporal not in VARIANTS:
            bad(f"unknown temporal variant {self.temporal!r}; known: {', '.join(VARIANTS)}")
        if self.interpolation and self.temporal != "none":
            bad("interpolation=True has its own per-Block temporal convolution; set temporal='none'")
        if self.temporal != "none" and not self.num_frames:
            bad(f"temporal variant {self.temporal!r} needs num_frames")
        n = len(self.dim_mult)
        for name in ("num_blocks", "add_cross_attention", "add_self_attention"):
            if len(getattr(self, name)) != n:
                bad(f"{name} has {len(getattr(self, name))} entries, dim_mult has {n}")
        if any(b < 2 for b in self.num_blocks):
            bad("num_blocks entries must be >= 2 (the up levels need an in and an out entry)")
        if any(self.add_cross_attention) and self.context_dim is None:
            bad("cross-attention needs context_dim")
        if self.prediction not in ("epsilon", "v"):
            bad(f"prediction must be 'epsilon' or 'v', got {self.prediction!r}")
        widths = [self.init_channels] + [self.model_channels * m for m in self.dim_mult]
        if self.init_channels % self.groups:
            bad(f"init_channels {self.init_channels} must be a multiple of groups={self.groups}")
        for c in widths[1:]:  # level widths and their ResNet bottlenecks
            if c % self.groups or (c // self.compression_ratio) % self.groups:
                bad(f"width {c} (and its bottleneck) must be a multiple of groups={self.groups}")
        for c, sa, ca in zip(widths[1:], self.add_self_attention, self.add_cross_attention):
            if (sa or ca or self.temporal != "none") and c % self.head_dim:
                bad(f"width {c} is not a multiple of head_dim={self.head_dim}")
        if self.init_channels < 4 or self.init_channels % 2:
            bad("init_channels must be an even number >= 4 (sinusoidal embedding width)")

    @property
    def downscale(self) -> int:
        """H and W of the input must be multiples of this."""
        return 2 ** (len(self.dim_mult) - 1)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _time_mlp(init_channels: int, time_embed_dim: int) -> nn.Sequential:
    return nn.Sequential(SinusoidalPosEmb(init_channels), nn.Linear(init_channels, time_embed_dim),
                         nn.SiLU(), nn.Linear(time_embed_dim, time_embed_dim))


class UNet(nn.Module):
    """See the module docstring for the forward contract."""

    random_weights: bool = True  # set False by checkpoints.py after a verified load

    def __init__(self, config: UNetConfig):
        super().__init__()
        c = config
        self.config = c
        if c.interpolation:  # own parameters first, as the release's state_dict
            self.time_embed_merge = nn.Parameter(torch.zeros(1))
            self.skip_merge = nn.Parameter(torch.zeros(1))
        self.to_time_embed = _time_mlp(c.init_channels, c.time_embed_dim)
        if c.context_dim is not None:
            self.feature_pooling = AttentionPolling(c.time_embed_dim, c.context_dim, c.head_dim)
        self.temporal = variant_spec(c.temporal).conv is not None
        if self.temporal:
            self.to_temporal_embed = _time_mlp(c.init_channels, c.time_embed_dim)
        if c.interpolation:
            self.perturbation_to_time_embed = _time_mlp(c.init_channels, c.time_embed_dim)
            self.skip_embeddings = nn.Embedding(c.num_skip_embeddings, c.time_embed_dim)
        self.in_layer = nn.Conv2d(c.in_channels, c.init_channels, kernel_size=3, padding=1)

        p = LevelParams(c.time_embed_dim, c.groups, c.head_dim, c.expansion_ratio, c.compression_ratio,
                        c.temporal, c.interpolation)
        dims = [c.init_channels] + [c.model_channels * m for m in c.dim_mult]
        in_out = list(zip(dims[:-1], dims[1:]))
        text_dims = [c.context_dim if on else None for on in c.add_cross_attention]
        n = self.num_levels = len(in_out)
        self.down_samples = nn.ModuleList([
            DownSampleBlock(p, cin, cout, text_dims[i], c.num_blocks[i], i != n - 1, c.add_self_attention[i])
            for i, (cin, cout) in enumerate(in_out)
        ])
        cat_dims = [cout if i != n - 1 else 0 for i, (_, cout) in enumerate(in_out)]
        ups = []
        for level in range(n):
            i = n - 1 - level  # the down level this up level mirrors
            cout, cin = in_out[i]
            ups.append(UpSampleBlock(p, cin, cat_dims[i], cout, text_dims[i], c.num_blocks[i], level != 0,
                                     c.add_self_attention[i]))
        self.up_samples = nn.ModuleList(ups)
        self.out_layer = nn.Sequential(nn.GroupNorm(c.groups, c.init_channels), nn.SiLU(),
                                       nn.Conv2d(c.init_channels, c.out_channels, kernel_size=3, padding=1))

    # ------------------------------------------------------------------ helpers
    def _batch_vector(self, value, batch: int, name: str, device, dtype) -> Tensor:
        t = torch.as_tensor(value, device=device)
        if t.dim() == 0:
            t = t.expand(batch)
        if t.shape != (batch,):
            raise ValueError(f"{name}: expected a scalar or shape [{batch}], got {tuple(t.shape)}")
        return t.to(dtype)

    def _frame_info(self, x: Tensor, num_frames, temporal_positions, num_temporal_groups) -> FrameInfo:
        batch = x.shape[0]
        if self.temporal:
            t = num_frames or self.config.num_frames
            if batch % t:
                raise ValueError(f"batch {batch} is not a multiple of num_frames {t} ('(b t) c h w' layout)")
            if temporal_positions is None:
                temporal_positions = torch.arange(t, device=x.device) * (self.config.video_len // t)
            pos = torch.as_tensor(temporal_positions, device=x.device)
            if pos.shape == (t,) and batch != t:
                pos = pos.repeat(batch // t)
            if pos.shape != (batch,):
                raise ValueError(f"temporal_positions: expected shape [{t}] or [{batch}], got {tuple(pos.shape)}")
            return FrameInfo(t, embed_time(self.to_temporal_embed, pos), None)
        if num_temporal_groups is not None:
            if not self.config.interpolation:
                raise ValueError("num_temporal_groups is only meaningful for the interpolation UNet")
            if batch % num_temporal_groups:
                raise ValueError(f"batch {batch} is not a multiple of num_temporal_groups {num_temporal_groups}")
        return FrameInfo(None, None, num_temporal_groups)

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor, time: Tensor, context: Optional[Tensor] = None,
                context_mask: Optional[Tensor] = None, *, num_frames: Optional[int] = None,
                temporal_positions: Optional[Tensor] = None, num_temporal_groups: Optional[int] = None,
                skip_frames: Union[int, Tensor, None] = None,
                perturbation_time: Optional[Tensor] = None) -> Tensor:
        c = self.config
        if x.dim() != 4 or x.shape[1] != c.in_channels:
            raise ValueError(f"x: expected [B, {c.in_channels}, H, W], got {tuple(x.shape)}")
        if x.shape[-2] % c.downscale or x.shape[-1] % c.downscale:
            raise ValueError(f"x: H, W = {tuple(x.shape[-2:])} must be multiples of {c.downscale}")
        batch = x.shape[0]
        time = self._batch_vector(time, batch, "time", x.device, torch.float32)
        time_embed = embed_time(self.to_time_embed, time)
        if context is None and any(c.add_cross_attention):
            raise ValueError("context is required: this UNet has cross-attention (pass the text embeddings)")
        if context is not None:
            if context.dim() != 3 or context.shape[0] != batch or context.shape[-1] != c.context_dim:
                raise ValueError(f"context: expected [{batch}, L, {c.context_dim}], got {tuple(context.shape)}")
            time_embed = self.feature_pooling(time_embed, context, context_mask)
        frames = self._frame_info(x, num_frames, temporal_positions, num_temporal_groups)
        if c.interpolation and num_temporal_groups is not None:
            if skip_frames is None:
                raise ValueError("the interpolation UNet needs skip_frames with num_temporal_groups")
            if perturbation_time is None:
                perturbation_time = 0
            pt = self._batch_vector(perturbation_time, batch, "perturbation_time", x.device, torch.float32)
            pert = embed_time(self.perturbation_to_time_embed, pt)
            time_embed = self.time_embed_merge * pert + (1 - self.time_embed_merge) * time_embed
            skips = self._batch_vector(skip_frames, batch, "skip_frames", x.device, torch.long)
            time_embed = self.skip_merge * self.skip_embeddings(skips) + time_embed

        x = self.in_layer(x)
        hidden = []
        for level, down in enumerate(self.down_samples):
            x = down(x, time_embed, context, context_mask, frames)
            if level != self.num_levels - 1:
                hidden.append(x)
        for level, up in enumerate(self.up_samples):
            if level != 0:
                x = torch.cat([x, hidden.pop()], dim=1)
            x = up(x, time_embed, context, context_mask, frames)
        return self.out_layer(x)


def param_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_unet(preset_or_config: Union[str, UNetConfig], device: Union[str, torch.device] = "cpu",
               seed: Optional[int] = None, dtype: Optional[torch.dtype] = None, **overrides) -> UNet:
    """A UNet with *random* weights (`random_weights = True`); real weights: checkpoints.py.

    preset_or_config: a preset name (presets.PRESETS, e.g. "keyframe_tiny") or a UNetConfig;
    overrides replace config fields (e.g. temporal="conv3d_attn1d_blocks").
    device="meta" builds without memory (keys, shapes, counts). With a seed, initialisation is
    reproducible and independent of `device` (built on CPU under a forked RNG, then moved).
    """
    from .presets import get_config

    config = get_config(preset_or_config, **overrides)
    device = torch.device(device)
    if device.type == "meta":
        with torch.device("meta"):
            model = UNet(config)
    elif seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = UNet(config)
        model = model.to(device)
    else:
        with torch.device(device):
            model = UNet(config)
    if dtype is not None:
        model = model.to(dtype)
    model.random_weights = True
    return model
