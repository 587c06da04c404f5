"""The report draws the profile's cost plots from real `ffbench profile` rows."""
from __future__ import annotations

import json


def test_cost_plots_from_profiler_rows(tmp_path):
    from ffbench.profiling.stages import Point
    from ffbench.profiling.sweep import sweep
    from ffbench.report import plots

    df = sweep(Point(preset="tiny", height=64, width=64, keyframes=3, steps=2),
               {"fps": ["medium", "high"]}, progress=False)
    rows = json.loads(df.to_json(orient="records"))  # as the report reads profile.json
    figs = plots.stage_cost(rows, tmp_path) + plots.interpolation_vs_frames(rows, tmp_path)
    assert [f.key for f in figs] == ["cost-per-stage", "interpolation-vs-frames"]
    for f in figs:
        assert f.png.stat().st_size > 1000 and f.svg.read_text().lstrip().startswith("<?xml")
    # rows without the stages a plot needs give no figure rather than an empty one
    assert plots.stage_cost([r for r in rows if r["stage"] != "pipeline"], tmp_path) == []
    assert plots.interpolation_vs_frames([], tmp_path) == []
