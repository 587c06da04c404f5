"""Video reconstruction metrics: PSNR, SSIM, MSE, LPIPS on pairs of same-shape videos.

Convention (docs/DESIGN.md, metrics.md §5, protocol `reconstruction@vimeo90k-septuplet`): inputs are
float videos in [0, 1], [N,T,H,W,3] or one [T,H,W,3]; every metric is computed per frame, the
per-video value is the mean over its frames and the dataset value the mean over videos.

Every convention is a named protocol and our own float64 code (ffbench.metrics.ssim), so no
number depends on a library version: `reconstruction@vimeo90k-septuplet` (Table 3 default:
valid-window Gaussian SSIM of Wang et al. / scikit-image / pytorch-msssim / torchmetrics <= 1.4),
`-tm15` (torchmetrics >= 1.5's reflect-padded full-map SSIM), `-y` (BT.601 luma PSNR/SSIM),
`reconstruction@common-metrics` (common_metrics_on_video_quality's video PSNR/SSIM).

- PSNR: 10·log10(data_range² / MSE) per frame with an explicit data_range of 1, MSE in float64
  over one frame (never pooled over a batch, which torchmetrics does with dim=None).
  Identical frames have MSE 0 and PSNR +inf under `psnr_identical = "inf"`: no cap, so
  `n_identical` can say how many frames were exact; common_metrics' protocol reports 100 when
  MSE < 1e-10, as its script does. One identical frame makes its video's PSNR and the dataset
  mean inf under "inf". JSON output writes inf as the string "inf".
- SSIM: Gaussian window of the protocol's kernel size and sigma, K1, K2, explicit data_range 1,
  border convention and colour from the protocol (ffbench.metrics.ssim).
- MSE: mean squared error per frame over H, W and channels.
- LPIPS: the `lpips` package (v0.1, alex default, vgg option). Its linear layers ship inside the
  package; its torchvision backbone is resolved by ffbench.weights and loaded from that file. We
  build `lpips.LPIPS(pretrained=True, net=..., pnet_rand=True)` so torchvision never tries to
  download, then load the backbone state_dict into the LPIPS slices. `random_backbone=True`
  (tests only) keeps a seeded random backbone and marks the model `random_weights = True`.
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import nn
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from .. import protocols
from .ssim import psnr_frames, ssim_frames

__all__ = [
    "VideoPSNR", "VideoSSIM", "VideoMSE", "VideoLPIPS",
    "video_psnr", "video_ssim", "video_mse", "video_lpips",
    "load_lpips", "check_video_pair", "frame_psnr", "frame_ssim", "frame_mse",
]

_DEFAULT = "reconstruction@vimeo90k-septuplet"
_LPIPS_WEIGHTS = {"alex": "lpips_alex_backbone", "vgg": "lpips_vgg_backbone"}


def _protocol(p):
    proto = protocols.get(p) if isinstance(p, str) else p
    if proto.metric != "reconstruction":
        raise ValueError(f"protocol {proto.name} is for {proto.metric}, not reconstruction")
    if proto.reduction != "frame-mean-then-video-mean":
        raise ValueError(f"protocol {proto.name}: unsupported reduction {proto.reduction!r}")
    return proto


# --- input checks ----------------------------------------------------------------------------

def check_video_pair(preds, target) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate and return (preds, target) as float [N,T,H,W,3] in [0,1]; clear errors otherwise."""
    for name, v in (("preds", preds), ("target", target)):
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"{name}: expected a torch tensor, got {type(v).__name__}")
        if not v.is_floating_point():
            raise TypeError(f"{name}: reconstruction metrics take float videos in [0,1], got {v.dtype}; "
                            "convert uint8 videos with ffbench.video.to_float01")
        if v.ndim not in (4, 5) or v.shape[-1] != 3:
            raise ValueError(f"{name}: expected [N,T,H,W,3] or [T,H,W,3], got {list(v.shape)}")
    if preds.shape != target.shape:
        raise ValueError(f"preds and target differ in shape: {list(preds.shape)} vs {list(target.shape)}")
    if preds.numel() == 0:
        raise ValueError(f"empty videos: shape {list(preds.shape)}")
    for name, v in (("preds", preds), ("target", target)):
        if torch.isnan(v).any():
            raise ValueError(f"{name} contains NaN")
        lo, hi = float(v.min()), float(v.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"{name}: values must lie in [0, 1], found [{lo:.4g}, {hi:.4g}]"
                             + (" (looks like 0..255: divide by 255)" if hi > 2.0 else "; clamp them"))
    if preds.ndim == 4:
        preds, target = preds.unsqueeze(0), target.unsqueeze(0)
    return preds, target


def _frames_nchw(v: torch.Tensor) -> torch.Tensor:
    """[N,T,H,W,3] -> [N*T,3,H,W]."""
    n, t, h, w, c = v.shape
    return v.reshape(n * t, h, w, c).permute(0, 3, 1, 2)


# --- per-frame functions (NCHW frames in [0,1] -> [F]) -------------------------------------

def frame_psnr(p: torch.Tensor, t: torch.Tensor, data_range: float = 1.0, proto=None) -> torch.Tensor:
    """PSNR per frame [F] (float64) of NCHW frames; the protocol's colour and identical rule."""
    if proto is None:
        return psnr_frames(p, t, data_range=data_range)
    proto = _protocol(proto)
    return psnr_frames(p, t, data_range=proto.psnr_data_range, identical=proto.psnr_identical,
                       color=proto.color)


def frame_mse(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return (p - t).pow(2).mean(dim=(1, 2, 3))


def frame_ssim(p: torch.Tensor, t: torch.Tensor, proto=_DEFAULT) -> torch.Tensor:
    """SSIM per frame [F] (float64) of NCHW frames under the protocol's convention."""
    proto = _protocol(proto)
    if proto.ssim_kernel != "gaussian":
        raise ValueError(f"unsupported SSIM kernel {proto.ssim_kernel!r}")
    lo, hi = proto.value_range
    return ssim_frames(p, t, kernel_size=proto.ssim_kernel_size, sigma=proto.ssim_sigma,
                       k1=proto.ssim_k1, k2=proto.ssim_k2, data_range=float(hi - lo),
                       border=proto.ssim_border, color=proto.color)


# --- LPIPS model ---------------------------------------------------------------------------

def load_lpips(net: str | None = None, *, weights_path=None, random_backbone: bool = False,
               seed: int = 0, device=None, protocol=_DEFAULT) -> nn.Module:
    """An `lpips.LPIPS` (v0.1) whose backbone comes from a verified local torchvision file.

    The returned module has `random_weights`, `net`, `weights_sha256` attributes.
    """
    import lpips

    proto = _protocol(protocol)
    net = net or proto.lpips_net
    if net not in _LPIPS_WEIGHTS:
        raise ValueError(f"LPIPS net must be one of {sorted(_LPIPS_WEIGHTS)}, got {net!r}")
    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        warnings.simplefilter("ignore")  # torchvision's 'pretrained is deprecated' notices
        torch.manual_seed(seed)
        # pnet_rand=True: torchvision builds the backbone without weights (no download attempt);
        # pretrained=True: the package's own lin layers (lpips/weights/v0.1/<net>.pth).
        model = lpips.LPIPS(pretrained=True, net=net, version=proto.lpips_version, pnet_rand=True,
                            verbose=False)
    digest = None
    if not random_backbone:
        from .. import weights

        name = _LPIPS_WEIGHTS[net]
        file, digest = weights.resolve_verified(name, weights_path)
        _load_backbone(model.net, weights.load_torch_file(file), str(file))
    model.random_weights = random_backbone
    model.net_name = net
    model.weights_sha256 = digest
    model.eval().requires_grad_(False)
    return model.to(device or "cpu")


def _load_backbone(pnet: nn.Module, state: dict, source: str) -> None:
    """Copy torchvision `features.<i>.<param>` tensors into LPIPS slices `slice<k>.<i>.<param>`
    (lpips/pretrained_networks.py keeps torchvision's feature indices as module names)."""
    if not isinstance(state, dict) or not any(k.startswith("features.") for k in state):
        raise ValueError(f"{source}: not a torchvision AlexNet/VGG state_dict (no 'features.*' keys)")
    ours = pnet.state_dict()
    mapped, used = {}, set()
    for key in ours:
        _, idx, param = key.split(".", 2)
        src = f"features.{idx}.{param}"
        if src not in state:
            raise ValueError(f"{source}: missing {src!r} needed by LPIPS")
        if state[src].shape != ours[key].shape:
            raise ValueError(f"{source}: {src} has shape {list(state[src].shape)}, "
                             f"LPIPS needs {list(ours[key].shape)} (wrong network?)")
        mapped[key] = state[src]
        used.add(src)
    unused = sorted(k for k in state if k.startswith("features.") and k not in used)
    if unused:
        raise ValueError(f"{source}: unexpected backbone tensors {unused[:4]} (wrong network?)")
    pnet.load_state_dict(mapped, strict=True)


# --- metrics ---------------------------------------------------------------------------------

class _VideoPairMetric(Metric):
    """Per-frame values -> per-video means (kept) -> mean over videos."""

    is_differentiable = False
    full_state_update = False
    name = "?"

    def __init__(self, protocol=_DEFAULT, frame_batch_size: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.protocol = _protocol(protocol)
        self.frame_batch_size = frame_batch_size
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("n_videos", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("n_frames", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("per_video", default=[], dist_reduce_fx="cat")

    def _per_frame(self, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _video_values(self, preds, target) -> torch.Tensor:
        vals = _frame_values(self._per_frame, preds, target, self.frame_batch_size)
        self._after_frames(vals)
        return vals.mean(dim=1)

    def _after_frames(self, vals: torch.Tensor) -> None:
        pass

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        v = self._video_values(preds, target).to(self.total.device)
        self.total += v.sum()
        self.n_videos += v.numel()
        self.n_frames += preds.shape[-4] * (preds.shape[0] if preds.ndim == 5 else 1)
        self.per_video.append(v)

    def compute(self) -> torch.Tensor:
        if int(self.n_videos) == 0:
            raise RuntimeError(f"{type(self).__name__}.compute() called before any update()")
        return (self.total / self.n_videos).float()

    def per_video_values(self) -> torch.Tensor:
        if isinstance(self.per_video, torch.Tensor):
            return self.per_video
        return dim_zero_cat(self.per_video) if self.per_video else torch.zeros(0, dtype=torch.float64)


class VideoPSNR(_VideoPairMetric):
    """PSNR per frame (data_range and colour from the protocol), mean over frames, then videos.
    Identical frames give +inf under psnr_identical = "inf" (100 under "100-below-1e-10");
    `n_identical` counts the +inf frames (always 0 under the capped rule)."""

    higher_is_better = True
    name = "psnr"

    def __init__(self, protocol=_DEFAULT, **kwargs):
        super().__init__(protocol, **kwargs)
        self.add_state("n_identical", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def _per_frame(self, p, t):
        return frame_psnr(p, t, proto=self.protocol)

    def _after_frames(self, vals):
        self.n_identical += int(torch.isinf(vals).sum())


class VideoSSIM(_VideoPairMetric):
    """SSIM per frame under the protocol's convention (default: valid-window Gaussian 11/1.5,
    K1 .01, K2 .03, data_range 1, RGB), mean over frames, then videos."""

    higher_is_better = True
    name = "ssim"

    def _per_frame(self, p, t):
        return frame_ssim(p, t, self.protocol)


class VideoMSE(_VideoPairMetric):
    """MSE per frame, mean over frames, then videos."""

    higher_is_better = False
    name = "mse"

    def _per_frame(self, p, t):
        return frame_mse(p, t)


class VideoLPIPS(_VideoPairMetric):
    """LPIPS (lpips package, v0.1) per frame, frames batched; mean over frames, then videos."""

    higher_is_better = False
    name = "lpips"

    def __init__(self, protocol=_DEFAULT, net: str | None = None, *, model: nn.Module | None = None,
                 weights_path=None, random_backbone: bool = False, seed: int = 0, device=None,
                 frame_batch_size: int = 16, **kwargs):
        super().__init__(protocol, frame_batch_size=frame_batch_size, **kwargs)
        if model is None:
            model = load_lpips(net, weights_path=weights_path, random_backbone=random_backbone,
                               seed=seed, device=device, protocol=self.protocol)
        self.lpips_model = model
        self.random_weights = bool(getattr(model, "random_weights", False))

    def _per_frame(self, p, t):
        return _lpips_frames(self.lpips_model, p, t)


# --- functional twins ------------------------------------------------------------------------

def _frame_values(per_frame: Callable, preds, target, batch: int) -> torch.Tensor:
    """float64 [N, T]: per_frame(pred frames, target frames) of each frame pair, `batch` frames
    at a time (the one frame loop of the metric classes and their functional twins)."""
    preds, target = check_video_pair(preds, target)
    n, t = preds.shape[:2]
    p, q = _frames_nchw(preds), _frames_nchw(target)
    vals = torch.cat([per_frame(p[i:i + batch], q[i:i + batch]).reshape(-1).double()
                      for i in range(0, p.shape[0], batch)])
    return vals.reshape(n, t)


def _functional(per_frame: Callable, preds, target, reduction: str, batch: int = 64) -> torch.Tensor:
    per_video = _frame_values(per_frame, preds, target, batch).mean(dim=1)
    if reduction == "none":
        return per_video
    if reduction != "mean":
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    return per_video.mean().float()


def video_psnr(preds, target, *, protocol=_DEFAULT, reduction: str = "mean") -> torch.Tensor:
    """Functional VideoPSNR: scalar (reduction="mean") or per-video values [N] ("none")."""
    proto = _protocol(protocol)
    return _functional(lambda p, t: frame_psnr(p, t, proto=proto), preds, target, reduction)


def video_ssim(preds, target, *, protocol=_DEFAULT, reduction: str = "mean") -> torch.Tensor:
    proto = _protocol(protocol)
    return _functional(lambda p, t: frame_ssim(p, t, proto), preds, target, reduction)


def video_mse(preds, target, *, protocol=_DEFAULT, reduction: str = "mean") -> torch.Tensor:
    _protocol(protocol)
    return _functional(frame_mse, preds, target, reduction)


def video_lpips(preds, target, model: nn.Module | None = None, *, net: str | None = None,
                weights_path=None, protocol=_DEFAULT, reduction: str = "mean",
                batch: int = 16) -> torch.Tensor:
    """Functional VideoLPIPS. Pass a `load_lpips(...)` model to avoid rebuilding it per call."""
    model = model or load_lpips(net, weights_path=weights_path, protocol=protocol)
    return _functional(lambda p, t: _lpips_frames(model, p, t), preds, target, reduction, batch)


def _lpips_frames(model: nn.Module, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """LPIPS of frame pairs [F,3,H,W] in [0,1] -> [F] (normalize=True maps to [-1,1])."""
    dev = next(model.parameters()).device
    try:
        with torch.inference_mode():
            out = model(p.to(dev), t.to(dev), normalize=True)
    except RuntimeError as e:
        if "too small" not in str(e):
            raise
        raise ValueError(f"frames of {p.shape[-2]}x{p.shape[-1]} are too small for LPIPS-"
                         f"{getattr(model, 'net_name', '?')} (its backbone pools them away): {e}") from e
    return out.reshape(-1).clone()  # clone outside inference mode: an ordinary tensor
