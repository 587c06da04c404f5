"""Cost of every FusionFrames stage (and of masked-frame interpolation) for one configuration.

``profile_point(Point(...), stages)`` -> list of row dicts (one per stage/pass/variant), each with
FLOPs per call and per video, calls, parameters, weight bytes per dtype, an activation estimate
and the top modules by FLOPs. Models are built on ``Point.device`` ("meta" by default: no memory,
any size; "cpu"/"cuda" run real random-weight tensors, the FLOPs are the same).

What one video costs (the release's procedure: fusionframes/{keyframes,interpolation}.py):
- text_encoder: one encoder call on 128 tokens (the unconditional context is the null embedding,
  no second call). Full = Flan-UL2's T5 encoder built on meta from its config (values below).
- keyframes: ``steps`` UNet calls on the T keyframes; guidance doubles the batch (2T rows).
- interpolation, per pass k: G = T_k - 1 keyframe pairs, one UNet row each (20 -> 12 channels);
  guidance (w = 0.25, with vs without keyframes) doubles the batch; ``steps`` calls per pass.
- mfi, per pass: the same output (T_k -> 4 T_k - 3) as T_k - 1 windows of 5 UNet rows each
  (fusionframes/mfi.py), guidance doubling the batch; ``steps`` calls per pass.
- decoder: MoVQ decode of all output frames in clips of 4 frames (the pipeline's chunk size).
- pipeline: text + keyframes + passes + decoder, with FusionFrames interpolation ("fusionframes")
  or with MFI ("mfi").

Every model here is linear in its batch of independent units (a video for the keyframe UNet, a
keyframe pair for interpolation - its temporal convolution costs the same per group -, a window
for MFI, a 4-frame clip for the decoder), so each distinct unit is profiled once and scaled;
tests/profiling/test_stages.py checks the linearity against a real batch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import torch
from torch import nn

from ..errors import ConfigError
from . import DECODER_VARIANTS, STAGES
from .flops import FlopProfile, count_flops
from .memory import memory_summary

__all__ = ["STAGES", "DECODER_VARIANTS", "FLAN_UL2_CONFIG", "Point", "profile_point", "clear_cache"]

# google/flan-ul2 config.json (https://huggingface.co/google/flan-ul2; the same values in the UL2
# config and in kandinsky-community/kandinsky-3/text_encoder/config.json): T5 encoder part only.
FLAN_UL2_CONFIG = dict(vocab_size=32128, d_model=4096, d_kv=256, d_ff=16384, num_layers=32, num_heads=16,
                       relative_attention_num_buckets=32, relative_attention_max_distance=128,
                       feed_forward_proj="gated-silu", dropout_rate=0.1, layer_norm_epsilon=1e-6,
                       pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
TOKENS = 128
DECODE_CHUNK = 4
TOP_N = 5


@dataclass(frozen=True)
class Point:
    """One configuration: preset (full|tiny), output size in pixels, keyframes, fps mode, ..."""

    preset: str = "full"
    height: int = 512
    width: int = 512
    keyframes: int = 15
    fps: str = "high"
    steps: int = 50
    guidance: bool = True
    decoder: str = "image"
    device: str = "meta"

    def __post_init__(self):
        from ..fusionframes.modes import FPS_MODES

        if self.preset not in ("full", "tiny"):
            raise ConfigError(f"preset must be 'full' or 'tiny', got {self.preset!r}")
        if self.fps not in FPS_MODES:
            raise ConfigError(f"unknown fps mode {self.fps!r}; choose one of {', '.join(FPS_MODES)}")
        if self.decoder not in DECODER_VARIANTS:
            raise ConfigError(f"unknown decoder {self.decoder!r}; choose one of {', '.join(DECODER_VARIANTS)}")
        from ..fusionframes.pipeline import size_multiple

        m = size_multiple(self.preset)
        if self.height % m or self.width % m or self.height <= 0 or self.width <= 0:
            raise ConfigError(f"height/width must be positive multiples of {m} (the {self.preset} "
                              f"pipeline's MoVQ factor x UNet downscale), got {self.height}x{self.width}")
        if self.keyframes < 2:
            raise ConfigError(f"keyframes must be >= 2, got {self.keyframes}")
        if self.steps < 1:
            raise ConfigError(f"steps must be >= 1, got {self.steps}")

    @property
    def latent(self) -> tuple[int, int]:
        from ..fusionframes.pipeline import component_config

        f = component_config(self.preset, "movq").downsample_factor
        return self.height // f, self.width // f


# ------------------------------------------------------------------ models (cached per process)

@lru_cache(maxsize=None)
def _text_encoder(preset: str, device: str) -> nn.Module:
    from transformers import T5Config, T5EncoderModel

    if preset == "full":
        cfg, ctx_dim = T5Config(**FLAN_UL2_CONFIG, use_cache=False), 4096
    else:
        from ..fusionframes.text import TextEncoder

        cfg, ctx_dim = TextEncoder.tiny(0).encoder.config, 32
    with torch.device(device):
        torch.manual_seed(0)
        enc = T5EncoderModel(cfg).eval()
        proj = nn.Sequential(nn.Linear(cfg.d_model, ctx_dim, bias=False), nn.LayerNorm(ctx_dim))
    return nn.ModuleDict({"encoder": enc, "projection": proj})


@lru_cache(maxsize=None)
def _unet(kind: str, preset: str, device: str, num_frames: int | None = None) -> nn.Module:
    from ..fusionframes.pipeline import component_config
    from ..fusionframes.unet import build_unet

    # the pipeline's own configs (component_config); seeded CPU init for reproducible CPU runs;
    # on meta/CUDA build in place (a 4 B-parameter init on the CPU would take minutes)
    seed = 0 if device == "cpu" else None
    part = {"mfi": "mfi", "keyframes": "keyframe"}.get(kind, "interpolation")
    extra = {"num_frames": num_frames} if kind == "keyframes" else {}
    return build_unet(component_config(preset, part), device=device, seed=seed, **extra).eval()


@lru_cache(maxsize=None)
def _decoder(variant: str, preset: str, device: str) -> nn.Module:
    from ..fusionframes.movq import Decoder
    from ..fusionframes.movq_video import VideoDecoder, VideoDecoderConfig
    from ..fusionframes.pipeline import component_config

    cfg = component_config(preset, "movq")
    with torch.device(device):
        torch.manual_seed(0)
        dec = Decoder(cfg) if variant == "image" else VideoDecoder(cfg, VideoDecoderConfig(variant))
        post = nn.Conv2d(cfg.z_channels, cfg.z_channels, 1)
    return nn.ModuleDict({"post_quant_conv": post, "decoder": dec}).eval()


def clear_cache() -> None:
    for f in (_text_encoder, _unet, _decoder, _unit_profile):
        f.cache_clear()


def _tensor(shape, device, dtype=torch.float32):
    return torch.empty(shape, device=device, dtype=dtype) if device == "meta" else \
        torch.randn(shape, device=device, dtype=dtype)


# ------------------------------------------------------------------ one unit = one FLOP count

@lru_cache(maxsize=None)
def _unit_profile(kind: str, preset: str, device: str, h: int, w: int, n: int = 1, extra: int = 0) -> FlopProfile:
    """FLOPs of one unit call (see module docstring); n = rows (frames/groups/windows) in the unit."""
    if kind == "text_encoder":
        m = _text_encoder(preset, device)
        ids = torch.ones(1, TOKENS, dtype=torch.long, device=device)
        return count_flops(lambda: m["projection"](m["encoder"](input_ids=ids).last_hidden_state))
    if kind in ("keyframes", "interpolation", "mfi"):
        m = _unet(kind, preset, device, n if kind == "keyframes" else None)
        c = m.config
        rows = n * (5 if kind == "mfi" else 1)
        x = _tensor((rows, c.in_channels, h, w), device)
        t = torch.zeros(rows, device=device)
        L = TOKENS if kind == "keyframes" else 2  # interpolation/MFI: [null embedding, 0]
        ctx = _tensor((rows, L, c.context_dim), device)
        mask = torch.ones(rows, L, dtype=torch.bool, device=device)
        if kind == "keyframes":
            return count_flops(lambda: m(x, t, ctx, mask, num_frames=n))
        if kind == "mfi":
            return count_flops(lambda: m(x, t, ctx, mask, num_frames=5))
        return count_flops(lambda: m(x, t, ctx, mask, num_temporal_groups=n, skip_frames=extra or 1,
                                     perturbation_time=0))
    if kind.startswith("decoder:"):
        m = _decoder(kind.split(":", 1)[1], preset, device)
        z = _tensor((n, 4, h, w), device)
        if kind == "decoder:image":
            return count_flops(lambda: m["decoder"](m["post_quant_conv"](z), z))
        return count_flops(lambda: m["decoder"](m["post_quant_conv"](z), z, n))
    raise ValueError(kind)


# ------------------------------------------------------------------ rows

def _row(p: Point, stage: str, variant: str, model: nn.Module, unit: FlopProfile, per_call: int,
         calls: int, frames_in: int, frames_out: int, batch: int, pass_: int | None = None) -> dict:
    prof = unit.scaled(per_call)
    row = {"stage": stage, "variant": variant, "pass": pass_, **asdict(p), "frames_in": frames_in,
           "frames_out": frames_out, "batch": batch, "calls": calls, "flops_per_call": prof.flops,
           "flops": prof.flops * calls, **memory_summary(model),
           "activation_bytes": prof.activation_bytes,
           "top_modules": [[k, v * calls] for k, v in prof.top(TOP_N)]}
    return row


def _passes(p: Point) -> list[tuple[int, int, int]]:
    """(pass number, frames in, skip_frames) of each interpolation pass of the fps mode."""
    from ..fusionframes.interpolation import SKIP_FRAMES, passes_for

    out, t = [], p.keyframes
    for k in range(passes_for(p.fps)):
        out.append((k + 1, t, SKIP_FRAMES[k]))
        t = 4 * t - 3
    return out


def _text_rows(p: Point) -> list[dict]:
    u = _unit_profile("text_encoder", p.preset, p.device, 0, 0)
    name = "flan-ul2-encoder" if p.preset == "full" else "tiny-t5-encoder"
    return [_row(p, "text_encoder", name, _text_encoder(p.preset, p.device), u, 1, 1, 0, 0, 1)]


def _keyframe_rows(p: Point) -> list[dict]:
    h, w = p.latent
    u = _unit_profile("keyframes", p.preset, p.device, h, w, p.keyframes)
    g = 2 if p.guidance else 1
    model = _unet("keyframes", p.preset, p.device, p.keyframes)
    return [_row(p, "keyframes", "conv1d_attn1d_blocks", model, u, g, p.steps, 0, p.keyframes,
                 g * p.keyframes)]


def _interp_rows(p: Point, kind: str) -> list[dict]:
    h, w = p.latent
    g = 2 if p.guidance else 1
    rows = []
    for k, t, _skip in _passes(p):
        if kind == "interpolation":  # skip_frames is an embedding lookup: same FLOPs for 3 and 1
            u = _unit_profile("interpolation", p.preset, p.device, h, w, 1)
            batch = g * (t - 1)
        else:
            u = _unit_profile("mfi", p.preset, p.device, h, w, 1)
            batch = g * (t - 1) * 5
        variant = "fusionframes" if kind == "interpolation" else "masked_frame"
        rows.append(_row(p, kind, variant, _unet(kind, p.preset, p.device), u, g * (t - 1), p.steps,
                         t, 4 * t - 3, batch, k))
    return rows


def _decoder_rows(p: Point, variants=None, exact_tail: bool = False) -> list[dict]:
    """Decoding N frames = N // 4 clips of 4 + one shorter clip. The short clip is counted pro rata
    from the 4-frame clip (exact for every per-frame layer; the temporal attention over a short
    clip costs less than that, tests/profiling/test_stages.py bounds the difference), or exactly
    with ``exact_tail`` (one more FLOP count per variant)."""
    from ..fusionframes.interpolation import output_frames

    h, w = p.latent
    n = output_frames(p.keyframes, p.fps)
    rows = []
    for v in variants or (p.decoder,):
        full, rest = divmod(n, DECODE_CHUNK)
        clip = _unit_profile(f"decoder:{v}", p.preset, p.device, h, w, DECODE_CHUNK)
        if rest and exact_tail:
            r = _unit_profile(f"decoder:{v}", p.preset, p.device, h, w, rest)
        elif rest:
            r = FlopProfile(clip.flops * rest // DECODE_CHUNK,
                            {k: x * rest // DECODE_CHUNK for k, x in clip.by_module.items()},
                            clip.activation_bytes * rest // DECODE_CHUNK)
        else:
            r = FlopProfile(0)
        total = FlopProfile(clip.flops * full + r.flops,
                            {k: x * full + r.by_module.get(k, 0) for k, x in clip.by_module.items()},
                            clip.activation_bytes)  # one clip at a time
        calls = full + (1 if rest else 0)
        row = _row(p, "decoder", v, _decoder(v, p.preset, p.device), total, 1, 1, n, n, DECODE_CHUNK)
        row.update(calls=calls, flops_per_call=total.flops // calls)
        rows.append(row)
    return rows


def _pipeline_rows(p: Point, parts: dict[str, list[dict]]) -> list[dict]:
    from ..fusionframes.interpolation import output_frames

    out = []
    base = {"text_encoder": parts["text_encoder"], "keyframes": parts["keyframes"],
            "decoder": [r for r in parts["decoder"] if r["variant"] == p.decoder]}
    for variant, interp in (("fusionframes", "interpolation"), ("mfi", "mfi")):
        stages = dict(base, **{interp: parts[interp]})
        per_stage = {k: sum(r["flops"] for r in v) for k, v in stages.items()}
        params = sum(v[0]["params"] for v in stages.values() if v)
        out.append({"stage": "pipeline", "variant": variant, "pass": None, **asdict(p), "frames_in": 0,
                    "frames_out": output_frames(p.keyframes, p.fps), "batch": None, "calls": None,
                    "flops_per_call": None, "flops": sum(per_stage.values()), "params": params,
                    **{f"weights_bytes_{d}": sum(v[0][f"weights_bytes_{d}"] for v in stages.values() if v)
                       for d in ("fp32", "fp16", "bf16")},
                    "activation_bytes": max((r["activation_bytes"] for v in stages.values() for r in v),
                                            default=0),
                    "top_modules": [], **{f"flops_{k}": v for k, v in per_stage.items()}})
    return out


def profile_point(p: Point, stages=STAGES, decoder_variants=None) -> list[dict]:
    """Rows for the requested stages at one configuration (see module docstring)."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}; known: {', '.join(STAGES)}")
    need = set(stages)
    if "pipeline" in need:
        need |= {"text_encoder", "keyframes", "interpolation", "mfi", "decoder"}
    variants = tuple(decoder_variants or ((p.decoder,) if "decoder" not in stages else DECODER_VARIANTS))
    if "pipeline" in need and p.decoder not in variants:
        variants = variants + (p.decoder,)
    parts: dict[str, list[dict]] = {}
    if "text_encoder" in need:
        parts["text_encoder"] = _text_rows(p)
    if "keyframes" in need:
        parts["keyframes"] = _keyframe_rows(p)
    for kind in ("interpolation", "mfi"):
        if kind in need:
            parts[kind] = _interp_rows(p, kind)
    if "decoder" in need:
        parts["decoder"] = _decoder_rows(p, variants)
    rows = [r for s in STAGES if s in stages and s != "pipeline" for r in parts.get(s, [])]
    if "pipeline" in stages:
        rows += _pipeline_rows(p, parts)
    return rows
