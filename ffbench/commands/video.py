"""`ffbench video info FILE...`: frames, fps, size, codec, pixel format and duration.

Any input kind `ffbench.video` reads (containers, `.npy`/`.npz`, frame folders). Duration comes
from timestamps (last pts - first pts + last frame duration), fps = frames / duration, so
variable-frame-rate files are reported as they play; arrays and frame folders have no clock.
"""
from __future__ import annotations

from ._util import add_command, add_group, print_json, print_table


def _info(args) -> int:
    from ..video import VideoError, probe

    rows, failed = [], 0
    for f in args.files:
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
        ok = [dict(r) for r in rows if "error" not in r]
        if ok:
            for r in ok:
                r["duration"] = f"{r['duration_s']:.3f}s" if r["duration_s"] else "-"
                r["fps"] = f"{r['fps']:.3f}" if r["fps"] else "-"
                r["alpha"] = "yes" if r["has_alpha"] else "no"
            print_table(ok, ["path", "frames", "width", "height", "fps", "duration", "codec",
                             "pix_fmt", "alpha"])
        for r in rows:
            if "error" in r:
                print(f"error: {r['path']}: {r['error']}")
    return 1 if failed else 0


def register(subparsers) -> None:
    _, sub = add_group(subparsers, "video", help="inspect video files")
    p = add_command(sub, "info", "frames, fps, duration, size, codec and pixel format of videos "
                                 "(files, arrays or frame folders)", _info)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
