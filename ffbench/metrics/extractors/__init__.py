"""Feature extractors by registry name (the names protocols use in their `extractor` field).

    build_extractor("i3d-400", weights_path=None)          # real weights via ffbench.weights
    build_extractor("i3d-400", random_seed=0)              # random weights, marked as such
"""
from __future__ import annotations

from .base import ExtractorError, FeatureExtractor, check_extractor, check_videos

__all__ = ["register", "get_extractor", "build_extractor", "names", "ExtractorError",
           "FeatureExtractor", "check_extractor", "check_videos"]

_REGISTRY: dict[str, type[FeatureExtractor]] = {}
_builtins_loaded = False


def register(cls: type[FeatureExtractor]) -> type[FeatureExtractor]:
    """Class decorator / call: add an extractor class under its `name`."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtin() -> None:
    # a flag, not "registry empty": another module may register its extractor first
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    from .c3d import C3DTGAN2Extractor, C3DTorchScriptExtractor
    from .clip import CLIPExtractor
    from .i3d import I3D400Extractor, I3DTorchScriptExtractor

    # CLIP embeds frames and prompts separately (not one vector per video), so it is not a
    # FeatureExtractor subclass; it has the same from_weights/random constructors.
    for cls in (I3DTorchScriptExtractor, I3D400Extractor, C3DTorchScriptExtractor, C3DTGAN2Extractor,
                CLIPExtractor):
        _REGISTRY.setdefault(cls.name, cls)
    # frame-level (clean-fid Inception: features per frame) and V-JEPA 2 (transformers)
    from .cleanfid import CleanFIDInceptionExtractor
    from .vjepa import VJEPA2Extractor

    for cls in (CleanFIDInceptionExtractor, VJEPA2Extractor):
        _REGISTRY.setdefault(cls.name, cls)


def names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def get_extractor(name: str) -> type[FeatureExtractor]:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ExtractorError(f"unknown extractor {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def build_extractor(name: str, weights_path=None, random_seed: int | None = None,
                    **options) -> FeatureExtractor:
    """Real weights (resolved and verified by ffbench.weights) unless `random_seed` is given.

    Random weights are never a fallback: a missing file raises `WeightsMissing`.
    """
    cls = get_extractor(name)
    if random_seed is not None:
        if weights_path is not None:
            raise ExtractorError("give either weights_path or random_seed, not both")
        return cls.random(int(random_seed), **options)
    return cls.from_weights(weights_path, **options)
