"""Real-video statistics for FVD: the one function behind `ffbench run`, `evaluate fvd --real`
and `stats compute`, with the one cache key and the one protocol check.

Where the statistics come from, in order: a statistics file the user gives (`.npz` from
`ffbench stats`, or a StyleGAN-V / cd-fvd `.pkl`); the statistics cache
($FFBENCH_HOME/stats, ffbench.metrics.stats.StatsCache); else computed from the real set
(`ffbench.data.real_video_set`: a dataset name or a folder, recursive, sorted, the protocol's
clip rule; short and corrupt files counted and named) with the protocol's extractor, then cached.

The cache key is (protocol hash, real-set key, extractor weights tag); the real-set key covers the
manifest hash of the files' bytes, the clip rule with its seed and the number of clips
(`RealVideoSet.cache_key`). Every command computes it the same way, so `stats compute` fills the
cache that `run` and `evaluate` read.
"""
from __future__ import annotations

import logging
import numpy as np

from ..errors import ConfigError

__all__ = ["real_statistics", "real_features", "check_stats", "name_list"]

log = logging.getLogger(__name__)


def check_stats(stats, protocol, dim: int | None, where: str) -> None:
    """Refuse statistics made under another protocol or of another feature dimension."""
    from ..metrics.stats import StatsError

    ph = stats.meta.get("protocol_hash")
    if ph is not None and ph != protocol.hash:
        raise StatsError(f"{where}: statistics made under {stats.meta.get('protocol')} "
                         f"({str(ph)[:12]}), not {protocol.name} ({protocol.short_hash}); they are "
                         "not comparable")
    if dim is not None and stats.dim != dim:
        raise StatsError(f"{where}: {stats.dim}-d statistics, the extractor gives {dim}-d features")


def real_statistics(protocol, extractor, *, source=None, root=None, stats_file=None,
                    num_videos: int | None = None, seed: int = 0, batch_size: int = 8,
                    tag: str = "", use_cache: bool = True, progress: bool = True,
                    workers: int | None = None):
    """GaussianStats (float64 Σx, Σxxᵀ, N) of the real set under an FVD `protocol`.

    protocol: FVDProtocol object; extractor: its feature extractor (already built);
    source: dataset name (ucf101, msrvtt, demo) or folder; stats_file: a statistics file instead;
    num_videos: None = the protocol's num_real; seed: clip-offset seed (random-offset rule);
    tag: extractor weights tag (families.weights_tag). `meta["source"]` says where they came from
    (file:... or videos:...; `cache_file` when the cache holds them) and `meta["real_set"]` the used/skipped counts and names.
    Raises StatsError / DatasetError / ConfigError with the file or folder named.
    """
    from ..metrics.stats import GaussianStats, StatsCache, load_stats

    dim = getattr(extractor, "feature_dim", None)
    if stats_file:
        stats = load_stats(stats_file)
        check_stats(stats, protocol, dim, str(stats_file))
        stats.meta["source"] = f"file:{stats_file}"
        return stats
    if not source:
        raise ConfigError(f"{protocol.name}: no real videos given (a dataset name, a folder or a "
                          "statistics file)")
    from ..data import real_video_set

    rvs = real_video_set(source, protocol, root=root, num_videos=num_videos, seed=seed,
                         progress=progress, workers=workers)
    cache = StatsCache() if use_cache else None
    key = rvs.cache_key()
    if cache is not None:
        stats = cache.get(protocol, key, tag)
        if stats is not None:
            stats.meta["cache_file"] = str(cache.path_for(protocol, key, tag))
            return stats
    x = _real_feature_matrix(protocol, extractor, rvs, batch_size, source).astype(np.float64)
    stats = GaussianStats.from_features(x, meta={"real_set": rvs.describe(), "source": f"videos:{source}"})
    if cache is not None:
        stats.meta["cache_file"] = str(cache.put(protocol, key, tag, stats))
    return stats


def name_list(texts, k: int = 5) -> str:
    """The first `k` of `texts` joined, "and N more" for the rest, "-" for none: how skipped
    inputs are named in one line (real sets here, folder plans in the evaluate commands)."""
    texts = [str(t) for t in texts]
    return ", ".join(texts[:k]) + (f" and {len(texts) - k} more" if len(texts) > k else "") or "-"


def _real_feature_matrix(protocol, extractor, rvs, batch_size: int, source) -> np.ndarray:
    """Features of every usable real clip, through the protocol family's own feature function
    (the one the generated side uses): [N, D] for video families, frames stacked for `frames`."""
    from .families import family

    fam = family(protocol)
    feats, batch = [], []

    def flush():
        if batch:
            feats.append(fam.sample_features(extractor, batch, batch_size))
            batch.clear()

    for clip in rvs:
        if fam.kind != "video":
            feats.append(fam.video_features(extractor, clip.video))
            continue
        if batch and tuple(clip.video.shape) != tuple(batch[0].shape):
            flush()
        batch.append(clip.video)
        if len(batch) == batch_size:
            flush()
    flush()
    if not feats:
        st = rvs.describe()["stats"]
        raise ConfigError(f"{protocol.name}: no usable real videos in {source} "
                          f"({st['listed']} listed; {st['discarded_short']} too short: "
                          f"{name_list(r[0] for r in st['short_files'])}; {st['corrupt']} corrupt: "
                          f"{name_list(r[0] for r in st['corrupt_files'])})")
    return np.concatenate(feats)


def real_features(protocol, extractor, *, source, root=None, num_videos: int | None = None,
                  seed: int = 0, batch_size: int = 8, tag: str = "", use_cache: bool = True,
                  progress: bool = True, workers: int | None = None) -> dict:
    """{"features": float32 [N, D], "n_videos", "real_set"} of the real set for a kernel or frame
    protocol (KVD, JEDi, frame FID/KID: their distances need the features, not Gaussian
    statistics). Cached next to the statistics, keyed like them by (protocol hash, real-set key,
    weights tag)."""
    import json

    from ..data import real_video_set
    from ..metrics.stats import StatsCache, cache_key

    rvs = real_video_set(source, protocol, root=root, num_videos=num_videos, seed=seed,
                         progress=progress, workers=workers)
    key = cache_key(protocol.hash, rvs.cache_key(), tag)
    path = StatsCache().root / f"features-{key[:32]}.npz"
    if use_cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {"features": z["features"], "n_videos": int(z["n_videos"]),
                        "real_set": json.loads(str(z["real_set"])), "cache_file": str(path)}
        except (OSError, KeyError, ValueError) as e:  # a torn cache file is a miss
            log.warning("%s: unreadable cached real features (%s); recomputing", path, e)
    x = _real_feature_matrix(protocol, extractor, rvs, batch_size, source).astype(np.float32)
    real_set = rvs.describe()
    out = {"features": x, "n_videos": int(real_set["stats"]["used"]), "real_set": real_set}
    if use_cache:
        from ..fileio import atomic_path

        try:
            with atomic_path(path, suffix=".tmp") as tmp, open(tmp, "wb") as fh:
                np.savez(fh, features=x, n_videos=np.int64(out["n_videos"]),
                         real_set=np.array(json.dumps(real_set, default=str)))
            out["cache_file"] = str(path)
        except OSError as e:
            log.warning("%s: could not cache real features (%s)", path, e)
    return out
