"""`ffbench report RUN_DIR... --out DIR`: paper-style tables, plots and an HTML report."""
from __future__ import annotations

from ._util import add_command, add_json_flag, print_json


def _report(args) -> int:
    from ..errors import ConfigError
    from ..report.builder import build_report, parse_formats

    formats = parse_formats(args.format)
    if not args.run_dirs and not args.db:
        raise ConfigError("give at least one RUN_DIR, or --db to report a results store")
    path = build_report(args.run_dirs, args.out, formats, profile_dir=args.profile, store=args.db,
                        quiet=getattr(args, "quiet", False))
    out = path.parent if path.name == "index.html" else path
    if args.json:
        print_json({"out": str(out.resolve()), "index": str(path.resolve())
                    if path.name == "index.html" else None, "formats": formats})
    else:
        if path.name == "index.html":
            print(f"report: {path.resolve()}")
        print(f"tables and plots: {out.resolve()}")
    return 0


def register(subparsers) -> None:
    p = add_command(
        subparsers, "report", "tables, plots and an HTML report from run directories",
        _report,
        description="Build a report from finished run directories (and optionally a results "
                    "store): paper-style tables (Markdown, LaTeX, CSV) beside the published "
                    "numbers, plots (PNG + SVG) and a self-contained HTML report with the videos.")
    p.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="finished run directories")
    p.add_argument("--out", required=True, help="output folder (index.html, assets/, tables/)")
    p.add_argument("--format", default="html,md,latex,csv",
                   help="comma-separated: html, md, latex, csv (default: all)")
    p.add_argument("--profile", metavar="DIR", help="a profile dir (ffbench profile --out DIR)")
    p.add_argument("--db", help="also report every run in this results store (SQLAlchemy URL or "
                                "SQLite file; only read, never written)")
    add_json_flag(p, help="print where things were written as JSON")
