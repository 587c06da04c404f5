"""MoVQ image autoencoder of Kandinsky Video 1.0 (FusionFrames), checkpoint-compatible.

Architecture facts come from shared/reference/kandinsky_video.md §2-§4 and the released code
(github ai-forever/KandinskyVideo, branch ``kandinsky_video_1_0``, ``video_kandinsky3/movq.py``);
the code here is our own. It is a taming/VQGAN-style encoder and decoder whose decoder norms are
*SpatialNorm*: GroupNorm modulated per pixel by the (nearest-upsampled) latent ``zq``
(``norm * conv_y(zq) + conv_b(zq)``). The release keeps no codebook: latents are used continuous,
``encode = quant_conv(encoder(x))`` and ``decode = decoder(post_quant_conv(z), zq=z)``.

The ``full`` preset is the released config (ch 256, ch_mult [1,2,2,4], 2 res blocks, attention at
resolution 32, z 4, no double_z): 430 state-dict keys, 270,603,567 parameters; ``movq.pt`` loads
with ``strict=True``. ``tiny`` has the same topology at small widths, for tests.

Decoding runs in frame chunks (default 4 frames, as the release decodes per chunk) so memory does
not grow with the number of frames; the release converts frames with ``clip((x + 1) / 2)`` then
PIL's ``x * 255`` cast (truncation). ``latents_to_video`` rounds by default (``rounding="floor"``
gives the release's truncation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import FFBenchError
from ..weights import WeightsError, load_torch_file, state_dict_problems

__all__ = [
    "MoVQConfig", "PRESETS", "MoVQError", "SpatialNorm", "ResnetBlock", "AttnBlock", "Encoder",
    "Decoder", "MoVQ", "build_movq", "load_movq", "load_checked", "images_to_uint8",
    "release_chunk_sizes",
]


class MoVQError(FFBenchError, ValueError):
    """Bad input to the MoVQ (wrong tensor rank/channels, bad chunk size)."""


@dataclass(frozen=True)
class MoVQConfig:
    ch: int = 256
    ch_mult: tuple[int, ...] = (1, 2, 2, 4)
    num_res_blocks: int = 2
    attn_resolutions: tuple[int, ...] = (32,)
    resolution: int = 256  # nominal; only decides at which level attention sits
    in_channels: int = 3
    out_ch: int = 3
    z_channels: int = 4
    zq_ch: int = 4  # SpatialNorm conditioning channels in the decoder (= z_channels)
    double_z: bool = False
    dropout: float = 0.0
    norm_groups: int = 32

    @property
    def downsample_factor(self) -> int:
        return 2 ** (len(self.ch_mult) - 1)


# kandinsky_video.md §2 (get_movq in video_kandinsky3/__init__.py, branch kandinsky_video_1_0)
PRESETS: dict[str, MoVQConfig] = {
    "full": MoVQConfig(),
    "tiny": MoVQConfig(ch=32, ch_mult=(1, 1, 2, 2), num_res_blocks=1, attn_resolutions=(4,),
                       resolution=32),
}


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.silu(x)  # x * sigmoid(x), the release's "nonlinearity"


class SpatialNorm(nn.Module):
    """GroupNorm, optionally modulated by ``zq`` (1x1 convs ``conv_y``/``conv_b``).

    Without ``zq_ch`` (encoder) it is a plain affine GroupNorm; the key prefix ``norm_layer`` is
    kept so state-dict names equal the release's.
    """

    def __init__(self, channels: int, zq_ch: int | None = None, groups: int = 32):
        super().__init__()
        self.norm_layer = nn.GroupNorm(groups, channels, eps=1e-6, affine=True)
        if zq_ch is not None:
            self.conv_y = nn.Conv2d(zq_ch, channels, 1)
            self.conv_b = nn.Conv2d(zq_ch, channels, 1)

    def forward(self, f: torch.Tensor, zq: torch.Tensor | None = None) -> torch.Tensor:
        out = self.norm_layer(f)
        if zq is not None and hasattr(self, "conv_y"):
            zq = F.interpolate(zq, size=f.shape[-2:], mode="nearest")
            out = out * self.conv_y(zq) + self.conv_b(zq)
        return out


class ResnetBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, zq_ch: int | None = None, dropout: float = 0.0,
                 groups: int = 32):
        super().__init__()
        self.in_channels, self.out_channels = in_ch, out_ch
        self.norm1 = SpatialNorm(in_ch, zq_ch, groups)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.norm2 = SpatialNorm(out_ch, zq_ch, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        if in_ch != out_ch:
            self.nin_shortcut = nn.Conv2d(in_ch, out_ch, 1)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        return self.nin_shortcut(x) if self.in_channels != self.out_channels else x

    def forward(self, x: torch.Tensor, zq: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(_act(self.norm1(x, zq)))
        h = self.conv2(self.dropout(_act(self.norm2(h, zq))))
        return self.shortcut(x) + h


class AttnBlock(nn.Module):
    """Single-head self-attention over the pixels of one frame (1x1-conv q/k/v/proj_out)."""

    def __init__(self, channels: int, zq_ch: int | None = None, groups: int = 32):
        super().__init__()
        self.norm = SpatialNorm(channels, zq_ch, groups)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, zq: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm(x, zq)
        b, c, hh, ww = h.shape
        q, k, v = (m(h).flatten(2).transpose(1, 2) for m in (self.q, self.k, self.v))
        a = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(c)) v
        # contiguous: a 1-frame batch would otherwise look channels-last and take another
        # conv kernel, breaking bit-equality between chunked and unchunked decoding
        return x + self.proj_out(a.transpose(1, 2).reshape(b, c, hh, ww).contiguous())


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))  # asymmetric pad as in taming/the release


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    def __init__(self, cfg: MoVQConfig):
        super().__init__()
        g, nlev = cfg.norm_groups, len(cfg.ch_mult)
        self.conv_in = nn.Conv2d(cfg.in_channels, cfg.ch, 3, padding=1)
        in_mult = (1,) + tuple(cfg.ch_mult)
        res, self.down = cfg.resolution, nn.ModuleList()
        for lev in range(nlev):
            level = nn.Module()
            level.block, level.attn = nn.ModuleList(), nn.ModuleList()
            c_in, c_out = cfg.ch * in_mult[lev], cfg.ch * cfg.ch_mult[lev]
            for _ in range(cfg.num_res_blocks):
                level.block.append(ResnetBlock(c_in, c_out, None, cfg.dropout, g))
                c_in = c_out
                if res in cfg.attn_resolutions:
                    level.attn.append(AttnBlock(c_in, None, g))
            if lev != nlev - 1:
                level.downsample = Downsample(c_in)
                res //= 2
            self.down.append(level)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(c_in, c_in, None, cfg.dropout, g)
        self.mid.attn_1 = AttnBlock(c_in, None, g)
        self.mid.block_2 = ResnetBlock(c_in, c_in, None, cfg.dropout, g)
        self.norm_out = SpatialNorm(c_in, None, g)
        self.conv_out = nn.Conv2d(c_in, cfg.z_channels * (2 if cfg.double_z else 1), 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level in self.down:
            for i, block in enumerate(level.block):
                h = block(h)
                if len(level.attn):
                    h = level.attn[i](h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(_act(self.norm_out(h)))


ResblockFactory = Callable[[int, int, str], nn.Module]


class Decoder(nn.Module):
    """Image decoder. ``resblock(in, out, where)`` lets the video decoder swap in its blocks
    (``where`` is "mid" or "up") while keeping every release key name."""

    def __init__(self, cfg: MoVQConfig, resblock: ResblockFactory | None = None):
        super().__init__()
        g, zq, nlev = cfg.norm_groups, cfg.zq_ch, len(cfg.ch_mult)
        if resblock is None:
            def resblock(i, o, where):
                return ResnetBlock(i, o, zq, cfg.dropout, g)
        c_in = cfg.ch * cfg.ch_mult[-1]
        res = cfg.resolution // 2 ** (nlev - 1)
        self.conv_in = nn.Conv2d(cfg.z_channels, c_in, 3, padding=1)
        self.mid = nn.Module()
        self.mid.block_1 = resblock(c_in, c_in, "mid")
        self.mid.attn_1 = AttnBlock(c_in, zq, g)
        self.mid.block_2 = resblock(c_in, c_in, "mid")
        up_levels = [None] * nlev
        for lev in reversed(range(nlev)):
            level = nn.Module()
            level.block, level.attn = nn.ModuleList(), nn.ModuleList()
            c_out = cfg.ch * cfg.ch_mult[lev]
            for _ in range(cfg.num_res_blocks + 1):
                level.block.append(resblock(c_in, c_out, "up"))
                c_in = c_out
                if res in cfg.attn_resolutions:
                    level.attn.append(AttnBlock(c_in, zq, g))
            if lev != 0:
                level.upsample = Upsample(c_in)
                res *= 2
            up_levels[lev] = level
        self.up = nn.ModuleList(up_levels)  # index = level, as in the release
        self.norm_out = SpatialNorm(c_in, zq, g)
        self.conv_out = nn.Conv2d(c_in, cfg.out_ch, 3, padding=1)

    def forward(self, z: torch.Tensor, zq: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(z)
        h = self.mid.block_1(h, zq)
        h = self.mid.attn_1(h, zq)
        h = self.mid.block_2(h, zq)
        for lev in reversed(range(len(self.up))):
            level = self.up[lev]
            for i, block in enumerate(level.block):
                h = block(h, zq)
                if len(level.attn):
                    h = level.attn[i](h, zq)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(_act(self.norm_out(h, zq)))


def release_chunk_sizes(n: int) -> list[int]:
    """Chunk sizes of the release's ``video.chunk(video.shape[0] // 4)`` (guarded for n < 4)."""
    if n <= 0:
        return []
    size = math.ceil(n / max(1, n // 4))
    return [min(size, n - s) for s in range(0, n, size)]


def _chunk_sizes(n: int, chunk_size: int | str | None) -> list[int]:
    if chunk_size is None:
        return [n] if n else []
    if chunk_size == "release":
        return release_chunk_sizes(n)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise MoVQError(f"chunk_size must be a positive int, None or 'release', got {chunk_size!r}")
    return [min(chunk_size, n - s) for s in range(0, n, chunk_size)]


def images_to_uint8(images: torch.Tensor, rounding: str = "round") -> torch.Tensor:
    """[N,3,H,W] in [-1,1] -> uint8 [N,H,W,3]: clip((x+1)/2) as the release, then x255.

    ``rounding="floor"`` reproduces the release's PIL conversion (``(x*255).astype(uint8)``).
    """
    x = ((images.float() + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0
    if rounding == "round":
        x = x.round()
    elif rounding != "floor":
        raise MoVQError(f"rounding must be 'round' or 'floor', got {rounding!r}")
    return x.to(torch.uint8).permute(0, 2, 3, 1).contiguous()


class MoVQ(nn.Module):
    """Encoder + quant convs + SpatialNorm decoder; keys equal the release's ``movq.pt``."""

    random_weights: bool = False

    def __init__(self, cfg: MoVQConfig = PRESETS["full"], decoder: nn.Module | None = None):
        super().__init__()
        self.config = cfg
        self.encoder = Encoder(cfg)
        self.quant_conv = nn.Conv2d(cfg.z_channels, cfg.z_channels, 1)
        self.post_quant_conv = nn.Conv2d(cfg.z_channels, cfg.z_channels, 1)
        self.decoder = decoder if decoder is not None else Decoder(cfg)

    def _ref(self) -> torch.Tensor:
        return self.post_quant_conv.weight

    def _check(self, x: torch.Tensor, channels: int, what: str, ndim: tuple[int, ...] = (4,)):
        if not isinstance(x, torch.Tensor) or x.ndim not in ndim or x.shape[-3] != channels:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise MoVQError(f"{what} must be a tensor [N,{channels},h,w] (rank {ndim}); "
                            f"got {shape}")

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """images [N,3,H,W] in [-1,1] (H, W multiples of 8) -> latents [N,4,H/8,W/8]."""
        self._check(images, self.config.in_channels, "images")
        f = self.config.downsample_factor
        if images.shape[-1] % f or images.shape[-2] % f:
            raise MoVQError(f"image size {tuple(images.shape[-2:])} must be a multiple of {f}")
        ref = self._ref()
        return self.quant_conv(self.encoder(images.to(ref.device, ref.dtype)))

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.post_quant_conv(z), z)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, chunk_size: int | str | None = 4) -> torch.Tensor:
        """latents [N,4,h,w] -> images [N,3,8h,8w] in about [-1,1], ``chunk_size`` frames at a time
        (None = all at once; "release" = the release's ``chunk(N // 4)`` split)."""
        self._check(latents, self.config.z_channels, "latents")
        ref = self._ref()
        z = latents.to(ref.device, ref.dtype)
        f = self.config.downsample_factor
        out = torch.empty((z.shape[0], self.config.out_ch, z.shape[2] * f, z.shape[3] * f),
                          device=ref.device, dtype=ref.dtype)
        s = 0
        for n in _chunk_sizes(z.shape[0], chunk_size):
            out[s:s + n] = self._decode(z[s:s + n])
            s += n
        return out

    @torch.no_grad()
    def latents_to_video(self, latents: torch.Tensor, chunk_size: int | str | None = 4,
                         rounding: str = "round") -> torch.Tensor:
        """latents [T,4,h,w] -> torch.uint8 [T,8h,8w,3] on the CPU (converted chunk by chunk)."""
        self._check(latents, self.config.z_channels, "latents")
        frames, s = [], 0
        for n in _chunk_sizes(latents.shape[0], chunk_size):
            images = self.decode(latents[s:s + n], chunk_size=None)  # one clip
            frames.append(images_to_uint8(images, rounding).cpu())
            s += n
        if not frames:
            raise MoVQError("latents_to_video got zero frames")
        return torch.cat(frames)


def load_checked(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` after our own check, so a wrong file gives one clear
    message (missing / unexpected keys / shape mismatches, a few of each) naming the source."""
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor)
                                                 for v in state.values()):
        raise WeightsError(f"{source}: not a state_dict (a mapping of names to tensors)")
    problems = state_dict_problems(model, state)
    if problems:
        raise WeightsError(f"{source} does not fit {type(model).__name__}: {problems}")
    model.load_state_dict(state, strict=True, assign=True)


def build_movq(preset: str | MoVQConfig = "tiny", seed: int | None = 0,
               device: str | torch.device | None = None, **overrides) -> MoVQ:
    """A MoVQ with random weights (``random_weights = True``); ``device="meta"`` for counting."""
    cfg = _config(preset, overrides)
    if seed is not None:
        torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = MoVQ(cfg)
    model.random_weights = True
    return model.eval()


def _config(preset: str | MoVQConfig, overrides: dict) -> MoVQConfig:
    if isinstance(preset, MoVQConfig):
        cfg = preset
    elif preset in PRESETS:
        cfg = PRESETS[preset]
    else:
        raise MoVQError(f"unknown MoVQ preset {preset!r}; known: {', '.join(PRESETS)}")
    return replace(cfg, **overrides) if overrides else cfg


def load_movq(path=None, device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
              preset: str | MoVQConfig = "full") -> MoVQ:
    """The released Kandinsky Video 1.0 ``movq.pt`` (registry ``fusionframes_movq``), strict."""
    from ..weights import resolve

    file = resolve("fusionframes_movq", path)
    state = load_torch_file(file)
    with torch.device("meta"):
        model = MoVQ(_config(preset, {}))
    load_checked(model, state, str(file))
    model.random_weights = False
    return model.to(device=device, dtype=dtype).eval()
