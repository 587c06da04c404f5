"""`ffbench models list|show`: the model configs (baselines/*.toml) and their published numbers."""
from __future__ import annotations

from ._util import add_command, add_group, add_json_flag, print_json, print_table


def register(subparsers) -> None:
    _, sub = add_group(subparsers, "models", help="list and show model configs (baselines, FusionFrames)",
                       description="Model configs are TOML files found in $FFBENCH_BASELINES, a "
                                   "checkout's baselines/ and the packaged ffbench/resources/baselines/.")
    p = add_command(sub, "list", "list every known model", _list)
    p.add_argument("--kind", choices=["diffusers", "fusionframes", "published"],
                   help="only models of this kind (published = reference-only numbers)")
    add_json_flag(p)
    p = add_command(sub, "show", "show one model's config, weights status and published numbers", _show)
    p.add_argument("name", metavar="NAME", help="model name or path to a .toml file")
    add_json_flag(p)


def _summary(cfg) -> dict:
    v = cfg.video
    d = cfg.diffusers
    return {
        "name": cfg.name, "kind": cfg.kind, "display_name": cfg.display_name,
        "video": f"{v.frames}x{v.height}x{v.width}@{v.fps:g}fps" if v else "",
        "pipeline": d.pipeline if d else ("FusionFramesPipeline" if cfg.kind == "fusionframes" else ""),
        "model": d.model if d else "",
        "published": len(cfg.published), "random_weights": cfg.random_weights, "path": cfg.path,
    }


def _list(args) -> int:
    from ..generators.base import available_models, search_paths

    rows = [_summary(c) for c in available_models().values() if not args.kind or c.kind == args.kind]
    rows.sort(key=lambda r: (r["kind"] != "fusionframes", r["kind"], r["name"]))
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        r["weights"] = "RANDOM" if r["random_weights"] else "released"
    print_table(rows, ["name", "kind", "weights", "video", "pipeline", "model", "published"])
    if any(r["random_weights"] for r in rows):
        print("\nRANDOM: random-weight test models (tiny, marked random_weights in every output); "
              "they run anywhere in seconds and say nothing about quality.")
    print("\nsearched: " + ", ".join(str(p) for p in search_paths()))
    return 0


def _weights_status(cfg) -> dict | None:
    """Whether a diffusers model's weights are on this machine (no download, no loading)."""
    if cfg.kind != "diffusers":
        return None
    from ..generators.diffusers import ModelNotInCache, resolve_model
    from ..generators.tiny import builtin_dir, is_builtin
    from ..errors import ConfigError

    status = {}
    for label, model, rev in [("pipeline", cfg.diffusers.model, cfg.diffusers.revision)] + [
            (f"component {c.name}", c.model, None) for c in cfg.diffusers.components if c.model]:
        if is_builtin(model):  # built locally on first use; `show` must not build it
            where = builtin_dir(model, cfg.path or cfg.name)
            built = (where / "model_index.json").is_file()
            status[label] = {"model": model, "found": str(where) if built else None, "builtin": True,
                             "how": f"built-in tiny pipeline with random weights: built on first use "
                                    f"into {where} (seconds, no download)"}
            continue
        try:
            status[label] = {"model": model, "found": str(resolve_model(model, rev, cfg.path or cfg.name))}
        except (ModelNotInCache, ConfigError) as e:
            status[label] = {"model": model, "found": None, "how": str(e)}
    return status


def _show(args) -> int:
    from ..generators.base import find_config

    cfg = find_config(args.name)
    data = cfg.to_dict()
    data["weights"] = _weights_status(cfg)
    if args.json:
        print_json(data)
        return 0
    print(f"{cfg.display_name} [{cfg.name}]  kind={cfg.kind}  hash={cfg.hash[:12]}")
    print(f"file: {cfg.path}")
    for key in ("description", "source", "license"):
        if getattr(cfg, key):
            print(f"{key}: {getattr(cfg, key)}")
    if cfg.random_weights:
        print("RANDOM WEIGHTS (test/demo model)")
    if cfg.video:
        v = cfg.video
        print(f"video: {v.frames} frames, {v.height}x{v.width}, {v.fps:g} fps")
    if cfg.diffusers:
        d = cfg.diffusers
        print(f"diffusers: {d.pipeline}  model={d.model}  dtype={d.dtype}  mode={d.mode}"
              + (f"  variant={d.variant}" if d.variant else "") + f"  offload={d.offload}")
        if d.call:
            print("call: " + ", ".join(f"{k}={v!r}" for k, v in d.call.items()))
        if d.scheduler:
            print(f"scheduler: {d.scheduler.cls} {d.scheduler.config}")
        for c in d.components:
            print(f"component {c.name}: {c.cls} {c.model or ''} {c.subfolder or ''}".rstrip())
        for label, st in (data["weights"] or {}).items():
            missing = "not built yet (random weights)" if st.get("builtin") else "MISSING"
            print(f"weights ({label}): " + (st["found"] or missing + "\n  " + st["how"].replace("\n", "\n  ")))
    if cfg.fusionframes:
        print("fusionframes: " + ", ".join(f"{k}={v!r}" for k, v in cfg.fusionframes.items()))
    if cfg.notes:
        print(f"notes: {cfg.notes}")
    if cfg.published:
        print("\npublished numbers:")
        rows = [{"metric": r.metric, "value": r.value if r.as_printed is None else
                 f"{r.value} (printed {r.as_printed})", "dataset": r.dataset or "",
                 "variant": r.variant or "", "zero_shot": "" if r.zero_shot is None else r.zero_shot,
                 "source": r.source} for r in cfg.published]
        print_table(rows, ["metric", "value", "dataset", "variant", "zero_shot", "source"])
    return 0
