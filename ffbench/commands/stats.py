"""`ffbench stats compute|show|import`: real-video feature statistics and their cache."""
from __future__ import annotations

import sys
from pathlib import Path

from ._util import add_command, add_group, print_json, print_table


def register(subparsers) -> None:
    from ..protocols import names
    from ._engine_cli import add_engine_options, add_real_options
    from .evaluate_fvd import FVD_DEFAULT

    _, sub = add_group(subparsers, "stats", help="real-video feature statistics (FVD) and their cache")

    c = add_command(sub, "compute", help="compute real statistics of a directory into the cache",
                    func=run_compute,
                    description="Σx, Σxxᵀ, N of the protocol's detector features of the real "
                                "videos in DIR. The features are cached (keyed by protocol hash, "
                                "real-set key and weights) where `run` and `evaluate` read them; "
                                "the statistics are optionally written to --out.")
    c.add_argument("--protocol", default=FVD_DEFAULT, choices=names("fvd"))
    c.add_argument("--real", required=True, metavar="DIR|DATASET",
                   help="folder of real videos (recursive) or a dataset name")
    c.add_argument("--out", metavar="FILE.npz", help="also write the statistics here")
    add_real_options(c)
    add_engine_options(c)

    s = add_command(sub, "show", help="describe a statistics file, or list the cache",
                    func=run_show)
    s.add_argument("file", nargs="?", metavar="FILE", help=".npz or reference .pkl (default: list cache)")
    s.add_argument("--json", action="store_true", help="print as JSON")

    i = add_command(sub, "import", help="convert StyleGAN-V / cd-fvd .pkl statistics to .npz",
                    func=run_import,
                    description="Read a StyleGAN-V or cd-fvd FeatureStats pickle (e.g. "
                                "i3d_ucf101_2048_res128_len16_skip1_seed0.pkl) and store it as an "
                                "ffbench .npz tagged with the protocol you name, for --real.")
    i.add_argument("pkl", metavar="FILE.pkl")
    i.add_argument("--protocol", required=True, choices=names("fvd"),
                   help="the protocol those statistics were made under (you vouch for it)")
    i.add_argument("--out", metavar="FILE.npz",
                   help="output (default: <FFBENCH_HOME>/stats/imported-<name>.npz)")
    i.add_argument("--json", action="store_true", help="print as JSON")


def _summary(stats, path) -> dict:
    import numpy as np

    out = {"file": str(path), "n": stats.n, "dim": stats.dim}
    if stats.n >= 2:
        mean, cov = stats.mean_cov("biased")
        out.update(mean_norm=float(np.linalg.norm(mean)), cov_trace_biased=float(np.trace(cov)))
    out.update({k: v for k, v in sorted(stats.meta.items())})
    return out


def run_compute(args) -> int:
    """The engine's real-statistics stage (harness.realstats), filling the cache run and
    evaluate read."""
    from ..harness.features import build_extractor_for, extractor_info, feature_specs
    from ..harness.realstats import name_list, real_statistics
    from ._engine_cli import folder_config

    config = folder_config(args, args.protocol, real=args.real, clip_seed=args.clip_seed)
    (spec,) = feature_specs(config.protocols())
    ext = build_extractor_for(spec, config)
    from ..video.loader import decode_workers

    with decode_workers(config.workers):
        stats = real_statistics(spec.protocol, ext, source=args.real, seed=args.clip_seed,
                                batch_size=config.feature_batch_size,
                                tag=extractor_info(ext, spec, config)["weights_tag"],
                                progress=not (args.quiet or args.json))
    if args.out:
        stats.save(args.out)
    result = _summary(stats, args.out or stats.meta.get("cache_file"))
    if args.json:
        print_json(result)
    else:
        print(f"{spec.protocol.name}: {stats.n} real clips, {stats.dim}-d -> {stats.meta.get('cache_file')}"
              + (f" and {args.out}" if args.out else ""))
        rs = stats.meta.get("real_set", {}).get("stats", {})
        for kind, rows in (("too short", rs.get("short_files", [])), ("corrupt", rs.get("corrupt_files", []))):
            if rows:
                print(f"skipped {len(rows)} {kind}: " + name_list((r[0] for r in rows), 20),
                      file=sys.stderr)
    return 0


def run_show(args) -> int:
    from ..harness.realstats import RealFeatureCache
    from ..metrics.stats import load_stats

    if args.file is None:
        cache = RealFeatureCache()
        rows = []
        for p in sorted(cache.root.glob("*.npz")) if cache.root.is_dir() else []:
            try:  # cached real features (the engine's cache), else a statistics file put here
                if p.name.endswith(cache.SUFFIX):
                    e = cache.read(p)
                    n, dim, proto, w = e["n_videos"], e["features"].shape[1], e["protocol"], e["weights_tag"]
                else:
                    s = load_stats(p)
                    n, dim, proto, w = s.n, s.dim, s.meta.get("protocol", "?"), s.meta.get("weights_sha256", "?")
                rows.append({"file": p.name, "protocol": proto, "n": n, "dim": dim, "weights": str(w)[:12]})
            except (ValueError, OSError) as e:  # StatsError is a ValueError: list what we can
                rows.append({"file": p.name, "protocol": f"unreadable: {e}"})
        if args.json:
            print_json({"cache": str(cache.root), "files": rows})
        else:
            print(f"cache: {cache.root}")
            print_table(rows, ["file", "protocol", "n", "dim", "weights"])
        return 0
    s = load_stats(args.file)
    summary = _summary(s, args.file)
    if args.json:
        print_json(summary)
    else:
        for k, v in summary.items():
            print(f"{k}: {v}")
    return 0


def run_import(args) -> int:
    from ..metrics.stats import load_reference_pkl
    from ..protocols import get
    from ..weights import home

    protocol = get(args.protocol)
    stats = load_reference_pkl(args.pkl)
    stats.meta.update(protocol=protocol.name, protocol_hash=protocol.hash, weights_sha256="unknown")
    out = Path(args.out) if args.out else home() / "stats" / f"imported-{Path(args.pkl).stem}.npz"
    stats.save(out)
    summary = _summary(stats, out)
    if args.json:
        print_json(summary)
    else:
        print(f"imported {stats.n} items, {stats.dim}-d from {args.pkl} -> {out} "
              f"(tagged {protocol.name})")
    return 0
