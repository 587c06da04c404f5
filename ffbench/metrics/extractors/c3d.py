"""C3D fine-tuned on UCF-101, the classifier of video Inception Score (metrics.md §4).

- ``c3d-ucf101``: StyleGAN-V's ``c3d_ucf101.pt`` TorchScript ("perfectly reproduced torchscript
  version of the original chainer checkpoint", src/metrics/video_inception_score.py), called with
  no keyword arguments on uint8 [B, C, T, H, W] with T = 16; returns 101 class probabilities.
- ``c3d-ucf101-tgan2``: our own `C3DUCF101` module with the layout of TGAN2's
  ``C3DVersion1UCF101`` (pfnet-research/tgan2 tgan2/models/c3d/c3d_ucf101.py), loading its
  Chainer files ``conv3d_deepnetA_ucf.npz`` (keys ``conv1a/W`` ... ``fc8/b``) and ``mean2.npz``
  (key ``mean``, cropped [:, :, 8:120, 8:120]). Its pipeline on [-1, 1] input: RGB→BGR and ×128,
  per-frame bilinear resize to 112×112 (Chainer ``resize_images``, align_corners=True by
  default), + (128 − mean), conv1a..conv5b (3×3×3, pad 1) with ReLU, pools (1,2,2) then
  (2,2,2) ×4 (Chainer ``max_pooling_nd`` cover_all=True = ceil mode, which is why pool5 gives
  4×4 and fc6 takes 512·4·4), fc6, fc7, fc8, softmax. Our uint8 videos enter as x/127.5 − 1.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import (ExtractorError, FeatureExtractor, load_torchscript, script_quietly,
                   signal_preserving_init)

__all__ = ["C3DUCF101", "C3DTorchScriptExtractor", "C3DTGAN2Extractor", "C3D_FRAMES",
           "CHAINER_LAYERS"]

C3D_FRAMES = 16  # StyleGAN-V isv2048_ucf and TGAN2 n_frames
CROP = 112
CHAINER_LAYERS = ("conv1a", "conv2a", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b",
                  "fc6", "fc7", "fc8")


class C3DUCF101(nn.Module):
    """TGAN2 C3DVersion1UCF101 as a torch module: float [-1,1] [B,3,16,H,W] -> probabilities [B,101]."""

    def __init__(self, num_classes: int = 101, fc_dim: int = 4096):
        super().__init__()  # fc_dim < 4096 only for tiny test models
        chans = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512), (512, 512),
                 (512, 512)]
        for name, (cin, cout) in zip(CHAINER_LAYERS[:8], chans):
            self.add_module(name, nn.Conv3d(cin, cout, 3, 1, 1))
        self.fc6 = nn.Linear(512 * 4 * 4, fc_dim)
        self.fc7 = nn.Linear(fc_dim, fc_dim)
        self.fc8 = nn.Linear(fc_dim, num_classes)
        self.crop = CROP
        # 128 − mean clip (BGR, 0..255 units); zeros mean -> +128 until mean2.npz is loaded
        self.register_buffer("mean_bias", torch.full((3, C3D_FRAMES, CROP, CROP), 128.0))

    def set_mean(self, mean: np.ndarray) -> None:
        mean = np.asarray(mean, dtype=np.float32)
        if mean.ndim != 4 or mean.shape[0] != 3 or mean.shape[1] != C3D_FRAMES \
                or mean.shape[2] < 120 or mean.shape[3] < 120:
            raise ExtractorError(f"C3D mean must be [3,16,>=120,>=120], got {mean.shape}")
        self.mean_bias.copy_(torch.from_numpy(128.0 - mean[:, :, 8:8 + CROP, 8:8 + CROP]))

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        x = x.flip(1) * 128.0  # RGB -> BGR, [-1,1] -> [-128,128] (TGAN2's 1x1x1 `pre` conv)
        frames = x.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)
        r = self.crop
        frames = F.interpolate(frames, size=[r, r], mode="bilinear", align_corners=True)
        x = frames.reshape(n, t, c, r, r).permute(0, 2, 1, 3, 4)
        return x + self.mean_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.preprocess(x)
        x = F.max_pool3d(F.relu(self.conv1a(x)), [1, 2, 2], [1, 2, 2], ceil_mode=True)
        x = F.max_pool3d(F.relu(self.conv2a(x)), 2, 2, ceil_mode=True)
        x = F.max_pool3d(F.relu(self.conv3b(F.relu(self.conv3a(x)))), 2, 2, ceil_mode=True)
        x = F.max_pool3d(F.relu(self.conv4b(F.relu(self.conv4a(x)))), 2, 2, ceil_mode=True)
        x = F.max_pool3d(F.relu(self.conv5b(F.relu(self.conv5a(x)))), 2, 2, ceil_mode=True)
        x = F.relu(self.fc6(x.flatten(1)))  # dropout: identity at evaluation
        x = F.relu(self.fc7(x))
        return F.softmax(self.fc8(x), dim=1)


class _UInt8C3D(nn.Module):
    """Stand-in with the StyleGAN-V c3d_ucf101.pt calling convention: forward(uint8 BCTHW) -> probs."""

    def __init__(self, model: C3DUCF101):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.float() / 127.5 - 1.0)


def load_chainer_npz(model: C3DUCF101, npz_path, mean_path=None) -> None:
    """Copy TGAN2's Chainer arrays into `model` (same [out,in,k,k,k] / [out,in] layouts)."""
    try:
        z = np.load(npz_path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ExtractorError(f"{npz_path}: cannot read as .npz ({e})") from e
    with z:
        keys = list(z.keys())
        state = {}
        for layer in CHAINER_LAYERS:
            for src, dst in (("W", "weight"), ("b", "bias")):
                hits = [k for k in keys if k == f"{layer}/{src}" or k.endswith(f"/{layer}/{src}")]
                if len(hits) != 1:
                    raise ExtractorError(f"{npz_path}: expected one array {layer}/{src}, found "
                                         f"{hits or 'none'} (keys: {keys[:6]}...)")
                state[f"{layer}.{dst}"] = torch.from_numpy(np.asarray(z[hits[0]], np.float32))
    expected = model.state_dict()
    for k, v in state.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise ExtractorError(f"{npz_path}: {k} has shape {tuple(v.shape)}, expected "
                                 f"{tuple(expected[k].shape)}")
    state["mean_bias"] = expected["mean_bias"]
    model.load_state_dict(state, strict=True)
    if mean_path is not None:
        with np.load(mean_path, allow_pickle=False) as m:
            if "mean" not in m:
                raise ExtractorError(f"{mean_path}: no array 'mean'")
            model.set_mean(m["mean"])


class C3DTorchScriptExtractor(FeatureExtractor):
    """`c3d-ucf101`: StyleGAN-V's TorchScript C3D, uint8 [B,C,16,H,W] in, probabilities out."""

    name = "c3d-ucf101"
    feature_dim = 101
    weights = "c3d_ucf101"
    exact_frames = C3D_FRAMES
    min_frames = C3D_FRAMES
    output = "probabilities"

    def __init__(self, module, *, weights_sha256=None, random_weights=False, device=None):
        super().__init__(weights_sha256=weights_sha256, random_weights=random_weights, device=device)
        self.module = module.eval().to(self.device)

    @classmethod
    def from_weights(cls, path=None, device=None, **options) -> "C3DTorchScriptExtractor":
        _no_options(cls.name, options)
        module, digest = load_torchscript(cls.weights, path, device)
        return cls(module, weights_sha256=digest, random_weights=False, device=device)

    @classmethod
    def random(cls, seed: int = 0, device=None, **options) -> "C3DTorchScriptExtractor":
        _no_options(cls.name, options)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = signal_preserving_init(C3DUCF101(), last_layer_gain=_RANDOM_LOGIT_GAIN)
        scripted = script_quietly(_UInt8C3D(model.eval()))
        return cls(scripted, weights_sha256=f"random-seed-{seed}", random_weights=True, device=device)

    def _features(self, videos: torch.Tensor) -> torch.Tensor:
        with torch.jit.optimized_execution(not self.random_weights):  # see I3DTorchScriptExtractor
            return self.module(videos.permute(0, 4, 1, 2, 3).contiguous())


class C3DTGAN2Extractor(FeatureExtractor):
    """`c3d-ucf101-tgan2`: our C3DUCF101 with TGAN2's Chainer weights and clip mean."""

    name = "c3d-ucf101-tgan2"
    feature_dim = 101
    weights = "c3d_ucf101_tgan2"
    exact_frames = C3D_FRAMES
    min_frames = C3D_FRAMES
    output = "probabilities"

    def __init__(self, model: C3DUCF101, *, weights_sha256=None, random_weights=False, device=None):
        super().__init__(weights_sha256=weights_sha256, random_weights=random_weights, device=device)
        self.model = model.eval().requires_grad_(False).to(self.device)

    @classmethod
    def from_weights(cls, path=None, device=None, mean_path=None, **options) -> "C3DTGAN2Extractor":
        from ... import weights as W

        _no_options(cls.name, options)
        p, digest = W.resolve_verified(cls.weights, path)
        if mean_path is None:  # mean2.npz: next to the weights, else through the registry
            beside = Path(p).with_name(W.get("c3d_ucf101_mean").filename)
            mean_path = beside if beside.exists() else W.resolve("c3d_ucf101_mean")
        model = C3DUCF101()
        load_chainer_npz(model, p, mean_path)
        return cls(model, weights_sha256=digest, random_weights=False, device=device)

    @classmethod
    def random(cls, seed: int = 0, device=None, **options) -> "C3DTGAN2Extractor":
        _no_options(cls.name, options)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = signal_preserving_init(C3DUCF101(), last_layer_gain=_RANDOM_LOGIT_GAIN)
        return cls(model, weights_sha256=f"random-seed-{seed}", random_weights=True, device=device)

    def _features(self, videos: torch.Tensor) -> torch.Tensor:
        return self.model(videos.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0)


# C3D's input is pixel values minus the clip mean (TGAN2), O(100): scale the random output layer
# down so random-weight class probabilities are spread out rather than one-hot.
_RANDOM_LOGIT_GAIN = 1e-2


def _no_options(name: str, options: dict) -> None:
    # protocol-driven builders pass resize/resolution to every extractor; C3D resizes itself
    options.pop("resize", None)
    options.pop("resolution", None)
    if options:
        raise ExtractorError(f"{name}: unknown options {sorted(options)}")
