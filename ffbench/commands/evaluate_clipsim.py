"""`ffbench evaluate clipsim`: CLIPSIM of a folder of videos against their prompts.

Prompts file (matched to videos by file stem: `0007.mp4` ↔ "0007"), by extension:
  .json   one object {"<stem>": "<prompt>", ...}
  .jsonl  one object per line {"video": "<stem>", "prompt": "<prompt>"}
  other   (.txt, .tsv) one "<stem><TAB><prompt>" per line; blank lines and lines starting
          with '#' are ignored.
Every video needs a prompt (else error, naming the videos); prompts without a video are
reported (a generation run may have failed on some) but do not stop the evaluation.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from ._util import add_command, print_json, print_table

_FORMAT_HELP = __doc__.split("\n", 2)[2]


def load_prompts_file(path) -> dict[str, str]:
    """Parse a prompts file (format in the module docstring) into {stem: prompt}."""
    from ..errors import FFBenchError

    path = Path(path)
    if not path.is_file():
        raise FFBenchError(f"{path}: prompts file not found")
    text = path.read_text(encoding="utf-8")
    out: dict[str, str] = {}

    def put(stem, prompt, where):
        if not isinstance(stem, str) or not stem or not isinstance(prompt, str):
            raise FFBenchError(f"{where}: expected a video stem and a prompt string")
        if stem in out:
            raise FFBenchError(f"{where}: video {stem!r} has two prompts")
        out[stem] = prompt

    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise FFBenchError(f"{path}: invalid JSON: {e}") from e
        if not isinstance(data, dict):
            raise FFBenchError(f"{path}: expected a JSON object {{\"<stem>\": \"<prompt>\"}}")
        for k, v in data.items():
            put(k, v, f"{path}: key {k!r}")
    elif suffix == ".jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise FFBenchError(f"{path}:{n}: invalid JSON: {e}") from e
            if not isinstance(rec, dict) or set(rec) - {"video", "prompt"} or len(rec) != 2:
                raise FFBenchError(f'{path}:{n}: expected {{"video": "<stem>", "prompt": "<text>"}}')
            put(rec["video"], rec["prompt"], f"{path}:{n}")
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            if "\t" not in line:
                raise FFBenchError(f"{path}:{n}: expected '<stem><TAB><prompt>'")
            stem, prompt = line.split("\t", 1)
            put(stem.strip(), prompt.strip(), f"{path}:{n}")
    if not out:
        raise FFBenchError(f"{path}: no prompts")
    return out


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
        raise FFBenchError(f"{args.videos}: no video files")
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
                    func=_run, epilog="prompts file formats:\n" + _FORMAT_HELP,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", required=True, type=Path, help="folder of videos (.mp4, .npy, ...)")
    p.add_argument("--prompts", required=True, type=Path, help="prompts file: .json, .jsonl or TAB-separated .txt")
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
