"""`build_report`: run directories (+ optionally a results store and a profile) -> a report folder.

Every number comes through `ResultsStore.runs()` / `.scores()`, the leaderboard's reader (issue
16): run directories are stored as the harness stores a run (`ResultsStore.add_results`) into a
scratch store; `--db` is opened read-only. Run directories give only what the store does not
hold (`RunInfo`: videos, per-sample metadata, per-class values, failures). Never the models.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..fileio import atomic_write_text

FORMATS = ("html", "md", "latex", "csv")
log = logging.getLogger(__name__)

__all__ = ["build_report", "RunInfo", "load_run", "load_profile", "collect", "FORMATS"]


@dataclass
class RunInfo:
    """One run directory's files. `model` and `random_weights` are copied from the run's store
    row by `collect` (the one random-weights rule: ffbench.store.random_weights_of)."""

    path: Path
    run_id: str
    samples: list[dict] = field(default_factory=list)  # samples/<id>.json, plan order
    details: dict = field(default_factory=dict)  # results.json: n_planned, failures, per_class
    model: str = ""
    random_weights: bool = False


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not readable JSON ({exc})") from exc


def load_run(path) -> tuple[RunInfo, dict]:
    """A finished run directory: its RunInfo and results.json; a ConfigError naming the folder
    or file when it is not one (or not finished)."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"{path}: not a run directory (no such directory)")
    if not (path / "results.json").is_file():
        raise ConfigError(f"{path}: no results.json — the run is not finished or not merged "
                          "(run `ffbench run ... --merge` first)")
    results = _read_json(path / "results.json")
    missing = [k for k in ("run_id", "model") if not isinstance(results, dict) or not results.get(k)]
    if missing:
        raise ConfigError(f"{path / 'results.json'}: no {' or '.join(missing)} (not written by "
                          "ffbench run?)")
    plan = path / "plan.jsonl"
    order = [json.loads(line) for line in plan.read_text().splitlines() if line.strip()] \
        if plan.is_file() else []
    samples = [{**item, **_read_json(meta)} for item in order if item.get("sample_id")
               and (meta := path / "samples" / f"{item['sample_id']}.json").is_file()]
    if not order:  # no plan: every sample json, sorted by id
        samples = [_read_json(p) for p in sorted((path / "samples").glob("*.json"))]
    details = {k: results[k] for k in ("n_planned", "failures", "per_class") if k in results}
    return RunInfo(path=path, run_id=str(results["run_id"]), samples=samples, details=details), results


def load_profile(profile_dir) -> list[dict]:
    if profile_dir is None:
        return []
    p = Path(profile_dir) / "profile.json"
    if not p.is_file():
        raise ConfigError(f"{profile_dir}: no profile.json (write one with `ffbench profile --out DIR`)")
    rows = _read_json(p)
    if isinstance(rows, dict):  # tolerate {"rows": [...]}
        rows = rows.get("rows", [])
    if not isinstance(rows, list):
        raise ConfigError(f"{p}: expected a list of row objects")
    return rows


def collect(run_dirs=(), store=None):
    """(runs, scores, run_infos) as `ResultsStore.runs()` / `.scores()` read them: the run dirs
    (in the order given), then every run in `store` (a ResultsStore, or a URL opened read-only)
    not given as a directory; a store copy that differs from its directory gets a warning."""
    import pandas as pd

    from ..store import ResultsStore

    scratch, infos = ResultsStore.scratch(), []
    for p in run_dirs:
        info, results = load_run(p)
        scratch.add_results(results, str(info.path.resolve()))
        infos.append(info)
    runs, scores = scratch.runs(), scratch.scores()
    given = {i.run_id: k for k, i in enumerate(infos)}
    runs = runs.sort_values("run_id", key=lambda ids: ids.map(given), kind="stable", ignore_index=True)
    for info in infos:  # a run id is unique in a store: the last directory given with it won
        row = runs[runs["run_id"] == info.run_id].iloc[0]
        info.model, info.random_weights = row["model"], bool(row["random_weights"])
    if store is not None:
        db = store if isinstance(store, ResultsStore) else ResultsStore(store, read_only=True)
        for info in infos:
            if differ := scratch.differences(db, info.run_id):
                log.warning("%s: run %s differs from its copy in %s (%s); the report uses the run "
                            "directory's", info.path, info.run_id, db.shown_url, ", ".join(differ))
        s_runs, s_scores = db.runs(), db.scores()
        s_runs = s_runs[~s_runs["run_id"].isin(given)]
        s_scores = s_scores[~s_scores["run_id"].isin(given)]
        runs = pd.concat([runs, s_runs], ignore_index=True) if len(runs) else s_runs
        scores = pd.concat([scores, s_scores], ignore_index=True) if len(scores) else s_scores
    return runs, scores, infos


def parse_formats(formats) -> list[str]:
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f.strip()]
    out = []
    for f in formats:
        f = f.strip().lower()
        f = {"tex": "latex", "markdown": "md"}.get(f, f)
        if f not in FORMATS:
            raise ConfigError(f"--format: unknown format {f!r}; use any of {', '.join(FORMATS)}")
        out.append(f)
    if not out:
        raise ConfigError("--format: give at least one of " + ", ".join(FORMATS))
    return list(dict.fromkeys(out))


def build_report(run_dirs, out_dir, formats=FORMATS, profile_dir=None, store=None,
                 max_videos_per_run: int = 24, quiet: bool = False) -> Path:
    """Write the report for `run_dirs` (and `store`: a ResultsStore or URL) into `out_dir`.

    Always writes tables/ in the requested text formats (md, latex -> .tex, csv) and plots/
    (PNG + SVG); with "html" also index.html + assets/ (self-contained: copied videos, posters,
    plots, inline CSS). Returns the path of index.html; without "html" in `formats`, the path
    of the tables/ folder.
    """
    from . import layouts, plots

    formats = parse_formats(formats)
    run_dirs = [Path(p) for p in run_dirs]
    if not run_dirs and store is None:
        raise ConfigError("nothing to report: give run directories and/or --db")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs, scores, infos = collect(run_dirs, store)
    profile = load_profile(profile_dir)
    tables = layouts.all_tables(scores, runs, profile)

    tdir = out / "tables"
    suffix = {"md": ".md", "latex": ".tex", "csv": ".csv"}
    for fmt in formats:
        if fmt == "html":
            continue
        tdir.mkdir(exist_ok=True)
        for t in tables:
            atomic_write_text(tdir / f"{t.key}{suffix[fmt]}", t.render(fmt))

    plot_dir = out / "assets" / "plots"
    figures = plots.all_plots(scores, runs, infos, profile, plot_dir)

    if "html" in formats:
        from .html import write_html

        return write_html(out, tables=tables, figures=figures, infos=infos, runs=runs,
                          scores=scores, profile=profile, max_videos_per_run=max_videos_per_run,
                          quiet=quiet)
    return out / "tables"


