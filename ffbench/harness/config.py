"""The run config: a TOML file (or CLI flags) validated into a frozen dataclass.

Why a strict schema: a run directory is bound to its config by hash (rundir.py); a typo that
silently fell back to a default would make two "identical" runs differ. Unknown keys and wrong
types are errors naming the key and the file (ffbench.schema, shared by every config file).

Two kinds of fields:
- *result fields* decide what the run produces (model, prompts, seeds, metrics, batch sizes,
  extractor choice). They make up `config_hash`; resuming a run directory with different
  result fields is an error.
- *execution fields* only decide how this invocation runs (output dir, database, failure
  limit, bootstrap count, progress output). They may change between a crash and its resume.

Example (every key; only `model`, `dataset` and `metrics` are required). The README section
"Run config file" lists the same keys for users (`ffbench run --help` points there);
tests/test_cli_promises.py keeps the two in sync with the fields below.

    model = "zeroscope-v2-576w"        # model name, model TOML path, or "module:function"
    dataset = "ucf101"                 # prompt set (ffbench.data): ucf101, msrvtt, demo
    n = 2048                           # number of prompts (default: the dataset's default)
    seed = 0                           # run seed; per-sample seeds derive from (seed, sample id)
    metrics = ["fvd@stylegan-v-2048x16", "is@c3d-ucf101", "clipsim@vit-b-32"]
    random_weights = false             # generator with random weights (smoke tests only)
    random_extractors = false          # feature extractors with random weights (marked)
    batch_size = 1                     # prompts per generator call
    feature_batch_size = 8             # videos per extractor call (batches are padded to it)
    dataset_root = ""                  # dataset folder (else the dataset's env var)
    prompt_file = ""                   # UCF-101 per-class prompt file
    source = ""                        # a folder of existing videos to score as they are (no generation)
    resolution = 0                     # FVD detector input size, only with random_extractors (0: the protocol's)
    out = "runs/zeroscope-ucf101"      # run directory (--out wins)
    max_failures = 0                   # stop after this many failed samples (0: never)
    bootstrap = 0                      # bootstrap resamples for FVD/IS confidence intervals
    db = ""                            # results store URL or SQLite path ("" = default)
    workers = 4                        # video-decoding processes (default min(4, CPUs); 0: in-process)
    device = ""                        # torch device ("": cuda:LOCAL_RANK if present, else cpu)

    [model_overrides]                  # see ffbench.generators.apply_overrides
    frames = 16

    [real]                             # real statistics for FVD
    source = ""                        # dataset name or folder (default: `dataset`)
    root = ""                          # dataset folder for a dataset name
    num_videos = 0                     # 0: the protocol's count
    seed = 0                           # clip-offset seed
    stats = ""                         # a .npz / reference .pkl of real statistics instead

    [extractors]                       # replace an extractor by a "module:function" factory
    # "i3d-torchscript" = "mypkg.extractors:build_i3d"
"""
from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import asdict, field, replace
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field
from typing_extensions import TypedDict

from ..errors import ConfigError
from ..schema import (SETTINGS, Bool, Int, NonNegativeInt, Number, PositiveInt, Str, config, internal,
                      validate)
from ..schema import replace as replace_checked
from ..textio import read_text

__all__ = ["RunConfig", "RealConfig", "load_run_config", "parse_run_config", "parse_metrics",
           "EXECUTION_FIELDS"]

EXECUTION_FIELDS = ("out", "max_failures", "bootstrap", "db", "extractor_weights", "device",
                    "workers")


def default_workers() -> int:
    """Video-decoding processes when none are given: min(4, CPUs) (ffbench.video.loader)."""
    return min(4, os.cpu_count() or 1)


class ModelOverrides(TypedDict, total=False):
    """[model_overrides] (see ffbench.generators.apply_overrides); numbers are kept as written
    (`fps = 8` stays 8): they are part of the run hash."""
    __pydantic_config__ = SETTINGS
    frames: Int
    height: Int
    width: Int
    fps: Number
    steps: Int
    guidance: Number


def _entry_point(value: str) -> str:
    mod, sep, attr = value.partition(":")
    if not sep or not mod or not attr:
        raise ValueError("must be 'module:function'")
    return value


def _sorted(table: dict) -> dict:
    return dict(sorted(table.items()))


NonEmptyStr = Annotated[Str, Field(min_length=1)]


@config
class RealConfig:
    source: Str = ""
    root: Str = ""
    num_videos: Int = 0
    seed: Int = 0
    stats: Str = ""


@config
class RunConfig:
    model: NonEmptyStr
    dataset: NonEmptyStr
    metrics: tuple[Str, ...]  # full names (parse_metrics)
    n: NonNegativeInt = 0
    seed: NonNegativeInt = 0
    random_weights: Bool = False
    random_extractors: Bool = False
    batch_size: PositiveInt = 1
    feature_batch_size: PositiveInt = 8
    dataset_root: Str = ""
    prompt_file: Str = ""
    model_overrides: Annotated[ModelOverrides, AfterValidator(_sorted)] = field(default_factory=dict)
    real: RealConfig = field(default_factory=RealConfig)
    extractors: Annotated[dict[Str, Annotated[Str, AfterValidator(_entry_point)]],
                          AfterValidator(_sorted)] = field(default_factory=dict)
    # a folder of existing videos to evaluate as they are (`ffbench evaluate`): nothing is
    # generated, `model` is only the name the results are stored under
    source: Str = ""
    # detector input size of random-weight extractors (smoke tests; 0 = the protocol's). It
    # changes the protocols, so their hashes: such numbers are never comparable to real ones
    resolution: NonNegativeInt = 0
    # hash of the model's TOML, taken when the config is parsed (not settable): editing a model
    # file must not resume into the old run unnoticed
    model_config_hash: str = internal(default="")
    # execution fields (not hashed)
    out: Str = ""
    max_failures: NonNegativeInt = 0
    bootstrap: NonNegativeInt = 0
    db: Str = ""
    # extractor name -> explicit weights file (`evaluate --weights`; not a config key)
    extractor_weights: dict = internal(default_factory=dict)
    device: Str = ""                   # torch device ("" = cuda:LOCAL_RANK if present, else cpu)
    # DataLoader processes decoding videos ahead of the extractor, fake and real side (0: in
    # this process); results do not depend on it
    workers: NonNegativeInt = field(default_factory=default_workers)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["metrics"] = list(self.metrics)
        return d

    def result_dict(self) -> dict:
        """The fields that decide the results (what `config_hash` covers)."""
        d = self.to_dict()
        for k in EXECUTION_FIELDS:
            d.pop(k)
        return d

    @property
    def hash(self) -> str:
        blob = json.dumps(self.result_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def protocols(self) -> list:
        """Protocol objects of `metrics`, with `resolution` applied by each family (the I3D
        detector of FVD and KVD: one small stand-in pass for both)."""
        from .. import protocols as P
        from .families import family

        out = []
        for name in self.metrics:
            p = P.get(name)
            if self.resolution:
                p = family(p).at_resolution(p, self.resolution)
            out.append(p)
        return out

    def with_execution(self, **kw) -> "RunConfig":
        """Override execution fields (None leaves a field as it is)."""
        bad = set(kw) - set(EXECUTION_FIELDS)
        if bad:
            raise ConfigError(f"not execution fields: {sorted(bad)}")
        return replace_checked(self, {k: v for k, v in kw.items() if v is not None}, "execution options")


def model_config_hash(model: str) -> str:
    """`ModelConfig.hash` of a model name or TOML; "" for a "module:function" entry point, whose
    code ffbench cannot hash."""
    if is_entry_point(model):
        return ""
    from ..generators.base import find_config

    return find_config(model).hash


def is_entry_point(model: str) -> bool:
    """"module:function" rather than a model name or TOML path."""
    mod, sep, attr = model.partition(":")
    return bool(sep and mod and attr and not model.endswith(".toml") and "/" not in mod
                and "\\" not in mod)


def parse_metrics(items, where: str = "metrics") -> tuple[str, ...]:
    """Metric names -> full `metric@protocol` names (shorthands and unique prefixes allowed): a
    bare family name stands for its family's `default_protocol` (`--metrics fvd,clipsim,is`).
    An unknown name is a ConfigError with a "Did you mean" (ffbench.errors.did_you_mean), the
    shorthands and the protocols; a prefix of several protocols names them."""
    from .. import protocols as P
    from ..errors import did_you_mean
    from .families import FAMILIES, default_protocol

    if isinstance(items, str):
        items = [s for s in items.split(",")]
    out: list[str] = []
    for raw in items:
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"{where}: metric names must be non-empty strings, got {raw!r}")
        name = raw.strip()
        name = default_protocol(name) or name
        known = P.names()
        if name not in known:
            matches = [k for k in known if k.startswith(name)]
            if len(matches) > 1:
                raise ConfigError(f"{where}: metric {raw!r} is ambiguous: it begins "
                                  f"{', '.join(matches)}")
            if not matches:
                shorthands = [f"{m} (= {default_protocol(m)})" for m in FAMILIES]
                protocols = [k for k in known if P.get(k).metric in FAMILIES]
                raise ConfigError(
                    f"{where}: unknown metric {raw!r}.{did_you_mean(name, [*FAMILIES, *protocols])}"
                    f" Shorthands: {', '.join(shorthands)}; protocols: {', '.join(protocols)} "
                    "(`ffbench protocols list`)")
            name = matches[0]
        if P.get(name).metric not in FAMILIES:
            raise ConfigError(f"{where}: {name} is not a generation metric ({', '.join(FAMILIES)})")
        if name not in out:
            out.append(name)
    return tuple(out)  # none: a generation-only run (`ffbench generate`)


def parse_run_config(data: dict, src: str = "<config>", *, check_model: bool = True) -> RunConfig:
    """Validate a config table completely (before anything is written). `check_model=False`
    for configs that generate nothing (`stats compute`)."""
    table = dict(data) if isinstance(data, dict) else data
    if isinstance(table, dict) and isinstance(table.get("metrics"), (str, list, tuple)):
        table["metrics"] = parse_metrics(table["metrics"], f"{src}: key 'metrics'")
    cfg = validate(RunConfig, table, src)
    if cfg.resolution and not cfg.random_extractors:
        raise ConfigError(f"{src}: resolution only goes with random_extractors (smoke tests); real "
                          "numbers use the protocol's size")
    if cfg.source or not check_model:
        return cfg
    return replace(cfg, model_config_hash=model_config_hash(cfg.model))


def load_run_config(path, overrides: dict | None = None) -> RunConfig:
    """The run config in the TOML file `path`, with `overrides` (command-line options: top-level
    keys, and keys of [real] / [model_overrides] / [extractors] given as a table) merged into the
    file's table *before* it is validated once, so an option is checked like the key it replaces
    and errors name both the file and the options."""
    path = Path(path)
    try:
        data = tomllib.loads(read_text(path, "run config"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: run config not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    if not overrides:
        return parse_run_config(data, str(path))
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return parse_run_config(data, f"{path} + command-line options")
