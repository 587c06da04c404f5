"""Parameters and weight memory of a module (works on the meta device: counts, no storage).

Weight memory per dtype = parameters (+ buffers) x bytes per element of that dtype: what the
weights occupy once loaded in fp32, fp16 or bf16 (no optimizer state: inference). The
activation-memory estimate is measured during the FLOP count (flops.py, peak of live op outputs,
fp32 on meta; halve it for fp16/bf16 inference).
"""
from __future__ import annotations

import torch
from torch import nn

from ..fusionframes.unet import param_count

__all__ = ["DTYPES", "param_count", "buffer_count", "weight_bytes", "memory_summary"]

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def buffer_count(module: nn.Module) -> int:
    return sum(b.numel() for b in module.buffers() if b.is_floating_point())


def weight_bytes(module: nn.Module, dtype: torch.dtype) -> int:
    """Bytes of the floating-point parameters and buffers if held in ``dtype``."""
    size = torch.empty((), dtype=dtype).element_size()
    return (param_count(module) + buffer_count(module)) * size


def memory_summary(module: nn.Module) -> dict:
    """{"params", "weights_bytes_fp32", "weights_bytes_fp16", "weights_bytes_bf16"}."""
    out = {"params": param_count(module)}
    for name, dt in DTYPES.items():
        out[f"weights_bytes_{name}"] = weight_bytes(module, dt)
    return out
