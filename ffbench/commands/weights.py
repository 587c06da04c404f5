"""`ffbench weights list|where|verify`: the weight files ffbench knows, and where they go."""
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
    print_table(rows, ["name", "filename", "state", "sha256", "expected_location"])
    print("\nDownload sources: `ffbench weights where NAME`. Nothing is downloaded automatically.")
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
            path = weights.resolve(n, args.path)
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


def register(subparsers) -> None:
    _, sub = add_group(subparsers, "weights", help="list, locate and verify pretrained weight files")
    p = add_command(sub, "list", "every known weight file, its digest and whether it is here", _list)
    add_json_flag(p)
    p = add_command(sub, "where", "where to download each file and where to put it", _where)
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: all)")
    add_json_flag(p)
    p = add_command(sub, "verify", "check sha256 of files present (pins unpublished digests on first use)",
                    _verify)
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: all)")
    p.add_argument("--path", help="explicit file to verify (with one NAME)")
    add_json_flag(p)
