"""Video Inception Score with the C3D UCF-101 classifier (metrics.md §4).

IS = exp(E_x KL(p(y|x) ‖ p(y))), computed per split, then mean and std over splits. The split
rule is the protocol's:

- ``stylegan-v`` (src/metrics/video_inception_score.py): probabilities as float32 (its
  FeatureStats stores float32), shuffled with ``np.random.RandomState(shuffle_seed=42)``, split
  into `splits` parts ``[i·n//splits, (i+1)·n//splits)``, no eps.
- ``tgan2`` (tgan2/evaluations/inception_score.py, scripts/compute_inception_score.py):
  float64, ``p + eps`` (1e-20), no shuffle; the script runs `splits` (10) loops, each drawing
  2048 *fresh* samples scored as one split. So the protocol needs splits × samples_per_split =
  10 × 2048 = 20480 videos (`ISProtocol.videos_needed`), taken as consecutive chunks in order;
  fewer (or more) is a StatsError naming both counts. Scoring 2048 videos cut into 10 splits
  of ~205 instead gives a lower number (measured −2 % to −22 % as the true IS rises).

One deviation: where a probability is exactly 0 the StyleGAN-V expression gives 0·log 0 = NaN;
we use its limit 0 (identical wherever the reference is finite).
"""
from __future__ import annotations

import numpy as np
import torch
from torchmetrics import Metric

from .extractors import FeatureExtractor, build_extractor, check_extractor
from .fvd import mark_updated, resolve_protocol
from .stats import StatsError

__all__ = ["InceptionScore", "inception_score", "inception_score_from_probs", "min_videos",
           "single_video_splits"]


def _split_scores(p: np.ndarray, splits: int) -> np.ndarray:
    n = p.shape[0]
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        log_marginal = np.log(np.mean(part, axis=0, keepdims=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - log_marginal), 0)
        scores.append(np.exp(np.mean(np.sum(kl, axis=1))))
    return np.asarray(scores)


def min_videos(splits: int) -> int:
    """Fewest videos a `splits`-split IS can score: one more than the splits, because a split of
    one video has marginal = its own prediction, KL 0 and score exactly 1 (with `splits` videos
    the IS is 1 by construction); 2 for a single split."""
    return max(2, splits + 1) if splits > 1 else 2


def single_video_splits(n: int, splits: int) -> int:
    """How many of the splits of `n` videos (StyleGAN-V's contiguous split) hold one video."""
    return sum((i + 1) * n // splits - i * n // splits == 1 for i in range(splits))


def inception_score_from_probs(probs, splits: int = 10, split_rule: str = "stylegan-v",
                               shuffle_seed: int = 42, eps: float = 0.0,
                               samples_per_split: int | None = None) -> tuple[float, float]:
    """(mean, std) over splits of class probabilities [N, C] (rows sum to 1).

    split_rule "tgan2" needs `samples_per_split` (TGAN2: 2048) and exactly
    splits × samples_per_split rows (10 × 2048 = 20480): each split is one loop of the script.
    """
    if isinstance(probs, torch.Tensor):
        probs = probs.detach().cpu().double().numpy()
    probs = np.asarray(probs)
    if probs.ndim != 2:
        raise StatsError(f"probabilities must be [N, classes], got shape {probs.shape}")
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise StatsError("probabilities contain NaN, inf or negative values")
    n = probs.shape[0]
    if split_rule == "tgan2":
        if not samples_per_split:
            raise StatsError("the tgan2 split rule scores `splits` loops of fresh samples: pass "
                             "samples_per_split (TGAN2: 2048) and splits x samples_per_split "
                             "probability rows (is@c3d-ucf101-tgan2: 10 x 2048 = 20480)")
        if n != splits * samples_per_split:
            raise StatsError(f"the tgan2 split rule scores {splits} loops of {samples_per_split} "
                             f"fresh samples: it needs exactly {splits * samples_per_split} videos "
                             f"(probability rows), got {n}")
    elif samples_per_split:
        raise StatsError(f"samples_per_split applies to the tgan2 split rule, not {split_rule!r}")
    if n < min_videos(splits):
        raise StatsError(f"Inception Score with {splits} splits needs at least {min_videos(splits)} "
                         f"videos, got {n}" + (" (with one video per split every split scores "
                                               "exactly 1, whatever the videos)" if n == splits else ""))
    if split_rule == "stylegan-v":
        p = probs.astype(np.float32)  # copy; the shuffle is in place
        np.random.RandomState(shuffle_seed).shuffle(p)
        if eps:
            p = p + np.float32(eps)
    elif split_rule == "tgan2":
        p = probs.astype(np.float64) + eps
    else:
        raise StatsError(f"unknown split rule {split_rule!r}; known: stylegan-v, tgan2")
    scores = _split_scores(p, splits)
    return float(np.mean(scores)), float(np.std(scores))


class InceptionScore(Metric):
    """IS under an `is@...` protocol; update(videos uint8 [N,T,H,W,3]); compute() -> (mean, std).

    Videos longer than the protocol's frames are clipped by its rule ("first" 16 frames).
    Probabilities are kept (state ``dist_reduce_fx="cat"``) because splits need all of them;
    order matters for the split rule, so feed videos in the dataset order.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = True

    def __init__(self, protocol="is@c3d-ucf101", extractor: FeatureExtractor | None = None,
                 weights_path=None, random_seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.protocol = resolve_protocol(protocol, "is")
        if extractor is None:
            extractor = build_extractor(self.protocol.extractor, weights_path, random_seed)
        check_extractor(extractor, self.protocol)
        self.extractor = extractor
        self.add_state("probs", [], dist_reduce_fx="cat")

    def update(self, videos: torch.Tensor) -> None:
        p = self.protocol
        if isinstance(videos, torch.Tensor) and videos.ndim == 5 and videos.shape[1] > p.num_frames:
            if p.clip != "first":
                raise StatsError(f"protocol {p.name}: unknown clip rule {p.clip!r}")
            videos = videos[:, :p.num_frames]
        self.update_probs(self.extractor(videos))

    def update_probs(self, probs: torch.Tensor) -> None:
        if probs.ndim != 2 or probs.shape[1] != self.extractor.feature_dim:
            raise StatsError(f"probabilities must be [N, {self.extractor.feature_dim}], "
                             f"got {tuple(probs.shape)}")
        mark_updated(self)
        self.probs.append(probs.detach().to(torch.float64))

    def compute(self) -> tuple[torch.Tensor, torch.Tensor]:
        probs = self.probs if isinstance(self.probs, torch.Tensor) else (
            torch.cat(self.probs) if self.probs else torch.zeros(0, self.extractor.feature_dim))
        p = self.protocol
        mean, std = inception_score_from_probs(probs, p.splits, p.split_rule, p.shuffle_seed, p.eps,
                                               p.samples_per_split or None)
        return torch.tensor(mean, dtype=torch.float64), torch.tensor(std, dtype=torch.float64)

    def details(self) -> dict:
        mean, std = self.compute()
        n = sum(x.shape[0] for x in self.probs) if isinstance(self.probs, list) else self.probs.shape[0]
        return {"metric": "is", "value": float(mean), "std": float(std),
                "protocol": self.protocol.name, "protocol_hash": self.protocol.hash,
                "n_fake": int(n), "splits": self.protocol.splits,
                "samples_per_split": self.protocol.samples_per_split or None,
                "precision": self.protocol.precision,
                "split_rule": self.protocol.split_rule, **self.extractor.describe()}


def inception_score(videos: torch.Tensor, protocol="is@c3d-ucf101",
                    extractor: FeatureExtractor | None = None, batch_size: int = 16,
                    **kwargs) -> tuple[float, float]:
    """Functional twin of `InceptionScore` for a uint8 [N,T,H,W,3] tensor."""
    metric = InceptionScore(protocol, extractor=extractor, **kwargs)
    for i in range(0, videos.shape[0], batch_size):
        metric.update(videos[i:i + batch_size])
    mean, std = metric.compute()
    return float(mean), float(std)
