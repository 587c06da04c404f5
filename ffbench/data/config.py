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
default (validation: ffbench.schema, shared by every config file).
"""
from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import field, fields
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from ..errors import ConfigError, FFBenchError
from ..schema import Int, PositiveInt, Str, config, internal, validate
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


@config
class AnnotationsConfig:
    """Relative paths searched under the dataset root (first existing one wins)."""
    split_dirs: tuple[Str, ...] = ()      # UCF-101: folders holding classInd.txt / *list0N.txt
    class_index: Str = "classInd.txt"     # UCF-101
    test_json: tuple[Str, ...] = ()       # MSR-VTT test_videodatainfo.json candidates
    train_val_json: tuple[Str, ...] = ()  # MSR-VTT train_val_videodatainfo.json candidates
    jsfusion_csv: tuple[Str, ...] = ()    # MSR-VTT 1k-A MSRVTT_JSFUSION_test.csv candidates


def _class_items(table):
    """[prompts.classes] (class = prompt) -> ((class, prompt), ...) in file order."""
    if not isinstance(table, dict):
        raise ValueError("must be a table of class = prompt")
    for name, prompt in table.items():
        if not isinstance(prompt, str):
            raise ValueError(f"prompt of class {name!r} must be a string, got {prompt!r}")
    return tuple(table.items())


def _has_phrase(template: str) -> str:
    if "{phrase}" not in template:
        raise ValueError("must contain {phrase}")
    return template


def _demo_size(size: int) -> int:
    if size < 16 or size % 2:
        raise ValueError("must be even and >= 16")
    return size


@config
class PromptsConfig:
    sampling: Literal[SAMPLING_RULES]
    default_n: PositiveInt
    template: Annotated[Str, AfterValidator(_has_phrase)] = "{phrase}"
    split: Str = ""
    # (class name, prompt) in class-index order; a tuple so the dataclass stays immutable
    classes: Annotated[tuple[tuple[Str, Str], ...], BeforeValidator(_class_items)] = ()

    @property
    def class_prompts(self) -> dict[str, str]:
        return dict(self.classes)


@config
class RealConfig:
    video_dirs: Annotated[tuple[Str, ...], Field(min_length=1)] = (".",)
    extensions: Annotated[tuple[Str, ...], Field(min_length=1)] = (".mp4",)
    split: Str = "all"
    fold: Annotated[Int, Field(ge=1, le=3)] = 1
    default_protocol: Str = "fvd@stylegan-v-2048x16"


@config
class DemoConfig:
    count: PositiveInt = 16
    seed: Int = 0
    sizes: Annotated[tuple[Annotated[Int, AfterValidator(_demo_size)], ...],
                     Field(min_length=1)] = (64, 128)
    frames: Annotated[tuple[Annotated[Int, Field(ge=2)], ...], Field(min_length=1)] = (16, 24, 32)
    fps: PositiveInt = 8


@config
class DatasetConfig:
    name: Str
    kind: Literal[KINDS]
    description: Str
    prompts: PromptsConfig
    homepage: Str = ""
    citation: Str = ""
    download: Str = ""
    root_env: Str = ""
    expected_videos: Int = 0
    annotations: AnnotationsConfig = field(default_factory=AnnotationsConfig)
    real: RealConfig | None = None
    demo: DemoConfig | None = None
    # where it came from (not TOML keys)
    path: Path | None = internal(default=None, compare=False)
    sha256: str = internal(default="", compare=False)

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


# --- rules across keys (types, ranges and choices are in the classes above) -------------------

def _check(cfg: DatasetConfig, file: Path) -> None:
    if cfg.name != file.stem:
        raise ConfigError(f"{file}: name {cfg.name!r} must match the file name {file.stem!r}")
    if cfg.kind == "ucf101":
        if not cfg.prompts.classes:
            raise ConfigError(f"{file}: a ucf101 dataset needs [prompts.classes]")
        if not cfg.annotations.split_dirs:
            raise ConfigError(f"{file}: a ucf101 dataset needs annotations.split_dirs")
    if cfg.kind == "msrvtt" and not cfg.annotations.test_json:
        raise ConfigError(f"{file}: an msrvtt dataset needs annotations.test_json")
    if cfg.kind == "demo" and cfg.demo is None:
        raise ConfigError(f"{file}: a demo dataset needs a [demo] table")


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
    cfg = validate(DatasetConfig, table, str(path), path=path, sha256=hashlib.sha256(blob).hexdigest())
    _check(cfg, path)
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
        from ..errors import did_you_mean

        raise ConfigError(f"unknown dataset {s!r}.{did_you_mean(s, files)} "
                          f"Known: {', '.join(sorted(files)) or '(none)'} "
                          f"(searched {', '.join(map(str, dataset_dirs()))})")
    return parse_dataset_config(files[s])
