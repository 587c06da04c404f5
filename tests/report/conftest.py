"""Fixtures for report tests: a fixed results store and fake run dirs (notes/RUN_DIR.md layout).

Hashes and timestamps are fixed strings so the golden tables do not change when a protocol in
ffbench.protocols is edited; the names are real protocol names.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ffbench.store import ResultsStore, RunRecord, ScoreRecord

H_IS = "1" * 64
H_FVD = "2" * 64
H_FVD_GPT = "3" * 64
H_CLIP = "4" * 64
H_REC = "5" * 64
W_SHA = "ab" * 32


def _score(metric, protocol, h, value, n, **kw):
    return ScoreRecord(metric=metric, protocol=protocol, protocol_hash=h, value=value, n=n,
                       weights_sha256=W_SHA, **kw)


def fill_store(store: ResultsStore) -> ResultsStore:
    runs = [
        (RunRecord(run_id="ff-ucf", model="fusionframes-tiny", dataset="ucf101", n_samples=16,
                   random_weights=True, created_at="2026-01-01T00:00:01"),
         [_score("is", "is@c3d-ucf101", H_IS, 12.3456, 16, ci_low=11.0, ci_high=13.5),
          _score("fvd", "fvd@stylegan-v-2048x16", H_FVD, 801.2345, 16, ci_low=780.0, ci_high=820.0)]),
        (RunRecord(run_id="ms-ucf", model="modelscope_1.7b", dataset="ucf101", n_samples=32,
                   created_at="2026-01-01T00:00:02"),
         [_score("is", "is@c3d-ucf101", H_IS, 27.5, 32),
          _score("fvd", "fvd@stylegan-v-2048x16", H_FVD, 650.5, 32),
          _score("fvd", "fvd@videogpt", H_FVD_GPT, 700.125, 32)]),
        (RunRecord(run_id="ff-msr", model="fusionframes-tiny", dataset="msrvtt", n_samples=16,
                   random_weights=True, created_at="2026-01-01T00:00:03"),
         [_score("clipsim", "clipsim@vit-b-32", H_CLIP, 0.2101, 16)]),
        (RunRecord(run_id="interp-mfi", model="ff-mfi", dataset="UCF-101", n_samples=16,
                   config={"interpolation": "mfi"}, created_at="2026-01-01T00:00:04"),
         [_score("is", "is@c3d-ucf101", H_IS, 20.0, 16),
          _score("fvd", "fvd@stylegan-v-2048x16", H_FVD, 600.0, 16)]),
        (RunRecord(run_id="dec-3d", model="movq-3d & attn #1", dataset="vimeo90k", n_samples=8,
                   created_at="2026-01-01T00:00:05"),
         [_score("reconstruction", "reconstruction@vimeo90k-septuplet", H_REC, None, 8,
                 extra={"psnr": 34.5, "ssim": 0.9201, "mse": 0.00052, "lpips": 0.0039,
                        "params": 556e6, "temporal_layers": "3x3x3 Conv + Attn",
                        "finetune": "Decoder"})]),
    ]
    for run, scores in runs:
        store.add_run(run, scores)
    return store


@pytest.fixture
def fixed_store(tmp_path) -> ResultsStore:
    return fill_store(ResultsStore(tmp_path / "results.db"))


def _video(seed: int, t=8, h=32, w=48) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.randint(0, 256, (1, h, w, 3), generator=g, dtype=torch.uint8)
    shift = torch.arange(t).view(t, 1, 1, 1) * 8
    return ((base.int() + shift) % 256).to(torch.uint8)


def write_run_dir(root: Path, run_id: str, model: str, prompts: list[str], random_weights: bool,
                  with_previews: bool, scores: list[dict], dataset: str = "demo",
                  per_class: dict | None = None) -> Path:
    """A finished run dir as the harness writes it (notes/RUN_DIR.md)."""
    from PIL import Image

    from ffbench.video import write_video

    d = root / run_id
    (d / "samples").mkdir(parents=True)
    (d / "previews").mkdir()
    run_info = {"run_id": run_id, "config": {"model": {"name": model}}, "config_hash": "c" * 64,
                "created_at": "2026-01-02T00:00:00"}
    (d / "run.json").write_text(json.dumps({**run_info, "ffbench_version": "0.1.0"}))
    plan = []
    for i, prompt in enumerate(prompts):
        sid = f"s{i:03d}"
        plan.append({"sample_id": sid, "prompt": prompt, "seed": 100 + i, "label": None,
                     "video_id": None})
        video = _video(i + 7 * len(run_id))
        write_video(d / "samples" / f"{sid}.mp4", video, fps=8)
        write_video(d / "samples" / f"{sid}.npy", video)
        (d / "samples" / f"{sid}.json").write_text(json.dumps({
            "sample_id": sid, "prompt": prompt, "seed": 100 + i, "frames": 8, "height": 32,
            "width": 48, "fps": 8, "model": model, "random_weights": random_weights,
            "timings": {"generate": 0.5}}))
        if with_previews:
            Image.fromarray(video[4].numpy()).save(d / "previews" / f"{sid}.jpg")
    (d / "plan.jsonl").write_text("".join(json.dumps(p) + "\n" for p in plan))
    (d / "results.json").write_text(json.dumps({  # as harness/runner.py::_results writes it
        **run_info, "model": model, "model_kind": "tiny", "dataset": dataset,
        "prompt_set": f"{dataset}: {len(prompts)} prompts", "seed": 0,
        "n_planned": len(prompts) + 1, "n_samples": len(prompts), "n_failed": 1,
        "failures": [{"sample_id": "s999", "stage": "decode", "error": "out of memory <test>"}],
        "random_weights": random_weights, "versions": {"ffbench": "0.1.0", "torch": "2.14.1"},
        "hardware": {"device": "cpu", "cpu_count": 2},
        "timings": {"generate": 1.5, "decode": 0.25, "extract": 0.5},
        "scores": scores, "per_sample": {}, "per_class": per_class or {}}))
    return d


@pytest.fixture
def run_dirs(tmp_path) -> list[Path]:
    root = tmp_path / "runs"
    prompts = ["a red ball & a <blue> cube", "waves on the sea"]
    s = lambda m, p, h, v, n, rw, **kw: {"metric": m, "protocol": p, "protocol_hash": h,  # noqa: E731
                                         "value": v, "n": n, "std": None, "weights_sha256": W_SHA,
                                         "random_weights": rw, "extra": {}, **kw}
    a = write_run_dir(root, "demo-ff", "fusionframes-tiny", prompts, True, True,
                      [s("clipsim", "clipsim@vit-b-32", H_CLIP, 0.21, 2, True, ci_low=0.2, ci_high=0.22),
                       s("fvd", "fvd@stylegan-v-2048x16", H_FVD, 900.0, 2, True)],
                      per_class={"is@c3d-ucf101": {"ApplyEyeMakeup": 1.5, "Archery": 2.5}})
    b = write_run_dir(root, "demo-tiny-baseline", "tiny-baseline", prompts, False, False,
                      [s("clipsim", "clipsim@vit-b-32", H_CLIP, 0.19, 2, False, ci_low=0.18, ci_high=0.2),
                       s("fvd", "fvd@stylegan-v-2048x16", H_FVD, 950.0, 2, False)])
    return [a, b]


@pytest.fixture
def profile_dir(tmp_path) -> Path:
    d = tmp_path / "profile"
    d.mkdir()
    rows = []
    # rows as `ffbench profile` writes them: one per interpolation pass and configuration
    for keyframes, frames in ((4, 16), (16, 61), (61, 241)):
        common = {"model": "fusionframes", "preset": "full", "height": 512, "width": 512,
                  "keyframes": keyframes, "fps": "medium", "steps": 50, "guidance": True,
                  "pass": 1, "frames_out": frames, "params": 3.9e9}
        rows.append({**common, "stage": "interpolation", "flops": 2.0e12 * frames})
        rows.append({**common, "stage": "mfi", "flops": 7.0e12 * frames})
    rows += [{"model": "fusionframes", "stage": "text_encoder", "flops": 1.1e12, "params": 8.6e9},
             {"model": "fusionframes", "stage": "keyframes_unet", "flops": 9.5e14, "params": 4.1e9},
             {"model": "fusionframes", "stage": "movq_decoder", "flops": 3.0e13, "params": 5.56e8}]
    (d / "profile.json").write_text(json.dumps(rows))
    return d


@pytest.fixture
def make_run_dir():
    """`write_run_dir` for tests that need runs of their own (`from conftest import` is ambiguous
    across test folders)."""
    return write_run_dir


@pytest.fixture(scope="module")
def chromium():
    """Path of headless Chromium for the report's browser tests (a missing browser fails them:
    .ci/run installs Debian's package)."""
    from _report_browser import find_chromium

    path = find_chromium()
    if path is None:
        pytest.fail("headless Chromium not found (/usr/bin/chromium): install Debian's `chromium` "
                    "package (apt-get install -y chromium; .ci/run does this) or set FFBENCH_CHROMIUM")
    return path
