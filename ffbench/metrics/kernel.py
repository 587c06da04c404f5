"""Squared MMD with a polynomial kernel: KVD, KID-style subset estimates, and JEDi's MMD.

    k(x, y) = (γ x·y + c)^degree,   γ = 1/d unless given (scikit-learn's default)

    unbiased (U-statistic; KID / KVD):
        MMD² = Σ_{i≠j} k(x_i,x_j)/(m(m−1)) + Σ_{i≠j} k(y_i,y_j)/(n(n−1)) − 2 Σ_{i,j} k(x_i,y_j)/(mn)
    biased (V-statistic; JEDi's ``mmd_poly``):
        MMD² = mean K_xx + mean K_yy − 2 mean K_xy

References (read, not copied):
- KVD (Unterthiner et al. 2018) as the VideoGPT/TATS/DIGAN line computes it: TATS
  tats/fvd/fvd.py ``polynomial_mmd`` — scikit-learn ``polynomial_kernel`` defaults (degree 3,
  γ = 1/d, c = 1), unbiased, on the full sets of I3D logits.
- KID subsets: StyleGAN2-ADA / StyleGAN-V ``compute_kid`` and clean-fid ``kernel_distance``
  (100 subsets of m = min(N_real, N_fake, 1000) drawn without replacement, mean of the unbiased
  estimate; written there with the kernel diagonals removed and the cross term over m², which
  is the same estimator for equal subset sizes).
- JEDi (oooolga/JEDi videojedi/mmd_polynomial.py): biased, degree 2, γ = 1/d, c = 0, ×100.
  StyleGAN-V and TGAN2 have no KVD of their own (StyleGAN-V's src/metrics/metric_main.py
  registers only frame KID ``kid50k_full``; TGAN2's tgan2/evaluations holds fid.py and
  inception_score.py), so ``kvd@stylegan-v-*`` means StyleGAN-V's I3D features with the
  estimators above.

Precision: float64 throughout (features are cast from the float32 the extractors return).
TATS runs scikit-learn on float32 arrays, so its kernels are float32; the gap is measured in
tests/metrics/test_kernel.py. Subset draws use ``np.random.RandomState(seed)``, so a value
does not depend on global random state; with the same seed its draws equal clean-fid's after
``np.random.seed(seed)``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import FFBenchError

__all__ = ["KernelError", "polynomial_kernel", "mmd2", "subset_mmd2", "kernel_distance",
           "kvd", "score", "sample_warnings", "video_features"]

ESTIMATORS = ("unbiased", "biased")
GRAM_LIMIT = 12_000 ** 2  # (M + N)² up to which subset estimates use the full kernel matrices


class KernelError(FFBenchError, ValueError):
    """Features an MMD cannot be computed from (shape, NaN, too few samples)."""


def _as_features(x, name: str) -> np.ndarray:
    try:
        import torch

        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().float().numpy()
    except ImportError:  # pragma: no cover
        pass
    x = np.asarray(x)
    if x.ndim != 2:
        raise KernelError(f"{name} features must be [N, D], got shape {x.shape}")
    if not np.isfinite(x).all():
        raise KernelError(f"{name} features contain NaN or inf "
                          f"({int((~np.isfinite(x)).any(1).sum())} rows)")
    return x.astype(np.float64)


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None,
                      coef0: float = 1.0) -> np.ndarray:
    """(γ x yᵀ + c)^degree, [N, M] float64; γ = 1/d when None or 0."""
    g = 1.0 / x.shape[1] if not gamma else float(gamma)
    return (g * (x @ y.T) + coef0) ** degree


def _mmd2(x, y, degree, gamma, coef0, estimator) -> float:
    return _mmd2_from_kernels(polynomial_kernel(x, x, degree, gamma, coef0),
                              polynomial_kernel(y, y, degree, gamma, coef0),
                              polynomial_kernel(x, y, degree, gamma, coef0), estimator)


def _mmd2_from_kernels(kxx, kyy, kxy, estimator) -> float:
    if estimator == "biased":
        return float(kxx.mean() + kyy.mean() - 2.0 * kxy.mean())
    m, n = kxx.shape[0], kyy.shape[0]
    sxx = (kxx.sum() - np.diagonal(kxx).sum()) / (m * (m - 1))
    syy = (kyy.sum() - np.diagonal(kyy).sum()) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def _check_pair(x, y, estimator):
    x, y = _as_features(x, "first"), _as_features(y, "second")
    if x.shape[1] != y.shape[1]:
        raise KernelError(f"feature dimensions differ: {x.shape[1]} vs {y.shape[1]}")
    if estimator not in ESTIMATORS:
        raise KernelError(f"unknown MMD estimator {estimator!r}; known: {', '.join(ESTIMATORS)}")
    need = 2 if estimator == "unbiased" else 1
    if min(x.shape[0], y.shape[0]) < need:
        raise KernelError(f"the {estimator} MMD needs at least {need} samples per set, got "
                          f"{x.shape[0]} and {y.shape[0]}")
    return x, y


def mmd2(x, y, degree: int = 3, gamma: float | None = None, coef0: float = 1.0,
         estimator: str = "unbiased") -> float:
    """Squared MMD between feature sets x [M, D] and y [N, D] on the full sets (float64)."""
    x, y = _check_pair(x, y, estimator)
    return _mmd2(x, y, degree, gamma, coef0, estimator)


def subset_mmd2(x, y, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0,
                degree: int = 3, gamma: float | None = None, coef0: float = 1.0,
                estimator: str = "unbiased") -> tuple[float, float]:
    """Mean and std over `num_subsets` subsets of m = min(subset_size, M, N) samples per set.

    Draw order as clean-fid's ``kernel_distance(feats1=real, feats2=generated)`` (its
    ``compute_kid`` passes the reference features first): each subset draws the rows of x
    (generated) first, then those of y (real), ``choice(N, m, replace=False)`` from
    ``RandomState(seed)``.
    """
    x, y = _check_pair(x, y, estimator)
    if num_subsets < 1:
        raise KernelError(f"num_subsets must be >= 1, got {num_subsets}")
    m = min(x.shape[0], y.shape[0], int(subset_size))
    rng = np.random.RandomState(seed)
    draws = [(rng.choice(x.shape[0], m, replace=False), rng.choice(y.shape[0], m, replace=False))
             for _ in range(num_subsets)]
    if (x.shape[0] + y.shape[0]) ** 2 <= GRAM_LIMIT:
        values = _subsets_from_gram(x, y, draws, m, degree, gamma, coef0, estimator)
    else:  # large sets (frame features): per-subset kernels keep memory at O(m²)
        values = np.array([_mmd2(x[ix], y[iy], degree, gamma, coef0, estimator)
                           for ix, iy in draws])
    return float(values.mean()), float(values.std())


def _subsets_from_gram(x, y, draws, m, degree, gamma, coef0, estimator) -> np.ndarray:
    """All subset estimates from the full kernel matrices: with u_s the 0/1 indicator of
    subset s, the sum of K over the subset's pairs is u_sᵀ K u_s, so every subset's sums come
    from one K @ U product instead of three m×m×d products (or m×m gathers) per subset."""
    ux = np.zeros((x.shape[0], len(draws)))
    uy = np.zeros((y.shape[0], len(draws)))
    for s, (ix, iy) in enumerate(draws):
        ux[ix, s] = 1.0
        uy[iy, s] = 1.0
    kxx = polynomial_kernel(x, x, degree, gamma, coef0)
    sxx, dxx = ((kxx @ ux) * ux).sum(0), np.diagonal(kxx) @ ux
    del kxx
    kyy = polynomial_kernel(y, y, degree, gamma, coef0)
    syy, dyy = ((kyy @ uy) * uy).sum(0), np.diagonal(kyy) @ uy
    del kyy
    sxy = ((polynomial_kernel(x, y, degree, gamma, coef0) @ uy) * ux).sum(0)
    if estimator == "biased":
        return (sxx + syy - 2.0 * sxy) / (m * m)
    return (sxx - dxx + syy - dyy) / (m * (m - 1)) - 2.0 * sxy / (m * m)


def kernel_distance(fake, real, protocol) -> tuple[float, dict]:
    """The protocol's polynomial MMD² (× scale) of generated vs real features, and details."""
    x, y = _check_pair(fake, real, protocol.estimator)
    kw = dict(degree=protocol.kernel_degree, gamma=protocol.kernel_gamma or None,
              coef0=protocol.kernel_coef0, estimator=protocol.estimator)
    extra = {"kernel": f"({'1/d' if not protocol.kernel_gamma else protocol.kernel_gamma} x.y + "
                       f"{protocol.kernel_coef0:g})^{protocol.kernel_degree}",
             "estimator": protocol.estimator, "scale": protocol.scale}
    if protocol.subsets:
        value, std = subset_mmd2(x, y, protocol.subsets, protocol.subset_size,
                                 protocol.subset_seed, **kw)
        extra.update(subsets=protocol.subsets,
                     subset_size=min(x.shape[0], y.shape[0], protocol.subset_size),
                     subset_std=std * protocol.scale)
    else:
        value = _mmd2(x, y, **kw)
    return value * protocol.scale, extra


def sample_warnings(name: str, n_real: int, n_fake: int, want_real: int, want_fake: int,
                    feature_dim: int, unit: str = "samples") -> list[str]:
    """Warnings for sample counts below the protocol's or below the feature dimension."""
    out = []
    for role, n, want in (("real", n_real, want_real), ("generated", n_fake, want_fake)):
        if n < want:
            out.append(f"{name}: {n} {role} {unit}, fewer than the protocol's {want}; "
                       "the value is not comparable with numbers made at the protocol's N")
        if n < feature_dim:
            out.append(f"{name}: {n} {role} {unit}, fewer than the feature dimension "
                       f"{feature_dim}")
    return out


def _resolve(protocol, metrics: tuple[str, ...]):
    from .. import protocols as P

    p = P.get(protocol) if isinstance(protocol, str) else protocol
    if p.metric not in metrics or not isinstance(p, P.KernelProtocol):
        raise KernelError(f"protocol {p.name!r} is a {p.metric} protocol, not one of "
                          f"{', '.join(metrics)}")
    return p


def score(real_features, fake_features, protocol) -> dict:
    """value (MMD² × scale) and extra details for a KVD or JEDi protocol.

    real_features / fake_features: [N, D] arrays or tensors, one row per video. Warns (and
    lists in extra["warnings"]) when N is below the protocol's N or the feature dimension.
    """
    p = _resolve(protocol, ("kvd", "jedi"))
    real = _as_features(real_features, "real")
    fake = _as_features(fake_features, "generated")
    if p.fvd_protocol:
        fp = p.fvd()
        want_real, want_fake = fp.num_real, fp.num_fake
    else:
        want_real, want_fake = p.num_real, p.num_fake
    value, extra = kernel_distance(fake, real, p)
    warns = sample_warnings(p.name, real.shape[0], fake.shape[0], want_real, want_fake,
                            real.shape[1])
    for w in warns:
        warnings.warn(w, stacklevel=2)
    extra.update(metric=p.metric, protocol=p.name, protocol_hash=p.hash, n_real=real.shape[0],
                 n_fake=fake.shape[0], feature_dim=real.shape[1], precision="float64",
                 warnings=warns)
    if not math.isfinite(value):
        raise KernelError(f"{p.name}: the MMD is not finite ({value}); check the features")
    return {"value": value, "extra": extra}


def kvd(real_features, fake_features, protocol="kvd@stylegan-v-2048x16") -> float:
    """KVD of generated vs real I3D features [N, D] under a kvd protocol."""
    return score(real_features, fake_features, _resolve(protocol, ("kvd",)))["value"]


def video_features(video, extractor, protocol, role: str, seed: int = 0, key: str = ""):
    """float32 [D] of one video uint8 [T,H,W,3] under a KVD protocol, or None if discarded.

    The clip is the one the protocol's FVD protocol scores (the one clip rule,
    `ffbench.clips.ClipSpec.for_protocol(fvd_protocol, role, seed)` cut with `key`, the video's
    relative path or sample id), through the FVD protocol's I3D extractor — so KVD and FVD share
    one feature pass.
    """
    from ..clips import ClipSpec, ShortVideoError

    p = _resolve(protocol, ("kvd",))
    fp = p.fvd()
    if extractor.name != fp.extractor:
        raise KernelError(f"protocol {p.name} uses the features of {fp.name} "
                          f"(extractor {fp.extractor!r}), got {extractor.name!r}")
    try:
        clip, _ = ClipSpec.for_protocol(fp, role, seed).cut(video, key)
    except ShortVideoError:
        return None
    return extractor(clip[None])[0].cpu().numpy()
