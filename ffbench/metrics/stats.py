"""Feature statistics (mean, covariance) and their on-disk cache.

Why sums and not running means: StyleGAN-V's `FeatureStats` (metric_utils.py, metrics.md §1a)
accumulates Σx and Σxxᵀ in float64 and derives cov = Σxxᵀ/N − μμᵀ. Keeping the same three
sums as torchmetrics states with ``dist_reduce_fx="sum"`` makes a DDP merge an exact sum, and
lets one set of sums give either covariance the protocol asks for: biased (/N, StyleGAN-V and
cd-fvd) or unbiased (/(N−1), VideoGPT / TF-GAN / np.cov).

The cache holds real-video statistics as ``.npz`` under ``ffbench.weights.home()/stats``, keyed
by (protocol hash, dataset manifest hash, extractor weights sha256): change any of the three
and it is a miss. `load_reference_pkl` imports StyleGAN-V and cd-fvd ``FeatureStats`` pickles
(both pickle ``FeatureStats.__dict__``: raw_mean = Σx, raw_cov = Σxxᵀ, num_items).
"""
from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torchmetrics import Metric

from ..errors import FFBenchError

__all__ = [
    "StatsError",
    "GaussianStats",
    "FeatureMoments",
    "covariance_from_sums",
    "StatsCache",
    "cache_key",
    "manifest_hash",
    "load_stats",
    "load_reference_pkl",
    "FORMAT_VERSION",
]

FORMAT_VERSION = 1
COVARIANCES = ("biased", "unbiased")


class StatsError(FFBenchError, ValueError):
    """Statistics that cannot be used: unreadable, too few samples, or made under another protocol."""


def covariance_from_sums(sum_x: np.ndarray, sum_xxt: np.ndarray, n: int, covariance: str):
    """(mean, cov) from Σx, Σxxᵀ and N; biased divides by N (StyleGAN-V's exact formula), unbiased by N−1."""
    if covariance not in COVARIANCES:
        raise StatsError(f"unknown covariance rule {covariance!r}; known: {', '.join(COVARIANCES)}")
    n = int(n)
    if n < 2:
        raise StatsError(f"mean and covariance need at least 2 samples, got {n}")
    mean = sum_x / n
    if covariance == "biased":
        cov = sum_xxt / n - np.outer(mean, mean)
    else:
        cov = (sum_xxt - n * np.outer(mean, mean)) / (n - 1)
    return mean, cov


@dataclass
class GaussianStats:
    """Σx, Σxxᵀ and N of a feature set, plus where they came from."""

    sum: np.ndarray  # [D] float64
    sum_outer: np.ndarray  # [D, D] float64
    n: int
    meta: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.sum.shape[0])

    def mean_cov(self, covariance: str = "biased"):
        return covariance_from_sums(self.sum, self.sum_outer, self.n, covariance)

    @classmethod
    def from_features(cls, features, meta: dict | None = None) -> "GaussianStats":
        x = np.asarray(features.detach().cpu().numpy() if isinstance(features, torch.Tensor)
                       else features, dtype=np.float64)
        if x.ndim != 2:
            raise StatsError(f"features must be [N, D], got shape {x.shape}")
        return cls(x.sum(0), x.T @ x, x.shape[0], dict(meta or {}))

    def save(self, path) -> Path:
        """Atomic write (temp file + rename) of a self-describing .npz."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = dict(self.meta, format_version=FORMAT_VERSION)
        from ..fileio import atomic_path  # temp + rename, and the usual 0666 & ~umask mode

        with atomic_path(path, suffix=".tmp") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, sum=self.sum, sum_outer=self.sum_outer, n=np.int64(self.n),
                     meta=np.array(json.dumps(meta, sort_keys=True)))
        return path

    @classmethod
    def load(cls, path) -> "GaussianStats":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                s = cls(np.asarray(z["sum"], np.float64), np.asarray(z["sum_outer"], np.float64),
                        int(z["n"]), json.loads(str(z["meta"])))
        except (OSError, KeyError, ValueError) as e:
            raise StatsError(f"{path}: not an ffbench statistics file ({e})") from e
        if s.sum_outer.shape != (s.dim, s.dim):
            raise StatsError(f"{path}: sum_outer has shape {s.sum_outer.shape}, expected {(s.dim,) * 2}")
        return s


class FeatureMoments(Metric):
    """Streaming Σx, Σxxᵀ, N in float64 as torchmetrics states (exact DDP merge by sum)."""

    full_state_update = False
    is_differentiable = False
    higher_is_better = None

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.add_state("sum", torch.zeros(self.dim, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("sum_outer", torch.zeros(self.dim, self.dim, dtype=torch.float64),
                       dist_reduce_fx="sum")
        self.add_state("n", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, features: torch.Tensor) -> None:
        _check_features(features, self.dim)
        # StyleGAN-V casts features to float32 first, then accumulates in float64
        x = features.detach().to(torch.float32).to(self.sum.device, torch.float64)
        self.sum += x.sum(0)
        self.sum_outer += x.T @ x
        self.n += x.shape[0]

    def compute(self) -> GaussianStats:
        return GaussianStats(self.sum.cpu().numpy().copy(), self.sum_outer.cpu().numpy().copy(),
                             int(self.n.item()))


def _check_features(features, dim: int) -> None:
    if not isinstance(features, torch.Tensor) or features.ndim != 2 or features.shape[1] != dim:
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features)
        raise StatsError(f"features must be a tensor [N, {dim}], got {shape}")
    if not torch.isfinite(features).all():
        bad = int((~torch.isfinite(features)).any(1).sum())
        raise StatsError(f"{bad} of {features.shape[0]} feature vectors contain NaN or inf; "
                         "the extractor or its input is broken")


# --- cache ----------------------------------------------------------------------------------

def manifest_hash(paths, root=None, extra: str = "") -> str:
    """sha256 over (relative name, size, content sha256) of each file, in the given order.

    The order is part of the hash because protocols take 'the first N' of a sorted listing.
    `extra` carries anything else that picks the clips (e.g. the clip-offset seed).
    """
    from ..weights import sha256_of

    h = hashlib.sha256(b"ffbench-manifest-v1\0")
    for p in paths:
        p = Path(p)
        name = p.relative_to(root).as_posix() if root is not None else p.name
        h.update(f"{name}\0{p.stat().st_size}\0{sha256_of(p)}\n".encode())
    h.update(extra.encode())
    return h.hexdigest()


def cache_key(protocol_hash: str, manifest: str, weights_sha256: str) -> str:
    return hashlib.sha256(f"{protocol_hash}\0{manifest}\0{weights_sha256}".encode()).hexdigest()


class StatsCache:
    """Real-video statistics on disk, one .npz per (protocol, dataset manifest, weights) key."""

    def __init__(self, root=None):
        if root is None:
            from ..weights import home

            root = home() / "stats"
        self.root = Path(root)

    def path_for(self, protocol, manifest: str, weights_sha256: str) -> Path:
        key = cache_key(protocol.hash, manifest, weights_sha256)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in protocol.name)
        return self.root / f"{safe}-{key[:24]}.npz"

    def get(self, protocol, manifest: str, weights_sha256: str) -> GaussianStats | None:
        """The cached statistics, or None on a miss (absent, unreadable, or keyed differently)."""
        path = self.path_for(protocol, manifest, weights_sha256)
        if not path.exists():
            return None
        try:
            stats = GaussianStats.load(path)
        except StatsError:
            return None  # a torn or foreign file is a miss; put() replaces it atomically
        m = stats.meta
        if (m.get("protocol_hash"), m.get("manifest_hash"), m.get("weights_sha256")) != (
                protocol.hash, manifest, weights_sha256):
            return None
        return stats

    def put(self, protocol, manifest: str, weights_sha256: str, stats: GaussianStats) -> Path:
        stats.meta.update(protocol=protocol.name, protocol_hash=protocol.hash,
                          manifest_hash=manifest, weights_sha256=weights_sha256)
        return stats.save(self.path_for(protocol, manifest, weights_sha256))

    def list(self) -> list[Path]:
        return sorted(self.root.glob("*.npz")) if self.root.is_dir() else []


# --- reference statistics -------------------------------------------------------------------

class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Reference .pkl files hold a dict of numpy arrays; refuse anything else (pickle runs code)."""

    _ALLOWED_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray",
                        "numpy.core.numeric", "numpy._core.numeric", "collections", "builtins")
    _ALLOWED_BUILTINS = {"dict", "list", "tuple", "set", "frozenset", "int", "float", "bool",
                         "str", "bytes", "complex", "slice", "range"}

    def find_class(self, module, name):
        if module == "builtins" and name not in self._ALLOWED_BUILTINS:
            raise pickle.UnpicklingError(f"refusing builtins.{name}")
        if module.startswith("numpy") or module in self._ALLOWED_MODULES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_reference_pkl(path) -> GaussianStats:
    """StyleGAN-V / cd-fvd `FeatureStats` pickle -> GaussianStats (their Σx, Σxxᵀ, N as they are)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            d = _NumpyOnlyUnpickler(io.BytesIO(fh.read())).load()
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise StatsError(f"{path}: cannot read as a FeatureStats pickle ({e})") from e
    if not isinstance(d, dict) or "num_items" not in d:
        raise StatsError(f"{path}: not a StyleGAN-V/cd-fvd FeatureStats pickle (no num_items)")
    n = int(d["num_items"])
    if d.get("capture_mean_cov") and d.get("raw_mean") is not None:
        s = np.asarray(d["raw_mean"], np.float64)
        so = np.asarray(d["raw_cov"], np.float64)
    elif d.get("all_features"):
        x = np.concatenate([np.asarray(a, np.float32) for a in d["all_features"]]).astype(np.float64)
        if x.shape[0] != n:
            raise StatsError(f"{path}: num_items {n} but {x.shape[0]} stored features")
        s, so = x.sum(0), x.T @ x
    else:
        raise StatsError(f"{path}: holds neither mean/cov sums nor features")
    meta = {"source": "reference-pkl", "source_file": path.name,
            "source_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "max_items": d.get("max_items")}
    return GaussianStats(s, so, n, meta)


def load_stats(path) -> GaussianStats:
    """Our .npz or a reference .pkl, by extension."""
    path = Path(path)
    if not path.exists():
        raise StatsError(f"{path}: statistics file does not exist")
    if path.suffix.lower() == ".pkl":
        return load_reference_pkl(path)
    return GaussianStats.load(path)
