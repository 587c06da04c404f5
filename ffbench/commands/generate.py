"""`ffbench generate MODEL --prompts FILE|DATASET --out DIR`: one mp4 + one JSON per sample.

File names come from sample ids (never from prompt text). A sample's seed is derived from
(--seed, sample id), so its video does not depend on --n, batch size or order. A run directory
can be interrupted and rerun: samples whose .mp4 and .json exist are skipped (the JSON must come
from the same model config). A batch that fails is recorded as `<id>.json` with status "error"
and the run goes on; the exit code is then 1.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..fileio import atomic_write_json
from . import _generate_fusionframes
from ._util import add_command, print_json

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


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
    p.add_argument("--overwrite", action="store_true", help="regenerate samples that already exist")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    _generate_fusionframes.add_options(p)


def _read_prompts(args) -> tuple[list[str], list[str], list, dict]:
    """(sample_ids, prompts, labels, source info) from a text file or a dataset."""
    from ..errors import ConfigError, FFBenchError

    path = Path(args.prompts)
    if path.is_file():
        from ..data.prompts import read_prompt_lines

        prompts = read_prompt_lines(path)  # UTF-8 with/without BOM; blank and '#' lines skipped
        if args.n is not None:
            if args.n < 1:
                raise ConfigError(f"--n must be >= 1, got {args.n}")
            prompts = prompts[:args.n]
        ids = [f"{i:05d}" for i in range(len(prompts))]
        return ids, prompts, [None] * len(prompts), {"prompts_file": str(path.resolve())}
    try:
        from ..data import load_prompts
    except ImportError as e:
        raise FFBenchError(f"--prompts {args.prompts!r} is not a file, and dataset support "
                           f"(ffbench.data.load_prompts) is unavailable: {e}") from e
    try:
        ps = load_prompts(args.prompts, args.n, args.seed)
    except ConfigError as e:
        raise ConfigError(f"--prompts {args.prompts!r} is neither an existing file nor a known "
                          f"dataset: {e}") from e
    if hasattr(ps, "sample_ids"):
        ids, prompts = list(ps.sample_ids), list(ps.prompts)
        labels = list(getattr(ps, "labels", [None] * len(prompts)))
    else:  # a plain list of strings or of {sample_id, prompt} records
        items = list(ps)
        if items and isinstance(items[0], str):
            ids, prompts = [f"{args.prompts}-{i:05d}" for i in range(len(items))], items
        else:
            get = (lambda o, k: o[k]) if items and isinstance(items[0], dict) else getattr
            ids, prompts = [get(o, "sample_id") for o in items], [get(o, "prompt") for o in items]
        labels = [None] * len(prompts)
    return ids, prompts, labels, {"dataset": args.prompts, "dataset_seed": args.seed}




def _done(out: Path, sid: str, config_hash: str, random_weights: bool) -> bool:
    import json

    from ..errors import FFBenchError

    mp4, meta = out / f"{sid}.mp4", out / f"{sid}.json"
    if not (mp4.is_file() and meta.is_file()):
        return False
    try:
        data = json.loads(meta.read_text())
    except ValueError:
        return False
    if data.get("status") != "ok":
        return False
    if (data.get("model", {}).get("config_hash") != config_hash
            or bool(data.get("random_weights")) != random_weights):
        raise FFBenchError(f"{meta}: was generated with another model config "
                           f"({data.get('model', {}).get('model')}); use another --out or --overwrite")
    return True


def _generate(args) -> int:
    import time
    import traceback

    import torch

    from .. import __version__
    from ..errors import ConfigError
    from ..generators.base import derive_seed, load_generator
    from ..video import write_video

    if args.batch_size is not None and args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    ids, prompts, labels, source = _read_prompts(args)
    bad = [s for s in ids if not isinstance(s, str) or not _SAFE_ID.match(s)]
    if bad:
        raise ConfigError(f"sample ids must be safe file names ([A-Za-z0-9._-]); bad: {bad[:3]}")
    if len(set(ids)) != len(ids):
        raise ConfigError("sample ids are not unique")
    overrides = {k: getattr(args, k) for k in ("frames", "height", "width", "fps", "steps", "guidance")}
    gen = load_generator(args.model, random_weights=True if args.random_weights else None,
                         device=args.device, batch_size=args.batch_size, **overrides)
    meta_model = gen.metadata()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    todo = [i for i, sid in enumerate(ids)
            if args.overwrite or not _done(out, sid, gen.config.hash, gen.random_weights)]
    batch = args.batch_size or getattr(getattr(gen.config, "diffusers", None), "batch_size", 1) or 1
    ok, failed = 0, []
    for start in range(0, len(todo), batch):
        idx = todo[start:start + batch]
        seeds = [derive_seed(args.seed, ids[i]) for i in idx]
        t0 = time.perf_counter()
        try:
            videos = gen.generate([prompts[i] for i in idx], seeds)
            error = None
        except Exception as e:  # noqa: BLE001 — recorded per sample, the run goes on
            videos, error = None, f"{type(e).__name__}: {e}"
            tb = traceback.format_exc(limit=5)
        seconds = (time.perf_counter() - t0) / len(idx)
        for j, i in enumerate(idx):
            sid = ids[i]
            record = {"sample_id": sid, "prompt": prompts[i], "label": labels[i], "seed": seeds[j],
                      "run_seed": args.seed, **source, "model": meta_model,
                      "random_weights": gen.random_weights, "ffbench_version": __version__,
                      "torch_version": torch.__version__, "seconds": round(seconds, 4)}
            if error is None:
                write_video(out / f"{sid}.mp4", videos[j], fps=gen.fps)
                v = videos[j]
                record.update(status="ok", video=f"{sid}.mp4", frames=int(v.shape[0]),
                              height=int(v.shape[1]), width=int(v.shape[2]), fps=gen.fps)
                ok += 1
            else:
                record.update(status="error", error=error, traceback=tb)
                failed.append(sid)
            atomic_write_json(out / f"{sid}.json", record)
    summary = {"model": gen.name, "out": str(out.resolve()), "requested": len(ids),
               "generated": ok, "skipped": len(ids) - len(todo), "failed": failed,
               "random_weights": gen.random_weights}
    atomic_write_json(out / "generate.json", {**summary, "source": source, "model_metadata": meta_model})
    if args.json:
        print_json(summary)
    else:
        print(f"{gen.name}: {ok} generated, {summary['skipped']} already present, "
              f"{len(failed)} failed -> {summary['out']}"
              + ("  [RANDOM WEIGHTS]" if gen.random_weights else ""))
        for sid in failed[:5]:
            print(f"  failed {sid}: see {out / (sid + '.json')}")
    return 1 if failed else 0
