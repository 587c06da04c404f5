"""FusionFrames options of `ffbench generate` (the generic command lives in generate.py).

    ffbench generate fusionframes --prompt TEXT | --prompts FILE --fps low|medium|high --out DIR
                                  [--weights DIR | --tiny] [--negative-prompt TEXT]

generate.py calls `add_options(parser)` and wraps its handler with `handler(generic)`; the
leading underscore keeps cli.py's command discovery away from this module. For a model of kind `fusionframes` the handler turns them into a derived model TOML written
next to the outputs (`<out>/fusionframes-config.toml`: the model's [fusionframes] table with the
fps mode, size, weight paths and negative prompt filled in, and the matching [video] table), then
runs the generic handler on it; so resume, per-sample seeds, JSON records and mp4 writing stay
the generic command's. `--prompt` writes its prompt(s) to `<out>/prompts.txt`.

- `--fps MODE`: a FusionFrames fps mode (low = 15 keyframes at 2 fps, medium = one interpolation
  pass, 57 frames at 8 fps, high = two passes, 225 frames at 30 fps for 15 keyframes); a number
  still overrides the playback rate as for any model.
- `--weights DIR`: a directory with the released files (kandinsky_video.pt,
  kandinsky_video_interpolation.pt, movq.pt, flan-ul2/); default: ffbench.weights' search path.
- `--tiny`: the smoke-test preset with random weights (ffbench.fusionframes.presets.SMOKE_TEST:
  5 keyframes, fps "medium" -> 17 frames, 64x64, 4 steps; the same as the registered model
  `fusionframes-tiny`). `--fps`, `--height`/`--width` and `--steps` still override it. The full
  defaults (the `fusionframes` model: 15 keyframes, 512x512, 50 steps) are untouched.

A model whose TOML says `random_weights = true` (e.g. `fusionframes-tiny`) keeps that mark in the
derived TOML, so every output is marked random without `--random-weights`.
"""
from __future__ import annotations

import functools
from pathlib import Path

from ..fusionframes.modes import FPS_MODES

_FF_OPTIONS = ("prompt", "weights", "tiny", "negative_prompt")


def fps_value(text: str):
    """--fps: a FusionFrames mode name, or a number (frames per second)."""
    if text in FPS_MODES:
        return text
    try:
        return float(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a number nor a FusionFrames fps mode ({', '.join(FPS_MODES)})") from None


def add_options(gen) -> None:
    """The FusionFrames options of the `generate` parser."""
    grp = gen.add_argument_group("FusionFrames (MODEL = fusionframes, or a TOML of kind fusionframes)")
    grp.add_argument("--prompt", action="append", metavar="TEXT",
                     help="a prompt (repeatable); instead of --prompts")
    grp.add_argument("--negative-prompt", default=None, metavar="TEXT", help="negative prompt")
    grp.add_argument("--weights", type=Path, default=None, metavar="DIR",
                     help="directory with kandinsky_video.pt, kandinsky_video_interpolation.pt, "
                          "movq.pt and flan-ul2/ (default: `ffbench weights list` locations)")
    grp.add_argument("--tiny", action="store_true",
                     help="smoke-test preset with random weights, finishing in seconds on a CPU "
                          "(= model fusionframes-tiny: 5 keyframes -> 17 frames, 64x64, 4 steps; "
                          "marked random_weights)")


def handler(generic):
    """The `generate` handler: FusionFrames options first, then the generic command."""
    return functools.partial(_handler, generic)


def _toml_value(v) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _write_toml(path: Path, top: dict, tables: dict) -> None:
    from ..fileio import atomic_write_text

    lines = [f"{k} = {_toml_value(v)}" for k, v in top.items() if v not in (None, "")]
    for name, table in tables.items():
        sub = {k: v for k, v in table.items() if isinstance(v, dict)}
        lines += ["", f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()
                                      if v is not None and not isinstance(v, dict)]
        for k, v in sub.items():
            lines += ["", f"[{name}.{k}]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    atomic_write_text(path, "# written by `ffbench generate` from the fusionframes model and its "
                            "options\n" + "\n".join(lines) + "\n")


def _handler(generic, args) -> int:
    from ..errors import ConfigError
    from ..generators.base import find_config

    cfg = find_config(args.model)
    given = [f"--{k.replace('_', '-')}" for k in _FF_OPTIONS if getattr(args, k)]
    if isinstance(args.fps, str):
        given.append(f"--fps {args.fps}")
    if cfg.kind != "fusionframes":
        if given:
            raise ConfigError(f"{', '.join(given)}: FusionFrames options, but model {cfg.name!r} is of kind "
                              f"{cfg.kind!r}")
        if args.prompts is None:
            raise ConfigError("--prompts FILE|DATASET is required")
        return generic(args)
    return generic(_fusionframes_args(args, cfg))


def _fusionframes_args(args, cfg):
    from ..errors import ConfigError
    from ..fusionframes.modes import FPS, output_frames

    if args.prompt and args.prompts:
        raise ConfigError("give --prompt or --prompts, not both")
    if not args.prompt and not args.prompts:
        raise ConfigError("--prompt TEXT or --prompts FILE|DATASET is required")
    if args.tiny and args.weights:
        raise ConfigError("--tiny (random weights) and --weights DIR exclude each other")
    if args.frames is not None:
        raise ConfigError("--frames does not apply to fusionframes: the frame count follows from the "
                          "keyframes and --fps low|medium|high")
    if args.prompts:  # a misspelt dataset fails before the output folder is made
        from .generate import check_prompts

        check_prompts(args.prompts)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.prompt:
        bad = [p for p in args.prompt if not p.strip() or "\n" in p]
        if bad:
            raise ConfigError(f"--prompt must be a non-empty single line, got {bad[0]!r}")
        prompts_file = out / "prompts.txt"
        from ..fileio import atomic_write_text

        atomic_write_text(prompts_file, "\n".join(p.strip() for p in args.prompt) + "\n")
        args.prompts = str(prompts_file)
    if args.tiny:
        args.random_weights = True

    table = dict(cfg.fusionframes or {})
    if args.tiny:
        from ..fusionframes.presets import SMOKE_TEST

        table.update(SMOKE_TEST)
    mode = args.fps if isinstance(args.fps, str) else table.get("fps_mode", "low")
    table["fps_mode"] = mode
    table["height"] = args.height or table.get("height", 512)
    table["width"] = args.width or table.get("width", 512)
    if args.negative_prompt is not None:
        table["negative_prompt"] = args.negative_prompt
    if args.weights is not None:
        w = args.weights.expanduser()
        table.update(keyframe_weights=str(w / "kandinsky_video.pt"),
                     interpolation_weights=str(w / "kandinsky_video_interpolation.pt"),
                     movq_weights=str(w / "movq.pt"), text_encoder_weights=str(w / "flan-ul2"))
    if mode not in FPS:
        raise ConfigError(f"fps mode {mode!r} is not one of {', '.join(FPS)}")
    keyframes = int(table.get("keyframes", 15))
    video = {"frames": output_frames(keyframes, mode), "height": table["height"], "width": table["width"],
             "fps": float(args.fps) if isinstance(args.fps, float) else FPS[mode]}
    top = {"name": cfg.name, "kind": "fusionframes", "display_name": cfg.display_name,
           "description": cfg.description, "source": cfg.source, "license": cfg.license,
           "random_weights": True if (cfg.random_weights or args.tiny) else None}
    derived = out / "fusionframes-config.toml"
    _write_toml(derived, top, {"video": video, "fusionframes": table})
    args.model = str(derived)
    args.height = args.width = args.fps = None
    return args
