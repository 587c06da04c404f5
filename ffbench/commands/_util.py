"""Helpers shared by command modules: parsers, tables, and the one JSON convention.

JSON convention (every command, README "Machine-readable output"):
- `--json` (added with `add_json_flag`) prints exactly one JSON document on stdout; progress
  bars and notes go to stderr, so `ffbench ... --json | jq` always works.
- Strict JSON (RFC 8259, what `json.loads`, `JSON.parse` and `jq` accept): numbers are numbers,
  hashes are written in full (64 hex digits), paths are strings.
- A non-finite float (PSNR of identical frames is +inf) is written as `null`, and its object gets
  a sibling key `"<key>_nonfinite"` holding `"inf"`, `"-inf"` or `"nan"`, so the field stays a
  number-or-null and nothing is lost. (Inside a list, a non-finite value is `null`.)
- An error in `--json` mode is a JSON object on stdout,
  `{"error": {"type": "ConfigError", "message": "..."}}`, with exit code 2; stderr still gets
  the human `ffbench: error: ...` line (cli.main).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import math
import sys
from pathlib import PurePath

__all__ = ["add_group", "add_command", "add_json_flag", "add_store_flags", "store_option", "to_jsonable", "json_dumps", "print_json",
           "records", "error_object", "print_table", "NONFINITE_SUFFIX"]

NONFINITE_SUFFIX = "_nonfinite"


def add_group(subparsers, name: str, help: str, description: str | None = None):
    """A command group (e.g. `ffbench weights`) whose own subcommands are added by the caller."""
    parser = subparsers.add_parser(name, help=help, description=description or help)
    parser.set_defaults(func=None, _parser=parser)
    return parser, parser.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")


def add_command(subparsers, name: str, help: str, func, description: str | None = None,
                **kw) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help, description=description or help, **kw)
    parser.set_defaults(func=func, _parser=parser)
    return parser


def add_json_flag(parser, help: str = "machine-readable output: one JSON document on stdout "
                                      "(errors too, as {\"error\": {...}})") -> None:
    """The common `--json` option (see the module docstring for what it promises)."""
    if any("--json" in a.option_strings for a in parser._actions):  # noqa: SLF001
        return
    parser.add_argument("--json", action="store_true", help=help)


def add_store_flags(parser, *, default=None) -> None:
    """The store options of every command that writes its result to the results store (README:
    "Every command's result lands in the results store (`--no-store` to skip; `--db URL`)"):
    `--db URL` and `--no-store`, which exclude each other. `store_option(args)` is the value
    for the config key `db` ("none" skips the store). Read-only users of a store (report,
    leaderboard) take `--db` alone."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--db", default=default, metavar="URL",
                   help="results store: SQLAlchemy URL or SQLite file (default "
                        "$FFBENCH_HOME/results.db; 'none' = --no-store)")
    g.add_argument("--no-store", action="store_true",
                   help="do not write the result to the results store (same as --db none)")


def store_option(args):
    """The run config's `db` for `add_store_flags` options: "none" with --no-store, else --db."""
    return "none" if getattr(args, "no_store", False) else getattr(args, "db", None)


def _nonfinite_name(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def to_jsonable(obj):
    """Plain JSON data from ffbench objects: numpy/torch scalars and arrays, paths, dataclasses,
    datetimes, sets; non-finite floats per the module docstring. Unknown objects become str."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = str(k)
            value = _scalar(v)
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
                out[key + NONFINITE_SUFFIX] = _nonfinite_name(value)
            else:
                out[key] = to_jsonable(value)
        return out
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=str) if isinstance(obj, (set, frozenset)) else obj
        return [to_jsonable(v) for v in items]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    scalar = _scalar(obj)
    if scalar is not obj:
        return to_jsonable(scalar)
    if hasattr(obj, "tolist"):  # numpy arrays, torch tensors
        return to_jsonable(obj.tolist())
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        try:
            return to_jsonable(obj.to_dict())
        except TypeError:
            pass
    return str(obj)


def _scalar(v):
    """numpy / torch 0-d values -> Python numbers (others unchanged)."""
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    item = getattr(v, "item", None)
    if callable(item) and tuple(getattr(v, "shape", (None,))) == ():
        try:
            return item()
        except (TypeError, ValueError, RuntimeError):
            return v
    return v


def json_dumps(obj, indent: int | None = 2) -> str:
    """The one JSON writer of the CLI: strict JSON, non-ASCII kept, convention above."""
    return json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False)


def print_json(obj) -> None:
    sys.stdout.write(json_dumps(obj) + "\n")
    sys.stdout.flush()


def records(df) -> list[dict]:
    """DataFrame rows as JSON-ready dicts: missing cells (NaN/None) -> None, ±inf kept for the
    non-finite convention, numpy scalars -> Python numbers."""
    out = []
    for row in df.to_dict("records"):
        clean = {}
        for k, v in row.items():
            v = _scalar(v)
            clean[k] = None if isinstance(v, float) and math.isnan(v) else v
        out.append(clean)
    return out


def error_object(exc: BaseException) -> dict:
    """What `--json` mode prints for an error: {"error": {"type", "message"}}."""
    return {"error": {"type": type(exc).__name__, "message": str(exc)}}


def print_table(rows: list[dict], columns: list[str]) -> None:
    """A plain aligned text table (for humans; --json is for machines)."""
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c)
              for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    print("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns).rstrip())
