"""Generation stage: plan items -> samples/<id>.{npy,mp4,json} + previews/<id>.jpg.

Why per-sample error capture: in a run of thousands of prompts one bad prompt, one NaN or one
malformed output must cost one sample, not the run. A batch that fails is retried one sample at
a time to find the culprit; each failure becomes errors/<id>.json and the run goes on, unless
`max_failures` is reached, which stops with a clear message (resume continues afterwards).

Samples already complete on disk (resume) are skipped; a recorded failure is not retried (the
sample is deterministic, so it would fail again; delete errors/<id>.json to retry it).
Retry rule: only a failure of the sample itself (the generator raised, NaN, wrong shape, an
undecodable video) becomes errors/<id>.json. An OS error (disk full, read-only, permission)
is the environment: it stops the run with one line naming the file and records nothing, so the
same command, once the disk is fixed, makes that sample again.
"""
from __future__ import annotations

import importlib
import logging
import time
import traceback

from ..errors import ConfigError, FFBenchError
from .config import is_entry_point
from ..fileio import WriteError
from .rundir import RunDir, atomic_write_bytes, atomic_write_json, atomic_write_npy, crash_point

__all__ = ["load_model", "generate_samples", "validate_video", "record_failure",
           "MaxFailuresReached", "model_info", "write_mp4", "repair_mp4s"]

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
    """.npy, .mp4, preview, then the .json that marks the sample complete. An OS error (disk
    full, read-only) on any of them is a `WriteError` naming the file: the run stops, the .json
    is not written, and the next run makes the sample again. An mp4 the encoder cannot make
    (no codec) is left out and recorded as `"mp4": false`; `"mp4": true` tells resume to
    write it again from the .npy when it is lost (`RunDir.mp4_missing`)."""
    import numpy as np

    arr = video.detach().cpu().contiguous().numpy()
    atomic_write_npy(rd.sample(item.sample_id, "npy"), arr)
    mp4 = write_mp4(rd, item.sample_id, video.cpu(), info["fps"])
    try:
        from io import BytesIO

        from PIL import Image

        buf = BytesIO()
        Image.fromarray(np.ascontiguousarray(arr[arr.shape[0] // 2])).save(buf, format="JPEG", quality=90)
        atomic_write_bytes(rd.preview(item.sample_id), buf.getvalue())
    except WriteError:
        raise
    except Exception as e:
        log.warning("%s: no preview (%s)", item.sample_id, e)
    atomic_write_json(rd.sample(item.sample_id, "json"), {
        "sample_id": item.sample_id, "prompt": item.prompt, "seed": item.seed,
        "frames": int(arr.shape[0]), "height": int(arr.shape[1]), "width": int(arr.shape[2]),
        "fps": info["fps"], "model": info["model"], "random_weights": info["random_weights"],
        "mp4": mp4, "timings": {"generate": seconds}})


def write_mp4(rd: RunDir, sid: str, video, fps: float) -> bool:
    """samples/ID.mp4 (for people; metrics read the exact .npy): True when written, False when
    the encoder cannot make it (logged); an OS error is raised (`WriteError`, the path named)."""
    from ..video import write_video

    try:
        write_video(rd.sample(sid, "mp4"), video, fps=fps)
        return True
    except WriteError:
        raise
    except OSError as e:
        from ..fileio import os_error_message

        raise WriteError(f"cannot write {os_error_message(e, rd.sample(sid, 'mp4'), True)}") from None
    except Exception as e:
        log.warning("%s: could not write mp4 (%s); the .npy is kept", sid, e)
        return False


def repair_mp4s(rd: RunDir, items) -> int:
    """Write again, from the exact .npy, the .mp4 of complete samples that lost it (a full disk,
    a deletion); returns how many."""
    import numpy as np
    import torch

    n = 0
    for it in items:
        if not it.path and rd.mp4_missing(it.sample_id):
            info = rd.sample_info(it.sample_id)
            arr = np.load(rd.sample(it.sample_id, "npy"), allow_pickle=False)
            if write_mp4(rd, it.sample_id, torch.from_numpy(arr), float(info.get("fps") or 8)):
                log.warning("%s: the .mp4 was missing; written again from the .npy", it.sample_id)
                n += 1
    return n


def _call(gen, items):
    """generate() for a batch; per item: (video, None) or (None, (error, traceback))."""
    t0 = time.perf_counter()
    try:
        out = gen.generate([it.prompt for it in items], [it.seed for it in items])
        if not isinstance(out, (list, tuple)) or len(out) != len(items):
            raise FFBenchError(f"generate() returned {type(out).__name__} of length "
                               f"{len(out) if hasattr(out, '__len__') else '?'} for {len(items)} prompts")
        return [(v, None) for v in out], time.perf_counter() - t0
    except OSError:  # the environment (disk full, permission), not the sample: stop, record nothing
        raise
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
