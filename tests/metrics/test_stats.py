"""Streaming statistics: exact merges, covariance rules, reference .pkl import."""
import pickle

import numpy as np
import pytest
import torch

from ffbench.metrics.stats import (FeatureMoments, GaussianStats, StatsError, covariance_from_sums,
                                   load_reference_pkl, load_stats)

D = 24


def _features(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, D, generator=g) * 3 + torch.linspace(-2, 5, D)


def _mean_cov(m: FeatureMoments, cov="biased"):
    return m.compute().mean_cov(cov)


def test_one_update_many_updates_any_order_and_shards_agree():
    x = _features()
    one = FeatureMoments(D)
    one.update(x)
    many = FeatureMoments(D)
    for chunk in torch.split(x, 7):
        many.update(chunk)
    shuffled = FeatureMoments(D)
    for chunk in torch.split(x[torch.randperm(200, generator=torch.Generator().manual_seed(3))], 13):
        shuffled.update(chunk)
    # two "ranks", merged the way DDP does (states reduced by sum)
    a, b = FeatureMoments(D), FeatureMoments(D)
    a.update(x[:77])
    b.update(x[77:])
    a.merge_state(b)
    ref_mu, ref_cov = _mean_cov(one)
    for m in (many, shuffled, a):
        mu, cov = _mean_cov(m)
        assert m.compute().n == 200
        np.testing.assert_allclose(mu, ref_mu, rtol=0, atol=1e-10)
        np.testing.assert_allclose(cov, ref_cov, rtol=0, atol=1e-10)


def test_biased_and_unbiased_covariance():
    x = _features(50).double().numpy()
    m = FeatureMoments(D)
    m.update(torch.from_numpy(x).float())
    x32 = x.astype(np.float32).astype(np.float64)  # the states see float32 features (StyleGAN-V)
    mu_b, cov_b = _mean_cov(m, "biased")
    mu_u, cov_u = _mean_cov(m, "unbiased")
    np.testing.assert_allclose(mu_b, x32.mean(0), atol=1e-10)
    np.testing.assert_allclose(cov_b, np.cov(x32, rowvar=False, bias=True), atol=1e-9)
    np.testing.assert_allclose(cov_u, np.cov(x32, rowvar=False), atol=1e-9)
    np.testing.assert_allclose(cov_u, cov_b * 50 / 49, atol=1e-9)
    # StyleGAN-V's formula literally: raw_cov / N - outer(mean, mean)
    s = m.compute()
    np.testing.assert_array_equal(cov_b, s.sum_outer / 50 - np.outer(s.sum / 50, s.sum / 50))


def test_statistics_errors():
    m = FeatureMoments(D)
    with pytest.raises(StatsError, match=r"\[N, 24\]"):
        m.update(torch.zeros(3, D + 1))
    bad = torch.zeros(4, D)
    bad[2, 3] = float("nan")
    with pytest.raises(StatsError, match="NaN"):
        m.update(bad)
    m.update(torch.zeros(1, D))
    with pytest.raises(StatsError, match="at least 2 samples"):
        m.compute().mean_cov()
    with pytest.raises(StatsError, match="unknown covariance"):
        covariance_from_sums(np.zeros(D), np.zeros((D, D)), 5, "sample")


def _stylegan_v_pickle(path, x: np.ndarray, capture_all=False):
    """A pickle laid out like StyleGAN-V / cd-fvd `FeatureStats.save` (pickle of its __dict__)."""
    x = x.astype(np.float32)
    x64 = x.astype(np.float64)
    d = {"capture_all": capture_all, "capture_mean_cov": not capture_all, "max_items": 2048,
         "num_items": x.shape[0], "num_features": x.shape[1],
         "all_features": [x[:5], x[5:]] if capture_all else [],
         "raw_mean": None if capture_all else x64.sum(0),
         "raw_cov": None if capture_all else x64.T @ x64}
    with open(path, "wb") as fh:
        pickle.dump(d, fh)
    return x64


@pytest.mark.parametrize("capture_all", [False, True])
def test_import_reference_pkl(tmp_path, capture_all):
    x = _stylegan_v_pickle(tmp_path / "ref.pkl", _features(40).numpy(), capture_all)
    s = load_stats(tmp_path / "ref.pkl")
    assert s.n == 40 and s.dim == D and s.meta["source"] == "reference-pkl"
    mu, cov = s.mean_cov("biased")
    np.testing.assert_allclose(mu, x.mean(0), atol=1e-10)
    np.testing.assert_allclose(cov, (x.T @ x) / 40 - np.outer(x.mean(0), x.mean(0)), atol=1e-9)
    assert s.meta["matches_protocol"].startswith("unknown")


def test_imported_cd_fvd_statistics_say_which_protocol_they_match(tmp_path):
    from ffbench.metrics.stats import reference_pkl_protocol

    for name, proto in (("i3d_ucf101_full_res256_len16_skip1_seed0.pkl", "fvd@cd-fvd-i3d-folder"),
                        ("i3d_ucf101_full_res128_len16_skip1_seed0.pkl", "fvd@cd-fvd-i3d-folder128")):
        _stylegan_v_pickle(tmp_path / name, _features(12).numpy(), False)
        assert load_stats(tmp_path / name).meta["matches_protocol"] == proto
    assert reference_pkl_protocol("videomae_ucf101_full_res256_len16_skip1_seed0.pkl").startswith("unknown")


def test_import_refuses_code_in_pickles(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "evil.pkl", "wb") as fh:
        pickle.dump({"num_items": 1, "x": Evil()}, fh)
    with pytest.raises(StatsError, match="refusing"):
        load_reference_pkl(tmp_path / "evil.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(StatsError):
        load_reference_pkl(tmp_path / "junk.pkl")


def test_npz_round_trip(tmp_path):
    s = GaussianStats.from_features(_features(30), meta={"protocol": "x"})
    p = s.save(tmp_path / "a" / "s.npz")
    t = GaussianStats.load(p)
    assert t.n == 30 and t.meta["protocol"] == "x" and t.meta["format_version"] == 1
    np.testing.assert_array_equal(t.sum_outer, s.sum_outer)
    assert [q.name for q in p.parent.iterdir()] == ["s.npz"]  # no temp files left
    (tmp_path / "bad.npz").write_bytes(b"xx")
    with pytest.raises(StatsError, match="not an ffbench statistics file"):
        GaussianStats.load(tmp_path / "bad.npz")
