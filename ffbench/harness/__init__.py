"""The evaluation harness: resumable, sharded generate-and-evaluate runs (`ffbench run`).

    from ffbench.harness import load_run_config, parse_run_config, run
    results = run(load_run_config("run.toml").with_execution(out="runs/x"))

Modules: config (run config schema), plan (sample ids, prompts, seeds), rundir (atomic files,
resume state, config binding), generate, features (one pass per extractor), evaluate (scores
from saved features), shard (torchrun ranks / --shard i/K), runner (orchestration).
Run directory layout: docs/RUN_DIR.md.
"""


def __getattr__(name):  # the config schema (pydantic) loads on first use, not with the package
    if name in ("RunConfig", "load_run_config", "parse_run_config"):
        from . import config

        return getattr(config, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(config, **kwargs):
    """See ffbench.harness.runner.run (imported lazily: it pulls in torch)."""
    from .runner import run as _run

    return _run(config, **kwargs)


__all__ = ["RunConfig", "load_run_config", "parse_run_config", "run"]
