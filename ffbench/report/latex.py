"""LaTeX rendering of a ReportTable: booktabs rules, best value bold, ↑/↓ in headers.

Every piece of text (model names, notes, protocol names) is escaped: run ids and prompts may
contain `_ % & # $ { } ~ ^ \\`, each of which breaks or silently changes a LaTeX document.
The output needs only `\\usepackage{booktabs}` (arrows are math-mode `\\uparrow`/`\\downarrow`,
the dagger is `\\dag`).
"""
from __future__ import annotations

_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "†": r"\dag{}",
    "‡": r"\ddag{}",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "–": "--",
    "×": r"$\times$",
    "→": r"$\rightarrow$",
    "±": r"$\pm$",
}


def escape(text) -> str:
    """Escape LaTeX special characters in one pass (so a backslash we insert is not re-escaped)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in str(text))


def to_latex(table) -> str:
    best = {c: table.best_rows(c) for c in table.metrics}
    spec = "".join("r" if c in table.metrics else "l" for c in table.columns)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{escape(table.title)}}}",
        rf"\label{{tab:{escape(table.key)}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(escape(table.header(c)) for c in table.columns) + r" \\",
        r"\midrule",
    ]
    group = None
    for i, row in enumerate(table.rows):
        g = row.get("_group")
        if g is not None and g != group:
            if group is not None:
                lines.append(r"\midrule")
            lines.append(rf"\multicolumn{{{len(table.columns)}}}{{l}}{{\textit{{{escape(g)}}}}} \\")
            group = g
        cells = []
        for c in table.columns:
            t = escape(table.text(i, c))
            cells.append(rf"\textbf{{{t}}}" if i in best.get(c, ()) else t)
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.notes:
        lines.append(r"\par\smallskip")
        lines.append(r"\begin{minipage}{\linewidth}\footnotesize")
        lines += [escape(n) + r"\\" for n in table.notes]
        lines.append(r"\end{minipage}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
