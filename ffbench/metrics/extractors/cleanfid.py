"""clean-fid's Inception-v3 on video frames (`inception-cleanfid`), for frame-level FID/KID.

Everything here is clean-fid's own ``mode="clean"`` path (GaParmar/clean-fid, the package
pinned in pyproject), so a number made here is a clean-fid number on the same frames:

- resize: ``cleanfid.resize.make_resizer("PIL", False, "bicubic", (299, 299))`` — the call
  ``build_resizer("clean")`` makes (cleanfid/resize.py): each channel of the uint8 frame goes
  to a float32 PIL image (mode "F"), is resized bicubic to 299×299 *without* quantising, and is
  clipped to [0, 255]. This is the "clean" resize the package is named for; it runs per frame
  on the CPU (PIL), in a small thread pool (PIL releases the GIL while resampling).
- network input: the float32 [N, 3, 299, 299] batch in 0..255, then what
  ``cleanfid.inception_torchscript.InceptionV3W.forward`` does with ``resize_inside=False``:
  ``(x − 128) / 128`` into the TorchScript file's ``layers`` submodule, viewed as [N, 2048].
- weights: the StyleGAN2-ADA ``inception-2015-12-05.pt`` TorchScript file clean-fid loads,
  registered as ``cleanfid_inception`` in ffbench.weights and never downloaded here (clean-fid
  itself would fetch it into /tmp).

`random(seed)` builds a tiny TorchScript stand-in with the same interface (a ``layers``
submodule returning [N, 2048, 1, 1]) so the loading and calling path runs in tests; it is
marked ``random_weights`` and is never a fallback for a missing file.

Unlike the video extractors, this one maps *frames* to features: ``__call__`` takes uint8
[F, H, W, 3] (or a batch of videos [N, T, H, W, 3], flattened to frames) and returns float32
[F, 2048]. Which frames of a video are scored is the protocol's business
(`ffbench.metrics.frames.select_frames`).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn as nn

from .base import ExtractorError, FeatureExtractor, load_torchscript, script_quietly

__all__ = ["CleanFIDInceptionExtractor", "CleanFIDInceptionStandIn", "clean_resizer",
           "CLEAN_SIZE", "FEATURE_DIM"]

CLEAN_SIZE = 299
FEATURE_DIM = 2048


def clean_resizer():
    """clean-fid's own resize function for mode "clean" (cleanfid/resize.py build_resizer)."""
    from cleanfid.resize import make_resizer

    return make_resizer("PIL", False, "bicubic", (CLEAN_SIZE, CLEAN_SIZE))


class _StandInLayers(nn.Module):
    """Random tiny body: [N,3,299,299] in about [-1,1] -> [N, 2048, 1, 1] (as the real `layers`)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, kernel_size=13, stride=13)
        self.head = nn.Conv2d(16, FEATURE_DIM, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv(x))
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1)
        return self.head(x)


class CleanFIDInceptionStandIn(nn.Module):
    """Random-weight stand-in with the interface clean-fid uses of the real file.

    ``layers`` is what ``InceptionV3W`` calls in clean mode; ``forward(x, return_features)``
    mirrors the file's own entry point (used only by clean-fid's legacy_tensorflow mode).
    """

    def __init__(self):
        super().__init__()
        self.layers = _StandInLayers()

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = torch.nn.functional.interpolate(x, size=[299, 299], mode="bilinear",
                                            align_corners=False)
        return self.layers((x - 128.0) / 128.0)


class CleanFIDInceptionExtractor(FeatureExtractor):
    """`inception-cleanfid`: frames uint8 -> clean-fid features float32 [F, 2048].

    A `FeatureExtractor` for its weights, device and description; its input is frames, not
    videos, so it has its own `__call__`."""

    name = "inception-cleanfid"
    feature_dim = FEATURE_DIM
    weights = "cleanfid_inception"
    kind = "frames"  # features per frame, not per video

    def __init__(self, module, *, weights_sha256=None, random_weights=False, device=None,
                 resize_workers: int = 2, batch_size: int = 32, resize: str = "clean",
                 resolution: int = CLEAN_SIZE):
        # resize / resolution are accepted so a protocol's fields can be passed through, and
        # checked: clean-fid's clean mode is the only one implemented here
        if resize != "clean" or int(resolution) != CLEAN_SIZE:
            raise ExtractorError(f"{self.name}: only clean-fid's 'clean' resize to {CLEAN_SIZE} "
                                 f"is implemented, got resize={resize!r}, resolution={resolution}")
        super().__init__(weights_sha256=weights_sha256, random_weights=random_weights, device=device)
        if not hasattr(module, "layers"):
            raise ExtractorError(f"{self.name}: the TorchScript module has no `layers` submodule; "
                                 "not clean-fid's inception-2015-12-05.pt")
        self.module = module.eval().to(self.device)
        self.resize_workers = max(1, int(resize_workers))
        self.batch_size = max(1, int(batch_size))
        self._resize = clean_resizer()

    # --- constructors ---
    @classmethod
    def from_weights(cls, path=None, **options) -> "CleanFIDInceptionExtractor":
        """Load the real file through ffbench.weights (WeightsMissing names it when absent)."""
        module, digest = load_torchscript(cls.weights, path, options.get("device"))
        return cls(module, weights_sha256=digest, random_weights=False, **options)

    @classmethod
    def random(cls, seed: int = 0, **options) -> "CleanFIDInceptionExtractor":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = CleanFIDInceptionStandIn()
        return cls(script_quietly(module.eval()), weights_sha256=f"random-seed-{seed}",
                   random_weights=True, **options)

    # --- the work ---
    def resize(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 [F,H,W,3] -> float32 [F,3,299,299] in 0..255 by clean-fid's clean resize."""
        arrays = [f.numpy() for f in frames.cpu()]
        if self.resize_workers > 1 and len(arrays) > 1:
            with ThreadPoolExecutor(self.resize_workers) as pool:
                out = list(pool.map(self._resize, arrays))
        else:
            out = [self._resize(a) for a in arrays]
        # clean-fid's ResizeDataset: ToTensor() of a float32 HWC array = a CHW view, no scaling
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()

    def network(self, x: torch.Tensor) -> torch.Tensor:
        """float32 [N,3,299,299] in 0..255 -> [N, 2048], as InceptionV3W.forward (clean mode)."""
        x = x.to(self.device)
        n = x.shape[0]
        with torch.jit.optimized_execution(not self.random_weights):
            return self.module.layers.forward((x - 128) / 128).view((n, FEATURE_DIM))

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 [F,H,W,3] (or videos [N,T,H,W,3], flattened) -> float32 [F, 2048] on the CPU."""
        if not isinstance(frames, torch.Tensor):
            raise ExtractorError(f"{self.name}: frames must be a torch.Tensor uint8 [F,H,W,3], "
                                 f"got {type(frames).__name__}")
        if frames.ndim == 5:
            frames = frames.reshape(-1, *frames.shape[2:])
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ExtractorError(f"{self.name}: frames must be channels-last RGB [F,H,W,3], got "
                                 f"shape {tuple(frames.shape)}")
        if frames.dtype != torch.uint8:
            raise ExtractorError(f"{self.name}: frames must be uint8 in [0, 255], got {frames.dtype}")
        if frames.shape[0] == 0:
            raise ExtractorError(f"{self.name}: no frames")
        chunks = []
        with torch.inference_mode():
            for i in range(0, frames.shape[0], self.batch_size):
                chunks.append(self.network(self.resize(frames[i:i + self.batch_size])).float().cpu())
        feats = torch.cat(chunks)
        if not torch.isfinite(feats).all():
            raise ExtractorError(f"{self.name}: NaN/inf in the features of "
                                 f"{int((~torch.isfinite(feats)).any(1).sum())} frames; "
                                 "check the weights file and the input")
        return feats
