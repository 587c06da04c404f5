"""JEDi-style distance: polynomial-kernel MMD on V-JEPA features (protocols ``jedi@vjepa2-*``).

JEDi (Luo et al., "Beyond FVD", ICLR 2025; oooolga/JEDi) replaces FVD's Fréchet distance on
I3D logits by a squared MMD with a polynomial kernel on V-JEPA features, and reports that it
reaches its steady value with about 16 % of the samples FVD needs. Its settings, read from
videojedi/JEDi.py and mmd_polynomial.py and recorded in each protocol's
``reference_settings``: ``mmd_poly(train, test, degree=2, gamma=None, coef0=0) * 100`` with
scikit-learn's polynomial kernel (γ = 1/d) and the *biased* estimate (plain means of K_xx,
K_yy, K_xy, diagonals included); features of V-JEPA 1 ViT-H/16 pooled by its SSv2 attentive
probe; 5000 samples per set by default (``load_features(num_samples=5000)``).

Our difference, stated in the protocols: transformers has V-JEPA 2 only, so the features
come from a V-JEPA 2 SSv2-probe folder (`ffbench.metrics.extractors.vjepa`); the numbers are
JEDi-style, not comparable with JEDi's published values. The MMD itself is JEDi's formula
(float64; tests/metrics/test_jedi.py checks it against scikit-learn as JEDi calls it).

Pieces for the metric-family registry:
- extractor: ``build_extractor("vjepa2", pooling=protocol.pooling)``;
- per video: `video_features(video, extractor, protocol)` -> float32 [D] of the protocol's clip
  (the first `num_frames` frames, as FVD's generated clips);
- score: `score(real_features, fake_features, protocol)` -> {"value", "extra"}.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import FFBenchError
from . import kernel
from .extractors import check_extractor

__all__ = ["JEDiError", "select_clip", "video_features", "features_of_videos", "score", "jedi"]


class JEDiError(FFBenchError, ValueError):
    """Videos a JEDi protocol cannot use."""


def _protocol(protocol):
    from .. import protocols as P

    p = P.get(protocol) if isinstance(protocol, str) else protocol
    if not isinstance(p, P.KernelProtocol) or p.metric != "jedi":
        raise JEDiError(f"protocol {p.name!r} is not a jedi protocol")
    return p


def select_clip(video: torch.Tensor, protocol, source="<tensor>") -> torch.Tensor:
    """The protocol's clip of one video uint8 [T,H,W,3]: the first `num_frames` frames."""
    from ..video import central_n, first_n

    p = _protocol(protocol)
    if not isinstance(video, torch.Tensor) or video.ndim != 4 or video.shape[-1] != 3 \
            or video.dtype != torch.uint8:
        what = f"{tuple(video.shape)} {video.dtype}" if isinstance(video, torch.Tensor) \
            else type(video).__name__
        raise JEDiError(f"{source}: a video must be uint8 [T,H,W,3], got {what}")
    if p.clip == "first":
        return first_n(video, p.num_frames, source=source)
    if p.clip == "central":
        return central_n(video, p.num_frames, source=source)
    raise JEDiError(f"protocol {p.name}: unknown clip rule {p.clip!r}")


def _check_extractor(extractor, p) -> None:
    check_extractor(extractor, p, JEDiError)
    if getattr(extractor, "pooling", p.pooling) != p.pooling:
        raise JEDiError(f"protocol {p.name} pools with {p.pooling!r}, the extractor with "
                        f"{extractor.pooling!r}")


def video_features(video: torch.Tensor, extractor, protocol, source="<tensor>") -> np.ndarray:
    """float32 [D]: the pooled V-JEPA feature of the protocol's clip of one video."""
    p = _protocol(protocol)
    _check_extractor(extractor, p)
    return extractor(select_clip(video, p, source)[None])[0].cpu().numpy()


def features_of_videos(videos, extractor, protocol, batch_size: int = 8) -> np.ndarray:
    """float32 [N, D] for a batch uint8 [N,T,H,W,3] or a list of [T,H,W,3] videos."""
    p = _protocol(protocol)
    _check_extractor(extractor, p)
    clips = [select_clip(v, p, source=f"video {i}") for i, v in enumerate(videos)]
    if not clips:
        raise JEDiError("no videos")
    rows = []
    for i in range(0, len(clips), batch_size):
        group = clips[i:i + batch_size]
        if len({tuple(c.shape) for c in group}) == 1:
            rows.append(extractor(torch.stack(group)).cpu().numpy())
        else:
            rows.extend(extractor(c[None]).cpu().numpy() for c in group)
    return np.concatenate(rows)


def score(real_features, fake_features, protocol="jedi@vjepa2-vitl-ssv2") -> dict:
    """JEDi-style value (MMD² × 100) of generated vs real features [N, D], with details."""
    p = _protocol(protocol)
    out = kernel.score(real_features, fake_features, p)
    out["extra"]["reference_settings"] = p.reference_settings
    return out


def jedi(real_videos, fake_videos, extractor, protocol="jedi@vjepa2-vitl-ssv2") -> dict:
    """Functional form on two sets of uint8 videos (a batch tensor or a list)."""
    p = _protocol(protocol)
    return score(features_of_videos(real_videos, extractor, p),
                 features_of_videos(fake_videos, extractor, p), p)
