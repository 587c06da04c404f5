"""Loading the official FusionFrames / Kandinsky 3.0 UNet files (shared/reference/kandinsky_video.md §4).

- keyframe file (`fusionframes_keyframe`, weights/kandinsky_video.pt): a torch pickle dict
  {'unet': state_dict, 'projections': state_dict of the text projection
  (t5.0.weight, t5.1.weight, t5.1.bias), 'null_embedding': [4096]}.
- interpolation file (`fusionframes_interpolation`, weights/kandinsky_video_interpolation.pt):
  {'unet': state_dict, 'null_embedding': [4096]}.
- Kandinsky 3.0 text-to-image file (`kandinsky3_unet`, weights/kandinsky3.pt):
  {'unet': state_dict, 'null_embedding': ...}; its keys are exactly the spatial keys of the
  keyframe UNet (same shapes), so it loads into any keyframe variant, strict over those keys.

Files are located and verified through ffbench.weights.resolve (never downloaded). The model is
built on the meta device and the loaded tensors are assigned (no second full-size copy).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import torch
from torch import Tensor

from .. import weights
from ..errors import FFBenchError
from .presets import get_config
from .unet import UNet, UNetConfig

__all__ = [
    "CheckpointError",
    "KeyframeCheckpoint",
    "InterpolationCheckpoint",
    "load_keyframe_unet",
    "load_interpolation_unet",
    "load_kandinsky3_spatial",
    "spatial_keys",
    "check_state_dict",
]


class CheckpointError(FFBenchError):
    """A checkpoint file does not have the layout or keys the model needs."""


@dataclass
class KeyframeCheckpoint:
    unet: UNet
    projections: dict[str, Tensor]
    null_embedding: Tensor
    path: Path


@dataclass
class InterpolationCheckpoint:
    unet: UNet
    null_embedding: Tensor
    path: Path


def _read(path: Path, required: tuple[str, ...]) -> dict:
    obj = weights.load_torch_file(path, CheckpointError)
    if not isinstance(obj, dict) or any(k not in obj for k in required):
        found = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f"{path}: expected a dict with keys {list(required)}, found {found}")
    return obj


def check_state_dict(model: torch.nn.Module, state: dict, source: str, allow_missing=frozenset()) -> None:
    """Raise CheckpointError naming missing / unexpected / mis-shaped keys (before loading)."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{source}: state_dict is a {type(state).__name__}, not a dict")
    problems = weights.state_dict_problems(model, state, allow_missing)
    if problems:
        raise CheckpointError(f"{source} does not match the UNet config: {problems}")


def _load_unet(config: UNetConfig, state: dict, source: str, device, dtype) -> UNet:
    with torch.device("meta"):
        model = UNet(config)
    check_state_dict(model, state, source)
    model.load_state_dict(state, strict=True, assign=True)
    model = model.to(device=device, dtype=dtype)
    model.random_weights = False
    return model.eval()


def load_keyframe_unet(path: Union[str, Path, None] = None, config: Union[str, UNetConfig] = "keyframe_full",
                       device="cpu", dtype: Optional[torch.dtype] = None,
                       verify_digest: bool = True) -> KeyframeCheckpoint:
    """The released keyframe UNet (+ text projections and null embedding), strict."""
    cfg = get_config(config)
    if cfg.interpolation:
        raise CheckpointError("load_keyframe_unet needs a keyframe config (interpolation=False)")
    p = weights.resolve("fusionframes_keyframe", path, verify_digest=verify_digest)
    obj = _read(p, ("unet", "projections", "null_embedding"))
    unet = _load_unet(cfg, obj["unet"], f"{p} ['unet']", device, dtype)
    null = obj["null_embedding"].to(device=device, dtype=dtype or obj["null_embedding"].dtype)
    return KeyframeCheckpoint(unet, dict(obj["projections"]), null, p)


def load_interpolation_unet(path: Union[str, Path, None] = None,
                            config: Union[str, UNetConfig] = "interpolation_full", device="cpu",
                            dtype: Optional[torch.dtype] = None,
                            verify_digest: bool = True) -> InterpolationCheckpoint:
    """The released interpolation UNet (+ null embedding), strict."""
    cfg = get_config(config)
    if not cfg.interpolation:
        raise CheckpointError("load_interpolation_unet needs an interpolation config (interpolation=True)")
    p = weights.resolve("fusionframes_interpolation", path, verify_digest=verify_digest)
    obj = _read(p, ("unet", "null_embedding"))
    unet = _load_unet(cfg, obj["unet"], f"{p} ['unet']", device, dtype)
    null = obj["null_embedding"].to(device=device, dtype=dtype or obj["null_embedding"].dtype)
    return InterpolationCheckpoint(unet, null, p)


def spatial_keys(config: UNetConfig) -> set[str]:
    """Keys of the text-to-image UNet with the same widths: what a Kandinsky 3.0 file holds."""
    from dataclasses import replace

    with torch.device("meta"):
        t2i = UNet(replace(config, temporal="none", interpolation=False))
    return set(t2i.state_dict())


def load_kandinsky3_spatial(model: UNet, path: Union[str, Path, None] = None,
                            verify_digest: bool = True) -> Tensor:
    """Initialise the spatial layers of a keyframe UNet from a Kandinsky 3.0 file (paper: the
    T2I UNet is frozen and only the temporal parts are trained). Strict over the spatial keys:
    every file key must exist with its shape and every spatial key must be in the file; the
    temporal parameters keep their (zero-)initialisation. Returns the file's null embedding.
    """
    if model.config.interpolation:
        raise CheckpointError(
            "Kandinsky 3.0 weights initialise keyframe UNets only: the interpolation UNet's in/out "
            "convolutions (20/12 channels) differ and their initialisation is a training choice")
    p = weights.resolve("kandinsky3_unet", path, verify_digest=verify_digest)
    obj = _read(p, ("unet",))
    state = obj["unet"]
    spatial = spatial_keys(model.config)
    temporal = set(model.state_dict()) - spatial
    check_state_dict(model, state, f"{p} ['unet']", allow_missing=temporal)
    result = model.load_state_dict(state, strict=False)
    assert not result.unexpected_keys and set(result.missing_keys) == temporal
    model.random_weights = bool(temporal)  # temporal parts stay untrained
    return obj.get("null_embedding")
