"""Reconstruction family: PSNR / SSIM / MSE / LPIPS of reconstructions against their targets
(paper Table 3), into the results store like every other number.

Two sources of reconstructions, one scoring path (`score_pairs`):
- two folders matched by name (`ffbench evaluate reconstruction --pred DIR --target DIR`);
- a MoVQ decoder variant run on a reconstruction set (`--decoder VARIANT --target DIR`): each
  target video is encoded by the MoVQ encoder and decoded by the variant's decoder
  (`decoder_reconstructions`); `--random-weights` uses the `tiny` preset (marked random).

The stored row is metric "reconstruction" with the four values in `extra` (the report splits
them into Table 3 columns) plus the decoder's temporal layers, fine-tuning and parameter count.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

import torch

from ..devices import resolve_device
from ..fusionframes.unet import param_count

__all__ = ["RECONSTRUCTION_METRICS", "TEMPORAL_LAYERS", "score_pairs", "decoder_reconstructions",
           "store_reconstruction"]

RECONSTRUCTION_METRICS = ("psnr", "ssim", "mse", "lpips")
# decoder variant -> paper Table 3 "Temporal layers" label
TEMPORAL_LAYERS = {"image": "-", "conv3x1x1": "3x1x1 Conv", "conv3x3x3": "3x3x3 Conv",
                   "conv3x1x1_attn": "3x1x1 Conv + Attn", "conv3x3x3_attn": "3x3x3 Conv + Attn",
                   "resnet_attn": "ResNet Block + Attn", "conv2d_to_3d": "2D->3D Conv"}


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
            metric.update(p, t)
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
