"""Metric families: everything the engine needs to know about a metric, in one registry.

A family declares, for a protocol of its metric: the feature pass it needs (`feature_key`,
`build_extractor`), the clip rule of generated and real videos (`ffbench.clips.ClipSpec`), the
per-sample features (`sample_features`), whether it needs real statistics (`needs_real`) and the
score (`score`). The harness (features.py, evaluate.py) loops over families and never asks
"which metric is this"; adding a metric is one family plus protocol entries plus report labels
(docs/DESIGN.md, "One engine").

Per-sample features are what the run directory keeps under features/<key>/<id>.npy:
- fvd, is: the extractor output [D] float32 of the protocol's clip (I3D logits / C3D probs);
- clipsim: per-frame cosines [T] float64 between frame and prompt embeddings (unscaled);
- kvd: the FVD protocol's I3D features (the same files as that FVD: one pass);
- jedi: the pooled V-JEPA feature [D] of the clip; fid / kid: clean-fid Inception features
  [n, 2048] of the protocol's frames.
"""
from __future__ import annotations

import hashlib
import importlib
from dataclasses import replace

import numpy as np

from .. import protocols as P
from ..clips import ClipSpec
from ..errors import ConfigError

__all__ = ["Family", "FAMILIES", "family", "feature_key", "bootstrap_rng", "percentile_ci",
           "weights_tag", "CI_LEVEL", "DEFAULT_RESAMPLES", "default_protocol"]

CI_LEVEL = 0.95


def _slug(s: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in s.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


def bootstrap_rng(seed: int, name: str) -> np.random.Generator:
    """Resampling generator seeded from (run seed, metric): a CI is reproducible."""
    h = hashlib.sha256(f"{seed}\0bootstrap\0{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


def percentile_ci(values) -> tuple[float | None, float | None]:
    """95 % percentile interval of the finite values (None, None when there are none)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return None, None
    a = (1 - CI_LEVEL) / 2
    return float(np.quantile(v, a)), float(np.quantile(v, 1 - a))


def _scored(p, value, extra: dict, n: int, b: int, seed: int, resample, std=None):
    """(row, resampled values): the engine's score row of `value` (and `std`) with the 95 %
    percentile interval of `resample(indices)` over `b` bootstrap draws of `n` generated-sample
    indices with replacement, from `bootstrap_rng(seed, p.name)` (reproducible)."""
    rng = bootstrap_rng(seed, p.name)
    vals = [resample(rng.integers(0, n, n)) for _ in range(b)]
    lo, hi = percentile_ci(vals)
    return {"value": value, "std": std, "ci_low": lo, "ci_high": hi,
            "extra": {**extra, "bootstrap": b}}, vals


def weights_tag(info: dict, override: str = "") -> str:
    """What keys cached real statistics by extractor: its weights sha256, the factory of an
    [extractors] override, and the random-weights seed (random weights never meet real ones)."""
    tag = info.get("weights_sha256") or ""
    if override:
        tag = f"override:{override}:{tag}"
    if info.get("random_weights"):
        tag = f"random:{tag or info.get('extractor', '')}:seed0"
    return tag


class Family:
    """Base: a metric whose features come from one video extractor (FVD, IS)."""

    metric = ""
    description = ""        # one line: `--help` of `ffbench evaluate METRIC`
    default_protocol = ""   # what the shorthand `--metrics METRIC` means
    kind = "video"          # "video": one clip per sample, batched; "text-video": frames + prompt;
                            # "frames": per-sample features of several frames
    needs_real = False
    real_kind = "stats"     # what the real side provides: "stats" (FVD) or "features" (kernels)
    # bootstrap resamples when the config asks for none (`bootstrap = 0`): every number gets a
    # 95 % interval. FVD resamples use the fast exact `eig` square root (7-8x scipy's), so 200
    # cost seconds at 400-d; frame FID works on 2048-d Inception features, so it takes fewer.
    resamples = 200
    # a distance between feature distributions: its estimate is rank-deficient / high-variance
    # with fewer videos than feature dimensions (a warning rides with the number)
    distribution_distance = False

    def feature_key(self, p) -> str:
        raise NotImplementedError

    def extractor_name(self, p) -> str:
        return p.extractor

    def extractor_options(self, p, random_weights: bool) -> dict:
        return {}

    def build_extractor(self, p, *, random_seed: int | None, device, override: str = "",
                        weights_path=None):
        """The protocol's extractor: an override factory, random weights (marked) or real
        weights via ffbench.weights (a missing file raises WeightsMissing; never a fallback)."""
        if override:
            mod, _, attr = override.partition(":")
            try:
                factory = getattr(importlib.import_module(mod), attr)
            except (ImportError, AttributeError) as e:
                raise ConfigError(f"[extractors] {self.extractor_name(p)} = {override!r}: {e}") from None
            return factory(protocol=p, random_seed=random_seed, device=device)
        from ..metrics.extractors import build_extractor

        ext = build_extractor(p.extractor, weights_path, random_seed,
                              **self.extractor_options(p, random_seed is not None))
        return ext.to(device) if hasattr(ext, "to") else ext

    def clip_spec(self, p, role: str = "fake", seed: int = 0) -> ClipSpec:
        return ClipSpec.for_protocol(p, role, seed)

    def sample_features(self, ext, clips: list, batch_size: int) -> np.ndarray:
        """Features [N, D] float32 of same-shape clips, always in batches of exactly
        `batch_size` (the last one padded by repeating its last clip, padding rows dropped), so
        the network sees the same tensor shapes whatever the shard split or command."""
        import torch

        out = []
        for i in range(0, len(clips), batch_size):
            part = clips[i:i + batch_size]
            n = len(part)
            part = part + [part[-1]] * (batch_size - n)
            with torch.inference_mode():
                feats = ext(torch.stack(part))
            out.append(feats[:n].detach().float().cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    def score(self, p, arrays: list, *, real=None, bootstrap: int = 0, seed: int = 0) -> dict:
        raise NotImplementedError

    def sample_notes(self, p, items) -> dict:
        """What the number must carry about its samples (`extra`), from the plan items scored."""
        return {}

    def at_resolution(self, p, resolution: int):
        """`p` with a random stand-in detector of `resolution` px (smoke tests: RunConfig.resolution;
        the hash changes with it). Families whose detector size is not a knob return `p`."""
        return p


class FVDFamily(Family):
    metric = "fvd"
    description = "Fréchet Video Distance (I3D features, Gaussian statistics)"
    default_protocol = "fvd@stylegan-v-2048x16"
    needs_real = True
    distribution_distance = True

    def feature_key(self, p) -> str:
        stride = f"-s{p.frame_stride}" if p.frame_stride != 1 else ""
        return _slug(f"{p.extractor}-{p.resize}{p.resolution}-{p.num_frames}f{stride}-{p.fake_clip}")

    def at_resolution(self, p, resolution: int):
        return replace(p, resolution=resolution)

    def extractor_options(self, p, random_weights: bool) -> dict:
        if p.extractor == "i3d-torchscript":
            # the TorchScript I3D resizes inside the network; a random stand-in may be built
            # smaller for smoke tests (the protocol's resolution then differs, and so its hash)
            return {"stand_in_resolution": p.resolution} if random_weights and p.resolution != 224 else {}
        return {"resize": p.resize, "resolution": p.resolution}

    def score(self, p, arrays, *, real=None, bootstrap=0, seed=0) -> dict:
        from ..metrics.fvd import fvd_from_stats
        from ..metrics.stats import GaussianStats

        if len(arrays) < 2:
            raise ConfigError(f"FVD needs at least 2 generated videos, got {len(arrays)}")
        x = np.stack(arrays).astype(np.float32).astype(np.float64)  # StyleGAN-V casts to float32 first
        if real.dim != x.shape[1]:
            raise ConfigError(f"{p.name}: real statistics are {real.dim}-d, features {x.shape[1]}-d")
        value = fvd_from_stats(real, GaussianStats.from_features(x), p)
        extra = {"n_real": real.n, "real_source": real.meta.get("source", ""), "sqrtm": p.sqrtm,
                 "covariance": p.covariance}
        out, vals = _scored(p, value, extra, len(x), bootstrap or self.resamples, seed,
                            lambda i: fvd_from_stats(real, GaussianStats.from_features(x[i]), p,
                                                     method="eig"))
        out["extra"].update(bootstrap_sqrtm="eig", bootstrap_std=float(np.std(vals)))
        return out


class ISFamily(Family):
    metric = "is"
    description = "Inception Score of videos (C3D class probabilities)"
    default_protocol = "is@c3d-ucf101"

    def feature_key(self, p) -> str:
        return _slug(f"{p.extractor}-{p.num_frames}f-{p.clip}")

    def score(self, p, arrays, *, real=None, bootstrap=0, seed=0) -> dict:
        from ..metrics.inception import inception_score_from_probs, single_video_splits

        if not arrays:
            raise ConfigError("IS needs generated videos, got none")
        probs = np.stack(arrays).astype(np.float64)

        def score(q):
            return inception_score_from_probs(q, p.splits, p.split_rule, p.shuffle_seed, p.eps,
                                              p.samples_per_split or None)

        mean, std = score(probs)
        extra = {"splits": p.splits, "split_rule": p.split_rule}
        if single := single_video_splits(len(probs), p.splits):
            extra["warnings"] = [f"{single} of the {p.splits} splits hold one video, and a split of "
                                 f"one video scores exactly 1: use at least {2 * p.splits} videos"]
        return _scored(p, mean, extra, len(probs), bootstrap or self.resamples, seed,
                       lambda i: score(probs[i])[0], std=std)[0]


class CLIPSIMFamily(Family):
    metric = "clipsim"
    description = "CLIP similarity of each video's frames with its prompt"
    default_protocol = "clipsim@vit-b-32"
    kind = "text-video"
    resamples = 1000

    def feature_key(self, p) -> str:
        return _slug(f"clip-{p.backbone}")

    def extractor_name(self, p) -> str:
        return "clip"

    def build_extractor(self, p, *, random_seed, device, override="", weights_path=None):
        if override:
            return super().build_extractor(p, random_seed=random_seed, device=device, override=override)
        from ..metrics.extractors.clip import CLIPExtractor

        return CLIPExtractor.from_protocol(p, path=weights_path, device=device,
                                           random_weights=random_seed is not None, seed=random_seed or 0)

    def clip_spec(self, p, role="fake", seed=0):
        return None  # every frame

    def video_features(self, ext, video, prompt: str) -> np.ndarray:
        """Per-frame cosines [T] float64 of one video and its prompt (unscaled): the metric's
        own `frame_cosines`, so the CLIPSIM class and the engine agree exactly."""
        from ..metrics.clipsim import frame_cosines

        return frame_cosines(ext, video, prompt)[0].numpy()

    @staticmethod
    def truncated(prompts, context_length: int) -> list[bool]:
        """Which prompts CLIP's tokenizer cuts to `context_length` tokens (SOT and EOT included);
        the tokenizer alone, no network."""
        import clip

        tok = clip.clip._tokenizer
        return [len(tok.encode(t)) + 2 > context_length for t in prompts]

    def sample_notes(self, p, items) -> dict:
        """Prompts CLIP cut to its context are recorded and named with the number."""
        cut = [it.sample_id for it, t in zip(items, self.truncated([it.prompt for it in items],
                                                                   p.context_length)) if t]
        return {"truncated_prompts": len(cut), "truncated_sample_ids": cut[:100]}

    def score(self, p, arrays, *, real=None, bootstrap=0, seed=0) -> dict:
        per = np.asarray([float(np.mean(c)) for c in arrays], dtype=np.float64) * float(p.scale)
        if per.size == 0:
            raise ConfigError(f"{p.name}: no videos")
        b = bootstrap or self.resamples
        rng = bootstrap_rng(seed, p.name)
        lo, hi = percentile_ci(per[rng.integers(0, per.size, (b, per.size))].mean(1))
        return {"value": float(per.mean()), "std": float(per.std()), "ci_low": lo, "ci_high": hi,
                "per_sample": per, "extra": {"scale": p.scale, "bootstrap": b,
                                             "frames": int(sum(len(c) for c in arrays))}}


class KVDFamily(Family):
    """KVD: a polynomial-kernel MMD on the I3D features of its FVD protocol: the same feature
    pass as that FVD (one extractor run serves both), real *features* instead of statistics."""

    metric = "kvd"
    description = "Kernel Video Distance (polynomial MMD on the FVD protocol's I3D features)"
    default_protocol = "kvd@stylegan-v-2048x16"
    needs_real = True
    real_kind = "features"
    distribution_distance = True

    def _fvd(self, p):
        return p.fvd()

    def feature_key(self, p) -> str:
        return FAMILIES["fvd"].feature_key(self._fvd(p))

    def at_resolution(self, p, resolution: int):  # its FVD protocol's detector: one I3D pass
        return replace(p, fvd_resolution=resolution)

    def extractor_name(self, p) -> str:
        return self._fvd(p).extractor

    def build_extractor(self, p, **kw):
        return FAMILIES["fvd"].build_extractor(self._fvd(p), **kw)

    def score(self, p, arrays, *, real=None, bootstrap=0, seed=0) -> dict:
        from ..metrics.kernel import score

        return _kernel_score(score, p, real, np.stack(arrays), bootstrap or self.resamples, seed)


class JEDiFamily(Family):
    """JEDi-style MMD on pooled V-JEPA features of each video's clip."""

    metric = "jedi"
    description = "JEDi-style MMD on V-JEPA features"
    default_protocol = "jedi@vjepa2-vitl-ssv2"
    needs_real = True
    real_kind = "features"
    distribution_distance = True

    def feature_key(self, p) -> str:
        return _slug(f"{p.extractor}-{p.pooling}-{p.num_frames}f-{p.clip}")

    def sample_features(self, ext, clips, batch_size) -> np.ndarray:
        """One clip per forward: a feature does not depend on its batch neighbours."""
        import torch

        from ..metrics.jedi import video_features

        with torch.inference_mode():
            return np.stack([video_features(c, ext, _protocol_of(ext)) for c in clips])

    def build_extractor(self, p, **kw):
        return _with_protocol(Family.build_extractor(self, p, **kw), p)

    def score(self, p, arrays, *, real=None, bootstrap=0, seed=0) -> dict:
        from ..metrics.jedi import score

        return _kernel_score(score, p, real, np.stack(arrays), bootstrap or self.resamples, seed)


class FrameFamily(Family):
    """Frame-level FID / KID through clean-fid: per sample, the features [n, 2048] of the
    protocol's frames (all, or 16 at linspace(0, T-1, 16)); the distance pools every frame."""

    kind = "frames"
    needs_real = True
    real_kind = "features"
    resamples = 10
    distribution_distance = True

    def __init__(self, metric: str):
        self.metric = metric
        self.description = f"frame-level {metric.upper()} through clean-fid"
        self.default_protocol = f"{metric}@clean-frames-16"

    def feature_key(self, p) -> str:
        n = f"{p.frames_per_video}" if p.frames != "all" else ""
        return _slug(f"{p.extractor}-{p.resize}{p.resolution}-frames-{p.frames}{n}")

    def video_features(self, ext, video, prompt: str = "") -> np.ndarray:
        import torch

        from ..metrics.frames import video_features

        with torch.inference_mode():
            return video_features(video, ext, _protocol_of(ext))

    def build_extractor(self, p, **kw):
        return _with_protocol(Family.build_extractor(self, p, **kw), p)

    def score(self, p, arrays, *, real=None, bootstrap=0, seed=0) -> dict:
        from ..metrics.frames import score

        import warnings

        def value(videos):
            return score(real["features"], np.concatenate(videos), p, n_real_videos=real["n_videos"],
                         n_fake_videos=len(videos))["value"]

        def resample(idx):  # resampling unit: the video (its frames stay together)
            videos = [arrays[i] for i in idx]
            if p.metric == "fid":  # in closed form (clean-fid's sqrtm: ~25 s each at 2048-d)
                return frechet_from_features(np.concatenate(videos), real["features"])
            return value(videos)
        with warnings.catch_warnings():  # its N warnings are in extra["warnings"] (engine output)
            warnings.simplefilter("ignore")
            out = score(real["features"], np.concatenate(arrays), p, n_real_videos=real["n_videos"],
                        n_fake_videos=len(arrays))
            extra = {**out.get("extra", {}), "n_real": real["n_videos"]}
            if p.metric == "fid":
                extra["bootstrap_sqrtm"] = "nuclear-norm"
            return _scored(p, out["value"], extra, len(arrays), bootstrap or self.resamples,
                           seed, resample)[0]


def frechet_from_features(x: np.ndarray, y: np.ndarray) -> float:
    """Fréchet distance of N(mean, np.cov) of feature sets x [n, D] and y [m, D], exactly, in
    O(n m D): with A, B the centred features / sqrt(n-1), Σx = AᵀA, Σy = BᵀB, and
    tr sqrt(Σx Σy) is the sum of the singular values of A Bᵀ (the non-zero eigenvalues of
    Σx Σy are those of A Bᵀ B Aᵀ). For n, m far below D (frame FID at 2048-d) this replaces a
    2048² matrix square root by an n x m SVD."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    a = (x - x.mean(0)) / np.sqrt(len(x) - 1)
    b = (y - y.mean(0)) / np.sqrt(len(y) - 1)
    cross = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    diff = x.mean(0) - y.mean(0)
    return float(diff @ diff + (a * a).sum() + (b * b).sum() - 2 * cross)


def _with_protocol(ext, p):
    """Keep the protocol on the extractor: the frame / JEDi feature functions check extractor,
    frames and pooling against it."""
    ext._ffbench_protocol = p
    return ext


def _protocol_of(ext):
    return ext._ffbench_protocol


def _kernel_score(score_fn, p, real, fake, bootstrap, seed) -> dict:
    """A kernel distance with its bootstrap interval over generated videos."""
    import warnings

    with warnings.catch_warnings():  # its N warnings are in extra["warnings"] (engine output)
        warnings.simplefilter("ignore")
        out = score_fn(real["features"], fake, p)
        return _scored(p, out["value"], {**out.get("extra", {}), "n_real": real["n_videos"]},
                       len(fake), bootstrap, seed, lambda i: score_fn(real["features"], fake[i], p)["value"])[0]


FAMILIES: dict[str, Family] = {f.metric: f for f in (
    FVDFamily(), ISFamily(), CLIPSIMFamily(), KVDFamily(), JEDiFamily(), FrameFamily("fid"),
    FrameFamily("kid"))}


# resamples per metric when none are asked for (README, "Confidence intervals")
DEFAULT_RESAMPLES = {m: f.resamples for m, f in FAMILIES.items()}


def default_protocol(metric: str) -> str | None:
    """The protocol a bare metric name (`--metrics fvd,clipsim`) stands for; None if not a family."""
    return FAMILIES[metric].default_protocol if metric in FAMILIES else None


def family(p) -> Family:
    """The family of a protocol (object or name)."""
    p = P.get(p) if isinstance(p, str) else p
    try:
        return FAMILIES[p.metric]
    except KeyError:
        raise ConfigError(f"{p.name}: metric {p.metric!r} has no family in the engine "
                          f"(known: {', '.join(FAMILIES)})") from None


def feature_key(p) -> str:
    return family(p).feature_key(p)
