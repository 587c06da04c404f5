"""Which part of the plan this process does: torchrun / accelerate ranks, or `--shard i/K`.

Why no scheduler of our own (docs/DESIGN.md "Scale-out"): launchers already exist. Under `torchrun`
or `accelerate launch` the environment carries RANK / WORLD_SIZE / LOCAL_RANK; each rank takes
plan items rank::world, writes its per-sample files to the shared run directory, waits at a
barrier, and rank 0 evaluates. On a cluster array (SLURM) each task runs `--shard i/K`, needs no
communication at all, and one `--merge` afterwards evaluates. Because every per-sample output
depends only on (config, sample id), the final numbers are identical for every K.

The barrier uses a gloo process group even on GPUs: it carries no tensors, only the "done"
signal, and gloo needs no device binding.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["ShardInfo", "parse_shard", "detect_shard", "barrier", "finish"]

BARRIER_TIMEOUT = datetime.timedelta(hours=48)  # ranks may finish generation hours apart


@dataclass(frozen=True)
class ShardInfo:
    rank: int = 0
    world: int = 1
    launcher: str = "single"  # "single", "torchrun" (incl. accelerate), "shard"
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.launcher == "torchrun" and self.world > 1


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, k = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected i/K, e.g. 0/4") from None
    if k < 1 or not 0 <= i < k:
        raise ConfigError(f"--shard {text!r}: need 0 <= i < K")
    return i, k


def detect_shard(shard: str | None = None, env=None) -> ShardInfo:
    env = os.environ if env is None else env
    world = int(env.get("WORLD_SIZE", "1") or 1)
    if shard:
        if world > 1:
            raise ConfigError("--shard is for independent jobs (cluster arrays); under torchrun / "
                              "accelerate the ranks are taken from the launcher — drop --shard")
        i, k = parse_shard(shard)
        return ShardInfo(i, k, "shard")
    if world > 1:
        rank = int(env.get("RANK", "0"))
        if not 0 <= rank < world:
            raise ConfigError(f"RANK={rank} is outside WORLD_SIZE={world}")
        return ShardInfo(rank, world, "torchrun", int(env.get("LOCAL_RANK", "0") or 0))
    return ShardInfo()


def _init_group():
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo", timeout=BARRIER_TIMEOUT)
    return dist


def barrier(info: ShardInfo) -> None:
    """Wait for every rank (torchrun / accelerate only; a no-op otherwise)."""
    if info.distributed:
        _init_group().barrier()


def finish(info: ShardInfo) -> None:
    if info.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
