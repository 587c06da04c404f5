"""`ffbench evaluate kvd|fid|kid|jedi|...`: every family compared against real *features* (the
kernel and frame-level distances) gets this front door from the registry
(`ffbench.harness.families`): a folder of generated videos against real videos, through the one
engine (as `evaluate fvd`), so the same feature pass, real set and score as `ffbench run`."""
from __future__ import annotations

from ._engine_cli import (add_engine_options, add_real_options, add_store_options, emit_result,
                          evaluate_folder, folder_config, score_result)
from ._util import add_command


def register_evaluate(subparsers) -> None:
    from ..harness.families import FAMILIES
    from ..protocols import names

    for metric, fam in FAMILIES.items():
        if not (fam.needs_real and fam.real_kind == "features"):
            continue  # fvd and is: evaluate_fvd.py; clipsim: evaluate_clipsim.py
        help = fam.description
        choices = names(metric)
        p = add_command(subparsers, metric, help=help, func=_run,
                        description=f"{help}: generated videos (--fake DIR) against real videos "
                                    "(--real DIR or dataset name), under a named protocol; the "
                                    "result goes to the results store.")
        p.add_argument("--protocol", default=choices[0], choices=choices,
                       help=f"protocol (default {choices[0]})")
        p.add_argument("--real", required=True, metavar="DIR|DATASET",
                       help="folder of real videos or a dataset name (ucf101, msrvtt, demo)")
        p.add_argument("--fake", required=True, metavar="DIR", help="folder of generated videos")
        add_real_options(p)
        add_engine_options(p)
        add_store_options(p)


def _run(args) -> int:
    from ..protocols import get

    p = get(args.protocol)
    config = folder_config(args, args.protocol, fake=args.fake, real=args.real, clip_seed=args.clip_seed)
    fvd = p.fvd() if getattr(p, "fvd_protocol", "") else p
    results = evaluate_folder(config, limit=getattr(fvd, "num_fake", None), quiet=args.quiet or args.json)
    r = score_result(results)
    value = "not computed" if r["value"] is None else f"{r['value']:.6g}"
    return emit_result(args, r, f"{p.metric.upper()} ({r['protocol']} {r['protocol_hash'][:12]}, "
                                f"{r.get('n_real', 0)} real / {r['n_fake']} fake): {value}")
