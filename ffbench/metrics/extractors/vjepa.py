"""V-JEPA 2 video features through transformers (`vjepa2`), for the JEDi-style distance.

JEDi (Luo et al., ICLR 2025; oooolga/JEDi) embeds each clip with V-JEPA 1 ViT-H/16 and pools
the tokens with the attentive pooler of its SSv2 probe (1280-d). transformers ships V-JEPA 2
only (``VJEPA2Model`` / ``VJEPA2ForVideoClassification``, since 4.53), so this extractor uses a
V-JEPA 2 checkpoint *folder* with an SSv2 attentive probe — by default
facebook/vjepa2-vitl-fpc16-256-ssv2, registered as ``vjepa2_vitl_ssv2`` in ffbench.weights — and
records that choice in the jedi@ protocols. Everything is loaded from local files
(``from_pretrained(folder, local_files_only=True)``); nothing is downloaded.

Pipeline (whole batch, no loop over frames):
- preprocessing: the folder's own ``VJEPA2VideoProcessor`` (bilinear short side to
  int(crop·256/224), centre crop to crop_size, /255, ImageNet mean/std), so the input equals
  what transformers' documented usage feeds the model;
- encoder: ``model.vjepa2(pixel_values_videos, skip_predictor=True).last_hidden_state``
  [N, tokens, D];
- pooling: "attentive-probe" = ``model.pooler`` (JEDi's default finetuned=True path) or
  "token-mean" = mean over tokens (JEDi's finetuned=False path). Output float32 [N, D].

`random(seed)` builds the same classes from a tiny config (tests, demos), marked
``random_weights``; a missing folder raises WeightsMissing, never a random fallback.
"""
from __future__ import annotations

import contextlib

import torch

from .base import ExtractorError, FeatureExtractor

__all__ = ["VJEPA2Extractor", "tiny_config", "POOLINGS"]

POOLINGS = ("attentive-probe", "token-mean")


def tiny_config(**overrides):
    """A small VJEPA2Config (random-weight tests): 32², 2 layers, 32-d."""
    from transformers import VJEPA2Config

    kw = dict(crop_size=32, frames_per_clip=4, hidden_size=32, num_attention_heads=2,
              num_hidden_layers=2, num_pooler_layers=1, pred_hidden_size=16,
              pred_num_attention_heads=2, pred_num_hidden_layers=1, mlp_ratio=2.0, num_labels=4)
    kw.update(overrides)
    return VJEPA2Config(**kw)


@contextlib.contextmanager
def _quiet_transformers():
    """No progress bars or load reports from transformers while we load (restored after)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if was_enabled:
            hf_logging.enable_progress_bar()


class VJEPA2Extractor(FeatureExtractor):
    """`vjepa2`: uint8 [N,T,H,W,3] -> float32 [N, D] pooled V-JEPA 2 features."""

    name = "vjepa2"
    feature_dim = 1024  # ViT-L; set per instance from the loaded config
    weights = "vjepa2_vitl_ssv2"

    def __init__(self, model, processor, *, pooling: str = "attentive-probe", weights_sha256=None,
                 random_weights=False, device=None, **options):
        super().__init__(weights_sha256=weights_sha256, random_weights=random_weights, device=device)
        options.pop("resize", None)  # the folder's processor resizes
        options.pop("resolution", None)
        if options:
            raise ExtractorError(f"{self.name}: unknown options {sorted(options)}")
        if pooling not in POOLINGS:
            raise ExtractorError(f"{self.name}: unknown pooling {pooling!r}; known: "
                                 f"{', '.join(POOLINGS)}")
        if pooling == "attentive-probe" and not hasattr(model, "pooler"):
            raise ExtractorError(f"{self.name}: the checkpoint has no attentive pooler (a plain "
                                 "VJEPA2Model); use pooling='token-mean' or an SSv2/classifier "
                                 "checkpoint folder")
        self.pooling = pooling
        self.model = model.eval().requires_grad_(False).to(self.device)
        self.processor = processor
        self.feature_dim = int(model.config.hidden_size)
        self.min_frames = int(model.config.tubelet_size)

    @classmethod
    def from_weights(cls, path=None, **options) -> "VJEPA2Extractor":
        """Load a V-JEPA 2 folder (config.json, weights, video processor) via ffbench.weights."""
        from transformers import AutoConfig, VJEPA2ForVideoClassification, VJEPA2Model, \
            VJEPA2VideoProcessor

        from ... import weights as W

        p, digest = W.resolve_verified(cls.weights, path)
        try:
            with _quiet_transformers():
                config = AutoConfig.from_pretrained(p, local_files_only=True)
                if getattr(config, "model_type", None) != "vjepa2":
                    raise ExtractorError(f"{p}: config.json is a {config.model_type!r} model, "
                                         "not vjepa2")
                archs = getattr(config, "architectures", None) or []
                klass = VJEPA2ForVideoClassification if any("Classification" in a for a in archs) \
                    else VJEPA2Model
                model = klass.from_pretrained(p, local_files_only=True)
                processor = VJEPA2VideoProcessor.from_pretrained(p, local_files_only=True)
        except ExtractorError:
            raise
        except Exception as e:  # noqa: BLE001 - a broken folder is a user-facing error
            raise ExtractorError(f"{p}: cannot load as a V-JEPA 2 folder ({type(e).__name__}: "
                                 f"{e})") from e
        return cls(model, processor, weights_sha256=digest, random_weights=False, **options)

    @classmethod
    def random(cls, seed: int = 0, **options) -> "VJEPA2Extractor":
        from transformers import VJEPA2ForVideoClassification, VJEPA2VideoProcessor

        config = options.pop("config", None) or tiny_config()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = VJEPA2ForVideoClassification(config)
        processor = VJEPA2VideoProcessor(crop_size=config.crop_size)
        return cls(model, processor, weights_sha256=f"random-seed-{seed}", random_weights=True,
                   **options)

    def preprocess(self, videos: torch.Tensor) -> torch.Tensor:
        """uint8 [N,T,H,W,3] -> float32 [N,T,3,S,S] by the folder's VJEPA2VideoProcessor."""
        clips = list(videos.permute(0, 1, 4, 2, 3))  # the processor takes [T, C, H, W] videos
        out = self.processor(clips, return_tensors="pt", device=str(self.device))
        return out["pixel_values_videos"].to(self.device)

    def _features(self, videos: torch.Tensor) -> torch.Tensor:
        tubelet = int(self.model.config.tubelet_size)
        if videos.shape[1] % tubelet:
            # the 3D patch embedding (stride = tubelet) would silently drop the last frame
            raise ExtractorError(f"{self.name}: {videos.shape[1]} frames per video is not a "
                                 f"multiple of the tubelet size {tubelet}")
        x = self.preprocess(videos)
        backbone = self.model.vjepa2 if hasattr(self.model, "vjepa2") else self.model
        tokens = backbone(pixel_values_videos=x, skip_predictor=True).last_hidden_state
        if self.pooling == "attentive-probe":
            return self.model.pooler(tokens)
        return tokens.mean(dim=1)

    def describe(self) -> dict:
        return {**super().describe(), "pooling": self.pooling,
                "crop_size": int(self.model.config.crop_size)}
