"""CLIP image and text embeddings for CLIPSIM, through OpenAI's `clip` package.

Weights are never downloaded: `CLIPExtractor.load` resolves the file with `ffbench.weights`
(sha256 published by the clip package in its URLs) and hands the local path to
`clip.load(path, device, jit=False)`. `CLIPExtractor.random(seed)` builds a tiny
`clip.model.CLIP` with random weights for tests; it carries `random_weights = True`.

Preprocessing is CLIP's own (openai/CLIP clip/clip.py `_transform`: Resize(224, BICUBIC) of the
short side, CenterCrop(224), ToTensor, Normalize(mean, std); metrics.md §3), bit for bit: Pillow
itself per frame in a small thread pool on CPU, an exact integer emulation of Pillow's resampler
on CUDA, then one batched forward (ffbench.metrics.extractors.clip_preprocess). Pillow's version
is part of the reference, so `describe()` records it with every number.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...devices import resolve_device
from .clip_preprocess import pil_preprocess, pillow_version, resized_size

__all__ = ["CLIPExtractor", "clip_preprocess", "resized_size", "TINY_CONFIG"]

# A tiny ViT CLIP for tests: 224 input like the real models (so preprocessing is identical),
# patch 32, width 64 (1 head), 2 layers; text tower 2 layers wide 64; real vocabulary (the
# tokenizer emits ids up to 49407) and context length 77.
TINY_CONFIG = dict(embed_dim=32, image_resolution=224, vision_layers=2, vision_width=64,
                   vision_patch_size=32, context_length=77, vocab_size=49408,
                   transformer_width=64, transformer_heads=1, transformer_layers=2)

_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # openai/CLIP clip/clip.py _transform
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _import_clip():
    with warnings.catch_warnings():  # clip imports pkg_resources, deprecated in setuptools
        warnings.simplefilter("ignore")
        import clip
    return clip


def clip_preprocess(frames: torch.Tensor, size: int = 224, mean: Sequence[float] = _CLIP_MEAN,
                    std: Sequence[float] = _CLIP_STD, backend: str = "auto") -> torch.Tensor:
    """uint8 [B,H,W,3] -> float32 [B,3,size,size], CLIP-normalised, on the frames' device;
    `torch.equal` to stacking `clip.clip._transform(size)` of each frame as a PIL image.
    backend: "auto" (Pillow threads on CPU, emulation on other devices), "pillow", "emulated"."""
    if not isinstance(frames, torch.Tensor) or frames.dtype != torch.uint8:
        got = frames.dtype if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise TypeError(f"CLIP preprocessing expects uint8 frames [B,H,W,3] (0..255), got {got}; "
                        "convert float videos in [0,1] with ffbench.video.to_uint8")
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames [B,H,W,3], got shape {list(frames.shape)}")
    return pil_preprocess(frames, size, mean, std, backend=backend)


class CLIPExtractor(nn.Module):
    """L2-normalised CLIP embeddings of uint8 frames and of prompts.

    Attributes recorded with every number: `backbone`, `random_weights`, `weights_sha256`.
    Unlike the video extractors (I3D, C3D: one feature per video), CLIP embeds frames and
    prompts separately, so this is an `nn.Module` with `encode_images` / `encode_texts`
    rather than a `FeatureExtractor`; `name`, `from_weights` and `random` follow that interface.
    """

    name = "clip"

    def __init__(self, model: nn.Module, backbone: str, *, random_weights: bool,
                 weights_sha256: str | None = None, weights_path: str | None = None,
                 image_size: int = 224, mean: Sequence[float] = _CLIP_MEAN,
                 std: Sequence[float] = _CLIP_STD, context_length: int = 77,
                 preprocess_backend: str = "auto"):
        super().__init__()
        res = int(model.visual.input_resolution)
        if res != image_size:
            raise ValueError(f"CLIP model takes {res}px images but the protocol says {image_size}")
        self.model = model.eval()
        self.backbone = backbone
        self.random_weights = random_weights
        self.weights_sha256 = weights_sha256
        self.weights_path = weights_path
        self.image_size = image_size
        self.mean, self.std = tuple(mean), tuple(std)
        self.context_length = context_length
        self.preprocess_backend = preprocess_backend
        # per prompt of the last encode_texts call: was it cut to context_length tokens?
        self.last_truncated: list[bool] = []

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def load(cls, protocol="clipsim@vit-b-32", path=None, device=None) -> "CLIPExtractor":
        """Real weights of the protocol's backbone from a verified local file (never downloads)."""
        from ... import protocols, weights

        proto = protocols.get(protocol) if isinstance(protocol, str) else protocol
        file, digest = weights.resolve_verified(proto.weights, path)
        device = resolve_device(device)
        model, _ = _import_clip().load(str(file), device=device, jit=False)
        return cls(model, proto.backbone, random_weights=False, weights_sha256=digest,
                   weights_path=str(file), image_size=proto.image_size,
                   mean=proto.normalize_mean, std=proto.normalize_std,
                   context_length=proto.context_length)

    @classmethod
    def from_weights(cls, path=None, protocol="clipsim@vit-b-32", device=None) -> "CLIPExtractor":
        """Same as `load` with the argument order of the other extractors."""
        return cls.load(protocol, path=path, device=device)

    @classmethod
    def random(cls, seed: int = 0, device=None, protocol=None, **overrides) -> "CLIPExtractor":
        """A tiny `clip.model.CLIP` with random weights (tests, smoke runs); marked random.
        `protocol` is accepted for symmetry with `load`; the tiny model always takes 224 px."""
        clip = _import_clip()
        cfg = {**TINY_CONFIG, **overrides}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = clip.model.CLIP(**cfg)
        model = model.float().to(device or "cpu")
        return cls(model, f"tiny-random-vit (seed {seed})", random_weights=True,
                   weights_sha256=f"random-seed-{seed}",  # as I3D/C3D: never "" (issue 22)
                   image_size=cfg["image_resolution"], context_length=cfg["context_length"])

    @classmethod
    def from_protocol(cls, protocol="clipsim@vit-b-32", *, path=None, device=None,
                      random_weights: bool = False, seed: int = 0) -> "CLIPExtractor":
        if random_weights:
            return cls.random(seed, device=device)
        return cls.load(protocol, path=path, device=device)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # --- images ----------------------------------------------------------------------------

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 [B,H,W,3] -> normalised float [B,3,S,S] on the model's device."""
        return clip_preprocess(frames.to(self.device), self.image_size, self.mean, self.std,
                               backend=self.preprocess_backend)

    @torch.inference_mode()
    def encode_images(self, frames: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """uint8 frames [B,H,W,3] -> unit-norm float32 embeddings [B,D], `batch_size` at a time."""
        out = []
        for i in range(0, frames.shape[0], batch_size):
            x = self.preprocess(frames[i:i + batch_size])
            out.append(F.normalize(self.model.encode_image(x).float(), dim=-1))
        if not out:
            raise ValueError("encode_images got zero frames")
        return torch.cat(out)

    # --- text ------------------------------------------------------------------------------

    def tokenize(self, prompts: Sequence[str]) -> tuple[torch.Tensor, list[bool]]:
        """CLIP token ids [P, context_length] (truncated, EOT kept last) and which prompts were
        cut: `clip.tokenize(truncate=True)` silently drops tokens, so we count them ourselves."""
        clip = _import_clip()
        if isinstance(prompts, str):
            prompts = [prompts]
        for i, p in enumerate(prompts):
            if not isinstance(p, str):
                raise TypeError(f"prompt {i} is {type(p).__name__}, expected str")
        tok = clip.clip._tokenizer  # the package's module-level SimpleTokenizer
        truncated = [len(tok.encode(p)) + 2 > self.context_length for p in prompts]  # + SOT, EOT
        tokens = clip.tokenize(list(prompts), context_length=self.context_length, truncate=True)
        return tokens, truncated

    @torch.inference_mode()
    def encode_texts(self, prompts: Sequence[str], batch_size: int = 256) -> tuple[torch.Tensor, int]:
        """Prompts -> (unit-norm float32 embeddings [P,D], number of truncated prompts); which
        prompts were cut is kept in `last_truncated` (one bool per prompt) for the results."""
        tokens, truncated = self.tokenize(prompts)
        self.last_truncated = list(truncated)
        out = [F.normalize(self.model.encode_text(tokens[i:i + batch_size].to(self.device)).float(), dim=-1)
               for i in range(0, tokens.shape[0], batch_size)]
        return torch.cat(out), sum(truncated)

    def describe(self) -> dict:
        return {"backbone": self.backbone, "random_weights": self.random_weights,
                "weights_sha256": self.weights_sha256, "weights_path": self.weights_path,
                "image_size": self.image_size, "preprocess": self.preprocess_info()}

    def preprocess_info(self) -> dict:
        """How frames were preprocessed: the reference is clip's PIL path, and that moves with
        the Pillow version (its resampler is the reference), so the version is recorded."""
        backend = self.preprocess_backend
        if backend == "auto":
            backend = "pillow" if self.device.type == "cpu" else "emulated"
        return {"reference": "clip.clip._transform (PIL)", "backend": backend,
                "pillow": pillow_version()}

    def extra_repr(self) -> str:
        return f"backbone={self.backbone!r}, random_weights={self.random_weights}"
