"""Report plots (matplotlib, Agg backend; every figure saved as PNG and SVG).

- metric bars per model with bootstrap confidence intervals (ci_low/ci_high of each score)
- cost per stage from a profile dir (FLOPs, else seconds) and from the runs' own timings
- interpolation vs masked frame interpolation cost against output frames (profile rows with
  `frames`)
- per-class scores for UCF-101 (results.json `per_class`)

Each function returns a list of `Figure` records (title, png, svg, caption); none writes a plot
when it has no data, so the report shows only what was measured.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .layouts import DIRECTIONS, RANDOM_MARK, normalize_scores


@dataclass
class Figure:
    key: str
    title: str
    png: Path
    svg: Path
    caption: str = ""


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                         "svg.hashsalt": "ffbench", "svg.fonttype": "none"})
    return plt


def _save(fig, out_dir: Path, key: str, title: str, caption: str) -> Figure:
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{key}.png", out_dir / f"{key}.svg"
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    fig.savefig(svg, metadata={"Date": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return Figure(key=key, title=title, png=png, svg=svg, caption=caption)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name).strip("-").lower()


def metric_bars(scores, out_dir: Path) -> list[Figure]:
    """One bar chart per metric@protocol (and hash): a bar per model, CI whiskers when known."""
    df = normalize_scores(scores)
    df = df[df["value"].notna()]
    plt = _plt()
    figs = []
    for (proto, h, metric), sub in df.groupby(["protocol", "protocol_hash", "metric"], sort=False):
        labels = [f"{m}\n({d})" for m, d in zip(sub["model"], sub["dataset"])]
        values = sub["value"].astype(float).tolist()
        lo = [v - float(c) if c is not None and not math.isnan(c) else 0.0
              for v, c in zip(values, sub["ci_low"].astype(float))]
        hi = [float(c) - v if c is not None and not math.isnan(c) else 0.0
              for v, c in zip(values, sub["ci_high"].astype(float))]
        rnd = sub["random_weights"].astype(bool).tolist()
        fig, ax = plt.subplots(figsize=(5.0, 3.2))
        colors = ["#c0504d" if r else "#4f81bd" for r in rnd]
        ax.bar(range(len(values)), values, color=colors,
               yerr=[[max(0, x) for x in lo], [max(0, x) for x in hi]], capsize=4)
        if len(values) > 3:
            ax.set_xticks(range(len(values)), labels, fontsize=7, rotation=25, ha="right")
        else:
            ax.set_xticks(range(len(values)), labels, fontsize=8)
        arrow = {"max": "↑ higher is better", "min": "↓ lower is better"}.get(DIRECTIONS.get(metric), "")
        ax.set_ylabel(f"{metric.upper()}  {arrow}")
        ax.set_title(f"{metric.upper()} ({proto})"
                     + (f"\n{RANDOM_MARK} red bars: random weights" if any(rnd) else ""), fontsize=9)
        key = f"bars-{_safe(metric)}-{_safe(proto)}-{h[:8]}"
        n = ", ".join(str(int(x)) for x in dict.fromkeys(sub["n"]))
        figs.append(_save(fig, out_dir, key, f"{metric.upper()} ({proto})",
                          f"{metric.upper()} per model, protocol {proto} (hash {h[:12]}), N = {n}; "
                          "whiskers: bootstrap confidence interval where the run recorded one."))
    return figs


def _profile_figure(profile_rows, out_dir: Path, key: str, title: str, caption: str, plot,
                    needs: set) -> list[Figure]:
    """A profile plot drawn by ffbench.profiling.plots (the one implementation `ffbench profile
    --out` uses too), when the rows hold the stages it needs."""
    import pandas as pd

    df = pd.DataFrame(profile_rows or [])
    if df.empty or "stage" not in df or not needs <= set(df["stage"]):
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = plot(df, out_dir / key)
    return [Figure(key=key, title=title, png=png, svg=svg, caption=caption)]


def stage_cost(profile_rows: list[dict], out_dir: Path) -> list[Figure]:
    """FLOPs per pipeline stage, stacked, per profiled configuration (`pipeline` rows)."""
    from ..profiling.plots import plot_stage_flops

    return _profile_figure(profile_rows, out_dir, "cost-per-stage", "Cost per stage",
                           "TFLOPs per video of each pipeline stage, FusionFrames vs masked-frame "
                           "interpolation, from the profile (meta device: no weights needed).",
                           plot_stage_flops, {"pipeline"})


def run_timings(runs, out_dir: Path) -> list[Figure]:
    """Measured wall time per stage of each run (`timings_json` of ResultsStore.runs())."""
    runs = runs.to_dict("records") if runs is not None else []
    models = [r["model"] for r in runs]
    data = {(r["model"] if models.count(r["model"]) == 1 else f"{r['model']}\n{r['run_id']}"):
            {k: float(v) for k, v in json.loads(r.get("timings_json") or "{}").items()
             if isinstance(v, (int, float)) and not isinstance(v, bool)} for r in runs}
    data = {m: t for m, t in data.items() if t}
    if not data:
        return []
    plt = _plt()
    # grouped, not stacked: timing keys may overlap (a total beside a per-video mean)
    stages = list(dict.fromkeys(s for t in data.values() for s in t))
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    width = 0.8 / max(1, len(stages))
    for k, s in enumerate(stages):
        ax.bar([i + k * width for i in range(len(data))], [t.get(s, 0.0) for t in data.values()],
               width, label=s)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(data))], list(data), fontsize=8)
    ax.set_ylabel("seconds")
    ax.legend(fontsize=7)
    ax.set_title("Wall time per stage (measured)", fontsize=9)
    return [_save(fig, out_dir, "run-timings", "Wall time per stage",
                  "Seconds per stage as measured by each run (hardware in the run metadata).")]


def interpolation_vs_frames(profile_rows: list[dict], out_dir: Path) -> list[Figure]:
    """FusionFrames interpolation vs masked frame interpolation cost against output frames."""
    from ..profiling.plots import plot_interp_vs_mfi

    return _profile_figure(profile_rows, out_dir, "interpolation-vs-frames",
                           "Interpolation cost vs frames",
                           "TFLOPs per video of FusionFrames interpolation and masked frame "
                           "interpolation (all passes) against the number of output frames (profile).",
                           plot_interp_vs_mfi, {"interpolation", "mfi"})


def per_class(infos, out_dir: Path) -> list[Figure]:
    """Per-class scores (UCF-101) for each run and metric@protocol, sorted by value."""
    plt = _plt()
    figs = []
    for info in infos:
        for metric, values in (info.details.get("per_class") or {}).items():
            items = sorted(((str(k), float(v)) for k, v in values.items()
                            if isinstance(v, (int, float))), key=lambda kv: kv[1])
            if not items:
                continue
            fig, ax = plt.subplots(figsize=(5.0, max(3.2, 0.16 * len(items) + 0.8)))
            ax.barh(range(len(items)), [v for _, v in items], color="#4f81bd")
            ax.set_yticks(range(len(items)), [k for k, _ in items], fontsize=6)
            ax.set_xlabel(metric)
            ax.set_title(f"{info.model}: {metric} per class", fontsize=9)
            key = f"per-class-{_safe(info.run_id)}-{_safe(metric)}"
            figs.append(_save(fig, out_dir, key, f"{info.model}: {metric} per class",
                              f"{metric} per UCF-101 class for run {info.run_id}."))
    return figs


def all_plots(scores, runs, infos, profile_rows, out_dir) -> list[Figure]:
    """Numbers from the store's frames (`scores`, `runs`); per-class values from the run dirs."""
    out_dir = Path(out_dir)
    return (metric_bars(scores, out_dir) + stage_cost(profile_rows, out_dir)
            + run_timings(runs, out_dir) + interpolation_vs_frames(profile_rows, out_dir)
            + per_class(infos, out_dir))
