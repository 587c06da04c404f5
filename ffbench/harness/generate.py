"""Generation stage: plan items -> samples/<id>.{npy,mp4,json} + previews/<id>.jpg.

Why per-sample error capture: in a run of thousands of prompts one bad prompt, one NaN or one
malformed output must cost one sample, not the run. A batch that fails is retried one sample at
a time to find the culprit; each failure becomes errors/<id>.json and the run goes on, unless
`max_failures` is reached, which stops with a clear message (resume continues afterwards).

Samples already complete on disk (resume) are skipped; a recorded failure is not retried (the
sample is deterministic, so it would fail again; delete errors/<id>.json to retry it).
"""
from __future__ import annotations

import importlib
import logging
import time
import traceback

from ..errors import ConfigError, FFBenchError
from .config import is_entry_point
from .rundir import RunDir, atomic_write_bytes, atomic_write_json, atomic_write_npy, crash_point

__all__ = ["load_model", "generate_samples", "validate_video", "record_failure",
           "MaxFailuresReached", "model_info"]

log = logging.getLogger(__name__)


class MaxFailuresReached(FFBenchError):
    """More samples failed than --max-failures allows."""


def load_model(config, device=None):
    """The Generator for `config.model`: a model name / TOML path (ffbench.generators), or a
    "module:function" entry point called as function(random_weights=, device=, **overrides)."""
    rw = True if config.random_weights else None
    if is_entry_point(config.model):
        mod, _, attr = config.model.partition(":")
        try:
            factory = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"model entry point {config.model!r}: {e}") from None
        return factory(random_weights=rw, device=device, **config.model_overrides)
    from ..generators.base import load_generator

    return load_generator(config.model, random_weights=rw, device=device, **config.model_overrides)


def model_info(gen) -> dict:
    spec = getattr(gen, "video", None)
    return {"model": str(getattr(gen, "name", "model")), "kind": str(getattr(gen, "kind", "")),
            "random_weights": bool(getattr(gen, "random_weights", False)),
            "fps": float(getattr(spec, "fps", None) or getattr(gen, "fps", 8) or 8),
            "expected_shape": _expected_shape(gen)}


def _expected_shape(gen):
    spec = getattr(gen, "video", None)
    if spec is None:
        return None
    try:
        return [int(spec.frames), int(spec.height), int(spec.width), 3]
    except (AttributeError, TypeError):
        return None


def validate_video(v, expected_shape=None) -> str | None:
    """None if `v` is a proper at-rest video, else what is wrong with it."""
    import torch

    if not isinstance(v, torch.Tensor):
        return f"output is {type(v).__name__}, not a torch.Tensor"
    if v.is_floating_point() and not bool(torch.isfinite(v).all()):
        bad = int((~torch.isfinite(v)).sum())
        return f"output has {bad} NaN/inf values (dtype {v.dtype}, expected torch.uint8)"
    if v.dtype != torch.uint8:
        return f"output dtype is {v.dtype}, expected torch.uint8 [T,H,W,3]"
    if v.ndim != 4 or v.shape[-1] != 3 or min(v.shape) < 1:
        return f"output shape is {list(v.shape)}, expected [T,H,W,3]"
    if expected_shape is not None and list(v.shape) != list(expected_shape):
        return f"output shape is {list(v.shape)}, the model config promises {list(expected_shape)}"
    return None


def record_failure(rd: RunDir, sid: str, stage: str, error: str, tb: str = "") -> None:
    atomic_write_json(rd.error(sid), {"sample_id": sid, "stage": stage, "error": error,
                                      "traceback": tb})


def check_max_failures(rd: RunDir, max_failures: int) -> None:
    if max_failures and max_failures > 0:
        n = len(list((rd.root / "errors").glob("*.json"))) if (rd.root / "errors").is_dir() else 0
        if n >= max_failures:
            raise MaxFailuresReached(
                f"stopped early: {n} samples failed, --max-failures is {max_failures}. "
                f"See {rd.root / 'errors'}/*.json; fix the cause and run the same command again "
                "to continue (failed samples are kept as failures unless their error file is deleted).")


def _save_sample(rd: RunDir, item, video, info: dict, seconds: float) -> None:
    import numpy as np

    arr = video.detach().cpu().contiguous().numpy()
    atomic_write_npy(rd.sample(item.sample_id, "npy"), arr)
    try:
        from ..video import write_video

        write_video(rd.sample(item.sample_id, "mp4"), video.cpu(), fps=info["fps"])
    except Exception as e:  # the mp4 is for people; metrics read the exact .npy
        log.warning("%s: could not write mp4 (%s); the .npy is kept", item.sample_id, e)
    try:
        from io import BytesIO

        from PIL import Image

        buf = BytesIO()
        Image.fromarray(np.ascontiguousarray(arr[arr.shape[0] // 2])).save(buf, format="JPEG", quality=90)
        atomic_write_bytes(rd.preview(item.sample_id), buf.getvalue())
    except Exception as e:
        log.warning("%s: no preview (%s)", item.sample_id, e)
    atomic_write_json(rd.sample(item.sample_id, "json"), {
        "sample_id": item.sample_id, "prompt": item.prompt, "seed": item.seed,
        "frames": int(arr.shape[0]), "height": int(arr.shape[1]), "width": int(arr.shape[2]),
        "fps": info["fps"], "model": info["model"], "random_weights": info["random_weights"],
        "timings": {"generate": seconds}})


def _call(gen, items):
    """generate() for a batch; per item: (video, None) or (None, (error, traceback))."""
    t0 = time.perf_counter()
    try:
        out = gen.generate([it.prompt for it in items], [it.seed for it in items])
        if not isinstance(out, (list, tuple)) or len(out) != len(items):
            raise FFBenchError(f"generate() returned {type(out).__name__} of length "
                               f"{len(out) if hasattr(out, '__len__') else '?'} for {len(items)} prompts")
        return [(v, None) for v in out], time.perf_counter() - t0
    except Exception as e:
        return [(None, (f"{type(e).__name__}: {e}", traceback.format_exc()))] * len(items), \
            time.perf_counter() - t0


def generate_samples(rd: RunDir, items, gen, config, *, progress=True, desc="generate") -> dict:
    """Make every item not yet done; return counts {"done", "skipped", "failed"}."""
    from ..progress import progress as progress_bar

    info = model_info(gen)
    todo = [it for it in items if not rd.is_generated(it.sample_id) and rd.failure(it.sample_id) is None]
    counts = {"done": 0, "skipped": len(items) - len(todo), "failed": 0}
    check_max_failures(rd, config.max_failures)
    bar = progress_bar(total=len(items), initial=counts["skipped"], desc=desc, unit="video",
                       quiet=not progress)
    try:
        bs = config.batch_size
        for start in range(0, len(todo), bs):
            batch = todo[start:start + bs]
            results, secs = _call(gen, batch)
            if len(batch) > 1 and any(err for _, err in results):
                # one failure spoils a batch call: find the culprit one sample at a time
                results, secs = [], 0.0
                for it in batch:
                    r, s = _call(gen, [it])
                    results.append(r[0])
                    secs += s
            for it, (video, err) in zip(batch, results):
                if err is None:
                    problem = validate_video(video, info["expected_shape"])
                    if problem is not None:
                        err = (problem, "")
                if err is not None:
                    record_failure(rd, it.sample_id, "generate", err[0], err[1])
                    counts["failed"] += 1
                    log.warning("%s failed: %s", it.sample_id, err[0])
                else:
                    _save_sample(rd, it, video, info, secs / len(batch))
                    counts["done"] += 1
                bar.update(1)
                crash_point("generate")
                if err is not None:
                    check_max_failures(rd, config.max_failures)
    finally:
        bar.close()
    return counts
