"""`ffbench video info FILE|DIR...`: frames, fps, size, codec, pixel format and duration.

Any input kind `ffbench.video` reads (containers, `.npy`/`.npz`, frame folders); a folder that
is not a frame folder is listed as `list_videos` sees it, skipped inputs named with the reason
(`--json`: rows with "skipped"; exit status 0 unless a listed video fails). Duration comes
from timestamps (last pts - first pts + last frame duration), fps = frames / duration, so
variable-frame-rate files are reported as they play; arrays and frame folders have no clock.
"""
from __future__ import annotations

import sys

from ._util import add_command, add_group, add_json_flag, print_json, print_table


def _info(args) -> int:
    from ..video import VideoError, probe

    from pathlib import Path

    from ..video import list_videos
    from ..video.listing import frame_files

    paths, rows, failed = [], [], 0
    for f in map(Path, args.files):
        if f.is_dir() and not frame_files(f):
            try:
                listing = list_videos(f)
            except VideoError as e:
                failed += 1
                rows.append({"path": str(f), "error": e.reason})
                continue
            paths += listing.videos
            rows += [{"path": str(p), "skipped": r} for p, r in listing.skipped]
        else:
            paths.append(f)
    for f in paths:
        try:
            info = probe(f).to_dict()
            info["duration"] = info["duration_s"]  # older key, kept for scripts
            rows.append(info)
        except VideoError as e:
            failed += 1
            rows.append({"path": str(f), "error": e.reason})
    if args.json:
        print_json(rows)
    else:
        ok = [dict(r) for r in rows if "frames" in r]
        if ok:
            for r in ok:
                r["duration"] = f"{r['duration_s']:.3f}s" if r["duration_s"] else "-"
                r["fps"] = f"{r['fps']:.3f}" if r["fps"] else "-"
                r["alpha"] = "yes" if r["has_alpha"] else "no"
            print_table(ok, ["path", "frames", "width", "height", "fps", "duration", "codec",
                             "pix_fmt", "alpha"])
        for r in rows:
            if "skipped" in r:
                print(f"skipped: {r['path']}: {r['skipped']}")
        for r in rows:
            if "error" in r:
                print(f"ffbench: error: {r['path']}: {r['error']}", file=sys.stderr)
    return 1 if failed else 0


def register(subparsers) -> None:
    _, sub = add_group(subparsers, "video", help="inspect video files")
    p = add_command(sub, "info", "frames, fps, duration, size, codec and pixel format of videos "
                                 "(files, arrays or frame folders)", _info)
    p.add_argument("files", nargs="+", metavar="FILE|DIR",
                   help="video files, arrays, frame folders, or folders of them")
    add_json_flag(p)
