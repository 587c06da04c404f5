"""`ffbench evaluate fvd` and `ffbench evaluate is`: FVD / IS of video directories under a protocol."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._util import add_command, print_json

FVD_DEFAULT = "fvd@stylegan-v-2048x16"
IS_DEFAULT = "is@c3d-ucf101"


def add_extractor_options(p: argparse.ArgumentParser) -> None:
    """Weights / random weights / device / batch options shared by fvd, is and stats."""
    p.add_argument("--weights", metavar="PATH",
                   help="detector weights file (default: resolved by `ffbench weights`)")
    p.add_argument("--random-weights", action="store_true",
                   help="use a randomly initialised detector (smoke tests only; the result is "
                        "marked random_weights: true and is not comparable to anything)")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-weights (default 0)")
    p.add_argument("--resolution", type=int, default=None,
                   help="override the detector input size (only with --random-weights, for "
                        "fast smoke tests; the protocol hash changes accordingly)")
    p.add_argument("--batch-size", type=int, default=8, help="videos per forward pass (default 8)")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def register_evaluate(subparsers) -> None:
    from ..protocols import names

    p = add_command(subparsers, "fvd", help="Fréchet Video Distance of a directory of videos",
                    func=run_fvd,
                    description="FVD of generated videos (--fake DIR) against real videos "
                                "(--real DIR) or precomputed real statistics (--real FILE.npz|.pkl), "
                                "computed exactly as the named protocol's reference does. Real "
                                "statistics computed from a directory are cached (see `ffbench stats`).")
    p.add_argument("--protocol", default=FVD_DEFAULT, choices=names("fvd"),
                   help=f"FVD protocol (default {FVD_DEFAULT})")
    p.add_argument("--real", required=True, metavar="DIR|STATS",
                   help="directory of real videos, or a statistics file (.npz from "
                        "`ffbench stats`, or a StyleGAN-V / cd-fvd .pkl)")
    p.add_argument("--fake", required=True, metavar="DIR", help="directory of generated videos")
    p.add_argument("--method", choices=["eig", "scipy-sqrtm", "tfgan"], default=None,
                   help="matrix square root (default: the protocol's; eig is the fast exact one)")
    p.add_argument("--clip-seed", type=int, default=0,
                   help="seed of real-clip offsets for random-offset protocols (default 0)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the statistics cache")
    add_extractor_options(p)

    q = add_command(subparsers, "is", help="video Inception Score (C3D UCF-101) of a directory",
                    func=run_is,
                    description="Inception Score of generated videos with the C3D UCF-101 "
                                "classifier, split rule as the protocol says; prints mean and std.")
    q.add_argument("--protocol", default=IS_DEFAULT, choices=names("is"),
                   help=f"IS protocol (default {IS_DEFAULT})")
    q.add_argument("--fake", required=True, metavar="DIR", help="directory of generated videos")
    add_extractor_options(q)


# --- shared helpers (also used by `ffbench stats`) -------------------------------------------

def protocol_and_extractor(args, metric: str):
    """The protocol (possibly with an overridden resolution) and its extractor."""
    import dataclasses

    from ..errors import ConfigError
    from ..metrics.extractors import build_extractor
    from ..protocols import get

    protocol = get(args.protocol)
    if protocol.metric != metric:
        raise ConfigError(f"--protocol {protocol.name} is a {protocol.metric} protocol, not {metric}")
    if args.batch_size < 1:
        raise ConfigError("--batch-size must be >= 1")
    if args.random_weights and args.weights:
        raise ConfigError("--weights and --random-weights exclude each other")
    options: dict = {"device": args.device}
    if metric == "fvd":
        options.update(resize=protocol.resize, resolution=protocol.resolution)
    if args.resolution is not None:
        if not args.random_weights:
            raise ConfigError("--resolution only goes with --random-weights (smoke tests); real "
                              "numbers must use the protocol's size")
        if metric != "fvd":
            raise ConfigError("--resolution applies to FVD detectors only")
        protocol = dataclasses.replace(protocol, resolution=args.resolution)
        options["resolution"] = args.resolution
        if protocol.extractor == "i3d-torchscript":
            options.pop("resolution")
            options.pop("resize")
            options["stand_in_resolution"] = args.resolution
    seed = args.seed if args.random_weights else None
    if metric == "is":
        options = {"device": args.device}
    extractor = build_extractor(protocol.extractor, weights_path=args.weights, random_seed=seed,
                                **options)
    return protocol, extractor


def real_statistics(args, protocol, extractor):
    """(GaussianStats, source) for --real: a file, the cache, or computed from a directory."""
    from ..metrics.fvd import directory_statistics
    from ..metrics.stats import StatsCache, load_stats, manifest_hash
    from ..video import list_videos

    real = Path(args.real)
    if real.is_file():
        from ..metrics.stats import StatsError

        stats = load_stats(real)
        ph = stats.meta.get("protocol_hash")
        if ph is not None and ph != protocol.hash:
            raise StatsError(f"--real {real}: statistics made under {stats.meta.get('protocol')} "
                             f"({ph[:12]}), not {protocol.name} ({protocol.short_hash}); they are "
                             "not comparable")
        if stats.dim != extractor.feature_dim:
            raise StatsError(f"--real {real}: {stats.dim}-d statistics, {extractor.name} gives "
                             f"{extractor.feature_dim}-d features")
        if stats.meta.get("weights_sha256") not in (None, "unknown", extractor.weights_sha256):
            print(f"ffbench: warning: {real} was computed with detector weights "
                  f"{stats.meta['weights_sha256'][:12]}, not {str(extractor.weights_sha256)[:12]}",
                  file=sys.stderr)
        return stats, f"file:{real}"
    if not real.is_dir():
        from ..errors import ConfigError

        raise ConfigError(f"--real {real}: neither a directory nor a statistics file")
    manifest = manifest_hash(list_videos(real), real, extra=f"clip-seed={args.clip_seed}")
    cache = None if getattr(args, "no_cache", False) else StatsCache()
    if cache is not None:
        hit = cache.get(protocol, manifest, extractor.weights_sha256)
        if hit is not None:
            return hit, f"cache:{cache.path_for(protocol, manifest, extractor.weights_sha256)}"
    stats, info = directory_statistics(real, protocol, "real", extractor, limit=protocol.num_real,
                                       batch_size=args.batch_size, clip_seed=args.clip_seed)
    stats.meta.update(info, extractor=extractor.name, random_weights=extractor.random_weights)
    if cache is not None:
        cache.put(protocol, manifest, extractor.weights_sha256, stats)
    return stats, "videos"


def _warn_count(what: str, got: int, want: int, out: list) -> None:
    if got < want:
        out.append(f"{what}: {got} videos, the protocol uses {want}; FVD/IS are biased in N — "
                   "report N beside the number")


def run_fvd(args) -> int:
    from ..metrics.fvd import directory_statistics, fvd_from_stats

    protocol, extractor = protocol_and_extractor(args, "fvd")
    real, real_source = real_statistics(args, protocol, extractor)
    if real.n < 2:
        from ..metrics.stats import StatsError

        raise StatsError(f"--real {args.real}: FVD needs at least 2 real videos, got {real.n} "
                         f"usable for {protocol.name} ({protocol.num_frames} frames x stride "
                         f"{protocol.frame_stride})")
    fake, info = directory_statistics(args.fake, protocol, "fake", extractor,
                                      limit=protocol.num_fake, batch_size=args.batch_size)
    method = args.method or protocol.sqrtm
    value = fvd_from_stats(real, fake, protocol, method)
    warnings: list[str] = []
    _warn_count("real", real.n, protocol.num_real, warnings)
    _warn_count("fake", fake.n, protocol.num_fake, warnings)
    if extractor.random_weights:
        warnings.append("random detector weights: this number means nothing outside a smoke test")
    result = {"metric": "fvd", "value": value, "protocol": protocol.name,
              "protocol_hash": protocol.hash, "n_real": real.n, "n_fake": fake.n,
              "sqrtm": method, "covariance": protocol.covariance, "real_source": real_source,
              "fake_dir": str(args.fake), **extractor.describe(), "warnings": warnings}
    if args.resolution is not None:
        result["resolution_override"] = args.resolution
    _emit(args, result, f"FVD ({protocol.name}, {real.n} real / {fake.n} fake): {value:.4f}")
    return 0


def run_is(args) -> int:
    from ..errors import ConfigError
    from ..metrics.inception import directory_probs, inception_score_from_probs
    from ..protocols import get
    from ..video import list_videos

    found = len(list_videos(args.fake))
    proto = get(args.protocol)
    needed = proto.videos_needed if proto.samples_per_split else max(2, proto.splits)
    if found < needed:  # before loading anything heavy
        raise ConfigError(f"--fake {args.fake}: {found} videos; {proto.name} needs at least {needed}"
                          + (f" ({proto.splits} loops of {proto.samples_per_split} fresh samples, "
                             "as TGAN2's script)" if proto.samples_per_split else
                             f" for {proto.splits} splits"))
    protocol, extractor = protocol_and_extractor(args, "is")
    probs, info = directory_probs(args.fake, protocol, extractor, limit=protocol.videos_needed,
                                  batch_size=args.batch_size)
    mean, std = inception_score_from_probs(probs, protocol.splits, protocol.split_rule,
                                           protocol.shuffle_seed, protocol.eps,
                                           protocol.samples_per_split or None)
    warnings: list[str] = []
    _warn_count("fake", probs.shape[0], protocol.videos_needed, warnings)
    if extractor.random_weights:
        warnings.append("random classifier weights: this number means nothing outside a smoke test")
    result = {"metric": "is", "value": mean, "std": std, "protocol": protocol.name,
              "protocol_hash": protocol.hash, "n_fake": int(probs.shape[0]),
              "splits": protocol.splits, "split_rule": protocol.split_rule,
              "fake_dir": str(args.fake), **extractor.describe(), "warnings": warnings}
    _emit(args, result, f"IS ({protocol.name}, {probs.shape[0]} videos): {mean:.4f} ± {std:.4f}")
    return 0


def _emit(args, result: dict, line: str) -> None:
    if args.json:
        print_json(result)
        return
    if result.get("random_weights"):
        line += "  [random weights]"
    print(line)
    for w in result["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
