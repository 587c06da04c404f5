"""The paper's table layouts (FusionFrames Tables 1-3) filled from measured scores.

Input is a scores DataFrame shaped like `ResultsStore.scores()` (one row per run x metric x
protocol, with model, dataset, random_weights, run_random_weights, created_at, extra_json).
Published rows (report.published) are printed beside measured rows and marked †.

Comparability rule (docs/DESIGN.md): a column holds numbers of one protocol hash only. When measured
rows of one metric were computed under several protocols/hashes, the metric gets one column per
(protocol, hash), labelled with both. Published numbers carry no hash: they are always marked †
and a note says whose protocol they follow. Each table ends with notes naming the protocol,
its hash and N of every measured column.
"""
from __future__ import annotations

import json
import math

from . import published
from .tables import ReportTable, format_params

DIRECTIONS = {"is": "max", "fvd": "min", "clipsim": "max", "psnr": "max", "ssim": "max",
              "mse": "min", "lpips": "min", "params": None, "tflops": "min", "seconds": "min",
              "kvd": "min", "fid": "min", "kid": "min", "jedi": "min"}
LABELS = {"is": "IS", "fvd": "FVD", "clipsim": "CLIPSIM", "psnr": "PSNR", "ssim": "SSIM",
          "mse": "MSE", "lpips": "LPIPS", "params": "#Params", "kvd": "KVD", "fid": "FID (frames)",
          "kid": "KID (frames)", "jedi": "JEDi"}
PRECISION = {"is": 3, "fvd": 2, "clipsim": 4, "psnr": 4, "ssim": 4, "mse": 4, "lpips": 4,
             "kvd": 4, "fid": 3, "kid": 5, "jedi": 4}
RECONSTRUCTION = ("psnr", "ssim", "mse", "lpips")
PUBLISHED_MARK = "†"
RANDOM_MARK = "‡"
MEASURED_GROUP = "Measured (ffbench)"


def dataset_key(name) -> str:
    """'UCF-101', 'ucf_101', 'ucf101' -> 'ucf101' (run configs and papers spell them differently)."""
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def _extra(row) -> dict:
    raw = row.get("extra_json") if hasattr(row, "get") else None
    try:
        return json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}


def normalize_scores(scores):
    """One row per number: a `reconstruction` row whose extra holds psnr/ssim/mse/lpips is split
    into one row per metric; `random_weights` becomes score-or-run flag; latest run wins."""
    import pandas as pd

    from ..store import random_weights_of

    if scores is None or len(scores) == 0:
        return pd.DataFrame(columns=["run_id", "model", "dataset", "metric", "protocol",
                                     "protocol_hash", "value", "n", "ci_low", "ci_high",
                                     "random_weights", "created_at", "extra_json",
                                     "dataset_key"])
    rows = []
    for rec in scores.to_dict("records"):
        rec["random_weights"] = random_weights_of(rec.get("run_random_weights"), [rec])
        extra = _extra(rec)
        if rec["metric"] == "reconstruction" and any(k in extra for k in RECONSTRUCTION):
            for k in RECONSTRUCTION:
                if k in extra:
                    rows.append({**rec, "metric": k, "value": extra[k], "ci_low": None, "ci_high": None})
        else:
            rows.append(rec)
    df = pd.DataFrame(rows)
    df["dataset_key"] = [dataset_key(d) for d in df["dataset"]]
    df = df.sort_values("created_at", kind="stable")
    return df.groupby(["model", "dataset_key", "metric", "protocol", "protocol_hash"],
                      sort=False).tail(1).reset_index(drop=True)


def _plan_columns(measured, metric: str) -> list[tuple[str, str | None, str | None]]:
    """(column label, protocol, hash) for one metric: one column, or one per protocol hash."""
    sub = measured[measured["metric"] == metric]
    pairs = list(dict.fromkeys(zip(sub["protocol"], sub["protocol_hash"])))
    base = LABELS.get(metric, metric)
    if len(pairs) <= 1:
        p = pairs[0] if pairs else (None, None)
        return [(base, p[0], p[1])]
    return [(f"{base} [{p} #{h[:8]}]", p, h) for p, h in pairs]


def _n_text(ns) -> str:
    ns = sorted({int(n) for n in ns if n is not None and not (isinstance(n, float) and math.isnan(n))})
    return "N = " + (", ".join(str(n) for n in ns) if ns else "?")


def _column_notes(measured, plan: dict[str, list], datasets: dict[str, str]) -> list[str]:
    notes = []
    for metric, cols in plan.items():
        for label, proto, h in cols:
            if proto is None:
                continue
            sub = measured[(measured["metric"] == metric) & (measured["protocol_hash"] == h)]
            where = f" on {datasets[metric]}" if metric in datasets else ""
            notes.append(f"{label}{where}: protocol {proto} (hash {h[:12]}), {_n_text(sub['n'])}.")
    return notes


def _measured_rows(table: ReportTable, measured, plan, label_extra=None) -> None:
    """Append one row per model (in order of first appearance) with its measured cells."""
    for model in dict.fromkeys(measured["model"]):
        sub = measured[measured["model"] == model]
        row = {"Method": model, "_group": MEASURED_GROUP, "Source": "ffbench run " + ", ".join(
            dict.fromkeys(sub["run_id"]))}
        if label_extra:
            row.update(label_extra(sub))
        idx = len(table.rows)
        rnd = False
        for metric, cols in plan.items():
            for label, _proto, h in cols:
                hit = sub[(sub["metric"] == metric) & (sub["protocol_hash"] == h)]
                if len(hit):
                    rec = hit.iloc[-1]
                    row[label] = rec["value"]
                    if bool(rec["random_weights"]):
                        table.marks[(idx, label)] = RANDOM_MARK
                        rnd = True
        if rnd:
            row["Method"] = f"{model} (random weights)"
            table.random_weights = True
        table.rows.append(row)


def _published_rows(table: ReportTable, pub: dict, plan, extra_cols=()) -> None:
    for prow in pub["rows"]:
        idx = len(table.rows)
        row = {"Method": prow["method"], "_group": prow.get("group", "Published"),
               "Source": prow["source"]}
        for c, key in extra_cols:
            row[c] = prow.get(key)
        for metric, cols in plan.items():
            if metric in prow:
                label = cols[0][0]  # published numbers go in the metric's first column, marked
                row[label] = float(prow[metric])
                table.marks[(idx, label)] = PUBLISHED_MARK
        if "note" in prow:
            row["Note"] = prow["note"]
        table.rows.append(row)


def _finish(table: ReportTable, measured, plan, datasets, pub) -> ReportTable:
    table.notes = _column_notes(measured, plan, datasets)
    if any(m == PUBLISHED_MARK for m in table.marks.values()):
        table.notes.append(f"{PUBLISHED_MARK} published in {pub['source']}, under the protocol of "
                           "the row's source (not under the hashes above): compare with care.")
    if table.random_weights:
        table.notes.append(f"{RANDOM_MARK} computed with random weights (generator or extractor): "
                           "says nothing about model quality.")
    if not len(measured):
        table.notes.append("No measured scores for this table yet.")
    if any("Note" in r for r in table.rows):
        table.columns.append("Note")
    return table


def _new_table(key, title, head, plan) -> ReportTable:
    cols = list(head) + [label for cols in plan.values() for label, _, _ in cols] + ["Source"]
    metrics = {label: DIRECTIONS.get(m) for m, cs in plan.items() for label, _, _ in cs}
    precision = {label: PRECISION.get(m, 4) for m, cs in plan.items() for label, _, _ in cs}
    return ReportTable(key=key, title=title, columns=cols, rows=[], metrics=metrics,
                       precision=precision)


def table1(scores, t2v_dataset: str = "ucf101", clipsim_dataset: str = "msrvtt") -> ReportTable:
    """Paper Table 1: IS and FVD on UCF-101, CLIPSIM on MSR-VTT; published rows first."""
    df = normalize_scores(scores)
    want = {"is": dataset_key(t2v_dataset), "fvd": dataset_key(t2v_dataset),
            "clipsim": dataset_key(clipsim_dataset)}
    mask = [want.get(m) == d for m, d in zip(df["metric"], df["dataset_key"])]
    measured = df.loc[df.index[mask]] if mask else df
    plan = {m: _plan_columns(measured, m) for m in ("is", "fvd", "clipsim")}
    pub = published.load("table1")
    t = _new_table("table1", pub["title"], ["Method", "Zero-shot"], plan)
    _published_rows(t, pub, plan, extra_cols=[("Zero-shot", "zero_shot")])
    _measured_rows(t, measured, plan)
    return _finish(t, measured, plan, {"is": t2v_dataset, "fvd": t2v_dataset,
                                       "clipsim": clipsim_dataset}, pub)


def _interpolation_of(row, runs_config: dict) -> str | None:
    extra = _extra(row)
    cfg = runs_config.get(row["run_id"], {})
    for source in (extra, cfg, cfg.get("model", {}) if isinstance(cfg.get("model"), dict) else {}):
        value = source.get("interpolation") if isinstance(source, dict) else None
        if value:
            return str(value)
    return None


def _runs_config(runs) -> dict:
    """run_id -> config of ResultsStore.runs() (config_json: always JSON, the store wrote it)."""
    return {} if runs is None else {r["run_id"]: json.loads(r["config_json"] or "{}")
                                    for r in runs.to_dict("records")}


def _output_frames(row: dict):
    value = row.get("frames", row.get("frames_out"))  # profiler rows say frames_out
    return value if isinstance(value, (int, float)) else None


def interpolation_cost(profile_rows: list[dict] | None) -> dict[str, float]:
    """TFLOPs per video of the interpolation stage per method, from a profile: rows whose
    `stage` names masked frame interpolation ("mfi"/"masked") or FusionFrames interpolation
    ("interp"). A profile row is one interpolation pass; the passes of one configuration
    (e.g. fps "high": 15 -> 57 -> 225 frames) are summed, and of several configurations the
    one with the most output frames is shown (the paper's Table 2 is at 30 fps)."""
    configs: dict[tuple, dict[str, float]] = {}
    final_frames: dict[tuple, float] = {}
    for r in profile_rows or []:
        stage = str(r.get("stage", "")).lower()
        method = "mfi" if ("mfi" in stage or "masked" in stage) else (
            "fusionframes" if "interp" in stage else None)
        if method is None or not isinstance(r.get("flops"), (int, float)):
            continue
        key = tuple(r.get(k) for k in ("preset", "height", "width", "keyframes", "fps", "steps",
                                        "guidance"))
        configs.setdefault(key, {})
        configs[key][method] = configs[key].get(method, 0.0) + float(r["flops"]) / 1e12
        frames = _output_frames(r)
        if frames is not None:
            final_frames[key] = max(final_frames.get(key, 0), frames)
    if not configs:
        return {}
    both = [k for k, v in configs.items() if {"mfi", "fusionframes"} <= set(v)] or list(configs)
    best = max(both, key=lambda k: final_frames.get(k, 0))
    return configs[best]


def table2(scores, runs=None, profile_rows=None, dataset: str = "ucf101") -> ReportTable:
    """Paper Table 2: interpolation IS/FVD and cost. Measured rows are UCF-101 runs whose
    config (or score extra) names an `interpolation` method."""
    df = normalize_scores(scores)
    cfgs = _runs_config(runs)
    df["interpolation"] = [_interpolation_of(r, cfgs) for r in df.to_dict("records")]
    measured = df[(df["dataset_key"] == dataset_key(dataset)) & df["interpolation"].notna()
                  & df["metric"].isin(["is", "fvd"])]
    plan = {m: _plan_columns(measured, m) for m in ("is", "fvd")}
    pub = published.load("table2")
    t = _new_table("table2", pub["title"], ["Method", "Interpolation"], plan)
    cost = interpolation_cost(profile_rows)
    if cost:
        t.columns.insert(-1, "TFLOPs")
        t.metrics["TFLOPs"] = "min"
        t.precision["TFLOPs"] = 2
    _published_rows(t, pub, plan, extra_cols=[("Interpolation", "interpolation")])
    _measured_rows(t, measured, plan,
                   label_extra=lambda sub: {"Interpolation": sub["interpolation"].iloc[0]})
    for row in t.rows:
        method = str(row.get("Interpolation") or "").lower()
        if cost and method in cost and row.get("_group") == MEASURED_GROUP:
            row["TFLOPs"] = cost[method]
    if cost and not len(measured):  # cost measured without scores: one row per method
        for method, tf in cost.items():
            t.rows.append({"Method": f"profile: {method}", "_group": MEASURED_GROUP,
                           "Interpolation": method, "TFLOPs": tf, "Source": "ffbench profile"})
    t = _finish(t, measured, plan, {"is": dataset, "fvd": dataset}, pub)
    if cost:
        frames = {_output_frames(r) for r in profile_rows or []
                  if "interp" in str(r.get("stage", "")) or "mfi" in str(r.get("stage", ""))} - {None}
        at = f" at {max(frames):g} output frames" if frames else ""
        t.notes.append(f"TFLOPs: interpolation stage from the profile{at} (meta device, per video). "
                       "The paper gives cost only as a bar chart (Fig. 7: < 1/3 of MFI's time).")
    return t


def table3(scores, dataset: str | None = None) -> ReportTable:
    """Paper Table 3: decoder variants, PSNR/SSIM/MSE/LPIPS/#Params; measured rows are every
    run with reconstruction metrics (optionally only `dataset`)."""
    df = normalize_scores(scores)
    measured = df[df["metric"].isin(RECONSTRUCTION)]
    if dataset is not None:
        measured = measured[measured["dataset_key"] == dataset_key(dataset)]
    plan = {m: _plan_columns(measured, m) for m in RECONSTRUCTION}
    pub = published.load("table3")
    t = _new_table("table3", pub["title"], ["Method", "Temporal layers", "Finetune"], plan)
    t.columns.insert(-1, "#Params")
    t.metrics["#Params"] = None
    t.formatters["#Params"] = format_params
    _published_rows(t, pub, plan, extra_cols=[("Temporal layers", "temporal_layers"),
                                              ("Finetune", "finetune"), ("#Params", "params")])

    def extra_cols(sub):
        ex = _extra(sub.iloc[-1].to_dict())
        return {"Temporal layers": ex.get("temporal_layers"), "Finetune": ex.get("finetune"),
                "#Params": ex.get("params")}

    _measured_rows(t, measured, plan, label_extra=extra_cols)
    t = _finish(t, measured, plan, {m: "Vimeo90k septuplet" for m in RECONSTRUCTION}, pub)
    t.notes.extend(_reconstruction_conventions(measured))
    return t


def _reconstruction_conventions(measured) -> list[str]:
    """One note per reconstruction protocol used: its SSIM/PSNR convention, by name (SSIM differs
    by ~1e-4..2e-3 between conventions, as much as the gaps between rows of Table 3)."""
    from .. import protocols

    names = list(dict.fromkeys(measured["protocol"])) if len(measured) else []
    names = [n for n in names if n in protocols.PROTOCOLS] or ["reconstruction@vimeo90k-septuplet"]
    out = []
    for n in names:
        p = protocols.get(n)
        border = {"valid": "valid window (Wang et al., scikit-image, pytorch-msssim, torchmetrics <= 1.4)",
                  "reflect-full-map": "reflect-padded full map (torchmetrics >= 1.5)"}.get(p.ssim_border, p.ssim_border)
        color = "BT.601 luma Y" if p.color == "y-bt601" else "RGB"
        out.append(f"Convention ({n}): SSIM Gaussian {p.ssim_kernel_size} taps, sigma {p.ssim_sigma}, "
                   f"K1 {p.ssim_k1}, K2 {p.ssim_k2}, {border}; PSNR/SSIM on {color}, data range "
                   f"{p.psnr_data_range:g}; mean over frames, then videos.")
    return out


def results_table(scores) -> ReportTable:
    """Every measured number: one row per (model, dataset), one column per metric@protocol
    (split by hash when a protocol changed), with N and the bootstrap CI in the notes."""
    df = normalize_scores(scores)
    t = ReportTable(key="results", title="All measured results", columns=["Model", "Dataset"],
                    rows=[])
    pairs = list(dict.fromkeys(zip(df["protocol"], df["protocol_hash"], df["metric"])))
    per_proto = {}
    for p, h, m in pairs:
        per_proto.setdefault((p, m), []).append(h)
    labels = {}
    for p, h, m in pairs:
        name = p if p.split("@")[0] == m else f"{m}@{p.split('@')[-1]}"
        labels[(p, h, m)] = name if len(per_proto[(p, m)]) == 1 else f"{name} #{h[:8]}"
        t.columns.append(labels[(p, h, m)])
        t.metrics[labels[(p, h, m)]] = DIRECTIONS.get(m)
        t.precision[labels[(p, h, m)]] = PRECISION.get(m, 4)
    t.columns.append("N")
    for (model, dkey), sub in df.groupby(["model", "dataset_key"], sort=False):
        idx = len(t.rows)
        row = {"Model": model, "Dataset": sub["dataset"].iloc[0],
               "N": int(sub["n"].max()) if len(sub) else None}
        for rec in sub.to_dict("records"):
            label = labels[(rec["protocol"], rec["protocol_hash"], rec["metric"])]
            row[label] = rec["value"]
            if rec["random_weights"]:
                t.marks[(idx, label)] = RANDOM_MARK
                t.random_weights = True
        t.rows.append(row)
    for (p, h, m), label in labels.items():
        t.notes.append(f"{label}: protocol {p} (hash {h[:12]}).")
    if t.random_weights:
        t.notes.append(f"{RANDOM_MARK} computed with random weights: says nothing about model quality.")
    if not t.rows:
        t.notes.append("No measured results.")
    return t


def all_tables(scores, runs=None, profile_rows=None) -> list[ReportTable]:
    return [results_table(scores), table1(scores), table2(scores, runs, profile_rows),
            table3(scores)]
