"""Evaluation stage: scores from the saved per-sample features (no model is run for fakes).

Why from saved features: the numbers can be recomputed (other bootstrap count, other real
statistics) without regenerating; and every rank/shard split and every command leads to the same
feature files, read here in plan order, so the numbers are identical whatever the entry point.

Samples in the metrics: those of the plan that have no errors/<id>.json, in plan order. All
metrics use the same set, so FVD, IS and CLIPSIM of a run describe the same videos.

Scores come from each protocol's family (families.py) with a 95 % percentile-bootstrap interval
over samples; the real side from `real_side_for` (realstats: a `[real] stats` file for FVD, else
the cached features of the real set).
"""
from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

from ..errors import ConfigError
from .families import family
from .features import FeatureSpec, build_extractor_for, extractor_info, feature_specs, read_feature_info
from .rundir import RunDir, RunDirError

__all__ = ["evaluate_run", "sample_status", "real_side_for"]

log = logging.getLogger(__name__)


def sample_status(rd: RunDir, plan, specs: list[FeatureSpec]) -> tuple[list, dict, list]:
    """(succeeded items in plan order, failures {id: record}, unfinished ids)."""
    failures = rd.failures()
    ok, unfinished = [], []
    for it in plan.items:
        if it.sample_id in failures:
            continue
        if rd.is_ready(it) and all(rd.has_feature(s.key, it.sample_id) for s in specs):
            ok.append(it)
        else:
            unfinished.append(it.sample_id)
    return ok, {k: v for k, v in failures.items() if k in set(plan.ids)}, unfinished


def real_side_for(rd: RunDir, config, spec: FeatureSpec, p, progress: bool = True):
    """What protocol `p` compares the generated videos against (realstats: one function, one
    cache): FVD's GaussianStats (`real_kind == "stats"`) or, for kernel and frame distances,
    {"features", "n_videos", "real_set"}. Both come from the config's `[real]` source (or its
    dataset) through the same extractor as the generated side; FVD may use a `[real] stats` file
    instead. FVD's statistics are also written to RUN_DIR/real/PROTOCOL.npz, a record of what the
    score used (never read back: the cache, keyed by the real files' bytes, is what is reused).
    """
    from .realstats import real_features, real_statistics

    stats_file = config.real.stats or None  # FVD only: preflight refuses it for the others
    ext = None if stats_file else build_extractor_for(spec, config)
    real = {"source": config.real.source or config.dataset,
            "root": config.real.root or (config.dataset_root if not config.real.source else "") or None,
            "num_videos": config.real.num_videos or None, "seed": config.real.seed,
            "batch_size": config.feature_batch_size, "workers": getattr(config, "workers", None),
            "progress": progress, "tag": extractor_info(ext, spec, config)["weights_tag"] if ext else ""}
    if family(p).real_kind != "stats":
        return real_features(p, ext, **real)
    stats = real_statistics(p, ext, stats_file=stats_file, **real)
    stats.meta.setdefault("protocol", p.name)
    stats.meta.setdefault("protocol_hash", p.hash)
    stats.save(rd.real_stats(p.name.replace("@", "-")))
    return stats


def n_warnings(p, n: int, dim: int | None) -> list[str]:
    """Warnings every score carries when its N is below the protocol's or below the feature
    dimension (FVD / FID covariances are then rank-deficient; every distance is biased in N)."""
    ref = p.fvd() if getattr(p, "fvd_protocol", "") else p
    want = getattr(ref, "videos_needed", None) or getattr(ref, "num_fake", None)
    out = []
    if want and n < want:
        out.append(f"{n} videos, the protocol uses {want}: the value is biased in N and not "
                   "comparable with numbers at the protocol's N; report N beside it")
    if dim and n < dim and family(p).distribution_distance:
        out.append(f"{n} videos < feature dimension {dim}: the estimate is rank-deficient / high-variance")
    return out


def evaluate_run(rd: RunDir, plan, config, *, progress: bool = True, allow_incomplete=False) -> dict:
    """Scores, per-sample values and per-class values; raises if samples are unfinished."""
    specs = feature_specs(config.protocols())
    ok, failures, unfinished = sample_status(rd, plan, specs)
    if unfinished and not allow_incomplete:
        raise RunDirError(f"{len(unfinished)} of {len(plan)} planned samples are not finished "
                          f"(e.g. {', '.join(unfinished[:5])}); run the missing shards or resume "
                          "the run before evaluating")
    ids = [it.sample_id for it in ok]
    scores, per_sample, per_class = [], {}, {}
    labels = [it.label for it in ok]
    for spec in specs:
        info = read_feature_info(rd, spec.key)
        arrays = [np.load(rd.feature(spec.key, sid), allow_pickle=False) for sid in ids]
        for p in spec.metrics:
            fam = family(p)
            row = {"metric": p.metric, "protocol": p.name, "protocol_hash": p.hash,
                   "value": None, "std": None, "n": len(ids), "ci_low": None, "ci_high": None,
                   "weights_sha256": info.get("weights_sha256") or "",
                   "random_weights": bool(info.get("random_weights", False)),
                   "extra": {"features": spec.key, "extractor": info.get("extractor", "")}}
            try:
                real = None
                if fam.needs_real:
                    if len(ids) < 2:
                        raise ConfigError(f"{p.name} needs at least 2 videos, got {len(ids)}")
                    real = real_side_for(rd, config, spec, p, progress)
                r = fam.score(p, arrays, real=real, bootstrap=config.bootstrap, seed=config.seed)
                real_set = (real.meta if fam.real_kind == "stats" else real or {}).get("real_set") \
                    if real is not None else None
                if real_set:
                    row["extra"]["real_set"] = real_set.get("stats", {})
                r["extra"].update(fam.sample_notes(p, ok))
                per = r.pop("per_sample", None)
                if per is not None:
                    per_sample[p.name] = dict(zip(ids, map(float, per)))
                    if any(lab is not None for lab in labels):
                        groups = defaultdict(list)
                        for lab, v in zip(labels, per):
                            groups[str(lab)].append(float(v))
                        per_class[p.name] = {k: float(np.mean(v)) for k, v in sorted(groups.items())}
                row["extra"].update(r.pop("extra"))
                row.update(r)
                dim = int(arrays[0].shape[-1]) if arrays and getattr(arrays[0], "ndim", 0) else None
                row["extra"]["warnings"] = list(dict.fromkeys(
                    row["extra"].get("warnings", []) + n_warnings(p, len(ids), dim)))
            except Exception as e:  # a metric that cannot be computed is reported, not fatal
                from ..errors import is_user_error

                if not is_user_error(e) and not isinstance(e, (ValueError, ArithmeticError)):
                    raise
                row["extra"]["error"] = f"{type(e).__name__}: {e}"
                log.warning("%s not computed: %s", p.name, e)
            scores.append(row)
    order = {m: i for i, m in enumerate(config.metrics)}
    scores.sort(key=lambda r: order.get(r["protocol"], 0))
    return {"scores": scores, "per_sample": per_sample, "per_class": per_class,
            "n_samples": len(ids), "failures": failures, "unfinished": unfinished}
