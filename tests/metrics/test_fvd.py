"""FVD metric: closed forms through the metric, protocol rules, real statistics from files,
clip selection and error paths."""
import dataclasses

import numpy as np
import pytest
import torch

from ffbench import protocols
from ffbench.metrics.extractors import ExtractorError, build_extractor
from ffbench.clips import ClipSpec, ShortVideoError
from ffbench.metrics.fvd import FVD, fvd, fvd_from_features
from ffbench.metrics.stats import GaussianStats, StatsError
from ffbench.video import VideoError

SG = "fvd@stylegan-v-2048x16"


class _Fake400:
    """Minimal extractor stand-in for feeding features directly (no network)."""
    name = "i3d-torchscript"
    feature_dim = 400
    random_weights = True

    def describe(self):
        return {"extractor": self.name, "random_weights": True, "weights_sha256": "none"}


def _gauss(n, shift=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 400, generator=g) + shift


def test_metric_matches_closed_form_and_functional():
    real = _gauss(600)
    fake = real + 0.5  # same covariance, every mean shifted by 0.5: FVD = 400 * 0.25
    m = FVD(SG, extractor=_Fake400(), method="eig")
    for chunk in torch.split(real, 100):
        m.update_features(chunk, real=True)
    m.update_features(fake, real=False)
    value = float(m.compute())
    assert value == pytest.approx(100.0, rel=1e-5)
    m.update_features(_gauss(600, seed=5), real=False)  # more data: the cached value is dropped
    assert float(m.compute()) != pytest.approx(value, rel=1e-3)
    real, fake = _gauss(300), _gauss(300, shift=0.5, seed=1)
    m = FVD(SG, extractor=_Fake400(), method="eig")
    m.update_features(real, real=True)
    m.update_features(fake, real=False)
    value = float(m.compute())
    assert value == pytest.approx(fvd_from_features(real, fake, SG, method="eig"), rel=1e-12)
    assert value == pytest.approx(fvd_from_features(real, fake, SG), rel=1e-6)  # scipy-sqrtm


def test_covariance_rule_follows_protocol():
    real, fake = _gauss(40), _gauss(40, shift=0.1, seed=1)
    biased = fvd_from_features(real, fake, SG, method="eig")
    unbiased = fvd_from_features(real, fake, dataclasses.replace(protocols.get(SG), covariance="unbiased"),
                                 method="eig")
    # same means; every covariance scaled by 40/39 scales the trace part by 40/39
    m2 = float(((real.double().mean(0) - fake.double().mean(0)) ** 2).sum())
    assert unbiased - m2 == pytest.approx((biased - m2) * 40 / 39, rel=1e-9)


def test_a_single_video_is_an_error():
    m = FVD(SG, extractor=_Fake400())
    m.update_features(_gauss(1), real=True)
    m.update_features(_gauss(5), real=False)
    with pytest.raises(StatsError, match="at least 2 real videos"):
        m.compute()


def test_real_statistics_from_file(tmp_path):
    real, fake = _gauss(50), _gauss(50, 0.2, 1)
    p = protocols.get(SG)
    s = GaussianStats.from_features(real.float().double(), meta={"protocol": p.name, "protocol_hash": p.hash})
    s.save(tmp_path / "real.npz")
    m = FVD(SG, extractor=_Fake400(), method="eig")
    m.set_real_stats(GaussianStats.load(tmp_path / "real.npz"))
    m.update_features(fake, real=False)
    assert float(m.compute()) == pytest.approx(fvd_from_features(real, fake, SG, method="eig"), rel=1e-10)
    with pytest.raises(StatsError, match="set from a file"):
        m.update(torch.zeros(1, 16, 8, 8, 3, dtype=torch.uint8), real=True)
    other = dataclasses.replace(s, meta={"protocol": "fvd@videogpt",
                                         "protocol_hash": protocols.get("fvd@videogpt").hash})
    with pytest.raises(StatsError, match="not comparable"):
        FVD(SG, extractor=_Fake400()).set_real_stats(other)


def test_clip_selection_rules():
    """The one clip rule (ffbench.clips) as FVD protocols use it for each role."""
    p = protocols.get(SG)  # real: random offset, discard short; fake: first
    v = torch.arange(40).view(40, 1, 1, 1).expand(40, 2, 2, 3).to(torch.uint8)
    fake, real = ClipSpec.for_protocol(p, "fake"), ClipSpec.for_protocol(p, "real", seed=0)
    assert fake.cut(v, "x")[0][:, 0, 0, 0].tolist() == list(range(16))
    offs = {int(real.cut(v, f"v{i}.mp4")[0][0, 0, 0, 0]) for i in range(50)}
    assert len(offs) > 5 and min(offs) >= 0 and max(offs) <= 40 - 16
    seven = ClipSpec.for_protocol(p, "real", seed=7)
    assert torch.equal(seven.cut(v, "x.mp4")[0], seven.cut(v, "x.mp4")[0])
    with pytest.raises(ShortVideoError, match="too short"):  # StyleGAN-V discards short videos
        real.cut(v[:15], "x")
    strided = dataclasses.replace(p, frame_stride=2, real_clip="central", discard_short_videos=False)
    assert ClipSpec.for_protocol(strided, "real").cut(v, "x")[0][:, 0, 0, 0].tolist() == list(range(4, 35, 2))
    with pytest.raises(ShortVideoError, match="12 frames < 16"):
        ClipSpec.for_protocol(protocols.get("fvd@videogpt"), "fake").cut(v[:12], "x")


def test_metric_on_videos_with_random_i3d():
    proto = dataclasses.replace(protocols.get("fvd@videogpt"), num_frames=10, resolution=32)
    ex = build_extractor("i3d-400", random_seed=0, resize=proto.resize, resolution=32, device="cpu")
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (2, 12, 20, 24, 3), dtype=torch.uint8, generator=g)
    fake = torch.randint(0, 128, (2, 10, 20, 24, 3), dtype=torch.uint8, generator=g)
    m = FVD(proto, extractor=ex)
    m.update(real, real=True)  # 12 frames: clipped by the protocol's "first" rule
    m.update(fake, real=False)
    value = float(m.compute())
    expected = fvd_from_features(ex(real[:, :10]), ex(fake), proto)
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)
    d = m.details()
    assert d["n_real"] == 2 and d["n_fake"] == 2 and d["random_weights"] is True
    assert d["protocol_hash"] == proto.hash and d["sqrtm"] == "tfgan" and d["covariance"] == "unbiased"
    # float32 convolutions choose kernels by batch size (oneDNN), so features agree to ~1e-7
    # relative between batch sizes, and a two-video Frechet distance amplifies that ~10x
    assert fvd(real, fake, proto, extractor=ex, batch_size=1) == pytest.approx(value, rel=1e-5, abs=1e-12)
    with pytest.raises(ExtractorError, match="uses extractor 'i3d-torchscript'"):
        FVD(SG, extractor=ex)


def test_feature_errors():
    m = FVD(SG, extractor=_Fake400())
    bad = _gauss(3)
    bad[1, 2] = float("nan")
    with pytest.raises(StatsError, match="NaN"):
        m.update_features(bad, real=False)
    with pytest.raises(StatsError, match=r"\[N, 400\]"):
        m.update_features(torch.zeros(3, 1024), real=False)
    assert np.isfinite(fvd_from_features(_gauss(5), _gauss(5, seed=2), SG))
