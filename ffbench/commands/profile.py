"""`ffbench profile`: FLOPs, parameters and memory of every FusionFrames stage (and of MFI).

On the meta device (default) full-size models cost no memory; `--device cpu|cuda` also times the
interpolation stages (FusionFrames vs masked-frame interpolation) on that device, so the FLOPs
ratio and the time ratio stand side by side.
"""
from __future__ import annotations

from ..progress import add_quiet_flag
from ._util import add_command, add_json_flag, print_json, print_table


def register(subparsers) -> None:
    from ..profiling import DECODER_VARIANTS, STAGES

    p = add_command(subparsers, "profile", help="FLOPs / params / memory per pipeline stage, sweeps, plots",
                    func=run_profile,
                    description="Profile FusionFrames stages (text encoder, keyframe UNet, "
                                "interpolation, masked-frame interpolation, MoVQ decoders, whole "
                                "pipeline) with torch's FlopCounterMode. Default: full size on the "
                                "meta device (no weights, no memory).")
    p.add_argument("--stage", nargs="+", choices=STAGES, metavar="NAME",
                   help=f"stages to profile (default: all): {', '.join(STAGES)}")
    p.add_argument("--preset", choices=("full", "tiny"), default="full")
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--keyframes", type=int, default=15)
    p.add_argument("--fps", choices=("low", "medium", "high"), default="high")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--no-guidance", action="store_true", help="profile without classifier-free guidance")
    p.add_argument("--decoder", choices=DECODER_VARIANTS, default="image",
                   help="decoder of the pipeline rows (the decoder stage lists all variants)")
    p.add_argument("--sweep", action="append", metavar="AXIS=V1,V2",
                   help="sweep an axis (repeatable): resolution, height, width, keyframes, fps, "
                        "steps, guidance (on/off), decoder, preset; e.g. --sweep resolution=256,512,1024")
    p.add_argument("--device", choices=("meta", "cpu", "cuda"), default="meta",
                   help="where models are built (meta: FLOPs only); cpu/cuda also time interpolation vs MFI")
    add_json_flag(p, help="print rows as JSON")
    p.add_argument("--plot", metavar="FILE", help="write the interpolation-vs-MFI plot (FILE.png + FILE.svg)")
    p.add_argument("--out", metavar="DIR", help="write DIR/profile.json, profile.csv and plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (same as --quiet for the bar)")
    add_quiet_flag(p)


def run_profile(args) -> int:
    import sys
    from pathlib import Path

    from ..errors import ConfigError
    from ..progress import progress_enabled
    from ..profiling.stages import STAGES, Point
    from ..profiling.sweep import interp_mfi_ratio, parse_sweep, plot_interp_vs_mfi, sweep, write_profile

    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available")
    base = Point(preset=args.preset, height=args.height, width=args.width, keyframes=args.keyframes,
                 fps=args.fps, steps=args.steps, guidance=not args.no_guidance, decoder=args.decoder,
                 device=args.device)
    grid = parse_sweep(args.sweep)
    stages = tuple(args.stage or STAGES)
    df = sweep(base, grid, stages, progress=not args.no_progress and progress_enabled(args.quiet))
    timing = []
    if args.device != "meta" and {"interpolation", "mfi"} & set(stages):
        from ..profiling.sweep import grid_points
        from ..profiling.timing import time_interpolation

        for p in grid_points(base, grid):
            timing.extend(time_interpolation(p))
    if args.out:
        import pandas as pd

        written = write_profile(df, args.out)
        if timing:
            from ..fileio import atomic_write_text
            import json

            atomic_write_text(Path(args.out) / "timing.json", json.dumps(timing, indent=1))
            pd.DataFrame(timing).to_csv(Path(args.out) / "timing.csv", index=False)
        if not args.json:
            print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    if args.plot:
        stem = Path(args.plot)
        stem.parent.mkdir(parents=True, exist_ok=True)
        plot_interp_vs_mfi(df, stem.with_suffix(""))
    if args.json:
        import json

        print_json({"rows": json.loads(df.to_json(orient="records")), "timing": timing})
        return 0
    rows = []
    for r in df.to_dict("records"):
        rows.append({"stage": r["stage"], "variant": r["variant"],
                     "pass": "" if r["pass"] != r["pass"] or r["pass"] is None else int(r["pass"]),
                     "size": f"{r['height']}x{r['width']}", "fps": r["fps"], "T": r["keyframes"],
                     "frames": r["frames_out"], "TFLOPs": f"{r['flops'] / 1e12:,.2f}",
                     "params(M)": f"{r['params'] / 1e6:,.1f}",
                     "fp16 weights(GiB)": f"{r['weights_bytes_fp16'] / 2**30:.2f}",
                     "act est fp32(GiB)": f"{r['activation_bytes'] / 2**30:.2f}"})
    print_table(rows, list(rows[0]) if rows else ["stage"])
    if {"interpolation", "mfi"} <= set(df["stage"]):
        ratio = interp_mfi_ratio(df)
        print("\nMFI / FusionFrames interpolation FLOPs per video:")
        for r in ratio.to_dict("records"):
            print(f"  {r['height']}x{r['width']} fps={r['fps']} T={r['keyframes']}: "
                  f"{r['mfi_over_interpolation']:.2f}x")
    if timing:
        print("\nmeasured on", args.device)
        print_table([{k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in t.items()
                      if k in ("stage", "pass", "batch", "seconds_per_call", "seconds")} for t in timing],
                    ["stage", "pass", "batch", "seconds_per_call", "seconds"])
        secs = {}
        for t in timing:
            key = (t["height"], t["width"], t["fps"], t["keyframes"])
            secs.setdefault(key, {}).setdefault(t["stage"], 0.0)
            secs[key][t["stage"]] += t["seconds"]
        for (h, w, fps, k), s in secs.items():
            if s.get("interpolation"):
                print(f"MFI / FusionFrames interpolation time per video, {h}x{w} fps={fps} T={k}: "
                      f"{s.get('mfi', 0.0) / s['interpolation']:.2f}x")
    return 0
