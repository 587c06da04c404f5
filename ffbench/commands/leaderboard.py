"""`ffbench leaderboard`: the latest score of every model for each metric@protocol."""
from __future__ import annotations

from ._util import add_command


def _leaderboard(args) -> int:
    from ..report.tables import format_table
    from ..store import ResultsStore

    df = ResultsStore(args.db).leaderboard(dataset=args.dataset)
    if df.empty:
        print("no results yet" + (f" for dataset {args.dataset!r}" if args.dataset else ""))
        return 0
    print(format_table(df, args.format))
    if args.format == "md" and bool(df["random_weights"].any()):
        print("\n**Warning:** rows with random_weights = True were produced with random weights "
              "and mean nothing about model quality.")
    return 0


def register(subparsers) -> None:
    p = add_command(subparsers, "leaderboard", "latest scores per model from the results store",
                    _leaderboard)
    p.add_argument("--dataset", help="only this dataset (e.g. ucf101, msrvtt, demo)")
    p.add_argument("--format", choices=["md", "csv", "json"], default="md")
    p.add_argument("--db", help="SQLAlchemy URL or SQLite file (default: $FFBENCH_HOME/results.db)")
