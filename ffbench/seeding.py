"""One rule for every derived seed.

A seed derived from (run seed, key) — a sample id, a video path, a sampling stage — makes
results independent of batch size, order, worker count and sharding (docs/DESIGN.md,
"Determinism"). sha256 makes it identical on every machine and Python run (unlike `hash()`),
and 63 bits fit `torch.Generator.manual_seed`, numpy and `random.Random` alike.
"""
from __future__ import annotations

import hashlib

__all__ = ["derive_seed"]


def derive_seed(seed: int, key: str) -> int:
    """sha256 of '<seed>:<key>', first 8 bytes big-endian, top bit cleared (63 bits)."""
    digest = hashlib.sha256(f"{int(seed)}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)
