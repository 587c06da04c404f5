"""Video Inception Score: closed forms, both split rules, the C3D extractors."""
import numpy as np
import pytest
import torch

from ffbench import protocols
from ffbench.metrics.extractors import ExtractorError, build_extractor
from ffbench.metrics.extractors.c3d import CHAINER_LAYERS, C3DUCF101, load_chainer_npz
from ffbench.metrics.inception import InceptionScore, inception_score_from_probs
from ffbench.metrics.stats import StatsError


@pytest.mark.parametrize("rule", ["stylegan-v", "tgan2"])
def test_uniform_probabilities_score_one(rule):
    per = 20 if rule == "tgan2" else None  # tgan2: 10 loops of 20 fresh samples
    mean, std = inception_score_from_probs(np.full((200, 101), 1 / 101), 10, rule, eps=1e-20,
                                           samples_per_split=per)
    assert mean == pytest.approx(1.0, abs=1e-5) and std == pytest.approx(0.0, abs=1e-5)


def test_one_hot_distinct_classes_score_number_of_classes():
    k = 20
    one_hot = np.tile(np.eye(k), (10, 1))  # 10 consecutive chunks, each holding every class once
    mean, std = inception_score_from_probs(one_hot, 10, "tgan2", eps=1e-20, samples_per_split=k)
    assert mean == pytest.approx(k, rel=1e-9) and std == pytest.approx(0, abs=1e-9)
    # StyleGAN-V rule (shuffled, no eps): one split of distinct classes -> k exactly
    assert inception_score_from_probs(np.eye(k), 1, "stylegan-v")[0] == pytest.approx(k, rel=1e-5)


def _reference_stylegan_v(probs, splits, seed=42):
    """StyleGAN-V video_inception_score.py, written out (float32 FeatureStats, RandomState shuffle)."""
    p = probs.astype(np.float32).copy()
    np.random.RandomState(seed).shuffle(p)
    n = len(p)
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        kl = part * (np.log(part) - np.log(np.mean(part, axis=0, keepdims=True)))
        scores.append(np.exp(np.mean(np.sum(kl, axis=1))))
    return float(np.mean(scores)), float(np.std(scores))


def test_stylegan_v_rule_matches_reference_expression():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(101, 0.1), size=203)  # n not divisible by splits
    probs = np.clip(probs, 1e-12, None)
    probs /= probs.sum(1, keepdims=True)
    ours = inception_score_from_probs(probs, 10, "stylegan-v", 42)
    ref = _reference_stylegan_v(probs, 10)
    assert ours == pytest.approx(ref, rel=1e-6)
    assert inception_score_from_probs(probs, 10, "stylegan-v", 7) != pytest.approx(ref, rel=1e-6)
    tg = inception_score_from_probs(probs[:200], 10, "tgan2", eps=1e-20, samples_per_split=20)
    assert tg[0] != pytest.approx(ours[0], rel=1e-6)  # no shuffle: other splits


def _reference_tgan2_script(probs, loops, n, eps=1e-20):
    """TGAN2 scripts/compute_inception_score.py, written out: `loops` loops, each drawing n fresh
    samples (here: the next n rows) and scoring them as one split, float64, p + eps."""
    scores = []
    for i in range(loops):
        part = probs[i * n:(i + 1) * n].astype(np.float64) + eps
        kl = part * (np.log(part) - np.log(np.mean(part, axis=0, keepdims=True)))
        scores.append(np.exp(np.mean(np.sum(kl, axis=1))))
    return float(np.mean(scores)), float(np.std(scores))


def test_tgan2_protocol_scores_ten_loops_of_n_fresh_samples():
    p = protocols.get("is@c3d-ucf101-tgan2")
    assert (p.splits, p.samples_per_split, p.videos_needed) == (10, 2048, 20480)
    rng = np.random.default_rng(1)
    n = 64  # a small N for the test; the protocol's is 2048
    probs = rng.dirichlet(np.full(101, 0.05), size=10 * n)
    ours = inception_score_from_probs(probs, 10, "tgan2", eps=1e-20, samples_per_split=n)
    assert ours == pytest.approx(_reference_tgan2_script(probs, 10, n), rel=1e-12)
    # cutting the N videos of one loop into 10 splits (the old CLI behaviour) is lower
    cut = inception_score_from_probs(probs[:n], 10, "stylegan-v")
    assert cut[0] < 0.9 * ours[0]
    with pytest.raises(StatsError, match=rf"exactly {10 * n} videos .*got {n}"):
        inception_score_from_probs(probs[:n], 10, "tgan2", eps=1e-20, samples_per_split=n)
    with pytest.raises(StatsError, match="pass samples_per_split"):
        inception_score_from_probs(probs, 10, "tgan2", eps=1e-20)
    m = InceptionScore(p, extractor=build_extractor("c3d-ucf101", random_seed=0, device="cpu"))
    m.update_probs(torch.from_numpy(probs[:2048]))
    with pytest.raises(StatsError, match="exactly 20480 videos"):
        m.compute()


def test_errors():
    with pytest.raises(StatsError, match="at least 11 videos"):
        inception_score_from_probs(np.full((9, 101), 1 / 101), 10)
    with pytest.raises(StatsError, match="NaN"):
        inception_score_from_probs(np.full((20, 101), np.nan), 10)
    with pytest.raises(StatsError, match="unknown split rule"):
        inception_score_from_probs(np.full((20, 101), 1 / 101), 10, "openai")


@pytest.fixture(scope="module")
def c3d():
    return build_extractor("c3d-ucf101", random_seed=0, device="cpu")


def test_metric_with_random_c3d_torchscript(c3d):
    g = torch.Generator().manual_seed(0)
    v = torch.randint(0, 256, (1, 18, 24, 24, 3), dtype=torch.uint8, generator=g)
    with pytest.raises(ExtractorError, match="exactly 16 frames"):
        c3d(v)
    m = InceptionScore("is@c3d-ucf101", extractor=c3d)
    m.update(v)  # 18 frames: the protocol takes the first 16
    probs = m.probs[0]
    assert probs.shape == (1, 101) and c3d.random_weights
    torch.testing.assert_close(probs.sum(1), torch.ones(1, dtype=torch.float64), rtol=0, atol=1e-5)
    m.update_probs(torch.full((10, 101), 1 / 101, dtype=torch.float64))
    mean, std = m.compute()
    ref = inception_score_from_probs(torch.cat([probs.double(), torch.full((10, 101), 1 / 101,
                                                                           dtype=torch.float64)]), 10)
    assert (float(mean), float(std)) == pytest.approx(ref, rel=1e-6)
    assert m.details()["random_weights"] is True
    with pytest.raises(ExtractorError, match="uses extractor"):
        InceptionScore(protocols.get("is@c3d-ucf101"), extractor=build_extractor(
            "i3d-400", random_seed=0, resolution=32))


def test_tgan2_chainer_layout_loads(tmp_path):
    """Chainer npz keys (conv1a/W ...) into our module; a tiny fc width keeps it cheap."""
    model = C3DUCF101(fc_dim=16)
    sd = model.state_dict()
    rng = np.random.default_rng(0)
    arrays = {}
    for layer in CHAINER_LAYERS:
        arrays[f"predictor/{layer}/W"] = rng.standard_normal(tuple(sd[f"{layer}.weight"].shape)).astype(np.float32)
        arrays[f"predictor/{layer}/b"] = rng.standard_normal(tuple(sd[f"{layer}.bias"].shape)).astype(np.float32)
    np.savez(tmp_path / "w.npz", **arrays)
    mean = rng.uniform(80, 120, (3, 16, 128, 171)).astype(np.float32)
    np.savez(tmp_path / "mean2.npz", mean=mean)
    load_chainer_npz(model, tmp_path / "w.npz", tmp_path / "mean2.npz")
    np.testing.assert_array_equal(model.conv3b.weight.detach().numpy(), arrays["predictor/conv3b/W"])
    np.testing.assert_allclose(model.mean_bias.numpy(), 128 - mean[:, :, 8:120, 8:120])
    with torch.no_grad():
        out = model(torch.rand(1, 3, 16, 40, 40) * 2 - 1)
    assert out.shape == (1, 101) and float(out.sum()) == pytest.approx(1.0, abs=1e-5)
    del arrays["predictor/fc8/b"]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ExtractorError, match="fc8/b"):
        load_chainer_npz(C3DUCF101(fc_dim=16), tmp_path / "bad.npz")


def test_a_split_of_one_video_is_refused_or_warned():
    """With one video per split every split scores exactly 1 (marginal = the video's own
    prediction): `splits` videos are refused, fewer than 2 per split carry a warning."""
    from ffbench.harness.families import FAMILIES
    from ffbench.metrics.inception import min_videos, single_video_splits
    from ffbench.protocols import get

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(101), size=12)
    with pytest.raises(StatsError, match="needs at least 11 videos, got 10.*scores exactly 1"):
        inception_score_from_probs(probs[:10], 10)
    assert min_videos(10) == 11 and min_videos(1) == 2
    assert single_video_splits(12, 10) == 8 and single_video_splits(20, 10) == 0
    p = get("is@c3d-ucf101")
    row = FAMILIES["is"].score(p, list(probs), bootstrap=5)
    assert any("8 of the 10 splits hold one video" in w for w in row["extra"]["warnings"])
    row = FAMILIES["is"].score(p, list(rng.dirichlet(np.ones(101), size=20)), bootstrap=5)
    assert "warnings" not in row["extra"]
