"""FusionFrames' text conditioning: Flan-UL2 encoder, projection, null embedding.

Facts (shared/reference/kandinsky_video.md §1, §2, §7; reference code KandinskyVideo branch
kandinsky_video_1_0, ``condition_processors.py``, ``condition_encoders.py``, ``t2v_pipeline.py``):

- prompts are tokenised to 128 tokens (truncated, EOS kept, padded with the pad id);
- the T5 encoder of Flan-UL2 (4096-d) runs in fp16 on GPU; a sample whose output holds inf/nan
  is zeroed, and a sample whose output is all zeros gets an all-zero mask;
- ``projections.t5`` = Linear(4096, 4096, bias=False) + LayerNorm(4096), weights stored in the
  keyframe checkpoint under ``projections``; masked positions are set to zero afterwards;
- the context is cut to (longest mask in the batch) + 1 positions;
- the unconditional context is zeros of the same shape with position 0 = the checkpoint's
  ``null_embedding`` and a mask on position 0 only, unless a negative prompt is given: then the
  negative prompt's tokens are cut to the positive prompt's token count (last token set to EOS),
  and it is encoded with the *positive* prompt's mask.

The context length matters beyond attention masking: the UNet's AttentionPolling averages the
context over all its positions, padding included. One prompt encoded alone gives exactly the
reference's context; a batch pads every prompt to the longest one (+1), which changes the
pooled vector of the shorter prompts. Encode one prompt at a time where results must not depend
on the batch (``encode_each``).

The projection runs in float32 (the reference casts the encoder output to float32 first).
"""
from __future__ import annotations

import contextlib
import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError

__all__ = ["TOKENS_LENGTH", "FLAN_UL2_DIM", "CONTEXT_DIM", "Conditioning", "TextEncoder", "tiny_tokenizer",
           "checked_null_embedding", "null_context"]

log = logging.getLogger(__name__)

TOKENS_LENGTH = 128  # get_T5encoder: tokens_length = {'t5': 128}
FLAN_UL2_DIM = 4096  # model_dims = {'t5': 4096}
CONTEXT_DIM = 4096  # context_dim = 4096

_TINY_WORDS = (
    "a an the of in on at with and to is are his her their man woman person people child boy girl "
    "dog cat horse bird fish car bike ball guitar piano drum video playing riding running walking "
    "jumping swimming dancing eating cooking throwing kicking red blue green white black small big "
    "sunset beach city street forest mountain river snow water sky field room over under slowly"
).split()


def tiny_tokenizer():
    """A deterministic, offline T5-style tokenizer (Unigram over a fixed word/character list).

    Same conventions as T5's: pad 0, EOS 1, unk 2, "▁" word prefix, EOS appended. Built with the
    ``tokenizers`` library so it works without any file or download.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    vocab += [("\u2581" + w, -3.0) for w in _TINY_WORDS]
    chars = string.ascii_letters + string.digits + string.punctuation
    vocab += [(c, -8.0) for c in chars]
    vocab += [("\u2581" + c, -8.5) for c in chars]
    tok = Tokenizer(models.Unigram(vocab, unk_id=2))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(" {2,}", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=512)


@dataclass
class Conditioning:
    """Conditional and unconditional contexts of a batch of prompts (same shapes)."""

    context: torch.Tensor  # [B, L, D] float32
    mask: torch.Tensor  # [B, L] bool
    uncond_context: torch.Tensor  # [B, L, D]
    uncond_mask: torch.Tensor  # [B, L] bool
    truncated: list[bool]  # per prompt: did it exceed 128 tokens?


def _as_prompts(prompts, what: str = "prompts") -> list[str]:
    if isinstance(prompts, str):
        prompts = [prompts]
    prompts = list(prompts)
    if not prompts:
        raise ConfigError(f"{what}: empty list")
    bad = [type(p).__name__ for p in prompts if not isinstance(p, str)]
    if bad:
        raise ConfigError(f"{what} must be strings, got {bad[0]}")
    return prompts


def _default_encoder_dtype(device) -> torch.dtype:
    # the reference runs the encoder in fp16 (T5TextConditionEncoder: .half()); CPUs keep fp32
    return torch.float16 if torch.device(device).type == "cuda" else torch.float32


@contextlib.contextmanager
def _seeded(seed: int):
    """torch's CPU RNG seeded inside, restored on exit (leaves the caller's stream alone)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def checked_null_embedding(null_embedding, context_dim: int) -> torch.Tensor:
    """The text-free context vector [context_dim] of a checkpoint, shape-checked."""
    null_embedding = torch.as_tensor(null_embedding)
    if tuple(null_embedding.shape) != (context_dim,):
        raise ConfigError(f"null_embedding has shape {tuple(null_embedding.shape)}, "
                          f"expected ({context_dim},)")
    return null_embedding


def null_context(null_embedding: torch.Tensor, batch: int, length: int, device, dtype):
    """The reference's text-free (context [batch, length, D], mask [batch, length]): zeros with
    position 0 = the null embedding, mask True on position 0 only. The keyframe model's
    unconditional branch and every interpolation pass (ours and MFI) use it."""
    ctx = torch.zeros(batch, length, null_embedding.shape[0], device=device, dtype=dtype)
    ctx[:, 0] = null_embedding.to(device, dtype)
    mask = torch.zeros(batch, length, dtype=torch.bool, device=device)
    mask[:, 0] = True
    return ctx, mask


class TextEncoder(nn.Module):
    """Prompt → (context [B, L, D], mask [B, L]) as the FusionFrames keyframe UNet expects.

    Build with ``from_pretrained`` (Flan-UL2 from a local folder; projections and null
    embedding from the keyframe checkpoint) or ``tiny(seed)`` (random weights, for tests).
    Keys: ``projections.t5.{0.weight,1.weight,1.bias}``, ``null_embedding``, ``encoder.*``.
    """

    def __init__(self, encoder: nn.Module, tokenizer, *, context_dim: int = CONTEXT_DIM,
                 tokens_length: int = TOKENS_LENGTH, random_weights: bool = False):
        super().__init__()
        d_model = encoder.config.d_model
        self.encoder = encoder.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.tokens_length = tokens_length
        self.context_dim = context_dim
        self.projections = nn.ModuleDict({
            "t5": nn.Sequential(nn.Linear(d_model, context_dim, bias=False), nn.LayerNorm(context_dim)),
        })
        self.projections.requires_grad_(False)
        self.register_buffer("null_embedding", torch.zeros(context_dim))
        self.random_weights = random_weights
        self._projections_loaded = random_weights
        self._null_embedding_loaded = random_weights
        self.prompts_seen = 0
        self.prompts_truncated = 0

    def train(self, mode: bool = True) -> "TextEncoder":
        # inference only: the encoder's dropout (0.1 in Flan-UL2's config) must never switch on
        return super().train(False)

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, path=None, *, device=None, encoder_dtype: torch.dtype | None = None,
                        projections: Mapping[str, torch.Tensor] | None = None,
                        null_embedding: torch.Tensor | None = None, context_dim: int = CONTEXT_DIM,
                        verify_digest: bool = True) -> "TextEncoder":
        """Flan-UL2 encoder + tokenizer from a local folder (``weights.resolve('flan_ul2_encoder')``).

        Never downloads. ``encoder_dtype`` defaults to fp16 on CUDA and fp32 elsewhere.
        Projections and null embedding come from the keyframe checkpoint: pass them here or call
        ``load_conditioning`` / ``load_keyframe_checkpoint``; encoding refuses to run without them.
        """
        from transformers import AutoTokenizer, T5EncoderModel

        from ..weights import WeightsMissing, resolve

        folder = resolve("flan_ul2_encoder", path, verify_digest=verify_digest)
        device = torch.device(device) if device is not None else torch.device("cpu")
        dtype = encoder_dtype or _default_encoder_dtype(device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            encoder = T5EncoderModel.from_pretrained(str(folder), local_files_only=True,
                                                     **_dtype_kwarg(dtype))
        except (OSError, ValueError) as e:
            raise WeightsMissing(
                f"the Flan-UL2 folder {folder} is incomplete or unreadable ({e}); it needs "
                "config.json, the tokenizer files and the weight shards of "
                "https://huggingface.co/google/flan-ul2") from e
        te = cls(encoder, tokenizer, context_dim=context_dim)
        if projections is not None:
            te.load_projections(projections)
        if null_embedding is not None:
            te.set_null_embedding(null_embedding)
        te.projections.float()
        return te.to(device)

    @classmethod
    def tiny(cls, seed: int = 0, *, context_dim: int = 32, d_model: int = 32, num_layers: int = 2,
             num_heads: int = 2, device=None) -> "TextEncoder":
        """A tiny T5 encoder with seeded random weights and the offline ``tiny_tokenizer``."""
        from transformers import T5Config, T5EncoderModel

        tokenizer = tiny_tokenizer()
        config = T5Config(
            vocab_size=len(tokenizer), d_model=d_model, d_kv=d_model // num_heads, d_ff=2 * d_model,
            num_layers=num_layers, num_heads=num_heads, relative_attention_num_buckets=8,
            relative_attention_max_distance=32, feed_forward_proj="gated-gelu", dropout_rate=0.0,
            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, use_cache=False,
        )
        with _seeded(seed):
            encoder = T5EncoderModel(config)
            te = cls(encoder, tokenizer, context_dim=context_dim, random_weights=True)
            te.null_embedding.normal_()
            nn.init.normal_(te.projections["t5"][0].weight, std=d_model ** -0.5)
        return te.to(device) if device is not None else te

    # --- weights from the keyframe checkpoint ----------------------------------------------

    def load_projections(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load ``projections`` of the keyframe checkpoint (keys t5.0.weight, t5.1.weight, t5.1.bias)."""
        self.projections.load_state_dict(dict(state_dict), strict=True)
        self._projections_loaded = True

    def set_null_embedding(self, value: torch.Tensor) -> None:
        value = checked_null_embedding(value, self.context_dim)
        self.null_embedding.copy_(value.to(self.null_embedding))
        self._null_embedding_loaded = True

    def load_conditioning(self, checkpoint: Mapping) -> None:
        """Take ``projections`` and ``null_embedding`` from a keyframe checkpoint dict."""
        missing = [k for k in ("projections", "null_embedding") if k not in checkpoint]
        if missing:
            raise ConfigError(f"keyframe checkpoint lacks {missing}; it has {sorted(checkpoint)}")
        self.load_projections(checkpoint["projections"])
        self.set_null_embedding(checkpoint["null_embedding"])

    def load_keyframe_checkpoint(self, path=None, verify_digest: bool = True) -> None:
        """Read projections and null embedding from the official keyframe file (memory-mapped)."""
        from ..weights import load_torch_file, resolve

        file = resolve("fusionframes_keyframe", path, verify_digest=verify_digest)
        ckpt = load_torch_file(Path(file))
        self.load_conditioning(ckpt)

    def _require_loaded(self, null: bool = False) -> None:
        if not self._projections_loaded:
            raise ConfigError("text projections not loaded: call load_conditioning() with the keyframe "
                              "checkpoint (its 'projections' entry) before encoding")
        if null and not self._null_embedding_loaded:
            raise ConfigError("null embedding not loaded: call load_conditioning() with the keyframe "
                              "checkpoint (its 'null_embedding' entry)")

    # --- tokenisation -----------------------------------------------------------------------

    def _token_ids(self, prompts: list[str]) -> list[list[int]]:
        """Token ids with EOS, truncated to ``tokens_length`` (EOS kept), unpadded."""
        return self.tokenizer(prompts, max_length=self.tokens_length, truncation=True)["input_ids"]

    def truncated(self, prompts) -> list[bool]:
        """Per prompt: does it need more than ``tokens_length`` tokens (EOS included)?"""
        full = self.tokenizer(_as_prompts(prompts), verbose=False)["input_ids"]
        return [len(ids) > self.tokens_length for ids in full]

    def _pad(self, ids: list[int], mask_len: int) -> tuple[list[int], list[int]]:
        pad = self.tokenizer.pad_token_id
        n = self.tokens_length
        return ids + [pad] * (n - len(ids)), [1] * mask_len + [0] * (n - mask_len)

    def tokenize(self, prompts, negative_prompts=None) -> dict:
        """input_ids / attention_mask [B, 128] (long) and the per-prompt truncation flags; with
        ``negative_prompts`` also ``negative_input_ids`` / ``negative_attention_mask`` built by
        the reference's rule (cut to the positive's length, EOS last, positive's mask)."""
        prompts = _as_prompts(prompts)
        flags = self.truncated(prompts)
        self.prompts_seen += len(prompts)
        self.prompts_truncated += sum(flags)
        for p, f in zip(prompts, flags):
            if f:
                log.warning("prompt truncated to %d tokens: %.60r…", self.tokens_length, p)
        pos = self._token_ids(prompts)
        padded = [self._pad(ids, len(ids)) for ids in pos]
        out = {
            "input_ids": torch.tensor([p[0] for p in padded], dtype=torch.long),
            "attention_mask": torch.tensor([p[1] for p in padded], dtype=torch.long),
            "truncated": flags,
        }
        if negative_prompts is not None:
            negs = _as_prompts(negative_prompts, "negative_prompts")
            if len(negs) != len(prompts):
                raise ConfigError(f"{len(negs)} negative prompts for {len(prompts)} prompts")
            rows = []
            for ids, neg in zip(pos, self._token_ids(negs)):
                neg = neg[:len(ids)]
                neg[-1] = self.tokenizer.eos_token_id
                rows.append(self._pad(neg, len(ids)))
            out["negative_input_ids"] = torch.tensor([r[0] for r in rows], dtype=torch.long)
            out["negative_attention_mask"] = torch.tensor([r[1] for r in rows], dtype=torch.long)
        return out

    # --- encoding ---------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.null_embedding.device

    @torch.no_grad()
    def encode_tokens(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """The reference ConditionEncoder on token ids: (context [B, L, D] float32, mask [B, L] bool)."""
        self._require_loaded()
        dev = self.device
        input_ids = input_ids.to(dev)
        mask = attention_mask.to(dev).long().clone()
        hidden = self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        bad = ~torch.isfinite(hidden).all(-1).all(-1)
        if bad.any():
            log.warning("text encoder produced inf/nan for %d prompt(s); zeroing them as the reference does",
                        int(bad.sum()))
        hidden = torch.where(bad[:, None, None], torch.zeros_like(hidden), hidden).float()
        empty = (hidden == 0).all(-1).all(-1)
        mask[empty] = 0
        proj = self.projections["t5"]
        context = proj(hidden.to(proj[0].weight.dtype)).float()
        context = context.masked_fill(mask[..., None] == 0, 0.0)
        length = int(mask.sum(-1).max()) + 1
        return context[:, :length], mask[:, :length].bool()

    def encode(self, prompts):
        """Prompts → (context [B, L, D], mask [B, L] bool), L = longest prompt's tokens + 1 (≤ 128)."""
        tok = self.tokenize(prompts)
        return self.encode_tokens(tok["input_ids"], tok["attention_mask"])

    def encode_each(self, prompts) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One (context [1, L_i, D], mask [1, L_i]) per prompt: the reference's batch-of-one contexts."""
        return [self.encode([p]) for p in _as_prompts(prompts)]

    def unconditional(self, batch: int, length: int = 1, negative_prompts=None, prompts=None):
        """The unconditional (context, mask): zeros with position 0 = null embedding, mask on 0.

        ``length`` should equal the conditional context's L (the reference builds it with
        ``zeros_like(context)``). With ``negative_prompts`` the negative contexts replace it; the
        reference's rule then needs the positive ``prompts`` too (and sets the length).
        """
        if negative_prompts is not None:
            if prompts is None:
                raise ConfigError("negative prompts are encoded against their positive prompts: pass prompts=")
            tok = self.tokenize(prompts, negative_prompts)
            ctx, mask = self.encode_tokens(tok["negative_input_ids"], tok["negative_attention_mask"])
            if ctx.shape[0] != batch:
                raise ConfigError(f"batch={batch} but {ctx.shape[0]} prompts given")
            return ctx, mask
        self._require_loaded(null=True)
        if batch < 1 or length < 1:
            raise ConfigError(f"batch and length must be ≥ 1, got {batch}, {length}")
        return null_context(self.null_embedding, batch, length, self.device, torch.get_default_dtype())

    def condition(self, prompts, negative_prompts=None) -> Conditioning:
        """Both contexts of a batch of prompts, shaped alike, ready for guidance."""
        prompts = _as_prompts(prompts)
        self._require_loaded(null=negative_prompts is None)
        tok = self.tokenize(prompts, negative_prompts)
        ctx, mask = self.encode_tokens(tok["input_ids"], tok["attention_mask"])
        if negative_prompts is not None:
            uctx, umask = self.encode_tokens(tok["negative_input_ids"], tok["negative_attention_mask"])
        else:
            uctx, umask = self.unconditional(len(prompts), ctx.shape[1])
        return Conditioning(ctx, mask, uctx, umask, tok["truncated"])

    def forward(self, prompts):  # nn.Module call = encode
        return self.encode(prompts)


def _dtype_kwarg(dtype: torch.dtype) -> dict:
    """transformers ≥ 4.56 names the load dtype ``dtype``; earlier releases ``torch_dtype``."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}
