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


def _pairs(args, proto, pred, target, common):
    for name in common:
        (pk, pp), (tk, tp) = pred[name], target[name]
        p = _load(pk, pp, proto.frames_per_sequence)
        t = _load(tk, tp, proto.frames_per_sequence)
        if p.shape != t.shape:
            from ..errors import FFBenchError

            raise FFBenchError(f"{name}: prediction {pp} has shape {list(p.shape)} but target {tp} "
                               f"has {list(t.shape)} ([T,H,W,3])")
        yield name, p, t


def _targets(args, proto, target):
    from ..data.vimeo90k import frame_names, read_png_sequence
    from ..video import read_video

    for name, (kind, path) in sorted(target.items()):
        if kind == "video":
            yield name, read_video(path)
        else:
            yield name, read_png_sequence(path, frame_names(proto.frames_per_sequence)
                                          if kind == "vimeo" else None)


def _run(args) -> int:
    from .. import protocols
    from ..errors import ConfigError, FFBenchError
    from ..harness import reconstruction as REC
    from ..harness.realstats import name_list

    proto = protocols.get(args.protocol)
    wanted = [m.strip() for m in args.metrics.split(",") if m.strip()]
    bad = [m for m in wanted if m not in _ALL]
    if bad or not wanted:
        raise ConfigError(f"--metrics: unknown {bad or wanted}; choose from {', '.join(_ALL)}")
    if (args.pred is None) == (args.decoder is None):
        raise ConfigError("give --pred DIR (reconstructions) or --decoder VARIANT (a MoVQ decoder "
                          "run on --target), one of them")
    target = collect_items(args.target)
    only_pred = only_target = []
    extra, model = {}, args.model
    if args.pred is not None:
        pred = collect_items(args.pred)
        only_pred = sorted(set(pred) - set(target))
        only_target = sorted(set(target) - set(pred))
        common = sorted(set(pred) & set(target))
        if (only_pred or only_target) and not args.allow_unmatched:
            msg = ["pred and target do not hold the same items (use --allow-unmatched to score the common ones)"]
            if only_pred:
                msg.append(f"  only in {args.pred}: {name_list(only_pred, 20)}")
            if only_target:
                msg.append(f"  only in {args.target}: {name_list(only_target, 20)}")
            raise FFBenchError("\n".join(msg))
        if not common:
            raise FFBenchError(f"no item of {args.pred} matches one of {args.target}")
        pairs = _pairs(args, proto, pred, target, common)
        model = model or args.pred.name
    else:
        movq = REC.build_decoder_movq(args.decoder, random_weights=args.random_weights,
                                      weights=args.decoder_weights, device=args.device)
        extra = REC.decoder_info(movq, args.decoder, args.random_weights)
        pairs = REC.decoder_reconstructions(_targets(args, proto, target), movq, args.decoder)
        model = model or f"movq-{args.decoder}" + ("-tiny" if args.random_weights else "")
    result = REC.score_pairs(pairs, proto, wanted, lpips_net=args.lpips_net,
                             lpips_weights=args.lpips_weights, random_weights=args.random_weights,
                             device=args.device)
    from ..store import random_weights_of

    # the decoder is the "generator" of these reconstructions; LPIPS the scoring network
    result["random_weights"] = random_weights_of(bool(args.decoder and args.random_weights), [result])
    result.update(only_in_pred=only_pred, only_in_target=only_target, model=model, **extra)
    if not args.no_store:
        result["stored_in"] = REC.store_reconstruction(result, model=model, dataset=args.dataset,
                                                       db=args.db, extra=extra)
    values = result["values"]
    if args.json:  # non-finite PSNR: null + "<key>_nonfinite" (the CLI's one JSON convention)
        print_json(result)
        return 0
    for side, xs in ((args.pred, only_pred), (args.target, only_target)):
        if xs:
            print(f"note: only in {side} (not scored): {', '.join(xs[:20])}", file=sys.stderr)
    if result["random_weights"]:
        print("WARNING: random weights (--random-weights): not a real reconstruction value")
    fmt = {"psnr": "{:.3f}", "ssim": "{:.4f}", "mse": "{:.6f}", "lpips": "{:.4f}"}
    rows = result["per_video"]
    print_table([{"name": r["name"], "frames": r["frames"], **{m: fmt[m].format(r[m]) for m in values}}
                 for r in rows], ["name", "frames", *values])
    print(f"\n{proto.name} (protocol {proto.short_hash}), {model}, mean over {len(rows)} videos: "
          + ", ".join(f"{m} {fmt[m].format(v)}" for m, v in values.items()))
    if result.get("psnr_identical_frames"):
        print(f"{result['psnr_identical_frames']} frame(s) identical to the target: PSNR inf (no cap)")
    return 0


def register_evaluate(subparsers) -> None:
    import argparse

    p = add_command(subparsers, "reconstruction",
                    help="PSNR/SSIM/MSE/LPIPS of reconstructed videos vs targets (Vimeo-90k septuplets)",
                    func=_run, description=__doc__.split("\n", 2)[2],
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pred", type=Path, default=None, help="folder of reconstructions")
    p.add_argument("--decoder", default=None, metavar="VARIANT",
                   help="instead of --pred: reconstruct --target with this MoVQ decoder variant "
                        "(paper Table 3: image, conv3x1x1, conv3x3x3, conv3x1x1_attn, conv3x3x3_attn, "
                        "resnet_attn, conv2d_to_3d); --random-weights: the tiny preset")
    p.add_argument("--decoder-weights", default=None, metavar="FILE",
                   help="released movq.pt / video_movq.pt (default: `ffbench weights`)")
    p.add_argument("--target", required=True, type=Path,
                   help="folder of targets (videos, .png sequence folders, or a Vimeo-90k root)")
    p.add_argument("--protocol", default="reconstruction@vimeo90k-septuplet", help="reconstruction protocol")
    p.add_argument("--metrics", default=",".join(_ALL), help="comma list of psnr,ssim,mse,lpips (default all)")
    p.add_argument("--lpips-net", choices=["alex", "vgg"], default=None, help="LPIPS backbone (default: protocol's, alex)")
    p.add_argument("--lpips-weights", default=None, help="torchvision backbone file (default: `ffbench weights`)")
    p.add_argument("--random-weights", action="store_true",
                   help="LPIPS with a random backbone, and the tiny random MoVQ with --decoder "
                        "(tests and demo only; marked in the output and the store)")
    p.add_argument("--model", default=None, help="name stored with the result (default: the "
                                                 "--pred folder name, or movq-VARIANT)")
    p.add_argument("--dataset", default="vimeo90k", help="dataset label stored (default vimeo90k)")
    p.add_argument("--db", default="", help="results store URL or SQLite path")
    p.add_argument("--no-store", action="store_true", help="do not write the result to the store")
    p.add_argument("--allow-unmatched", action="store_true", help="score the items present on both sides")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--json", action="store_true", help="machine-readable output (inf written as \"inf\")")
