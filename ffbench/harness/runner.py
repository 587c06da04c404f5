"""Orchestration: bind the run directory, plan, generate, extract, (barrier), evaluate, store.

    from ffbench.harness.runner import run
    results = run(config)                           # single process, or a torchrun rank
    run(config, shard="0/2"); run(config, shard="1/2"); results = run(config, merge=True)

Every stage skips what is already on disk, so the same call after a crash (kill -9 anywhere)
continues where it stopped; results.json is written last and the store insert follows it.
The generator is unloaded before the extractors are loaded (a large model and the detectors
need not fit in memory together).
"""
from __future__ import annotations

import json
import logging
import platform
import sys
import time

from .. import __version__
from .config import RunConfig
from .evaluate import evaluate_run
from .features import build_extractor_for, extract_features, extractor_info, feature_specs
from .generate import generate_samples, load_model, model_info, record_failure, repair_mp4s
from .plan import build_plan, load_or_create_plan, shard_items
from .rundir import RunDir, RunDirError, atomic_write_json, crash_point, read_json
from .shard import ShardInfo, barrier, detect_shard, finish

__all__ = ["run", "versions", "hardware"]

log = logging.getLogger(__name__)


def versions() -> dict:
    import importlib.metadata as md

    out = {"ffbench": __version__, "python": platform.python_version()}
    for pkg in ("torch", "torchvision", "numpy", "scipy", "torchmetrics", "diffusers",
                "transformers", "open_clip_torch", "clip", "av"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def hardware() -> dict:
    import os

    import torch

    hw = {"platform": platform.platform(), "machine": platform.machine(),
          "cpu_count": os.cpu_count(), "cuda": torch.version.cuda,
          "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]}
    return hw


def _free_memory(gen) -> None:
    import gc

    if hasattr(gen, "close"):
        try:
            gen.close()
        except Exception:  # freeing is best effort
            pass
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


def _work(rd: RunDir, plan, config: RunConfig, info: ShardInfo, generator, progress: bool) -> dict:
    """This rank's generation and feature passes; returns its counts and timings."""
    from .features import device as _device

    items = shard_items(plan, info.rank, info.world)
    tag = f" [{info.rank}/{info.world}]" if info.world > 1 else ""
    timings, counts = {}, {}
    for it in items:
        if it.path and not rd.is_ready(it) and rd.failure(it.sample_id) is None:
            record_failure(rd, it.sample_id, "read", f"{it.path}: file not found")
    todo_gen = [it for it in items if not it.path and not rd.is_generated(it.sample_id)
                and rd.failure(it.sample_id) is None]
    t0 = time.perf_counter()
    repair_mp4s(rd, items)
    model_json_lost = not (rd.root / "model.json").is_file() and any(not it.path for it in items)
    if todo_gen or model_json_lost:
        gen = generator if generator is not None else load_model(config, device=config.device or _device())
        minfo = model_info(gen)
        meta = gen.metadata() if hasattr(gen, "metadata") else {}
        atomic_write_json(rd.root / "model.json", {**meta, **minfo})
        if todo_gen:  # (else only model.json was lost: rewritten above)
            counts["generate"] = generate_samples(rd, items, gen, config, progress=progress,
                                                  desc=f"generate{tag}")
        if generator is None:
            del gen
            _free_memory(None)
    timings["generate_s"] = time.perf_counter() - t0
    for spec in feature_specs(config.protocols()):
        t0 = time.perf_counter()
        pending = [it for it in items if rd.is_ready(it)
                   and rd.failure(it.sample_id) is None and not rd.has_feature(spec.key, it.sample_id)]
        stored = check_feature_info(rd, spec)
        if pending:
            ext = build_extractor_for(spec, config)
            if stored is not None:
                wtag = extractor_info(ext, spec, config)["weights_tag"]
                if stored.get("weights_tag") != wtag:
                    raise RunDirError(
                        f"{rd.root / 'features' / (spec.key + '.json')}: the features here were made "
                        f"by extractor weights {str(stored.get('weights_tag'))[:16]!r}, this run has "
                        f"{wtag[:16]!r}; mixing them would be silently wrong. Use the original "
                        f"weights, or delete features/{spec.key}.json and features/{spec.key}/ to "
                        "recompute all of them")
            counts[spec.key] = extract_features(rd, items, spec, ext, config, progress=progress,
                                                desc=f"features {spec.key}{tag}")
            del ext
            _free_memory(None)
        timings[f"features_{spec.key}_s"] = time.perf_counter() - t0
    atomic_write_json(rd.shard_done(info.rank), {"rank": info.rank, "world": info.world,
                                                 "launcher": info.launcher, "n_items": len(items),
                                                 "counts": counts, "timings": timings})
    return {"rank": info.rank, "world": info.world, "n_items": len(items), "counts": counts,
            "timings": timings}


def check_feature_info(rd: RunDir, spec) -> dict | None:
    """features/KEY.json of a feature pass (its extractor, weights sha256, random flag), or None
    when the pass has not started. Features without a readable description are refused (their
    provenance, e.g. random weights, would be lost), naming the file and the remedy."""
    from ..fileio import read_json_checked

    p = rd.root / "features" / f"{spec.key}.json"
    folder = rd.root / "features" / spec.key
    remedy = (f"delete {p.name} and the folder features/{spec.key}/ and run the same command to "
              "recompute these features")
    if not p.exists():
        if folder.is_dir() and any(folder.glob("*.npy")):
            raise RunDirError(f"{p}: missing, but {folder} holds features; {remedy}")
        return None
    info = read_json_checked(p, "feature-pass description", remedy, RunDirError)
    if info.get("key") != spec.key or "weights_tag" not in info:
        raise RunDirError(f"{p}: damaged feature-pass description (no key/weights_tag); {remedy}")
    return info


def _preflight_inputs(config: RunConfig) -> None:
    """What else a run needs, checked before run.json is written (a typo found late would
    otherwise bind the run directory to the broken config): entry points import, and the real
    videos of every family that needs them are a dataset name or an existing folder."""
    import importlib

    from ..data import dataset_names
    from ..errors import ConfigError
    from .config import is_entry_point

    eps = [("model", config.model)] if is_entry_point(config.model) else []
    eps += [(f"[extractors] {k}", v) for k, v in config.extractors.items()]
    for where, ep in eps:
        mod, _, attr = ep.partition(":")
        try:
            if not callable(getattr(importlib.import_module(mod), attr)):
                raise AttributeError(f"{attr} is not callable")
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"{where} = {ep!r}: {type(e).__name__}: {e}") from None
    from .families import family

    needs_real = [p for p in config.protocols() if family(p).needs_real]
    if any(family(p).real_kind != "stats" for p in needs_real) and config.real.stats:
        raise ConfigError(f"[real] stats = {config.real.stats!r}: "
                          f"{', '.join(p.name for p in needs_real if family(p).real_kind != 'stats')} "
                          "need the real videos' features, not statistics: give [real] source")
    if needs_real and not config.real.stats:
        from pathlib import Path

        source = config.real.source or config.dataset
        if source not in dataset_names() and not Path(source).is_dir():
            raise ConfigError(f"[real] source = {source!r}: neither a known dataset "
                              f"({', '.join(dataset_names())}) nor a folder of videos")


def preflight(config: RunConfig) -> None:
    """Resolve every detector's weight file before anything is generated: a missing CLIP or I3D
    file is reported now, not after hours of generation (WeightsMissing names file and source)."""
    from .. import weights
    from .families import family
    from .features import _override

    if config.real.stats:  # a user's statistics file: read (allow-listed) and checked now
        from ..metrics.stats import load_stats

        stats = load_stats(config.real.stats)
        for p in config.protocols():
            if family(p).real_kind == "stats" and family(p).needs_real:
                stats.check(p, None, config.real.stats)
    _preflight_inputs(config)
    if config.random_extractors:
        return
    for spec in feature_specs(config.protocols()):
        name = getattr(spec.protocol, "weights", "")
        if name and not _override(spec, config):
            explicit = config.extractor_weights.get(spec.family.extractor_name(spec.protocol))
            weights.resolve(name, explicit, verify_digest=False)


def _model_meta(rd: RunDir, config: RunConfig) -> dict:
    p = rd.root / "model.json"
    if p.is_file():
        from ..fileio import read_json_checked

        return read_json_checked(p, "generator description", "delete it and run the same "
                                 "command to write it again", RunDirError)
    return {"model": config.model, "kind": "", "random_weights": config.random_weights}


def _results(rd: RunDir, plan, config: RunConfig, run_info: dict, ev: dict, shards) -> dict:
    import numpy as np

    meta = _model_meta(rd, config)
    gen_times = []
    for it in plan.items:
        p = rd.sample(it.sample_id, "json")
        if p.is_file():
            gen_times.append(read_json(p).get("timings", {}).get("generate", 0.0))
    from ..store import random_weights_of

    rw = random_weights_of(meta.get("random_weights"), ev["scores"])
    return {
        "run_id": run_info["run_id"], "model": meta.get("model", config.model),
        "model_kind": meta.get("kind", ""), "dataset": config.dataset,
        "prompt_set": plan.prompt_set, "seed": config.seed, "n_planned": len(plan),
        "n_samples": ev["n_samples"], "n_failed": len(ev["failures"]),
        "failures": [{"sample_id": k, "stage": v.get("stage", ""), "error": v.get("error", "")}
                     for k, v in sorted(ev["failures"].items())],
        "random_weights": rw, "generator_random_weights": bool(meta.get("random_weights")),
        "interpolation": meta.get("interpolation"),
        "config_hash": run_info["config_hash"], "config": run_info["config"],
        "created_at": run_info.get("created_at", ""), "versions": versions(), "hardware": hardware(),
        "timings": {"generate_total_s": float(np.sum(gen_times)) if gen_times else 0.0,
                    "generate_per_video_s": float(np.mean(gen_times)) if gen_times else None,
                    "shards": shards},
        "scores": ev["scores"], "per_sample": ev["per_sample"], "per_class": ev["per_class"],
    }


def _store(results: dict, config: RunConfig, rd: RunDir) -> str | None:
    if config.db.lower() == "none" or not results["scores"]:
        return None
    from ..store import ResultsStore

    store = ResultsStore(config.db or None)
    store.add_results(results, str(rd.root.resolve()))
    return store.url


def run(config: RunConfig, *, shard: str | None = None, merge: bool = False,
        quiet: bool = False, generator=None, progress: bool | None = None, plan=None,
        preflighted: bool = False) -> dict:
    """Run (or resume) `config` in `config.out`. Returns results (rank 0 / merge / single) or
    this shard's summary ({"shard": ...}) for other ranks and `--shard` jobs.

    `generator`: an already-built Generator (programmatic use, tests) instead of `config.model`.
    `plan`: a `Plan` (custom prompt list) instead of the config's dataset prompts; a run
    directory that already holds a different plan is an error.
    `preflighted`: the caller already ran `preflight(config)` (`evaluate` does, before it lists
    the folder), so the statistics file and weights are not read twice.
    """
    if not config.out:
        from ..errors import ConfigError

        raise ConfigError("no run directory: give --out RUN_DIR (or `out = ...` in the config)")
    if not preflighted:
        preflight(config)
    rd = RunDir(config.out)
    info = ShardInfo() if merge else detect_shard(shard)
    if merge and shard:
        from ..errors import ConfigError

        raise ConfigError("--merge evaluates the whole run; do not combine it with --shard")
    progress = (not quiet) if progress is None else progress
    if info.distributed:
        barrier(info)  # joins the process group early: a broken rendezvous fails now, not hours later
    if plan is None and info.is_main and not rd.plan_jsonl.is_file():
        plan = build_plan(config)  # a dataset / prompt error is reported before anything is written
    try:
        if info.is_main:
            run_info = rd.bind(config, __version__)
            if info.launcher in ("single", "torchrun"):
                rd.sweep_temp()  # nobody else writes yet (torchrun ranks wait below)
            plan = load_or_create_plan(rd, config, plan)
        barrier(info)
        if not info.is_main:
            run_info = rd.bind(config, __version__)
            plan = load_or_create_plan(rd, config)
        summary = None
        if not merge:
            summary = _work(rd, plan, config, info, generator, progress)
        barrier(info)
        if info.launcher == "shard" or not info.is_main:
            if not quiet and info.launcher == "shard":
                print(f"shard {info.rank}/{info.world} done; when all {info.world} shards are done, "
                      f"run the same command with --merge instead of --shard", file=sys.stderr)
            return {"shard": summary}
        if merge:
            rd.sweep_temp()
        for spec in feature_specs(config.protocols()):
            check_feature_info(rd, spec)
        ev = evaluate_run(rd, plan, config, progress=progress)
        shards = {}
        for p in sorted((rd.root / "shards").glob("*.done")) if (rd.root / "shards").is_dir() else ():
            try:
                shards[p.stem] = read_json(p)
            except (OSError, ValueError):
                pass
        results = _results(rd, plan, config, run_info, ev, shards)
        crash_point("results")
        atomic_write_json(rd.results_json, results)
        url = _store(results, config, rd)
        if url:
            log.info("stored run %s in %s", results["run_id"], url)
        return results
    finally:
        finish(info)


def summary_lines(results: dict) -> list[str]:
    """A short human summary of results.json."""
    lines = [f"run {results['run_id']}: {results['model']} on {results['dataset']}, "
             f"{results['n_samples']}/{results['n_planned']} samples, {results['n_failed']} failed"
             + ("  [RANDOM WEIGHTS]" if results.get("random_weights") else "")]
    for s in results["scores"]:
        if s["value"] is None:
            lines.append(f"  {s['protocol']:<26} not computed: {s['extra'].get('error', '')}")
            continue
        ci = (f"  95% CI [{s['ci_low']:.4g}, {s['ci_high']:.4g}]"
              if s.get("ci_low") is not None else "")
        std = f" ± {s['std']:.4g}" if s.get("std") is not None else ""
        lines.append(f"  {s['protocol']:<26} {s['value']:.6g}{std}  (n={s['n']}){ci}"
                     + ("  random weights" if s.get("random_weights") else ""))
    return lines


def dumps(results: dict) -> str:
    return json.dumps(results, indent=2, default=str)
