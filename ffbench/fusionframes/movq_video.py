"""Video MoVQ decoders of paper Table 3 (FusionFrames, arXiv 2311.13073).

Each variant is the image decoder of ``movq.py`` plus temporal layers; the spatial keys are
unchanged. Layout and key names follow Kandinsky Video 1.1's ``MOVQDecoder``
(github ai-forever/KandinskyVideo, main branch, ``kandinsky_video/movq.py``), which implements all
of these variants behind flags; our code is our own.

==================  ==========================================================================
variant             temporal layers (keys)
==================  ==========================================================================
image               none (161M)
conv3x1x1           every decoder ResnetBlock (mid + up): after conv1 and after conv2 a
                    Conv3d (3,1,1) ``temporal_projection{1,2}`` blended by a scalar
                    ``temporal_merge{1,2}``: h = (1-m) h + m conv(h)            (203M)
conv3x3x3           same with (3,3,3) kernels                                  (539M)
conv3x1x1_attn      conv3x1x1 + ``TemporalAttnBlock`` (attention over frames at each pixel)
                    beside every spatial attention (``mid.temporal_attn_1``,
                    ``up.<l>.temporal_attn.<i>``)                               (220M)
conv3x3x3_attn      conv3x3x3 + the same temporal attention                    (556M) — the
                    released Kandinsky Video 1.1 ``video_movq.pt`` layout
resnet_attn         separate ``TemporalResnetBlock`` (norm, SiLU, Conv3d (3,1,1), twice) after
                    every ResnetBlock (``mid.temporal_block_{1,2}``, ``up.<l>.temporal_block.<i>``)
                    + temporal attention                                        (220M)
conv2d_to_3d        conv1/conv2 of every decoder ResnetBlock become 3x3x3 Conv3d (same keys,
                    5-D weights); shortcuts, up-sampling and in/out convs stay 2-D (419M)
==================  ==========================================================================

All seven full-size counts land on Table 3's #Params (see ``TABLE3_PARAMS_M`` and the tests);
e.g. conv3x3x3_attn = 556,645,919 (+2,048 if a checkpoint carries the optional flicker
projection of 1.1, which we detect and support).

"Temporal" vs "Decoder" finetuning in Table 3 is a training choice, not an architecture: the
first trains only ``temporal_parameter_names()``, the second the whole decoder (encoder frozen).

New temporal parameters start at zero (merges, projections, attention ``proj_out``, the last
conv of a TemporalResnetBlock; for conv2d_to_3d the weights are the 2-D kernel in the centre
temporal slice and zeros around it), so a fresh video decoder with the image decoder's weights
(``VideoMoVQ.load_image_weights``) reproduces the image decoder. The 1.1 release zero-inits only
merges/projections; its trained checkpoints load unaffected.

Release details kept for checkpoint fidelity: ``TemporalAttnBlock`` owns SpatialNorm
``conv_y``/``conv_b`` but the release calls it without ``zq`` (plain GroupNorm) - so do we.
In 1.1 the spatial attention norms of the *video* decoder, through a per-frame loop, use the
latent of the first frame of each decode call for every frame; ``release_attn_quirk=True``
reproduces that (``load_video_movq`` turns it on), otherwise each frame uses its own latent.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..weights import load_torch_file, state_dict_problems
from .movq import (PRESETS, Decoder, MoVQ, MoVQConfig, MoVQError, ResnetBlock, SpatialNorm,
                   _act, _chunk_sizes, _config, load_checked)
from .unet import param_count

__all__ = ["VARIANTS", "TABLE3_PARAMS_M", "VideoDecoderConfig", "VideoDecoder", "VideoMoVQ",
           "build_video_movq", "load_video_movq", "TemporalAttnBlock", "TemporalResnetBlock",
           "infer_video_config", "decoder_param_counts"]

# variant -> (temporal kernel in ResnetBlocks, temporal attention, TemporalResnetBlocks, 3-D convs)
VARIANTS: dict[str, tuple[tuple[int, int, int] | None, bool, bool, bool]] = {
    "image": (None, False, False, False),
    "conv3x1x1": ((3, 1, 1), False, False, False),
    "conv3x3x3": ((3, 3, 3), False, False, False),
    "conv3x1x1_attn": ((3, 1, 1), True, False, False),
    "conv3x3x3_attn": ((3, 3, 3), True, False, False),
    "resnet_attn": (None, True, True, False),
    "conv2d_to_3d": (None, False, False, True),
}

# paper.md Table 3 "#Params" (decoder only, millions, rounded by the paper)
TABLE3_PARAMS_M = {"image": 161, "conv3x1x1": 203, "conv3x3x3": 539, "conv3x1x1_attn": 220,
                   "conv3x3x3_attn": 556, "resnet_attn": 220, "conv2d_to_3d": 419}


@dataclass(frozen=True)
class VideoDecoderConfig:
    variant: str = "conv3x3x3_attn"
    temporal_mid_blocks: bool = True  # temporal projections in the two mid ResnetBlocks too
    flicker_augmentation: bool = False  # 1.1's optional Linear(1, C) in mid.block_1
    release_attn_quirk: bool = False

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise MoVQError(f"unknown video decoder variant {self.variant!r}; "
                            f"known: {', '.join(VARIANTS)}")


def _to_3d(h: torch.Tensor, t: int) -> torch.Tensor:  # [(B T),C,H,W] -> [B,C,T,H,W]
    return h.unflatten(0, (-1, t)).transpose(1, 2)


def _to_2d(h: torch.Tensor) -> torch.Tensor:  # [B,C,T,H,W] -> [(B T),C,H,W]
    return h.transpose(1, 2).flatten(0, 1)


def _conv3d(c_in, c_out, kernel) -> nn.Conv3d:
    return nn.Conv3d(c_in, c_out, kernel, padding=tuple(k // 2 for k in kernel))


class VideoResnetBlock(ResnetBlock):
    """ResnetBlock with optional temporal projections (1.1 ``temporal=True``) or 3-D convs."""

    def __init__(self, in_ch, out_ch, zq_ch, dropout, groups, kernel=None, conv3d=False,
                 flicker=False):
        super().__init__(in_ch, out_ch, zq_ch, dropout, groups)
        self.conv3d = conv3d
        if conv3d:
            self.conv1 = _conv3d(in_ch, out_ch, (3, 3, 3))
            self.conv2 = _conv3d(out_ch, out_ch, (3, 3, 3))
        self.temporal = kernel is not None
        if self.temporal:
            self.temporal_merge1 = nn.Parameter(torch.zeros(1))
            self.temporal_projection1 = _conv3d(out_ch, out_ch, kernel)
            self.temporal_merge2 = nn.Parameter(torch.zeros(1))
            self.temporal_projection2 = _conv3d(out_ch, out_ch, kernel)
            for conv in (self.temporal_projection1, self.temporal_projection2):
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)
            if flicker:
                self.temporal_flicker_proj = nn.Linear(1, out_ch)

    def _conv(self, conv, h, t):
        return _to_2d(conv(_to_3d(h, t))) if self.conv3d else conv(h)

    def _mix(self, h, idx, t, aug_emb):
        out = h
        if aug_emb is not None and hasattr(self, "temporal_flicker_proj"):
            out = out + self.temporal_flicker_proj(aug_emb).flatten(0, 1)[..., None, None]
        out = _to_2d(getattr(self, f"temporal_projection{idx}")(_to_3d(out, t)))
        m = getattr(self, f"temporal_merge{idx}")
        return (1 - m) * h + m * out

    def forward(self, x, zq=None, num_frames=1, aug_emb=None):
        h = self._conv(self.conv1, _act(self.norm1(x, zq)), num_frames)
        if self.temporal:
            h = self._mix(h, 1, num_frames, aug_emb)
        h = self._conv(self.conv2, self.dropout(_act(self.norm2(h, zq))), num_frames)
        if self.temporal:
            h = self._mix(h, 2, num_frames, aug_emb)
        return self.shortcut(x) + h


class TemporalResnetBlock(nn.Module):
    """Separate temporal block: (SpatialNorm, SiLU, Conv3d (3,1,1)) x 2, residual; conv2 zero."""

    def __init__(self, ch, zq_ch, dropout, groups):
        super().__init__()
        self.norm1 = SpatialNorm(ch, zq_ch, groups)
        self.conv1 = _conv3d(ch, ch, (3, 1, 1))
        self.norm2 = SpatialNorm(ch, zq_ch, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = _conv3d(ch, ch, (3, 1, 1))
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x, zq, t):
        h = _to_2d(self.conv1(_to_3d(_act(self.norm1(x, zq)), t)))
        h = _to_2d(self.conv2(_to_3d(self.dropout(_act(self.norm2(h, zq))), t)))
        return x + h


class TemporalAttnBlock(nn.Module):
    """Single-head attention over the frames at each pixel; norm without zq (as released)."""

    def __init__(self, ch, zq_ch, groups):
        super().__init__()
        self.norm = SpatialNorm(ch, zq_ch, groups)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(ch, ch, 1) for _ in range(4))
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(self, x, t):
        h = self.norm(x)
        bt, c, hh, ww = h.shape

        def seq(m):  # [(B T),C,H,W] -> [(B H W),T,C]
            return m(h).unflatten(0, (-1, t)).permute(0, 3, 4, 1, 2).reshape(-1, t, c)
        a = F.scaled_dot_product_attention(seq(self.q), seq(self.k), seq(self.v))
        a = a.reshape(-1, hh, ww, t, c).permute(0, 3, 4, 1, 2).reshape(bt, c, hh, ww)
        return x + self.proj_out(a)


class VideoDecoder(Decoder):
    def __init__(self, cfg: MoVQConfig, vcfg: VideoDecoderConfig):
        kernel, attn, tblocks, conv3d = VARIANTS[vcfg.variant]
        g, zq = cfg.norm_groups, cfg.zq_ch
        first_mid = [True]

        def resblock(i, o, where):
            flick = where == "mid" and first_mid[0] and vcfg.flicker_augmentation
            if where == "mid":
                first_mid[0] = False
            k = kernel if (where == "up" or vcfg.temporal_mid_blocks) else None
            return VideoResnetBlock(i, o, zq, cfg.dropout, g, k, conv3d, flick and k is not None)

        super().__init__(cfg, resblock)
        self.vconfig, self.has_tattn, self.has_tblocks = vcfg, attn, tblocks
        c_mid = cfg.ch * cfg.ch_mult[-1]
        if attn:
            self.mid.temporal_attn_1 = TemporalAttnBlock(c_mid, zq, g)
        if tblocks:
            self.mid.temporal_block_1 = TemporalResnetBlock(c_mid, zq, cfg.dropout, g)
            self.mid.temporal_block_2 = TemporalResnetBlock(c_mid, zq, cfg.dropout, g)
        for lev, level in enumerate(self.up):
            c = cfg.ch * cfg.ch_mult[lev]
            level.temporal_attn = nn.ModuleList(
                TemporalAttnBlock(c, zq, g) for _ in (level.attn if attn else ()))
            level.temporal_block = nn.ModuleList(
                TemporalResnetBlock(c, zq, cfg.dropout, g)
                for _ in (level.block if tblocks else ()))

    def forward(self, z, zq, num_frames=1, aug_emb=None):
        t = num_frames
        zq_attn = zq
        if self.vconfig.release_attn_quirk:
            zq_attn = zq.unflatten(0, (-1, t))[:, :1].expand(-1, t, -1, -1, -1).flatten(0, 1)
        h = self.conv_in(z)
        h = self.mid.block_1(h, zq, t, aug_emb)
        h = self.mid.attn_1(h, zq_attn)
        if self.has_tattn:
            h = self.mid.temporal_attn_1(h, t)
        if self.has_tblocks:
            h = self.mid.temporal_block_1(h, zq, t)
        h = self.mid.block_2(h, zq, t)
        if self.has_tblocks:
            h = self.mid.temporal_block_2(h, zq, t)
        for lev in reversed(range(len(self.up))):
            level = self.up[lev]
            for i, block in enumerate(level.block):
                h = block(h, zq, t)
                if self.has_tblocks:
                    h = level.temporal_block[i](h, zq, t)
                if len(level.attn):
                    h = level.attn[i](h, zq_attn)
                    if self.has_tattn:
                        h = level.temporal_attn[i](h, t)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(_act(self.norm_out(h, zq)))


class VideoMoVQ(MoVQ):
    """MoVQ whose decoder is a Table 3 video decoder; keys equal 1.1's ``video_movq.pt``."""

    def __init__(self, cfg: MoVQConfig = PRESETS["full"], vcfg: VideoDecoderConfig | None = None):
        vcfg = vcfg or VideoDecoderConfig()
        super().__init__(cfg, VideoDecoder(cfg, vcfg))
        self.vconfig = vcfg

    def _decode(self, z, num_frames=None):
        return self.decoder(self.post_quant_conv(z), z, num_frames or z.shape[0])

    @torch.no_grad()
    def decode(self, latents, num_frames: int | None = None, chunk_size: int | str | None = 4):
        """latents [B,T,4,h,w] or [B*T,4,h,w] (with ``num_frames``=T; None = one video) ->
        images in the same layout, [..,3,8h,8w]. Each video is cut into ``chunk_size``-frame
        clips along time; temporal layers see one clip at a time (the release decodes clips of
        ~4 frames), so memory does not grow with T."""
        five = isinstance(latents, torch.Tensor) and latents.ndim == 5
        self._check(latents, self.config.z_channels, "latents", (4, 5))
        if five:
            z = latents
        else:
            t = latents.shape[0] if num_frames is None else num_frames
            if t < 1 or latents.shape[0] % t:
                raise MoVQError(f"num_frames={num_frames} does not divide the "
                                f"{latents.shape[0]} latents")
            z = latents.unflatten(0, (-1, t))
        ref = self._ref()
        z = z.to(ref.device, ref.dtype)
        b, t, _, h, w = z.shape
        f = self.config.downsample_factor
        out = torch.empty((b, t, self.config.out_ch, h * f, w * f), device=ref.device,
                          dtype=ref.dtype)
        s = 0
        for n in _chunk_sizes(t, chunk_size):
            out[:, s:s + n] = self._decode(z[:, s:s + n].flatten(0, 1), n).unflatten(0, (b, n))
            s += n
        return out if five else out.flatten(0, 1)

    def temporal_parameter_names(self) -> list[str]:
        """Decoder parameters absent from (or shaped unlike) the image decoder: what Table 3's
        "Temporal" finetuning trains."""
        with torch.device("meta"):
            image = Decoder(self.config).state_dict()
        return ["decoder." + k for k, p in self.decoder.named_parameters()
                if k not in image or image[k].shape != p.shape]

    @torch.no_grad()
    def load_image_weights(self, image_state: dict) -> None:
        """Load an image MoVQ state_dict (e.g. 1.0 ``movq.pt``): spatial weights copied, 2-D
        kernels inflated into the centre slice of 3-D ones, temporal parameters untouched."""
        own = self.state_dict()
        with torch.device("meta"):
            problems = state_dict_problems(MoVQ(self.config), image_state)
        if problems:
            raise MoVQError(f"not an image MoVQ state_dict: {problems}")
        for k, v in image_state.items():
            dst = own[k]
            if dst.shape == v.shape:
                dst.copy_(v)
            elif dst.ndim == 5 and v.ndim == 4 and dst.shape[:2] + dst.shape[3:] == v.shape:
                dst.zero_()
                dst[:, :, dst.shape[2] // 2].copy_(v)
            else:
                raise MoVQError(f"{k}: image weight {tuple(v.shape)} does not fit "
                                f"{tuple(dst.shape)}")


def build_video_movq(variant: str = "conv3x3x3_attn", preset: str | MoVQConfig = "tiny",
                     seed: int | None = 0, device=None, **vopts) -> VideoMoVQ:
    """A video MoVQ with random spatial weights and zero temporal ones (``random_weights``)."""
    cfg = _config(preset, {})
    vcfg = VideoDecoderConfig(variant, **vopts)
    if seed is not None:
        torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = VideoMoVQ(cfg, vcfg)
    model.random_weights = True
    return model.eval()


def infer_video_config(keys, **opts) -> VideoDecoderConfig:
    """Which Table 3 variant a decoder state_dict holds (from its temporal key names/shapes)."""
    shapes = dict(keys)
    proj = [v for k, v in shapes.items() if k.endswith("temporal_projection1.weight")]
    attn = any(".temporal_attn" in k for k in shapes)
    tblocks = any(".temporal_block" in k for k in shapes)
    conv3d = len(shapes.get("decoder.up.0.block.0.conv1.weight", ())) == 5
    kernel = tuple(proj[0][2:]) if proj else None
    for name, spec in VARIANTS.items():
        if spec == (kernel, attn, tblocks, conv3d):
            mid = any(k.startswith("decoder.mid.block_1.temporal_projection") for k in shapes)
            flick = any(k.endswith("temporal_flicker_proj.weight") for k in shapes)
            return VideoDecoderConfig(name, temporal_mid_blocks=mid or kernel is None,
                                      flicker_augmentation=flick, **opts)
    raise MoVQError(f"state_dict matches no video decoder variant (temporal kernel {kernel}, "
                    f"temporal attention {attn}, temporal blocks {tblocks}, 3-D convs {conv3d})")


def load_video_movq(path=None, device="cpu", dtype=None, preset: str | MoVQConfig = "full",
                    release_attn_quirk: bool = True, name: str = "kandinsky_video_1_1_video_movq",
                    ) -> VideoMoVQ:
    """Kandinsky Video 1.1 ``video_movq.pt`` (3x3x3 conv + attention), strict. The variant and
    the optional mid/flicker layers are read from the file's keys, so other Table 3 checkpoints
    in the same layout load too."""
    from ..weights import resolve

    file = resolve(name, path)
    state = load_torch_file(file)
    if not hasattr(state, "items"):
        raise MoVQError(f"{file}: not a state_dict")
    vcfg = infer_video_config(((k, tuple(v.shape)) for k, v in state.items()),
                              release_attn_quirk=release_attn_quirk)
    with torch.device("meta"):
        model = VideoMoVQ(_config(preset, {}), vcfg)
    load_checked(model, state, str(file))
    model.random_weights = False
    return model.to(device=device, dtype=dtype).eval()


def decoder_param_counts(preset: str = "full") -> dict[str, int]:
    """Decoder parameter count of every variant, built on the meta device."""
    out = {}
    for v in VARIANTS:
        with torch.device("meta"):
            d = VideoDecoder(PRESETS[preset] if isinstance(preset, str) else preset,
                             VideoDecoderConfig(v))
        out[v] = param_count(d)
    return out

