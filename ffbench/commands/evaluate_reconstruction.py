"""`ffbench evaluate reconstruction`: PSNR / SSIM / MSE / LPIPS of reconstructions vs targets.

--pred and --target are read as every command reads a folder (`ffbench.video.list_videos`:
recursive, natural order, frame folders; `ID.npy` beside `ID.mp4`, as `ffbench generate` and
`run` write, is ONE video read from the exact .npy, the container noted as skipped; an ffbench
run folder contributes its samples/). Items are matched by name:
  - a video (.mp4, .npy, a folder of frames, ...) is named by its path relative to the folder
    (to samples/ for a run folder), without extension, a leading 'sequences/' dropped, so a
    prediction tree `sequences/00001/0266/im1.png...` matches the Vimeo-90k sequence '00001/0266';
  - a folder that is an official Vimeo-90k root (sep_testlist.txt + sequences/) contributes
    exactly the sequences of its test list, frames im1..im7.
Pairs are scored in natural order of name (v2 before v10). Items present on one side only are
named; by default that is an error (a partial test set is not the protocol), `--allow-unmatched`
scores the common ones and still lists the others.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ._util import add_command, print_json, print_table

_ALL = ("psnr", "ssim", "mse", "lpips")


def _default_model(pred: Path) -> str:
    """The --pred folder's name; a run's samples/ folder is named by its run folder."""
    from ..video.listing import is_run_folder

    p = pred.resolve()
    return p.parent.name if p.name == "samples" and is_run_folder(p.parent) else p.name


def _run(args) -> int:
    from .. import protocols
    from ..errors import ConfigError, FFBenchError
    from ..harness import reconstruction as REC
    from ..harness.realstats import name_list
    from ..video import natural_key
    from ._engine_cli import print_skipped

    proto = protocols.get(args.protocol)
    wanted = [m.strip() for m in args.metrics.split(",") if m.strip()]
    bad = [m for m in wanted if m not in _ALL]
    if bad or not wanted:
        raise ConfigError(f"--metrics: unknown {bad or wanted}; choose from {', '.join(_ALL)}")
    if (args.pred is None) == (args.decoder is None):
        raise ConfigError("give --pred DIR (reconstructions) or --decoder VARIANT (a MoVQ decoder "
                          "run on --target), one of them")
    if args.workers is not None and args.workers < 0:
        raise ConfigError("--workers must be >= 0")
    target = REC.list_items(args.target, proto.frames_per_sequence)
    skipped = [{**r, "side": "target"} for r in target.skipped]
    only_pred = only_target = []
    extra, model = {}, args.model
    if args.pred is not None:
        pred = REC.list_items(args.pred, proto.frames_per_sequence)
        skipped = [{**r, "side": "pred"} for r in pred.skipped] + skipped
        only_pred = sorted(set(pred.items) - set(target.items), key=natural_key)
        only_target = sorted(set(target.items) - set(pred.items), key=natural_key)
        common = sorted(set(pred.items) & set(target.items), key=natural_key)
        if (only_pred or only_target) and not args.allow_unmatched:
            msg = ["pred and target do not hold the same items (use --allow-unmatched to score the common ones)"]
            if only_pred:
                msg.append(f"  only in {args.pred}: {name_list(only_pred, 20)}")
            if only_target:
                msg.append(f"  only in {args.target}: {name_list(only_target, 20)}")
            raise FFBenchError("\n".join(msg))
        if not common:
            raise FFBenchError(f"no item of {args.pred} matches one of {args.target}")
        pairs = REC.read_pairs(pred, target, common, workers=args.workers)
        model = model or _default_model(args.pred)
    else:
        movq = REC.build_decoder_movq(args.decoder, random_weights=args.random_weights,
                                      weights=args.decoder_weights, device=args.device)
        extra = REC.decoder_info(movq, args.decoder, args.random_weights)
        pairs = REC.decoder_reconstructions(REC.read_targets(target, workers=args.workers), movq,
                                            args.decoder)
        model = model or f"movq-{args.decoder}" + ("-tiny" if args.random_weights else "")
    result = REC.score_pairs(pairs, proto, wanted, lpips_net=args.lpips_net,
                             lpips_weights=args.lpips_weights, random_weights=args.random_weights,
                             device=args.device)
    from ..store import random_weights_of

    # the decoder is the "generator" of these reconstructions; LPIPS the scoring network
    result["random_weights"] = random_weights_of(bool(args.decoder and args.random_weights), [result])
    result.update(only_in_pred=only_pred, only_in_target=only_target, skipped=skipped, model=model,
                  **extra)
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
    print_skipped(skipped)
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
    p.add_argument("--pred", type=Path, default=None,
                   help="folder of reconstructions (videos, arrays, frame folders, or a run folder)")
    p.add_argument("--decoder", default=None, metavar="VARIANT",
                   help="instead of --pred: reconstruct --target with this MoVQ decoder variant "
                        "(paper Table 3: image, conv3x1x1, conv3x3x3, conv3x1x1_attn, conv3x3x3_attn, "
                        "resnet_attn, conv2d_to_3d); --random-weights: the tiny preset")
    p.add_argument("--decoder-weights", default=None, metavar="FILE",
                   help="released movq.pt / video_movq.pt (default: `ffbench weights`)")
    p.add_argument("--target", required=True, type=Path,
                   help="folder of targets (videos, arrays, frame folders, a run folder, or a "
                        "Vimeo-90k root)")
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
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes decoding videos ahead of the metrics (default min(4, CPUs); "
                        "0: in-process); results do not depend on it")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--json", action="store_true", help="machine-readable output (inf written as \"inf\")")
