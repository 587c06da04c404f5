"""Tables from a fixed store equal the golden files (tests/report/golden/, checked by eye).

Regenerate after an intended change with FFBENCH_UPDATE_GOLDEN=1 and review the diff.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ffbench.report import layouts
from ffbench.report.tables import ReportTable, format_table

GOLDEN = Path(__file__).parent / "golden"
SUFFIX = {"md": "md", "latex": "tex", "csv": "csv"}


def _tables(store):
    return {t.key: t for t in layouts.all_tables(store.scores(), store.runs())}


@pytest.mark.parametrize("fmt", ["md", "latex", "csv"])
@pytest.mark.parametrize("key", ["results", "table1", "table2", "table3"])
def test_table_equals_golden(fixed_store, key, fmt):
    text = _tables(fixed_store)[key].render(fmt)
    path = GOLDEN / f"{key}.{SUFFIX[fmt]}"
    if os.environ.get("FFBENCH_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path}; run with FFBENCH_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8")


def test_different_protocol_hashes_never_share_a_column(fixed_store):
    t1 = _tables(fixed_store)["table1"]
    fvd_cols = [c for c in t1.columns if c.startswith("FVD")]
    assert len(fvd_cols) == 2 and all("#" in c for c in fvd_cols)
    ms = next(r for r in t1.rows if r["Method"] == "modelscope_1.7b")
    assert ms[fvd_cols[0]] == 650.5 and ms[fvd_cols[1]] == 700.125


def test_same_protocol_different_hash_splits(fixed_store):
    from ffbench.store import RunRecord, ScoreRecord

    fixed_store.add_run(RunRecord(run_id="new-is", model="other", dataset="ucf101",
                                  created_at="2026-02-01"),
                        [ScoreRecord("is", "is@c3d-ucf101", "9" * 64, 30.0, 16)])
    t1 = layouts.table1(fixed_store.scores())
    is_cols = [c for c in t1.columns if c.startswith("IS")]
    assert is_cols == ["IS [is@c3d-ucf101 #11111111]", "IS [is@c3d-ucf101 #99999999]"]
    assert any("hash 999999999999" in n for n in t1.notes)


def test_published_rows_marked_and_cogvideo_note(fixed_store):
    t1 = _tables(fixed_store)["table1"]
    cog = next(i for i, r in enumerate(t1.rows) if r["Method"] == "CogVideo (English)")
    assert t1.rows[cog]["IS"] == 25.27
    fvd = next(c for c in t1.columns if c.startswith("FVD"))
    assert t1.rows[cog][fvd] == 701.59 and t1.text(cog, fvd) == "701.59†"
    assert "710.59" in t1.rows[cog]["Note"]
    # every published value carries the mark; no measured value does
    for (i, c), mark in t1.marks.items():
        assert (mark == "†") == (t1.rows[i]["_group"] != layouts.MEASURED_GROUP)
    assert any(n.startswith("†") for n in t1.notes)


def test_random_weights_marked_and_never_best(fixed_store):
    t = _tables(fixed_store)["results"]
    i = next(i for i, r in enumerate(t.rows) if r["Model"] == "fusionframes-tiny"
             and r["Dataset"] == "msrvtt")
    assert t.text(i, "clipsim@vit-b-32") == "0.2101‡" and t.random_weights
    assert i not in t.best_rows("clipsim@vit-b-32")  # the only value, but from random weights
    t1 = _tables(fixed_store)["table1"]
    assert any("(random weights)" in r["Method"] for r in t1.rows)


def test_best_follows_direction():
    t = ReportTable(key="k", title="t", columns=["m", "fvd", "is"],
                    rows=[{"m": "a", "fvd": 10.0, "is": 1.0}, {"m": "b", "fvd": 5.0, "is": 2.0}],
                    metrics={"fvd": "min", "is": "max"})
    assert t.best_rows("fvd") == {1} and t.best_rows("is") == {1}
    md = t.to_markdown()
    assert "| fvd↓ | is↑ |" in md and "**5.0000**" in md and "**10.0000**" not in md


def test_table3_params_and_reconstruction_split(fixed_store):
    t3 = _tables(fixed_store)["table3"]
    i = next(i for i, r in enumerate(t3.rows) if r["Method"] == "movq-3d & attn #1")
    assert t3.text(i, "#Params") == "556M" and t3.rows[i]["PSNR"] == 34.5
    assert t3.best_rows("PSNR") == {i} and t3.best_rows("#Params") == set()
    # the SSIM convention is named under the table (it moves SSIM as much as the row gaps)
    assert any("valid window" in n and "reconstruction@" in n for n in t3.notes), t3.notes


def test_format_table_plain_dataframe_still_works():
    import pandas as pd

    df = pd.DataFrame({"model": ["a|b"], "fvd": [1.23456], "random_weights": [True]})
    assert format_table(df, "md") == "| model | fvd | random_weights |\n|---|---|---|\n| a\\|b | 1.2346 | yes |"
    assert format_table(df, "csv").splitlines()[0] == "model,fvd,random_weights"
    with pytest.raises(ValueError):
        format_table(df, "xml")


def test_published_tables_load_from_package():
    from ffbench.report import published

    t1, t2, t3 = (published.load(k) for k in ("table1", "table2", "table3"))
    assert len(t1["rows"]) == 15 and len(t2["rows"]) == 2 and len(t3["rows"]) == 9
    assert all(r["source"] for t in (t1, t2, t3) for r in t["rows"])
    assert published.published_dir().parent.name == "resources"
    best = next(r for r in t1["rows"] if r["method"] == "Conv1dAttn1dBlocks (220k)")
    assert (best["is"], best["fvd"], best["clipsim"]) == (24.325, 433.054, 0.2976)


def test_table2_cost_from_profile_sweep(fixed_store, profile_dir):
    import json

    rows = json.loads((profile_dir / "profile.json").read_text())
    assert layouts.interpolation_cost(rows) == {"fusionframes": 482.0, "mfi": 1687.0}  # 241 frames
    t2 = layouts.table2(fixed_store.scores(), fixed_store.runs(), rows)
    i = next(i for i, r in enumerate(t2.rows) if r["Method"] == "ff-mfi")
    assert t2.rows[i]["TFLOPs"] == 1687.0 and t2.text(i, "TFLOPs") == "1687.00"
    assert any("at 241 output frames" in n for n in t2.notes)


def test_run_without_scores_gives_empty_measured_tables(run_dirs, profile_dir, tmp_path):
    import json

    from ffbench.report.builder import build_report

    res = json.loads((run_dirs[1] / "results.json").read_text())
    res["scores"] = []
    (run_dirs[1] / "results.json").write_text(json.dumps(res))
    build_report(run_dirs[1:], tmp_path / "o", "md", profile_dir=profile_dir)
    t2 = (tmp_path / "o" / "tables" / "table2.md").read_text()
    assert "| profile: mfi | mfi | – | – | 1687.00 |" in t2
    t1 = (tmp_path / "o" / "tables" / "table1.md").read_text()
    assert "No measured scores for this table yet." in t1 and "*Measured (ffbench)*" not in t1


def test_table2_cost_sums_the_passes_of_the_largest_configuration():
    """Real profiler rows: fps high has two interpolation passes (15 -> 57 -> 225 frames)."""
    rows = []
    for fps, passes in (("medium", [(57, 1.0)]), ("high", [(57, 1.0), (225, 4.0)])):
        for i, (frames_out, scale) in enumerate(passes, 1):
            common = {"preset": "full", "height": 512, "width": 512, "keyframes": 15, "fps": fps,
                      "steps": 50, "guidance": True, "pass": i, "frames_out": frames_out}
            rows.append({**common, "stage": "interpolation", "flops": 1e15 * scale})
            rows.append({**common, "stage": "mfi", "flops": 4.5e15 * scale})
    assert layouts.interpolation_cost(rows) == {"fusionframes": 5000.0, "mfi": 22500.0}
