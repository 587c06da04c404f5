"""Plots and ratios of profile rows (`ffbench profile` output): torch-free, so the report can
draw them from a profile directory without building any model."""
from __future__ import annotations

from pathlib import Path

from ..fileio import atomic_path

__all__ = ["CONFIG_KEYS", "interp_mfi_ratio", "plot_interp_vs_mfi", "plot_stage_flops"]

# the columns that identify one profiled configuration
CONFIG_KEYS = ["preset", "height", "width", "keyframes", "fps", "steps", "guidance"]


def interp_mfi_ratio(df) -> "object":
    """Per configuration: FLOPs per video of MFI / FusionFrames interpolation (all passes)."""
    keys = CONFIG_KEYS
    sub = df[df["stage"].isin(["interpolation", "mfi"])]
    tot = sub.groupby(keys + ["stage"])["flops"].sum().unstack("stage")
    tot["mfi_over_interpolation"] = tot["mfi"] / tot["interpolation"]
    tot["frames_out"] = sub.groupby(keys)["frames_out"].max()  # the last pass's output
    return tot.reset_index()


def _pyplot():
    """matplotlib.pyplot on the Agg backend (headless: profiles are drawn on servers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, stem: Path) -> list[Path]:
    """STEM.png and STEM.svg (atomic writes), then the figure is closed."""
    out = []
    for ext in ("png", "svg"):
        path = stem.with_suffix(f".{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format=ext)
        out.append(path)
    _pyplot().close(fig)
    return out


def plot_interp_vs_mfi(df, stem: Path) -> list[Path]:
    plt = _pyplot()
    r = interp_mfi_ratio(df)
    fig, ax = plt.subplots(figsize=(6, 4))
    if len(r):
        for (h, w), g in r.groupby(["height", "width"]):
            g = g.sort_values("frames_out")
            ax.plot(g["frames_out"], g["interpolation"] / 1e12, "o-", label=f"FusionFrames {h}x{w}")
            ax.plot(g["frames_out"], g["mfi"] / 1e12, "s--", label=f"MFI {h}x{w}")
        ax.set_yscale("log")
    ax.set_xlabel("output frames")
    ax.set_ylabel("interpolation TFLOPs per video")
    ax.set_title("Interpolation vs masked-frame interpolation")
    ax.legend(fontsize=7)
    return _save(fig, stem)


def plot_stage_flops(df, stem: Path) -> list[Path]:
    plt = _pyplot()
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
    return _save(fig, stem)
