"""Model configs: one TOML file per model, parsed into validated dataclasses.

Why TOML and not code: a baseline is data (which diffusers class, which weights, which call
arguments, which resolution) plus the numbers published for it; keeping it in files lets the
report print the published numbers beside ours and lets users add a model without code.
Unknown keys are errors naming the key and the file, because a misspelt `num_inference_step`
would otherwise be silently ignored and change what is measured.

Schema (all tables optional unless marked):

    name = "modelscope-1.7b"          # required; lower-case id, also the file stem
    kind = "diffusers"                # required: diffusers | fusionframes | published
    display_name, description, source (URL of the documented defaults), license, notes
    random_weights = false            # true only for tiny test/demo models
    [video]  frames, height, width, fps            (required unless kind = "published")
    [diffusers]  pipeline (required), model (required: local dir, hub id, or a built-in tiny
                 random pipeline "ffbench:tiny-text-to-video" | "ffbench:tiny-animatediff",
                 built on first use: ffbench.generators.tiny), revision,
                 variant, dtype, mode ("video" | "t2i-per-frame"), t2i_frames
                 ("independent" | "static"), frames_kwarg, offload ("none" | "model" |
                 "sequential"), vae_slicing, vae_tiling, batch_size, output_range
                 ("0,1" | "-1,1"), output_layout ("auto" | "THWC" | "TCHW" | "CTHW")
      [diffusers.call]          keyword arguments for the pipeline's __call__
      [diffusers.scheduler]     class (required), config = { overrides }
      [diffusers.components.NAME]  class (required), model, subfolder, variant, dtype
    [fusionframes]  see ffbench.generators.fusionframes.FusionFramesOptions
    [[published]]   metric, value (required), dataset, protocol, source (required), via,
                    variant, zero_shot, samples, as_printed, note
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from ..errors import ConfigError
from ..schema import Bool, Float, PositiveFloat, PositiveInt, Str, Table, config, internal, validate
from ..textio import read_toml

__all__ = [
    "KINDS",
    "VideoSpec",
    "SchedulerSpec",
    "ComponentSpec",
    "DiffusersSpec",
    "PublishedResult",
    "ModelConfig",
    "parse_config",
    "load_config",
]

KINDS = ("diffusers", "fusionframes", "published")
DTYPES = ("float32", "float16", "bfloat16")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def _check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValueError("must be lower-case letters, digits, '.', '_' or '-'")
    return name


@config
class VideoSpec:
    """What one generated sample looks like: uint8 [frames, height, width, 3] played at fps."""

    frames: PositiveInt
    height: PositiveInt
    width: PositiveInt
    fps: PositiveFloat  # `fps = 8` is read as 8.0 (part of ModelConfig.hash)


@config
class SchedulerSpec:
    cls: Str = Field(alias="class")
    config: Table = field(default_factory=dict)


@config
class ComponentSpec:
    """A pipeline component loaded separately (e.g. AnimateDiff's MotionAdapter, Wan's fp32 VAE)."""

    name: Str = internal()  # the NAME of its [diffusers.components.NAME] table
    cls: Str = Field(alias="class")
    model: Str | None = None  # None: the pipeline's own model, from `subfolder`
    subfolder: Str | None = None
    variant: Str | None = None
    dtype: Literal[DTYPES] | None = None  # None: the pipeline's dtype

    @model_validator(mode="after")
    def _model_or_subfolder(self):
        if self.model is None and self.subfolder is None:
            raise ValueError("needs 'model' or 'subfolder'")
        return self


def _components(tables):
    """[diffusers.components.NAME] tables -> ComponentSpec inputs, in file order."""
    if not isinstance(tables, dict):
        return tables
    out = []
    for name, table in tables.items():
        if isinstance(table, dict) and "name" in table:
            raise ValueError(f"component {name!r}: 'name' is not a key (the table's name is)")
        out.append({**table, "name": name} if isinstance(table, dict) else table)
    return tuple(out)


@config
class DiffusersSpec:
    pipeline: Str
    model: Str
    revision: Str | None = None
    variant: Str | None = None
    dtype: Literal[DTYPES] = "float16"
    mode: Literal["video", "t2i-per-frame"] = "video"
    t2i_frames: Literal["independent", "static"] = "independent"  # t2i-per-frame only
    frames_kwarg: Str | None = None  # None: num_frames or video_length, found by signature
    offload: Literal["none", "model", "sequential"] = "none"
    vae_slicing: Bool = False
    vae_tiling: Bool = False
    batch_size: PositiveInt = 1
    output_range: Literal["0,1", "-1,1"] = "0,1"  # what the pipeline returns for float outputs
    output_layout: Literal["auto", "THWC", "TCHW", "CTHW"] = "auto"
    call: Table = field(default_factory=dict)
    scheduler: SchedulerSpec | None = None
    components: Annotated[tuple[ComponentSpec, ...], BeforeValidator(_components)] = ()


@config
class PublishedResult:
    """A number published for this model, with where it comes from.

    `value` is the number we believe correct; `as_printed` is what the FusionFrames paper printed
    when that differs (a typo), so a report can reproduce the paper's table and flag the fix.
    """

    metric: Str
    value: Float
    source: Str
    dataset: Str | None = None
    protocol: Str | None = None
    via: Str | None = None
    variant: Str | None = None
    zero_shot: Bool | None = None
    samples: PositiveInt | None = None
    as_printed: Float | None = None
    note: Str | None = None


@config
class ModelConfig:
    name: Annotated[Str, AfterValidator(_check_name)]
    kind: Literal[KINDS]
    path: str | None = internal(default=None)  # the file it came from (not part of the hash)
    display_name: Str = ""  # parse_config: the name when the file has none
    description: Str = ""
    source: Str = ""
    license: Str = ""
    notes: Str = ""
    random_weights: Bool = False
    video: VideoSpec | None = None
    diffusers: DiffusersSpec | None = None
    fusionframes: Table | None = None  # validated by the fusionframes adapter (FusionFramesOptions)
    published: tuple[PublishedResult, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hash"] = self.hash
        return d

    @property
    def hash(self) -> str:
        """sha256 of everything that affects generated videos (not docs, not published numbers)."""
        d = asdict(self)
        for k in ("path", "display_name", "description", "source", "license", "notes", "published"):
            d.pop(k, None)
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def _check_kind(cfg: ModelConfig, src: str) -> None:
    """Which tables a kind needs and allows (rules across keys, so not in the types)."""
    kind = cfg.kind
    if kind != "published" and cfg.video is None:
        raise ConfigError(f"{src}: kind = {kind!r} needs a [video] table (frames, height, width, fps)")
    if kind == "diffusers" and cfg.diffusers is None:
        raise ConfigError(f"{src}: kind = 'diffusers' needs a [diffusers] table")
    if kind != "diffusers" and cfg.diffusers is not None:
        raise ConfigError(f"{src}: [diffusers] is only allowed with kind = 'diffusers'")
    if kind == "fusionframes" and cfg.fusionframes is None:
        raise ConfigError(f"{src}: kind = 'fusionframes' needs a [fusionframes] table")
    if kind != "fusionframes" and cfg.fusionframes is not None:
        raise ConfigError(f"{src}: [fusionframes] is only allowed with kind = 'fusionframes'")


def parse_config(data: dict, src: str = "<config>") -> ModelConfig:
    """Validate a parsed TOML document into a ModelConfig; errors name the key and `src`."""
    table = dict(data) if isinstance(data, dict) else data
    if isinstance(table, dict):
        if isinstance(table.get("published"), dict):  # a single [published] table is accepted too
            table["published"] = [table["published"]]
        if isinstance(table.get("name"), str):
            table.setdefault("display_name", table["name"])
    cfg = validate(ModelConfig, table, src, path=None if src.startswith("<") else src)
    _check_kind(cfg, src)
    return cfg


def load_config(path) -> ModelConfig:
    """Read and validate one TOML file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: model config file not found")
    data = read_toml(path, "model config file")  # UTF-8 with or without BOM
    return parse_config(data, str(path))
