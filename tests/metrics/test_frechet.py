"""Fréchet distance: closed forms, and agreement of the three square-root methods."""
import numpy as np
import pytest
import torch

from ffbench.metrics.frechet import METHODS, frechet_distance

rng = np.random.default_rng(1234)


def _random_stats(n, d, shift=0.0, scale=1.0, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, d)) @ (r.standard_normal((d, d)) / np.sqrt(d)) * scale + shift
    return x.mean(0), np.cov(x, rowvar=False, bias=True)


@pytest.mark.parametrize("method", METHODS)
def test_identical_gaussians_give_zero(method):
    mu, sigma = _random_stats(300, 32)
    assert abs(frechet_distance(mu, sigma, mu, sigma, method)) < 1e-8 * np.trace(sigma)


@pytest.mark.parametrize("method", METHODS)
def test_mean_shift_with_identity_covariance(method):
    m = rng.standard_normal(16)
    eye = np.eye(16)
    assert frechet_distance(np.zeros(16), eye, m, eye, method) == pytest.approx(float(m @ m), rel=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_diagonal_closed_form_and_scaling(method):
    a, b = rng.uniform(0.1, 3, 20), rng.uniform(0.1, 3, 20)
    expected = float(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    d = frechet_distance(np.zeros(20), np.diag(a), np.zeros(20), np.diag(b), method)
    assert d == pytest.approx(expected, rel=1e-10)
    # scaling both covariances by c scales the distance by c
    d4 = frechet_distance(np.zeros(20), 4 * np.diag(a), np.zeros(20), 4 * np.diag(b), method)
    assert d4 == pytest.approx(4 * expected, rel=1e-10)
    # a*I vs b*I: d * (sqrt(a) - sqrt(b))^2
    assert frechet_distance(np.zeros(5), 2 * np.eye(5), np.zeros(5), 8 * np.eye(5), method) == \
        pytest.approx(5 * (np.sqrt(2) - np.sqrt(8)) ** 2, rel=1e-10)


@pytest.mark.parametrize("n,d", [(500, 64), (30, 64), (256, 400)])
def test_methods_agree_well_conditioned_and_rank_deficient(n, d):
    mu1, s1 = _random_stats(n, d, seed=1)
    mu2, s2 = _random_stats(n, d, shift=0.3, scale=1.2, seed=2)
    if n < d:
        assert np.linalg.matrix_rank(s1) < d  # really rank-deficient
    ref = frechet_distance(mu1, s1, mu2, s2, "scipy-sqrtm")
    assert frechet_distance(mu1, s1, mu2, s2, "eig") == pytest.approx(ref, rel=1e-6)
    assert frechet_distance(mu1, s1, mu2, s2, "tfgan") == pytest.approx(ref, rel=1e-6)
    # symmetric in its two arguments
    assert frechet_distance(mu2, s2, mu1, s1, "eig") == pytest.approx(ref, rel=1e-6)


def test_torch_inputs_and_errors():
    mu, s = _random_stats(100, 8)
    d_np = frechet_distance(mu, s, mu + 1, s)
    d_t = frechet_distance(torch.from_numpy(mu), torch.from_numpy(s), torch.from_numpy(mu + 1),
                           torch.from_numpy(s))
    assert d_t == pytest.approx(d_np, rel=1e-12) and d_np == pytest.approx(8.0, rel=1e-8)
    with pytest.raises(ValueError, match="unknown Fréchet method"):
        frechet_distance(mu, s, mu, s, "newton")
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance(mu, s, mu[:4], s[:4, :4])
    bad = s.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(mu, bad, mu, s)


# --- exact fallbacks instead of crashes ----------------------------------------------------------

def _fail(*_a, **_k):
    raise np.linalg.LinAlgError("SVD did not converge")


@pytest.mark.parametrize("method", METHODS)
def test_first_routine_failing_falls_back_to_an_exact_alternative(method, monkeypatch):
    """Each method's first routine failing (injected here for every method; a real numpy SVD
    failure is the recorded case below): the value comes from the next routine, equal, with a
    warning."""
    from ffbench.metrics import frechet as fr

    mu1, s1 = _random_stats(30, 24, seed=1)  # rank-deficient: the nearly degenerate kind
    mu2, s2 = _random_stats(30, 24, shift=0.2, seed=2)
    expected = frechet_distance(mu1, s1, mu2, s2, method)
    chain = {"tfgan": "_SVD_CHAIN", "eig": "_EIGVALSH_CHAIN"}.get(method)
    if chain is None:  # scipy-sqrtm: scipy's sqrtm itself fails
        import scipy.linalg

        monkeypatch.setattr(scipy.linalg, "sqrtm", _fail)
    else:
        (name, _), *rest = getattr(fr, chain)
        monkeypatch.setattr(fr, chain, ((name, _fail), *rest))
    with pytest.warns(fr.FrechetFallbackWarning, match="did not converge"):
        got = frechet_distance(mu1, s1, mu2, s2, method)
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("skip", [1, 2, 3])
def test_every_svd_fallback_is_exact(skip, monkeypatch):
    from ffbench.metrics import frechet as fr

    _, s = _random_stats(20, 16, seed=3)  # rank 19 < ... symmetric PSD, some ~0 eigenvalues
    ref = fr._tfgan_sym_sqrt(s)
    chain = tuple((n, _fail) if i < skip else (n, f) for i, (n, f) in enumerate(fr._SVD_CHAIN))
    monkeypatch.setattr(fr, "_SVD_CHAIN", chain)
    with pytest.warns(fr.FrechetFallbackWarning, match=chain[skip][0].split("(")[0]):
        got = fr._tfgan_sym_sqrt(s)
    assert np.allclose(got, ref, rtol=1e-9, atol=1e-12)


def test_all_routines_failing_is_a_clear_error(monkeypatch):
    from ffbench.metrics import frechet as fr

    monkeypatch.setattr(fr, "_SVD_CHAIN", tuple((n, _fail) for n, _ in fr._SVD_CHAIN))
    with pytest.raises(np.linalg.LinAlgError, match="every routine failed"):
        fr.robust_svd(np.eye(3))


def test_recorded_matrix_where_numpy_svd_does_not_converge():
    """A recorded near-degenerate case: sqrt(Σ1) Σ2 sqrt(Σ1) of float32 features, N=200, d=400
    (rank <= 199), the matrix TF-GAN's second square root takes. numpy's SVD (OpenBLAS/LAPACK
    gesdd, 1 or 2 threads) raises "SVD did not converge" on it; we must give the TF-GAN square
    root anyway, equal to one computed by torch.linalg.svd (what VideoGPT's port uses)."""
    import warnings
    from pathlib import Path

    from ffbench.metrics import frechet as fr

    m = np.load(Path(__file__).parent / "data" / "svd_no_convergence_400.npy")
    try:
        np.linalg.svd(m)
        numpy_fails = False
    except np.linalg.LinAlgError:
        numpy_fails = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        root = fr._tfgan_sym_sqrt(m)
    fallbacks = [w for w in caught if issubclass(w.category, fr.FrechetFallbackWarning)]
    assert bool(fallbacks) == numpy_fails  # warned exactly when numpy failed (it does with OpenBLAS)
    u, s, vh = torch.linalg.svd(torch.from_numpy(m))
    si = torch.where(s < fr.TFGAN_EPS, s, s.sqrt())
    ref = ((u * si) @ vh).numpy()
    assert np.abs(root - ref).max() <= 1e-9 * np.abs(ref).max()
    assert np.isfinite(np.trace(root))
