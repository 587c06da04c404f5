"""Fréchet Video Distance under a named protocol (ffbench.protocols, metrics.md §1).

The protocol fixes everything that moves the number: the extractor and its weights, the
resize, the clip sampling, the covariance rule (biased / unbiased) and the square-root
method. `FVD` accumulates Σx, Σxxᵀ, N of real and generated features as float64 torchmetrics
states (``dist_reduce_fx="sum"``: DDP ranks merge exactly); real statistics may instead come
from the cache or a reference file (`set_real_stats`).
"""
from __future__ import annotations

import hashlib
import random

import numpy as np
import torch
from torchmetrics import Metric

from .. import protocols as P
from .extractors import ExtractorError, FeatureExtractor, build_extractor
from .frechet import frechet_distance
from .stats import GaussianStats, StatsError, _check_features, covariance_from_sums

__all__ = ["FVD", "fvd", "fvd_from_features", "fvd_from_stats", "select_clip", "clip_seed",
           "resolve_protocol", "directory_statistics"]


def resolve_protocol(protocol, metric: str):
    p = P.get(protocol) if isinstance(protocol, str) else protocol
    if p.metric != metric:
        raise StatsError(f"protocol {p.name!r} is a {p.metric} protocol, not {metric}")
    return p


def clip_seed(seed: int, sample_id: str) -> int:
    """Per-sample seed from (run seed, sample id): clips do not depend on order or batching."""
    return int.from_bytes(hashlib.sha256(f"{seed}\0{sample_id}".encode()).digest()[:8], "little")


_clip_seed = clip_seed  # directory_statistics has a parameter of that name


def select_clip(video: torch.Tensor, protocol, role: str, seed: int | None = None,
                source="<tensor>") -> torch.Tensor | None:
    """The clip the protocol scores from one video uint8 [T,H,W,3]; None if it is discarded.

    Rules (metrics.md §1a addendum): StyleGAN-V real clips take n frames every s from a random
    offset in [0, T − n·s + s − 1] and drop videos with fewer than n·s frames; generated
    clips start at frame 0. `seed` drives the offset (use `clip_seed(run_seed, sample_id)`).
    """
    from ..video import central_n, consecutive

    rule = protocol.real_clip if role == "real" else protocol.fake_clip
    n, s = protocol.num_frames, protocol.frame_stride
    t = video.shape[0]
    if protocol.discard_short_videos and t < n * s:
        return None
    if rule == "first":
        return consecutive(video, n, 0, s, source=source)
    if rule == "central":
        span = (n - 1) * s + 1
        return consecutive(video, n, max(0, (t - span) // 2), s, source=source) if s > 1 \
            else central_n(video, n, source=source)
    if rule == "random-offset":
        hi = max(0, t - n * s + s - 1)
        offset = random.Random(0 if seed is None else seed).randint(0, hi)
        return consecutive(video, n, offset, s, source=source)
    raise StatsError(f"protocol {protocol.name}: unknown clip rule {rule!r}")


class FVD(Metric):
    """FVD of generated vs real videos under `protocol`.

    update(videos uint8 [N,T,H,W,3], real: bool): videos with exactly `num_frames` frames are
    used as given clips; longer ones are clipped by the protocol rule (random offsets from a
    generator seeded by `seed`; for order-independent offsets use `select_clip` per sample).
    compute() -> float64 scalar tensor.
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
        if extractor.name != self.protocol.extractor:
            raise ExtractorError(f"protocol {self.protocol.name} uses extractor "
                                 f"{self.protocol.extractor!r}, got {extractor.name!r}")
        self.extractor = extractor
        self.method = method or self.protocol.sqrtm
        self._rng = random.Random(seed)
        self.real_stats: GaussianStats | None = None
        d = extractor.feature_dim
        for role in ("real", "fake"):
            self.add_state(f"{role}_sum", torch.zeros(d, dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{role}_sum_outer", torch.zeros(d, d, dtype=torch.float64),
                           dist_reduce_fx="sum")
            self.add_state(f"{role}_n", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    # --- feeding ---
    def _clips(self, videos: torch.Tensor, real: bool) -> torch.Tensor:
        p = self.protocol
        if not isinstance(videos, torch.Tensor) or videos.ndim != 5 or videos.shape[1] == p.num_frames:
            return videos  # the extractor validates layout and dtype
        clips = []
        for i, v in enumerate(videos):
            c = select_clip(v, p, "real" if real else "fake", seed=self._rng.getrandbits(63),
                            source=f"video {i} of the batch")
            if c is None:
                raise StatsError(f"video {i} of the batch has {v.shape[0]} frames; protocol "
                                 f"{p.name} needs {p.num_frames * p.frame_stride}")
            clips.append(c)
        return torch.stack(clips)

    def update(self, videos: torch.Tensor, real: bool) -> None:
        if real and self.real_stats is not None:
            raise StatsError("real statistics were set from a file; do not also feed real videos")
        self.update_features(self.extractor(self._clips(videos, real)), real)

    def update_features(self, features: torch.Tensor, real: bool) -> None:
        """Accumulate precomputed features [N, D] (float32 cast first, as StyleGAN-V does)."""
        _check_features(features, self.extractor.feature_dim)
        self._mark_updated()
        role = "real" if real else "fake"
        x = features.detach().to(torch.float32).to(self.fake_sum.device, torch.float64)
        setattr(self, f"{role}_sum", getattr(self, f"{role}_sum") + x.sum(0))
        setattr(self, f"{role}_sum_outer", getattr(self, f"{role}_sum_outer") + x.T @ x)
        setattr(self, f"{role}_n", getattr(self, f"{role}_n") + x.shape[0])

    def set_real_stats(self, stats: GaussianStats) -> None:
        """Use cached / imported real statistics instead of real videos."""
        if stats.dim != self.extractor.feature_dim:
            raise StatsError(f"real statistics are {stats.dim}-d, extractor gives "
                             f"{self.extractor.feature_dim}-d")
        ph = stats.meta.get("protocol_hash")
        if ph is not None and ph != self.protocol.hash:
            raise StatsError(f"real statistics were made under protocol "
                             f"{stats.meta.get('protocol')} ({ph[:12]}), not {self.protocol.name} "
                             f"({self.protocol.short_hash}); they are not comparable")
        if int(self.real_n.item()) > 0:
            raise StatsError("real videos were already fed; set real statistics before update()")
        self.real_stats = stats
        self._mark_updated()

    def _mark_updated(self) -> None:
        # update() is wrapped by torchmetrics to drop the cached compute() result; the other
        # feeding paths must do the same
        self._computed = None
        self._update_count += 1

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
        """Everything a stored FVD number must carry (DESIGN.md: protocol hash, N, weights)."""
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


def directory_statistics(directory, protocol, role: str, extractor: FeatureExtractor,
                         limit: int | None = None, batch_size: int = 8, clip_seed: int = 0,
                         progress=None) -> tuple[GaussianStats, dict]:
    """Σx, Σxxᵀ, N of the protocol's clips from the first `limit` usable videos of a directory.

    Files are taken in sorted order ('the first N', StyleGAN-V); videos too short for the
    protocol are skipped when it discards short videos. Only `batch_size` clips are held at a
    time, so memory grows with the batch, not with the number of videos. A real clip's offset
    comes from `clip_seed(clip_seed, file name)`, independent of order and batching.
    """
    from ..video import list_videos, read_video

    p = resolve_protocol(protocol, "fvd")
    paths = list_videos(directory)
    if not paths:
        raise StatsError(f"{directory}: no videos found")
    d = extractor.feature_dim
    s, so, n = np.zeros(d), np.zeros((d, d)), 0
    used, skipped, batch = [], [], []

    def flush():
        nonlocal s, so, n
        if batch:
            x = extractor(torch.stack(batch)).detach().cpu().to(torch.float32).double().numpy()
            s, so, n = s + x.sum(0), so + x.T @ x, n + x.shape[0]
            batch.clear()

    for path in paths:
        if limit is not None and len(used) >= limit:
            break
        clip = select_clip(read_video(path), p, role, seed=_clip_seed(clip_seed, path.name),
                           source=path)
        if clip is None:
            skipped.append(path.name)
            continue
        if batch and (clip.shape != batch[0].shape or len(batch) >= batch_size):
            flush()
        batch.append(clip)
        used.append(path.name)
        if progress is not None:
            progress(len(used))
    flush()
    info = {"directory": str(directory), "videos_listed": len(paths), "videos_used": len(used),
            "videos_skipped_short": len(skipped)}
    return GaussianStats(s, so, n, {"source": "videos", "role": role}), info

