"""Down- and up-sampling levels of the UNet (one resolution each).

Layout and forward order are those of the released code (ai-forever/KandinskyVideo@
kandinsky_video_1_0, video_kandinsky3/model/unet.py DownSampleBlock/UpSampleBlock;
shared/reference/kandinsky_video.md §3):
- each level holds `resnet_attn_blocks`, a ModuleList of `num_blocks` entries, each a ModuleList
  of exactly 5 slots: [0] ResNetBlock in, [1] cross-attention AttentionBlock (or placeholder),
  [2] ResNetBlock out, [3]/[4] temporal ResNet blocks (or placeholders). Slots keep their index
  whether filled or not, so state_dict keys match the release.
- Down: self_attention_block -> temporal_attention_block -> per entry 0, 3, 1, 2, 4.
  Up:   per entry 3, 0, 1, 4, 2 -> temporal_attention_block -> self_attention_block.
- Down-sampling happens in Block 2 of the out ResNetBlock of the last entry (not on the last
  level); up-sampling in Block 1 of the in ResNetBlock of the first entry (not on level 0).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from torch import Tensor, nn

from .blocks import AttentionBlock, FrameInfo, ResNetBlock
from .temporal import Placeholder, make_temporal_attention_block, make_temporal_layer, make_temporal_resnet

__all__ = ["LevelParams", "DownSampleBlock", "UpSampleBlock"]


@dataclass(frozen=True)
class LevelParams:
    """Hyper-parameters shared by every level."""

    time_embed_dim: int
    groups: int
    head_dim: int
    expansion_ratio: int
    compression_ratio: int
    temporal: str  # temporal variant name (temporal.VARIANTS)
    interpolation: bool

    def resnet(self, cin: int, cout: int, up_resolutions=None) -> ResNetBlock:
        factory = None if self.interpolation else self._layer
        return ResNetBlock(cin, cout, self.time_embed_dim, self.groups, self.compression_ratio,
                           up_resolutions, self.interpolation, factory)

    def _layer(self, channels: int, kind: str):
        return make_temporal_layer(self.temporal, channels, kind, self.time_embed_dim, self.groups,
                                   self.head_dim)

    def attention(self, channels: int, context_dim: Optional[int], enabled: bool = True) -> nn.Module:
        if not enabled:
            return Placeholder()
        return AttentionBlock(channels, self.time_embed_dim, context_dim, self.groups, self.head_dim,
                              self.expansion_ratio, self._layer(channels, "attn"))

    def temporal_resnet(self, channels: int) -> nn.Module:
        return make_temporal_resnet(self.temporal, channels, self.time_embed_dim, self.groups,
                                    self.compression_ratio)

    def temporal_attention(self, channels: int, enabled: bool) -> nn.Module:
        return make_temporal_attention_block(self.temporal, enabled, channels, self.time_embed_dim,
                                             self.groups, self.head_dim, self.expansion_ratio)


class DownSampleBlock(nn.Module):
    def __init__(self, p: LevelParams, in_channels: int, out_channels: int, context_dim: Optional[int],
                 num_blocks: int, down_sample: bool, self_attention: bool):
        super().__init__()
        self.self_attention_block = p.attention(in_channels, None, self_attention)
        self.temporal_attention_block = p.temporal_attention(in_channels, self_attention)
        last = [None, None, False if down_sample else None, None]
        up_resolutions = [[None] * 4] * (num_blocks - 1) + [last]
        channels = [(in_channels, out_channels)] + [(out_channels, out_channels)] * (num_blocks - 1)
        self.resnet_attn_blocks = nn.ModuleList([
            nn.ModuleList([
                p.resnet(cin, cout),
                p.attention(cout, context_dim, context_dim is not None),
                p.resnet(cout, cout, ups),
                p.temporal_resnet(cout),
                p.temporal_resnet(cout),
            ])
            for (cin, cout), ups in zip(channels, up_resolutions)
        ])

    def forward(self, x: Tensor, time_embed: Tensor, context: Optional[Tensor], context_mask: Optional[Tensor],
                frames: FrameInfo) -> Tensor:
        x = self.self_attention_block(x, time_embed, None, None, frames)
        x = self.temporal_attention_block(x, time_embed, frames)
        for res_in, attn, res_out, temp_in, temp_out in self.resnet_attn_blocks:
            x = res_in(x, time_embed, frames)
            x = temp_in(x, time_embed, frames)
            x = attn(x, time_embed, context, context_mask, frames)
            x = res_out(x, time_embed, frames)
            x = temp_out(x, time_embed, frames)
        return x


class UpSampleBlock(nn.Module):
    def __init__(self, p: LevelParams, in_channels: int, cat_dim: int, out_channels: int,
                 context_dim: Optional[int], num_blocks: int, up_sample: bool, self_attention: bool):
        super().__init__()
        first = [None, True if up_sample else None, None, None]
        up_resolutions = [first] + [[None] * 4] * (num_blocks - 1)
        channels = ([(in_channels + cat_dim, in_channels)] + [(in_channels, in_channels)] * (num_blocks - 2)
                    + [(in_channels, out_channels)])
        self.resnet_attn_blocks = nn.ModuleList([
            nn.ModuleList([
                p.resnet(cin, cin, ups),
                p.attention(cin, context_dim, context_dim is not None),
                p.resnet(cin, cout),
                p.temporal_resnet(cin),
                p.temporal_resnet(cin),
            ])
            for (cin, cout), ups in zip(channels, up_resolutions)
        ])
        self.temporal_attention_block = p.temporal_attention(out_channels, self_attention)
        self.self_attention_block = p.attention(out_channels, None, self_attention)

    def forward(self, x: Tensor, time_embed: Tensor, context: Optional[Tensor], context_mask: Optional[Tensor],
                frames: FrameInfo) -> Tensor:
        for res_in, attn, res_out, temp_in, temp_out in self.resnet_attn_blocks:
            x = temp_in(x, time_embed, frames)
            x = res_in(x, time_embed, frames)
            x = attn(x, time_embed, context, context_mask, frames)
            x = temp_out(x, time_embed, frames)
            x = res_out(x, time_embed, frames)
        x = self.temporal_attention_block(x, time_embed, frames)
        x = self.self_attention_block(x, time_embed, None, None, frames)
        return x
