"""Fréchet distance between two Gaussians, with the square-root methods of the references.

    d² = |μ1 − μ2|² + Tr(Σ1 + Σ2 − 2·(Σ1 Σ2)^½)

Only the trace of the matrix square root is needed, and references compute it differently
(shared/reference/metrics.md §1a, §1b, §1f item 4):

- ``scipy-sqrtm`` — StyleGAN-V / cd-fvd: ``scipy.linalg.sqrtm(Σ1 @ Σ2)`` (Schur method on a
  non-symmetric product), real part of the whole expression, no eps, no retry.
- ``tfgan`` — TF-GAN / VideoGPT: symmetric square root by SVD with eps 1e-10
  (singular values below eps are kept as they are, not square-rooted), then
  Tr(sqrt(sqrt(Σ1) Σ2 sqrt(Σ1))).  We do it in float64 like TF-GAN itself; VideoGPT's torch
  port runs in float32 when given float32 features.
- ``eig`` — our fast exact default: for any factor F with F Fᵀ = Σ1, Σ1Σ2 = F (Fᵀ Σ2 F) F⁻¹
  (or, for singular Σ1, has the same non-zero eigenvalues), so
  Tr((Σ1Σ2)^½) = Σ sqrt(λ_i(Fᵀ Σ2 F)) with Fᵀ Σ2 F symmetric PSD. F is the Cholesky factor
  (cheap) when Σ1 is numerically positive definite, else the rank-r factor of a pivoted
  Cholesky (rank-deficient covariances are common: 256 videos × 400-d), which also shrinks
  the eigenproblem to r×r. One Cholesky + one eigenvalues-only symmetric solve replace the real Schur
  decomposition of a non-symmetric matrix in scipy's sqrtm, which is what makes it several
  times faster. Eigenvalues that round to tiny negatives are clipped to 0, their exact value.

No method crashes on a matrix its first routine cannot handle: numpy's SVD (LAPACK gesdd)
sometimes raises "SVD did not converge" on nearly degenerate covariances where VideoGPT's
`torch.svd` succeeds. Each method has a chain of exact alternative routines for the same
quantity (`_SVD_CHAIN`, `_EIGVALSH_CHAIN`; scipy-sqrtm falls back to the `eig` trace), tried in
order; a fallback is announced with a `FrechetFallbackWarning` naming the routine that failed and
the one used, never silent.

Precision: everything here is float64. VideoGPT as shipped runs the TF-GAN route in float32
torch; measured gap to our float64 on random features (N=256, d=400, FVD ~2000, 8 seeds):
median 0.031, max 0.13 (relative <= 6.3e-5); see the protocol's `precision` field.

Argument order follows StyleGAN-V: 1 = generated, 2 = real (``sqrtm(sigma_gen @ sigma_real)``);
the value is symmetric in exact arithmetic.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["frechet_distance", "trace_sqrt_product", "METHODS", "DEFAULT_METHOD", "TFGAN_EPS",
           "FrechetFallbackWarning", "robust_svd", "robust_eigvalsh"]

METHODS = ("eig", "scipy-sqrtm", "tfgan")
DEFAULT_METHOD = "eig"
TFGAN_EPS = 1e-10  # tensorflow_gan classifier_metrics._symmetric_matrix_square_root default


class FrechetFallbackWarning(RuntimeWarning):
    """A matrix routine failed and an exact alternative computed the same quantity."""


def _svd_numpy(m):
    return np.linalg.svd(m)


def _svd_scipy_gesvd(m):
    import scipy.linalg as sl

    return sl.svd(m, lapack_driver="gesvd", check_finite=False)


def _svd_torch(m):
    import torch

    u, s, vh = torch.linalg.svd(torch.from_numpy(np.ascontiguousarray(m)).double())
    return u.numpy(), s.numpy(), vh.numpy()


def _svd_eigh(m):
    """SVD of a symmetric matrix from its eigendecomposition: M = Q diag(λ) Qᵀ gives U = Q,
    s = |λ|, Vᵀ = diag(sign λ) Qᵀ (sorted by s, descending, like LAPACK)."""
    import scipy.linalg as sl

    lam, q = sl.eigh((m + m.T) * 0.5, check_finite=False)
    order = np.argsort(-np.abs(lam))
    lam, q = lam[order], q[:, order]
    sign = np.where(lam < 0, -1.0, 1.0)
    return q, np.abs(lam), sign[:, None] * q.T


_SVD_CHAIN = (("numpy.linalg.svd", _svd_numpy), ("scipy.linalg.svd(gesvd)", _svd_scipy_gesvd),
              ("torch.linalg.svd(float64)", _svd_torch), ("scipy.linalg.eigh", _svd_eigh))


def _eigvalsh_scipy(m):
    import scipy.linalg as sl

    return sl.eigvalsh(m, check_finite=False)


def _eigvalsh_scipy_ev(m):
    import scipy.linalg as sl

    return sl.eigvalsh(m, driver="ev", check_finite=False)


def _eigvalsh_torch(m):
    import torch

    return torch.linalg.eigvalsh(torch.from_numpy(np.ascontiguousarray(m)).double()).numpy()


_EIGVALSH_CHAIN = (("scipy.linalg.eigvalsh(evr)", _eigvalsh_scipy), ("scipy.linalg.eigvalsh(ev)", _eigvalsh_scipy_ev),
                   ("torch.linalg.eigvalsh(float64)", _eigvalsh_torch), ("numpy.linalg.eigvalsh", np.linalg.eigvalsh))


def _first_that_works(chain, m: np.ndarray, what: str):
    failures = []
    for name, fn in chain:
        try:
            out = fn(m)
        except (np.linalg.LinAlgError, ValueError, RuntimeError) as e:
            failures.append(f"{name}: {e}")
            continue
        if not all(np.isfinite(o).all() for o in (out if isinstance(out, tuple) else (out,))):
            failures.append(f"{name}: non-finite result")
            continue
        if failures:
            warnings.warn(f"{what} of a {m.shape[0]}x{m.shape[1]} matrix: {'; '.join(failures)}; "
                          f"used {name} instead (exact alternative)", FrechetFallbackWarning, stacklevel=3)
        return out
    raise np.linalg.LinAlgError(f"{what}: every routine failed: {'; '.join(failures)}")


def robust_svd(m: np.ndarray):
    """(U, s, Vᵀ) of a symmetric matrix: numpy first (TF-GAN's routine), then exact alternatives."""
    return _first_that_works(_SVD_CHAIN, m, "SVD")


def robust_eigvalsh(m: np.ndarray) -> np.ndarray:
    """Eigenvalues of a symmetric matrix, with exact alternative routines on failure."""
    return _first_that_works(_EIGVALSH_CHAIN, m, "symmetric eigenvalues")


def _as_stats(mu, sigma, which: int) -> tuple[np.ndarray, np.ndarray]:
    mu = np.asarray(_to_numpy(mu), dtype=np.float64)
    sigma = np.asarray(_to_numpy(sigma), dtype=np.float64)
    if mu.ndim != 1:
        raise ValueError(f"mu{which} must be a vector [D], got shape {mu.shape}")
    if sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(f"sigma{which} must be [D, D] = {(mu.shape[0],) * 2}, got {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError(f"mu{which}/sigma{which} contain NaN or inf")
    return mu, sigma


def _to_numpy(x):
    try:
        import torch

        if isinstance(x, torch.Tensor):
            return x.detach().to("cpu", torch.float64).numpy()
    except ImportError:  # pragma: no cover
        pass
    return x


def _psd_factor(mat: np.ndarray) -> np.ndarray:
    """F with F Fᵀ = mat (symmetric PSD): Cholesky; if singular, pivoted Cholesky of rank r.

    LAPACK ``pstrf`` stops at pivots below n·eps·max(diag) — round-off-sized directions, the
    ones an eigendecomposition would give eigenvalues of ±round-off that we clip to 0 anyway —
    and costs a fraction of an eigendecomposition with vectors.
    """
    import scipy.linalg as sl

    try:
        return sl.cholesky(mat, lower=True, check_finite=False)
    except np.linalg.LinAlgError:  # singular (rank-deficient, e.g. 256 videos x 400-d)
        pass
    pstrf = getattr(sl.lapack, "dpstrf", None)
    if pstrf is not None:
        c, piv, rank, info = pstrf(mat, lower=1)
        if info >= 0:
            f = np.zeros((mat.shape[0], rank))
            f[piv - 1] = np.tril(c)[:, :rank]
            return f
    w, v = sl.eigh(mat, check_finite=False)
    keep = w > 0
    return v[:, keep] * np.sqrt(w[keep])


def _tfgan_sym_sqrt(mat: np.ndarray, eps: float = TFGAN_EPS) -> np.ndarray:
    """TF-GAN's `_symmetric_matrix_square_root`: U diag(s_i) V^T with s_i -> sqrt(s_i) if s_i >= eps."""
    u, s, vh = robust_svd(mat)
    si = np.where(s < eps, s, np.sqrt(s))
    return (u * si) @ vh


def trace_sqrt_product(sigma1, sigma2, method: str = DEFAULT_METHOD) -> float:
    """Tr((Σ1 Σ2)^½) by the chosen method (real part for scipy-sqrtm)."""
    s1 = np.asarray(sigma1, dtype=np.float64)
    s2 = np.asarray(sigma2, dtype=np.float64)
    if method == "eig":
        # scipy.linalg, not numpy.linalg: the same LAPACK/BLAS (and thread pool) as the
        # scipy-sqrtm reference, so the two never fight over cores when used side by side
        f = _psd_factor((s1 + s1.T) * 0.5)
        a = f.T @ (s2 @ f)
        lam = robust_eigvalsh((a + a.T) * 0.5)
        return float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    if method == "tfgan":
        r1 = _tfgan_sym_sqrt(s1)
        return float(np.trace(_tfgan_sym_sqrt(r1 @ s2 @ r1)))
    if method == "scipy-sqrtm":
        root = _scipy_sqrtm(s1 @ s2)
        if root is None:
            return trace_sqrt_product(s1, s2, "eig")
        return float(np.real(np.trace(root)))
    raise ValueError(f"unknown Fréchet method {method!r}; known: {', '.join(METHODS)}")


def _scipy_sqrtm(mat: np.ndarray) -> np.ndarray | None:
    """scipy.linalg.sqrtm(mat), or None (with a FrechetFallbackWarning) when it fails or returns
    non-finite values: the caller then computes the same trace by the exact `eig` method."""
    import scipy.linalg

    # StyleGAN-V calls sqrtm(..., disp=False) and ignores the error estimate; `disp` is
    # deprecated since scipy 1.16 and the default now returns just the root.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            root = scipy.linalg.sqrtm(mat)
    except (np.linalg.LinAlgError, ValueError) as e:
        problem = str(e)
    else:
        if np.isfinite(root).all():
            return root
        problem = "non-finite result"
    warnings.warn(f"scipy.linalg.sqrtm of a {mat.shape[0]}x{mat.shape[1]} matrix: {problem}; "
                  "used the eig method for Tr((Σ1Σ2)^½) instead (exact alternative)",
                  FrechetFallbackWarning, stacklevel=3)
    return None


def frechet_distance(mu1, sigma1, mu2, sigma2, method: str = DEFAULT_METHOD) -> float:
    """Fréchet distance between N(mu1, sigma1) (generated) and N(mu2, sigma2) (real).

    Accepts numpy arrays or torch tensors; computes in float64 on the CPU.
    """
    if method not in METHODS:
        raise ValueError(f"unknown Fréchet method {method!r}; known: {', '.join(METHODS)}")
    mu1, sigma1 = _as_stats(mu1, sigma1, 1)
    mu2, sigma2 = _as_stats(mu2, sigma2, 2)
    if mu1.shape != mu2.shape:
        raise ValueError(f"feature dimensions differ: {mu1.shape[0]} vs {mu2.shape[0]}")
    m = float(np.square(mu1 - mu2).sum())
    if method == "scipy-sqrtm":
        # exactly StyleGAN-V's expression: real part of the whole sum
        s = _scipy_sqrtm(sigma1 @ sigma2)
        if s is not None:
            return float(np.real(m + np.trace(sigma1 + sigma2 - s * 2)))
        method = "eig"
    tr = trace_sqrt_product(sigma1, sigma2, method)
    return float(m + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr)
