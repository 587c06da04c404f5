"""One validation mechanism for every config file ffbench reads (model, dataset, run TOMLs and
the [fusionframes] table), built on pydantic v2 (issue #16).

Why one mechanism: the rules are the same everywhere and must not drift apart. An unknown key is
an error (a misspelt `num_inference_step` would otherwise be ignored and change what is
measured), `true` is not an integer, `"3"` is not an integer, an integer is accepted where a
float is wanted, and the error is one line naming the file and the dotted key of *every*
mistake (`; `-joined, so all typos are fixed in one go), e.g.

    runs/x.toml: unknown key 'real.sed' (known: num_videos, root, seed, source, stats)
    models/foo.toml: key 'diffusers.dtype' = 'fp8' is not one of 'float32', 'float16' or 'bfloat16'
    runs/y.toml: unknown key 'modle' (did you mean 'model'? known: ...); key 'n' must be ...

Why pydantic *dataclasses* (`@config`) and not BaseModel: the config objects stay standard
frozen dataclasses, so `dataclasses.asdict/replace/fields`, equality, hashing and pickling keep
working unchanged for every caller, and the hashes that bind run directories to their configs
(`RunConfig.hash`, `ModelConfig.hash`, computed from `asdict`) cannot change by construction.
Construction validates (also `dataclasses.replace`); `validate()` is the entry point for tables
read from files, because only it knows the file to name.

Strictness is per type (the aliases below) rather than pydantic's global strict mode, which
would refuse a TOML array for a tuple field and a TOML table for a nested config.
Rules that relate several keys (kind-dependent tables, name == file stem, ...) stay explicit
checks next to each config, each with its own message.
"""
from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Annotated, Any, Union

from pydantic import ConfigDict, Field, PlainValidator, Strict, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass as _pydantic_dataclass
from pydantic_core import PydanticCustomError
from typing_extensions import is_typeddict

from .errors import ConfigError

__all__ = ["config", "validate", "replace", "internal", "describe", "SETTINGS", "Int", "Float", "Str",
           "Bool", "Number", "PositiveInt", "NonNegativeInt", "PositiveFloat", "Table"]

# extra="forbid": unknown keys are errors; validate_by_name: `replace(spec, cls=...)` works for
# fields whose TOML key is a Python keyword (`class`)
SETTINGS = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, defer_build=True)

Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]  # strict float still takes an int (stored as float)
Str = Annotated[str, Strict()]
Bool = Annotated[bool, Strict()]
PositiveInt = Annotated[int, Strict(), Field(gt=0)]
NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]
PositiveFloat = Annotated[float, Strict(), Field(gt=0)]
Table = Annotated[dict, Strict()]  # a TOML table passed on as it is (values unchecked)


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value


# an int or a float kept as given (an override `fps = 8` stays 8: it is hashed as written)
Number = Annotated[Union[int, float], PlainValidator(_number)]

_INTERNAL = "ffbench_internal"


def internal(**kw) -> Any:
    """A dataclass field set by ffbench (file path, hash), never a key of the file."""
    return dataclasses.field(metadata={_INTERNAL: True}, **kw)


def config(cls):
    """Decorator: `cls` becomes a frozen, validating (pydantic) dataclass with the shared rules."""
    return _pydantic_dataclass(frozen=True, config=SETTINGS)(cls)


@functools.cache
def _adapter(cls) -> TypeAdapter:
    return TypeAdapter(cls)


def validate(cls, table, src: str, *, prefix: str = "", **internal_values):
    """`table` (a parsed TOML table) -> a `cls` instance, or ConfigError naming `src` and the key.

    `prefix` is where `table` sits in its file (e.g. "fusionframes"), so keys are named in full.
    `internal_values` set the `internal()` fields, which the table itself may not hold.
    """
    if not isinstance(table, dict):
        raise ConfigError(f"{src}: {'[' + prefix + '] ' if prefix else ''}must be a table of keys, "
                          f"got {type(table).__name__}")
    for f in dataclasses.fields(cls):
        if f.metadata.get(_INTERNAL) and f.name in table:
            raise ConfigError(f"{src}: unknown key {_join(prefix, f.name)!r} (set by ffbench, not "
                              f"by the file)")
    try:
        return _adapter(cls).validate_python({**table, **internal_values})
    except ValidationError as e:
        raise ConfigError(describe(e, src, cls, table, prefix)) from None


def replace(obj, changes: dict, src: str):
    """`dataclasses.replace(obj, **changes)` (which validates the result again), with a bad change
    reported as a ConfigError naming `src` (e.g. "command-line options") and the key."""
    try:
        return dataclasses.replace(obj, **changes)
    except ValidationError as e:
        raise ConfigError(describe(e, src, type(obj), changes)) from None


# --- ValidationError -> one line ------------------------------------------------------------

_EXPECTED = {"int_type": "an integer", "float_type": "a number", "string_type": "a string",
             "bool_type": "true or false", "dict_type": "a table", "dataclass_type": "a table",
             "typed_dict_type": "a table", "tuple_type": "a list", "list_type": "a list"}
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def _join(prefix: str, key) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _dotted(loc: tuple, table, prefix: str) -> str:
    """pydantic's location -> the key as the file spells it: `published[0].value`, and for a
    table read into a tuple (`[diffusers.components.NAME]`) the table's key, not its index."""
    path, node = prefix, table
    for part in loc:
        if isinstance(part, int) and isinstance(node, dict) and part < len(node):
            part = list(node)[part]
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            path = _join(path, part)
            node = node.get(part) if isinstance(node, dict) else None
    return path


def _unwrap(hint):
    """The config class (or TypedDict) inside Optional[...] / tuple[..., ...] / Annotated[...]."""
    while typing.get_origin(hint) is Annotated:
        hint = typing.get_args(hint)[0]
    for arg in typing.get_args(hint) or ():
        found = _unwrap(arg)
        if found is not None:
            return found
    return hint if dataclasses.is_dataclass(hint) or is_typeddict(hint) else None


def _known_keys(cls, loc: tuple) -> list[str]:
    """The keys allowed in the table at `loc` (for "unknown key" messages)."""
    for part in loc:
        if isinstance(part, str):
            info = getattr(cls, "__pydantic_fields__", {}).get(part)
            cls = _unwrap(info.annotation) if info is not None else None
    if cls is None:
        return []
    if is_typeddict(cls):
        return sorted(typing.get_type_hints(cls))
    internal_names = {f.name for f in dataclasses.fields(cls) if f.metadata.get(_INTERNAL)}
    return sorted(info.alias or name for name, info in cls.__pydantic_fields__.items()
                  if name not in internal_names)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_UNKNOWN = ("unexpected_keyword_argument", "extra_forbidden")


def describe(e: ValidationError, src: str, cls, table, prefix: str = "") -> str:
    """Every error of `e` on one readable line, `; `-joined, so a user fixes all of them in one
    go (no pydantic URLs): `run.toml: unknown key 'modle' (did you mean 'model'? known: ...);
    key 'n' must be an integer, got bool True`.

    Unknown keys come first. A misspelt key also makes its correct spelling "missing": that
    missing key is folded into the typo's "did you mean" instead of being a second error. The
    list of a table's known keys is given once per table.
    """
    import difflib

    errors = e.errors(include_url=False)
    typos = [x for x in errors if x["type"] in _UNKNOWN]
    others = [x for x in errors if x["type"] not in _UNKNOWN]
    msgs, listed = [], set()
    for err in typos:
        loc = tuple(err["loc"])
        missing = {str(o["loc"][-1]): o for o in others
                   if o["type"] == "missing" and tuple(o["loc"])[:-1] == loc[:-1]}
        close = difflib.get_close_matches(str(loc[-1]), list(missing), n=1)
        if close:
            others.remove(missing[close[0]])
        known = _known_keys(cls, loc[:-1]) if loc[:-1] not in listed else []
        listed.add(loc[:-1])
        notes = ([f"did you mean {close[0]!r}?"] if close else []) + (
            [f"known: {', '.join(known)}"] if known else [])
        msgs.append(f"unknown key {_dotted(loc, table, prefix)!r}"
                    + (f" ({' '.join(notes)})" if notes else ""))
    msgs += [_message(err, table, prefix) for err in others]
    return f"{src}: " + "; ".join(msgs)


def _message(err: dict, table, prefix: str) -> str:
    """One pydantic error (other than an unknown key) as a phrase naming the dotted key."""
    kind, loc, value, ctx = err["type"], tuple(err["loc"]), err.get("input"), err.get("ctx") or {}
    key = _dotted(loc, table, prefix)
    if kind == "missing":
        msg = f"missing required key {key!r}"
    elif kind in _EXPECTED:
        msg = f"key {key!r} must be {_EXPECTED[kind]}, got {type(value).__name__} {_short(value)}"
    elif kind == "literal_error":
        msg = f"key {key!r} = {_short(value)} is not one of {ctx.get('expected')}"
    elif kind in _BOUNDS:
        bound = next(iter(ctx.values()), "?")
        msg = f"key {key!r} must be {_BOUNDS[kind]} {bound}, got {_short(value)}"
    elif kind in ("too_short", "string_too_short"):
        msg = f"key {key!r} must not be empty"
    elif kind in ("value_error", "assertion_error"):
        text = str(ctx.get("error", err["msg"]))
        if isinstance(value, (dict, list)) or not key:
            msg = f"[{key}] {text}" if key else text
        else:
            msg = f"key {key!r} = {_short(value)} {text}"
    else:
        msg = f"key {key!r}: {err['msg']}" if key else err["msg"]
    return msg
