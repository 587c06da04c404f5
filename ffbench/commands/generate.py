"""`ffbench generate MODEL --prompts FILE|DATASET --out DIR`: videos in a run directory.

The plan and generate stages of the engine: the run directory is the one `ffbench run` writes
(docs/RUN_DIR.md: samples/ID.npy exact, ID.mp4, ID.json), so `ffbench evaluate ... --fake
DIR/samples` or a later `ffbench run` with the same config scores exactly these videos.

File names come from sample ids (never from prompt text). A sample's seed is derived from
(--seed, sample id), so its video does not depend on --n, batch size or order. The same command
resumes an interrupted run; another config in the same directory is an error. A failed sample is
recorded in errors/ID.json and the run goes on; the exit code is then 1.
"""
from __future__ import annotations

from pathlib import Path

from . import _generate_fusionframes
from ..progress import add_quiet_flag
from ._util import add_command, print_json

def register(subparsers) -> None:
    p = add_command(subparsers, "generate", "generate videos from prompts with a model",
                    _generate_fusionframes.handler(_generate),
                    description=__doc__.split("\n\n")[0] + " " + __doc__.split("\n\n")[1])
    p.add_argument("model", metavar="MODEL", help="model name (`ffbench models list`) or a .toml path")
    p.add_argument("--prompts", metavar="FILE|DATASET",  # required, or --prompt for fusionframes
                   help="a text file (one prompt per line) or a dataset name (e.g. ucf101)")
    p.add_argument("--n", type=int, default=None, help="number of prompts (default: all lines / "
                   "the dataset's default)")
    p.add_argument("--seed", type=int, default=0, help="run seed (prompt sampling and per-sample seeds)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument("--random-weights", action="store_true",
                   help="use random weights (marked random_weights=true in every output)")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--batch-size", type=int, default=None, help="prompts per pipeline call")
    for name, typ in (("frames", int), ("height", int), ("width", int), ("steps", int),
                      ("guidance", float)):
        p.add_argument(f"--{name}", type=typ, default=None, help=f"override the model's {name}")
    p.add_argument("--fps", type=_generate_fusionframes.fps_value, default=None,
                   help="override the model's fps; for fusionframes also a mode: low (keyframes, "
                        "2 fps), medium (one interpolation pass, 8 fps), high (two passes, 30 fps)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    add_quiet_flag(p)
    _generate_fusionframes.add_options(p)


def check_prompts(value: str) -> bool:
    """`--prompts FILE|DATASET`: True for an existing file, False for a dataset name, else a
    ConfigError with a "Did you mean" (checked before anything is written)."""
    from ..errors import ConfigError

    if Path(value).is_file():
        return True
    from ..data.config import dataset_names

    if value not in dataset_names():
        from ..errors import did_you_mean

        raise ConfigError(f"--prompts {value!r} is neither an existing file nor a known "
                          f"dataset.{did_you_mean(value, dataset_names())} "
                          f"Datasets: {', '.join(dataset_names())}")
    return False


def _plan(args):
    """(plan or None, dataset label): a prompts file becomes a plan with ids 00000, 00001, ...;
    a dataset name is planned by the engine from the config."""
    from ..errors import ConfigError
    from ..harness.plan import plan_from_prompts

    path = Path(args.prompts)
    if not check_prompts(args.prompts):
        return None, args.prompts
    from ..data.prompts import read_prompt_lines

    prompts = read_prompt_lines(path)  # UTF-8 with/without BOM; blank and '#' lines skipped
    if not prompts:
        raise ConfigError(f"{path}: no prompts (the file has no non-empty lines)")
    if args.n is not None:
        if args.n < 1:
            raise ConfigError(f"--n must be >= 1, got {args.n}")
        prompts = prompts[:args.n]
    ids = [f"{i:05d}" for i in range(len(prompts))]
    return plan_from_prompts(prompts, args.seed, ids, description=f"prompts file {path.resolve()}"), \
        f"prompts:{path.name}"


def _generate(args) -> int:
    """Plan + generate stages of the engine (one run-directory format with `ffbench run`)."""
    from ..errors import ConfigError
    from ..harness import parse_run_config, run

    if args.batch_size is not None and args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    plan, dataset = _plan(args)
    overrides = {k: getattr(args, k) for k in ("frames", "height", "width", "fps", "steps", "guidance")
                 if getattr(args, k) is not None}
    config = parse_run_config({
        "model": args.model, "dataset": dataset, "metrics": [], "n": 0 if plan else (args.n or 0),
        "seed": args.seed, "random_weights": bool(args.random_weights),
        "batch_size": args.batch_size or 1, "model_overrides": overrides, "out": str(args.out),
        "db": "none", "device": args.device or ""}, "command line")
    results = run(config, plan=plan, quiet=args.quiet or args.json)
    failed = [f["sample_id"] for f in results["failures"]]
    summary = {"model": results["model"], "out": str(Path(args.out).resolve()),
               "requested": results["n_planned"], "generated": results["n_samples"],
               "failed": failed, "random_weights": results["random_weights"],
               "run_id": results["run_id"]}
    if args.json:
        print_json(summary)
    else:
        print(f"{summary['model']}: {summary['generated']}/{summary['requested']} videos, "
              f"{len(failed)} failed -> {summary['out']}/samples"
              + ("  [RANDOM WEIGHTS]" if summary["random_weights"] else ""))
        for sid in failed[:5]:
            print(f"  failed {sid}: see {Path(args.out) / 'errors' / (sid + '.json')}")
    return 1 if failed else 0
