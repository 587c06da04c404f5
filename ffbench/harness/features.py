"""Feature stage: ONE pass per extractor, shared by every metric that needs it.

Why: FVD, IS and CLIPSIM each need a network over every video; several metrics may need the same
network with the same preprocessing (`clipsim@vit-b-32` and `clipsim100@vit-b-32` share CLIP
ViT-B/32; two FVD protocols with the same extractor and resize share I3D) — torch-fidelity style,
features are computed once per *feature key* (ffbench.harness.families) and kept per sample under
features/<key>/<id>.npy, so metrics can be recomputed (other bootstrap, other real statistics)
without regenerating or re-extracting anything.

Shard invariance: a video extractor always sees batches of exactly `feature_batch_size` clips
(`Family.sample_features` pads the last one), so the per-sample features are the same for any
shard split and for every command (`run`, `evaluate`). What a feature file holds is the family's
business (families.py).
"""
from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field


from .families import Family, family, weights_tag
from .rundir import RunDir, atomic_write_json, atomic_write_npy, crash_point, read_json

__all__ = ["FeatureSpec", "feature_specs", "build_extractor_for", "extract_features",
           "extractor_info", "device", "read_feature_info"]

log = logging.getLogger(__name__)


@dataclass
class FeatureSpec:
    key: str                       # folder name under features/
    family: Family
    protocol: object               # a protocol that fixes extractor + preprocessing + clip
    metrics: list = field(default_factory=list)   # Protocol objects sharing this pass

    @property
    def kind(self) -> str:
        return self.family.kind


def feature_specs(protocols) -> list[FeatureSpec]:
    """Group protocols (objects) by the features they need (one FeatureSpec per distinct pass)."""
    specs: dict[str, FeatureSpec] = {}
    for p in protocols:
        fam = family(p)
        key = fam.feature_key(p)
        specs.setdefault(key, FeatureSpec(key, fam, p)).metrics.append(p)
    return list(specs.values())


def device():
    """cuda:<LOCAL_RANK> when CUDA is present, else cpu (device-agnostic runs)."""
    import os

    import torch

    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
    return torch.device("cpu")


def _override(spec: FeatureSpec, config) -> str:
    return config.extractors.get(spec.family.extractor_name(spec.protocol)) or \
        config.extractors.get(spec.key) or ""


def build_extractor_for(spec: FeatureSpec, config, dev=None):
    """The extractor of a feature pass: an [extractors] override, a random one (marked), or
    real weights via ffbench.weights (a missing file raises WeightsMissing; never a fallback)."""
    return spec.family.build_extractor(
        spec.protocol, random_seed=0 if config.random_extractors else None,
        device=dev or config.device or device(),
        override=_override(spec, config),
        weights_path=config.extractor_weights.get(spec.family.extractor_name(spec.protocol)))


def extractor_info(ext, spec: FeatureSpec | None = None, config=None) -> dict:
    """What a stored number carries about its extractor (name, weights sha256, random flag) and
    the tag that keys cached real statistics."""
    d = dict(ext.describe()) if hasattr(ext, "describe") else {}
    d["random_weights"] = bool(getattr(ext, "random_weights", d.get("random_weights", False)))
    d["weights_sha256"] = getattr(ext, "weights_sha256", None) or d.get("weights_sha256") or ""
    d.setdefault("extractor", getattr(ext, "name", ""))
    d["weights_tag"] = weights_tag(d, _override(spec, config) if spec is not None else "")
    return d


def sample_path(rd: RunDir, it):
    """A plan item's video file: its own (a folder evaluated as it is: `ffbench evaluate`), or the
    run's exact .npy."""
    return it.path or rd.sample(it.sample_id, "npy")


def _requests(rd: RunDir, todo, clip_rule):
    """One `ClipRequest` per item: its clip under `clip_rule` (keyed by sample id, as
    `ClipSpec.read` does), or the whole video when the family scores every frame (CLIPSIM)."""
    from ..video.loader import ClipRequest

    if clip_rule is None:
        return [ClipRequest(sample_path(rd, it), 0, None) for it in todo]
    return [ClipRequest(sample_path(rd, it), clip_rule, clip_rule.num_frames, clip_rule.stride,
                        it.sample_id) for it in todo]


def _chunks(loader, todo, size: int):
    """Loaded items in plan order, `size` plan items at a time (failed ones included), so the
    extractor's batches hold the same videos as when each chunk was read in-process."""
    chunk = []
    for item in loader:
        chunk.append((todo[item.index], item))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def extract_features(rd: RunDir, items, spec: FeatureSpec, ext, config, *, progress=True,
                     desc=None) -> dict:
    """Features of `spec` for every generated item that lacks them; failures -> errors/<id>.json.

    Videos are decoded by `config.workers` DataLoader processes (`ffbench.video.ClipLoader`,
    the real side's path too) while the extractor runs, in plan order; a short video fails at
    stage "clip" (the rule's ShortVideoError), an unreadable one at "decode", per sample.
    """
    from ..progress import progress as progress_bar
    from ..video.loader import ClipLoader
    from .generate import check_max_failures, record_failure

    atomic_write_json(rd.root / "features" / f"{spec.key}.json",
                      {"key": spec.key, "metrics": [p.name for p in spec.metrics],
                       "protocol": spec.protocol.name, **extractor_info(ext, spec, config)})
    ready = [it for it in items if rd.is_ready(it) and rd.failure(it.sample_id) is None]
    todo = [it for it in ready if not rd.has_feature(spec.key, it.sample_id)]
    counts = {"done": 0, "skipped": len(ready) - len(todo), "failed": 0}
    bar = progress_bar(total=len(ready), initial=counts["skipped"], desc=desc or f"features {spec.key}",
                       unit="video", quiet=not progress)

    def fail(it, stage, e, tb=None):
        from ..fileio import WriteError

        if isinstance(e, WriteError):  # disk full / read-only: the run stops, the sample is redone
            raise e
        text = e if isinstance(e, str) else f"{type(e).__name__}: {e}"
        record_failure(rd, it.sample_id, stage, f"{spec.key}: {text}",
                       traceback.format_exc() if tb is None else tb)
        counts["failed"] += 1
        log.warning("%s failed (%s): %s", it.sample_id, stage, text)

    bs = config.feature_batch_size if spec.kind == "video" else 1
    clip_rule = spec.family.clip_spec(spec.protocol, "fake")
    loader = ClipLoader(_requests(rd, todo, clip_rule), getattr(config, "workers", None))
    chunks = _chunks(loader, todo, bs)
    try:
        for chunk in chunks:
            loaded = []
            for it, item in chunk:
                failure = loader.failures.get(item.index)
                if failure is None:
                    loaded.append((it, item.clip))
                    continue
                fail(it, "clip" if failure.kind == "short" else "decode", failure.exception,
                     failure.traceback)
                bar.update(1)
            if spec.kind != "video":  # per sample: CLIPSIM (frames + prompt), frame FID/KID
                for it, video in loaded:
                    try:
                        atomic_write_npy(rd.feature(spec.key, it.sample_id),
                                         spec.family.video_features(ext, video, it.prompt))
                        counts["done"] += 1
                    except Exception as e:
                        fail(it, "extract", e)
                    bar.update(1)
                    crash_point("features")
                continue
            groups: dict[tuple, list] = {}
            for it, c in loaded:
                groups.setdefault(tuple(c.shape), []).append((it, c))
            for group in groups.values():
                try:
                    feats = spec.family.sample_features(ext, [c for _, c in group], bs)
                    results = list(zip(group, feats))
                except Exception:
                    results = []
                    for it, c in group:  # find the culprit one clip at a time
                        try:
                            results.append(((it, c), spec.family.sample_features(ext, [c], bs)[0]))
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
        chunks.close()  # stops the decoding workers when a failure limit or crash ends the pass
        bar.close()
    return counts


def read_feature_info(rd: RunDir, key: str) -> dict:
    p = rd.root / "features" / f"{key}.json"
    return read_json(p) if p.is_file() else {}
