"""`ffbench evaluate fvd` and `ffbench evaluate is`: FVD / IS of a folder of videos under a
protocol, through the one engine (`_engine_cli.evaluate_folder`): the same number and hash as
`ffbench run` gives for the same videos."""
from __future__ import annotations

from ._engine_cli import (add_engine_options, add_real_options, add_store_options, emit_result,
                          evaluate_folder, folder_config, score_result)
from ._util import add_command

FVD_DEFAULT = "fvd@stylegan-v-2048x16"
IS_DEFAULT = "is@c3d-ucf101"


def register_evaluate(subparsers) -> None:
    from ..protocols import names

    p = add_command(subparsers, "fvd", help="Fréchet Video Distance of a folder of videos",
                    func=run_fvd,
                    description="FVD of generated videos (--fake DIR, recursive) against real videos "
                                "(--real DIR or dataset name) or precomputed real statistics "
                                "(--real FILE.npz|.pkl), computed exactly as the named protocol's "
                                "reference does. Real statistics are cached (see `ffbench stats`); "
                                "the result goes to the results store.")
    p.add_argument("--protocol", default=FVD_DEFAULT, choices=names("fvd"),
                   help=f"FVD protocol (default {FVD_DEFAULT})")
    p.add_argument("--real", required=True, metavar="DIR|STATS|DATASET",
                   help="folder of real videos, a dataset name (ucf101, msrvtt, demo), or a "
                        "statistics file (.npz from `ffbench stats`, or a StyleGAN-V / cd-fvd .pkl)")
    p.add_argument("--fake", required=True, metavar="DIR", help="folder of generated videos")
    add_real_options(p)
    add_engine_options(p)
    add_store_options(p)

    q = add_command(subparsers, "is", help="video Inception Score (C3D UCF-101) of a folder",
                    func=run_is,
                    description="Inception Score of generated videos with the C3D UCF-101 "
                                "classifier, split rule as the protocol says; prints mean and std.")
    q.add_argument("--protocol", default=IS_DEFAULT, choices=names("is"),
                   help=f"IS protocol (default {IS_DEFAULT})")
    q.add_argument("--fake", required=True, metavar="DIR", help="folder of generated videos")
    add_engine_options(q)
    add_store_options(q)


def run_fvd(args) -> int:
    from ..protocols import get

    config = folder_config(args, args.protocol, fake=args.fake, real=args.real, clip_seed=args.clip_seed)
    results = evaluate_folder(config, limit=get(args.protocol).num_fake, quiet=args.quiet or args.json)
    r = score_result(results)
    if args.resolution is not None:
        r["resolution_override"] = args.resolution
    value = "not computed" if r["value"] is None else f"{r['value']:.4f}"
    return emit_result(args, r, f"FVD ({r['protocol']} {r['protocol_hash'][:12]}, {r.get('n_real', 0)} "
                                f"real / {r['n_fake']} fake): {value}")


def run_is(args) -> int:
    from ..protocols import get

    proto = get(args.protocol)
    from ..metrics.inception import min_videos

    needed = proto.videos_needed if proto.samples_per_split else min_videos(proto.splits)
    why = (f" ({proto.splits} loops of {proto.samples_per_split} fresh samples, as TGAN2's script)"
           if proto.samples_per_split else f" for {proto.splits} splits")
    config = folder_config(args, args.protocol, fake=args.fake)
    results = evaluate_folder(config, limit=proto.videos_needed, quiet=args.quiet or args.json,
                              min_videos=(needed, f"{proto.name} needs at least {needed}{why}"))
    r = score_result(results)
    ci = "" if r.get("ci_low") is None else f"; 95% CI {r['ci_low']:.4f}-{r['ci_high']:.4f}"
    value = "not computed" if r["value"] is None else f"{r['value']:.4f} (std over splits {r['std']:.4f}{ci})"
    return emit_result(args, r, f"IS ({r['protocol']} {r['protocol_hash'][:12]}, {r['n_fake']} videos): {value}")
