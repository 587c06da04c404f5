"""`ffbench evaluate clipsim`: CLIPSIM of a folder of videos against their prompts.

Prompts file: see `ffbench.data.prompts.PROMPTS_FILE_FORMATS` (.json, .jsonl, .csv, .txt/.tsv;
UTF-8 with or without BOM). Every video needs a prompt (else error, naming the videos); prompts
without a video are reported (a generation run may have failed on some) but do not stop the
evaluation.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from ._util import add_command, print_json, print_table


def _format_help() -> str:
    from ..data.prompts import PROMPTS_FILE_FORMATS

    return PROMPTS_FILE_FORMATS


def load_prompts_file(path) -> dict[str, str]:
    """{stem: prompt}; the one reader is `ffbench.data.prompts.read_prompts_file`."""
    from ..data.prompts import read_prompts_file

    return read_prompts_file(path)


def _protocol_name(args) -> str:
    from .. import protocols
    from ..errors import ConfigError

    if args.backbone is None:
        return args.protocol
    matches = [n for n in protocols.names("clipsim")
               if protocols.get(n).backbone == args.backbone and protocols.get(n).scale == 1.0]
    if not matches:
        known = sorted({protocols.get(n).backbone for n in protocols.names("clipsim")})
        raise ConfigError(f"--backbone {args.backbone!r} unknown; known: {', '.join(known)}")
    return matches[0]


def _run(args) -> int:
    import torch

    from ..errors import ConfigError, FFBenchError
    from ..metrics.clipsim import CLIPSIM
    from ..video import list_videos, read_video

    if args.protocol != "clipsim@vit-b-32" and args.backbone is not None:
        raise ConfigError("give --protocol or --backbone, not both")
    name = _protocol_name(args)
    prompts = load_prompts_file(args.prompts)
    files = list_videos(args.videos)
    if not files:
        why = "; ".join(f"{files.relative(p)}: {r}" for p, r in files.skipped[:10])
        raise FFBenchError(f"{args.videos}: no videos found" + (f" (skipped: {why})" if why else ""))
    by_stem: dict[str, Path] = {}
    for f in files:
        if f.stem in by_stem:
            raise FFBenchError(f"{args.videos}: two videos named {f.stem!r}: {by_stem[f.stem].name}, {f.name}")
        by_stem[f.stem] = f
    no_prompt = sorted(set(by_stem) - set(prompts))
    if no_prompt:
        raise FFBenchError(f"{args.prompts}: no prompt for video(s) {', '.join(no_prompt[:20])}"
                           + (f" and {len(no_prompt) - 20} more" if len(no_prompt) > 20 else ""))
    no_video = sorted(set(prompts) - set(by_stem))
    if no_video and not args.json:
        print(f"note: {len(no_video)} prompt(s) have no video: {', '.join(no_video[:10])}", file=sys.stderr)

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    metric = CLIPSIM(name, weights_path=args.weights, device=device,
                     random_weights=args.random_weights, seed=args.seed, batch_size=args.batch_size)
    rows = []
    for stem, f in by_stem.items():
        video = read_video(f)
        metric.update([video], [prompts[stem]])
        rows.append({"video": stem, "file": f.name, "frames": int(video.shape[0])})
    for row, s in zip(rows, metric.per_video_scores().tolist()):
        row["clipsim"] = s
    value = float(metric.compute())
    info = metric.describe()
    result = {**info, "value": value, "prompts_file": str(args.prompts),
              "prompts_without_video": no_video, "per_video": rows}
    if args.json:
        print_json(result)
        return 0
    if info["random_weights"]:
        print("WARNING: random weights (--random-weights): numbers are not CLIPSIM of any real model")
    print_table([{**r, "clipsim": f"{r['clipsim']:.4f}"} for r in rows], ["video", "frames", "clipsim"])
    print(f"\n{name} ({info['backbone']}, protocol {metric.protocol.short_hash}): "
          f"{value:.4f} over {info['num_videos']} videos, {info['num_frames']} frames; "
          f"{info['truncated_prompts']} prompt(s) truncated to {metric.protocol.context_length} tokens")
    return 0 if math.isfinite(value) else 1


def register_evaluate(subparsers) -> None:
    import argparse

    p = add_command(subparsers, "clipsim", help="CLIPSIM: frame-prompt CLIP cosine, mean over frames then videos",
                    func=_run, epilog=_format_help(),
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", required=True, type=Path, help="folder of videos (.mp4, .npy, ...)")
    p.add_argument("--prompts", required=True, type=Path, help="prompts file: .json, .jsonl, .csv or TAB-separated .txt/.tsv")
    p.add_argument("--protocol", default="clipsim@vit-b-32",
                   help="clipsim@vit-b-32 (default, paper), clipsim100@vit-b-32 (x100), clipsim@vit-b-16, clipsim@vit-l-14")
    p.add_argument("--backbone", default=None, help="ViT-B/32 | ViT-B/16 | ViT-L/14 (picks the unscaled protocol)")
    p.add_argument("--weights", default=None, help="CLIP .pt file (default: resolved by `ffbench weights`)")
    p.add_argument("--random-weights", action="store_true",
                   help="tiny random CLIP instead of real weights (tests only; marked in the output)")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-weights")
    p.add_argument("--batch-size", type=int, default=64, help="frames per CLIP forward pass")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
