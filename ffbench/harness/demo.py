"""The main job on the embedded tiny default: generate -> evaluate -> profile -> report.

What `tox -e demo` runs. Everything is explicit about being a demo: the generators
(FusionFrames `tiny` and a tiny diffusers text-to-video pipeline) and the feature extractors
(I3D, C3D, CLIP) all have random weights, so every number is marked `random_weights` and the
report carries its banner. The prompts and the "real" videos are the embedded synthetic demo set
(ffbench.data.demo). The cost profile is the real thing: full-size models on the meta device.

The demo writes into one folder (default `demo_out/`), its results store included, so it never
touches the user's `$FFBENCH_HOME` leaderboard.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

__all__ = ["DemoOptions", "run_demo"]

# the registered tiny models (ffbench/resources/baselines/*.toml), random weights, explicitly:
# what a new user runs by name (`ffbench run --model fusionframes-tiny ...`)
DEMO_MODELS = ("fusionframes-tiny", "tiny-diffusers")


@dataclass(frozen=True)
class DemoOptions:
    out: Path = Path("demo_out")
    n: int = 16  # the whole embedded demo set
    seed: int = 0
    steps: int | None = None  # sampler steps of both tiny generators (None: the models' own, 4)
    # KVD shares FVD's I3D pass: one of the newer distances at no extra network cost
    metrics: tuple[str, ...] = ("fvd@stylegan-v-2048x16", "kvd@stylegan-v-2048x16", "is@c3d-ucf101",
                                "clipsim@vit-b-32")
    profile: bool = True
    quiet: bool = False


def _say(opts: DemoOptions, msg: str) -> None:
    if not opts.quiet:
        print(msg, flush=True)


def _evaluate(opts: DemoOptions, name: str, db: str) -> Path:
    from .config import parse_run_config
    from .rundir import RunDirError
    from .runner import run

    run_dir = opts.out / "runs" / name
    config = parse_run_config({
        "model": name,
        "model_overrides": {"steps": opts.steps} if opts.steps else {},
        "dataset": "demo",
        "n": opts.n,
        "seed": opts.seed,
        "metrics": list(opts.metrics),
        "random_weights": True,
        "random_extractors": True,
        "real": {"num_videos": opts.n},
        "out": str(run_dir),
        "db": db,
    }, src="<demo>")
    try:
        run(config, quiet=opts.quiet)
    except RunDirError:
        # a demo folder from an earlier ffbench (other model TOML or metrics): the demo owns it,
        # so start that run afresh instead of failing; real runs keep the error
        _say(opts, f"      {run_dir} holds a run with another config: starting it afresh")
        shutil.rmtree(run_dir)
        run(config, quiet=opts.quiet)
    return run_dir


def _profile(opts: DemoOptions) -> Path:
    """Full-size FLOPs per stage at 512x512 for each fps mode (what the paper's Fig. 7 is about)."""
    from ..profiling.stages import Point
    from ..profiling.sweep import interp_mfi_ratio, sweep, write_profile

    profile_dir = opts.out / "profile"
    df = sweep(Point(preset="full", device="meta"), {"fps": ["medium", "high"]},
               progress=not opts.quiet)
    write_profile(df, profile_dir)
    ratio = interp_mfi_ratio(df)
    _say(opts, "      masked-frame interpolation / FusionFrames interpolation FLOPs at 512x512: "
               + ", ".join(f"fps {fps} {r:.2f}x"
                           for fps, r in zip(ratio["fps"], ratio["mfi_over_interpolation"])))
    return profile_dir


# the Table 3 decoder variants the demo reconstructs (tiny preset, random weights)
DEMO_DECODERS = ("image", "conv3x1x1", "conv3x3x3_attn")


def _reconstruction(opts: DemoOptions, db: str) -> Path:
    """A small reconstruction set (the first demo videos, 7 frames each: a Vimeo-90k septuplet's
    length) reconstructed by MoVQ decoder variants of the tiny preset through
    `ffbench evaluate reconstruction --decoder` (the command users run), stored for Table 3."""
    import contextlib
    import io

    from ..cli import main
    from ..data.demo import make_demo_video
    from ..video import write_video

    target = opts.out / "reconstruction" / "target"
    for i in range(4):
        f = target / f"demo-{i:05d}.npy"
        if not f.is_file():
            write_video(f, make_demo_video(i)[:7])
    for variant in DEMO_DECODERS:
        argv = ["evaluate", "reconstruction", "--decoder", variant, "--target", str(target),
                "--random-weights", "--db", db, "--dataset", "demo-reconstruction"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(argv)
        if code != 0:
            raise ConfigError(f"demo reconstruction with decoder {variant} failed:\n{out.getvalue()}")
        _say(opts, "      " + out.getvalue().strip().splitlines()[-1])
    return target


def _quiet_libraries() -> None:
    """The tiny diffusers pipeline's 16-token tokenizer truncates every demo caption and
    diffusers warns that TextToVideoSDPipeline is deprecated: true, and noise in a demo log."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()


def run_demo(opts: DemoOptions) -> Path:
    """Run the whole demo; returns the path of the HTML report."""
    from ..report import build_report

    if opts.n < 2:
        raise ConfigError("the demo needs at least 2 videos per model (FVD needs two)")
    start = time.perf_counter()
    _quiet_libraries()
    opts.out.mkdir(parents=True, exist_ok=True)
    db = str((opts.out / "results.db").resolve())
    _say(opts, f"ffbench demo -> {opts.out.resolve()}")
    _say(opts, f"[1/5] the registered tiny models {', '.join(DEMO_MODELS)} (random weights, explicitly)")
    run_dirs = []
    for i, name in enumerate(DEMO_MODELS, start=1):
        _say(opts, f"[2/5] generate + evaluate ({i}/{len(DEMO_MODELS)}): {name} on {opts.n} demo prompts")
        run_dirs.append(_evaluate(opts, name, db))
    _say(opts, "[3/5] MoVQ decoder variants on a small reconstruction set (paper Table 3)")
    _reconstruction(opts, db)
    profile_dir = None
    if opts.profile:
        _say(opts, "[4/5] cost profile of the full-size models on the meta device")
        profile_dir = _profile(opts)
    _say(opts, "[5/5] report")
    index = build_report(run_dirs, opts.out / "report", formats=("html", "md", "latex", "csv"),
                         profile_dir=profile_dir, store=db)
    _say(opts, f"done in {time.perf_counter() - start:.0f} s")
    _say(opts, f"report: {index.resolve()}")
    return index
