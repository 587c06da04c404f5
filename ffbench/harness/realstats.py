"""The real side of every metric: one function, one cache, one key, one protocol check.

`real_features` is the one path from real videos to what a metric compares against: the real set
(`ffbench.data.real_video_set`: a dataset name or a folder, recursive, sorted, the protocol's clip
rule; short and corrupt files counted and named) goes through the protocol family's own feature
function (the one the generated side uses), and the features are cached. `real_statistics` (FVD)
is their Gaussian moments, or a statistics file the user gives (`.npz` from `ffbench stats`, a
StyleGAN-V / cd-fvd `.pkl`), checked against the protocol. `ffbench run`, `evaluate` and
`stats compute` all call these, so `stats compute` fills the cache that `run` reads.

Why the cache holds features and not statistics: the kernel and frame distances (KVD, JEDi, frame
FID/KID) need the features; FVD's Σx, Σxxᵀ, N are a deterministic function of them (float64 sums
of the float32 features, as StyleGAN-V's FeatureStats), so one cache format serves every family and
a cached FVD equals a fresh one bit for bit.

The cache key is (protocol hash, real-set key, extractor weights tag); the real-set key covers the
bytes of the files, the clip rule with its seed and the number of clips (`RealVideoSet.cache_key`).
A torn or foreign cache file is a miss (logged, recomputed); a cache that cannot be written is
logged and never loses what was just computed.
"""
from __future__ import annotations

import json
import logging
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import ConfigError

__all__ = ["real_statistics", "real_features", "name_list", "RealFeatureCache"]

log = logging.getLogger(__name__)


class RealFeatureCache:
    """Real-set features on disk (`$FFBENCH_HOME/stats`), one `.npz` per cache key (module
    docstring). An entry is {"features": [N, D] float32, "n_videos", "real_set" (used/skipped
    counts and names), "protocol", "protocol_hash", "real_set_key", "weights_tag"}."""

    SUFFIX = ".features.npz"

    def __init__(self, root=None):
        if root is None:
            from ..weights import home

            root = home() / "stats"
        self.root = Path(root)

    def path_for(self, protocol, real_set_key: str, tag: str) -> Path:
        from ..metrics.stats import cache_key

        key = cache_key(protocol.hash, real_set_key, tag)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in protocol.name)
        return self.root / f"{safe}-{key[:24]}{self.SUFFIX}"

    @staticmethod
    def read(path) -> dict:
        """One entry; ValueError naming the file when it is torn or not an entry."""
        try:
            with np.load(path, allow_pickle=False) as z:
                entry = json.loads(str(z["meta"]))
                entry["features"] = np.asarray(z["features"])
        except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile,
                zlib.error) as e:
            raise ValueError(f"{path}: not a cached real-feature file, or damaged "
                             f"({type(e).__name__}: {e})") from e
        if not isinstance(entry.get("n_videos"), int) or entry["features"].ndim != 2:
            raise ValueError(f"{path}: damaged cached real-feature file")
        return entry

    def get(self, protocol, real_set_key: str, tag: str) -> dict | None:
        """The cached entry, or None on a miss (absent, unreadable, or keyed differently)."""
        path = self.path_for(protocol, real_set_key, tag)
        if not path.is_file():
            return None
        try:
            entry = self.read(path)
        except ValueError as e:
            log.warning("%s; recomputing", e)
            return None
        if (entry.get("protocol_hash"), entry.get("real_set_key"), entry.get("weights_tag")) != (
                protocol.hash, real_set_key, tag):
            return None
        return dict(entry, cache_file=str(path))

    def put(self, protocol, real_set_key: str, tag: str, entry: dict) -> Path | None:
        """Store `entry` under its key (atomic); the path, or None (logged) when not writable."""
        from ..fileio import atomic_path

        path = self.path_for(protocol, real_set_key, tag)
        meta = {k: v for k, v in entry.items() if k not in ("features", "cache_file")}
        meta.update(protocol=protocol.name, protocol_hash=protocol.hash,
                    real_set_key=real_set_key, weights_tag=tag)
        try:
            with atomic_path(path, suffix=".tmp") as tmp, open(tmp, "wb") as fh:
                np.savez(fh, features=entry["features"],
                         meta=np.array(json.dumps(meta, sort_keys=True, default=str)))
        except OSError as e:
            log.warning("%s: real features not cached (%s)", path, e.strerror or e)
            return None
        return path

    def list(self) -> list[Path]:
        return sorted(self.root.glob(f"*{self.SUFFIX}")) if self.root.is_dir() else []


def real_features(protocol, extractor, *, source, root=None, num_videos: int | None = None,
                  seed: int = 0, batch_size: int = 8, tag: str = "", use_cache: bool = True,
                  progress: bool = True, workers: int | None = None, cache=None) -> dict:
    """The real set's features under `protocol`, cached (module docstring).

    protocol: a protocol object of any family with real videos; extractor: its feature extractor
    (already built); source: dataset name (ucf101, msrvtt, demo) or folder; num_videos: None = the
    protocol's count; seed: clip-offset seed (random-offset rule); tag: extractor weights tag
    (families.weights_tag). Returns {"features": float32 [N, D] (frame families: the frames of
    every video stacked), "n_videos", "real_set" (describe(): used/skipped counts and names),
    "real_set_key", "cache_file" (when cached)}. Raises DatasetError / ConfigError naming the folder
    when nothing usable is found.
    """
    if not source:
        raise ConfigError(f"{protocol.name}: no real videos given (a dataset name, a folder or a "
                          "statistics file)")
    from ..data import real_video_set

    rvs = real_video_set(source, protocol, root=root, num_videos=num_videos, seed=seed,
                         progress=progress, workers=workers)
    key = rvs.cache_key()
    cache = (cache or RealFeatureCache()) if use_cache else None
    entry = cache.get(protocol, key, tag) if cache is not None else None
    if entry is None:
        x = _real_feature_matrix(protocol, extractor, rvs, batch_size, source).astype(np.float32)
        real_set = rvs.describe()
        entry = {"features": x, "n_videos": int(real_set["stats"]["used"]), "real_set": real_set}
        path = cache.put(protocol, key, tag, entry) if cache is not None else None
        if path is not None:
            entry["cache_file"] = str(path)
    entry["real_set_key"] = key
    return entry


def real_statistics(protocol, extractor, *, stats_file=None, tag: str = "", **real):
    """GaussianStats (float64 Σx, Σxxᵀ, N) of the real set under an FVD `protocol`: a statistics
    file when one is given (checked against the protocol and the extractor's dimension), else the
    moments of `real_features(protocol, extractor, tag=tag, **real)` (same arguments).

    `meta` says where they came from ("source": file:... or videos:...; "cache_file" when the
    features were cached) and, for videos, "real_set" (used/skipped counts and names),
    "manifest_hash" (the real-set key) and "weights_sha256" (the tag): what binds a saved copy
    to the real set it came from. Raises StatsError / DatasetError / ConfigError naming the file.
    """
    from ..metrics.stats import GaussianStats, load_stats

    if stats_file:
        stats = load_stats(stats_file)
        stats.check(protocol, getattr(extractor, "feature_dim", None), str(stats_file))
        stats.meta["source"] = f"file:{stats_file}"
        return stats
    r = real_features(protocol, extractor, tag=tag, **real)
    meta = {"real_set": r["real_set"], "source": f"videos:{real.get('source')}",
            "protocol": protocol.name, "protocol_hash": protocol.hash,
            "manifest_hash": r["real_set_key"], "weights_sha256": tag}
    if "cache_file" in r:
        meta["cache_file"] = r["cache_file"]
    return GaussianStats.from_features(r["features"], meta=meta)


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
