"""`ffbench video info FILE|DIR...`: frames, fps, size, codec, pixel format and duration.

Any input kind `ffbench.video` reads (containers, `.npy`/`.npz`, frame folders); a folder that
is not a frame folder is listed as `list_videos` sees it, skipped inputs named with the reason
(`--json`: rows with "skipped"). Duration (`duration_s`, seconds) comes from timestamps (last
pts - first pts + last frame duration), fps = frames / duration, so variable-frame-rate files
are reported as they play; arrays and frame folders have no clock (null).
A path that does not exist or a video that cannot be read is an error as in every command
(README "Machine-readable output and errors"): `ffbench: error: <file>: <reason>`, exit 2,
`--json` prints `{"error": {"type", "message"}}` (every failing file is named in the message);
in text mode the table of the readable videos is printed first.
"""
from __future__ import annotations

import sys

from ._util import add_command, add_group, add_json_flag, print_json, print_table


def _failure(failures):
    """One error for every video that could not be read: the first as is, the rest named."""
    from ..harness.realstats import name_list
    from ..video import VideoError

    first = failures[0]
    if len(failures) == 1:
        return first
    rest = name_list((f"{e.source} ({e.reason})" for e in failures[1:]), 10)
    return VideoError(first.source, f"{first.reason}; {len(failures) - 1} more cannot be read: {rest}")


def _info(args) -> int:
    from pathlib import Path

    from ..video import VideoError, list_videos, probe
    from ..video.listing import frame_files

    paths, rows, failures = [], [], []
    for f in map(Path, args.files):
        if f.is_dir() and not frame_files(f):
            listing = list_videos(f)
            paths += listing.videos
            rows += [{"path": str(p), "skipped": r} for p, r in listing.skipped]
        else:
            paths.append(f)  # a missing path fails in probe: "file does not exist"
    for f in paths:
        try:
            rows.append(probe(f).to_dict())
        except VideoError as e:
            failures.append(e)
    if args.json:
        if failures:
            raise _failure(failures)
        print_json(rows)
        return 0
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
    if failures:
        sys.stdout.flush()
        raise _failure(failures)
    return 0


def register(subparsers) -> None:
    _, sub = add_group(subparsers, "video", help="inspect video files")
    p = add_command(sub, "info", "frames, fps, duration, size, codec and pixel format of videos "
                                 "(files, arrays or frame folders)", _info)
    p.add_argument("files", nargs="+", metavar="FILE|DIR",
                   help="video files, arrays, frame folders, or folders of them")
    add_json_flag(p)
