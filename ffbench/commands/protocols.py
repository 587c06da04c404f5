"""`ffbench protocols list|show NAME`: the evaluation protocols and their hashes."""
from __future__ import annotations

from ._util import add_command, add_group, add_json_flag, print_json, print_table


def _list(args) -> int:
    from .. import protocols

    rows = [{"name": p.name, "metric": p.metric, "hash": p.hash, "description": p.description}
            for p in protocols.PROTOCOLS.values() if args.metric in (None, p.metric)]
    if args.json:  # full hashes for machines; the table shows the short form
        print_json(rows)
    else:
        print_table([{**r, "hash": r["hash"][:12], "description": r["description"][:70]} for r in rows],
                    ["name", "metric", "hash", "description"])
    return 0


def _show(args) -> int:
    from .. import protocols

    p = protocols.get(args.name)
    d = p.to_dict()
    if args.json:
        print_json(d)
        return 0
    width = max(len(k) for k in d)
    for k, v in d.items():
        print(f"{k.ljust(width)}  {v}")
    return 0


def register(subparsers) -> None:
    _, sub = add_group(subparsers, "protocols", help="list and show evaluation protocols")
    p = add_command(sub, "list", "all protocols with their hashes", _list)
    p.add_argument("--metric", help="only this metric (fvd, is, clipsim, reconstruction, fid, "
                                    "kid, kvd, jedi)")
    add_json_flag(p)
    p = add_command(sub, "show", "every constant of one protocol and its hash", _show)
    p.add_argument("name", help="protocol name, e.g. fvd@stylegan-v-2048x16")
    add_json_flag(p)
