"""Feature stage: ONE pass per extractor, shared by every metric that needs it.

Why: FVD, IS and CLIPSIM each need a network over every video; several metrics may need the same
network with the same preprocessing (`clipsim@vit-b-32` and `clipsim100@vit-b-32` share CLIP
ViT-B/32; two FVD protocols with the same extractor and resize share I3D) — torch-fidelity style,
features are computed once per *feature key* and kept per sample under
features/<key>/<id>.npy, so metrics can be recomputed (other bootstrap, other real statistics)
without regenerating or re-extracting anything.

Shard invariance: a video extractor always sees batches of exactly `feature_batch_size` clips
(the last batch is padded by repeating its last clip, and the padding rows are dropped), so the
network runs on the same tensor shapes whatever the shard split — the per-sample features are
the same for K = 1, 2, 3. CLIP works per video (its frames, its prompt), which needs no padding.

What is stored:
- video extractors (I3D, C3D): the extractor output [D] float32 for the protocol's fake clip
  (I3D logits / C3D probabilities);
- CLIP: the per-frame cosines [T] float64 between the frame and the prompt embedding (unscaled;
  the protocol's scale is applied at evaluation).
"""
from __future__ import annotations

import importlib
import json
import logging
import traceback
from dataclasses import dataclass, field

import numpy as np

from .. import protocols as P
from ..errors import ConfigError
from .rundir import RunDir, atomic_write_json, atomic_write_npy, crash_point

__all__ = ["FeatureSpec", "feature_specs", "build_extractor_for", "extract_features",
           "fake_clip", "video_features", "extractor_info"]

log = logging.getLogger(__name__)


@dataclass
class FeatureSpec:
    key: str                       # folder name under features/
    kind: str                      # "video" (I3D/C3D) or "clip"
    protocol: object               # a protocol that fixes extractor + preprocessing + clip
    metrics: list = field(default_factory=list)


def _slug(s: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in s.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


def _key(p) -> tuple[str, str]:
    if p.metric == "fvd":
        stride = f"-s{p.frame_stride}" if p.frame_stride != 1 else ""
        return _slug(f"{p.extractor}-{p.resize}{p.resolution}-{p.num_frames}f{stride}-{p.fake_clip}"), "video"
    if p.metric == "is":
        return _slug(f"{p.extractor}-{p.num_frames}f-{p.clip}"), "video"
    if p.metric == "clipsim":
        return _slug(f"clip-{p.backbone}"), "clip"
    raise ConfigError(f"{p.name}: no feature pass for metric {p.metric!r}")


def feature_specs(metrics) -> list[FeatureSpec]:
    """Group metrics by the features they need (one FeatureSpec per distinct pass)."""
    specs: dict[str, FeatureSpec] = {}
    for name in metrics:
        p = P.get(name)
        key, kind = _key(p)
        specs.setdefault(key, FeatureSpec(key, kind, p)).metrics.append(name)
    return list(specs.values())


def _device():
    import os

    import torch

    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
    return torch.device("cpu")


def build_extractor_for(spec: FeatureSpec, config, device=None):
    """The extractor of a feature pass: an [extractors] override, a random one (marked), or
    real weights via ffbench.weights (a missing file raises WeightsMissing; never a fallback)."""
    device = device or _device()
    p = spec.protocol
    name = p.extractor if p.metric in ("fvd", "is") else "clip"
    seed = 0 if config.random_extractors else None
    override = config.extractors.get(name) or config.extractors.get(spec.key)
    if override:
        mod, _, attr = override.partition(":")
        try:
            factory = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"[extractors] {name} = {override!r}: {e}") from None
        return factory(protocol=p, random_seed=seed, device=device)
    if spec.kind == "clip":
        from ..metrics.extractors.clip import CLIPExtractor

        return CLIPExtractor.from_protocol(p, device=device, random_weights=seed is not None,
                                           seed=seed or 0)
    from ..metrics.extractors import build_extractor

    options = {"resize": p.resize, "resolution": p.resolution} if p.metric == "fvd" else {}
    ext = build_extractor(p.extractor, None, seed, **options)
    return ext.to(device) if hasattr(ext, "to") else ext


def extractor_info(ext) -> dict:
    d = dict(ext.describe()) if hasattr(ext, "describe") else {}
    d["random_weights"] = bool(getattr(ext, "random_weights", d.get("random_weights", False)))
    d["weights_sha256"] = getattr(ext, "weights_sha256", None) or d.get("weights_sha256") or ""
    d.setdefault("extractor", getattr(ext, "name", ""))
    return d


def fake_clip(video, p):
    """The protocol's clip of a generated video (uint8 [T,H,W,3]) or raise ValueError."""
    if p.metric == "fvd":
        if p.fake_clip == "first" and video.shape[0] >= p.num_frames * p.frame_stride:
            # the common case without importing torchmetrics (ffbench.metrics.fvd does), which
            # costs seconds per rank; same rule as metrics.fvd.select_clip ("first": frame 0)
            from ..video import consecutive

            return consecutive(video, p.num_frames, 0, p.frame_stride)
        from ..metrics.fvd import select_clip

        clip = select_clip(video, p, "fake")
        if clip is None:
            raise ValueError(f"{video.shape[0]} frames; {p.name} needs {p.num_frames * p.frame_stride}")
        return clip
    if video.shape[0] < p.num_frames:
        raise ValueError(f"{video.shape[0]} frames; {p.name} needs {p.num_frames}")
    return video[:p.num_frames]


def video_features(ext, clips: list, batch_size: int) -> np.ndarray:
    """Features of same-shape clips, always in batches of exactly `batch_size` (padded)."""
    import torch

    out = []
    for i in range(0, len(clips), batch_size):
        part = clips[i:i + batch_size]
        n = len(part)
        part = part + [part[-1]] * (batch_size - n)
        feats = ext(torch.stack(part))
        out.append(feats[:n].detach().float().cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def _clip_cosines(ext, video, prompt: str) -> np.ndarray:
    import torch

    with torch.inference_mode():
        text, _ = ext.encode_texts([prompt])
        img = ext.encode_images(video)
        return (img * text[0]).sum(-1).double().cpu().numpy()


def _load(rd: RunDir, sid: str):
    import torch

    arr = np.load(rd.sample(sid, "npy"), allow_pickle=False)
    return torch.from_numpy(arr)


def extract_features(rd: RunDir, items, spec: FeatureSpec, ext, config, *, progress=True,
                     desc=None) -> dict:
    """Features of `spec` for every generated item that lacks them; failures -> errors/<id>.json."""
    from tqdm import tqdm

    from .generate import check_max_failures, record_failure

    atomic_write_json(rd.root / "features" / f"{spec.key}.json",
                      {"key": spec.key, "metrics": spec.metrics, "protocol": spec.protocol.name,
                       **extractor_info(ext)})
    ready = [it for it in items if rd.is_generated(it.sample_id) and rd.failure(it.sample_id) is None]
    todo = [it for it in ready if not rd.has_feature(spec.key, it.sample_id)]
    counts = {"done": 0, "skipped": len(ready) - len(todo), "failed": 0}
    bar = tqdm(total=len(ready), initial=counts["skipped"], desc=desc or f"features {spec.key}",
               unit="video", disable=not progress, dynamic_ncols=True)

    def fail(it, stage, e):
        record_failure(rd, it.sample_id, stage, f"{spec.key}: {type(e).__name__}: {e}",
                       traceback.format_exc())
        counts["failed"] += 1
        log.warning("%s failed (%s): %s", it.sample_id, stage, e)

    bs = config.feature_batch_size if spec.kind == "video" else 1
    try:
        for start in range(0, len(todo), bs):
            batch = todo[start:start + bs]
            loaded = []
            for it in batch:
                try:
                    loaded.append((it, _load(rd, it.sample_id)))
                except Exception as e:
                    fail(it, "decode", e)
                    bar.update(1)
            if spec.kind == "clip":
                for it, video in loaded:
                    try:
                        atomic_write_npy(rd.feature(spec.key, it.sample_id),
                                         _clip_cosines(ext, video, it.prompt))
                        counts["done"] += 1
                    except Exception as e:
                        fail(it, "extract", e)
                    bar.update(1)
                    crash_point("features")
                continue
            clips = []
            for it, video in loaded:
                try:
                    clips.append((it, fake_clip(video, spec.protocol)))
                except Exception as e:
                    fail(it, "extract", e)
                    bar.update(1)
            groups: dict[tuple, list] = {}
            for it, c in clips:
                groups.setdefault(tuple(c.shape), []).append((it, c))
            for group in groups.values():
                try:
                    feats = video_features(ext, [c for _, c in group], bs)
                    results = list(zip(group, feats))
                except Exception:
                    results = []
                    for it, c in group:  # find the culprit one clip at a time
                        try:
                            results.append(((it, c), video_features(ext, [c], bs)[0]))
                        except Exception as e:
                            fail(it, "extract", e)
                            bar.update(1)
                for (it, _), f in results:
                    atomic_write_npy(rd.feature(spec.key, it.sample_id), f)
                    counts["done"] += 1
                    bar.update(1)
                    crash_point("features")
            if counts["failed"]:
                check_max_failures(rd, config.max_failures)
    finally:
        bar.close()
    return counts


def read_feature_info(rd: RunDir, key: str) -> dict:
    p = rd.root / "features" / f"{key}.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}
