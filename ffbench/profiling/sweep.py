"""Sweeps of the cost profile over a grid, as a pandas DataFrame, CSV/JSON files and plots.

Axes: resolution (square output size in pixels; or height/width), keyframes, fps, steps, guidance,
decoder, preset. ``sweep(base, grid, stages)`` profiles every combination (stages.profile_point)
with a tqdm progress bar. ``write_profile(df, out_dir)`` writes the run-directory profile contract
(notes RUN_DIR.md): ``profile.json`` (list of row dicts), ``profile.csv`` and the plots as PNG + SVG:

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
from ..fileio import atomic_path, atomic_write_text
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
    from tqdm.auto import tqdm

    points = grid_points(base, grid or {})
    rows = []
    for p in tqdm(points, desc="profile", unit="config", disable=not progress):
        rows.extend(profile_point(p, stages, decoder_variants))
    return pd.DataFrame(rows)


def interp_mfi_ratio(df) -> "object":
    """Per configuration: FLOPs per video of MFI / FusionFrames interpolation (all passes)."""
    keys = ["preset", "height", "width", "keyframes", "fps", "steps", "guidance"]
    sub = df[df["stage"].isin(["interpolation", "mfi"])]
    tot = sub.groupby(keys + ["stage"])["flops"].sum().unstack("stage")
    tot["mfi_over_interpolation"] = tot["mfi"] / tot["interpolation"]
    return tot.reset_index()


def _save(fig, stem: Path) -> list[Path]:
    out = []
    for ext in ("png", "svg"):
        path = stem.with_suffix(f".{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format=ext)
        out.append(path)
    return out


def plot_interp_vs_mfi(df, stem: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = interp_mfi_ratio(df)
    fig, ax = plt.subplots(figsize=(6, 4))
    if len(r):
        from ..fusionframes.interpolation import output_frames

        r["frames_out"] = [output_frames(k, f) for k, f in zip(r["keyframes"], r["fps"])]
        for (h, w), g in r.groupby(["height", "width"]):
            g = g.sort_values("frames_out")
            ax.plot(g["frames_out"], g["interpolation"] / 1e12, "o-", label=f"FusionFrames {h}x{w}")
            ax.plot(g["frames_out"], g["mfi"] / 1e12, "s--", label=f"MFI {h}x{w}")
        ax.set_yscale("log")
    ax.set_xlabel("output frames")
    ax.set_ylabel("interpolation TFLOPs per video")
    ax.set_title("Interpolation vs masked-frame interpolation")
    ax.legend(fontsize=7)
    paths = _save(fig, stem)
    plt.close(fig)
    return paths


def plot_stage_flops(df, stem: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pipe = df[df["stage"] == "pipeline"]
    parts = [c for c in ("flops_text_encoder", "flops_keyframes", "flops_interpolation", "flops_mfi",
                         "flops_decoder") if c in pipe.columns]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(pipe) + 2), 4))
    labels = [f"{r.variant}\n{r.height}x{r.width} {r.fps}\nT={r.keyframes} s={r.steps}"
              + ("" if r.guidance else " no-cfg") for r in pipe.itertuples()]
    bottom = [0.0] * len(pipe)
    for c in parts:
        vals = [0.0 if v != v else v / 1e12 for v in pipe[c].tolist()]  # NaN -> 0
        ax.bar(range(len(pipe)), vals, bottom=bottom, label=c.removeprefix("flops_"))
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xticks(range(len(pipe)), labels, fontsize=6)
    ax.set_ylabel("TFLOPs per video")
    ax.set_title("FLOPs per stage")
    ax.legend(fontsize=7)
    paths = _save(fig, stem)
    plt.close(fig)
    return paths


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
