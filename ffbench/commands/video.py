"""`ffbench video info FILE...`: frames, fps, size, codec and duration."""
from __future__ import annotations

import sys

from ._util import add_command, add_group, add_json_flag, print_json, print_table


def _info(args) -> int:
    from ..video import VideoError, video_info

    rows, failed = [], 0
    for f in args.files:
        try:
            rows.append(video_info(f))
        except VideoError as e:
            failed += 1
            rows.append({"path": str(f), "error": e.reason})
    if args.json:
        print_json(rows)
    else:
        ok = [r for r in rows if "error" not in r]
        if ok:
            for r in ok:
                r["duration"] = f"{r['duration']:.3f}s" if r["duration"] else "-"
                r["fps"] = f"{r['fps']:.3f}" if r["fps"] else "-"
            print_table(ok, ["path", "frames", "width", "height", "fps", "codec", "duration"])
        for r in rows:
            if "error" in r:
                print(f"ffbench: error: {r['path']}: {r['error']}", file=sys.stderr)
    return 1 if failed else 0


def register(subparsers) -> None:
    _, sub = add_group(subparsers, "video", help="inspect video files")
    p = add_command(sub, "info", "frames, fps, size, codec and duration of video files", _info)
    p.add_argument("files", nargs="+", metavar="FILE")
    add_json_flag(p)
