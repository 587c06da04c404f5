"""Batched CLIP preprocessing is bit-equal to CLIP's own PIL preprocess (clip.clip._transform).

Reference: each frame as a PIL image through `clip.clip._transform(224)` (Resize bicubic of the
short side, CenterCrop, ToTensor, Normalize), stacked. Ours: Pillow per frame in a thread pool
("pillow", the CPU default) or the exact integer emulation of Pillow's resampler ("emulated",
the CUDA path, run here on CPU). Compared with `torch.equal` on natural images (scikit-image's
data set), noise, odd sizes, upscales, and portraits taller than 2:1 (which Pillow 13 resamples
vertically first).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from ffbench.metrics.extractors import clip_preprocess as cp
from ffbench.metrics.extractors.clip import CLIPExtractor, clip_preprocess, resized_size

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import clip


def _reference(frames: torch.Tensor) -> torch.Tensor:
    from PIL import Image

    tf = clip.clip._transform(224)
    return torch.stack([tf(Image.fromarray(f.numpy())) for f in frames])


def _noise(h, w, seed, n=2):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, h, w, 3), generator=g, dtype=torch.uint8)


def _natural():
    """scikit-image's bundled photos: (name, uint8 [H,W,3])."""
    from skimage import data

    out = [("astronaut", data.astronaut()), ("chelsea", data.chelsea()), ("coffee", data.coffee())]
    cam = data.camera()
    out.append(("camera-rgb", np.repeat(cam[:, :, None], 3, axis=2)))
    # crops: a tall portrait (> 2:1) and an odd-sized wide strip of real content
    out.append(("astronaut-portrait", data.astronaut()[:, 100:331]))
    out.append(("coffee-strip", data.coffee()[101:202, 3:597]))
    return out


@pytest.mark.parametrize("backend", ["pillow", "emulated"])
def test_natural_images_bit_equal(backend):
    for name, img in _natural():
        frames = torch.from_numpy(np.ascontiguousarray(img))[None]
        ours = clip_preprocess(frames, backend=backend)
        assert ours.dtype == torch.float32 and ours.shape == (1, 3, 224, 224)
        assert torch.equal(ours, _reference(frames)), name


# odd sizes, no-op resize, upscales (both axes and one), portraits taller than 2:1 (vertical
# pass first in Pillow 13, right at the 2:1 boundary too), wide strips
SIZES = [(37, 53), (224, 224), (224, 301), (100, 100), (225, 1000), (461, 230), (460, 230),
         (601, 300), (999, 223), (1000, 225), (500, 200), (720, 1280), (1280, 720), (33, 500)]


@pytest.mark.parametrize("h,w", SIZES)
def test_noise_bit_equal_both_backends(h, w):
    frames = _noise(h, w, seed=h * 7 + w)
    ref = _reference(frames)
    assert torch.equal(clip_preprocess(frames, backend="pillow"), ref)
    assert torch.equal(clip_preprocess(frames, backend="emulated"), ref)


def test_thread_pool_equals_single_thread():
    frames = _noise(257, 383, seed=3, n=5)
    one = cp.pillow_resize_crop(frames, 224, workers=1)
    assert torch.equal(one, cp.pillow_resize_crop(frames, 224, workers=3))


def test_float_resize_is_not_exact():
    # why we run Pillow: a float bicubic pass (even antialiased, PIL's kernel) is off by grey levels
    import torch.nn.functional as F

    f = _noise(64, 80, seed=0, n=1)
    nh, nw = resized_size(64, 80, 224)
    x = F.interpolate(f.permute(0, 3, 1, 2).float(), size=(nh, nw), mode="bicubic", antialias=True)
    left = int(round((nw - 224) / 2))
    crop = x[..., left:left + 224].round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    assert not torch.equal(crop, cp.pillow_resize_crop(f, 224, workers=1))


def test_pass_order_is_read_from_pillow():
    assert cp.pass_order(256, 320, 224, 280) == "hv"
    assert cp.pass_order(461, 230, 448, 224) in ("hv", "vh")  # whichever the installed Pillow does
    assert cp.pass_order(224, 320, 224, 280) == "hv"  # one pass: order irrelevant


def test_extractor_records_pillow_version():
    import PIL

    info = CLIPExtractor.random(seed=0).describe()["preprocess"]
    assert info["pillow"] == PIL.__version__ and info["backend"] == "pillow"


def test_resized_size_matches_torchvision():
    assert resized_size(256, 320, 224) == (224, 280)
    assert resized_size(320, 256, 224) == (280, 224)
    assert resized_size(225, 1000, 224) == (224, int(224 * 1000 / 225))


def test_rejects_float_bad_shapes_and_backends():
    with pytest.raises(TypeError, match="uint8"):
        clip_preprocess(torch.rand(1, 32, 32, 3))
    with pytest.raises(ValueError, match=r"\[B,H,W,3\]"):
        clip_preprocess(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="backend"):
        clip_preprocess(torch.zeros(1, 32, 32, 3, dtype=torch.uint8), backend="float")
