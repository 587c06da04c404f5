"""`ffbench datasets ...`: dataset files, prompt sets, real-video manifests, the demo set."""
from __future__ import annotations

from pathlib import Path

from ._util import add_command, add_group, add_json_flag, print_json, print_table


def _list(args) -> int:
    from ..data.config import dataset_dirs, dataset_names, load_dataset_config

    rows = []
    for name in dataset_names():
        c = load_dataset_config(name)
        rows.append({"name": c.name, "kind": c.kind, "sampling": c.prompts.sampling,
                     "default_n": c.prompts.default_n, "root_env": c.root_env,
                     "description": c.description, "file": str(c.path), "sha256": c.sha256})
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["name", "kind", "sampling", "default_n", "root_env", "description"])
        print(f"\nsearched: {', '.join(map(str, dataset_dirs()))}")
    return 0


def _availability(cfg, root) -> dict:
    """What of the dataset is present under root (files found, counts, problems)."""
    from ..data.config import DatasetError

    out: dict = {"root": str(root)}
    try:
        if cfg.kind == "ucf101":
            from ..data.ucf101 import find_split_dir, list_split_videos, parse_class_index
            d = find_split_dir(cfg, root)
            out["class_index"] = str(d / cfg.annotations.class_index)
            out["classes"] = len(parse_class_index(d / cfg.annotations.class_index))
            vdir, files, missing = list_split_videos(cfg, root)
        elif cfg.kind == "msrvtt":
            from ..data.msrvtt import list_split_videos, load_annotations
            ann = load_annotations(cfg, root, cfg.prompts.split or "test")
            out.update(annotation_file=str(ann.source), videos_annotated=len(ann.videos),
                       captions=ann.num_captions)
            vdir, files, missing = list_split_videos(cfg, root)
        else:
            from ..data.realvideos import list_video_files
            vdir, files, missing = Path(root), list_video_files(root, cfg.real.extensions), []
        out.update(video_dir=str(vdir), videos_found=len(files), videos_missing=len(missing),
                   expected_videos=cfg.expected_videos)
    except DatasetError as e:
        out["problem"] = str(e)
    return out


def _show(args) -> int:
    from ..data.config import load_dataset_config

    cfg = load_dataset_config(args.name)
    data = cfg.to_dict()
    if args.root is not None:
        data["available"] = _availability(cfg, cfg.resolve_root(args.root))
    if args.json:
        print_json(data)
        return 0
    for key in ("name", "kind", "description", "homepage", "citation", "download", "root_env",
                "expected_videos", "file", "sha256"):
        print(f"{key:16} {data[key]}")
    for sec in ("annotations", "prompts", "real", "demo", "available"):
        if not data.get(sec):
            continue
        print(f"[{sec}]")
        for k, v in data[sec].items():
            if v in ([], "", None):
                continue
            if k == "classes":
                print(f"  classes          {len(v)} (first: {next(iter(v.items()), ('', ''))[1]!r})")
            else:
                print(f"  {k:16} {v}")
    return 0


def _prompts(args) -> int:
    from ..data.prompts import load_prompts

    ps = load_prompts(args.name, n=args.n, seed=args.seed, root=args.root,
                      prompt_file=args.prompt_file, split=args.split, sampling=args.sampling)
    if args.out:
        ps.save(args.out)
    if args.json:
        print_json(ps.to_dict())
        return 0
    rows = [{"sample_id": it.sample_id, "label": it.label or it.video_id or "", "prompt": it.prompt}
            for it in ps]
    print_table(rows, ["sample_id", "label", "prompt"])
    print(f"\n{ps.describe()}")
    if args.out:
        print(f"written to {args.out}")
    return 0


def _manifest(args) -> int:
    from ..data.realvideos import build_manifest
    from ..progress import progress_enabled

    m = build_manifest(args.dir, frames=not args.no_frames, workers=args.workers,
                       progress=progress_enabled(getattr(args, "quiet", False)))
    if args.out:
        m.save(args.out)
    if args.json:
        print_json(m.to_dict())
    else:
        rows = [{"path": e.path, "frames": e.frames if e.frames is not None else "-",
                 "size": f"{e.width}x{e.height}" if e.width else "-", "bytes": e.size,
                 "sha256": e.sha256[:16], "error": e.error or ""} for e in m.entries]
        print_table(rows, ["path", "frames", "size", "bytes", "sha256", "error"])
        print(f"\n{len(m.entries)} files, {m.total_bytes} bytes, {len(m.errors)} unreadable")
        print(f"manifest hash {m.hash}")
    return 1 if m.errors else 0


def _demo(args) -> int:
    from ..data.demo import write_demo

    paths = write_demo(args.out, fmt=args.format, count=args.count)
    print(f"wrote {len(paths)} demo videos and captions.json to {args.out}")
    return 0


def register(subparsers) -> None:
    _, sub = add_group(subparsers, "datasets",
                       help="evaluation datasets: prompt sets, real-video manifests, the demo set")
    p = add_command(sub, "list", "known datasets and the files that define them", _list)
    add_json_flag(p)

    p = add_command(sub, "show", "one dataset's definition (and, with --root, what is present)", _show)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--root", metavar="DIR", help="dataset folder to check (else not checked)")
    add_json_flag(p)

    p = add_command(sub, "prompts", "the prompt set a run would use", _prompts,
                    description="Sample a prompt set: UCF-101 class prompts (class-balanced), "
                                "MSR-VTT captions (needs --root or $FFBENCH_MSRVTT_ROOT), demo captions.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--n", type=int, default=None, help="number of prompts (default: the dataset's)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--root", metavar="DIR", help="dataset folder (else $<root_env>)")
    p.add_argument("--prompt-file", metavar="FILE",
                   help="per-class prompts replacing the shipped ones (.txt in class order, .toml, .json)")
    p.add_argument("--split", help="MSR-VTT split: test, 1k-a, train, validate")
    p.add_argument("--sampling", help="MSR-VTT: one-caption-per-video or all-captions")
    p.add_argument("--out", metavar="FILE", help="also save the prompt set as JSON")
    add_json_flag(p)

    p = add_command(sub, "manifest", "files, frame counts, sizes and sha256 of a video folder", _manifest,
                    description="List a folder of videos (recursively) with frame counts, sizes and "
                                "content sha256; the manifest hash keys the real-statistics cache. "
                                "Exit code 1 when a file cannot be decoded.")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--no-frames", action="store_true", help="hash only, do not decode")
    p.add_argument("--workers", type=int, default=None, help="decoding processes (default min(4, cpus))")
    p.add_argument("--out", metavar="FILE", help="also save the manifest as JSON")
    add_json_flag(p)

    p = add_command(sub, "demo", "write the embedded synthetic demo videos", _demo)
    p.add_argument("--out", metavar="DIR", required=True, help="output folder")
    p.add_argument("--format", choices=["mp4", "npy"], default="mp4", help="mp4 (lossy) or npy (exact)")
    p.add_argument("--count", type=int, default=None, help="number of videos (default: demo.toml count)")
