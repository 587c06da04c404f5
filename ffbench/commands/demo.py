"""`ffbench demo`: the main job on the embedded tiny default (what `tox -e demo` runs)."""
from __future__ import annotations

from pathlib import Path

from ._util import add_command


def _demo(args) -> int:
    import torch

    from .. import protocols, weights
    from ..video import video_info, write_video

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"ffbench demo -> {out.resolve()}")
    print(f"{len(protocols.PROTOCOLS)} protocols, {len(weights.REGISTRY)} known weight files")
    t = torch.arange(16).view(16, 1, 1, 1)
    y = torch.arange(64).view(1, 64, 1, 1)
    x = torch.arange(64).view(1, 1, 64, 1)
    channels = torch.broadcast_tensors((x * 4 + t * 8) % 256, (y * 4) % 256 + 0 * t, (x + y + t) % 256)
    video = torch.cat(channels, -1).to(torch.uint8)
    path = write_video(out / "synthetic.mp4", video, fps=8)
    print(video_info(path))
    return 0


def register(subparsers) -> None:
    p = add_command(subparsers, "demo", "run the main job on the embedded tiny default", _demo)
    p.add_argument("--out", default="demo_out", help="output directory (default: demo_out)")
