"""Evaluation stage: scores from the saved per-sample features (no model is run for fakes).

Why from saved features: the numbers can be recomputed (other bootstrap count, other real
statistics) without regenerating; and every rank/shard split leads to the same feature files,
read here in plan order, so the numbers are identical whatever the split.

Samples in the metrics: those of the plan that have no errors/<id>.json, in plan order. All
metrics use the same set, so FVD, IS and CLIPSIM of a run describe the same videos.

Confidence intervals (percentile bootstrap over samples, 95 %): CLIPSIM always (a mean over
videos: cheap, `bootstrap` resamples or 1000); FVD and IS only with `bootstrap = N` (each
resample recomputes a covariance and a matrix square root, or IS splits). Resampling uses a
generator seeded from (run seed, metric), so a CI is reproducible.

Real statistics for FVD, in order: `[real] stats` file; the copy saved in RUN_DIR/real/;
the statistics cache ($FFBENCH_HOME/stats, ffbench.metrics.stats.StatsCache) keyed by protocol
hash, real-set manifest and extractor weights; else computed from `ffbench.data.real_video_set`
with the same extractor as the fakes, then cached and saved in the run directory.
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict

import numpy as np

from .. import protocols as P
from ..errors import ConfigError
from .features import (FeatureSpec, build_extractor_for, extractor_info, feature_specs,
                       read_feature_info, video_features)
from .rundir import RunDir, RunDirError

__all__ = ["evaluate_run", "sample_status", "real_stats_for"]

log = logging.getLogger(__name__)
CI_LEVEL = 0.95
CLIPSIM_DEFAULT_RESAMPLES = 1000


def sample_status(rd: RunDir, plan, specs: list[FeatureSpec]) -> tuple[list, dict, list]:
    """(succeeded items in plan order, failures {id: record}, unfinished ids)."""
    failures = rd.failures()
    ok, unfinished = [], []
    for it in plan.items:
        if it.sample_id in failures:
            continue
        if rd.is_generated(it.sample_id) and all(rd.has_feature(s.key, it.sample_id) for s in specs):
            ok.append(it)
        else:
            unfinished.append(it.sample_id)
    return ok, {k: v for k, v in failures.items() if k in set(plan.ids)}, unfinished


def _rng(seed: int, name: str) -> np.random.Generator:
    h = hashlib.sha256(f"{seed}\0bootstrap\0{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


def _ci(values) -> tuple[float | None, float | None]:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return None, None
    a = (1 - CI_LEVEL) / 2
    return float(np.quantile(v, a)), float(np.quantile(v, 1 - a))


# --- real statistics ----------------------------------------------------------------------------

def _weights_tag(config, spec: FeatureSpec, info: dict) -> str:
    p = spec.protocol
    name = p.extractor if p.metric in ("fvd", "is") else "clip"
    override = config.extractors.get(name) or config.extractors.get(spec.key)
    tag = info.get("weights_sha256") or ""
    if override:
        tag = f"override:{override}:{tag}"
    if info.get("random_weights"):
        tag = f"random:{tag or name}:seed0"
    return tag


def real_stats_for(rd: RunDir, config, spec: FeatureSpec, metric: str, progress: bool = True):
    """GaussianStats of the real set for FVD protocol `metric` (see module docstring)."""
    from ..metrics.stats import GaussianStats, StatsCache, load_stats

    p = P.get(metric)
    saved = rd.real_stats(metric.replace("@", "-"))
    if config.real.stats:
        stats = load_stats(config.real.stats)
        stats.meta.setdefault("source", config.real.stats)
    elif saved.is_file():
        stats = GaussianStats.load(saved)
    else:
        from ..data import real_video_set

        source = config.real.source or config.dataset
        root = config.real.root or (config.dataset_root if not config.real.source else "") or None
        rvs = real_video_set(source, p, root=root, num_videos=config.real.num_videos or None,
                             seed=config.real.seed, progress=progress)
        ext = build_extractor_for(spec, config)
        info = extractor_info(ext)
        tag = _weights_tag(config, spec, info)
        cache = StatsCache()
        manifest = rvs.cache_key()
        stats = cache.get(p, manifest, tag)
        if stats is None:
            feats, batch, shape = [], [], None
            bs = config.feature_batch_size

            def flush():
                if batch:
                    feats.append(video_features(ext, batch, bs))
                    batch.clear()
            for clip in rvs:
                if shape is not None and tuple(clip.video.shape) != shape:
                    flush()
                shape = tuple(clip.video.shape)
                batch.append(clip.video)
                if len(batch) == bs:
                    flush()
            flush()
            if not feats:
                raise ConfigError(f"{metric}: no usable real videos in {source!r}")
            stats = GaussianStats.from_features(np.concatenate(feats).astype(np.float64), meta={
                "source": f"{source} ({len(np.concatenate(feats))} clips)",
                "real_set": rvs.describe().get("stats", {})})
            cache.put(p, manifest, tag, stats)
        stats.meta.setdefault("source", str(source))
        stats.save(saved)
    ph = stats.meta.get("protocol_hash")
    if ph is not None and ph != p.hash:
        raise ConfigError(f"real statistics for {metric} were made under protocol "
                          f"{stats.meta.get('protocol')} ({str(ph)[:12]}); they are not comparable")
    return stats


# --- metrics ------------------------------------------------------------------------------------

def _fvd(metric, feats, real, bootstrap, seed) -> dict:
    from ..metrics.fvd import fvd_from_stats
    from ..metrics.stats import GaussianStats

    p = P.get(metric)
    x = feats.astype(np.float32).astype(np.float64)  # StyleGAN-V casts to float32 first
    if real.dim != x.shape[1]:
        raise ConfigError(f"{metric}: real statistics are {real.dim}-d, features {x.shape[1]}-d")
    value = fvd_from_stats(real, GaussianStats.from_features(x), p)
    out = {"value": value, "std": None, "ci_low": None, "ci_high": None,
           "extra": {"n_real": real.n, "real_source": real.meta.get("source", ""),
                     "sqrtm": p.sqrtm, "covariance": p.covariance}}
    if bootstrap:
        rng = _rng(seed, metric)
        vals = [fvd_from_stats(real, GaussianStats.from_features(x[rng.integers(0, len(x), len(x))]), p)
                for _ in range(bootstrap)]
        out["ci_low"], out["ci_high"] = _ci(vals)
        out["extra"]["bootstrap"] = bootstrap
        out["extra"]["bootstrap_std"] = float(np.std(vals))
    return out


def _is(metric, probs, bootstrap, seed) -> dict:
    from ..metrics.inception import inception_score_from_probs

    p = P.get(metric)
    score = lambda q: inception_score_from_probs(q, p.splits, p.split_rule, p.shuffle_seed, p.eps)  # noqa: E731
    mean, std = score(probs)
    out = {"value": mean, "std": std, "ci_low": None, "ci_high": None,
           "extra": {"splits": p.splits, "split_rule": p.split_rule}}
    if bootstrap:
        rng = _rng(seed, metric)
        vals = [score(probs[rng.integers(0, len(probs), len(probs))])[0] for _ in range(bootstrap)]
        out["ci_low"], out["ci_high"] = _ci(vals)
        out["extra"]["bootstrap"] = bootstrap
    return out


def _clipsim(metric, cosines: list, bootstrap, seed) -> dict:
    p = P.get(metric)
    per = np.asarray([float(np.mean(c)) for c in cosines], dtype=np.float64) * float(p.scale)
    if per.size == 0:
        raise ConfigError(f"{metric}: no videos")
    b = bootstrap or CLIPSIM_DEFAULT_RESAMPLES
    rng = _rng(seed, metric)
    means = per[rng.integers(0, per.size, (b, per.size))].mean(1)
    lo, hi = _ci(means)
    return {"value": float(per.mean()), "std": float(per.std()), "ci_low": lo, "ci_high": hi,
            "per_sample": per, "extra": {"scale": p.scale, "bootstrap": b,
                                         "frames": int(sum(len(c) for c in cosines))}}


def evaluate_run(rd: RunDir, plan, config, *, progress: bool = True, allow_incomplete=False) -> dict:
    """Scores, per-sample values and per-class values; raises if samples are unfinished."""
    specs = feature_specs(config.metrics)
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
        for metric in spec.metrics:
            p = P.get(metric)
            row = {"metric": p.metric, "protocol": p.name, "protocol_hash": p.hash,
                   "value": None, "std": None, "n": len(ids), "ci_low": None, "ci_high": None,
                   "weights_sha256": info.get("weights_sha256") or "",
                   "random_weights": bool(info.get("random_weights", False)),
                   "extra": {"features": spec.key, "extractor": info.get("extractor", "")}}
            try:
                if p.metric == "fvd":
                    if len(ids) < 2:
                        raise ConfigError(f"FVD needs at least 2 generated videos, got {len(ids)}")
                    real = real_stats_for(rd, config, spec, metric, progress)
                    r = _fvd(metric, np.stack(arrays), real, config.bootstrap, config.seed)
                elif p.metric == "is":
                    if not ids:
                        raise ConfigError("IS needs generated videos, got none")
                    r = _is(metric, np.stack(arrays).astype(np.float64), config.bootstrap, config.seed)
                else:
                    r = _clipsim(metric, arrays, config.bootstrap, config.seed)
                    per = r.pop("per_sample")
                    per_sample[metric] = dict(zip(ids, map(float, per)))
                    if any(lab is not None for lab in labels):
                        groups = defaultdict(list)
                        for lab, v in zip(labels, per):
                            groups[str(lab)].append(float(v))
                        per_class[metric] = {k: float(np.mean(v)) for k, v in sorted(groups.items())}
                row["extra"].update(r.pop("extra"))
                row.update(r)
            except Exception as e:  # a metric that cannot be computed is reported, not fatal
                from ..errors import is_user_error

                if not is_user_error(e) and not isinstance(e, (ValueError, ArithmeticError)):
                    raise
                row["extra"]["error"] = f"{type(e).__name__}: {e}"
                log.warning("%s not computed: %s", metric, e)
            scores.append(row)
    order = {m: i for i, m in enumerate(config.metrics)}
    scores.sort(key=lambda r: order.get(r["protocol"], 0))
    return {"scores": scores, "per_sample": per_sample, "per_class": per_class,
            "n_samples": len(ids), "failures": failures, "unfinished": unfinished}
