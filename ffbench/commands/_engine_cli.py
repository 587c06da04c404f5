"""The engine behind `ffbench evaluate fvd|is|clipsim` and `ffbench stats compute`.

`evaluate METRIC --fake DIR` is a run whose plan is the folder's videos as they are (nothing is
generated): the same feature pass, the same real statistics and the same score as `ffbench run`,
so a folder gives the same number and protocol hash through every command. The result lands in
the results store like a run's (`--no-store` skips that).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ..progress import add_quiet_flag
from ._util import add_store_flags, print_json, store_option

__all__ = ["add_engine_options", "add_real_options", "folder_config", "evaluate_folder", "emit_result",
           "print_skipped"]


def add_engine_options(p: argparse.ArgumentParser, *, batch_size: int = 8) -> None:
    """Extractor, storage and output options shared by evaluate fvd|is|clipsim and stats."""
    p.add_argument("--weights", metavar="PATH",
                   help="detector weights file (default: resolved by `ffbench weights`)")
    p.add_argument("--random-weights", action="store_true",
                   help="randomly initialised detector, seed 0 (smoke tests only; the result is "
                        "marked random_weights: true and is not comparable to anything)")
    p.add_argument("--resolution", type=int, default=None,
                   help="FVD detector input size, only with --random-weights (fast smoke tests; "
                        "the protocol and its hash change accordingly)")
    p.add_argument("--batch-size", type=int, default=batch_size,
                   help=f"videos per forward pass (default {batch_size})")
    p.add_argument("--extractor", action="append", default=[], metavar="NAME=MODULE:FUNCTION",
                   help="replace extractor NAME (e.g. i3d-torchscript) by a factory "
                        "f(protocol=, random_seed=, device=) (as [extractors] in a run config)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes decoding videos ahead of the extractor (default min(4, CPUs); "
                        "0: in-process); results do not depend on it")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_quiet_flag(p)


def add_real_options(p: argparse.ArgumentParser) -> None:
    """The real side's clip seed, shared by evaluate fvd|kvd|fid|kid|jedi and stats compute."""
    p.add_argument("--clip-seed", type=int, default=0,
                   help="seed of real-clip offsets for random-offset protocols (default 0)")


def add_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help="name the result is stored under (default: the model of an ffbench run "
                        "folder, else the folder's name)")
    p.add_argument("--dataset", default=None,
                   help="dataset label the result is stored under (default: the dataset of an "
                        "ffbench run folder, else custom)")
    p.add_argument("--bootstrap", type=int, default=0,
                   help="bootstrap resamples for a 95%% confidence interval (CLIPSIM: 1000 when 0)")
    p.add_argument("--out", metavar="RUN_DIR", default=None,
                   help="keep the evaluation's run directory (per-video features; the same "
                        "command resumes it). Default: a temporary directory")
    add_store_flags(p, default="")


def folder_config(args, protocol: str, *, fake=None, real=None, clip_seed: int = 0):
    """The RunConfig of a command-line evaluation (validated before anything is written)."""
    from ..errors import ConfigError
    from ..harness.config import parse_run_config

    if args.batch_size < 1:
        raise ConfigError("--batch-size must be >= 1")
    if args.random_weights and args.weights:
        raise ConfigError("--weights and --random-weights exclude each other")
    if getattr(args, "resolution", None) is not None and not args.random_weights:
        raise ConfigError("--resolution only goes with --random-weights (smoke tests); real numbers "
                          "must use the protocol's size")
    made_by = run_folder_origin(fake) if fake else {}
    data = {"model": getattr(args, "model", None) or made_by.get("model") or (Path(fake).name if fake else "real"),
            "dataset": getattr(args, "dataset", None) or made_by.get("dataset") or "custom",
            "random_weights": bool(made_by.get("random_weights")), "metrics": [protocol],
            "random_extractors": bool(args.random_weights), "feature_batch_size": args.batch_size,
            "bootstrap": getattr(args, "bootstrap", 0) or 0,
            "resolution": getattr(args, "resolution", None) or 0,
            "source": str(Path(fake).resolve()) if fake else "",
            "extractors": dict(_pair(e) for e in getattr(args, "extractor", []) or []),
            "db": store_option(args) or ""}
    if getattr(args, "workers", None) is not None:
        data["workers"] = args.workers
    if real is not None:
        r = Path(str(real))
        data["real"] = ({"stats": str(r)} if r.is_file() else {"source": str(real), "seed": clip_seed})
        if not r.exists() and ("/" in str(real) or "\\" in str(real)):
            raise ConfigError(f"--real {real}: neither a folder, a statistics file nor a dataset name")
    config = parse_run_config(data, "command line", check_model=bool(fake))
    if args.weights:
        from ..harness.families import family

        p = config.protocols()[0]
        config = config.with_execution(
            extractor_weights={family(p).extractor_name(p): str(args.weights)})
    return config


def run_folder_origin(folder) -> dict:
    """{"model", "dataset", "random_weights"} of the ffbench run that wrote `folder` (a run folder
    or its `samples/`), from its model.json and run.json; {} for any other folder. So `evaluate` on
    a run's videos stores its number under the same model and dataset as `run` does, and a
    random-weights generator marks it (docs/RUN_DIR.md)."""
    from ..fileio import read_json_checked
    from ..video.listing import is_run_folder

    folder = Path(folder)
    root = folder if is_run_folder(folder) else (
        folder.parent if folder.name == "samples" and is_run_folder(folder.parent) else None)
    if root is None:
        return {}
    remedy = "or give --model and --dataset"
    model = read_json_checked(root / "model.json", "generator description", remedy) \
        if (root / "model.json").is_file() else {}
    run = read_json_checked(root / "run.json", "run description", remedy) \
        if (root / "run.json").is_file() else {}
    return {"model": model.get("model"), "dataset": run.get("config", {}).get("dataset"),
            "random_weights": bool(model.get("random_weights"))}


def _pair(text: str) -> tuple[str, str]:
    from ..errors import ConfigError

    name, sep, factory = text.partition("=")
    if not sep or not name or not factory:
        raise ConfigError(f"--extractor {text!r}: expected NAME=MODULE:FUNCTION")
    return name.strip(), factory.strip()


def evaluate_folder(config, *, prompts=None, limit: int | None = None, quiet: bool = False,
                    min_videos: tuple[int, str] | None = None, plan=None) -> dict:
    """Run `config` (a folder config) through the engine; results.json with the plan's skipped
    inputs added under `skipped`. `min_videos` = (count, message): fewer listed videos is a
    ConfigError before any network is loaded. `plan`: the folder's plan when the caller has
    already listed it (`plan_from_folder(config.source, config.seed, prompts)`)."""
    from ..errors import ConfigError
    from ..harness import run
    from ..harness.plan import plan_from_folder
    from ..harness.runner import preflight

    preflight(config)  # weights and a user's statistics file, before the folder is read
    folder = Path(config.source)
    if not folder.is_dir():
        raise ConfigError(f"--fake {folder}: not a directory")
    plan = plan if plan is not None else plan_from_folder(folder, config.seed, prompts)
    if not plan.items:
        raise ConfigError(f"{folder}: no videos found"
                          + (f" ({len(plan.skipped)} skipped: {_names(plan.skipped)})" if plan.skipped else ""))
    if min_videos is not None and len(plan.items) < min_videos[0]:
        raise ConfigError(f"--fake {folder}: {len(plan.items)} videos; {min_videos[1]}")
    if limit is not None and len(plan.items) > limit:
        from dataclasses import replace

        plan = replace(plan, items=plan.items[:limit])  # "the first N", sorted (StyleGAN-V)
    from ..video.loader import decode_workers

    with decode_workers(config.workers):  # the real side's decoding too
        if config.out:
            results = run(config, plan=plan, quiet=quiet, preflighted=True)
        else:
            with tempfile.TemporaryDirectory(prefix="ffbench-eval-") as tmp:
                results = run(config.with_execution(out=tmp), plan=plan, quiet=quiet,
                              preflighted=True)
    items = plan.by_id()
    results["skipped"] = [{"video": v, "reason": r} for v, r in plan.skipped] + [
        {"video": getattr(items.get(f["sample_id"]), "video_id", None) or f["sample_id"],
         "reason": f"{f['stage']}: {f['error']}"} for f in results["failures"]]
    return results


def _names(rows, k: int = 5) -> str:
    """(video, reason) rows as "video (reason), ..." through the one naming helper."""
    from ..harness.realstats import name_list

    return name_list((f"{v} ({r})" for v, r in rows), k)


def score_result(results: dict) -> dict:
    """One flat record of a single-protocol evaluation: the score with its provenance, N, the
    skipped inputs (named) and warnings (the engine's, harness.evaluate.n_warnings)."""
    (s,) = results["scores"]
    out = {k: v for k, v in s.items() if k != "extra"}
    out.update(s["extra"])
    out["n_fake"] = results["n_samples"]
    out["skipped"] = results.get("skipped", [])
    out["run_id"] = results["run_id"]
    warnings = [w for w in s["extra"].get("warnings", []) if isinstance(w, str)]
    if s.get("random_weights"):
        warnings.append("random detector weights: this number means nothing outside a smoke test")
    if "error" in s["extra"]:
        warnings.append(f"not computed: {s['extra']['error']}")
    out["warnings"] = warnings
    return out


def print_skipped(skipped: list[dict]) -> None:
    """Name the inputs left out ({"video", "reason"} rows) on stderr: duplicates as a note."""
    dup = [r for r in skipped if r["reason"].startswith("duplicate of")]
    rest = [r for r in skipped if r not in dup]
    if rest:
        print(f"skipped {len(rest)} input(s): "
              + _names([(r["video"], r["reason"]) for r in rest], 20), file=sys.stderr)
    if dup:  # ID.mp4 beside ID.npy (a run folder): one sample, the exact array; all in --json
        print(f"note: {len(dup)} container file(s) beside an array of the same name were not "
              f"read (the exact array is used): {_names([(r['video'], r['reason']) for r in dup], 3)}",
              file=sys.stderr)


def emit_result(args, result: dict, line: str) -> int:
    """Print `result` (--json) or `line` plus the skipped inputs and warnings; exit status."""
    if args.json:
        print_json(result)
    else:
        if result.get("random_weights"):
            line += "  [random weights]"
        print(line)
        print_skipped(result.get("skipped", []))
        for w in result.get("warnings", []):
            print(f"warning: {w}", file=sys.stderr)
    return 0 if result.get("value") is not None else 1
