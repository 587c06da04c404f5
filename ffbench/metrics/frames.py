"""Frame-level FID and KID of videos, through clean-fid (protocols ``fid@clean-frames-*``,
``kid@clean-frames-*``).

Three pieces, so a metric-family registry can wire them like the others:

- extractor: ``build_extractor("inception-cleanfid")`` (ffbench.metrics.extractors.cleanfid:
  clean-fid's clean resize and its Inception TorchScript file);
- per video: `video_features(video, extractor, protocol)` -> float32 [n_frames, 2048], the
  protocol's frames (`select_frames`) through the extractor;
- score: `score(real_features, fake_features, protocol)` on the stacked frame features of each
  set -> {"value", "extra"}, computed by clean-fid's own functions:
  FID = ``cleanfid.fid.frechet_distance(μ_fake, Σ_fake, μ_real, Σ_real)`` with the statistics
  ``cleanfid.fid.fid_from_feats`` makes (np.mean, np.cov: float64, unbiased); KID =
  ``cleanfid.fid.kernel_distance(real, fake, num_subsets, max_subset_size)`` on the features as
  given (float32 from the extractor: clean-fid computes its kernels in the features' dtype).

clean-fid draws KID subsets from numpy's *global* random state; we seed it with the protocol's
``kid_seed`` for the call and restore it afterwards, so a value is reproducible and the caller's
random state is untouched. clean-fid's ``frechet_distance`` passes ``disp=False`` to
scipy.linalg.sqrtm, deprecated in SciPy 1.16 and to be removed in 1.18 (its warning is silenced
here).
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from ..errors import FFBenchError
from .extractors import check_extractor
from .kernel import sample_warnings

__all__ = ["FrameMetricError", "select_frames", "video_features", "features_of_videos", "score",
           "frame_fid", "frame_kid", "fid_statistics"]


class FrameMetricError(FFBenchError, ValueError):
    """Videos or features a frame-level FID/KID cannot use."""


def _protocol(protocol, metrics=("fid", "kid")):
    from .. import protocols as P

    p = P.get(protocol) if isinstance(protocol, str) else protocol
    if not isinstance(p, P.FrameProtocol) or p.metric not in metrics:
        raise FrameMetricError(f"protocol {p.name!r} is not a frame-level "
                               f"{'/'.join(metrics)} protocol")
    return p


def select_frames(video: torch.Tensor, protocol, source="<tensor>") -> torch.Tensor:
    """The frames the protocol scores from one video uint8 [T,H,W,3] -> [n,H,W,3].

    "all": every frame. "uniform": n = frames_per_video frames at
    ``torch.linspace(0, T−1, n).long()`` (pytorchvideo UniformTemporalSubsample: truncation,
    first and last frame always included); a video with fewer than n frames is an error
    naming `source`, never silently repeated frames.
    """
    p = _protocol(protocol)
    if not isinstance(video, torch.Tensor) or video.ndim != 4 or video.shape[-1] != 3:
        shape = tuple(video.shape) if hasattr(video, "shape") else type(video).__name__
        raise FrameMetricError(f"{source}: a video must be uint8 [T,H,W,3], got {shape}")
    if video.dtype != torch.uint8:
        raise FrameMetricError(f"{source}: a video must be uint8 in [0, 255], got {video.dtype}")
    t = video.shape[0]
    if t == 0:
        raise FrameMetricError(f"{source}: the video has no frames")
    if p.frames == "all":
        return video
    if p.frames == "uniform":
        n = p.frames_per_video
        if t < n:
            raise FrameMetricError(f"{source}: {t} frames, protocol {p.name} takes {n} per video")
        idx = torch.linspace(0, t - 1, n).long()
        return video[idx]
    raise FrameMetricError(f"protocol {p.name}: unknown frame rule {p.frames!r}")


def video_features(video: torch.Tensor, extractor, protocol, source="<tensor>") -> np.ndarray:
    """float32 [n, 2048]: the protocol's frames of one video through the clean-fid extractor."""
    p = _protocol(protocol)
    check_extractor(extractor, p, FrameMetricError)
    return extractor(select_frames(video, p, source)).numpy()


def features_of_videos(videos, extractor, protocol) -> np.ndarray:
    """Stacked frame features of a batch uint8 [N,T,H,W,3] or a list of [T,H,W,3] videos."""
    rows = [video_features(v, extractor, protocol, source=f"video {i}") for i, v in enumerate(videos)]
    if not rows:
        raise FrameMetricError("no videos")
    return np.concatenate(rows)


def _features(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim != 2:
        raise FrameMetricError(f"{name} frame features must be [N, D], got shape {x.shape}")
    if not np.isfinite(x).all():
        raise FrameMetricError(f"{name} frame features contain NaN or inf")
    if x.shape[0] < 2:
        raise FrameMetricError(f"{name}: at least 2 frames are needed, got {x.shape[0]}")
    return x


def fid_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """μ, Σ as cleanfid.fid.fid_from_feats / compare_folders make them (np.cov, unbiased)."""
    return np.mean(features, axis=0), np.cov(features, rowvar=False)


def _fid(real: np.ndarray, fake: np.ndarray, p) -> float:
    from cleanfid.fid import frechet_distance

    mu_r, sig_r = fid_statistics(real)
    mu_f, sig_f = fid_statistics(fake)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*`disp` argument is deprecated.*")
        return float(frechet_distance(mu_f, sig_f, mu_r, sig_r, eps=p.fid_eps))


def _kid(real: np.ndarray, fake: np.ndarray, p) -> float:
    from cleanfid.fid import kernel_distance

    state = np.random.get_state()
    try:
        np.random.seed(p.kid_seed)
        return float(kernel_distance(real, fake, num_subsets=p.kid_subsets,
                                     max_subset_size=p.kid_subset_size))
    finally:
        np.random.set_state(state)


def score(real_features, fake_features, protocol, n_real_videos: int | None = None,
          n_fake_videos: int | None = None) -> dict:
    """FID or KID (by the protocol's metric) of generated vs real frame features [F, D].

    n_*_videos: how many videos the frames came from, checked against the protocol's N (a
    warning when fewer); without them only the frame counts are reported.
    """
    p = _protocol(protocol)
    real = _features(real_features, "real")
    fake = _features(fake_features, "generated")
    if real.shape[1] != fake.shape[1]:
        raise FrameMetricError(f"feature dimensions differ: {real.shape[1]} vs {fake.shape[1]}")
    value = _fid(real, fake, p) if p.metric == "fid" else _kid(real, fake, p)
    warns = []
    if n_real_videos is not None and n_fake_videos is not None:
        warns = sample_warnings(p.name, n_real_videos, n_fake_videos, p.num_real, p.num_fake, 0,
                                unit="videos")
    warns += sample_warnings(p.name, real.shape[0], fake.shape[0], 0, 0, real.shape[1],
                             unit="frames")
    for w in warns:
        warnings.warn(w, stacklevel=2)
    extra = {"metric": p.metric, "protocol": p.name, "protocol_hash": p.hash,
             "n_real_frames": int(real.shape[0]), "n_fake_frames": int(fake.shape[0]),
             "n_real": n_real_videos, "n_fake": n_fake_videos, "feature_dim": int(real.shape[1]),
             "features_dtype": str(fake.dtype), "warnings": warns}
    if p.metric == "kid":
        extra.update(kid_subsets=p.kid_subsets,
                     kid_subset_size=min(real.shape[0], fake.shape[0], p.kid_subset_size),
                     kid_seed=p.kid_seed)
    return {"value": value, "extra": extra}


def _functional(real_videos, fake_videos, protocol, extractor):
    p = _protocol(protocol)
    real = features_of_videos(real_videos, extractor, p)
    fake = features_of_videos(fake_videos, extractor, p)
    return score(real, fake, p, n_real_videos=len(real_videos), n_fake_videos=len(fake_videos))


def frame_fid(real_videos, fake_videos, extractor, protocol="fid@clean-frames-16") -> dict:
    """Frame FID of two sets of uint8 [T,H,W,3] videos (a batch tensor or a list)."""
    return _functional(real_videos, fake_videos, _protocol(protocol, ("fid",)), extractor)


def frame_kid(real_videos, fake_videos, extractor, protocol="kid@clean-frames-16") -> dict:
    """Frame KID of two sets of uint8 [T,H,W,3] videos (a batch tensor or a list)."""
    return _functional(real_videos, fake_videos, _protocol(protocol, ("kid",)), extractor)
