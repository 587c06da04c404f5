"""The one interface every text-to-video model implements, and where model configs are found.

A `Generator` turns prompts plus one seed per prompt into videos in the at-rest convention
(torch.uint8 [T, H, W, 3] RGB). The harness, the CLI and the profiler only ever see this
interface; FusionFrames and every diffusers baseline sit behind it, so a leaderboard row is
"the same prompts, the same seeds, a different Generator".

Seeds are per prompt (not per batch) so that a sample's video depends only on (model, prompt,
seed) — not on batch size, order or sharding. `derive_seed(run_seed, sample_id)` is the rule that
turns a run seed and a sample id into that per-sample seed.

Model configs (TOML, see ffbench.generators.config) are found by name in, in order:
  1. the directories in $FFBENCH_BASELINES (os.pathsep-separated) — user models, tests;
  2. `baselines/` next to the package in a source checkout, if it holds *.toml files;
  3. the packaged copies in ffbench/resources/baselines/ (what an installed wheel has).
The first file whose `name` matches wins, so a user file can shadow a packaged one.
A path to a .toml file is accepted wherever a name is.
"""
from __future__ import annotations

import abc
import importlib
import os
from pathlib import Path

from ..devices import resolve_device
from ..errors import ConfigError, FFBenchError
from ..schema import replace
from ..seeding import derive_seed
from .config import ModelConfig, VideoSpec, load_config

__all__ = [
    "Generator",
    "GeneratorError",
    "ModelNotFound",
    "register_kind",
    "generator_class",
    "search_paths",
    "available_models",
    "find_config",
    "load_generator",
    "apply_overrides",
    "derive_seed",
    "check_videos",
    "TINY_MODELS",
    "tiny_model",
]

ENV_BASELINES = "FFBENCH_BASELINES"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # .../ffbench


class GeneratorError(FFBenchError):
    """A model could not be built or did not produce what its config promised."""


class ModelNotFound(ConfigError):
    """No model config with this name (the message lists where we looked and what exists)."""


# --- the interface ---------------------------------------------------------------------------

class Generator(abc.ABC):
    """Prompt -> video. Subclasses implement `_generate`; `generate` checks the contract."""

    kind: str = ""

    def __init__(self, config: ModelConfig, *, random_weights: bool | None = None, device=None):
        if config.video is None:
            raise ConfigError(f"{config.path or config.name}: model has no [video] table")
        self.config = config
        self.random_weights = bool(config.random_weights if random_weights is None else random_weights)
        self.device = resolve_device(device)

    # metadata
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def video(self) -> VideoSpec:
        return self.config.video

    @property
    def frames(self) -> int:
        return self.video.frames

    @property
    def height(self) -> int:
        return self.video.height

    @property
    def width(self) -> int:
        return self.video.width

    @property
    def fps(self) -> float:
        return self.video.fps

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return (self.video.height, self.video.width)

    def metadata(self) -> dict:
        """What a results row / sample JSON records about the model."""
        return {
            "model": self.name, "kind": self.kind, "config_hash": self.config.hash,
            "config_path": self.config.path, "random_weights": self.random_weights,
            "frames": self.frames, "height": self.height, "width": self.width, "fps": self.fps,
            "device": str(self.device),
        }

    def generate(self, prompts: list[str], seeds: list[int]) -> list:
        """One video per prompt: torch.uint8 [frames, height, width, 3] (the configured shape)."""
        if isinstance(prompts, str):
            raise TypeError("prompts must be a list of strings, not a string")
        prompts, seeds = list(prompts), [int(s) for s in seeds]
        if len(prompts) != len(seeds):
            raise ValueError(f"got {len(prompts)} prompts but {len(seeds)} seeds; one seed per prompt")
        if not all(isinstance(p, str) for p in prompts):
            raise TypeError("every prompt must be a string")
        if not prompts:
            return []
        videos = self._generate(prompts, seeds)
        return check_videos(videos, len(prompts), self.video, self.name)

    @abc.abstractmethod
    def _generate(self, prompts: list[str], seeds: list[int]) -> list:
        """Return len(prompts) uint8 [T,H,W,3] tensors; seeds[i] alone decides video i's noise."""

    def close(self) -> None:  # free memory; optional
        pass


def check_videos(videos, n: int, video: VideoSpec, who: str) -> list:
    """Verify a generator's output against its config; raise GeneratorError naming the mismatch."""
    import torch

    if not isinstance(videos, (list, tuple)) or len(videos) != n:
        got = len(videos) if isinstance(videos, (list, tuple)) else type(videos).__name__
        raise GeneratorError(f"{who}: expected a list of {n} videos, got {got}")
    want = (video.frames, video.height, video.width, 3)
    out = []
    for i, v in enumerate(videos):
        if not isinstance(v, torch.Tensor) or v.dtype != torch.uint8:
            raise GeneratorError(f"{who}: video {i} must be a torch.uint8 tensor, got "
                                 f"{getattr(v, 'dtype', type(v).__name__)}")
        if tuple(v.shape) != want:
            raise GeneratorError(
                f"{who}: video {i} has shape {list(v.shape)}, config [video] promises "
                f"{list(want)} (frames, height, width, 3); fix the TOML (some models only accept "
                f"certain frame counts or sizes) or the pipeline arguments")
        out.append(v.contiguous())
    return out


# --- registry of kinds -----------------------------------------------------------------------

# kind -> "module:Class" (imported lazily: diffusers is heavy) or a class registered at runtime
_KINDS: dict[str, str | type] = {
    "diffusers": "ffbench.generators.diffusers:DiffusersGenerator",
    "fusionframes": "ffbench.generators.fusionframes:FusionFramesGenerator",
}


def register_kind(kind: str, cls_or_path: str | type) -> None:
    """Add (or replace) the Generator class used for configs with `kind = "<kind>"`."""
    _KINDS[kind] = cls_or_path


def generator_class(kind: str) -> type:
    if kind == "published":
        raise GeneratorError("this model is reference-only (kind = 'published'): it has published "
                             "numbers but no runnable generator in ffbench")
    target = _KINDS.get(kind)
    if target is None:
        raise ConfigError(f"unknown model kind {kind!r}; known: {', '.join(sorted(_KINDS))}")
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        target = getattr(importlib.import_module(module), attr)
    return target


# --- finding configs -------------------------------------------------------------------------

def search_paths() -> list[Path]:
    """Directories searched for model TOMLs, in priority order (see module docstring)."""
    paths = [Path(p).expanduser() for p in os.environ.get(ENV_BASELINES, "").split(os.pathsep) if p]
    checkout = _PACKAGE_DIR.parent / "baselines"
    if checkout.is_dir() and any(checkout.glob("*.toml")):
        paths.append(checkout)
    paths.append(_PACKAGE_DIR / "resources" / "baselines")
    return paths


def available_models() -> dict[str, ModelConfig]:
    """name -> config for every TOML on the search path (first occurrence of a name wins)."""
    found: dict[str, ModelConfig] = {}
    for d in search_paths():
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.toml")):
            cfg = load_config(f)
            found.setdefault(cfg.name, cfg)
    return found


def _looks_like_path(s: str) -> bool:
    return s.endswith(".toml") or os.sep in s or (os.altsep is not None and os.altsep in s)


def find_config(name_or_toml) -> ModelConfig:
    """A model config by name, or from a .toml path."""
    if isinstance(name_or_toml, ModelConfig):
        return name_or_toml
    s = str(name_or_toml)
    if _looks_like_path(s):
        return load_config(s)
    for d in search_paths():  # priority order: a directory's files win over later directories
        candidate = d / f"{s}.toml"  # fast path: file stem == name
        if candidate.is_file():
            cfg = load_config(candidate)
            if cfg.name == s:
                return cfg
        for f in sorted(d.glob("*.toml")) if d.is_dir() else ():
            if f != candidate:
                cfg = load_config(f)
                if cfg.name == s:
                    return cfg
    models = available_models()
    import difflib

    close = difflib.get_close_matches(s, list(models), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    where = ", ".join(str(p) for p in search_paths())
    raise ModelNotFound(f"unknown model {s!r}.{hint} Known models: {', '.join(sorted(models))} "
                        f"(searched {where}; `ffbench models list` shows them)")


# --- overrides and loading -------------------------------------------------------------------

_VIDEO_KEYS = ("frames", "height", "width", "fps")
_DIFFUSERS_KEYS = ("model", "dtype", "offload", "batch_size", "variant", "revision")


def apply_overrides(cfg: ModelConfig, **overrides) -> ModelConfig:
    """Return cfg with overrides: frames/height/width/fps, steps, guidance, call={...},
    model/dtype/offload/batch_size/variant/revision (diffusers), fusionframes={...}."""
    video_changes = {k: overrides.pop(k) for k in _VIDEO_KEYS if overrides.get(k) is not None}
    for k in _VIDEO_KEYS:
        overrides.pop(k, None)
    changes = {}
    if video_changes:
        if cfg.video is None:
            raise ConfigError(f"{cfg.name}: cannot override {sorted(video_changes)}: no [video] table")
        for k, v in video_changes.items():
            if v <= 0:
                raise ConfigError(f"override {k}={v!r} must be > 0")
        changes["video"] = replace(cfg.video, video_changes, f"{cfg.name}: overrides")
    call = dict(overrides.pop("call", None) or {})
    if overrides.get("steps") is not None:
        call["num_inference_steps"] = int(overrides["steps"])
    if overrides.get("guidance") is not None:
        call["guidance_scale"] = float(overrides["guidance"])
    overrides.pop("steps", None), overrides.pop("guidance", None)
    diff_changes = {k: overrides.pop(k) for k in _DIFFUSERS_KEYS if overrides.get(k) is not None}
    for k in _DIFFUSERS_KEYS:
        overrides.pop(k, None)
    if cfg.kind == "diffusers":
        if call:
            diff_changes["call"] = {**cfg.diffusers.call, **call}
        if diff_changes:
            changes["diffusers"] = replace(cfg.diffusers, diff_changes, f"{cfg.name}: overrides")
    elif diff_changes:
        raise ConfigError(f"{cfg.name}: overrides {sorted(diff_changes)} only apply to diffusers models")
    ff = overrides.pop("fusionframes", None)
    if cfg.kind == "fusionframes" and (ff or call):
        merged = {**(cfg.fusionframes or {}), **(ff or {})}
        if call:
            merged["call"] = {**merged.get("call", {}), **call}
        changes["fusionframes"] = merged
    elif ff:
        raise ConfigError(f"{cfg.name}: 'fusionframes' overrides only apply to fusionframes models")
    if overrides:
        raise ConfigError(f"unknown override(s): {', '.join(sorted(overrides))}")
    return replace(cfg, changes, f"{cfg.name}: overrides") if changes else cfg


def load_generator(name_or_toml, *, random_weights: bool | None = None, device=None,
                   **overrides) -> Generator:
    """Build the Generator for a model name or TOML path.

    `random_weights=True` asks for random initialisation (marked everywhere); None keeps what
    the config says. `device` defaults to CUDA when available, else CPU. Other keyword
    arguments are config overrides (see `apply_overrides`).
    """
    cfg = apply_overrides(find_config(name_or_toml), **overrides)
    cls = generator_class(cfg.kind)
    return cls(cfg, random_weights=random_weights, device=device)


# --- tiny stand-ins -----------------------------------------------------------------------------
# The registered random-weight smoke-test models (ffbench/resources/baselines/*-tiny.toml and
# tiny-diffusers.toml), by the kind of model they stand in for: what a `--tiny` flag selects.
TINY_MODELS = {"fusionframes": "fusionframes-tiny", "diffusers": "tiny-diffusers"}


def tiny_model(name_or_toml) -> str:
    """The registered tiny model standing in for `name_or_toml` (a name or .toml path): the model
    itself when it already has random weights, else the tiny model of its kind. Raises
    ConfigError for a reference-only (published) model."""
    cfg = find_config(name_or_toml)
    if cfg.random_weights:
        return cfg.name if not _looks_like_path(str(name_or_toml)) else str(name_or_toml)
    if cfg.kind not in TINY_MODELS:
        raise ConfigError(f"{cfg.name}: kind {cfg.kind!r} has no tiny stand-in (known: "
                          f"{', '.join(sorted(TINY_MODELS))})")
    return TINY_MODELS[cfg.kind]
