"""CLIPSIM: text-video alignment as used by T2V papers (metrics.md §3, "CLIPSIM as used in T2V
papers").

For each video: cosine similarity between the CLIP image embedding of every frame and the CLIP
text embedding of its prompt, averaged over frames; the dataset value is the mean over videos
(the GODIVA / NÜWA / Make-A-Video / Video LDM / FusionFrames convention, ViT-B/32 by default,
reported unscaled: papers print about 0.29). The protocol fixes the backbone, preprocessing and
`scale`; `clipsim100@vit-b-32` is the same number times 100.

Not torchmetrics' `CLIPScore`: that one defaults to ViT-L/14 (HF `openai/clip-vit-large-patch14`),
multiplies by 100 and clamps the *mean* at 0 (`max(mean(100 cos), 0)`). We never clamp, so a
negative mean stays negative; compare with CLIPScore only through `clipsim100@vit-b-32` and a
CLIPScore built with `model_name_or_path="openai/clip-vit-base-patch32"`.

Preprocessing is bit-equal to the clip package's PIL path, whose result depends on the Pillow
version (its resampler is the reference): `describe()` records `pillow` with every number.

Per-video scores are kept (`per_video` list state) for the report; `n_truncated` counts prompts
longer than CLIP's 77-token context, which CLIP's tokenizer silently cuts.
"""
from __future__ import annotations


import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from .. import protocols
from .extractors.clip import CLIPExtractor
from .extractors.clip_preprocess import pillow_version

__all__ = ["CLIPSIM", "clipsim", "video_clipsim_scores", "frame_cosines"]


def _as_video_list(videos, where: str = "videos") -> list[torch.Tensor]:
    """uint8 [N,T,H,W,3] tensor or a list of uint8 [T,H,W,3] -> list of [T,H,W,3]."""
    if isinstance(videos, torch.Tensor):
        if videos.ndim == 4:
            raise ValueError(f"{where}: got one video [T,H,W,3]; pass a batch [N,T,H,W,3] or a list")
        if videos.ndim != 5:
            raise ValueError(f"{where}: expected uint8 [N,T,H,W,3], got shape {list(videos.shape)}")
        videos = list(videos.unbind(0))
    elif not isinstance(videos, (list, tuple)):
        raise TypeError(f"{where}: expected a tensor or a list of tensors, got {type(videos).__name__}")
    out = []
    for i, v in enumerate(videos):
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"{where}[{i}]: expected a tensor, got {type(v).__name__}")
        if v.dtype != torch.uint8:
            raise TypeError(f"{where}[{i}]: CLIPSIM takes uint8 frames (0..255), got {v.dtype}; "
                            "convert float videos in [0,1] with ffbench.video.to_uint8")
        if v.ndim != 4 or v.shape[-1] != 3 or v.shape[0] == 0:
            raise ValueError(f"{where}[{i}]: expected [T,H,W,3] with T >= 1, got {list(v.shape)}")
        out.append(v)
    return out


def _as_prompts(prompts, n: int) -> list[str]:
    if isinstance(prompts, str):
        prompts = [prompts]
    prompts = list(prompts)
    if len(prompts) != n:
        raise ValueError(f"got {n} videos but {len(prompts)} prompts; give one prompt per video")
    return prompts


@torch.inference_mode()
def frame_cosines(extractor: CLIPExtractor, video: torch.Tensor, prompt: str,
                  batch_size: int = 64) -> tuple[torch.Tensor, bool]:
    """(cos(CLIP(frame), CLIP(prompt)) per frame [T] float64 on the CPU, unscaled; whether the
    prompt was cut to CLIP's context). The one per-video computation behind `CLIPSIM`, `clipsim`
    and the engine's CLIPSIM family (what `ffbench run` and `evaluate clipsim` store per sample),
    so every entry point gives the same number."""
    text, n_trunc = extractor.encode_texts([prompt])
    img = extractor.encode_images(video, batch_size)
    return (img * text[0]).sum(-1).double().cpu(), bool(n_trunc)


def video_clipsim_scores(extractor: CLIPExtractor, videos, prompts, batch_size: int = 64
                         ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(per-video mean cosine [N] float64, frames per video [N], truncated prompt count), each
    video through `frame_cosines` (so the result does not depend on how videos are batched)."""
    vids = _as_video_list(videos)
    prompts = _as_prompts(prompts, len(vids))
    rows = [frame_cosines(extractor, v, p, batch_size) for v, p in zip(vids, prompts)]
    scores = torch.stack([c.mean() for c, _ in rows])
    n_frames = torch.tensor([v.shape[0] for v in vids], dtype=torch.long)
    return scores, n_frames, sum(t for _, t in rows)


class CLIPSIM(Metric):
    """Mean over videos of the mean over frames of cos(CLIP(frame), CLIP(prompt)) × scale.

    update(videos, prompts): uint8 [N,T,H,W,3] or a list of uint8 [T,H,W,3] (sizes may differ),
    and N prompts. compute() -> scalar tensor. `per_video_scores()` returns the scaled per-video
    values in update order; `n_truncated` counts prompts cut to 77 tokens.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, protocol: str = "clipsim@vit-b-32", extractor: CLIPExtractor | None = None,
                 *, weights_path=None, device=None, random_weights: bool = False, seed: int = 0,
                 batch_size: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.protocol = protocols.get(protocol) if isinstance(protocol, str) else protocol
        if self.protocol.metric != "clipsim":
            raise ValueError(f"protocol {self.protocol.name} is for {self.protocol.metric}, not clipsim")
        if extractor is None:
            extractor = CLIPExtractor.from_protocol(self.protocol, path=weights_path, device=device,
                                                    random_weights=random_weights, seed=seed)
        elif not extractor.random_weights and extractor.backbone != self.protocol.backbone:
            raise ValueError(f"extractor is {extractor.backbone} but protocol {self.protocol.name} "
                             f"needs {self.protocol.backbone}")
        self.extractor = extractor
        self.batch_size = batch_size
        self.scale = float(self.protocol.scale)
        self.add_state("score_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("n_videos", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("n_frames", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("n_truncated", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("per_video", default=[], dist_reduce_fx="cat")

    @property
    def random_weights(self) -> bool:
        return self.extractor.random_weights

    def update(self, videos, prompts) -> None:
        scores, frames, n_trunc = video_clipsim_scores(self.extractor, videos, prompts, self.batch_size)
        # clone: results of inference_mode are inference tensors, states must be ordinary ones
        scores = scores.clone().to(self.score_sum.device) * self.scale
        self.score_sum += scores.sum()
        self.n_videos += scores.numel()
        self.n_frames += int(frames.sum())
        self.n_truncated += n_trunc
        self.per_video.append(scores)

    def compute(self) -> torch.Tensor:
        if int(self.n_videos) == 0:
            raise RuntimeError("CLIPSIM.compute() called before any update()")
        return (self.score_sum / self.n_videos).float()

    def per_video_scores(self) -> torch.Tensor:
        """Scaled per-video scores, float64, in update order (after sync: rank order)."""
        if isinstance(self.per_video, torch.Tensor):
            return self.per_video
        return dim_zero_cat(self.per_video) if self.per_video else torch.zeros(0, dtype=torch.float64)

    def describe(self) -> dict:
        """What to store beside the number (protocol, hash, counts, weights)."""
        return {"metric": "clipsim", "protocol": self.protocol.name, "protocol_hash": self.protocol.hash,
                "scale": self.scale, "num_videos": int(self.n_videos), "num_frames": int(self.n_frames),
                "truncated_prompts": int(self.n_truncated), **self.extractor.describe(),
                "pillow": pillow_version()}


def clipsim(videos, prompts, extractor: CLIPExtractor | None = None, *,
            protocol: str = "clipsim@vit-b-32", weights_path=None, device=None,
            batch_size: int = 64, reduction: str = "mean") -> torch.Tensor:
    """Functional CLIPSIM. reduction="mean" -> scalar; "none" -> per-video scores [N] (float64).

    Without `extractor`, the protocol's real weights are resolved with ffbench.weights (raises
    WeightsMissing when absent; never downloads, never falls back to random weights).
    """
    proto = protocols.get(protocol) if isinstance(protocol, str) else protocol
    if extractor is None:
        extractor = CLIPExtractor.load(proto, path=weights_path, device=device)
    scores, _, _ = video_clipsim_scores(extractor, videos, prompts, batch_size)
    scores = scores * float(proto.scale)
    if reduction == "none":
        return scores
    if reduction != "mean":
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    return scores.mean().float()
