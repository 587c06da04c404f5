"""`build_report`: run directories (+ optionally a results store and a profile) -> a report folder.

Reads only what the harness wrote (docs/RUN_DIR.md: run.json, plan.jsonl, samples/<id>.json,
.mp4, previews/<id>.jpg, results.json) and what `ffbench profile` wrote (profile.json); never
the models (docs/DESIGN.md: report/ reads the store, never the models).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..fileio import atomic_write_text

FORMATS = ("html", "md", "latex", "csv")

__all__ = ["build_report", "RunInfo", "load_run", "load_profile", "collect", "FORMATS"]


@dataclass
class RunInfo:
    """One run directory as the report sees it."""

    path: Path
    results: dict
    run: dict = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)  # samples/<id>.json, plan order

    @property
    def run_id(self) -> str:
        return str(self.results.get("run_id") or self.run.get("run_id") or self.path.name)

    @property
    def model(self) -> str:
        return str(self.results.get("model") or self.run_id)

    @property
    def random_weights(self) -> bool:
        from ..store import random_weights_of

        return random_weights_of(self.results.get("random_weights"), self.results.get("scores", []))


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not readable JSON ({exc})") from exc


def load_run(path) -> RunInfo:
    """A finished run directory; a clear error when it is not one (or not finished)."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"{path}: not a run directory (no such directory)")
    if not (path / "results.json").is_file():
        raise ConfigError(f"{path}: no results.json — the run is not finished or not merged "
                          "(run `ffbench run ... --merge` first)")
    results = _read_json(path / "results.json")
    run = _read_json(path / "run.json") if (path / "run.json").is_file() else {}
    order = []
    if (path / "plan.jsonl").is_file():
        for line in (path / "plan.jsonl").read_text().splitlines():
            if line.strip():
                order.append(json.loads(line))
    samples = []
    for item in order:
        sid = item.get("sample_id")
        meta_path = path / "samples" / f"{sid}.json"
        if sid and meta_path.is_file():
            samples.append({**item, **_read_json(meta_path)})
    if not order:  # no plan: every sample json, sorted by id
        samples = [_read_json(p) for p in sorted((path / "samples").glob("*.json"))]
    return RunInfo(path=path, results=results, run=run, samples=samples)


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


def _frames_from_runs(runs: list[RunInfo]):
    """DataFrames shaped like ResultsStore.runs() / .scores() from results.json files, through
    the store's own record mapping (ffbench.store.records_from_results)."""
    from dataclasses import asdict

    import pandas as pd

    from ..store import records_from_results

    run_rows, score_rows = [], []
    for r in runs:
        res = {"run_id": r.run_id, "model": r.model, **r.results}
        res.setdefault("created_at", r.run.get("created_at", ""))
        if r.run.get("config_hash"):
            res["config_hash"], res["config"] = r.run["config_hash"], r.run.get("config", {})
        rec, scores = records_from_results(res, str(r.path))
        row = asdict(rec)
        row.pop("model_kind")
        for key in ("config", "versions", "hardware", "timings"):
            row[f"{key}_json"] = json.dumps(row.pop(key), sort_keys=True, default=str)
        run_rows.append(row)
        for s in scores:
            d = asdict(s)
            d["extra_json"] = json.dumps(d.pop("extra"), sort_keys=True, default=str)
            score_rows.append({"run_id": rec.run_id, **d, "model": rec.model, "dataset": rec.dataset,
                               "created_at": rec.created_at, "n_failed": rec.n_failed,
                               "run_random_weights": rec.random_weights})
    return pd.DataFrame(run_rows), pd.DataFrame(score_rows)


def collect(run_dirs=(), store=None):
    """(runs, scores, run_infos): the run dirs' results, plus every run in `store` not
    already given as a directory."""
    import pandas as pd

    infos = [load_run(p) for p in run_dirs]
    runs, scores = _frames_from_runs(infos)
    if store is not None:
        from ..store import ResultsStore

        if not isinstance(store, ResultsStore):
            store = ResultsStore(store)
        s_runs, s_scores = store.runs(), store.scores()
        seen = set(runs["run_id"]) if len(runs) else set()
        s_runs = s_runs[~s_runs["run_id"].isin(seen)]
        s_scores = s_scores[~s_scores["run_id"].isin(seen)]
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
    figures = plots.all_plots(scores, infos, profile, plot_dir)

    if "html" in formats:
        from .html import write_html

        return write_html(out, tables=tables, figures=figures, infos=infos, runs=runs,
                          scores=scores, profile=profile, max_videos_per_run=max_videos_per_run,
                          quiet=quiet)
    return out / "tables"


