"""PSNR / SSIM / MSE / LPIPS on video pairs equal the per-frame reference functions averaged
over frames, then over videos (1e-6); identical videos; batch invariance; input errors."""
from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.functional import mean_squared_error
from torchmetrics.functional.image import peak_signal_noise_ratio

from ffbench.metrics.reconstruction import (VideoLPIPS, VideoMSE, VideoPSNR, VideoSSIM, load_lpips,
                                            video_lpips, video_mse, video_psnr, video_ssim)


def _pair(n=2, t=3, h=40, w=48, noise=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(n, t, h, w, 3, generator=g)
    b = (a + noise * torch.randn(a.shape, generator=g)).clamp(0, 1)
    return b, a


def _skimage_ssim(p, t):
    from skimage.metrics import structural_similarity

    return structural_similarity(p[0].double().numpy(), t[0].double().numpy(), channel_axis=0,
                                 gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=1.0)


def _chw(f):
    return f.permute(2, 0, 1)[None].contiguous()


def _reference(fn, preds, target):
    """Per-frame reference function -> mean over frames -> mean over videos (float64)."""
    per_video = [sum(float(fn(_chw(p), _chw(t))) for p, t in zip(pv, tv)) / pv.shape[0]
                 for pv, tv in zip(preds, target)]
    return per_video, sum(per_video) / len(per_video)


REFS = {
    "psnr": lambda p, t: peak_signal_noise_ratio(p, t, data_range=1.0),
    # the Table 3 default is the valid-window SSIM: scikit-image's (test_reconstruction_conventions.py)
    "ssim": lambda p, t: _skimage_ssim(p, t),
    "mse": lambda p, t: mean_squared_error(p, t),
}
CLASSES = {"psnr": VideoPSNR, "ssim": VideoSSIM, "mse": VideoMSE}
FUNCS = {"psnr": video_psnr, "ssim": video_ssim, "mse": video_mse}


@pytest.mark.parametrize("name", ["psnr", "ssim", "mse"])
def test_equals_per_frame_reference(name):
    preds, target = _pair()
    per_ref, mean_ref = _reference(REFS[name], preds, target)
    m = CLASSES[name]()
    m.update(preds, target)
    assert m.per_video_values().tolist() == pytest.approx(per_ref, rel=1e-6, abs=1e-6)
    assert float(m.compute()) == pytest.approx(mean_ref, rel=1e-6, abs=1e-6)
    assert float(FUNCS[name](preds, target)) == pytest.approx(mean_ref, rel=1e-6, abs=1e-6)
    assert FUNCS[name](preds, target, reduction="none").tolist() == pytest.approx(per_ref, rel=1e-6, abs=1e-6)
    # different videos give different values, so equality above is not vacuous
    assert abs(per_ref[0] - per_ref[1]) > 1e-6


def test_psnr_is_per_frame_not_pooled():
    # frames with very different errors: mean of per-frame PSNR != PSNR of pooled MSE
    t = torch.full((1, 2, 16, 16, 3), 0.5)
    p = t.clone()
    p[0, 0] += 0.001
    p[0, 1] += 0.2
    pooled = 10 * math.log10(1 / float(((p - t) ** 2).mean()))
    assert abs(float(video_psnr(p, t)) - pooled) > 5


@pytest.fixture(scope="module")
def lp():
    return load_lpips("alex", random_backbone=True, seed=0)


def test_lpips_equals_per_frame_lpips(lp):
    preds, target = _pair()
    per_ref, mean_ref = _reference(lambda p, t: lp(p, t, normalize=True), preds, target)
    m = VideoLPIPS(model=lp, frame_batch_size=4)
    m.update(preds, target)
    assert m.per_video_values().tolist() == pytest.approx(per_ref, rel=1e-6, abs=1e-6)
    assert float(m.compute()) == pytest.approx(mean_ref, rel=1e-6, abs=1e-6)
    assert float(video_lpips(preds, target, lp)) == pytest.approx(mean_ref, rel=1e-6, abs=1e-6)
    assert m.random_weights is True and mean_ref > 0
    with pytest.raises(ValueError, match="too small for LPIPS-alex"):
        video_lpips(preds[..., :16, :16, :], target[..., :16, :16, :], lp)


def test_identical_videos(lp):
    _, target = _pair()
    lpips_m, psnr_m = VideoLPIPS(model=lp), VideoPSNR()
    lpips_m.update(target, target.clone())
    psnr_m.update(target, target.clone())
    assert float(lpips_m.compute()) == 0.0
    assert math.isinf(float(psnr_m.compute())) and float(psnr_m.compute()) > 0  # protocol: "inf", no cap
    assert int(psnr_m.n_identical) == target.shape[0] * target.shape[1]
    assert float(video_ssim(target, target)) == pytest.approx(1.0, abs=1e-6)
    assert float(video_mse(target, target)) == 0.0
    # one identical frame is enough to make the video's PSNR inf
    preds, _ = _pair()
    preds[0, 1] = target[0, 1]
    per = video_psnr(preds, target, reduction="none")
    assert math.isinf(per[0]) and math.isfinite(per[1])


@pytest.mark.parametrize("name", ["psnr", "ssim", "mse", "lpips"])
def test_batch_size_invariance(name, lp):
    preds, target = _pair(n=3, t=2)
    make = (lambda **k: VideoLPIPS(model=lp, **k)) if name == "lpips" else CLASSES[name]
    whole = make(frame_batch_size=64)
    whole.update(preds, target)
    parts = make(frame_batch_size=1)
    parts.update(preds[:1], target[:1])
    parts.update(preds[1], target[1])  # a single [T,H,W,3] video
    parts.update(preds[2:], target[2:])
    assert torch.allclose(whole.per_video_values(), parts.per_video_values(), rtol=1e-6, atol=1e-6)
    assert float(whole.compute()) == pytest.approx(float(parts.compute()), rel=1e-6, abs=1e-6)
    assert int(parts.n_videos) == 3 and int(parts.n_frames) == 6


@pytest.mark.parametrize("name", ["psnr", "ssim", "mse"])
def test_errors(name):
    preds, target = _pair()
    m = CLASSES[name]()
    with pytest.raises(ValueError, match="differ in shape"):
        m.update(preds[:, :2], target)
    bad = preds.clone()
    bad[0, 0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        m.update(bad, target)
    with pytest.raises(TypeError, match="float videos in \\[0,1\\].*to_float01"):
        m.update((preds * 255).to(torch.uint8), (target * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="0..255"):
        m.update(preds * 255, target * 255)
    with pytest.raises(ValueError, match=r"\[N,T,H,W,3\]"):
        m.update(preds.permute(0, 1, 4, 2, 3), target.permute(0, 1, 4, 2, 3))
    with pytest.raises(TypeError):
        FUNCS[name](preds.numpy(), target)
    assert int(m.n_videos) == 0  # nothing was accumulated by the failed updates
