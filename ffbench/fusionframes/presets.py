"""Named UNet configurations (data, not code).

`*_full` are the released configurations (shared/reference/kandinsky_video.md §2, from
video_kandinsky3/__init__.py get_T2V_unet / get_interpolation_unet on branch
kandinsky_video_1_0): model 384, init 192, time 1536, context 4096, dim_mult 1,2,4,8,
3 blocks a level, cross/self attention (F,T,T,T), groups 32, head_dim 64, expansion 4,
compression 2; keyframe 4->4 channels, 15 frames, epsilon; interpolation 20->12 channels, v.
`kandinsky3_full` is the Kandinsky 3.0 text-to-image UNet (= keyframe full without temporal
parts), whose checkpoint initialises the spatial layers.

`*_tiny` are the same code with small widths, for tests and CPU demos (random weights only).

Any preset can take field overrides: get_config("keyframe_tiny", temporal="conv3d_attn1d_blocks").
"""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Union

from ..errors import ConfigError
from .unet import UNetConfig

__all__ = ["PRESETS", "get_config", "preset_names"]

_FULL = dict(model_channels=384, init_channels=192, time_embed_dim=1536, context_dim=4096, groups=32,
             head_dim=64, expansion_ratio=4, compression_ratio=2, dim_mult=(1, 2, 4, 8),
             num_blocks=(3, 3, 3, 3), add_cross_attention=(False, True, True, True),
             add_self_attention=(False, True, True, True))
_TINY = dict(_FULL, model_channels=16, init_channels=8, time_embed_dim=64, context_dim=32, groups=8,
             head_dim=16)
_KEYFRAME = dict(in_channels=4, out_channels=4, num_frames=15, temporal="conv1d_attn1d_blocks",
                 interpolation=False, prediction="epsilon")
_INTERP = dict(in_channels=20, out_channels=12, num_frames=None, temporal="none", interpolation=True,
               prediction="v")
_T2I = dict(_KEYFRAME, num_frames=None, temporal="none")

PRESETS: dict[str, UNetConfig] = {
    "keyframe_full": UNetConfig(**_FULL, **_KEYFRAME),
    "keyframe_tiny": UNetConfig(**_TINY, **_KEYFRAME),
    "interpolation_full": UNetConfig(**_FULL, **_INTERP),
    "interpolation_tiny": UNetConfig(**_TINY, **_INTERP),
    "kandinsky3_full": UNetConfig(**_FULL, **_T2I),
    "kandinsky3_tiny": UNetConfig(**_TINY, **_T2I),
}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def get_config(preset_or_config: Union[str, UNetConfig], **overrides) -> UNetConfig:
    """A preset by name (or a config as is), with field overrides; bad names -> ConfigError."""
    if isinstance(preset_or_config, UNetConfig):
        config = preset_or_config
    elif isinstance(preset_or_config, str):
        if preset_or_config not in PRESETS:
            raise ConfigError(f"unknown UNet preset {preset_or_config!r}; known: {', '.join(preset_names())}")
        config = PRESETS[preset_or_config]
    else:
        raise ConfigError(f"expected a preset name or UNetConfig, got {type(preset_or_config).__name__}")
    if overrides:
        known = {f.name for f in fields(UNetConfig)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"unknown UNetConfig field(s) {unknown}; known: {sorted(known)}")
        config = replace(config, **overrides)
    return config


# The smoke-test preset of `ffbench generate fusionframes --tiny` and of the registered model
# `fusionframes-tiny` (ffbench/resources/baselines/fusionframes-tiny.toml, checked equal by a
# test): the pipeline's random-weight "tiny" networks, 5 keyframes and one interpolation pass
# (5 -> 17 frames: the 16-frame FVD/IS protocols can score it), 64x64 (the tiny preset needs
# multiples of 16), 4 sampler steps. One video takes well under a second on one CPU core. The
# paper's settings (15 keyframes, 512x512, 50 steps) stay the defaults of the `fusionframes` model.
SMOKE_TEST: dict = {"keyframes": 5, "fps_mode": "medium", "height": 64, "width": 64, "steps": 4,
                    "dtype": "float32"}
