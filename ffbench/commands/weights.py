"""`ffbench weights list|where|verify|download`: the weight files ffbench knows, where they go,
and the opt-in verified download (ffbench.downloads; nothing else ever downloads)."""
from __future__ import annotations

from ._util import add_command, add_group, add_json_flag, print_json, print_table


def _list(args) -> int:
    from .. import weights

    rows = [weights.status(n) for n in sorted(weights.REGISTRY)]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        r["state"] = "found" if r["found"] else "missing"
        r["sha256"] = (r["sha256"][:16] + "… " + r["sha256_origin"]) if r["sha256"] else "(unpinned)"
        r["source_url"] = (r.get("url") or "").split(" ", 1)[0]  # mirrors and notes: `weights where`
    print_table(rows, ["name", "filename", "state", "sha256", "expected_location", "source_url"])
    print("\nMirrors and notes: `ffbench weights where NAME`. Nothing is downloaded automatically; "
          "`ffbench weights download NAME|--for PROTOCOL|--all` fetches and verifies on request.")
    return 0


def _where(args) -> int:
    from .. import weights

    names = args.names or sorted(weights.REGISTRY)
    out = []
    for n in names:
        s = weights.status(n)
        s["search_path"] = [str(p) for p in weights.where(n)]
        out.append(s)
    if args.json:
        print_json(out)
        return 0
    for s in out:
        print(f"{s['name']}: {s['filename']}")
        print(f"  used by:  {s['used_by']}")
        print(f"  download: {s['url']}")
        print(f"  put at:   {s['expected_location']}")
        print(f"  found:    {s['found'] or 'no'}")
        print("  searched: " + ", ".join(s["search_path"]))
    return 0


def _verify(args) -> int:
    from .. import weights

    names = args.names or sorted(weights.REGISTRY)
    results, failed = [], 0
    for n in names:
        try:
            path = weights.resolve(n, args.path, trust_cache=False)  # always hash the bytes
            digest, origin = weights.expected_sha256(n)
            results.append({"name": n, "ok": True, "path": str(path), "sha256": digest,
                            "sha256_origin": origin})
        except weights.WeightsError as e:
            failed += 1
            kind = "missing" if isinstance(e, weights.WeightsMissing) else "error"
            results.append({"name": n, "ok": False, "status": kind, "error": str(e)})
    if args.json:
        print_json(results)
    else:
        for r in results:
            if r["ok"]:
                print(f"ok       {r['name']}  {r['path']}  sha256 {r['sha256']} ({r['sha256_origin']})")
            else:
                print(f"{r['status']:8} {r['name']}\n    " + r["error"].replace("\n", "\n    "))
    return 1 if failed else 0


def _download(args) -> int:
    from .. import downloads, weights
    from ..errors import FFBenchError

    if args.all and (args.names or args.targets):
        raise FFBenchError("give NAME... and/or --for PROTOCOL, or --all, not both")
    if args.all:
        names = sorted(weights.REGISTRY)
    else:
        names = list(args.names)
        for target in args.targets:
            names += downloads.names_for(target)
    if not names:
        raise FFBenchError("nothing to download: give NAME..., --for PROTOCOL or --all "
                           "(names: `ffbench weights list`)")
    names = list(dict.fromkeys(names))  # keep order, drop repeats
    for n in names:
        weights.get(n)  # an unknown name fails before anything is fetched
    results, failed = [], 0
    for n in names:
        try:
            r = downloads.download(n, progress=not (args.no_progress or args.quiet), retries=args.retries,
                                   timeout=args.timeout)
            r["ok"] = True
        except (FFBenchError, weights.WeightsError) as e:
            failed += 1
            r = {"name": n, "ok": False, "status": "failed", "error": str(e)}
        results.append(r)
        if not args.json:
            if r["ok"]:
                note = " (no published digest: pinned on this first download)" \
                    if r["sha256_origin"] == "pinned-now" else f" ({r['sha256_origin']})"
                print(f"{r['status']:10} {n}  {r['path']}  sha256 {r['sha256']}{note}")
            else:
                print(f"{'failed':10} {n}\n    " + r["error"].replace("\n", "\n    "))
    if args.json:
        print_json(results)
    return 1 if failed else 0


def register(subparsers) -> None:
    _, sub = add_group(subparsers, "weights", help="list, locate and verify pretrained weight files")
    p = add_command(sub, "list", "every known weight file: digest, whether it is here, expected "
                    "location and source URL", _list)
    add_json_flag(p)
    p = add_command(sub, "where", "where to download each file and where to put it", _where)
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: all)")
    add_json_flag(p)
    p = add_command(sub, "verify", "check sha256 of files present (pins unpublished digests on first use)",
                    _verify)
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: all)")
    p.add_argument("--path", help="explicit file to verify (with one NAME)")
    add_json_flag(p)
    p = add_command(sub, "download", "download files (opt-in), resume partial files, check sha256 "
                    "before moving them into place", _download)
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (`ffbench weights list`)")
    p.add_argument("--for", dest="targets", action="append", default=[], metavar="PROTOCOL",
                   help="the files a protocol (e.g. fvd@stylegan-v-2048x16) or group "
                        "(fusionframes, c3d-ucf101-tgan2) needs; repeatable")
    p.add_argument("--all", action="store_true", help="every known file (tens of GB)")
    p.add_argument("--retries", type=int, default=3, help="retries of an interrupted transfer (default 3)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds without data before a retry")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr (as -q)")
    add_json_flag(p)
