"""Tables from pandas DataFrames as Markdown, CSV or JSON (LaTeX: see report.latex).

Two levels:
- `format_table(df, fmt)` / `to_markdown(df)`: a plain DataFrame, as `ffbench leaderboard` prints.
- `ReportTable`: a paper-style table (report.layouts builds them) — numeric cells plus what a
  reader needs to trust them: each metric column's direction (↑/↓, which also decides the bold
  "best" value), per-cell marks (e.g. † for a published number) and notes printed under the
  table (protocol name, hash and N). Markdown, LaTeX, CSV and HTML all render the same object,
  so the formats cannot disagree.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

ARROWS = {"max": "↑", "min": "↓"}


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")  # what CommonMark may read as the start of raw HTML


def md_escape(text) -> str:
    """User text (model names, prompts, notes) made inert in a Markdown table cell: `|` cannot
    split the cell, `<script>`-like tags print as text (`&lt;script>`; a lone `<` as in
    "< 1/3" is left alone, CommonMark never reads it as HTML), newlines become spaces."""
    s = str(text).replace("\\", "\\\\").replace("|", "\\|")
    s = s.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _MD_TAG.sub("&lt;", s)


def _cell(value, precision: int = 4) -> str:
    if _is_missing(value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{precision}f}"
    return " ".join(str(value).splitlines())  # plain text; each format escapes it its own way


def to_markdown(df, precision: int = 4) -> str:
    cols = [md_escape(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(md_escape(_cell(v, precision)) for v in row) + " |")
    return "\n".join(lines)


def format_table(df, fmt: str, precision: int = 4) -> str:
    if isinstance(df, ReportTable):
        return df.render(fmt)
    if fmt == "md":
        return to_markdown(df, precision)
    if fmt == "csv":
        return df.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        records = json.loads(df.to_json(orient="records"))
        return json.dumps(records, indent=2)
    raise ValueError(f"unknown table format {fmt!r}; use md, csv or json")


# --- paper-style tables ------------------------------------------------------------------------

@dataclass
class ReportTable:
    """A table of rows (dicts) with typed metric columns.

    `columns`: display order. `metrics`: metric column -> direction ("max" | "min" | None for
    a numeric column with no better direction, e.g. #Params). `precision`: decimals per metric
    column. `marks[(row_index, column)]`: a suffix such as "†". `formatters[column]`: a function
    value -> str overriding the decimals (e.g. params -> "556M").
    """

    key: str
    title: str
    columns: list[str]
    rows: list[dict]
    metrics: dict[str, str | None] = field(default_factory=dict)
    precision: dict[str, int] = field(default_factory=dict)
    marks: dict[tuple[int, str], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    formatters: dict = field(default_factory=dict)
    random_weights: bool = False  # any number in it comes from random weights
    no_best_marks: tuple[str, ...] = ("‡",)  # marked cells that never count as "best"

    # -- cells --
    def header(self, column: str) -> str:
        arrow = ARROWS.get(self.metrics.get(column) or "", "")
        return f"{column}{arrow}" if column in self.metrics else column

    def best_rows(self, column: str) -> set[int]:
        """Rows holding the best value of a metric column (ties all bold); none without direction.
        Random-weight numbers (‡) are never "best": they say nothing about quality."""
        direction = self.metrics.get(column)
        if direction is None:
            return set()
        values = [(i, r.get(column)) for i, r in enumerate(self.rows)
                  if self.marks.get((i, column), "") not in self.no_best_marks or
                  not self.marks.get((i, column))]
        values = [(i, float(v)) for i, v in values if not _is_missing(v) and not isinstance(v, str)]
        values = [(i, v) for i, v in values if math.isfinite(v)]
        if not values:
            return set()
        best = (max if direction == "max" else min)(v for _, v in values)
        digits = self.precision.get(column, 4)
        return {i for i, v in values if round(v, digits) == round(best, digits)}

    def text(self, row: int, column: str) -> str:
        """The cell as printed (number formatted, mark appended), without any markup."""
        value = self.rows[row].get(column)
        if column in self.formatters and not _is_missing(value):
            out = self.formatters[column](value)
        elif column in self.metrics and not _is_missing(value) and not isinstance(value, str):
            out = f"{float(value):.{self.precision.get(column, 4)}f}"
        else:
            out = _cell(value)
        if _is_missing(value):
            return out
        return out + self.marks.get((row, column), "")

    def frame(self):
        """The raw values as a DataFrame (machines: CSV/JSON), marks and notes left out."""
        import pandas as pd

        cols = (["Group"] if any("_group" in r for r in self.rows) else []) + self.columns
        return pd.DataFrame([{c: r.get("_group" if c == "Group" else c) for c in cols}
                             for r in self.rows], columns=cols)

    # -- renderers --
    def to_markdown(self) -> str:
        best = {c: self.best_rows(c) for c in self.metrics}
        lines = [f"**{self.title}**", ""]
        heads = [md_escape(self.header(c)) for c in self.columns]
        lines.append("| " + " | ".join(heads) + " |")
        lines.append("|" + "|".join("---:" if c in self.metrics else "---" for c in self.columns) + "|")
        group = None
        for i in range(len(self.rows)):
            g = self.rows[i].get("_group")
            if g is not None and g != group:
                lines.append("| " + " | ".join([f"*{md_escape(g)}*"] + [""] * (len(self.columns) - 1)) + " |")
                group = g
            cells = []
            for c in self.columns:
                t = md_escape(self.text(i, c))
                cells.append(f"**{t}**" if i in best.get(c, ()) else t)
            lines.append("| " + " | ".join(cells) + " |")
        if self.notes:
            lines.append("")
            lines.extend(f"{n}  " if k < len(self.notes) - 1 else n for k, n in enumerate(self.notes))
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """Headers as printed minus arrows; values unrounded; a `mark` column per marked metric."""
        df = self.frame()
        for c in self.metrics:
            marks = [self.marks.get((i, c), "") for i in range(len(self.rows))]
            if any(marks):
                df.insert(df.columns.get_loc(c) + 1, f"{c} mark", marks)
        return df.to_csv(index=False, lineterminator="\n")

    def to_latex(self) -> str:
        from .latex import to_latex

        return to_latex(self)

    def render(self, fmt: str) -> str:
        if fmt == "md":
            return self.to_markdown()
        if fmt == "csv":
            return self.to_csv()
        if fmt in ("latex", "tex"):
            return self.to_latex()
        if fmt == "json":
            return json.dumps({"key": self.key, "title": self.title, "notes": self.notes,
                               "rows": json.loads(self.frame().to_json(orient="records"))}, indent=2)
        raise ValueError(f"unknown table format {fmt!r}; use md, latex, csv or json")


def format_params(value) -> str:
    """Parameter counts the way papers print them: 161M, 4.1B."""
    value = float(value)
    if value >= 1e9:
        return f"{value / 1e9:.1f}B"
    if value >= 1e6:
        return f"{value / 1e6:.0f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}K"
    return f"{value:.0f}"
