"""FLOPs of one call, with a per-module breakdown and a peak-activation estimate.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` (2 FLOPs per multiply-add; only
matmul/conv/attention-like ops are counted, element-wise ops are not, as usual). It works on the
meta device, where tensors have shapes but no storage: a 4-billion-parameter UNet is "run" without
memory, in seconds (the time is Python dispatch, independent of tensor sizes).

Attention: ``F.scaled_dot_product_attention`` on meta decomposes into two bmm's (counted); on the
CPU with a mask it dispatches to ``_scaled_dot_product_flash_attention_for_cpu``, which PyTorch's
counter does not know (it reports 0). We register the standard formula for that op:
4·B·H·Lq·Lk·d (q·kᵀ and attn·v, 2 FLOPs per multiply-add), the same as PyTorch's formula for the
CUDA flash/efficient kernels (tests/profiling/test_flops.py checks all three paths).

Activation memory: a dispatch mode records the bytes of every tensor an op creates (views and
in-place results excluded) and subtracts them when the Python tensor is freed; the peak of that
live total is the estimate. Weights and inputs are not included. Caveat: a view that outlives its
base keeps memory the estimate already released, and the allocator's caching/fragmentation is not
modelled; inference (no_grad) only.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, register_flop_formula

__all__ = ["FlopProfile", "count_flops", "sdpa_flops", "top_modules"]

_aten = torch.ops.aten


def sdpa_flops(batch: int, heads: int, q_len: int, kv_len: int, head_dim: int, v_dim: int | None = None) -> int:
    """Analytic FLOPs of softmax(q kᵀ) v: 2·B·H·Lq·Lk·d + 2·B·H·Lq·Lk·dv."""
    v_dim = head_dim if v_dim is None else v_dim
    return 2 * batch * heads * q_len * kv_len * (head_dim + v_dim)


def _register_cpu_flash() -> None:
    op = getattr(_aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if op is None:
        return
    from torch.utils.flop_counter import flop_registry

    if op in flop_registry or op.default in flop_registry:
        return

    @register_flop_formula(op)
    def _cpu_flash(query_shape, key_shape, value_shape, *args, **kwargs) -> int:
        b, h, lq, d = query_shape
        lk, dv = key_shape[-2], value_shape[-1]
        return sdpa_flops(b, h, lq, lk, d, dv)


_register_cpu_flash()


class _LiveBytes(TorchDispatchMode):
    """Peak bytes of tensors created by ops and still referenced (see module docstring)."""

    def __init__(self):
        super().__init__()
        self.live = 0
        self.peak = 0

    def _release(self, n: int) -> None:
        self.live -= n

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if getattr(func, "is_view", False) or func._schema.is_mutable:
            return out
        ins = {id(a) for a in args if isinstance(a, torch.Tensor)}
        for t in (out if isinstance(out, (tuple, list)) else (out,)):
            if isinstance(t, torch.Tensor) and id(t) not in ins:
                n = t.numel() * t.element_size()
                self.live += n
                self.peak = max(self.peak, self.live)
                weakref.finalize(t, self._release, n)
        return out


@dataclass
class FlopProfile:
    """FLOPs of one call. ``by_module``: module path -> FLOPs (paths from FlopCounterMode)."""

    flops: int
    by_module: dict[str, int] = field(default_factory=dict)
    activation_bytes: int = 0

    def top(self, n: int = 5, depth: int = 3) -> list[tuple[str, int]]:
        return top_modules(self.by_module, n, depth)

    def scaled(self, factor: int) -> "FlopProfile":
        """The profile of ``factor`` independent copies of the call (batch-linear models)."""
        return FlopProfile(self.flops * factor, {k: v * factor for k, v in self.by_module.items()},
                           self.activation_bytes * factor)


def top_modules(by_module: dict[str, int], n: int = 5, depth: int = 3) -> list[tuple[str, int]]:
    """The ``n`` largest modules among those ``depth`` path components deep (root = 1); deeper
    when that level has fewer than two modules (e.g. a ModuleList that is never called itself)."""
    rows: list[tuple[str, int]] = []
    for d in range(depth, depth + 4):
        rows = [(k, v) for k, v in by_module.items() if k != "Global" and k.count(".") == d - 1]
        if len(rows) >= 2:
            break
    return sorted(rows, key=lambda kv: -kv[1])[:n]


def count_flops(fn: Callable[[], object], depth: int = 3, activations: bool = True) -> FlopProfile:
    """Run ``fn()`` under no_grad with the FLOP counter (and the live-bytes tracker)."""
    counter = FlopCounterMode(display=False, depth=depth)
    live = _LiveBytes() if activations else None
    with torch.no_grad(), counter:
        if live is not None:
            with live:
                out = fn()
        else:
            out = fn()
        del out
    by_module = {k: int(sum(v.values())) for k, v in counter.get_flop_counts().items()}
    return FlopProfile(int(counter.get_total_flops()), by_module, live.peak if live else 0)
