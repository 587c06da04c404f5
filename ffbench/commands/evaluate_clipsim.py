"""`ffbench evaluate clipsim`: CLIPSIM of a folder of videos against their prompts.

Prompts file: see `ffbench.data.prompts.PROMPTS_FILE_FORMATS` (.json, .jsonl, .csv, .txt/.tsv;
UTF-8 with or without BOM). Every video needs a prompt (else error, naming the videos); prompts
without a video are reported (a generation run may have failed on some) but do not stop the
evaluation.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ._engine_cli import add_engine_options, add_store_options
from ._util import add_command, print_table


def _format_help() -> str:
    from ..data.prompts import PROMPTS_FILE_FORMATS

    return PROMPTS_FILE_FORMATS


def load_prompts_file(path) -> dict[str, str]:
    """{stem: prompt}; the one reader is `ffbench.data.prompts.read_prompts_file`."""
    from ..data.prompts import read_prompts_file

    return read_prompts_file(path)


def _protocol_name(args) -> str:
    from .. import protocols
    from ..errors import ConfigError

    if args.backbone is None:
        return args.protocol
    matches = [n for n in protocols.names("clipsim")
               if protocols.get(n).backbone == args.backbone and protocols.get(n).scale == 1.0]
    if not matches:
        known = sorted({protocols.get(n).backbone for n in protocols.names("clipsim")})
        raise ConfigError(f"--backbone {args.backbone!r} unknown; known: {', '.join(known)}")
    return matches[0]


def _run(args) -> int:
    from ..errors import ConfigError, FFBenchError
    from ..harness.plan import plan_from_folder
    from ..harness.realstats import name_list
    from ._engine_cli import emit_result, evaluate_folder, folder_config, score_result

    if args.protocol != "clipsim@vit-b-32" and args.backbone is not None:
        raise ConfigError("give --protocol or --backbone, not both")
    name = _protocol_name(args)
    prompts = load_prompts_file(args.prompts)
    config = folder_config(args, name, fake=args.videos)
    plan = plan_from_folder(config.source, config.seed, prompts)  # checked before any network
    if not plan.items:
        raise FFBenchError(f"{args.videos}: no video files")
    no_prompt = [it.video_id for it in plan.items
                 if it.video_id.rsplit(".", 1)[0] not in prompts and
                 it.video_id.rsplit("/", 1)[-1].rsplit(".", 1)[0] not in prompts]
    if no_prompt:
        raise FFBenchError(f"{args.prompts}: no prompt for video(s) {name_list(no_prompt, 20)}")
    stems = {it.video_id.rsplit("/", 1)[-1].rsplit(".", 1)[0] for it in plan.items} | \
        {it.video_id.rsplit(".", 1)[0] for it in plan.items}
    no_video = sorted(set(prompts) - stems)
    if no_video and not args.json:
        print(f"note: {len(no_video)} prompt(s) have no video: {name_list(no_video, 10)}", file=sys.stderr)
    results = evaluate_folder(config, prompts=prompts, quiet=args.quiet or args.json, plan=plan)
    r = score_result(results)
    per = results["per_sample"].get(name, {})
    r["per_video"] = [{"video": it.video_id, "clipsim": per[it.sample_id]}
                      for it in plan.items if it.sample_id in per]
    r["prompts_file"] = str(args.prompts)
    r["prompts_without_video"] = no_video
    if not args.json and r["per_video"]:
        print_table([{"video": row["video"], "clipsim": f"{row['clipsim']:.4f}"} for row in r["per_video"]],
                    ["video", "clipsim"])
        print()
    value = "not computed" if r["value"] is None else f"{r['value']:.4f}"
    ci = f" (95% CI {r['ci_low']:.4f}..{r['ci_high']:.4f})" if r.get("ci_low") is not None else ""
    return emit_result(args, r, f"{name} (protocol {r['protocol_hash'][:12]}): {value}{ci} over "
                                f"{r['n_fake']} videos, {r.get('frames', 0)} frames")


def register_evaluate(subparsers) -> None:
    import argparse

    p = add_command(subparsers, "clipsim", help="CLIPSIM: frame-prompt CLIP cosine, mean over frames then videos",
                    func=_run, epilog=_format_help(),
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", required=True, type=Path, help="folder of videos (.mp4, .npy, ...)")
    p.add_argument("--prompts", required=True, type=Path, help="prompts file: .json, .jsonl, .csv or TAB-separated .txt/.tsv")
    p.add_argument("--protocol", default="clipsim@vit-b-32",
                   help="clipsim@vit-b-32 (default, paper), clipsim100@vit-b-32 (x100), clipsim@vit-b-16, clipsim@vit-l-14")
    p.add_argument("--backbone", default=None, help="ViT-B/32 | ViT-B/16 | ViT-L/14 (picks the unscaled protocol)")
    add_engine_options(p)
    add_store_options(p)
