"""`ffbench verify [--protocol P...] [--json]`: ffbench vs the reference implementations here.

Runs the checks of `ffbench.verify` (ours and the reference on the same fixed inputs, with the
weight files on this machine) and prints one row per check: ours, reference, difference,
tolerance, pass/fail/skip/error. Exit code 1 when a check fails or errors, or when none ran.
"""
from __future__ import annotations

import sys

from ._util import add_command, print_json, print_table


def _fmt(x, digits=8) -> str:
    return "" if x is None else f"{x:.{digits}g}"


def _verify(args) -> int:
    from .. import verify

    rows = verify.run_checks(args.protocols or None, random_weights=args.random_weights,
                             device=args.device)
    bad = [r for r in rows if r["status"] in ("fail", "error")]
    ran = [r for r in rows if r["status"] in ("pass", "fail")]
    if args.json:
        print_json(rows)
    else:
        if args.random_weights:
            print("random weights (--random-weights): both sides use the same seeded random "
                  "networks; this checks ffbench's code paths, not your weight files.\n")
        table = [{"protocol": r["protocols"][0] + (f" (+{len(r['protocols']) - 1})" if len(r["protocols"]) > 1 else ""),
                  "check": r["check"], "ours": _fmt(r["ours"]), "reference": _fmt(r["reference_value"]),
                  "difference": _fmt(r["difference"], 3),
                  "tolerance": _fmt(r["tolerance"], 3) + (" rel" if r["relative"] else ""),
                  "status": r["status"]} for r in rows]
        print_table(table, ["protocol", "check", "ours", "reference", "difference", "tolerance", "status"])
        notes = [r for r in rows if r["reason"]]
        if notes:
            print()
            for r in notes:
                print(f"{r['status']:5} {r['check']}: {r['reason']}")
        print(f"\n{sum(r['status'] == 'pass' for r in rows)} passed, {len(bad)} failed or errored, "
              f"{sum(r['status'] == 'skip' for r in rows)} skipped; each reference is named in --json")
    if not ran and not bad:
        print("ffbench verify: no check ran (install the reference packages, download the weights "
              "or pass --random-weights)", file=sys.stderr)
        return 1
    return 1 if bad else 0


def register(subparsers) -> None:
    p = add_command(subparsers, "verify", "compare ffbench's metrics with the reference implementations "
                    "on this machine, with your weights", _verify)
    p.add_argument("--protocol", dest="protocols", action="append", default=[], metavar="P",
                   help="only the checks of this protocol (repeatable); default: all")
    p.add_argument("--random-weights", action="store_true",
                   help="seeded random networks on both sides (tests, smoke runs); results say so")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
