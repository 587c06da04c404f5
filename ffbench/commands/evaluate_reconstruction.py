"""`ffbench evaluate reconstruction`: PSNR / SSIM / MSE / LPIPS of reconstructions vs targets.

Items are matched by name between --pred and --target:
  - a video file (.mp4, .npy, ...) is named by its path relative to the folder, without suffix;
  - a folder holding .png frames is a sequence named by its relative path, with a leading
    'sequences/' dropped, so a prediction tree `sequences/00001/0266/im1.png…` matches the
    Vimeo-90k sequence '00001/0266';
  - a folder that is an official Vimeo-90k root (sep_testlist.txt + sequences/) contributes
    exactly the sequences of its test list, frames im1..im7.
Items present on one side only are named; by default that is an error (a partial test set is
not the protocol), `--allow-unmatched` scores the common ones and still lists the others.
"""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from ._util import add_command, print_json, print_table

_ALL = ("psnr", "ssim", "mse", "lpips")


def collect_items(root: Path) -> dict[str, tuple[str, Path]]:
    """{name: (kind, path)} with kind 'video' or 'frames' (or 'vimeo' for an official root)."""
    from ..data.vimeo90k import SPLIT_FILES, Vimeo90kSeptuplet
    from ..errors import FFBenchError
    from ..video import VIDEO_EXTENSIONS

    root = Path(root)
    if not root.is_dir():
        raise FFBenchError(f"{root}: not a folder")
    if (root / SPLIT_FILES["test"]).is_file() and (root / "sequences").is_dir():
        ds = Vimeo90kSeptuplet(root)
        return {i: ("vimeo", ds.path(i)) for i in ds.ids}
    items: dict[str, tuple[str, Path]] = {}

    def add(name, kind, path):
        if name in items:
            raise FFBenchError(f"{root}: two items named {name!r}: {items[name][1]} and {path}")
        items[name] = (kind, path)

    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        d = Path(dirpath)
        rel = d.relative_to(root).as_posix()
        if any(f.lower().endswith(".png") for f in filenames):
            name = rel[len("sequences/"):] if rel.startswith("sequences/") else rel
            add(name, "frames", d)  # "." when ROOT itself is one sequence
        for f in sorted(filenames):
            p = d / f
            if p.suffix.lower() in VIDEO_EXTENSIONS:
                add(p.relative_to(root).with_suffix("").as_posix(), "video", p)
    if not items:
        raise FFBenchError(f"{root}: no videos or .png sequence folders")
    return items


def _load(kind: str, path: Path, frames: int):
    from ..data.vimeo90k import frame_names, read_png_sequence
    from ..video import read_video, to_float01

    if kind == "video":
        v = read_video(path)
    elif kind == "vimeo":
        v = read_png_sequence(path, frame_names(frames))
    else:
        v = read_png_sequence(path)
    return to_float01(v)


def _jsonable(x: float):
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf" if x < 0 else "nan")


def _run(args) -> int:
    import torch

    from .. import protocols
    from ..errors import ConfigError, FFBenchError
    from ..metrics import reconstruction as R

    proto = protocols.get(args.protocol)
    wanted = [m.strip() for m in args.metrics.split(",") if m.strip()]
    bad = [m for m in wanted if m not in _ALL]
    if bad or not wanted:
        raise ConfigError(f"--metrics: unknown {bad or wanted}; choose from {', '.join(_ALL)}")
    pred, target = collect_items(args.pred), collect_items(args.target)
    only_pred = sorted(set(pred) - set(target))
    only_target = sorted(set(target) - set(pred))
    common = sorted(set(pred) & set(target))

    def names(xs):
        return ", ".join(xs[:20]) + (f" and {len(xs) - 20} more" if len(xs) > 20 else "")

    if (only_pred or only_target) and not args.allow_unmatched:
        msg = ["pred and target do not hold the same items (use --allow-unmatched to score the common ones)"]
        if only_pred:
            msg.append(f"  only in {args.pred}: {names(only_pred)}")
        if only_target:
            msg.append(f"  only in {args.target}: {names(only_target)}")
        raise FFBenchError("\n".join(msg))
    if not common:
        raise FFBenchError(f"no item of {args.pred} matches one of {args.target}")

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    metrics = {}
    for m in wanted:
        if m == "lpips":
            metrics[m] = R.VideoLPIPS(proto, net=args.lpips_net, weights_path=args.lpips_weights,
                                      random_backbone=args.random_weights, seed=args.seed, device=device)
        else:
            metrics[m] = {"psnr": R.VideoPSNR, "ssim": R.VideoSSIM, "mse": R.VideoMSE}[m](proto)
    rows = []
    for name in common:
        (pk, pp), (tk, tp) = pred[name], target[name]
        p = _load(pk, pp, proto.frames_per_sequence)
        t = _load(tk, tp, proto.frames_per_sequence)
        if p.shape != t.shape:
            raise FFBenchError(f"{name}: prediction {pp} has shape {list(p.shape)} but target {tp} "
                               f"has {list(t.shape)} ([T,H,W,3])")
        for metric in metrics.values():
            metric.update(p, t)
        rows.append({"name": name, "frames": int(p.shape[0])})
    for m, metric in metrics.items():
        for row, v in zip(rows, metric.per_video_values().tolist()):
            row[m] = v
    values = {m: float(metric.compute()) for m, metric in metrics.items()}
    result = {"metric": "reconstruction", "protocol": proto.name, "protocol_hash": proto.hash,
              "num_videos": len(rows), "num_frames": sum(r["frames"] for r in rows),
              "values": {m: _jsonable(v) for m, v in values.items()},
              "only_in_pred": only_pred, "only_in_target": only_target}
    if "psnr" in metrics:
        result["psnr_identical_frames"] = int(metrics["psnr"].n_identical)
        result["psnr_identical_rule"] = proto.psnr_identical
    if "lpips" in metrics:
        lp = metrics["lpips"].lpips_model
        result["lpips"] = {"net": lp.net_name, "version": proto.lpips_version,
                           "random_weights": lp.random_weights, "weights_sha256": lp.weights_sha256}
    result["random_weights"] = bool("lpips" in metrics and metrics["lpips"].random_weights)
    result["per_video"] = [{k: (_jsonable(v) if isinstance(v, float) else v) for k, v in r.items()} for r in rows]
    if args.json:
        print_json(result)
        return 0
    for side, xs in ((args.pred, only_pred), (args.target, only_target)):
        if xs:
            print(f"note: only in {side} (not scored): {names(xs)}", file=sys.stderr)
    if result["random_weights"]:
        print("WARNING: LPIPS with a random backbone (--random-weights): not a real LPIPS value")
    fmt = {"psnr": "{:.3f}", "ssim": "{:.4f}", "mse": "{:.6f}", "lpips": "{:.4f}"}
    print_table([{"name": r["name"], "frames": r["frames"], **{m: fmt[m].format(r[m]) for m in metrics}}
                 for r in rows], ["name", "frames", *metrics])
    print(f"\n{proto.name} (protocol {proto.short_hash}), mean over {len(rows)} videos: "
          + ", ".join(f"{m} {fmt[m].format(v)}" for m, v in values.items()))
    if "psnr" in metrics and result["psnr_identical_frames"]:
        print(f"{result['psnr_identical_frames']} frame(s) identical to the target: PSNR inf (no cap)")
    return 0


def register_evaluate(subparsers) -> None:
    import argparse

    p = add_command(subparsers, "reconstruction",
                    help="PSNR/SSIM/MSE/LPIPS of reconstructed videos vs targets (Vimeo-90k septuplets)",
                    func=_run, description=__doc__.split("\n", 2)[2],
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pred", required=True, type=Path, help="folder of reconstructions")
    p.add_argument("--target", required=True, type=Path,
                   help="folder of targets (videos, .png sequence folders, or a Vimeo-90k root)")
    p.add_argument("--protocol", default="reconstruction@vimeo90k-septuplet", help="reconstruction protocol")
    p.add_argument("--metrics", default=",".join(_ALL), help="comma list of psnr,ssim,mse,lpips (default all)")
    p.add_argument("--lpips-net", choices=["alex", "vgg"], default=None, help="LPIPS backbone (default: protocol's, alex)")
    p.add_argument("--lpips-weights", default=None, help="torchvision backbone file (default: `ffbench weights`)")
    p.add_argument("--random-weights", action="store_true",
                   help="LPIPS with a random backbone (tests only; marked in the output)")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-weights")
    p.add_argument("--allow-unmatched", action="store_true", help="score the items present on both sides")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--json", action="store_true", help="machine-readable output (inf written as \"inf\")")
