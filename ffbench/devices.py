"""The one default-device rule: CUDA when available, else CPU.

Why one place: code stays device-agnostic (docs/DESIGN.md), and every room (generators,
extractors, FusionFrames, verify, the reconstruction harness) must pick the same device when the
user names none. A multi-rank run picks `cuda:<LOCAL_RANK>` in `harness.features.device`.
"""
from __future__ import annotations

__all__ = ["resolve_device"]


def resolve_device(device=None):
    """`device` (str or torch.device) as a torch.device; None -> CUDA when available, else CPU."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
