"""Spatial building blocks of the Kandinsky 3.0 / FusionFrames UNet.

Every attribute name below is a state_dict key fragment of the released checkpoints
(shared/reference/kandinsky_video.md §3), so names and registration order are load-bearing:
renaming `context_mlp` or moving `temporal_merge` breaks loading the official files.

Facts from the released code (ai-forever/KandinskyVideo, branch kandinsky_video_1_0,
video_kandinsky3/model/{nn,unet}.py) — the code here is our own:
- ConditionalGroupNorm = GroupNorm(affine=False) scaled/shifted by SiLU+Linear of a condition
  vector; the Linear is zero-initialised, so a fresh norm ignores its condition.
- Attention linears and the attention-block feed-forward convs have no bias.
- ResNetBlock = 4 Blocks with kernels [1, 3, 3, 1] and a bottleneck of max(in, out) // 2.
- Up-sampling is a ConvTranspose2d(k=2, s=2) *before* a Block's projection, down-sampling a
  Conv2d(k=2, s=2) *after* it.

Frames travel stacked in the batch dimension ('(b t) c h w'); the per-call frame information
(number of frames, frame-position embedding, interpolation groups) rides in `FrameInfo`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "FrameInfo",
    "SinusoidalPosEmb",
    "ConditionalGroupNorm",
    "Attention",
    "AttentionPolling",
    "AttentionBlock",
    "Block",
    "ResNetBlock",
    "embed_time",
    "masked_attention",
]


@dataclass
class FrameInfo:
    """What a forward pass knows about the frames stacked in its batch.

    num_frames: frames per video for the keyframe temporal modules (batch = b * num_frames).
    temporal_embed: [batch, time_embed_dim] frame-position embedding (keyframe models).
    num_temporal_groups: keyframe pairs per video for the interpolation model's per-Block
        temporal convolution (batch = b * num_temporal_groups).
    """

    num_frames: Optional[int] = None
    temporal_embed: Optional[Tensor] = None
    num_temporal_groups: Optional[int] = None


class SinusoidalPosEmb(nn.Module):
    """Parameter-free sin/cos embedding (so `to_time_embed.0` has no keys).

    Frequencies exp(-log(10000) * j / (half - 1)), [sin | cos] — as the reference.
    Always computed in float32; `embed_time` casts to the next layer's dtype.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        half = self.dim // 2
        freq = torch.exp(
            torch.arange(half, device=x.device, dtype=torch.float32) * (-math.log(10000) / (half - 1))
        )
        arg = x.float()[:, None] * freq[None, :]
        return torch.cat((arg.sin(), arg.cos()), dim=-1)


def embed_time(mlp: nn.Sequential, t: Tensor) -> Tensor:
    """Run a Sequential[SinusoidalPosEmb, Linear, SiLU, Linear] in the Linear's dtype."""
    emb = mlp[0](t)
    emb = emb.to(mlp[1].weight.dtype)
    for layer in list(mlp)[1:]:
        emb = layer(emb)
    return emb


class ConditionalGroupNorm(nn.Module):
    """GroupNorm without affine whose scale/shift come from a condition vector (zero-init)."""

    def __init__(self, groups: int, channels: int, cond_dim: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, affine=False)
        self.context_mlp = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 2 * channels))
        nn.init.zeros_(self.context_mlp[1].weight)
        nn.init.zeros_(self.context_mlp[1].bias)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        cond = self.context_mlp(cond)
        cond = cond.reshape(*cond.shape, *([1] * (x.dim() - 2)))
        scale, shift = cond.chunk(2, dim=1)
        return self.norm(x) * (scale + 1.0) + shift


def masked_attention(q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    """softmax(q k^T / sqrt(d)) v through `scaled_dot_product_attention`.

    q, k, v: [..., heads, n, d]; mask: bool [batch, n_keys], True = attend (the reference's
    `context_mask`). The reference fills masked scores with -finfo.max, so a row whose keys are
    *all* masked gets uniform weights (the mean of the values) instead of NaN; we reproduce that.
    """
    if mask is None:
        return F.scaled_dot_product_attention(q, k, v)
    mask = mask.to(torch.bool)
    all_masked = ~mask.any(dim=-1)  # [batch]
    safe = mask | all_masked[:, None]
    shape = (mask.shape[0],) + (1,) * (q.dim() - 2) + (mask.shape[-1],)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=safe.reshape(shape))
    # rows with no visible key take the mean of the values. On accelerators always (a data-
    # dependent branch would force a host sync); on CPU only when such a row exists.
    if out.device.type == "cpu" and not bool(all_masked.any()):
        return out
    sel = all_masked.reshape((-1,) + (1,) * (q.dim() - 1))
    return torch.where(sel, v.mean(dim=-2, keepdim=True).to(out.dtype), out)


class Attention(nn.Module):
    """Multi-head attention, no biases; heads = out_channels // head_dim."""

    def __init__(self, in_channels: int, out_channels: int, context_dim: int, head_dim: int = 64):
        super().__init__()
        if out_channels % head_dim:
            raise ValueError(f"attention width {out_channels} is not a multiple of head_dim {head_dim}")
        self.num_heads = out_channels // head_dim
        self.to_query = nn.Linear(in_channels, out_channels, bias=False)
        self.to_key = nn.Linear(context_dim, out_channels, bias=False)
        self.to_value = nn.Linear(context_dim, out_channels, bias=False)
        self.output_layer = nn.Linear(out_channels, out_channels, bias=False)

    def _heads(self, x: Tensor) -> Tensor:  # [B, n, h*d] -> [B, h, n, d]
        return x.unflatten(-1, (self.num_heads, -1)).transpose(-3, -2)

    def forward(self, x: Tensor, context: Tensor, context_mask: Optional[Tensor] = None) -> Tensor:
        q = self._heads(self.to_query(x))
        k = self._heads(self.to_key(context))
        v = self._heads(self.to_value(context))
        out = masked_attention(q, k, v, context_mask)
        return self.output_layer(out.transpose(-3, -2).flatten(-2))


class AttentionPolling(nn.Module):
    """Adds a text summary to the time embedding: attention whose query is the context mean."""

    def __init__(self, num_channels: int, context_dim: int, head_dim: int = 64):
        super().__init__()
        self.attention = Attention(context_dim, num_channels, context_dim, head_dim)

    def forward(self, x: Tensor, context: Tensor, context_mask: Optional[Tensor] = None) -> Tensor:
        pooled = self.attention(context.mean(dim=1, keepdim=True), context, context_mask)
        return x + pooled.squeeze(1)


def _feed_forward(channels: int, expansion_ratio: int) -> nn.Sequential:
    hidden = expansion_ratio * channels
    return nn.Sequential(
        nn.Conv2d(channels, hidden, kernel_size=1, bias=False),
        nn.SiLU(),
        nn.Conv2d(hidden, channels, kernel_size=1, bias=False),
    )


class AttentionBlock(nn.Module):
    """Pre-norm (time-conditioned) self or cross attention + 1x1-conv feed-forward.

    `temporal_layer` (only in the `conv1d_attn1d_layers` variant) is a temporal attention
    layer applied inside this block right after the spatial attention (Video-LDM style).
    """

    def __init__(self, num_channels: int, time_embed_dim: int, context_dim: Optional[int] = None,
                 groups: int = 32, head_dim: int = 64, expansion_ratio: int = 4,
                 temporal_layer: Optional[nn.Module] = None):
        super().__init__()
        self.in_norm = ConditionalGroupNorm(groups, num_channels, time_embed_dim)
        self.attention = Attention(num_channels, num_channels, context_dim or num_channels, head_dim)
        self.out_norm = ConditionalGroupNorm(groups, num_channels, time_embed_dim)
        self.feed_forward = _feed_forward(num_channels, expansion_ratio)
        self.temporal_layer = temporal_layer

    def forward(self, x: Tensor, time_embed: Tensor, context: Optional[Tensor] = None,
                context_mask: Optional[Tensor] = None, frames: Optional[FrameInfo] = None) -> Tensor:
        b, c, h, w = x.shape
        out = self.in_norm(x, time_embed).flatten(2).transpose(1, 2)  # [B, hw, C]
        if context is None:
            context, context_mask = out, None
        out = self.attention(out, context, context_mask)
        x = x + out.transpose(1, 2).reshape(b, c, h, w)
        if self.temporal_layer is not None:
            x = self.temporal_layer(x, time_embed, frames)
        return x + self.feed_forward(self.out_norm(x, time_embed))


class Block(nn.Module):
    """CondGroupNorm -> SiLU -> [ConvTranspose up] -> Conv -> [interp temporal conv] -> [Conv down].

    interpolation=True adds the interpolation UNet's `temporal_merge` scalar (init 0) and
    `temporal_projection` Conv3d(C, C, (3,1,1)) (zero-init) over the temporal-group axis:
    x = (1 - m) * x + m * conv(x). `temporal_layer` is the `conv1d_attn1d_layers` hook.
    """

    def __init__(self, in_channels: int, out_channels: int, time_embed_dim: int, kernel_size: int = 3,
                 groups: int = 32, up_resolution: Optional[bool] = None, interpolation: bool = False,
                 temporal_layer: Optional[nn.Module] = None):
        super().__init__()
        if interpolation:
            # registered first so the key order is that of the release (own params first anyway)
            self.temporal_merge = nn.Parameter(torch.zeros(1))
        self.group_norm = ConditionalGroupNorm(groups, in_channels, time_embed_dim)
        self.activation = nn.SiLU()
        self.up_sample = (nn.ConvTranspose2d(in_channels, in_channels, kernel_size=2, stride=2)
                          if up_resolution is True else None)
        self.projection = nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size,
                                    padding=0 if kernel_size == 1 else 1)
        self.down_sample = (nn.Conv2d(out_channels, out_channels, kernel_size=2, stride=2)
                            if up_resolution is False else None)
        if interpolation:
            self.temporal_projection = nn.Conv3d(out_channels, out_channels, (3, 1, 1), padding=(1, 0, 0))
            nn.init.zeros_(self.temporal_projection.weight)
            nn.init.zeros_(self.temporal_projection.bias)
        self.temporal_layer = temporal_layer
        self.interpolation = interpolation

    def forward(self, x: Tensor, time_embed: Tensor, frames: Optional[FrameInfo] = None) -> Tensor:
        x = self.activation(self.group_norm(x, time_embed))
        if self.up_sample is not None:
            x = self.up_sample(x)
        x = self.projection(x)
        if self.interpolation and frames is not None and frames.num_temporal_groups is not None:
            g = frames.num_temporal_groups
            bt, c, h, w = x.shape
            vid = x.reshape(bt // g, g, c, h, w).transpose(1, 2)  # b c g h w
            out = self.temporal_projection(vid).transpose(1, 2).reshape(bt, c, h, w)
            x = (1 - self.temporal_merge) * x + self.temporal_merge * out
        if self.temporal_layer is not None:
            x = self.temporal_layer(x, time_embed, frames)
        if self.down_sample is not None:
            x = self.down_sample(x)
        return x


TemporalLayerFactory = Callable[[int, str], Optional[nn.Module]]


class ResNetBlock(nn.Module):
    """Bottleneck of four Blocks (kernels 1,3,3,1) plus a (re-sampled, projected) shortcut.

    up_resolutions: per-Block None / True (up-sample) / False (down-sample), as the release.
    temporal_layer_factory(channels, kind) builds the optional Video-LDM style temporal conv
    layer placed after each 3x3 Block (kind "conv"); None everywhere else.
    """

    def __init__(self, in_channels: int, out_channels: int, time_embed_dim: int, groups: int = 32,
                 compression_ratio: int = 2, up_resolutions=None, interpolation: bool = False,
                 temporal_layer_factory: Optional[TemporalLayerFactory] = None):
        super().__init__()
        kernel_sizes = [1, 3, 3, 1]
        hidden = max(in_channels, out_channels) // compression_ratio
        pairs = [(in_channels, hidden), (hidden, hidden), (hidden, hidden), (hidden, out_channels)]
        up_resolutions = list(up_resolutions) if up_resolutions is not None else [None] * 4
        blocks = []
        for (cin, cout), k, up in zip(pairs, kernel_sizes, up_resolutions):
            layer = temporal_layer_factory(cout, "conv") if (temporal_layer_factory and k == 3) else None
            blocks.append(Block(cin, cout, time_embed_dim, k, groups, up, interpolation, layer))
        self.resnet_blocks = nn.ModuleList(blocks)
        self.shortcut_up_sample = (nn.ConvTranspose2d(in_channels, in_channels, kernel_size=2, stride=2)
                                   if True in up_resolutions else None)
        self.shortcut_projection = (nn.Conv2d(in_channels, out_channels, kernel_size=1)
                                    if in_channels != out_channels else None)
        self.shortcut_down_sample = (nn.Conv2d(out_channels, out_channels, kernel_size=2, stride=2)
                                     if False in up_resolutions else None)

    def forward(self, x: Tensor, time_embed: Tensor, frames: Optional[FrameInfo] = None) -> Tensor:
        out = x
        for block in self.resnet_blocks:
            out = block(out, time_embed, frames)
        for layer in (self.shortcut_up_sample, self.shortcut_projection, self.shortcut_down_sample):
            if layer is not None:
                x = layer(x)
        return x + out
