"""The feature-extractor interface shared by I3D and C3D.

An extractor takes the at-rest video batch (uint8 ``[N, T, H, W, 3]``, docs/DESIGN.md) and does
everything its protocol's reference does before the network (layout, range, resize) on the
whole batch at once — never a Python loop over frames — so that the same videos give the same
features whatever the batch size. Real weights come only through `ffbench.weights`; random
weights exist only through `random(seed)` and are marked `random_weights = True`.
"""
from __future__ import annotations

import torch

from ...devices import resolve_device
from ...errors import FFBenchError

__all__ = ["ExtractorError", "FeatureExtractor", "check_videos", "check_extractor", "script_quietly",
           "load_torchscript"]


def signal_preserving_init(model: torch.nn.Module, last_layer_gain: float = 1.0) -> torch.nn.Module:
    """Re-initialise a randomly built network so its output depends on its input.

    PyTorch's default init shrinks activations by a constant factor per ReLU layer; through the
    ~20 layers of I3D or C3D the features collapse onto the last bias and every video gets the
    same vector, so a random-weights FVD reads ~0 whatever the videos. He-normal weights
    (fan-in, ReLU gain) and zero biases keep the signal alive. Only for `random(seed)`
    extractors (tests, demos); real weights are never touched. `last_layer_gain` scales the
    output layer, for networks whose input is not normalised (C3D sees 0..255 pixel values, so
    its softmax would saturate to one-hot vectors).
    """
    layers = [m for m in model.modules()
              if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear))]
    with torch.no_grad():
        for m in layers:
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        layers[-1].weight.mul_(last_layer_gain)
    return model


class ExtractorError(FFBenchError, ValueError):
    """Input an extractor cannot use, or output it should not have produced."""


def script_quietly(module: torch.nn.Module):
    """torch.jit.script without its deprecation warning: the reference detectors *are*
    TorchScript files, so random-weight stand-ins must be TorchScript too."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.script(module)


def load_torchscript(weights_name: str, path=None, device=None):
    """(module, sha256) of the TorchScript reference file `weights_name` (an `ffbench.weights`
    key; `path` or the resolved location, verified), loaded onto `device` (CPU when None),
    without torch.jit.load's deprecation warning. An unreadable file is an ExtractorError naming
    it (shared by the I3D, C3D and clean-fid TorchScript extractors)."""
    import warnings

    from ... import weights as W

    p, digest = W.resolve_verified(weights_name, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(p), map_location=device or "cpu")
    except Exception as e:  # noqa: BLE001 - any unreadable file is a user-facing error
        raise ExtractorError(f"{p}: cannot load as a TorchScript archive ({e})") from e
    return module, digest


def check_videos(videos, name: str, min_frames: int = 1, exact_frames: int | None = None) -> None:
    """Reject anything but uint8 [N, T, H, W, 3], naming what is wrong."""
    if not isinstance(videos, torch.Tensor):
        raise ExtractorError(f"{name}: videos must be a torch.Tensor uint8 [N,T,H,W,3], "
                             f"got {type(videos).__name__}")
    if videos.ndim != 5:
        hint = " (a single video? add a batch dimension: video[None])" if videos.ndim == 4 else ""
        raise ExtractorError(f"{name}: videos must be [N,T,H,W,3], got {videos.ndim}-d shape "
                             f"{tuple(videos.shape)}{hint}")
    if videos.shape[-1] != 3:
        hint = ""
        if videos.shape[2] == 3:
            hint = " — looks like [N,T,3,H,W]; permute to channels-last: x.permute(0,1,3,4,2)"
        elif videos.shape[1] == 3:
            hint = " — looks like [N,3,T,H,W]; permute to channels-last: x.permute(0,2,3,4,1)"
        raise ExtractorError(f"{name}: videos must be channels-last RGB [N,T,H,W,3], got shape "
                             f"{tuple(videos.shape)}{hint}")
    if videos.dtype != torch.uint8:
        raise ExtractorError(f"{name}: videos must be uint8 in [0, 255] (the at-rest convention), "
                             f"got {videos.dtype}; convert float [0,1] with "
                             "(x*255).round().clamp(0,255).to(torch.uint8)")
    n, t = videos.shape[:2]
    if n < 1:
        raise ExtractorError(f"{name}: empty batch")
    if t < min_frames:
        raise ExtractorError(f"{name}: needs at least {min_frames} frames per video, got {t}")
    if exact_frames is not None and t != exact_frames:
        raise ExtractorError(f"{name}: needs exactly {exact_frames} frames per video, got {t}")


def check_extractor(extractor, protocol, error=ExtractorError) -> None:
    """The network `protocol` names, or `error` naming both: features of another network would
    give a number under the wrong protocol (FVD, IS, frame FID/KID, JEDi)."""
    if extractor.name != protocol.extractor:
        raise error(f"protocol {protocol.name} uses extractor {protocol.extractor!r}, got "
                    f"{extractor.name!r}")


class FeatureExtractor:
    """Base class: subclasses set the class attributes and implement `_features`.

    name: registry name; feature_dim: D of the output; weights: ffbench.weights registry key;
    min_frames / exact_frames: temporal input the network accepts.
    """

    name: str = ""
    feature_dim: int = 0
    weights: str = ""
    min_frames: int = 1
    exact_frames: int | None = None
    output: str = "features"  # "features" (logits) or "probabilities"

    def __init__(self, *, weights_sha256: str | None, random_weights: bool, device=None):
        self.weights_sha256 = weights_sha256
        self.random_weights = bool(random_weights)
        self.device = resolve_device(device)

    # --- constructors (subclasses implement) ---
    @classmethod
    def from_weights(cls, path=None, **options) -> "FeatureExtractor":
        raise NotImplementedError

    @classmethod
    def random(cls, seed: int = 0, **options) -> "FeatureExtractor":
        raise NotImplementedError

    # --- the work ---
    def _features(self, videos: torch.Tensor) -> torch.Tensor:
        """uint8 [N,T,H,W,3] on self.device -> [N, D]."""
        raise NotImplementedError

    def to(self, device) -> "FeatureExtractor":
        """Move the extractor and its network (`module`: TorchScript, or `model`: nn.Module)."""
        self.device = torch.device(device)
        for attr in ("module", "model"):
            if getattr(self, attr, None) is not None:
                getattr(self, attr).to(self.device)
        return self

    def describe(self) -> dict:
        return {"extractor": self.name, "feature_dim": self.feature_dim,
                "weights": self.weights, "weights_sha256": self.weights_sha256,
                "random_weights": self.random_weights}

    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        """uint8 [N,T,H,W,3] -> float32 [N, D] on the extractor's device."""
        check_videos(videos, self.name, self.min_frames, self.exact_frames)
        with torch.inference_mode():
            feats = self._features(videos.to(self.device, non_blocking=True))
        feats = feats.float()
        if feats.shape != (videos.shape[0], self.feature_dim):
            raise ExtractorError(f"{self.name}: produced shape {tuple(feats.shape)}, expected "
                                 f"{(videos.shape[0], self.feature_dim)}")
        if not torch.isfinite(feats).all():
            raise ExtractorError(f"{self.name}: NaN/inf in the features of "
                                 f"{int((~torch.isfinite(feats)).any(1).sum())} videos; "
                                 "check the weights file and the input")
        return feats

    def __repr__(self) -> str:
        tag = "random" if self.random_weights else (self.weights_sha256 or "?")[:12]
        return f"{type(self).__name__}({self.name!r}, weights={tag}, device={self.device})"
