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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from ..errors import ConfigError
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


@dataclass(frozen=True)
class VideoSpec:
    """What one generated sample looks like: uint8 [frames, height, width, 3] played at fps."""

    frames: int
    height: int
    width: int
    fps: float


@dataclass(frozen=True)
class SchedulerSpec:
    cls: str
    config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ComponentSpec:
    """A pipeline component loaded separately (e.g. AnimateDiff's MotionAdapter, Wan's fp32 VAE)."""

    name: str
    cls: str
    model: str | None = None  # None: the pipeline's own model, from `subfolder`
    subfolder: str | None = None
    variant: str | None = None
    dtype: str | None = None  # None: the pipeline's dtype


@dataclass(frozen=True)
class DiffusersSpec:
    pipeline: str
    model: str
    revision: str | None = None
    variant: str | None = None
    dtype: str = "float16"
    mode: str = "video"  # video | t2i-per-frame
    t2i_frames: str = "independent"  # independent | static (t2i-per-frame only)
    frames_kwarg: str | None = None  # None: num_frames or video_length, found by signature
    offload: str = "none"  # none | model | sequential
    vae_slicing: bool = False
    vae_tiling: bool = False
    batch_size: int = 1
    output_range: str = "0,1"  # what the pipeline returns for float outputs
    output_layout: str = "auto"
    call: dict = field(default_factory=dict)
    scheduler: SchedulerSpec | None = None
    components: tuple[ComponentSpec, ...] = ()


@dataclass(frozen=True)
class PublishedResult:
    """A number published for this model, with where it comes from.

    `value` is the number we believe correct; `as_printed` is what the FusionFrames paper printed
    when that differs (a typo), so a report can reproduce the paper's table and flag the fix.
    """

    metric: str
    value: float
    source: str
    dataset: str | None = None
    protocol: str | None = None
    via: str | None = None
    variant: str | None = None
    zero_shot: bool | None = None
    samples: int | None = None
    as_printed: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class ModelConfig:
    name: str
    kind: str
    path: str | None = None  # the file it came from (documentation; not part of the hash)
    display_name: str = ""
    description: str = ""
    source: str = ""
    license: str = ""
    notes: str = ""
    random_weights: bool = False
    video: VideoSpec | None = None
    diffusers: DiffusersSpec | None = None
    fusionframes: dict | None = None  # validated by the fusionframes adapter
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


# --- validation helpers ---------------------------------------------------------------------

class _Table:
    """A TOML table being read: every key must be consumed, and types are checked."""

    def __init__(self, data: dict, where: str, src: str):
        if not isinstance(data, dict):
            raise ConfigError(f"{src}: [{where}] must be a table, got {type(data).__name__}")
        self.data, self.where, self.src, self.used = data, where, src, set()

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key, types, default=None, required=False, choices=None):
        self.used.add(key)
        if key not in self.data:
            if required:
                raise ConfigError(f"{self.src}: missing required key '{self._key(key)}'")
            return default
        value = self.data[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in _tuple(types))
        if not ok:
            names = "/".join(t.__name__ for t in _tuple(types))
            raise ConfigError(f"{self.src}: key '{self._key(key)}' must be {names}, "
                              f"got {type(value).__name__} {value!r}")
        if choices is not None and value not in choices:
            raise ConfigError(f"{self.src}: key '{self._key(key)}' = {value!r} is not one of "
                              f"{', '.join(map(repr, choices))}")
        return value

    def positive(self, key, types=(int,), default=None, required=False):
        value = self.get(key, types, default, required)
        if value is not None and value <= 0:
            raise ConfigError(f"{self.src}: key '{self._key(key)}' must be > 0, got {value!r}")
        return value

    def table(self, key) -> "_Table | None":
        self.used.add(key)
        if key not in self.data:
            return None
        return _Table(self.data[key], self._key(key), self.src)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            where = f" in [{self.where}]" if self.where else ""
            raise ConfigError(f"{self.src}: unknown key{'s' if len(unknown) > 1 else ''} "
                              f"{', '.join(repr(self._key(k)) for k in unknown)}{where}")


def _tuple(types):
    return types if isinstance(types, tuple) else (types,)


_NUM = (int, float)


def _video(t: _Table) -> VideoSpec:
    spec = VideoSpec(frames=t.positive("frames", required=True),
                     height=t.positive("height", required=True),
                     width=t.positive("width", required=True),
                     fps=float(t.positive("fps", _NUM, required=True)))
    t.finish()
    return spec


def _scheduler(t: _Table) -> SchedulerSpec:
    cls = t.get("class", str, required=True)
    config = t.get("config", dict, {})
    t.finish()
    return SchedulerSpec(cls=cls, config=dict(config))


def _component(name: str, t: _Table) -> ComponentSpec:
    spec = ComponentSpec(name=name, cls=t.get("class", str, required=True),
                         model=t.get("model", str), subfolder=t.get("subfolder", str),
                         variant=t.get("variant", str), dtype=t.get("dtype", str, choices=DTYPES))
    t.finish()
    if spec.model is None and spec.subfolder is None:
        raise ConfigError(f"{t.src}: [{t.where}] needs 'model' or 'subfolder'")
    return spec


def _diffusers(t: _Table) -> DiffusersSpec:
    sched = t.table("scheduler")
    comps = t.table("components")
    components = []
    if comps is not None:
        for cname in list(comps.data):
            components.append(_component(cname, comps.table(cname)))
        comps.finish()
    spec = DiffusersSpec(
        pipeline=t.get("pipeline", str, required=True),
        model=t.get("model", str, required=True),
        revision=t.get("revision", str),
        variant=t.get("variant", str),
        dtype=t.get("dtype", str, "float16", choices=DTYPES),
        mode=t.get("mode", str, "video", choices=("video", "t2i-per-frame")),
        t2i_frames=t.get("t2i_frames", str, "independent", choices=("independent", "static")),
        frames_kwarg=t.get("frames_kwarg", str),
        offload=t.get("offload", str, "none", choices=("none", "model", "sequential")),
        vae_slicing=t.get("vae_slicing", bool, False),
        vae_tiling=t.get("vae_tiling", bool, False),
        batch_size=t.positive("batch_size", default=1),
        output_range=t.get("output_range", str, "0,1", choices=("0,1", "-1,1")),
        output_layout=t.get("output_layout", str, "auto", choices=("auto", "THWC", "TCHW", "CTHW")),
        call=dict(t.get("call", dict, {})),
        scheduler=_scheduler(sched) if sched is not None else None,
        components=tuple(components),
    )
    t.finish()
    return spec


def _published(items, src: str) -> tuple[PublishedResult, ...]:
    if isinstance(items, dict):  # a single [published] table is accepted too
        items = [items]
    if not isinstance(items, list):
        raise ConfigError(f"{src}: 'published' must be an array of tables ([[published]])")
    out = []
    for i, item in enumerate(items):
        t = _Table(item, f"published[{i}]", src)
        r = PublishedResult(
            metric=t.get("metric", str, required=True),
            value=float(t.get("value", _NUM, required=True)),
            source=t.get("source", str, required=True),
            dataset=t.get("dataset", str), protocol=t.get("protocol", str), via=t.get("via", str),
            variant=t.get("variant", str), zero_shot=t.get("zero_shot", bool),
            samples=t.positive("samples"), note=t.get("note", str),
            as_printed=(float(v) if (v := t.get("as_printed", _NUM)) is not None else None),
        )
        t.finish()
        out.append(r)
    return tuple(out)


def parse_config(data: dict, src: str = "<config>") -> ModelConfig:
    """Validate a parsed TOML document into a ModelConfig; errors name the key and `src`."""
    t = _Table(data, "", src)
    name = t.get("name", str, required=True)
    if not _NAME_RE.match(name):
        raise ConfigError(f"{src}: name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
    kind = t.get("kind", str, required=True, choices=KINDS)
    video_t, diff_t = t.table("video"), t.table("diffusers")
    ff = t.get("fusionframes", dict)
    published = _published(t.get("published", (list, dict), []), src)
    cfg = ModelConfig(
        name=name, kind=kind, path=None if src.startswith("<") else src,
        display_name=t.get("display_name", str, name), description=t.get("description", str, ""),
        source=t.get("source", str, ""), license=t.get("license", str, ""),
        notes=t.get("notes", str, ""), random_weights=t.get("random_weights", bool, False),
        video=_video(video_t) if video_t is not None else None,
        diffusers=_diffusers(diff_t) if diff_t is not None else None,
        fusionframes=dict(ff) if ff is not None else None,
        published=published,
    )
    t.finish()
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
    return cfg


def load_config(path) -> ModelConfig:
    """Read and validate one TOML file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: model config file not found")
    data = read_toml(path, "model config file")  # UTF-8 with or without BOM
    return parse_config(data, str(path))
