"""Tiny diffusers pipelines with random weights, built locally from configs (no download).

Why: tests and the demo job need a real diffusers text-to-video pipeline that runs end to end on
a CPU in seconds, loaded through exactly the same TOML path (`model = "<local dir>"`) as a full
baseline. The components follow diffusers' own test practice (tiny UNet / VAE / CLIP text model
from configs, a tokenizer whose vocabulary files we write), but the sizes here are our own.

Everything built here holds RANDOM weights. A saved tiny pipeline carries a marker file
(`RANDOM_WEIGHTS_MARKER`) so the diffusers adapter refuses to load it unless the model config or
the caller says `random_weights = true` — random outputs must never pass for a real baseline.
"""
from __future__ import annotations

import json
from pathlib import Path

__all__ = [
    "RANDOM_WEIGHTS_MARKER",
    "TINY_SIZE",
    "TINY_FRAMES",
    "write_tiny_clip_tokenizer",
    "tiny_text_to_video_components",
    "tiny_animatediff_components",
    "build_tiny_text_to_video",
    "build_tiny_animatediff",
    "tiny_toml",
    "BUILTIN_SCHEME",
    "BUILTIN_MODELS",
    "is_builtin",
    "builtin_dir",
    "ensure_builtin",
]

RANDOM_WEIGHTS_MARKER = "ffbench_random_weights.json"
TINY_SIZE = 32  # pixels; the tiny VAE has a scale factor of 1, so latents are 32x32 too
TINY_FRAMES = 4
_TEXT_DIM = 16  # hidden size of the tiny CLIP text model = cross-attention dim of the UNet


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte-level mapping: every byte gets a printable unicode character."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def write_tiny_clip_tokenizer(directory) -> Path:
    """Write vocab.json + merges.txt of a character-level CLIP BPE tokenizer; return the dir.

    The vocabulary holds every byte symbol, alone and with the end-of-word suffix `</w>`, plus
    CLIP's start/end tokens; there are no merges, so any text tokenizes (one token per byte).
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    symbols = list(_bytes_to_unicode().values())
    tokens = ["<|startoftext|>", "<|endoftext|>"] + symbols + [s + "</w>" for s in symbols]
    (d / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
    (d / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return d


def _tokenizer_and_text_encoder(workdir: Path, seed: int):
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    tok_dir = write_tiny_clip_tokenizer(workdir / "_tiny_tokenizer_src")
    tokenizer = CLIPTokenizer(str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"),
                              model_max_length=16)
    torch.manual_seed(seed)
    config = CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=_TEXT_DIM, intermediate_size=32,
        num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=16,
        projection_dim=_TEXT_DIM, bos_token_id=0, eos_token_id=1, pad_token_id=1,
    )
    return tokenizer, CLIPTextModel(config).eval()


def _tiny_vae(seed: int):
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed + 1)
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8,),
        down_block_types=("DownEncoderBlock2D",), up_block_types=("UpDecoderBlock2D",),
        layers_per_block=1, norm_num_groups=4, sample_size=TINY_SIZE,
    ).eval()


def _tiny_scheduler():
    from diffusers import DDIMScheduler

    return DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                         clip_sample=False, set_alpha_to_one=False)


def _tiny_unet(cls, dims: str):
    """A tiny diffusers UNet, `cls` of block family `dims` ("3D": ModelScope, "2D": SD-style
    under AnimateDiff's motion adapter); one size for both."""
    return cls(
        sample_size=TINY_SIZE, in_channels=4, out_channels=4,
        down_block_types=(f"CrossAttnDownBlock{dims}", f"DownBlock{dims}"),
        up_block_types=(f"UpBlock{dims}", f"CrossAttnUpBlock{dims}"),
        block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
        cross_attention_dim=_TEXT_DIM, attention_head_dim=4,
    ).eval()


def tiny_text_to_video_components(workdir, seed: int = 0) -> dict:
    """Components of a `TextToVideoSDPipeline` (ModelScope architecture), random weights."""
    import torch
    from diffusers import UNet3DConditionModel

    workdir = Path(workdir)
    tokenizer, text_encoder = _tokenizer_and_text_encoder(workdir, seed)
    torch.manual_seed(seed + 2)
    unet = _tiny_unet(UNet3DConditionModel, "3D")
    return {"unet": unet, "vae": _tiny_vae(seed), "text_encoder": text_encoder,
            "tokenizer": tokenizer, "scheduler": _tiny_scheduler()}


def tiny_animatediff_components(workdir, seed: int = 0) -> dict:
    """Components of an `AnimateDiffPipeline` (SD-style 2D UNet + MotionAdapter), random weights."""
    import torch
    from diffusers import MotionAdapter, UNet2DConditionModel

    workdir = Path(workdir)
    tokenizer, text_encoder = _tokenizer_and_text_encoder(workdir, seed)
    torch.manual_seed(seed + 3)
    unet = _tiny_unet(UNet2DConditionModel, "2D")
    torch.manual_seed(seed + 4)
    adapter = MotionAdapter(block_out_channels=(8, 16), motion_layers_per_block=1,
                            motion_num_attention_heads=2, motion_norm_num_groups=4,
                            motion_max_seq_length=16).eval()
    return {"unet": unet, "motion_adapter": adapter, "vae": _tiny_vae(seed),
            "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": _tiny_scheduler(), "feature_extractor": None, "image_encoder": None}


def _save(pipe, directory: Path, kind: str, seed: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(str(directory))
    marker = {"random_weights": True, "built_by": f"ffbench.generators.tiny.{kind}", "seed": seed,
              "note": "random weights: for tests and demos only, never a real baseline"}
    (directory / RANDOM_WEIGHTS_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return directory


def build_tiny_text_to_video(directory, seed: int = 0) -> Path:
    """Build a tiny random-weight `TextToVideoSDPipeline` and save it to `directory`.

    The result loads with `TextToVideoSDPipeline.from_pretrained(directory)` or through a TOML
    (`tiny_toml`). It carries `RANDOM_WEIGHTS_MARKER`. Returns the directory.
    """
    from diffusers import TextToVideoSDPipeline

    import tempfile

    with tempfile.TemporaryDirectory() as work:  # tokenizer source files; the saved copy is in directory
        pipe = TextToVideoSDPipeline(**tiny_text_to_video_components(work, seed))
        return _save(pipe, Path(directory), "build_tiny_text_to_video", seed)


def build_tiny_animatediff(directory, seed: int = 0) -> Path:
    """Build a tiny random-weight `AnimateDiffPipeline` and save it to `directory`."""
    from diffusers import AnimateDiffPipeline

    import tempfile

    with tempfile.TemporaryDirectory() as work:
        pipe = AnimateDiffPipeline(**tiny_animatediff_components(work, seed))
        return _save(pipe, Path(directory), "build_tiny_animatediff", seed)


def tiny_toml(model_dir, name: str = "tiny-t2v", pipeline: str = "TextToVideoSDPipeline",
              frames: int = TINY_FRAMES, size: int = TINY_SIZE, steps: int = 2, fps: int = 8) -> str:
    """TOML text of a baseline config for a tiny pipeline saved by this module."""
    model = json.dumps(str(Path(model_dir).resolve()))  # a JSON string is a valid TOML basic string
    return f"""# Tiny {pipeline} with RANDOM weights (ffbench.generators.tiny): tests and demos only.
name = "{name}"
kind = "diffusers"
display_name = "Tiny {pipeline} (random weights)"
random_weights = true

[video]
frames = {frames}
height = {size}
width = {size}
fps = {fps}

[diffusers]
pipeline = "{pipeline}"
model = {model}
dtype = "float32"

[diffusers.call]
num_inference_steps = {steps}
guidance_scale = 7.5
"""


# --- built-in tiny pipelines, addressed from a TOML as model = "ffbench:<name>" ---------------
# Why: the registered tiny models (baselines `tiny-diffusers`, `tiny-animatediff`) must run by
# name on a fresh machine with nothing downloaded. Their `model` is not a hub id but a recipe
# from this module, built once with a fixed seed into $FFBENCH_HOME/tiny-models/<name>-seed0/
# (a few seconds), then loaded like any local diffusers directory; the marker file keeps the
# random-weights check of ffbench.generators.diffusers in force.

BUILTIN_SCHEME = "ffbench:"
BUILTIN_MODELS = {"tiny-text-to-video": build_tiny_text_to_video,
                  "tiny-animatediff": build_tiny_animatediff}
BUILTIN_SEED = 0


def is_builtin(model: str) -> bool:
    return isinstance(model, str) and model.startswith(BUILTIN_SCHEME)


def _builtin_name(model: str, src: str) -> str:
    from ..errors import ConfigError

    name = model[len(BUILTIN_SCHEME):]
    if name not in BUILTIN_MODELS:
        raise ConfigError(f"{src}: model {model!r}: unknown built-in tiny pipeline {name!r}; known: "
                          + ", ".join(BUILTIN_SCHEME + k for k in BUILTIN_MODELS))
    return name


def builtin_dir(model: str, src: str = "<config>") -> Path:
    """Where `ffbench:<name>` lives once built (it may not exist yet)."""
    from ..weights import home

    return home() / "tiny-models" / f"{_builtin_name(model, src)}-seed{BUILTIN_SEED}"


def ensure_builtin(model: str, src: str = "<config>") -> Path:
    """The directory of built-in tiny pipeline `model` (`ffbench:<name>`), building it first if
    needed: into a temp folder beside it, then renamed, so concurrent builds and a kill midway
    never leave half a pipeline. Random weights, fixed seed; nothing is downloaded."""
    import shutil
    import tempfile

    target = builtin_dir(model, src)
    if (target / "model_index.json").is_file() and (target / RANDOM_WEIGHTS_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        from .diffusers import quiet_libraries

        with quiet_libraries():
            BUILTIN_MODELS[_builtin_name(model, src)](tmp, seed=BUILTIN_SEED)
        if target.exists():  # an incomplete earlier build (no marker): replace it
            if (target / RANDOM_WEIGHTS_MARKER).is_file():
                return target
            shutil.rmtree(target)
        try:
            tmp.rename(target)
        except OSError:  # another process won the race
            if not (target / RANDOM_WEIGHTS_MARKER).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
