"""`ffbench run`: resumable, sharded generate-and-evaluate runs (ffbench.harness)."""
from __future__ import annotations

import argparse

from ..progress import add_quiet_flag
from ._util import add_command, add_store_flags, print_json, store_option

EPILOG = """\
examples:
  ffbench run run.toml
  ffbench run --model zeroscope-v2-576w --dataset ucf101 --metrics fvd,is,clipsim --n 2048 --out runs/zs
  torchrun --nproc_per_node 8 -m ffbench.cli run run.toml       (or: accelerate launch -m ffbench.cli run ...)
  ffbench run run.toml --shard $SLURM_ARRAY_TASK_ID/16 ; then: ffbench run run.toml --merge

The same command after a crash resumes the run. A different config in an existing run
directory is an error. Metrics: fvd@stylegan-v-2048x16, is@c3d-ucf101, clipsim@vit-b-32, ...
(`ffbench protocols list`); shorthands fvd, is, clipsim; unique prefixes such as fvd@videogpt.
"""


TINY_RESOLUTION = 32  # FVD detector input of `run --tiny` (random stand-in; changes the hash)


def _config_from_args(args):
    from ..errors import ConfigError
    from ..harness.config import load_run_config, parse_run_config

    flags = {"model": args.model, "dataset": args.dataset, "metrics": args.metrics, "n": args.n,
             "seed": args.seed, "batch_size": args.batch_size,
             "feature_batch_size": args.feature_batch_size,
             "dataset_root": args.dataset_root, "prompt_file": args.prompt_file}
    flags = {k: v for k, v in flags.items() if v is not None}
    if args.random_weights:
        flags["random_weights"] = True
        flags["random_extractors"] = True
    if args.random_extractors:
        flags["random_extractors"] = True
    if args.tiny:  # a smoke test in seconds: the model's tiny stand-in, random small extractors
        from ..generators.base import tiny_model

        if args.config and "model" not in flags:
            flags["model"] = load_run_config(args.config).model
        if "model" not in flags:
            raise ConfigError("--tiny needs --model (or a config): it runs that model's tiny stand-in")
        flags.update(model=tiny_model(flags["model"]), random_weights=True, random_extractors=True,
                     resolution=TINY_RESOLUTION)
    if args.real_source:
        flags["real"] = {"source": args.real_source}
    if args.config:
        cfg = load_run_config(args.config, flags)
    else:
        missing = [k for k in ("model", "dataset", "metrics") if k not in flags]
        if missing:
            raise ConfigError(f"give a CONFIG.toml or --{' --'.join(missing)}")
        cfg = parse_run_config(flags, "command line")
    return cfg.with_execution(out=args.out, max_failures=args.max_failures,
                              bootstrap=args.bootstrap, db=store_option(args),
                              workers=args.workers)


def _run(args) -> int:
    import logging
    import sys

    from ..harness.generate import MaxFailuresReached
    from ..harness.runner import run, summary_lines
    from ..video.loader import decode_workers

    logging.basicConfig(level=logging.ERROR if args.quiet else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    cfg = _config_from_args(args)
    try:
        with decode_workers(cfg.workers):  # the real side's decoding too
            out = run(cfg, shard=args.shard, merge=args.merge, quiet=args.quiet or args.json)
    except MaxFailuresReached as e:
        if args.json:
            print_json({"error": str(e), "stopped_early": True})
        else:
            print(f"ffbench: {e}", file=sys.stderr)
        return 3
    import os

    if "shard" in out and int(os.environ.get("WORLD_SIZE", "1") or 1) > 1 and not args.shard:
        return 0  # a torchrun / accelerate rank other than 0: rank 0 prints the results
    if args.json:
        print_json(out)
    elif not args.quiet:
        if "shard" in out:
            s = out["shard"] or {}
            print(f"shard {s.get('rank', 0)}/{s.get('world', 1)}: {s.get('n_items', 0)} samples, "
                  f"{s.get('counts', {})}")
        else:
            print("\n".join(summary_lines(out)))
            print(f"results: {cfg.out}/results.json")
    return 0


def register(subparsers) -> None:
    p = add_command(subparsers, "run", "generate and evaluate a model: resumable, sharded runs",
                    _run, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", nargs="?", metavar="CONFIG.toml",
                   help="run config TOML; every key is listed in the README, section "
                        "\"Run config file\" (options given here override its keys)")
    p.add_argument("--model", help="model name, model TOML, or module:function entry point")
    p.add_argument("--dataset", help="prompt set: ucf101, msrvtt, demo")
    p.add_argument("--metrics", help="comma-separated metric@protocol list (e.g. fvd,is,clipsim)")
    p.add_argument("--n", type=int, help="number of prompts (default: the dataset's)")
    p.add_argument("--seed", type=int, help="run seed (default 0)")
    p.add_argument("--out", help="run directory (required unless `out` is in the config)")
    p.add_argument("--shard", metavar="I/K", help="do shard I of K (cluster arrays); then --merge")
    p.add_argument("--merge", action="store_true", help="evaluate a run whose shards are all done")
    p.add_argument("--max-failures", type=int, metavar="K", help="stop after K failed samples")
    p.add_argument("--random-weights", action="store_true",
                   help="random generator AND extractor weights (smoke tests; marked everywhere)")
    p.add_argument("--tiny", action="store_true",
                   help="smoke test in seconds: the model's registered tiny stand-in (e.g. "
                        "fusionframes -> fusionframes-tiny), random extractors at a small size; "
                        "every number marked random_weights")
    p.add_argument("--random-extractors", action="store_true",
                   help="random extractor weights only (marked)")
    p.add_argument("--bootstrap", type=int, metavar="N",
                   help="bootstrap resamples for FVD/IS confidence intervals (CLIPSIM always has one)")
    p.add_argument("--batch-size", type=int, help="prompts per generator call (default 1)")
    p.add_argument("--feature-batch-size", type=int, help="videos per extractor call (default 8)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes decoding videos ahead of the extractors (default min(4, CPUs); "
                        "0: in-process); results do not depend on it")
    p.add_argument("--dataset-root", help="dataset folder (else the dataset's env variable)")
    p.add_argument("--prompt-file", help="UCF-101 per-class prompt file")
    p.add_argument("--real-source", help="real videos for FVD: dataset name or folder (default: --dataset)")
    add_store_flags(p)
    add_quiet_flag(p, help="no progress bars or summary")
    p.add_argument("--json", action="store_true", help="print results (or the shard summary) as JSON")
