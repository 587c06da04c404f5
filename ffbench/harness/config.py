"""The run config: a TOML file (or CLI flags) validated into a frozen dataclass.

Why a strict schema: a run directory is bound to its config by hash (rundir.py); a typo that
silently fell back to a default would make two "identical" runs differ. Unknown keys and wrong
types are errors naming the key and the file.

Two kinds of fields:
- *result fields* decide what the run produces (model, prompts, seeds, metrics, batch sizes,
  extractor choice). They make up `config_hash`; resuming a run directory with different
  result fields is an error.
- *execution fields* only decide how this invocation runs (output dir, database, failure
  limit, bootstrap count, progress output). They may change between a crash and its resume.

Example (every key; only `model`, `dataset` and `metrics` are required):

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
    out = "runs/zeroscope-ucf101"      # run directory (--out wins)
    max_failures = 0                   # stop after this many failed samples (0: never)
    bootstrap = 0                      # bootstrap resamples for FVD/IS confidence intervals
    db = ""                            # results store URL or SQLite path ("" = default)
    workers = 4                        # video-decoding processes (default min(4, CPUs); 0: in-process)

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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..errors import ConfigError
from ..textio import read_text

__all__ = ["RunConfig", "RealConfig", "load_run_config", "parse_run_config", "parse_metrics",
           "METRIC_DEFAULTS", "EXECUTION_FIELDS"]

# shorthand -> protocol (`--metrics fvd,clipsim,is`)
METRIC_DEFAULTS = {"fvd": "fvd@stylegan-v-2048x16", "is": "is@c3d-ucf101",
                   "clipsim": "clipsim@vit-b-32", "kvd": "kvd@stylegan-v-2048x16",
                   "fid": "fid@clean-frames-16", "kid": "kid@clean-frames-16",
                   "jedi": "jedi@vjepa2-vitl-ssv2"}
EXECUTION_FIELDS = ("out", "max_failures", "bootstrap", "db", "extractor_weights", "device",
                    "workers")


def default_workers() -> int:
    """Video-decoding processes when none are given: min(4, CPUs) (ffbench.video.loader)."""
    return min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class RealConfig:
    source: str = ""
    root: str = ""
    num_videos: int = 0
    seed: int = 0
    stats: str = ""


@dataclass(frozen=True)
class RunConfig:
    model: str
    dataset: str
    metrics: tuple[str, ...]
    n: int = 0
    seed: int = 0
    random_weights: bool = False
    random_extractors: bool = False
    batch_size: int = 1
    feature_batch_size: int = 8
    dataset_root: str = ""
    prompt_file: str = ""
    model_overrides: dict = field(default_factory=dict)
    real: RealConfig = field(default_factory=RealConfig)
    extractors: dict = field(default_factory=dict)
    # a folder of existing videos to evaluate as they are (`ffbench evaluate`): nothing is
    # generated, `model` is only the name the results are stored under
    source: str = ""
    # detector input size of random-weight extractors (smoke tests; 0 = the protocol's). It
    # changes the protocols, so their hashes: such numbers are never comparable to real ones
    resolution: int = 0
    # hash of the model's TOML, taken when the config is parsed (not settable): editing a model
    # file must not resume into the old run unnoticed
    model_config_hash: str = ""
    # execution fields (not hashed)
    out: str = ""
    max_failures: int = 0
    bootstrap: int = 0
    db: str = ""
    extractor_weights: dict = field(default_factory=dict)  # extractor name -> explicit weights file
    device: str = ""                   # torch device ("" = cuda:LOCAL_RANK if present, else cpu)
    # DataLoader processes decoding videos ahead of the extractor, fake and real side (0: in
    # this process); results do not depend on it
    workers: int = field(default_factory=default_workers)

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
        """Protocol objects of `metrics`, with `resolution` applied (FVD only)."""
        from dataclasses import replace as _replace

        from .. import protocols as P

        out = []
        for name in self.metrics:
            p = P.get(name)
            if self.resolution and p.metric == "fvd":
                p = _replace(p, resolution=self.resolution)
            out.append(p)
        return out

    def with_execution(self, **kw) -> "RunConfig":
        """Override execution fields (None leaves a field as it is)."""
        bad = set(kw) - set(EXECUTION_FIELDS)
        if bad:
            raise ConfigError(f"not execution fields: {sorted(bad)}")
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


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


_TYPES = {"model": str, "dataset": str, "n": int, "seed": int, "random_weights": bool,
          "random_extractors": bool, "batch_size": int, "feature_batch_size": int,
          "dataset_root": str, "prompt_file": str, "out": str, "max_failures": int,
          "bootstrap": int, "db": str, "source": str, "resolution": int, "device": str,
          "workers": int}
_REAL_TYPES = {"source": str, "root": str, "num_videos": int, "seed": int, "stats": str}
_OVERRIDE_TYPES = {"frames": int, "height": int, "width": int, "fps": (int, float),
                   "steps": int, "guidance": (int, float)}


def _typed(where: str, key: str, value, types):
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        names = " or ".join(t.__name__ for t in types)
        raise ConfigError(f"{where}: key {key!r} must be {names}, got {type(value).__name__} {value!r}")
    return value


def parse_metrics(items, where: str = "metrics") -> tuple[str, ...]:
    """Metric names -> full `metric@protocol` names (shorthands and unique prefixes allowed)."""
    from .. import protocols as P

    if isinstance(items, str):
        items = [s for s in items.split(",")]
    out: list[str] = []
    for raw in items:
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"{where}: metric names must be non-empty strings, got {raw!r}")
        name = raw.strip()
        if name in METRIC_DEFAULTS:
            name = METRIC_DEFAULTS[name]
        known = P.names()
        if name not in known:
            matches = [k for k in known if k.startswith(name)]
            if len(matches) != 1:
                hint = f"matches {matches}" if matches else f"known: {', '.join(known)}"
                raise ConfigError(f"{where}: unknown metric {raw!r} ({hint})")
            name = matches[0]
        from .families import FAMILIES

        if P.get(name).metric not in FAMILIES:
            raise ConfigError(f"{where}: {name} is not a generation metric ({', '.join(FAMILIES)})")
        if name not in out:
            out.append(name)
    return tuple(out)  # none: a generation-only run (`ffbench generate`)


def _entry_point(where: str, key: str, value: str) -> str:
    mod, sep, attr = value.partition(":")
    if not sep or not mod or not attr:
        raise ConfigError(f"{where}: {key} = {value!r} must be 'module:function'")
    return value


def parse_run_config(data: dict, src: str = "<config>", *, check_model: bool = True) -> RunConfig:
    """Validate a config table completely (before anything is written). `check_model=False`
    for configs that generate nothing (`stats compute`)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{src}: a run config is a table of keys")
    data = dict(data)
    allowed = set(_TYPES) | {"metrics", "model_overrides", "real", "extractors"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{src}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    for req in ("model", "dataset", "metrics"):
        if req not in data or data[req] in ("", None):
            raise ConfigError(f"{src}: key {req!r} is required")
    kw = {k: _typed(src, k, data[k], t) for k, t in _TYPES.items() if k in data}
    kw["metrics"] = parse_metrics(data["metrics"], f"{src}: metrics")
    for k in ("n", "seed", "max_failures", "bootstrap", "workers"):
        if kw.get(k, 0) < 0:
            raise ConfigError(f"{src}: {k} must be >= 0, got {kw[k]}")
    for k in ("batch_size", "feature_batch_size"):
        if k in kw and kw[k] < 1:
            raise ConfigError(f"{src}: {k} must be >= 1, got {kw[k]}")
    mo = data.get("model_overrides", {})
    if not isinstance(mo, dict):
        raise ConfigError(f"{src}: [model_overrides] must be a table")
    for k, v in mo.items():
        if k not in _OVERRIDE_TYPES:
            raise ConfigError(f"{src}: [model_overrides] unknown key {k!r}; allowed: {sorted(_OVERRIDE_TYPES)}")
        _typed(f"{src} [model_overrides]", k, v, _OVERRIDE_TYPES[k])
    kw["model_overrides"] = dict(sorted(mo.items()))
    real = data.get("real", {})
    if not isinstance(real, dict):
        raise ConfigError(f"{src}: [real] must be a table")
    bad = sorted(set(real) - set(_REAL_TYPES))
    if bad:
        raise ConfigError(f"{src}: [real] unknown key(s) {bad}; allowed: {sorted(_REAL_TYPES)}")
    kw["real"] = RealConfig(**{k: _typed(f"{src} [real]", k, v, _REAL_TYPES[k]) for k, v in real.items()})
    ex = data.get("extractors", {})
    if not isinstance(ex, dict):
        raise ConfigError(f"{src}: [extractors] must be a table")
    kw["extractors"] = {k: _entry_point(f"{src} [extractors]", k, _typed(src, k, v, str))
                        for k, v in sorted(ex.items())}
    if kw.get("resolution") and not kw.get("random_extractors"):
        raise ConfigError(f"{src}: resolution only goes with random_extractors (smoke tests); real "
                          "numbers use the protocol's size")
    if kw.get("resolution", 0) < 0:
        raise ConfigError(f"{src}: resolution must be >= 0")
    kw["model_config_hash"] = "" if kw.get("source") or not check_model else model_config_hash(kw["model"])
    return RunConfig(**kw)


def load_run_config(path) -> RunConfig:
    path = Path(path)
    try:
        data = tomllib.loads(read_text(path, "run config"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: run config not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    return parse_run_config(data, str(path))
