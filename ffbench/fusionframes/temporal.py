"""Temporal conditioning of the keyframe UNet: the variants of FusionFrames paper Table 1.

Definitions (shared/reference/paper.md §"Variant definitions", paper §4.1):
- Temporal Conv1D = 3D conv with kernel 3x1x1; Temporal Conv3D = kernel 3x3x3.
- Temporal Attn1D = attention across time at each latent position; Attn3D = attention inside
  2x2xT windows (MaxViT-style block attention), with no extra parameters.
- `*_blocks` variants add *separate* temporal blocks after the spatial blocks (two temporal
  ResNet blocks per resnet_attn_blocks entry at list indices 3 and 4, one temporal attention
  block per level with self-attention); `conv1d_attn1d_layers` instead inserts temporal layers
  *inside* the spatial blocks (Video-LDM style).
- The released model is `conv1d_attn1d_blocks`; its module layout comes from the
  released code (ai-forever/KandinskyVideo@kandinsky_video_1_0 video_kandinsky3/model/unet.py:
  TemporalResNetBlock, TemporalAttentionBlock; nn.py TemporalAttention): every temporal
  output layer is zero-initialised there, except the temporal attention block's feed-forward;
  we zero that one too, so a fresh temporal model computes exactly the text-to-image model.

Our choices where the paper is silent (documented, not from a reference):
- conv3d block: the conv1d block's bottleneck (C -> C/2 -> C) with its two 3x1x1 convs replaced
  by 3x3x3 convs working at a narrower width h, reached through the paper's "2 extra Linear
  down/up projections" (C/2 -> h -> C/2). h is the multiple of `groups` that makes the block's
  parameter count closest to the conv1d block's (`conv3d_hidden_channels`).
- layers variant: a temporal conv layer (cond. GroupNorm + SiLU + Conv3d 3x1x1, "NA" prenorm of
  paper Fig. 3) after the conv of every 3x3 spatial Block, and a temporal attention layer
  ("N" prenorm, conditioned on the frame-position embedding) after the spatial attention of every
  AttentionBlock. Both residual with zero-initialised outputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import ConditionalGroupNorm, FrameInfo, _feed_forward

__all__ = [
    "VARIANTS",
    "Placeholder",
    "VariantSpec",
    "variant_spec",
    "TemporalResNetBlock",
    "TemporalConv3dBlock",
    "TemporalAttention",
    "TemporalAttentionBlock",
    "TemporalConvLayer",
    "TemporalAttentionLayer",
    "conv3d_hidden_channels",
    "make_temporal_resnet",
    "make_temporal_attention_block",
    "make_temporal_layer",
]


@dataclass(frozen=True)
class VariantSpec:
    conv: Optional[str]  # "conv1d" | "conv3d" | None
    window: Optional[int]  # spatial window of temporal attention: 1 (Attn1D), 2 (Attn3D)
    layers: bool  # temporal layers inside the spatial blocks instead of separate blocks


VARIANTS: dict[str, VariantSpec] = {
    "conv1d_attn1d_blocks": VariantSpec("conv1d", 1, False),
    "conv1d_attn3d_blocks": VariantSpec("conv1d", 2, False),
    "conv3d_attn1d_blocks": VariantSpec("conv3d", 1, False),
    "conv1d_attn1d_layers": VariantSpec("conv1d", 1, True),
    "none": VariantSpec(None, None, False),
}


def variant_spec(name: str) -> VariantSpec:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown temporal variant {name!r}; known: {', '.join(VARIANTS)}") from None


def _to_video(x: Tensor, num_frames: int) -> Tensor:
    """'(b t) c h w' -> 'b c t h w'."""
    bt, c, h, w = x.shape
    if num_frames is None or bt % num_frames:
        raise ValueError(f"batch {bt} is not a multiple of num_frames {num_frames}")
    return x.reshape(bt // num_frames, num_frames, c, h, w).transpose(1, 2)


def _from_video(x: Tensor) -> Tensor:
    """'b c t h w' -> '(b t) c h w'."""
    b, c, t, h, w = x.shape
    return x.transpose(1, 2).reshape(b * t, c, h, w)


def _stage(in_ch: int, out_ch: int, time_embed_dim: int, groups: int, kernel) -> nn.ModuleList:
    pad = tuple(k // 2 for k in kernel)
    return nn.ModuleList([ConditionalGroupNorm(groups, in_ch, time_embed_dim), nn.SiLU(),
                          nn.Conv3d(in_ch, out_ch, kernel, padding=pad)])


def _run_stage(stage: nn.ModuleList, x: Tensor, time_embed: Tensor, num_frames: int) -> Tensor:
    norm, act, conv = stage
    return _from_video(conv(_to_video(act(norm(x, time_embed)), num_frames)))


class TemporalResNetBlock(nn.Module):
    """Conv1D temporal block (released): 4 x [CondGN, SiLU, Conv3d (k,1,1)], k = 1,3,3,1, residual."""

    def __init__(self, channels: int, time_embed_dim: int, groups: int = 32, compression_ratio: int = 2):
        super().__init__()
        hidden = channels // compression_ratio
        pairs = [(channels, hidden), (hidden, hidden), (hidden, hidden), (hidden, channels)]
        self.temporal_resnet_blocks = nn.ModuleList([
            _stage(cin, cout, time_embed_dim, groups, (k, 1, 1)) for (cin, cout), k in zip(pairs, [1, 3, 3, 1])
        ])
        nn.init.zeros_(self.temporal_resnet_blocks[-1][-1].weight)
        nn.init.zeros_(self.temporal_resnet_blocks[-1][-1].bias)

    def forward(self, x: Tensor, time_embed: Tensor, frames: Optional[FrameInfo] = None) -> Tensor:
        out = x
        for stage in self.temporal_resnet_blocks:
            out = _run_stage(stage, out, time_embed, frames.num_frames)
        return x + out


def _cgn_params(channels: int, time_embed_dim: int) -> int:
    return time_embed_dim * 2 * channels + 2 * channels


def _conv1d_block_params(c: int, t: int, compression: int) -> int:
    h = c // compression
    convs = (c * h + h) + 2 * (3 * h * h + h) + (h * c + c)
    return convs + _cgn_params(c, t) + 3 * _cgn_params(h, t)


def _conv3d_block_params(c: int, t: int, compression: int, inner: int) -> int:
    h = c // compression
    convs = (c * h + h) + 2 * (27 * inner * inner + inner) + (h * c + c)
    projections = (h * inner + inner) + (inner * h + h)
    return convs + projections + _cgn_params(c, t) + 2 * _cgn_params(inner, t) + _cgn_params(h, t)


def conv3d_hidden_channels(channels: int, time_embed_dim: int, groups: int, compression_ratio: int) -> int:
    """Width of the 3x3x3 convs: the multiple of `groups` (<= C/compression) whose block has the
    parameter count closest to the conv1d block's ("to keep params comparable", paper §4.1)."""
    target = _conv1d_block_params(channels, time_embed_dim, compression_ratio)
    limit = max(groups, channels // compression_ratio)
    candidates = range(groups, limit + 1, groups)
    return min(candidates, key=lambda n: abs(_conv3d_block_params(channels, time_embed_dim,
                                                                   compression_ratio, n) - target))


class TemporalConv3dBlock(nn.Module):
    """Conv3D temporal block: 1x1x1 in, Linear down, 2 x 3x3x3 conv, Linear up, 1x1x1 out (zero-init)."""

    def __init__(self, channels: int, time_embed_dim: int, groups: int = 32, compression_ratio: int = 2):
        super().__init__()
        hidden = channels // compression_ratio
        inner = conv3d_hidden_channels(channels, time_embed_dim, groups, compression_ratio)
        self.temporal_resnet_blocks = nn.ModuleList([
            _stage(channels, hidden, time_embed_dim, groups, (1, 1, 1)),
            _stage(inner, inner, time_embed_dim, groups, (3, 3, 3)),
            _stage(inner, inner, time_embed_dim, groups, (3, 3, 3)),
            _stage(hidden, channels, time_embed_dim, groups, (1, 1, 1)),
        ])
        self.temporal_down_projection = nn.Linear(hidden, inner)
        self.temporal_up_projection = nn.Linear(inner, hidden)
        nn.init.zeros_(self.temporal_resnet_blocks[-1][-1].weight)
        nn.init.zeros_(self.temporal_resnet_blocks[-1][-1].bias)

    @staticmethod
    def _linear(layer: nn.Linear, x: Tensor) -> Tensor:  # per-pixel channel projection
        return layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    def forward(self, x: Tensor, time_embed: Tensor, frames: Optional[FrameInfo] = None) -> Tensor:
        t = frames.num_frames
        s0, s1, s2, s3 = self.temporal_resnet_blocks
        out = _run_stage(s0, x, time_embed, t)
        out = self._linear(self.temporal_down_projection, out)
        out = _run_stage(s2, _run_stage(s1, out, time_embed, t), time_embed, t)
        out = self._linear(self.temporal_up_projection, out)
        return x + _run_stage(s3, out, time_embed, t)


class TemporalAttention(nn.Module):
    """Attention among the tokens of one (window x all frames) group; output layer zero-init.

    window=1: Attn1D (each latent position attends over the T frames, as released).
    window=2: Attn3D (2x2xT windows; H, W padded to even with masked-out padding keys).
    """

    def __init__(self, channels: int, head_dim: int = 64, window: int = 1):
        super().__init__()
        if channels % head_dim:
            raise ValueError(f"temporal attention width {channels} is not a multiple of head_dim {head_dim}")
        self.num_heads = channels // head_dim
        self.window = window
        self.to_query = nn.Linear(channels, channels, bias=False)
        self.to_key = nn.Linear(channels, channels, bias=False)
        self.to_value = nn.Linear(channels, channels, bias=False)
        self.output_layer = nn.Linear(channels, channels, bias=False)
        nn.init.zeros_(self.output_layer.weight)

    def forward(self, x: Tensor, num_frames: int) -> Tensor:
        """x: '(b t) c h w' -> same shape."""
        bt, c, h, w = x.shape
        t, s = num_frames, self.window
        v = _to_video(x, t).permute(0, 2, 3, 4, 1)  # b t h w c
        ph, pw = (-h) % s, (-w) % s
        if ph or pw:
            v = F.pad(v, (0, 0, 0, pw, 0, ph))
        hp, wp = h + ph, w + pw
        b = v.shape[0]
        # tokens: [b, windows, t*s*s, c]
        tok = v.reshape(b, t, hp // s, s, wp // s, s, c).permute(0, 2, 4, 1, 3, 5, 6)
        tok = tok.reshape(b, (hp // s) * (wp // s), t * s * s, c)
        heads = lambda y: y.unflatten(-1, (self.num_heads, -1)).transpose(-3, -2)  # noqa: E731
        q, k, vv = heads(self.to_query(tok)), heads(self.to_key(tok)), heads(self.to_value(tok))
        mask = None
        if ph or pw:
            valid = torch.zeros(hp, wp, dtype=torch.bool, device=x.device)
            valid[:h, :w] = True
            valid = valid.reshape(hp // s, s, wp // s, s).permute(0, 2, 1, 3).reshape(-1, 1, s * s)
            mask = valid.expand(-1, t, -1).reshape(1, -1, 1, 1, t * s * s)
        nwin, n_tok = tok.shape[1], tok.shape[2]
        flat = lambda y: y.reshape(b * nwin, self.num_heads, n_tok, -1)  # noqa: E731  4-D for fused kernels
        if mask is not None:
            mask = mask.expand(b, -1, -1, -1, -1).reshape(b * nwin, 1, 1, n_tok)
        out = F.scaled_dot_product_attention(flat(q), flat(k), flat(vv), attn_mask=mask)
        out = out.reshape(b, nwin, self.num_heads, n_tok, -1)
        out = self.output_layer(out.transpose(-3, -2).flatten(-2))
        out = out.reshape(b, hp // s, wp // s, t, s, s, c).permute(0, 3, 1, 4, 2, 5, 6)
        out = out.reshape(b, t, hp, wp, c)[:, :, :h, :w]
        return out.permute(0, 1, 4, 2, 3).reshape(bt, c, h, w)


class TemporalAttentionBlock(nn.Module):
    """Released temporal attention block: in_norm conditioned on the frame-position embedding,
    temporal attention, out_norm on the time embedding, 1x1-conv feed-forward (both residual)."""

    def __init__(self, channels: int, time_embed_dim: int, groups: int = 32, head_dim: int = 64,
                 expansion_ratio: int = 4, window: int = 1):
        super().__init__()
        self.in_norm = ConditionalGroupNorm(groups, channels, time_embed_dim)
        self.temporal_attention = TemporalAttention(channels, head_dim, window)
        self.out_norm = ConditionalGroupNorm(groups, channels, time_embed_dim)
        self.feed_forward = _feed_forward(channels, expansion_ratio)
        # Deviation from the release's init (not its layout): it leaves this conv at the default
        # init, so a fresh released model is *not* the text-to-image model. Zero-init makes every
        # fresh temporal variant start exactly at the T2I model (the paper's frozen-T2I setup).
        nn.init.zeros_(self.feed_forward[2].weight)

    def forward(self, x: Tensor, time_embed: Tensor, frames: Optional[FrameInfo] = None) -> Tensor:
        out = self.in_norm(x, frames.temporal_embed)
        x = x + self.temporal_attention(out, frames.num_frames)
        return x + self.feed_forward(self.out_norm(x, time_embed))


class TemporalConvLayer(nn.Module):
    """Layers variant: x + Conv3d_3x1x1(SiLU(CondGN(x))), zero-init conv."""

    def __init__(self, channels: int, time_embed_dim: int, groups: int = 32):
        super().__init__()
        self.norm = ConditionalGroupNorm(groups, channels, time_embed_dim)
        self.activation = nn.SiLU()
        self.conv = nn.Conv3d(channels, channels, (3, 1, 1), padding=(1, 0, 0))
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor, time_embed: Tensor, frames: Optional[FrameInfo] = None) -> Tensor:
        out = self.activation(self.norm(x, time_embed))
        return x + _from_video(self.conv(_to_video(out, frames.num_frames)))


class TemporalAttentionLayer(nn.Module):
    """Layers variant: x + TemporalAttention(CondGN(x | frame-position embedding))."""

    def __init__(self, channels: int, time_embed_dim: int, groups: int = 32, head_dim: int = 64):
        super().__init__()
        self.norm = ConditionalGroupNorm(groups, channels, time_embed_dim)
        self.attention = TemporalAttention(channels, head_dim, 1)

    def forward(self, x: Tensor, time_embed: Tensor, frames: Optional[FrameInfo] = None) -> Tensor:
        return x + self.attention(self.norm(x, frames.temporal_embed), frames.num_frames)


class Placeholder(nn.Identity):
    """Parameter-free placeholder keeping ModuleList indices of the release; ignores extra args."""

    def forward(self, x, *args, **kwargs):  # noqa: D102
        return x


def make_temporal_resnet(variant: str, channels: int, time_embed_dim: int, groups: int,
                         compression_ratio: int) -> nn.Module:
    """Entry 3 / 4 of a resnet_attn_blocks item: a temporal conv block or a placeholder."""
    spec = variant_spec(variant)
    if spec.layers or spec.conv is None:
        return Placeholder()
    cls = TemporalResNetBlock if spec.conv == "conv1d" else TemporalConv3dBlock
    return cls(channels, time_embed_dim, groups, compression_ratio)


def make_temporal_attention_block(variant: str, enabled: bool, channels: int, time_embed_dim: int,
                                  groups: int, head_dim: int, expansion_ratio: int) -> nn.Module:
    """A level's `temporal_attention_block` (levels with self-attention) or a placeholder."""
    spec = variant_spec(variant)
    if not enabled or spec.layers or spec.window is None:
        return Placeholder()
    return TemporalAttentionBlock(channels, time_embed_dim, groups, head_dim, expansion_ratio, spec.window)


def make_temporal_layer(variant: str, channels: int, kind: str, time_embed_dim: int, groups: int,
                        head_dim: int) -> Optional[nn.Module]:
    """Layers variant only: the temporal layer placed inside a spatial Block ("conv") or
    AttentionBlock ("attn"); None for every other variant."""
    if not variant_spec(variant).layers:
        return None
    if kind == "conv":
        return TemporalConvLayer(channels, time_embed_dim, groups)
    if kind == "attn":
        return TemporalAttentionLayer(channels, time_embed_dim, groups, head_dim)
    raise ValueError(f"unknown temporal layer kind {kind!r}")
