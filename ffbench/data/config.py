"""Dataset TOML files -> validated, frozen dataclasses.

Where the files live (one source of truth): the shipped dataset files are package data in
`ffbench/resources/datasets/*.toml`, so `ffbench datasets list` works the same from a checkout
(editable install) and from an installed wheel. The top-level `datasets/` folder of the
repository holds a README pointing there. Users add or override datasets by putting TOML files
in a folder named by `$FFBENCH_DATASETS` (several folders: os.pathsep-separated); those are
searched first, so a user file with a shipped name replaces the shipped one (and `list` says
which file each dataset came from).

Why data and not code: the prompt list, the split and the default sample count are part of what
a reported number means. Keeping them in a file whose sha256 goes into the report makes that
explicit, and lets users review the exact prompts without reading Python.

Unknown keys are errors naming the key and the file, so a typo never silently falls back to a
default.
"""
from __future__ import annotations

import hashlib
import os
import tomllib
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..errors import ConfigError, FFBenchError
from ..textio import decode_text

__all__ = [
    "DatasetError",
    "AnnotationsConfig", "PromptsConfig", "RealConfig", "DemoConfig", "DatasetConfig",
    "dataset_dirs", "dataset_names", "load_dataset_config", "parse_dataset_config",
    "KINDS", "SAMPLING_RULES",
]

KINDS = ("ucf101", "msrvtt", "demo")
SAMPLING_RULES = ("class-balanced", "one-caption-per-video", "all-captions", "first-n")
ENV_VAR = "FFBENCH_DATASETS"


class DatasetError(FFBenchError):
    """A dataset file (annotation list, caption JSON, video folder) is missing or malformed.

    The message names the file and where that file comes from, so the user knows what to fetch.
    """


@dataclass(frozen=True)
class AnnotationsConfig:
    """Relative paths searched under the dataset root (first existing one wins)."""
    split_dirs: tuple[str, ...] = ()      # UCF-101: folders holding classInd.txt / *list0N.txt
    class_index: str = "classInd.txt"     # UCF-101
    test_json: tuple[str, ...] = ()       # MSR-VTT test_videodatainfo.json candidates
    train_val_json: tuple[str, ...] = ()  # MSR-VTT train_val_videodatainfo.json candidates
    jsfusion_csv: tuple[str, ...] = ()    # MSR-VTT 1k-A MSRVTT_JSFUSION_test.csv candidates


@dataclass(frozen=True)
class PromptsConfig:
    sampling: str
    default_n: int
    template: str = "{phrase}"
    split: str = ""
    # (class name, prompt) in class-index order; a tuple so the dataclass stays immutable
    classes: tuple[tuple[str, str], ...] = ()

    @property
    def class_prompts(self) -> dict[str, str]:
        return dict(self.classes)


@dataclass(frozen=True)
class RealConfig:
    video_dirs: tuple[str, ...] = (".",)
    extensions: tuple[str, ...] = (".mp4",)
    split: str = "all"
    fold: int = 1
    default_protocol: str = "fvd@stylegan-v-2048x16"


@dataclass(frozen=True)
class DemoConfig:
    count: int = 16
    seed: int = 0
    sizes: tuple[int, ...] = (64, 128)
    frames: tuple[int, ...] = (16, 24, 32)
    fps: int = 8


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    kind: str
    description: str
    prompts: PromptsConfig
    homepage: str = ""
    citation: str = ""
    download: str = ""
    root_env: str = ""
    expected_videos: int = 0
    annotations: AnnotationsConfig = AnnotationsConfig()
    real: RealConfig | None = None
    demo: DemoConfig | None = None
    # where it came from (not TOML keys)
    path: Path | None = field(default=None, compare=False)
    sha256: str = field(default="", compare=False)

    def resolve_root(self, root=None) -> Path:
        """The dataset root: `root`, else `$<root_env>`; a clear error when neither is set."""
        if root is None and self.root_env:
            root = os.environ.get(self.root_env) or None
        if root is None:
            raise ConfigError(
                f"dataset {self.name!r} needs its files: pass --root DIR (root=...) or set "
                f"${self.root_env}. Get them from: {self.download or self.homepage}")
        root = Path(root).expanduser()
        if not root.is_dir():
            raise ConfigError(f"dataset {self.name!r}: root {root} is not a directory")
        return root

    def to_dict(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "description": self.description,
               "homepage": self.homepage, "citation": self.citation, "download": self.download,
               "root_env": self.root_env, "expected_videos": self.expected_videos,
               "file": str(self.path) if self.path else None, "sha256": self.sha256}
        for sec in ("annotations", "prompts", "real", "demo"):
            value = getattr(self, sec)
            if value is None:
                out[sec] = None
                continue
            d = {f.name: getattr(value, f.name) for f in fields(value)}
            if sec == "prompts":
                d["classes"] = dict(value.classes)
            out[sec] = {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
        return out


# --- validation ----------------------------------------------------------------------------

_SECTIONS = {"annotations": AnnotationsConfig, "prompts": PromptsConfig, "real": RealConfig,
             "demo": DemoConfig}
_TOP_SKIP = {"path", "sha256"}


def _check_value(value, hint, where: str, file: Path):
    origin = typing.get_origin(hint)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{file}: {where} must be a string, got {type(value).__name__}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{file}: {where} must be an integer, got {value!r}")
        return value
    if origin is tuple:
        item = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise ConfigError(f"{file}: {where} must be a list, got {type(value).__name__}")
        return tuple(_check_value(v, item, f"{where}[{i}]", file) for i, v in enumerate(value))
    raise AssertionError(f"unsupported schema type {hint}")  # pragma: no cover


def _build(cls, table, where: str, file: Path, skip=frozenset()):
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: [{where}] must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)} - set(skip)
    for key in table:
        if key not in known:
            raise ConfigError(f"{file}: unknown key {(where + '.' if where else '') + key!r}; "
                              f"known keys: {', '.join(sorted(known))}")
    kwargs = {}
    for f in fields(cls):
        if f.name in skip or f.name not in table:
            continue
        key = f"{where}.{f.name}" if where else f.name
        value = table[f.name]
        if f.name in _SECTIONS and where == "":
            kwargs[f.name] = _build(_SECTIONS[f.name], value, f.name, file)
        elif cls is PromptsConfig and f.name == "classes":
            if not isinstance(value, dict):
                raise ConfigError(f"{file}: [prompts.classes] must be a table of class = prompt")
            kwargs[f.name] = tuple((k, _check_value(v, str, f"prompts.classes.{k}", file))
                                   for k, v in value.items())
        else:
            kwargs[f.name] = _check_value(value, hints[f.name], key, file)
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{file}: [{where or 'top level'}] is missing a required key ({e})") from None


def _validate(cfg: DatasetConfig, file: Path) -> None:
    if cfg.kind not in KINDS:
        raise ConfigError(f"{file}: kind must be one of {', '.join(KINDS)}, got {cfg.kind!r}")
    if cfg.name != file.stem:
        raise ConfigError(f"{file}: name {cfg.name!r} must match the file name {file.stem!r}")
    p = cfg.prompts
    if p.sampling not in SAMPLING_RULES:
        raise ConfigError(f"{file}: prompts.sampling must be one of {', '.join(SAMPLING_RULES)}, "
                          f"got {p.sampling!r}")
    if p.default_n < 1:
        raise ConfigError(f"{file}: prompts.default_n must be >= 1")
    if "{phrase}" not in p.template:
        raise ConfigError(f"{file}: prompts.template must contain {{phrase}}, got {p.template!r}")
    if cfg.kind == "ucf101":
        if not p.classes:
            raise ConfigError(f"{file}: a ucf101 dataset needs [prompts.classes]")
        if not cfg.annotations.split_dirs:
            raise ConfigError(f"{file}: a ucf101 dataset needs annotations.split_dirs")
    if cfg.kind == "msrvtt" and not cfg.annotations.test_json:
        raise ConfigError(f"{file}: an msrvtt dataset needs annotations.test_json")
    if cfg.kind == "demo":
        d = cfg.demo
        if d is None:
            raise ConfigError(f"{file}: a demo dataset needs a [demo] table")
        if d.count < 1 or not d.sizes or not d.frames or d.fps < 1:
            raise ConfigError(f"{file}: [demo] needs count >= 1, non-empty sizes and frames, fps >= 1")
        if any(s < 16 or s % 2 for s in d.sizes):
            raise ConfigError(f"{file}: demo.sizes must be even and >= 16, got {list(d.sizes)}")
        if any(t < 2 for t in d.frames):
            raise ConfigError(f"{file}: demo.frames must be >= 2, got {list(d.frames)}")
    if cfg.real is not None:
        if not cfg.real.video_dirs or not cfg.real.extensions:
            raise ConfigError(f"{file}: [real] needs video_dirs and extensions")
        if cfg.real.fold not in (1, 2, 3):
            raise ConfigError(f"{file}: real.fold must be 1, 2 or 3")


def parse_dataset_config(path) -> DatasetConfig:
    """Read and validate one dataset TOML file."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read dataset file ({e.strerror or e})") from None
    try:
        table = tomllib.loads(decode_text(blob, path, "dataset file"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML ({e})") from None
    cfg = _build(DatasetConfig, table, "", path, skip=_TOP_SKIP)
    cfg = DatasetConfig(**{f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name not in _TOP_SKIP},
                        path=path, sha256=hashlib.sha256(blob).hexdigest())
    _validate(cfg, path)
    return cfg


# --- discovery -----------------------------------------------------------------------------

def _packaged_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "resources" / "datasets"


def dataset_dirs() -> list[Path]:
    """Folders searched for `<name>.toml`, first match wins: $FFBENCH_DATASETS, then shipped."""
    dirs = [Path(p).expanduser() for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    return dirs + [_packaged_dir()]


def _find_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in dataset_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.toml")):
                found.setdefault(f.stem, f)
    return found


def dataset_names() -> list[str]:
    return sorted(_find_files())


def load_dataset_config(name_or_path) -> DatasetConfig:
    """A dataset by name (searched in `dataset_dirs()`) or by the path of a .toml file."""
    s = str(name_or_path)
    if s.endswith(".toml") or os.sep in s:
        return parse_dataset_config(s)
    files = _find_files()
    if s not in files:
        raise ConfigError(f"unknown dataset {s!r}; known: {', '.join(sorted(files)) or '(none)'} "
                          f"(searched {', '.join(map(str, dataset_dirs()))})")
    return parse_dataset_config(files[s])
