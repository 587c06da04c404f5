"""Sweeps of the cost profile over a grid, as a pandas DataFrame, CSV/JSON files and plots.

Axes: resolution (square output size in pixels; or height/width), keyframes, fps, steps, guidance,
decoder, preset. ``sweep(base, grid, stages)`` profiles every combination (stages.profile_point)
with a tqdm progress bar. ``write_profile(df, out_dir)`` writes the run-directory profile contract
(docs/RUN_DIR.md): ``profile.json`` (list of row dicts), ``profile.csv`` and the plots as PNG + SVG:

- ``interp_vs_mfi``: FLOPs per video of FusionFrames interpolation and of masked-frame
  interpolation against the number of output frames (one point per fps mode / keyframe count);
- ``stage_flops``: stacked bars of FLOPs per stage of the whole pipeline, one bar per
  configuration and interpolation method.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import fields, replace
from pathlib import Path

from ..errors import ConfigError
from ..fileio import atomic_write_text
from .plots import interp_mfi_ratio, plot_interp_vs_mfi, plot_stage_flops
from .stages import STAGES, Point, profile_point

__all__ = ["AXES", "parse_sweep", "grid_points", "sweep", "write_profile", "plot_interp_vs_mfi",
           "plot_stage_flops", "interp_mfi_ratio"]

_CASTS = {"resolution": int, "height": int, "width": int, "keyframes": int, "steps": int,
          "fps": str, "decoder": str, "preset": str,
          "guidance": lambda v: {"on": True, "true": True, "1": True, "off": False, "false": False,
                                 "0": False}[v.lower()]}
AXES = tuple(_CASTS)


def parse_sweep(specs) -> dict[str, list]:
    """["resolution=256,512", "fps=medium,high"] -> {"resolution": [256, 512], "fps": [...]}."""
    grid: dict[str, list] = {}
    for spec in specs or ():
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or name not in _CASTS or not values.strip():
            raise ConfigError(f"--sweep {spec!r}: expected AXIS=V1,V2,... with AXIS one of {', '.join(AXES)}")
        try:
            grid[name] = [_CASTS[name](v.strip()) for v in values.split(",") if v.strip()]
        except (ValueError, KeyError) as e:
            raise ConfigError(f"--sweep {spec!r}: bad value ({e})") from None
    return grid


def grid_points(base: Point, grid: dict[str, list]) -> list[Point]:
    names = list(grid)
    points = []
    for combo in itertools.product(*(grid[n] for n in names)):
        changes = dict(zip(names, combo))
        if "resolution" in changes:
            r = changes.pop("resolution")
            changes.update(height=r, width=r)
        known = {f.name for f in fields(Point)}
        points.append(replace(base, **{k: v for k, v in changes.items() if k in known}))
    return points


def sweep(base: Point, grid: dict[str, list] | None = None, stages=STAGES, progress: bool = True,
          decoder_variants=None):
    """DataFrame of profile rows over the grid (one profile_point per combination)."""
    import pandas as pd

    from ..progress import progress as progress_bar

    points = grid_points(base, grid or {})
    rows = []
    for p in progress_bar(points, desc="profile", unit="config", quiet=not progress):
        rows.extend(profile_point(p, stages, decoder_variants))
    return pd.DataFrame(rows)


def write_profile(df, out_dir, plots: bool = True) -> list[Path]:
    """profile.json (list of row dicts), profile.csv and the plots (PNG + SVG) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = json.loads(df.to_json(orient="records"))
    atomic_write_text(out / "profile.json", json.dumps(records, indent=1))
    csv = df.copy()
    if "top_modules" in csv:
        csv["top_modules"] = [json.dumps(v) for v in csv["top_modules"]]
    atomic_write_text(out / "profile.csv", csv.to_csv(index=False))
    written = [out / "profile.json", out / "profile.csv"]
    if plots:
        if {"interpolation", "mfi"} <= set(df["stage"]):
            written += plot_interp_vs_mfi(df, out / "interp_vs_mfi")
        if "pipeline" in set(df["stage"]):
            written += plot_stage_flops(df, out / "stage_flops")
    return written
