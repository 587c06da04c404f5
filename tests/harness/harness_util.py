"""Helpers for the harness tests: a tiny config (fake generator, tiny extractors) and a way to
run `ffbench run` in a subprocess that can import the fakes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path



HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

TINY = {"i3d-torchscript": "harness_fakes:tiny_extractor", "c3d-ucf101": "harness_fakes:tiny_extractor"}


def base_config(out, **kw) -> dict:
    cfg = {"model": "harness_fakes:make", "dataset": "demo", "n": 12, "seed": 3,
           "metrics": ["fvd@stylegan-v-2048x16", "is@c3d-ucf101"], "random_extractors": True,
           "feature_batch_size": 4, "extractors": dict(TINY), "out": str(out), "db": "none"}
    cfg.update(kw)
    return cfg


def write_toml(path, cfg: dict) -> Path:
    lines, tables = [], []
    for k, v in cfg.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{k} = {json.dumps(v)}")
    for name, t in tables:
        lines.append(f"[{name}]")
        lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in t.items()]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def env(**extra) -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), e.get("PYTHONPATH", "")])
    e["OMP_NUM_THREADS"] = "1"
    e.update(extra)
    return e


def ffbench_run(*args, timeout=120, **extra_env):
    return subprocess.run([sys.executable, "-m", "ffbench.cli", "run", *map(str, args)],
                          capture_output=True, text=True, env=env(**extra_env), timeout=timeout,
                          cwd=str(REPO))


def comparable(results: dict) -> dict:
    """What must be identical between runs of one config (not ids, timings, hardware)."""
    return {"scores": results["scores"], "per_sample": results["per_sample"],
            "per_class": results["per_class"], "n_samples": results["n_samples"],
            "n_failed": results["n_failed"], "failures": results["failures"],
            "n_planned": results["n_planned"]}


def load_results(out) -> dict:
    return json.loads((Path(out) / "results.json").read_text(encoding="utf-8"))





def real_stats_file(path, dim: int = 6, n: int = 20, protocol: str = "fvd@stylegan-v-2048x16"):
    """A small real-statistics file matching the tiny FVD extractor (skips decoding real sets)."""
    import numpy as np

    from ffbench import protocols
    from ffbench.metrics.stats import GaussianStats

    p = protocols.get(protocol)
    x = np.random.default_rng(0).normal(size=(n, dim))
    s = GaussianStats.from_features(x, meta={"protocol": p.name, "protocol_hash": p.hash,
                                            "source": "test"})
    return s.save(path)


def in_process(cfg: dict, **kw):
    from ffbench.harness.config import parse_run_config
    from ffbench.harness.runner import run

    return run(parse_run_config(cfg), quiet=True, **kw)
