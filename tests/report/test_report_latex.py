from __future__ import annotations

import pytest

from ffbench.report.latex import escape, to_latex
from ffbench.report.tables import ReportTable


@pytest.mark.parametrize("raw, expected", [
    ("a_b", r"a\_b"), ("50%", r"50\%"), ("A&B", r"A\&B"), ("#1", r"\#1"), ("$5", r"\$5"),
    ("{x}", r"\{x\}"), ("~", r"\textasciitilde{}"), ("x^2", r"x\textasciicircum{}2"),
    ("C:\\dir", r"C:\textbackslash{}dir"), ("\\_", r"\textbackslash{}\_"),
])
def test_escape_specials(raw, expected):
    assert escape(raw) == expected


def test_table_text_is_escaped_and_booktabs():
    name = "m_1 50% & #2 $x$ {y} ~z^ \\w"
    t = ReportTable(key="t_1", title="T & 100%", columns=["Method", "FVD"],
                    rows=[{"Method": name, "FVD": 3.0}, {"Method": "b", "FVD": 4.0}],
                    metrics={"FVD": "min"}, precision={"FVD": 1}, notes=["note_1 #"])
    tex = to_latex(t)
    assert (r"m\_1 50\% \& \#2 \$x\$ \{y\} \textasciitilde{}z\textasciicircum{} "
            r"\textbackslash{}w & \textbf{3.0} \\") in tex
    assert r"FVD$\downarrow$" in tex and r"\caption{T \& 100\%}" in tex
    assert r"\label{tab:t\_1}" in tex and r"note\_1 \#" in tex
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) == 1
    body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0]
    # no unescaped specials remain in the body
    stripped = body.replace("\\\\", "")
    for ch in "%&#_":
        assert all(stripped[i - 1] == "\\" for i, c in enumerate(stripped) if c == ch and
                   not (ch == "&" and stripped[i - 1] == " " and stripped[i + 1] == " "))
