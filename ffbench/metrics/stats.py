"""Feature statistics (mean, covariance) and their on-disk cache.

Why sums and not running means: StyleGAN-V's `FeatureStats` (metric_utils.py, metrics.md §1a)
accumulates Σx and Σxxᵀ in float64 and derives cov = Σxxᵀ/N − μμᵀ. Keeping the same three
sums as torchmetrics states with ``dist_reduce_fx="sum"`` makes a DDP merge an exact sum, and
lets one set of sums give either covariance the protocol asks for: biased (/N, StyleGAN-V and
cd-fvd) or unbiased (/(N−1), VideoGPT / TF-GAN / np.cov).

The real side's cache (`ffbench.harness.realstats.RealFeatureCache`) keys its files with
`cache_key` (protocol hash, real-set key from `manifest_hash`, extractor weights tag). A damaged
statistics file the user names is a StatsError naming it. `load_reference_pkl` imports
StyleGAN-V and cd-fvd ``FeatureStats`` pickles (both pickle ``FeatureStats.__dict__``:
raw_mean = Σx, raw_cov = Σxxᵀ, num_items) through an exact (module, name) allow-list, since a
shared statistics file must never run code (issue 21 item 1).
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import pickle
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torchmetrics import Metric

from ..errors import FFBenchError

log = logging.getLogger(__name__)

__all__ = [
    "StatsError",
    "GaussianStats",
    "FeatureMoments",
    "covariance_from_sums",
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

    def check(self, protocol, dim: int | None, where: str) -> None:
        """The one protocol check of statistics made elsewhere (a file, a cache, a caller):
        refuse those made under another protocol (`meta["protocol_hash"]`, when recorded) or of
        another feature dimension than `dim`; StatsError naming `where`."""
        ph = self.meta.get("protocol_hash")
        if ph is not None and ph != protocol.hash:
            raise StatsError(f"{where}: statistics made under {self.meta.get('protocol')} "
                             f"({str(ph)[:12]}), not {protocol.name} ({protocol.short_hash}); they "
                             "are not comparable")
        if dim is not None and self.dim != dim:
            raise StatsError(f"{where}: {self.dim}-d statistics, the extractor gives {dim}-d features")

    @classmethod
    def from_features(cls, features, meta: dict | None = None) -> "GaussianStats":
        x = np.asarray(features.detach().cpu().numpy() if isinstance(features, torch.Tensor)
                       else features, dtype=np.float64)
        if x.ndim != 2:
            raise StatsError(f"features must be [N, D], got shape {x.shape}")
        return cls(x.sum(0), x.T @ x, x.shape[0], dict(meta or {}))

    def save(self, path) -> Path:
        """Atomic write (temp file + rename) of a self-describing .npz; an OS error (disk
        full, read-only, no such folder) is a StatsError naming the file."""
        path = Path(path)
        meta = dict(self.meta, format_version=FORMAT_VERSION)
        from ..fileio import atomic_path  # temp + rename, and the usual 0666 & ~umask mode

        try:
            with atomic_path(path, suffix=".tmp") as tmp, open(tmp, "wb") as fh:
                np.savez(fh, sum=self.sum, sum_outer=self.sum_outer, n=np.int64(self.n),
                         meta=np.array(json.dumps(meta, sort_keys=True)))
        except OSError as e:
            raise StatsError(f"{path}: cannot write statistics ({e.strerror or e})") from e
        return path

    @classmethod
    def load(cls, path) -> "GaussianStats":
        """Read a file written by `save`; a torn, foreign or inconsistent file is a StatsError
        naming it (the cache turns that into a miss, a user-given file into an error)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                s = cls(np.asarray(z["sum"], np.float64), np.asarray(z["sum_outer"], np.float64),
                        int(z["n"]), json.loads(str(z["meta"])))
        except (OSError, KeyError, ValueError, TypeError, AttributeError, EOFError,
                zipfile.BadZipFile, zlib.error) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else e
            raise StatsError(f"{path}: not an ffbench statistics file, or damaged "
                             f"({type(e).__name__}: {reason})") from e
        if not isinstance(s.meta, dict):
            raise StatsError(f"{path}: damaged statistics file (meta is not a table)")
        if s.sum.ndim != 1 or s.sum_outer.shape != (s.dim, s.dim):
            raise StatsError(f"{path}: sum_outer has shape {s.sum_outer.shape}, expected "
                             f"{(s.dim,) * 2} for sum of shape {s.sum.shape}")
        if s.n < 0 or not (np.isfinite(s.sum).all() and np.isfinite(s.sum_outer).all()):
            raise StatsError(f"{path}: damaged statistics file (negative count, NaN or inf)")
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


# --- reference statistics -------------------------------------------------------------------

def _latin1_encode(text, encoding="latin1"):
    """What protocol-0..2 pickles call (as ``_codecs.encode``) to rebuild a bytes object; only
    the latin-1 form that pickle itself writes is accepted."""
    if not isinstance(text, str) or encoding.replace("-", "").replace("_", "").lower() != "latin1":
        raise pickle.UnpicklingError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r})")
    return text.encode("latin1")


def _pickle_allow_list() -> dict:
    """The exact (module, name) -> object pairs a FeatureStats pickle needs, and nothing else.

    Found by listing the globals of ``pickle.dump(FeatureStats.__dict__)`` at protocols 0-5
    under numpy 1.x (``numpy.core``) and 2.x (``numpy._core``): ndarray, dtype, the array
    rebuilders ``_reconstruct`` / ``_frombuffer`` (protocol 5), numpy scalars, and
    ``_codecs.encode`` (bytes in protocols 0-2). Resolved here, never by importing the named
    module: no module import, no attribute walk, so a dotted name (protocol 4 resolves
    ``os.system`` inside any module) or a gadget elsewhere in numpy cannot be reached.
    """
    core = getattr(np, "_core", None)
    if core is None:  # numpy 1.x
        import numpy.core as core  # noqa: PLC0415
    multiarray, numeric = core.multiarray, core.numeric
    table = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
             ("_codecs", "encode"): _latin1_encode}
    for pkg in ("numpy.core", "numpy._core"):
        table[(f"{pkg}.multiarray", "_reconstruct")] = multiarray._reconstruct
        table[(f"{pkg}.multiarray", "scalar")] = multiarray.scalar
        table[(f"{pkg}.numeric", "_frombuffer")] = numeric._frombuffer
    return table


class _AllowListUnpickler(pickle.Unpickler):
    """Unpickler for reference statistics: globals only from `_pickle_allow_list()`, no
    persistent ids. Pickle runs code by design; this keeps it to building numpy arrays."""

    def __init__(self, file):
        super().__init__(file)
        self._allowed = _pickle_allow_list()

    def find_class(self, module, name):
        obj = self._allowed.get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a statistics "
                                         "pickle holds only numpy arrays and plain values")
        return obj

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing a persistent id")


def _numeric_array(path, key, value, ndim) -> np.ndarray:
    a = value if isinstance(value, np.ndarray) else None
    if a is None or a.dtype.kind not in "fiu" or a.ndim != ndim:
        what = (f"{value.dtype} array of shape {value.shape}" if isinstance(value, np.ndarray)
                else type(value).__name__)
        raise StatsError(f"{path}: {key} must be a {ndim}-d numeric array, got {what}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise StatsError(f"{path}: {key} holds NaN or inf")
    return a


def load_reference_pkl(path) -> GaussianStats:
    """StyleGAN-V / cd-fvd `FeatureStats` pickle -> GaussianStats (their Σx, Σxxᵀ, N as they are).

    Read through an exact allow-list (`_pickle_allow_list`): any other global, a dotted name or
    a persistent id is refused before anything runs. A file that is not such a pickle, torn
    or holding wrong shapes is a StatsError naming it.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise StatsError(f"{path}: cannot read ({e.strerror or e})") from e
    try:
        d = _AllowListUnpickler(io.BytesIO(data)).load()
    except Exception as e:  # noqa: BLE001 - torn or hostile bytes raise any type; name the file
        raise StatsError(f"{path}: cannot read as a FeatureStats pickle "
                         f"({type(e).__name__}: {e})") from e
    if not isinstance(d, dict) or "num_items" not in d:
        raise StatsError(f"{path}: not a StyleGAN-V/cd-fvd FeatureStats pickle (no num_items)")
    if isinstance(d["num_items"], bool) or not isinstance(d["num_items"], (int, np.integer)) \
            or int(d["num_items"]) < 0:
        raise StatsError(f"{path}: num_items must be a count, got {d['num_items']!r}")
    n = int(d["num_items"])
    if d.get("capture_mean_cov") and d.get("raw_mean") is not None:
        s = _numeric_array(path, "raw_mean", d["raw_mean"], 1)
        so = _numeric_array(path, "raw_cov", d.get("raw_cov"), 2)
        if so.shape != (s.shape[0],) * 2:
            raise StatsError(f"{path}: raw_cov has shape {so.shape}, expected {(s.shape[0],) * 2}")
    elif d.get("all_features"):
        if not isinstance(d["all_features"], (list, tuple)):
            raise StatsError(f"{path}: all_features must be a list of arrays")
        # StyleGAN-V keeps float32 features; the sums are float64 (as its FeatureStats does)
        parts = [_numeric_array(path, "all_features", a, 2).astype(np.float32)
                 for a in d["all_features"]]
        if len({p.shape[1] for p in parts}) != 1:
            raise StatsError(f"{path}: all_features arrays differ in feature size")
        x = np.concatenate(parts).astype(np.float64)
        if x.shape[0] != n:
            raise StatsError(f"{path}: num_items {n} but {x.shape[0]} stored features")
        s, so = x.sum(0), x.T @ x
    else:
        raise StatsError(f"{path}: holds neither mean/cov sums nor features")
    max_items = d.get("max_items")
    meta = {"source": "reference-pkl", "source_file": path.name,
            "source_sha256": hashlib.sha256(data).hexdigest(),
            "max_items": int(max_items) if isinstance(max_items, (int, np.integer)) else None,
            "matches_protocol": reference_pkl_protocol(path.name)}
    return GaussianStats(s, so, n, meta)


def reference_pkl_protocol(name: str) -> str:
    """Which protocol a reference pickle's numbers match, from cd-fvd's published file names
    (`i3d_<dataset>_<n>_res<R>_len<L>_skip<S>_seed0.pkl`: its folder pipeline at R, so
    fvd@cd-fvd-i3d-folder / -folder128); anything else: "unknown (...)" with a hint."""
    import re

    m = re.match(r"i3d_.+_res(\d+)_len\d+_skip\d+_seed\d+\.pkl$", name)
    if m and m.group(1) in ("256", "128"):
        return "fvd@cd-fvd-i3d-folder" + ("" if m.group(1) == "256" else "128")
    return "unknown (cd-fvd i3d res128/res256 files match fvd@cd-fvd-i3d-folder*; others: check its pipeline)"


def load_stats(path) -> GaussianStats:
    """Our .npz or a reference .pkl, by extension."""
    path = Path(path)
    if not path.exists():
        raise StatsError(f"{path}: statistics file does not exist")
    if path.suffix.lower() == ".pkl":
        return load_reference_pkl(path)
    return GaussianStats.load(path)
