"""The HTML report: one self-contained folder (index.html + assets/), no network.

Jinja2 with autoescape on (prompts and model names are user text). Videos and posters are copied
into assets/ (mp4 for the <video> element, the run's poster jpg, or one made from the middle
frame when the run has none); plots are linked PNGs with their SVG beside them; CSS is inline.
A banner sits at the top whenever any number or video comes from random weights.

Layout rules (issue 22; checked in headless Chromium by tests/report/test_report_layout.py, which
measures boxes rather than looking for load errors):
- metric headers such as `fvd@stylegan-v-2048x16↓` wrap at `@`, `-`, `_` and `/` (`<wbr>`), so
  neighbouring headers never overlap;
- every table sits in a `.card` that scrolls horizontally (`overflow-x: auto`) when the table is
  wider than the page: the page itself never scrolls sideways;
- the profile table shows chosen columns with human labels (`PROFILE_COLUMNS`); the full rows
  stay in profile.json / profile.csv;
- videos are `preload="none"` with a poster, so opening the report fetches posters only;
- prompts longer than `PROMPT_CHARS` are cut with "…" (full text in the `title`, shown on hover)
  and clamped to a few lines by CSS, so a 10,000-character prompt cannot stretch the video grid;
  a prompt that an encoder truncated (a sample JSON with `prompt_truncated: true`, e.g. CLIP's
  77 tokens) is tagged "truncated" in the grid.
"""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__ as ffbench_version
from .layouts import normalize_scores

TEMPLATES = Path(__file__).resolve().parent / "templates"
PROMPT_CHARS = 240  # longer prompts are cut in the grid; the full text is the cell's title

# profile.json field -> column label; the table shows these (in this order) when present
PROFILE_COLUMNS = {
    "model": "Model", "stage": "Stage", "variant": "Variant", "pass": "Pass", "preset": "Preset",
    "device": "Device", "height": "Height", "width": "Width", "keyframes": "Keyframes",
    "fps": "FPS mode", "steps": "Steps", "guidance": "CFG", "decoder": "Decoder",
    "frames_in": "Frames in", "frames_out": "Frames out", "batch": "Batch", "calls": "Calls",
    "flops_per_call": "FLOPs per call", "flops": "FLOPs", "params": "Parameters",
    "weights_bytes_fp16": "Weights (fp16)", "weights_bytes_fp32": "Weights (fp32)",
    "activation_bytes": "Largest activation", "seconds": "Time (s)",
}
_BYTES_COLUMNS = {"weights_bytes_fp16", "weights_bytes_fp32", "weights_bytes_bf16", "activation_bytes"}


def wrap_points(text) -> str:
    """Escaped `text` with a line-break opportunity (<wbr>) after `@`, `-`, `_` and `/`: long
    metric@protocol headers wrap there instead of overflowing into their neighbours."""
    import re

    from markupsafe import Markup, escape

    parts = re.split(r"(?<=[@\-_/])", str(text))
    return Markup("<wbr>").join(escape(p) for p in parts)


def short_prompt(text: str, limit: int = PROMPT_CHARS) -> str:
    """The prompt as shown in the grid: at most `limit` characters, cut with "…"."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _profile_table(profile: list[dict], limit: int = 200) -> tuple[list[dict], list[dict]]:
    """(columns [{key, label}], rows [{key: formatted text}]) of the profile section."""
    rows = profile[:limit]
    present = {k for r in rows for k, v in r.items() if v is not None}
    columns = [{"key": k, "label": label} for k, label in PROFILE_COLUMNS.items() if k in present]
    out = []
    for r in rows:
        out.append({c["key"]: (_bytes(r.get(c["key"])) if c["key"] in _BYTES_COLUMNS
                               else _num(r.get(c["key"]))) for c in columns})
    return columns, out


def _bytes(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    for scale, suffix in ((2 ** 40, "TiB"), (2 ** 30, "GiB"), (2 ** 20, "MiB"), (2 ** 10, "KiB")):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {suffix}"
    return f"{value:.0f} B"


def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "j2", "html.j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["wrap_points"] = wrap_points
    return env


def _num(value) -> str:
    """Profile cells: large numbers in engineering form (FLOPs 3.2e13 -> 32.0T)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    a = abs(value)
    for scale, suffix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{value / scale:.2f}{suffix}"
    return f"{value:g}"


def table_view(table) -> dict:
    """A ReportTable as plain data the template walks (cells already formatted)."""
    best = {c: table.best_rows(c) for c in table.metrics}
    rows, group = [], None
    for i, r in enumerate(table.rows):
        g = r.get("_group")
        if g is not None and g != group:
            rows.append({"group": g})
            group = g
        rows.append({"cells": [{"text": table.text(i, c), "best": i in best.get(c, ()),
                                "numeric": c in table.metrics,
                                "wide": c in ("Source", "Note")} for c in table.columns],
                     "measured": g == "Measured (ffbench)"})
    short = {"results": "Results"}.get(table.key) or table.key.replace("table", "Table ")
    return {"key": table.key, "short": short, "title": table.title, "notes": table.notes,
            "headers": [{"text": table.header(c), "numeric": c in table.metrics,
                         "label": _column_label(c)} for c in table.columns],
            "rows": rows, "random_weights": table.random_weights}


def _column_label(column: str) -> str | None:
    """A readable title for a metric@protocol header (shown on hover), else None."""
    metric, at, protocol = str(column).partition("@")
    return f"{metric} under protocol {protocol}" if at else None


def _poster(src_jpg: Path, mp4: Path, npy: Path, dst: Path) -> bool:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src_jpg.is_file():
        shutil.copyfile(src_jpg, dst)
        return True
    try:  # no poster from the run: the middle frame of the exact tensor, else of the mp4
        from PIL import Image

        from ..video import read_video

        video = read_video(npy if npy.is_file() else mp4)
        Image.fromarray(video[video.shape[0] // 2].numpy()).save(dst, quality=90)
        return True
    except Exception:  # noqa: BLE001 — a missing poster must not stop the report
        return False


def _videos(out: Path, infos, max_per_run: int, quiet: bool = False):
    """Grid rows (one per prompt, in first-seen order) x columns (one per run)."""
    from ..progress import progress

    bar = progress(total=sum(min(len(i.samples), max_per_run) for i in infos), desc="report videos",
                   unit="video", quiet=quiet)
    columns = []
    truncated: set[str] = set()
    by_prompt: dict[str, dict[int, list[dict]]] = {}
    for k, info in enumerate(infos):
        columns.append({"model": info.model, "run_id": info.run_id,
                        "random_weights": info.random_weights})
        for sample in info.samples[:max_per_run]:
            bar.update(1)
            sid = str(sample.get("sample_id", ""))
            mp4 = info.path / "samples" / f"{sid}.mp4"
            if not sid or not mp4.is_file():
                continue
            vdst = out / "assets" / "videos" / f"run{k}" / f"{sid}.mp4"
            vdst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(mp4, vdst)
            pdst = out / "assets" / "posters" / f"run{k}" / f"{sid}.jpg"
            has_poster = _poster(info.path / "previews" / f"{sid}.jpg", mp4,
                                 info.path / "samples" / f"{sid}.npy", pdst)
            cell = {"video": vdst.relative_to(out).as_posix(),
                    "poster": pdst.relative_to(out).as_posix() if has_poster else None,
                    "sample_id": sid, "seed": sample.get("seed"),
                    "size": f"{sample.get('frames', '?')}×{sample.get('height', '?')}×"
                            f"{sample.get('width', '?')} @ {sample.get('fps', '?')} fps",
                    "random_weights": bool(sample.get("random_weights"))}
            prompt = str(sample.get("prompt", sid))
            by_prompt.setdefault(prompt, {}).setdefault(k, []).append(cell)
            if sample.get("prompt_truncated"):
                truncated.add(prompt)
    rows = [{"prompt": p, "prompt_short": short_prompt(p),
             "prompt_cut": short_prompt(p) != " ".join(p.split()), "truncated": p in truncated,
             "cells": [cells.get(k, []) for k in range(len(infos))]}
            for p, cells in by_prompt.items()]
    bar.close()
    return columns, rows


def _metadata(infos, runs, scores) -> list[dict]:
    sc = normalize_scores(scores)
    out = []
    for rec in (runs.to_dict("records") if runs is not None and len(runs) else []):
        rid = rec["run_id"]
        info = next((i for i in infos if i.run_id == rid), None)
        res = info.details if info else {}
        sub = sc[sc["run_id"] == rid] if len(sc) else sc
        out.append({
            "run_id": rid, "model": rec.get("model"), "dataset": rec.get("dataset"),
            "prompt_set": rec.get("prompt_set"), "seed": rec.get("seed"),
            "n_samples": rec.get("n_samples"), "n_planned": res.get("n_planned"),
            "n_failed": rec.get("n_failed"), "random_weights": bool(rec.get("random_weights")),
            "created_at": rec.get("created_at"), "config_hash": rec.get("config_hash"),
            "run_dir": rec.get("run_dir"),
            "versions": json.loads(rec.get("versions_json") or "{}"),
            "hardware": json.loads(rec.get("hardware_json") or "{}"),
            "failures": res.get("failures", [])[:20],
            "scores": [{"metric": s["metric"], "protocol": s["protocol"],
                        "hash": s["protocol_hash"], "n": s["n"],
                        "weights_sha256": s.get("weights_sha256") or "—",
                        "random_weights": bool(s["random_weights"]),
                        "error": _extra_error(s)}
                       for s in sub.to_dict("records")]})
    return out


def _extra_error(score) -> str:
    try:
        return str(json.loads(score.get("extra_json") or "{}").get("error", ""))
    except (TypeError, ValueError):
        return ""


def write_html(out: Path, tables, figures, infos, runs, scores, profile,
               max_videos_per_run: int = 24, quiet: bool = False) -> Path:
    out = Path(out)
    columns, video_rows = _videos(out, infos, max_videos_per_run, quiet)
    meta = _metadata(infos, runs, scores)
    sc = normalize_scores(scores)
    random_any = (any(m["random_weights"] for m in meta)
                  or bool(len(sc) and sc["random_weights"].astype(bool).any()))
    random_models = sorted({m["model"] for m in meta if m["random_weights"]}
                           | {r["model"] for r in sc.to_dict("records") if r["random_weights"]})
    figs = [{"title": f.title, "caption": f.caption,
             "png": f.png.relative_to(out).as_posix(), "svg": f.svg.relative_to(out).as_posix()}
            for f in figures]
    summary = {
        "n_runs": len(meta), "models": sorted({m["model"] for m in meta}),
        "datasets": sorted({str(m["dataset"]) for m in meta}),
        "n_scores": int(len(sc)), "n_samples": sum(int(m["n_samples"] or 0) for m in meta),
        "n_failed": sum(int(m["n_failed"] or 0) for m in meta),
        "protocols": sorted({(r["protocol"], r["protocol_hash"][:12]) for r in sc.to_dict("records")}),
    }
    profile_columns, profile_rows = _profile_table(profile)
    html = _env().get_template("report.html.j2").render(
        title="ffbench report", generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        ffbench_version=ffbench_version, random_any=random_any, random_models=random_models,
        summary=summary, tables=[table_view(t) for t in tables], figures=figs,
        video_columns=columns, video_rows=video_rows, runs=meta,
        profile_rows=profile_rows, profile_columns=profile_columns)
    from ..fileio import atomic_write_text

    return atomic_write_text(out / "index.html", html)
