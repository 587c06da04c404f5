"""Reconstruction family: PSNR / SSIM / MSE / LPIPS of reconstructions against their targets
(paper Table 3), into the results store like every other number.

Two sources of reconstructions, one scoring path (`score_pairs`):
- two folders matched by name (`ffbench evaluate reconstruction --pred DIR --target DIR`), each
  listed by `list_items` through the one folder listing (`ffbench.video.list_videos`) and read by
  `read_pairs` through the one decoding path (`ffbench.video.ClipLoader`);
- a MoVQ decoder variant run on a reconstruction set (`--decoder VARIANT --target DIR`): each
  target video is encoded by the MoVQ encoder and decoded by the variant's decoder
  (`decoder_reconstructions`); `--random-weights` uses the `tiny` preset (marked random).

The stored row is metric "reconstruction" with the four values in `extra` (the report splits
them into Table 3 columns) plus the decoder's temporal layers, fine-tuning and parameter count.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..devices import resolve_device
from ..fusionframes.unet import param_count

__all__ = ["RECONSTRUCTION_METRICS", "TEMPORAL_LAYERS", "ItemSet", "list_items", "read_pairs",
           "read_targets", "score_pairs", "decoder_reconstructions", "store_reconstruction"]

RECONSTRUCTION_METRICS = ("psnr", "ssim", "mse", "lpips")
# decoder variant -> paper Table 3 "Temporal layers" label
TEMPORAL_LAYERS = {"image": "-", "conv3x1x1": "3x1x1 Conv", "conv3x3x3": "3x3x3 Conv",
                   "conv3x1x1_attn": "3x1x1 Conv + Attn", "conv3x3x3_attn": "3x3x3 Conv + Attn",
                   "resnet_attn": "ResNet Block + Attn", "conv2d_to_3d": "2D->3D Conv"}


@dataclass
class ItemSet:
    """The videos of one side (`--pred` or `--target`), by the name they are paired on.

    `items[name]` = (path, frames): `frames` is None (every frame) or the count a Vimeo-90k
    sequence must give (im1..imN). `skipped`: inputs the listing left out, as
    {"video": path, "reason": ...} rows (a container beside the exact `.npy`: "duplicate of").
    """
    root: Path
    items: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)


def list_items(root, frames_per_sequence: int = 7) -> ItemSet:
    """The items of a folder, named as every command names a folder's videos.

    - an official Vimeo-90k root (sep_testlist.txt + sequences/): exactly the sequences of its
      test list, named 'XXXXX/YYYY'; each must hold im1..imN.png as its first N frames;
    - else `list_videos(root)` (recursive, natural order, frame folders, `ID.npy` beside `ID.mp4`
      is one video: the exact `.npy`; an ffbench run folder contributes its `samples/`): a video is
      named by its path relative to the folder (relative to `samples/` for a run folder), without
      extension, a leading 'sequences/' dropped (so a prediction tree `sequences/00001/0266/`
      matches Vimeo-90k id '00001/0266'); a folder of frames given as ROOT itself is named '.'.
    Raises FFBenchError naming the folder: missing, empty, or two videos with one name
    (`a.mp4` + `a.avi`).
    """
    from ..data.vimeo90k import SPLIT_FILES, Vimeo90kError, Vimeo90kSeptuplet, frame_names
    from ..errors import FFBenchError
    from ..video import list_videos
    from ..video.listing import frame_files, is_run_folder

    root = Path(root)
    if not root.is_dir():
        raise FFBenchError(f"{root}: not a folder" + ("" if root.exists() else " (it does not exist)"))
    out = ItemSet(root)
    if (root / SPLIT_FILES["test"]).is_file() and (root / "sequences").is_dir():
        ds = Vimeo90kSeptuplet(root)
        names = frame_names(frames_per_sequence)
        for i in ds.ids:
            path = ds.path(i)
            got = [p.name for p in frame_files(path)[:len(names)]] if path.is_dir() else []
            if got != names:
                missing = next((n for n in names if not (path / n).is_file()), None)
                raise Vimeo90kError(f"{path / missing}: frame not found (listed in {ds.list_file})" if missing
                                    else f"{path}: first frames are {got}, expected {names}")
            out.items[i] = (path, frames_per_sequence)
        return out
    listing = list_videos(root)
    base = root / "samples" if is_run_folder(root) else root
    out.skipped = [{"video": str(p), "reason": r} for p, r in listing.skipped]
    for v in listing.videos:
        rel = v.relative_to(base).as_posix()
        name = rel.rsplit(".", 1)[0] if v.is_file() else rel
        name = name[len("sequences/"):] if name.startswith("sequences/") else name
        if name in out.items:
            raise FFBenchError(f"{root}: two videos named {name!r}: {out.items[name][0]} and {v} "
                               "(pairs are matched by name without extension)")
        out.items[name] = (v, None)
    if not out.items and frame_files(root):
        out.items["."], out.skipped = (root, None), []  # ROOT itself is one sequence of frames
    if not out.items:
        from .realstats import name_list

        rows = (f"{s['video']} ({s['reason']})" for s in out.skipped)
        raise FFBenchError(f"{root}: no videos or frame folders" + (
            f" ({len(out.skipped)} skipped: {name_list(rows, 5)})" if out.skipped else ""))
    return out


def _requests(entries):
    from ..video import ClipRequest

    return [ClipRequest(p, 0, frames) for p, frames in entries]


def _clips(entries, workers: int | None):
    """uint8 [T,H,W,3] of each (path, frames) in order, decoded by `ClipLoader` (the one decoding
    path: `read_video`, or the first `frames` frames); a file that cannot be read is an
    FFBenchError naming it and the reason (a partial set is not the protocol)."""
    from ..errors import FFBenchError
    from ..video import ClipLoader

    entries = list(entries)
    loader = ClipLoader(_requests(entries), num_workers=workers)
    for item in loader:
        if item.error is not None:
            raise FFBenchError(f"{entries[item.index][0]}: {item.error}")
        yield item.clip


def read_pairs(pred: ItemSet, target: ItemSet, names, *, workers: int | None = None) -> Iterator:
    """(name, pred, target) float [T,H,W,3] in [0,1] for each name; FFBenchError naming both files
    when their shapes differ."""
    from ..errors import FFBenchError
    from ..video import to_float01

    names = list(names)
    entries = [e for n in names for e in (pred.items[n], target.items[n])]
    clips = _clips(entries, workers)
    for name in names:
        p, t = next(clips), next(clips)
        if p.shape != t.shape:
            raise FFBenchError(f"{name}: prediction {pred.items[name][0]} has shape {list(p.shape)} but "
                               f"target {target.items[name][0]} has {list(t.shape)} ([T,H,W,3])")
        yield name, to_float01(p), to_float01(t)


def read_targets(target: ItemSet, *, workers: int | None = None) -> Iterator:
    """(name, uint8 [T,H,W,3]) of every target, in natural order of name (the decoder variant's
    input)."""
    from ..video import natural_key

    names = sorted(target.items, key=natural_key)
    yield from zip(names, _clips((target.items[n] for n in names), workers))


def score_pairs(pairs: Iterable, protocol, wanted=RECONSTRUCTION_METRICS, *, lpips_net=None,
                lpips_weights=None, random_weights: bool = False, device=None) -> dict:
    """Score (name, pred, target) triples, videos float [T,H,W,3] in [0,1] of equal shape.

    Returns {"values": {metric: mean over videos}, "per_video": [...], counts, LPIPS
    provenance, "random_weights"}; raises FFBenchError naming a pair whose shapes differ.
    """
    from ..errors import FFBenchError
    from ..metrics import reconstruction as R

    device = resolve_device(device)
    metrics = {}
    for m in wanted:
        if m == "lpips":
            metrics[m] = R.VideoLPIPS(protocol, net=lpips_net, weights_path=lpips_weights,
                                      random_backbone=random_weights, seed=0, device=device)
        else:
            metrics[m] = {"psnr": R.VideoPSNR, "ssim": R.VideoSSIM, "mse": R.VideoMSE}[m](protocol)
    rows = []
    for name, p, t in pairs:
        if p.shape != t.shape:
            raise FFBenchError(f"{name}: prediction has shape {list(p.shape)} but target has "
                               f"{list(t.shape)} ([T,H,W,3])")
        for metric in metrics.values():
            try:
                metric.update(p, t)
            except ValueError as e:  # frames too small for SSIM/LPIPS, values out of range
                raise FFBenchError(f"{name}: {e}") from e
        rows.append({"name": name, "frames": int(p.shape[0])})
    if not rows:
        raise FFBenchError("no reconstruction pairs to score")
    for m, metric in metrics.items():
        for row, v in zip(rows, metric.per_video_values().tolist()):
            row[m] = v
    values = {m: float(metric.compute()) for m, metric in metrics.items()}
    result = {"metric": "reconstruction", "protocol": protocol.name, "protocol_hash": protocol.hash,
              "num_videos": len(rows), "num_frames": sum(r["frames"] for r in rows),
              "values": values, "per_video": rows, "random_weights": False}
    if "psnr" in metrics:
        result["psnr_identical_frames"] = int(metrics["psnr"].n_identical)
        result["psnr_identical_rule"] = protocol.psnr_identical
    if "lpips" in metrics:
        lp = metrics["lpips"].lpips_model
        result["lpips"] = {"net": lp.net_name, "version": protocol.lpips_version,
                           "random_weights": lp.random_weights, "weights_sha256": lp.weights_sha256}
        result["random_weights"] = bool(metrics["lpips"].random_weights)
    return result


def build_decoder_movq(variant: str, *, random_weights: bool, weights=None, device=None):
    """The MoVQ (encoder + the variant's decoder) of a Table 3 variant: the tiny preset with
    random weights, or the released file of `image` / `conv3x3x3_attn`."""
    from ..errors import ConfigError
    from ..fusionframes.pipeline import PIPELINE_PRESETS, RELEASED_DECODERS

    if variant not in TEMPORAL_LAYERS:
        raise ConfigError(f"--decoder {variant!r}: choose one of {', '.join(TEMPORAL_LAYERS)}")
    if random_weights:
        from ..fusionframes.movq import build_movq
        from ..fusionframes.movq_video import build_video_movq

        preset = PIPELINE_PRESETS["tiny"]["movq"]
        movq = build_movq(preset, seed=4) if variant == "image" else build_video_movq(variant, preset, seed=4)
        return movq.to(device or "cpu")
    if variant not in RELEASED_DECODERS:
        raise ConfigError(f"--decoder {variant}: no released weights (released: "
                          f"{', '.join(RELEASED_DECODERS)}); use --random-weights for the tiny preset")
    from ..fusionframes.movq import load_movq
    from ..fusionframes.movq_video import load_video_movq
    from ..weights import resolve

    path = resolve(RELEASED_DECODERS[variant], weights)
    return (load_movq if variant == "image" else load_video_movq)(path, device=device or "cpu")


@torch.no_grad()
def decoder_reconstructions(targets: Iterable, movq, variant: str) -> Iterator:
    """(name, reconstruction, target) of each (name, target uint8 [T,H,W,3]): encoded by the
    MoVQ encoder, decoded by the variant's decoder, quantised to uint8 as a decoded video is."""
    from ..errors import ConfigError
    from ..fusionframes.movq import images_to_uint8
    from ..video import to_float01

    f = movq.config.downsample_factor
    for name, target in targets:
        t, h, w, _ = target.shape
        if h % f or w % f:
            raise ConfigError(f"{name}: frame size {h}x{w} is not a multiple of the MoVQ "
                              f"downsampling factor {f}")
        x = target.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        z = movq.encode(x)
        images = movq.decode(z) if variant == "image" else movq.decode(z, num_frames=t)
        pred = images_to_uint8(images).cpu()
        yield name, to_float01(pred), to_float01(target)


def decoder_info(movq, variant: str, random_weights: bool) -> dict:
    return {"decoder": variant, "temporal_layers": TEMPORAL_LAYERS[variant],
            "finetune": "random weights" if random_weights else "released",
            "params": int(param_count(movq.decoder))}


def store_reconstruction(result: dict, *, model: str, dataset: str, db: str = "",
                         extra: dict | None = None) -> str:
    """One run row + one `reconstruction` score row (values in extra); returns the store URL."""
    from ..store import ResultsStore

    values = result["values"]
    first = next(iter(values.values()))
    score = {"metric": "reconstruction", "protocol": result["protocol"],
             "protocol_hash": result["protocol_hash"], "value": values.get("psnr", first),
             "n": result["num_videos"], "random_weights": result["random_weights"],
             "weights_sha256": (result.get("lpips") or {}).get("weights_sha256") or "",
             "extra": {**values, "num_frames": result["num_frames"], **(extra or {})}}
    results = {"run_id": uuid.uuid4().hex[:16], "model": model, "dataset": dataset,
               "n_samples": result["num_videos"], "random_weights": result["random_weights"],
               "model_kind": "decoder" if extra and "decoder" in extra else "", "scores": [score],
               "config": {"protocol": result["protocol"], **(extra or {})}}
    store = ResultsStore(db or None)
    store.add_results(results)
    return store.url
