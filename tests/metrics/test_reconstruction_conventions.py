"""Every reconstruction convention equals its reference package (or, for the one that is not a
package, a direct computation with the library it calls); every protocol field changes the
number; frames smaller than the window are a clear error.

References: scikit-image `structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=1)` (valid window, Table 3 default), pytorch-msssim
`ssim(..., size_average=False)` (valid window), torchmetrics >= 1.5 (reflect-padded full map;
installed 1.9), scikit-image `rgb2ycbcr` + metrics for BT.601 luma, and for
common_metrics_on_video_quality (a script, not a package, using cv2.filter2D): scipy.ndimage's
`correlate` with the same 11x11 window in float64, cropped [5:-5, 5:-5] as that script does,
PSNR 10·log10(1/MSE) with 100 below MSE 1e-10.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ffbench import protocols as P
from ffbench.metrics.reconstruction import VideoPSNR, VideoSSIM, video_psnr, video_ssim
from ffbench.metrics.ssim import psnr_frames, ssim_frames

DEFAULT = "reconstruction@vimeo90k-septuplet"


def _pair(n=2, t=2, h=40, w=52, noise=0.06, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.interpolate(torch.rand(n * t, 3, h // 4, w // 4, generator=g), size=(h, w),
                                           mode="bilinear").permute(0, 2, 3, 1).reshape(n, t, h, w, 3)
    b = (base + noise * torch.randn(base.shape, generator=g)).clamp(0, 1)
    return b.contiguous(), base.contiguous()


def _frames(v):
    return v.reshape(-1, *v.shape[2:]).permute(0, 3, 1, 2).contiguous()


def _skimage_ssim(a, b, channel_axis=0):
    from skimage.metrics import structural_similarity

    return structural_similarity(a, b, channel_axis=channel_axis, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=1.0)


def _per_video(frame_values, n, t):
    return np.asarray(frame_values, dtype=np.float64).reshape(n, t).mean(axis=1)


def test_default_ssim_equals_scikit_image_and_pytorch_msssim():
    from pytorch_msssim import ssim as ms_ssim

    preds, target = _pair()
    p, t = _frames(preds), _frames(target)
    sk = [_skimage_ssim(a.double().numpy(), b.double().numpy()) for a, b in zip(p, t)]
    ours = video_ssim(preds, target, protocol=DEFAULT, reduction="none")
    assert np.abs(ours.numpy() - _per_video(sk, 2, 2)).max() <= 1e-6
    pm = ms_ssim(p.double(), t.double(), data_range=1.0, size_average=False, win_size=11, win_sigma=1.5)
    assert np.abs(ours.numpy() - _per_video(pm.numpy(), 2, 2)).max() <= 1e-6
    # the full-map convention is measurably different, so the equality above is not vacuous
    full = video_ssim(preds, target, protocol="reconstruction@vimeo90k-septuplet-tm15", reduction="none")
    assert float((full - ours).abs().min()) > 1e-4


def test_full_map_convention_equals_torchmetrics_1_5_and_later():
    import torchmetrics
    from packaging.version import Version
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

    assert Version(torchmetrics.__version__) >= Version("1.5"), "reference needs torchmetrics >= 1.5"
    preds, target = _pair(seed=1)
    p, t = _frames(preds).double(), _frames(target).double()
    ref = tm_ssim(p, t, data_range=1.0, gaussian_kernel=True, sigma=1.5, kernel_size=11, reduction="none")
    ours = video_ssim(preds, target, protocol="reconstruction@vimeo90k-septuplet-tm15", reduction="none")
    assert np.abs(ours.numpy() - _per_video(ref.numpy(), 2, 2)).max() <= 1e-6


def test_y_channel_equals_scikit_image_rgb2ycbcr():
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio

    proto = "reconstruction@vimeo90k-septuplet-y"
    preds, target = _pair(seed=2)
    ys = [(rgb2ycbcr(a.double().numpy())[..., 0], rgb2ycbcr(b.double().numpy())[..., 0])
          for a, b in zip(preds.reshape(-1, 40, 52, 3), target.reshape(-1, 40, 52, 3))]
    # Y in [16, 235] with data range 255 is our Y/255 with data range 1
    sk_psnr = [peak_signal_noise_ratio(b, a, data_range=255.0) for a, b in ys]
    sk_ssim = [_skimage_ssim(a / 255.0, b / 255.0, channel_axis=None) for a, b in ys]
    ours_psnr = video_psnr(preds, target, protocol=proto, reduction="none").numpy()
    ours_ssim = video_ssim(preds, target, protocol=proto, reduction="none").numpy()
    assert np.abs(ours_psnr - _per_video(sk_psnr, 2, 2)).max() <= 1e-6
    assert np.abs(ours_ssim - _per_video(sk_ssim, 2, 2)).max() <= 1e-6
    assert np.abs(ours_psnr - video_psnr(preds, target, reduction="none").numpy()).min() > 1e-3


def test_common_metrics_convention():
    from scipy.ndimage import correlate

    proto = "reconstruction@common-metrics"
    preds, target = _pair(seed=3)
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
    win = np.outer(g / g.sum(), g / g.sum())

    def ssim_channel(a, b):  # common_metrics' per-channel SSIM in float64 ([5:-5,5:-5] crop)
        f = lambda x: correlate(x, win, mode="mirror")[5:-5, 5:-5]  # noqa: E731
        mu1, mu2 = f(a), f(b)
        s1, s2, s12 = f(a * a) - mu1 ** 2, f(b * b) - mu2 ** 2, f(a * b) - mu1 * mu2
        c1, c2 = 0.01 ** 2, 0.03 ** 2
        return (((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2))).mean()

    p, t = _frames(preds).double().numpy(), _frames(target).double().numpy()
    ref_ssim = [np.mean([ssim_channel(a[c], b[c]) for c in range(3)]) for a, b in zip(p, t)]
    ref_psnr = [20 * np.log10(1 / np.sqrt(np.mean((a - b) ** 2))) for a, b in zip(p, t)]
    # its "final" is the mean over all frames of all videos: equal T, so mean of video means
    assert float(video_ssim(preds, target, protocol=proto)) == pytest.approx(np.mean(ref_ssim), abs=1e-6)
    assert float(video_psnr(preds, target, protocol=proto)) == pytest.approx(np.mean(ref_psnr), abs=1e-5)
    # identical frames: 100, as its script (not inf)
    same = psnr_frames(_frames(target), _frames(target), identical="100-below-1e-10")
    assert same.tolist() == [100.0] * 4
    m = VideoPSNR(proto)
    m.update(target, target)
    assert float(m.compute()) == 100.0 and int(m.n_identical) == 0
    assert torch.isinf(video_psnr(target, target)).item()


@pytest.mark.parametrize("field,value", [("ssim_kernel_size", 7), ("ssim_sigma", 1.0), ("ssim_k1", 0.02),
                                         ("ssim_k2", 0.05), ("ssim_border", "reflect-full-map"),
                                         ("color", "y-bt601")])
def test_every_ssim_field_changes_the_number_and_the_hash(field, value):
    preds, target = _pair(seed=4)
    base = P.get(DEFAULT)
    other = dataclasses.replace(base, **{field: value})
    assert other.hash != base.hash
    a = video_ssim(preds, target, protocol=base, reduction="none")  # float64 per video
    b = video_ssim(preds, target, protocol=other, reduction="none")
    assert float((a - b).abs().min()) > 1e-7, (field, a, b)


def test_psnr_fields_change_the_number():
    preds, target = _pair(seed=5)
    base = P.get(DEFAULT)
    a = float(video_psnr(preds, target, protocol=base))
    assert abs(a - float(video_psnr(preds, target, protocol=dataclasses.replace(base, psnr_data_range=2.0)))) > 1
    assert abs(a - float(video_psnr(preds, target, protocol=dataclasses.replace(base, color="y-bt601")))) > 1e-3


@pytest.mark.parametrize("size", [5, 6, 10])
def test_frames_smaller_than_window_are_an_error(size):
    v = torch.rand(1, 1, size, 32, 3)
    with pytest.raises(ValueError, match=rf"{size}x32 px are smaller than the 11x11 SSIM window"):
        video_ssim(v, v)
    with pytest.raises(ValueError, match="smaller than the 11x11"):
        VideoSSIM().update(v, v)
    # exactly the window size works (one window position)
    ok = torch.rand(1, 1, 11, 11, 3)
    assert float(video_ssim(ok, ok)) == pytest.approx(1.0, abs=1e-12)


def test_unknown_conventions_are_errors():
    f = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="border"):
        ssim_frames(f, f, border="same")
    with pytest.raises(ValueError, match="colour"):
        ssim_frames(f, f, color="lab")
    with pytest.raises(ValueError, match="reduction"):
        video_ssim(torch.rand(1, 1, 16, 16, 3), torch.rand(1, 1, 16, 16, 3),
                   protocol=dataclasses.replace(P.get(DEFAULT), reduction="median"))
