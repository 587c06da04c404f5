"""Tables from pandas DataFrames as Markdown, CSV or JSON (LaTeX: see report.latex)."""
from __future__ import annotations

import json
import math


def _cell(value, precision: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{precision}f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(df, precision: int = 4) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, precision) for v in row) + " |")
    return "\n".join(lines)


def format_table(df, fmt: str, precision: int = 4) -> str:
    if fmt == "md":
        return to_markdown(df, precision)
    if fmt == "csv":
        return df.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        records = json.loads(df.to_json(orient="records"))
        return json.dumps(records, indent=2)
    raise ValueError(f"unknown table format {fmt!r}; use md, csv or json")
