"""Fréchet Video Distance under a named protocol (ffbench.protocols, metrics.md §1).

The protocol fixes everything that moves the number: the extractor and its weights, the
resize, the clip sampling, the covariance rule (biased / unbiased) and the square-root
method. `FVD` accumulates Σx, Σxxᵀ, N of real and generated features as float64 torchmetrics
states (``dist_reduce_fx="sum"``: DDP ranks merge exactly); real statistics may instead come
from the cache or a reference file (`set_real_stats`).
"""
from __future__ import annotations

import numpy as np
import torch
from torchmetrics import Metric

from .. import protocols as P
from .extractors import FeatureExtractor, build_extractor, check_extractor
from .frechet import frechet_distance
from .stats import GaussianStats, StatsError, _check_features, covariance_from_sums

__all__ = ["FVD", "fvd", "fvd_from_features", "fvd_from_stats", "resolve_protocol", "mark_updated"]


def resolve_protocol(protocol, metric: str):
    p = P.get(protocol) if isinstance(protocol, str) else protocol
    if p.metric != metric:
        raise StatsError(f"protocol {p.name!r} is a {p.metric} protocol, not {metric}")
    return p


def mark_updated(metric: Metric) -> None:
    """What torchmetrics' update() wrapper does (drop the cached compute() result, count the
    update), for the feeding paths that are not `update` (features, probabilities, statistics)."""
    metric._computed = None
    metric._update_count += 1


class FVD(Metric):
    """FVD of generated vs real videos under `protocol`.

    update(videos uint8 [N,T,H,W,3], real: bool): videos with exactly `num_frames` frames are
    used as given clips; longer ones are cut by the protocol's clip rule (`ffbench.clips.ClipSpec`,
    the rule of every entry point; random offsets keyed by `seed` and the video's position in the
    stream). compute() -> float64 scalar tensor.
    The score is the engine's (`fvd_from_stats`, as `ffbench run` computes it).
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = False

    def __init__(self, protocol="fvd@stylegan-v-2048x16", extractor: FeatureExtractor | None = None,
                 weights_path=None, random_seed: int | None = None, method: str | None = None,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.protocol = resolve_protocol(protocol, "fvd")
        if extractor is None:
            extractor = build_extractor(self.protocol.extractor, weights_path, random_seed,
                                        resize=self.protocol.resize,
                                        resolution=self.protocol.resolution)
        check_extractor(extractor, self.protocol)
        self.extractor = extractor
        self.method = method or self.protocol.sqrtm
        self.seed = seed
        self._seen = {"real": 0, "fake": 0}
        self.real_stats: GaussianStats | None = None
        d = extractor.feature_dim
        for role in ("real", "fake"):
            self.add_state(f"{role}_sum", torch.zeros(d, dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{role}_sum_outer", torch.zeros(d, d, dtype=torch.float64),
                           dist_reduce_fx="sum")
            self.add_state(f"{role}_n", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    # --- feeding ---
    def _clips(self, videos: torch.Tensor, real: bool) -> torch.Tensor:
        from ..clips import ClipSpec, ShortVideoError

        p = self.protocol
        if not isinstance(videos, torch.Tensor) or videos.ndim != 5 or videos.shape[1] == p.num_frames:
            return videos  # the extractor validates layout and dtype
        role = "real" if real else "fake"
        spec = ClipSpec.for_protocol(p, role, self.seed)
        clips = []
        for i, v in enumerate(videos):
            key = f"{role}/{self._seen[role]}"
            self._seen[role] += 1
            try:
                clips.append(spec.cut(v, key)[0])
            except ShortVideoError as e:
                raise StatsError(f"video {i} of the batch: {e}; protocol {p.name}") from None
        return torch.stack(clips)

    def update(self, videos: torch.Tensor, real: bool) -> None:
        if real and self.real_stats is not None:
            raise StatsError("real statistics were set from a file; do not also feed real videos")
        self.update_features(self.extractor(self._clips(videos, real)), real)

    def update_features(self, features: torch.Tensor, real: bool) -> None:
        """Accumulate precomputed features [N, D] (float32 cast first, as StyleGAN-V does)."""
        _check_features(features, self.extractor.feature_dim)
        mark_updated(self)
        role = "real" if real else "fake"
        x = features.detach().to(torch.float32).to(self.fake_sum.device, torch.float64)
        setattr(self, f"{role}_sum", getattr(self, f"{role}_sum") + x.sum(0))
        setattr(self, f"{role}_sum_outer", getattr(self, f"{role}_sum_outer") + x.T @ x)
        setattr(self, f"{role}_n", getattr(self, f"{role}_n") + x.shape[0])

    def set_real_stats(self, stats: GaussianStats) -> None:
        """Use cached / imported real statistics instead of real videos."""
        stats.check(self.protocol, self.extractor.feature_dim,
                    stats.meta.get("source") or "real statistics")
        if int(self.real_n.item()) > 0:
            raise StatsError("real videos were already fed; set real statistics before update()")
        self.real_stats = stats
        mark_updated(self)

    # --- results ---
    def _stats(self, role: str) -> GaussianStats:
        if role == "real" and self.real_stats is not None:
            return self.real_stats
        return GaussianStats(getattr(self, f"{role}_sum").cpu().numpy(),
                             getattr(self, f"{role}_sum_outer").cpu().numpy(),
                             int(getattr(self, f"{role}_n").item()))

    def compute(self) -> torch.Tensor:
        real, fake = self._stats("real"), self._stats("fake")
        return torch.tensor(fvd_from_stats(real, fake, self.protocol, self.method), dtype=torch.float64)

    def details(self) -> dict:
        """Everything a stored FVD number must carry (docs/DESIGN.md: protocol hash, N, weights)."""
        value = float(self.compute())
        real = self._stats("real")
        return {"metric": "fvd", "value": value, "protocol": self.protocol.name,
                "protocol_hash": self.protocol.hash, "n_real": real.n,
                "n_fake": int(self.fake_n.item()), "sqrtm": self.method,
                "covariance": self.protocol.covariance,
                "real_stats_source": real.meta.get("source", "videos") if self.real_stats else "videos",
                **self.extractor.describe()}


def fvd_from_stats(real: GaussianStats, fake: GaussianStats, protocol="fvd@stylegan-v-2048x16",
                   method: str | None = None) -> float:
    p = resolve_protocol(protocol, "fvd")
    for role, s in (("real", real), ("fake", fake)):
        if s.n < 2:
            raise StatsError(f"FVD needs at least 2 {role} videos (a covariance of one sample is "
                             f"meaningless), got {s.n}; protocol {p.name} uses "
                             f"{p.num_real if role == 'real' else p.num_fake}")
    mu_r, sig_r = covariance_from_sums(real.sum, real.sum_outer, real.n, p.covariance)
    mu_f, sig_f = covariance_from_sums(fake.sum, fake.sum_outer, fake.n, p.covariance)
    return frechet_distance(mu_f, sig_f, mu_r, sig_r, method=method or p.sqrtm)


def fvd_from_features(real_features, fake_features, protocol="fvd@stylegan-v-2048x16",
                      method: str | None = None) -> float:
    """FVD from features [N, D] (cast to float32 then accumulated in float64, as StyleGAN-V)."""
    def stats(x):
        x = x.detach().cpu().float().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, np.float32)
        if not np.isfinite(x).all():
            raise StatsError("features contain NaN or inf")
        return GaussianStats.from_features(x.astype(np.float64))
    return fvd_from_stats(stats(real_features), stats(fake_features), protocol, method)


def fvd(real_videos: torch.Tensor, fake_videos: torch.Tensor, protocol="fvd@stylegan-v-2048x16",
        extractor: FeatureExtractor | None = None, batch_size: int = 16, **kwargs) -> float:
    """Functional twin of `FVD`: both sets as uint8 [N,T,H,W,3] tensors."""
    metric = FVD(protocol, extractor=extractor, **kwargs)
    for videos, real in ((real_videos, True), (fake_videos, False)):
        for i in range(0, videos.shape[0], batch_size):
            metric.update(videos[i:i + batch_size], real=real)
    return float(metric.compute())
