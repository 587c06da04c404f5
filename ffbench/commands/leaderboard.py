"""`ffbench leaderboard`: the latest score of every model for each metric@protocol.

Model names are user text: the Markdown table escapes them (report.tables.md_escape), so a name
such as `<script>` or `a|b` prints as text and keeps the table's columns.
"""
from __future__ import annotations

from pathlib import Path

from ._util import add_command, add_json_flag, print_json, records


def _leaderboard(args) -> int:
    import pandas as pd

    from ..report.tables import format_table
    from ..store import ResultsStore, default_url

    fmt = "json" if args.json else args.format
    if args.db is None and not Path(default_url().removeprefix("sqlite:///")).is_file():
        df = pd.DataFrame()  # nothing stored yet; reading never creates the store
    else:  # read-only: a missing or foreign --db is an error naming it, never created
        df = ResultsStore(args.db, read_only=True).leaderboard(dataset=args.dataset)
    if fmt == "json":  # the one JSON convention (commands/_util.py): [] when there is nothing
        print_json(records(df) if not df.empty else [])
        return 0
    if df.empty:
        print("no results yet" + (f" for dataset {args.dataset!r}" if args.dataset else ""))
        return 0
    print(format_table(df, fmt))
    if fmt == "md" and bool(df["random_weights"].any()):
        print("\n**Warning:** rows with random_weights = True were produced with random weights "
              "and mean nothing about model quality.")
    return 0


def register(subparsers) -> None:
    p = add_command(subparsers, "leaderboard", "latest scores per model from the results store",
                    _leaderboard)
    p.add_argument("--dataset", help="only this dataset (e.g. ucf101, msrvtt, demo)")
    p.add_argument("--format", choices=["md", "csv", "json"], default="md",
                   help="md (default), csv, or json (same as --json)")
    add_json_flag(p)
    p.add_argument("--db", help="SQLAlchemy URL or SQLite file (default: $FFBENCH_HOME/results.db)")
