"""`ffbench verify`: ffbench's numbers against the reference implementations, on this machine.

Random weights exist on ffbench's CI, real ones only at the user's site; this is where the claim
"every metric equals its reference implementation" is checked with the real weights. Each
check runs ffbench and a reference on the same fixed, seeded inputs (`fixed_videos`,
`PROMPTS`, fixed Gaussian features, fixed class probabilities) and compares the two numbers.

A check is data in `CHECKS` (add one with the `@check(...)` decorator): the protocols it covers,
the reference it compares with, the modules that must be importable, the weight files it needs
(real-weights mode), a tolerance, and a function `ctx -> (ours, reference)`. The reference side
is the reference package's own code path (`clip.load` + CLIP's PIL preprocess, `lpips.LPIPS`
loading its backbone through torchvision, scikit-image, pytorch-msssim, clean-fid) or, where
the reference is a repository rather than a package (StyleGAN-V's FVD and IS), its formula
written out directly here with numpy/scipy (shared/reference/metrics.md §1a, §4).

Statuses: ``pass`` (|ours - reference| <= tolerance; relative for Fréchet distances),
``fail``, ``skip`` (reference package not installed, or weights not on this machine: the reason
says what to install or download), ``error`` (the check raised; the reason says why).
With ``random_weights=True`` (`--random-weights`, tests) both sides use the same seeded random
networks: that checks the code paths, not the user's files, and every row says so.
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import weights
from .devices import resolve_device
from .errors import FFBenchError

__all__ = ["Check", "CHECKS", "VerifyContext", "check", "run_checks", "fixed_videos", "PROMPTS"]

PROMPTS = ("a cat playing the piano", "a red car driving through the rain at night")


@dataclass
class VerifyContext:
    """What a check needs: weights mode, device, seed; `resolve(name)` gives a verified path."""

    random_weights: bool = False
    device: str = "cpu"
    seed: int = 0
    cache: dict = field(default_factory=dict)

    def resolve(self, name: str) -> Path:
        return weights.resolve(name)


@dataclass(frozen=True)
class Check:
    name: str
    protocols: tuple[str, ...]
    reference: str
    run: Callable[[VerifyContext], tuple[float, float]]
    tolerance: float
    relative: bool = False  # tolerance on |ours - ref| / |ref|
    modules: tuple[str, ...] = ()  # importable modules the reference needs
    install: str = ""  # what to pip install when one is missing
    weights: tuple[str, ...] = ()  # registry files needed with real weights


CHECKS: list[Check] = []


def check(name, protocols, reference, tolerance, *, relative=False, modules=(), install="", weights=()):
    """Register `fn(ctx) -> (ours, reference)` as a check."""
    def deco(fn):
        CHECKS.append(Check(name, tuple(protocols), reference, fn, tolerance, relative,
                            tuple(modules), install, tuple(weights)))
        return fn
    return deco


# --- fixed inputs ----------------------------------------------------------------------------

def fixed_videos(n: int = 2, t: int = 6, h: int = 72, w: int = 96, seed: int = 0):
    """uint8 [N,T,H,W,3]: smooth content plus noise (resizing and filters matter as on real
    frames), the same on every machine (torch CPU generator)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n * t, 3, h // 8, w // 8, generator=g) * 255
    up = torch.nn.functional.interpolate(base, size=(h, w), mode="bilinear", align_corners=False)
    v = up.reshape(n, t, 3, h, w) + torch.randn(n, t, 3, h, w, generator=g) * 10
    return v.clamp(0, 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).contiguous()


def _video_pair(seed: int = 0):
    """(preds, target) float [N,T,H,W,3] in [0,1]: a target and a noisy reconstruction."""
    import torch

    target = fixed_videos(seed=seed).float() / 255.0
    g = torch.Generator().manual_seed(seed + 1)
    preds = (target + 0.04 * torch.randn(target.shape, generator=g)).clamp(0, 1)
    return preds, target


def _gaussian_stats(d: int = 400, n: int = 1024, seed: int = 1):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, d)) @ (r.standard_normal((d, d)) / np.sqrt(d)) + r.standard_normal(d)
    mu = x.mean(0)
    return mu, x.T @ x / n - np.outer(mu, mu)  # StyleGAN-V's biased covariance


def _class_probs(n: int = 200, classes: int = 101, seed: int = 2) -> np.ndarray:
    logits = np.random.default_rng(seed).standard_normal((n, classes)) * 3
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


# --- CLIPSIM vs the clip package ---------------------------------------------------------------

def _clipsim_check(protocol: str):
    def run(ctx: VerifyContext):
        import torch

        from .metrics.clipsim import clipsim
        from .metrics.extractors.clip import CLIPExtractor, _import_clip
        from .protocols import get

        proto = get(protocol)
        clip = _import_clip()
        ex = CLIPExtractor.from_protocol(protocol, device=ctx.device, random_weights=ctx.random_weights,
                                         seed=ctx.seed)
        videos = fixed_videos()
        ours = float(clipsim(videos, list(PROMPTS), ex, protocol=protocol))
        if ctx.random_weights:
            model = ex.model  # the same seeded tiny CLIP: clip.load cannot build it
        else:  # the reference loads the file itself, as users of the clip package do
            model, _ = clip.load(str(ctx.resolve(proto.weights)), device=ctx.device, jit=False)
        from PIL import Image

        tf = clip.clip._transform(model.visual.input_resolution)
        dev = next(model.parameters()).device
        with torch.no_grad():
            text = model.encode_text(clip.tokenize(list(PROMPTS), truncate=True).to(dev)).float()
            text = text / text.norm(dim=-1, keepdim=True)
            per_video = []
            for v, t in zip(videos, text):
                x = torch.stack([tf(Image.fromarray(f.numpy())) for f in v]).to(dev)
                img = model.encode_image(x).float()
                img = img / img.norm(dim=-1, keepdim=True)
                per_video.append(float((img @ t).mean()))
        return ours, float(np.mean(per_video)) * float(proto.scale)
    return run


for _p, _w in (("clipsim@vit-b-32", "clip_vit_b32"), ("clipsim@vit-b-16", "clip_vit_b16"),
               ("clipsim@vit-l-14", "clip_vit_l14")):
    # 2e-3: our batched tensor bicubic differs from PIL's fixed-point one by <= 2 grey levels
    # on ~0.1 % of pixels (tests/metrics/test_clipsim_preprocess.py)
    check("clipsim vs clip", [_p], "openai clip: clip.load, PIL _transform, per frame", 2e-3,
          modules=["clip"], install="openai-clip", weights=[_w])(_clipsim_check(_p))


# --- reconstruction: PSNR / SSIM / MSE / LPIPS --------------------------------------------------

_RECON = "reconstruction@vimeo90k-septuplet"


def _per_frame_mean(fn, preds, target) -> float:
    """Mean over videos of the mean over frames of fn(pred_frame, target_frame) (HWC float64)."""
    p, t = preds.double().numpy(), target.double().numpy()
    return float(np.mean([np.mean([fn(pf, tf) for pf, tf in zip(pv, tv)]) for pv, tv in zip(p, t)]))


@check("psnr vs scikit-image", [_RECON], "skimage.metrics.peak_signal_noise_ratio (float64)", 1e-4,
       modules=["skimage"], install="scikit-image")
def _psnr_skimage(ctx):
    from skimage.metrics import peak_signal_noise_ratio

    from .metrics.reconstruction import video_psnr

    preds, target = _video_pair(ctx.seed)
    ref = _per_frame_mean(lambda p, t: peak_signal_noise_ratio(t, p, data_range=1.0), preds, target)
    return float(video_psnr(preds, target)), ref


@check("ssim vs scikit-image", [_RECON], "skimage.metrics.structural_similarity (gaussian, sigma 1.5)",
       1e-3, modules=["skimage"], install="scikit-image")
def _ssim_skimage(ctx):
    from skimage.metrics import structural_similarity

    from .metrics.reconstruction import video_ssim

    preds, target = _video_pair(ctx.seed)
    ref = _per_frame_mean(lambda p, t: structural_similarity(
        t, p, data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, K1=0.01, K2=0.03), preds, target)
    return float(video_ssim(preds, target)), ref


@check("ssim vs pytorch-msssim", [_RECON], "pytorch_msssim.ssim (win 11, sigma 1.5)", 1e-3,
       modules=["pytorch_msssim"], install="pytorch-msssim")
def _ssim_msssim(ctx):
    from pytorch_msssim import ssim

    from .metrics.reconstruction import video_ssim

    preds, target = _video_pair(ctx.seed)
    n, t, h, w, c = preds.shape
    p = preds.reshape(n * t, h, w, c).permute(0, 3, 1, 2).double()
    q = target.reshape(n * t, h, w, c).permute(0, 3, 1, 2).double()
    per_frame = ssim(p, q, data_range=1.0, size_average=False, win_size=11, win_sigma=1.5, K=(0.01, 0.03))
    return float(video_ssim(preds, target)), float(per_frame.reshape(n, t).mean(1).mean())


@check("mse vs numpy", [_RECON], "numpy float64 mean of squared differences per frame", 1e-7)
def _mse_numpy(ctx):
    from .metrics.reconstruction import video_mse

    preds, target = _video_pair(ctx.seed)
    return float(video_mse(preds, target)), _per_frame_mean(lambda p, t: np.mean((p - t) ** 2), preds, target)


@contextlib.contextmanager
def _torch_hub_with(file: Path):
    """TORCH_HOME pointing at a temporary hub cache that holds `file` (a symlink), so
    torchvision's own loader finds it there and never downloads."""
    old = os.environ.get("TORCH_HOME")
    with tempfile.TemporaryDirectory(prefix="ffbench-verify-") as tmp:
        ckpt = Path(tmp) / "hub" / "checkpoints"
        ckpt.mkdir(parents=True)
        (ckpt / file.name).symlink_to(file.resolve())
        os.environ["TORCH_HOME"] = tmp
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("TORCH_HOME", None)
            else:
                os.environ["TORCH_HOME"] = old


@check("lpips vs lpips", [_RECON], "lpips.LPIPS(net='alex') (torchvision-loaded backbone), per frame",
       1e-5, modules=["lpips"], install="lpips", weights=["lpips_alex_backbone"])
def _lpips_ref(ctx):
    import torch

    from .metrics.reconstruction import load_lpips, video_lpips

    preds, target = _video_pair(ctx.seed)
    ours_model = load_lpips("alex", random_backbone=ctx.random_weights, seed=ctx.seed, device=ctx.device)
    ours = float(video_lpips(preds, target, ours_model))
    if ctx.random_weights:
        ref_model = ours_model  # same seeded random backbone; the reference is the frame loop
    else:
        import lpips

        file = ctx.resolve("lpips_alex_backbone")
        with _torch_hub_with(file), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref_model = lpips.LPIPS(net="alex", version="0.1", verbose=False).eval().to(ctx.device)
    n, t = preds.shape[:2]
    dev = next(ref_model.parameters()).device
    p = preds.permute(0, 1, 4, 2, 3).to(dev)
    q = target.permute(0, 1, 4, 2, 3).to(dev)
    with torch.no_grad():
        vals = [[float(ref_model(p[i, j:j + 1], q[i, j:j + 1], normalize=True)) for j in range(t)]
                for i in range(n)]
    return ours, float(np.mean([np.mean(v) for v in vals]))


# --- Fréchet distance (FVD's last step) --------------------------------------------------------

_SQRTM_FVD = ("fvd@stylegan-v-2048x16", "fvd@stylegan-v-2048x128", "fvd@cd-fvd-i3d")


@check("frechet vs scipy sqrtm", _SQRTM_FVD,
       "StyleGAN-V compute_fvd formula: real(|mu1-mu2|^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)))", 1e-6,
       relative=True, modules=["scipy"], install="scipy")
def _frechet_scipy(ctx):
    import scipy.linalg

    from .metrics.frechet import frechet_distance

    mu1, s1 = _gaussian_stats(seed=ctx.seed + 1)
    mu2, s2 = _gaussian_stats(seed=ctx.seed + 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = scipy.linalg.sqrtm(s1 @ s2)
    ref = float(np.real(np.square(mu1 - mu2).sum() + np.trace(s1 + s2 - root * 2)))
    return frechet_distance(mu1, s1, mu2, s2), ref


@check("frechet vs clean-fid", _SQRTM_FVD, "cleanfid.fid.frechet_distance", 1e-6,
       relative=True, modules=["cleanfid"], install="clean-fid")
def _frechet_cleanfid(ctx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from cleanfid.fid import frechet_distance as cf

    from .metrics.frechet import frechet_distance

    mu1, s1 = _gaussian_stats(seed=ctx.seed + 1)
    mu2, s2 = _gaussian_stats(seed=ctx.seed + 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = float(cf(mu1, s1, mu2, s2))
    return frechet_distance(mu1, s1, mu2, s2), ref


# --- Inception Score split rules ---------------------------------------------------------------

def _isv_stylegan_v(probs: np.ndarray, splits: int = 10, seed: int = 42) -> float:
    """StyleGAN-V compute_isv written out: float32, RandomState(42) shuffle, 10 splits."""
    p = probs.astype(np.float32)
    np.random.RandomState(seed).shuffle(p)
    n, scores = p.shape[0], []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        kl = part * (np.log(part) - np.log(np.mean(part, axis=0, keepdims=True)))
        scores.append(np.exp(np.mean(np.sum(kl, axis=1))))
    return float(np.mean(scores))


@check("is vs compute_isv", ["is@c3d-ucf101"],
       "StyleGAN-V video_inception_score.compute_isv, written out in numpy", 1e-5, relative=True)
def _is_stylegan_v(ctx):
    from .metrics.inception import inception_score_from_probs

    probs = _class_probs(seed=ctx.seed + 2)
    return inception_score_from_probs(probs, 10, "stylegan-v")[0], _isv_stylegan_v(probs)


# --- running -----------------------------------------------------------------------------------

def known_protocols() -> list[str]:
    return sorted({p for c in CHECKS for p in c.protocols})


def _skip_reason(c: Check, ctx: VerifyContext) -> str | None:
    for m in c.modules:
        if importlib.util.find_spec(m) is None:
            return f"reference package not installed: pip install {c.install or m}"
    if not ctx.random_weights:
        for w in c.weights:
            try:
                ctx.resolve(w)
            except weights.WeightsMissing:
                return f"weights not on this machine: ffbench weights download {w}"
    return None


def run_checks(protocols: list[str] | None = None, *, random_weights: bool = False,
               device: str | None = None, seed: int = 0) -> list[dict]:
    """One row per selected check: check, protocols, reference, ours, reference_value,
    difference, tolerance, relative, status (pass|fail|skip|error), reason, random_weights.
    Unknown protocol names raise FFBenchError listing the known ones."""
    if protocols:
        unknown = sorted(set(protocols) - set(known_protocols()))
        if unknown:
            raise FFBenchError(f"no verify check for protocol(s) {', '.join(unknown)}; "
                               f"known: {', '.join(known_protocols())}")
    if device is None:
        device = resolve_device().type
    ctx = VerifyContext(random_weights=random_weights, device=device, seed=seed)
    rows = []
    for c in CHECKS:
        if protocols and not set(c.protocols) & set(protocols):
            continue
        row = {"check": c.name, "protocols": list(c.protocols), "reference": c.reference,
               "ours": None, "reference_value": None, "difference": None, "tolerance": c.tolerance,
               "relative": c.relative, "status": "skip", "reason": "", "random_weights": random_weights}
        try:
            row["reason"] = _skip_reason(c, ctx) or ""
            if not row["reason"]:
                ours, ref = (float(x) for x in c.run(ctx))
                diff = abs(ours - ref) / (abs(ref) or 1.0) if c.relative else abs(ours - ref)
                ok = math.isfinite(diff) and diff <= c.tolerance
                row.update(ours=ours, reference_value=ref, difference=diff,
                           status="pass" if ok else "fail")
        except Exception as e:  # a check that cannot run is a visible error, never a pass
            row.update(status="error", reason=f"{type(e).__name__}: {e}")
        rows.append(row)
    return rows
