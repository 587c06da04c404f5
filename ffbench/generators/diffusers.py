"""One adapter for every diffusers text-to-video pipeline that a TOML names.

Why one adapter: diffusers pipelines share a calling convention (prompt, generator, size, a
frame-count argument, output objects with `.frames` or `.images`) but differ in details — the
frame argument is `num_frames` or `video_length`, outputs are PIL lists, numpy or tensors, and
some are text-to-image only. The differences live in the TOML; this module reads them.

Rules:
- Weights come only from a local directory or the local Hugging Face cache
  (`local_files_only=True`); nothing is downloaded. A model missing from the cache is an error
  that says what to run (`huggingface-cli download <id>`) and where it goes.
- One CPU `torch.Generator` per prompt, seeded with that prompt's seed, so a video depends on
  its seed only (not on batch composition, nor on the device).
- Outputs are converted to uint8 [T,H,W,3] and checked against the configured shape.
- `t2i-per-frame` mode runs a text-to-image pipeline once per prompt: `independent` draws
  `frames` images from the prompt's generator in one call (num_images_per_prompt = frames) —
  frames are i.i.d. samples with no temporal model, the lower bound a video model must beat on
  temporal metrics; `static` draws one image and repeats it (a motionless video).
"""
from __future__ import annotations

import contextlib
import inspect
import os
import re
from pathlib import Path

from ..errors import ConfigError, FFBenchError
from ..fileio import read_json_checked
from .base import Generator, GeneratorError
from .config import DiffusersSpec, ModelConfig
from .convert import split_videos, to_uint8_video

__all__ = [
    "DiffusersGenerator",
    "ModelNotInCache",
    "pipeline_class",
    "frames_kwarg_for",
    "check_spec",
    "resolve_model",
    "hf_cache_dir",
    "to_uint8_video",
    "split_videos",
    "RESERVED_CALL_KWARGS",
    "quiet_libraries",
]

# set by the adapter itself: a TOML may not put them in [diffusers.call]
RESERVED_CALL_KWARGS = {
    "prompt": "prompts come from the dataset",
    "generator": "seeds are per sample",
    "latents": "latents come from the per-sample seed",
    "num_frames": "set [video].frames", "video_length": "set [video].frames",
    "height": "set [video].height", "width": "set [video].width",
    "num_images_per_prompt": "one video per prompt", "num_videos_per_prompt": "one video per prompt",
    "return_dict": "the adapter reads the output object",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


@contextlib.contextmanager
def quiet_libraries():
    """diffusers/transformers at ERROR level and without their own progress bars, for the
    duration of a load or a generation. Why: they log per prompt (the CLIP tokenizer's "input
    was truncated" line, transformers' "sequence length is longer" line) and on every load
    ("TextToVideoSDPipeline has been deprecated", "Loading pipeline components" bars) — noise
    in `ffbench run` logs. What matters is recorded instead: prompt truncation goes into the
    generator's metadata (`truncated_prompts`). Levels are restored afterwards."""
    import warnings

    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    saved = (dlog.get_verbosity(), tlog.get_verbosity(), dlog.is_progress_bar_enabled(),
             tlog.is_progress_bar_enabled())
    dlog.set_verbosity_error()
    tlog.set_verbosity_error()
    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"diffusers(\.|$)")
            yield
    finally:
        dlog.set_verbosity(saved[0])
        tlog.set_verbosity(saved[1])
        if saved[2]:
            dlog.enable_progress_bar()
        if saved[3]:
            tlog.enable_progress_bar()


class ModelNotInCache(FFBenchError):
    """Weights are not on this machine; the message says how to get them and where they go."""


# --- static checks (no weights needed) ------------------------------------------------------

def pipeline_class(name: str):
    """The diffusers pipeline class called `name`, or a ConfigError listing close names."""
    import diffusers

    cls = getattr(diffusers, name, None)
    if cls is None or not (inspect.isclass(cls) and issubclass(cls, diffusers.DiffusionPipeline)):
        import difflib

        names = [n for n in dir(diffusers) if n.endswith("Pipeline")]
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"pipeline {name!r} is not a pipeline class in diffusers "
                          f"{diffusers.__version__}{hint}")
    return cls


def _call_params(cls) -> dict[str, inspect.Parameter]:
    """Named parameters of cls.__call__ (a **kwargs catch-all is left out: typos must fail)."""
    params = inspect.signature(cls.__call__).parameters
    return {k: p for k, p in params.items()
            if k != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def frames_kwarg_for(cls, spec: DiffusersSpec) -> str | None:
    """The argument that sets the frame count: the TOML's `frames_kwarg`, else found by name."""
    params = _call_params(cls)
    if spec.frames_kwarg:
        if spec.frames_kwarg not in params:
            raise ConfigError(f"frames_kwarg {spec.frames_kwarg!r} is not an argument of "
                              f"{cls.__name__}.__call__")
        return spec.frames_kwarg
    for name in ("num_frames", "video_length"):
        if name in params:
            return name
    return None


def check_spec(spec: DiffusersSpec, src: str = "<config>"):
    """Check a [diffusers] table against the installed diffusers without loading weights:
    the pipeline class exists, every call kwarg is accepted, the mode fits the pipeline,
    scheduler/component classes exist. Returns the pipeline class."""
    import diffusers

    try:
        cls = pipeline_class(spec.pipeline)
    except ConfigError as e:
        raise ConfigError(f"{src}: {e}") from None
    params = _call_params(cls)
    for key in spec.call:
        if key in RESERVED_CALL_KWARGS:
            raise ConfigError(f"{src}: [diffusers.call] must not set {key!r}: "
                              f"{RESERVED_CALL_KWARGS[key]}")
        if key not in params:
            raise ConfigError(f"{src}: [diffusers.call] key {key!r} is not an argument of "
                              f"{cls.__name__}.__call__ (accepted: {', '.join(sorted(params))})")
    fk = frames_kwarg_for(cls, spec)
    if spec.mode == "video" and fk is None:
        raise ConfigError(f"{src}: {cls.__name__} takes no frame-count argument; a text-to-image "
                          f"pipeline needs mode = 't2i-per-frame'")
    if spec.mode == "t2i-per-frame" and "num_images_per_prompt" not in params:
        raise ConfigError(f"{src}: mode 't2i-per-frame' needs a pipeline with num_images_per_prompt")
    for need in ("prompt", "generator"):
        if need not in params:
            raise ConfigError(f"{src}: {cls.__name__}.__call__ has no {need!r} argument")
    if spec.scheduler is not None:
        sched = getattr(diffusers, spec.scheduler.cls, None)
        if sched is None:
            raise ConfigError(f"{src}: scheduler class {spec.scheduler.cls!r} not found in diffusers")
        accepted = inspect.signature(sched.__init__).parameters
        for key in spec.scheduler.config:  # from_config would only warn about unknown keys
            if key not in accepted:
                raise ConfigError(f"{src}: [diffusers.scheduler] config key {key!r} is not an "
                                  f"argument of {spec.scheduler.cls}")
    for comp in spec.components:
        _component_class(comp.cls, src)
    return cls


def _component_class(name: str, src: str):
    import diffusers
    import transformers

    for lib in (diffusers, transformers):
        cls = getattr(lib, name, None)
        if cls is not None:
            return cls
    raise ConfigError(f"{src}: component class {name!r} found in neither diffusers nor transformers")


# --- weights: local directory or local HF cache only ---------------------------------------

def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment at call time."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def resolve_model(model: str, revision: str | None = None, src: str = "<config>") -> Path:
    """A local directory for `model` (a directory, a hub id already in the local cache, or a
    built-in tiny pipeline `ffbench:<name>`, built locally on first use: generators.tiny)."""
    from .tiny import ensure_builtin, is_builtin

    if is_builtin(model):
        return ensure_builtin(model, src)
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if not _HUB_ID.match(model):
        raise ConfigError(f"{src}: model {model!r} is neither an existing local directory nor a "
                          f"Hugging Face hub id (owner/name)")
    from huggingface_hub import snapshot_download

    cache = hf_cache_dir()
    try:
        return Path(snapshot_download(repo_id=model, revision=revision, cache_dir=str(cache),
                                      local_files_only=True))
    except Exception as e:  # LocalEntryNotFoundError and friends: not in the cache
        rev = f" --revision {revision}" if revision else ""
        folder = cache / ("models--" + model.replace("/", "--"))
        raise ModelNotInCache(
            f"{src}: model {model!r} is not in the local Hugging Face cache and ffbench never "
            f"downloads. Download it with:\n    huggingface-cli download {model}{rev}\n"
            f"(or `hf download {model}{rev}`); it goes to {folder} (HF cache {cache}; set "
            f"HF_HOME or HF_HUB_CACHE to use another). Or set model = \"/path/to/local/dir\" "
            f"in the TOML. ({type(e).__name__})") from None


def _dtype_kwarg(cls) -> str:
    """`dtype` where the library has renamed `torch_dtype` (diffusers >= 0.36, transformers >= 4.56)."""
    if cls.__module__.startswith("transformers"):
        import transformers

        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
        return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
    try:
        from diffusers.utils import deprecation_utils

        return "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"
    except ImportError:  # pragma: no cover - older diffusers
        return "torch_dtype"


def _dtype(name: str):
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def _frames_of(output):
    if isinstance(output, tuple):
        return output[0]
    for attr in ("frames", "videos", "images"):
        value = getattr(output, attr, None)
        if value is not None:
            return value
    raise GeneratorError(f"pipeline output {type(output).__name__} has no frames/videos/images")


# --- the generator ---------------------------------------------------------------------------

class DiffusersGenerator(Generator):
    """A diffusers pipeline behind the Generator interface; see the module docstring."""

    kind = "diffusers"

    def __init__(self, config: ModelConfig, *, random_weights: bool | None = None, device=None,
                 pipeline=None):
        super().__init__(config, random_weights=random_weights, device=device)
        self.spec: DiffusersSpec = config.diffusers
        self._src = config.path or config.name
        self.pipeline_cls = check_spec(self.spec, self._src)
        self.frames_kwarg = frames_kwarg_for(self.pipeline_cls, self.spec)
        self._params = _call_params(self.pipeline_cls)
        self.notes: list[str] = []
        self.model_path: Path | None = None
        self.truncated_prompts = 0  # prompts the pipeline's tokenizer cut (metadata)
        with quiet_libraries():
            self.pipe = pipeline if pipeline is not None else self._load()
        if hasattr(self.pipe, "set_progress_bar_config"):
            self.pipe.set_progress_bar_config(disable=True)

    # loading
    def _load(self):
        import torch

        spec, src = self.spec, self._src
        path = resolve_model(spec.model, spec.revision, src)
        self.model_path = path
        marker = path / "ffbench_random_weights.json"
        if marker.is_file() and not self.random_weights:
            raise GeneratorError(f"{src}: {path} holds RANDOM weights ({marker.name}); pass "
                                 f"--random-weights (or set random_weights = true in the TOML)")
        dtype = _dtype(spec.dtype)
        if self.device.type == "cpu" and dtype != torch.float32:
            self.notes.append(f"dtype {spec.dtype} -> float32 on CPU")
            dtype = torch.float32
        comps = {c.name: self._load_component(c, path, dtype) for c in spec.components}
        try:
            if self.random_weights and not marker.is_file():
                pipe = self._build_random(path, dtype, comps)
            else:
                kw = {_dtype_kwarg(self.pipeline_cls): dtype, "local_files_only": True, **comps}
                if spec.variant:
                    kw["variant"] = spec.variant
                pipe = self.pipeline_cls.from_pretrained(str(path), **kw)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
            raise GeneratorError(f"{src}: cannot load {spec.pipeline} from {path}: {e}") from e
        if spec.scheduler is not None:
            import diffusers

            sched_cls = getattr(diffusers, spec.scheduler.cls)
            pipe.scheduler = sched_cls.from_config(pipe.scheduler.config, **spec.scheduler.config)
        if spec.vae_slicing and hasattr(pipe, "enable_vae_slicing"):
            pipe.enable_vae_slicing()
        if spec.vae_tiling and hasattr(pipe, "enable_vae_tiling"):
            pipe.enable_vae_tiling()
        if spec.offload != "none" and self.device.type != "cpu":
            fn = pipe.enable_model_cpu_offload if spec.offload == "model" else \
                pipe.enable_sequential_cpu_offload
            fn(device=self.device)
        else:
            if spec.offload != "none":
                self.notes.append(f"offload={spec.offload} skipped: running on CPU")
            pipe = pipe.to(self.device)
        return pipe

    def _load_component(self, comp, pipeline_path: Path, dtype):
        cls = _component_class(comp.cls, self._src)
        where = resolve_model(comp.model, None, self._src) if comp.model else pipeline_path
        cdtype = _dtype(comp.dtype) if comp.dtype and self.device.type != "cpu" else dtype
        kw = {"subfolder": comp.subfolder} if comp.subfolder else {}
        if self.random_weights:
            return _random_module(cls, where, comp.subfolder)
        if comp.variant:
            kw["variant"] = comp.variant
        try:
            kw[_dtype_kwarg(cls)] = cdtype
            return cls.from_pretrained(str(where), local_files_only=True, **kw)
        except (OSError, ValueError) as e:
            raise GeneratorError(f"{self._src}: cannot load component {comp.name!r} "
                                 f"({comp.cls}) from {where}: {e}") from e

    def _build_random(self, path: Path, dtype, comps: dict):
        """Random-weight pipeline from the configs in `path` (weights files are not read)."""
        import torch

        index = read_json_checked(path / "model_index.json", "diffusers model index",
                                  "restore the model folder", GeneratorError)
        torch.manual_seed(0)
        parts = dict(comps)
        for name, entry in index.items():
            if name.startswith("_") or name in parts:
                continue
            if not (isinstance(entry, list) and len(entry) == 2) or entry[1] is None:
                parts[name] = None
                continue
            cls = _component_class(entry[1], self._src)
            if isinstance(cls, type) and issubclass(cls, torch.nn.Module):
                parts[name] = _random_module(cls, path, name).to(dtype)
            else:  # tokenizers, schedulers, feature extractors: no weights
                parts[name] = cls.from_pretrained(str(path), subfolder=name, local_files_only=True)
        self.notes.append("random weights initialised from configs with torch.manual_seed(0)")
        return self.pipeline_cls(**parts)

    # generation
    def _call_kwargs(self) -> dict:
        kw = {"output_type": "np"} if "output_type" in self._params else {}
        kw.update(self.spec.call)
        if "height" in self._params:
            kw["height"] = self.height
        if "width" in self._params:
            kw["width"] = self.width
        if self.spec.mode == "video":
            kw[self.frames_kwarg] = self.frames
        return kw

    def _generate(self, prompts: list[str], seeds: list[int]) -> list:
        import torch

        base = self._call_kwargs()
        videos = []
        step = 1 if self.spec.mode == "t2i-per-frame" else self.spec.batch_size
        for start in range(0, len(prompts), step):
            chunk, cseeds = prompts[start:start + step], seeds[start:start + step]
            gens = [torch.Generator("cpu").manual_seed(s) for s in cseeds]
            kw = dict(base, prompt=chunk if len(chunk) > 1 else chunk[0],
                      generator=gens if len(gens) > 1 else gens[0])
            per_video = self.frames
            if self.spec.mode == "t2i-per-frame":
                per_video = self.frames if self.spec.t2i_frames == "independent" else 1
                kw["num_images_per_prompt"] = per_video
            self._count_truncated(chunk)
            with torch.inference_mode(), quiet_libraries():
                out = self.pipe(**kw)
            raw = split_videos(_frames_of(out), len(chunk), per_video)
            for i, r in enumerate(raw):
                v = to_uint8_video(r, self.spec.output_range, self.spec.output_layout,
                                   f"{self.name} sample {start + i}")
                if per_video == 1 and self.frames > 1:
                    v = v.expand(self.frames, *v.shape[1:]).contiguous()
                videos.append(v)
        return videos

    def _count_truncated(self, prompts: list[str]) -> None:
        """Count prompts longer than the pipeline tokenizer's limit (the pipeline truncates them
        with one log line each, silenced by quiet_libraries; the count goes to metadata)."""
        tok = getattr(self.pipe, "tokenizer", None)
        limit = getattr(tok, "model_max_length", None)
        if tok is None or not isinstance(limit, int) or limit <= 0 or limit > 1_000_000:
            return
        try:
            with quiet_libraries():
                lengths = [len(ids) for ids in tok(list(prompts), truncation=False)["input_ids"]]
        except Exception:  # noqa: BLE001 - a tokenizer we cannot query: nothing to record
            return
        n = sum(1 for n_ids in lengths if n_ids > limit)
        if n:
            self.truncated_prompts += n
            note = f"prompts longer than the tokenizer's {limit} tokens are truncated by the pipeline"
            if note not in self.notes:
                self.notes.append(note)

    def metadata(self) -> dict:
        import diffusers

        md = super().metadata()
        md.update({"pipeline": self.spec.pipeline, "model_id": self.spec.model,
                   "model_path": str(self.model_path) if self.model_path else None,
                   "dtype": self.spec.dtype, "mode": self.spec.mode,
                   "call": self._call_kwargs(), "diffusers_version": diffusers.__version__,
                   "truncated_prompts": self.truncated_prompts, "notes": list(self.notes)})
        return md

    def close(self) -> None:
        self.pipe = None


def _random_module(cls, where: Path, subfolder: str | None):
    """A torch module of class `cls` with random weights, from the config in where/subfolder."""
    import diffusers

    if hasattr(cls, "load_config") and issubclass(cls, diffusers.ModelMixin):
        return cls.from_config(cls.load_config(str(where), subfolder=subfolder,
                                               local_files_only=True))
    from transformers import AutoConfig

    cfg_dir = where / subfolder if subfolder else where
    config = AutoConfig.from_pretrained(str(cfg_dir), local_files_only=True)
    return cls._from_config(config)
