"""JEDi-style distance: the V-JEPA 2 extractor through transformers from a local folder,
its pooled features, and JEDi's MMD (scikit-learn's kernel as JEDi calls it)."""
import json

import numpy as np
import pytest
import torch

from ffbench import protocols as P
from ffbench.metrics import jedi as J
from ffbench.metrics.extractors import ExtractorError, build_extractor, names
from ffbench.weights import WeightsMissing


def _videos(n, t=6, h=36, w=44, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, t, h, w, 3), dtype=torch.uint8, generator=g)


def _tiny_protocol(pooling="attentive-probe"):
    import dataclasses

    name = "jedi@vjepa2-vitl-ssv2" if pooling == "attentive-probe" else "jedi@vjepa2-vitl-mean"
    return dataclasses.replace(P.get(name), num_frames=4, num_real=3, num_fake=3)


@pytest.fixture(scope="module")
def extractor():
    return build_extractor("vjepa2", random_seed=0, device="cpu")


@pytest.fixture(scope="module")
def folder(extractor, tmp_path_factory):
    d = tmp_path_factory.mktemp("vjepa2") / "vjepa2-vitl-fpc16-256-ssv2"
    extractor.model.save_pretrained(d)
    extractor.processor.save_pretrained(d)
    return d


def test_protocol_records_jedi_settings():
    p = P.get("jedi@vjepa2-vitl-ssv2")
    assert (p.kernel_degree, p.kernel_gamma, p.kernel_coef0, p.estimator, p.scale) == (2, 0.0, 0.0, "biased", 100.0)
    assert (p.extractor, p.weights, p.pooling, p.num_frames) == ("vjepa2", "vjepa2_vitl_ssv2", "attentive-probe", 16)
    for fact in ("ViT-H/16", "ssv2-probe", "degree=2", "coef0=0", "x100", "5000", "16%"):
        assert fact in p.reference_settings
    assert "vjepa2" in names()
    assert P.get("jedi@vjepa2-vitl-mean").hash != p.hash


def test_loads_from_a_local_folder_and_matches(extractor, folder):
    loaded = build_extractor("vjepa2", weights_path=folder, device="cpu")
    assert not loaded.random_weights and len(loaded.weights_sha256) == 64
    v = _videos(2, seed=1)
    ours = loaded(v)
    assert ours.shape == (2, 32) and ours.dtype == torch.float32
    assert torch.equal(ours, extractor(v))
    assert (ours[0] - ours[1]).abs().max() > 1e-4  # depends on the video


def test_features_are_what_transformers_feeds_the_classifier(extractor):
    """Attentive-probe features are the pooler output that VJEPA2ForVideoClassification's own
    forward feeds its classifier, on the documented processor output."""
    v = _videos(2, seed=2)
    inputs = extractor.processor(list(v.permute(0, 1, 4, 2, 3)), return_tensors="pt")
    with torch.no_grad():
        logits = extractor.model(**inputs).logits
        ours = extractor(v)
        assert torch.allclose(extractor.model.classifier(ours), logits, rtol=0, atol=1e-6)
        tokens = extractor.model.vjepa2(pixel_values_videos=inputs["pixel_values_videos"],
                                        skip_predictor=True).last_hidden_state
    mean_ext = build_extractor("vjepa2", random_seed=0, device="cpu", pooling="token-mean")
    assert torch.equal(mean_ext(v), tokens.mean(1))


def test_missing_or_wrong_folder_is_a_clear_error(tmp_path, folder):
    with pytest.raises(WeightsMissing, match="vjepa2-vitl-fpc16-256-ssv2"):
        build_extractor("vjepa2")
    other = tmp_path / "other"
    other.mkdir()
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model_type"] = "vit"
    (other / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ExtractorError, match="not vjepa2|cannot load as a V-JEPA 2 folder"):
        build_extractor("vjepa2", weights_path=other)
    with pytest.raises(ExtractorError, match="unknown pooling"):
        build_extractor("vjepa2", random_seed=0, pooling="cls")


def test_odd_frame_count_is_an_error_not_a_dropped_frame(extractor):
    with pytest.raises(ExtractorError, match="5 frames per video is not a multiple of the tubelet size 2"):
        extractor(_videos(1, t=5))


def test_jedi_score_equals_reference_mmd_poly():
    from sklearn.metrics.pairwise import polynomial_kernel

    rng = np.random.RandomState(0)
    real, fake = rng.rand(40, 16), rng.rand(30, 16) + 0.05
    with pytest.warns(UserWarning, match="fewer than the protocol's 5000"):
        out = J.score(real, fake)
    # oooolga/JEDi JEDiMetric.compute_metric: mmd_poly(train, test, degree=2, coef0=0) * 100,
    # mmd_poly = K_xx.mean() + K_yy.mean() - 2 K_xy.mean() with scikit-learn kernels (gamma 1/d)
    ref = (polynomial_kernel(real, real, 2, None, 0).mean() + polynomial_kernel(fake, fake, 2, None, 0).mean()
           - 2 * polynomial_kernel(real, fake, 2, None, 0).mean()) * 100
    assert out["value"] == pytest.approx(ref, rel=1e-12)
    assert out["extra"]["estimator"] == "biased" and "ViT-H/16" in out["extra"]["reference_settings"]


def test_end_to_end_and_clip_rule(extractor):
    p = _tiny_protocol()
    real, fake = _videos(3, t=6, seed=3), _videos(3, t=5, seed=4)
    with pytest.warns(UserWarning, match="fewer than the feature dimension 32"):
        out = J.jedi(real, fake, extractor, p)
    rf = np.stack([J.video_features(v, extractor, p) for v in real])
    ff = np.stack([J.video_features(v, extractor, p) for v in fake])
    assert np.allclose(rf, extractor(real[:, :4]).numpy(), rtol=0, atol=1e-6)
    with pytest.warns(UserWarning):
        assert out["value"] == pytest.approx(J.score(rf, ff, p)["value"], rel=1e-6)
    assert out["value"] > 0
    with pytest.raises(Exception, match="first 4"):
        J.select_clip(real[0, :3], p, source="short.mp4")
    with pytest.raises(J.JEDiError, match="pools with 'token-mean'"):
        J.video_features(real[0], extractor, _tiny_protocol("token-mean"))
    with pytest.raises(J.JEDiError, match="not a jedi protocol"):
        J.score(rf, ff, "kvd@stylegan-v-2048x16")
