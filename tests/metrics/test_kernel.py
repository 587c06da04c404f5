"""Polynomial-kernel MMD (KVD, KID subsets, JEDi's MMD) against the reference formulas,
scikit-learn's kernel and clean-fid's kernel_distance."""
import dataclasses
import warnings

import numpy as np
import pytest
import torch

from ffbench import protocols as P
from ffbench.metrics import kernel as K


def _feats(n, d, shift=0.0, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    return (rng.randn(n, d) * 0.7 + shift).astype(dtype)


def _tats_polynomial_mmd(X, Y):
    """TATS tats/fvd/fvd.py `polynomial_mmd` (songweige/TATS), written out from the reference:
    scikit-learn polynomial_kernel with its defaults (degree 3, gamma 1/d, coef0 1); kernel
    diagonals removed from K_XX and K_YY (divided by m(m-1), n(n-1)); K_XY summed over m*n."""
    from sklearn.metrics.pairwise import polynomial_kernel

    m, n = X.shape[0], Y.shape[0]
    kxx, kyy, kxy = polynomial_kernel(X), polynomial_kernel(Y), polynomial_kernel(X, Y)
    return ((kxx.sum() - np.diagonal(kxx).sum()) / (m * (m - 1))
            + (kyy.sum() - np.diagonal(kyy).sum()) / (n * (n - 1)) - 2 * kxy.sum() / (m * n))


def test_unbiased_mmd_equals_tats_formula_on_float64():
    x, y = _feats(70, 24, 0.2, seed=1), _feats(55, 24, seed=2)
    assert K.mmd2(x, y) == _tats_polynomial_mmd(x, y)
    assert K.mmd2(x, y) > 0
    # two samples of one distribution: the unbiased estimate is near 0 and can be negative
    assert abs(K.mmd2(_feats(200, 24, seed=3), _feats(200, 24, seed=4))) < 0.05 * K.mmd2(x, y)


def test_float32_reference_gap_is_small_and_measured():
    """TATS runs scikit-learn on float32 logits; we compute in float64 (protocol precision)."""
    x, y = _feats(256, 400, 0.05, seed=5), _feats(256, 400, seed=6)
    ours = K.mmd2(x.astype(np.float32), y.astype(np.float32))
    ref32 = float(_tats_polynomial_mmd(x.astype(np.float32), y.astype(np.float32)))
    ref64 = float(_tats_polynomial_mmd(x.astype(np.float32).astype(np.float64),
                                       y.astype(np.float32).astype(np.float64)))
    assert ours == ref64
    assert ours != ref32  # float32 kernels do round differently ...
    assert abs(ours - ref32) <= 1e-3 * abs(ours)  # ... by a small relative amount


@pytest.mark.parametrize("gram", [True, False], ids=["full-kernel-matrices", "per-subset"])
def test_subsets_equal_cleanfid_kernel_distance(gram, monkeypatch):
    from cleanfid.fid import kernel_distance

    if not gram:
        monkeypatch.setattr(K, "GRAM_LIMIT", 0)
    fake, real = _feats(90, 16, 0.3, seed=7), _feats(120, 16, seed=8)
    mean, std = K.subset_mmd2(fake, real, num_subsets=7, subset_size=50, seed=3)
    np.random.seed(3)
    ref = kernel_distance(real, fake, num_subsets=7, max_subset_size=50)
    assert mean == pytest.approx(ref, rel=1e-12, abs=1e-15)
    assert std > 0
    # the biased estimate by subsets, against the formula on the same draws
    rng = np.random.RandomState(3)
    draws = [(rng.choice(90, 50, replace=False), rng.choice(120, 50, replace=False)) for _ in range(7)]
    biased = np.mean([K.mmd2(fake[i], real[j], estimator="biased") for i, j in draws])
    assert K.subset_mmd2(fake, real, 7, 50, 3, estimator="biased")[0] == pytest.approx(biased, rel=1e-12)
    # with one subset holding every sample of equal-size sets, the subset estimate is the
    # full-set estimate (the unbiased MMD does not depend on the order of the samples)
    fake, real = fake[:80], real[:80]
    np.random.seed(0)
    full_cleanfid = kernel_distance(real, fake, num_subsets=1, max_subset_size=1000)
    assert K.mmd2(fake, real) == pytest.approx(full_cleanfid, rel=1e-12)


def _jedi_mmd_poly(X, Y, degree=2, gamma=None, coef0=0):
    """oooolga/JEDi videojedi/mmd_polynomial.py `mmd_poly`, written out from the reference:
    scikit-learn polynomial kernels, plain means (diagonals included): XX + YY - 2 XY."""
    from sklearn.metrics.pairwise import polynomial_kernel

    return (polynomial_kernel(X, X, degree, gamma, coef0).mean()
            + polynomial_kernel(Y, Y, degree, gamma, coef0).mean()
            - 2 * polynomial_kernel(X, Y, degree, gamma, coef0).mean())


def test_jedi_mmd_poly_reference_example_and_formula():
    # the example in mmd_polynomial.py's __main__; its comment "270.7" is JEDi's own setting
    # (degree 2, coef0 0). The other comment (2436.5 for degree 3, coef0 1) is stale: the
    # function itself gives 23088.08 there (2436.5 is degree 2 with gamma 1).
    a = np.arange(1, 10).reshape(3, 3).astype(float)
    b = np.array([[7, 6, 5], [4, 3, 2], [1, 1, 8], [0, 2, 5]], dtype=float)
    assert K.mmd2(a, b, degree=2, coef0=0, estimator="biased") == pytest.approx(270.7, abs=0.05)
    assert K.mmd2(a, b, degree=3, coef0=1, estimator="biased") == pytest.approx(
        _jedi_mmd_poly(a, b, degree=3, coef0=1), rel=1e-12)
    x, y = _feats(40, 32, 0.2, seed=1), _feats(30, 32, seed=2)
    assert K.mmd2(x, y, degree=2, coef0=0, estimator="biased") == pytest.approx(
        _jedi_mmd_poly(x, y), rel=1e-12)
    # the biased estimate keeps the diagonals: it differs from the unbiased one
    assert K.mmd2(x, y, degree=2, coef0=0) != pytest.approx(_jedi_mmd_poly(x, y), rel=1e-3)


def test_kvd_protocols_score_and_hash():
    p = P.get("kvd@stylegan-v-2048x16")
    assert (p.kernel_degree, p.kernel_gamma, p.kernel_coef0, p.estimator, p.subsets) == (3, 0.0, 1.0, "unbiased", 0)
    real, fake = _feats(60, 400, seed=9), _feats(50, 400, 0.1, seed=10)
    with pytest.warns(UserWarning) as rec:
        out = K.score(real, fake, p)
    msgs = " ".join(str(w.message) for w in rec)
    assert "fewer than the protocol's 2048" in msgs and "feature dimension 400" in msgs
    with pytest.warns(UserWarning):
        assert out["value"] == K.mmd2(fake, real) == K.kvd(real, fake)
    e = out["extra"]
    assert (e["n_real"], e["n_fake"], e["feature_dim"], e["protocol_hash"]) == (60, 50, 400, p.hash)
    assert len(e["warnings"]) == 4
    with pytest.warns(UserWarning):
        sub = K.score(real, fake, "kvd@stylegan-v-2048x16-subsets")
    assert sub["extra"]["subsets"] == 100 and sub["extra"]["subset_size"] == 50
    assert sub["value"] == pytest.approx(out["value"], rel=0.5)  # same estimand, other draws
    # the FVD protocol whose features KVD reuses is part of its hash
    other = dataclasses.replace(p, fvd_protocol="fvd@cd-fvd-i3d")
    assert other.hash != p.hash
    # fields that cannot move the number are not hashed
    assert dataclasses.replace(p, subset_seed=5).hash == p.hash
    assert dataclasses.replace(P.get("kvd@stylegan-v-2048x16-subsets"), subset_seed=5).hash != \
        P.get("kvd@stylegan-v-2048x16-subsets").hash


def test_enough_samples_no_warning():
    p = dataclasses.replace(P.get("kvd@stylegan-v-2048x16"), fvd_protocol="")
    p = dataclasses.replace(p, num_real=30, num_fake=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = K.score(_feats(30, 8, seed=1), _feats(30, 8, seed=2), p)
    assert out["extra"]["warnings"] == []


def test_bad_input_errors():
    x = _feats(10, 8)
    with pytest.raises(K.KernelError, match="dimensions differ"):
        K.mmd2(x, _feats(10, 9))
    with pytest.raises(K.KernelError, match="NaN"):
        bad = x.copy()
        bad[3, 1] = np.nan
        K.mmd2(bad, x)
    with pytest.raises(K.KernelError, match="at least 2"):
        K.mmd2(x[:1], x)
    with pytest.raises(K.KernelError, match=r"\[N, D\]"):
        K.mmd2(x[0], x)
    with pytest.raises(K.KernelError, match="not one of kvd, jedi"):
        K.score(x, x, "fvd@videogpt")
    assert isinstance(K.KernelError("x"), Exception)
    from ffbench.errors import FFBenchError
    assert issubclass(K.KernelError, FFBenchError)


def test_kvd_video_features_use_the_fvd_clip_rule():
    from ffbench.clips import ClipSpec
    from ffbench.metrics.extractors import build_extractor

    ext = build_extractor("i3d-torchscript", random_seed=0, stand_in_resolution=32)
    g = torch.Generator().manual_seed(0)
    video = torch.randint(0, 256, (20, 24, 28, 3), dtype=torch.uint8, generator=g)
    p = P.get("kvd@stylegan-v-2048x16")
    f = K.video_features(video, ext, p, role="real", seed=11, key="v.mp4")
    clip, _ = ClipSpec.for_protocol(P.get("fvd@stylegan-v-2048x16"), "real", 11).cut(video, "v.mp4")
    assert f.shape == (400,) and np.array_equal(f, ext(clip[None])[0].numpy())
    assert K.video_features(video[:8], ext, p, role="real") is None  # too short: discarded
    with pytest.raises(K.KernelError, match="i3d-torchscript"):
        K.video_features(video, ext, "kvd@tats-i3d", role="fake")
