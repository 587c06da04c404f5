"""`ffbench demo`: the main job on the embedded tiny default (what `tox -e demo` runs)."""
from __future__ import annotations

from pathlib import Path

from ..progress import add_quiet_flag
from ._util import add_command


def _demo(args) -> int:
    from ..harness.demo import DemoOptions, run_demo

    run_demo(DemoOptions(out=Path(args.out), n=args.n, seed=args.seed, steps=args.steps,
                         profile=not args.no_profile, quiet=args.quiet))
    return 0


def register(subparsers) -> None:
    p = add_command(
        subparsers, "demo", "run the main job on the embedded tiny default",
        _demo,
        description="Generate videos for the embedded demo prompts with FusionFrames tiny and a "
                    "tiny diffusers baseline (random weights, marked), evaluate them (FVD, IS, "
                    "CLIPSIM with random-weight extractors), profile the full-size models on the "
                    "meta device, and write an HTML report.")
    p.add_argument("--out", default="demo_out", help="output directory (default: demo_out)")
    p.add_argument("--n", type=int, default=16, help="demo prompts per model (default: 16)")
    p.add_argument("--seed", type=int, default=0, help="run seed (default: 0)")
    p.add_argument("--steps", type=int, default=None,
                   help="sampler steps of the tiny generators (default: the models' own, 4)")
    p.add_argument("--no-profile", action="store_true", help="skip the cost profile")
    add_quiet_flag(p, help="no progress output")
