"""Decoding in worker processes (issue 18): `--workers N` changes how fast, never what.

The fake side (features.py) and the real side (RealVideoSet) read through one ClipLoader; with 0
or 2 workers an evaluation gives the bit-identical score, the same per-sample failures (a short
video at stage "clip" with the clip rule's reason, an undecodable one at "decode", named), and
both sides use the worker count given on the command line.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from harness_util import TINY

from ffbench.cli import main
from ffbench.errors import ConfigError
from ffbench.video import write_video

EXTRACTORS = [f"--extractor={k}={v}" for k, v in TINY.items()]
COMMON = ["--random-weights", "--batch-size", "3", "--no-store", "--json", "--quiet", *EXTRACTORS]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from video_samples import make_video

    root = tmp_path_factory.mktemp("workers")
    fake, real = root / "fake", root / "real"
    g = torch.Generator().manual_seed(2)
    for i in [*range(9), 10]:  # IS with 10 splits needs 11 videos (one per split scores exactly 1)
        write_video(fake / f"f{i}.npy", torch.randint(0, 256, (18, 16, 16, 3), dtype=torch.uint8, generator=g))
    for i in range(4):
        write_video(real / f"r{i}.npy", torch.randint(0, 256, (20, 16, 16, 3), dtype=torch.uint8, generator=g))
    frames = np.random.default_rng(0).integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    make_video(fake / "f9.avi", "mpeg4", frames=frames, rate=25, options={"g": "6"})
    write_video(fake / "f5_short.npy", torch.zeros(8, 16, 16, 3, dtype=torch.uint8))
    (fake / "f6_broken.mp4").write_bytes(b"not a video" * 20)
    prompts = root / "prompts.json"
    ids = [f"f{i}" for i in range(11)] + ["f5_short", "f6_broken"]
    prompts.write_text(json.dumps({sid: f"prompt {sid}" for sid in ids}))
    return fake, real, prompts


def _evaluate(capsys, monkeypatch, argv, workers: int, home=None):
    import shutil

    import ffbench.video.loader as loader

    if home is not None:  # no cached real statistics: the real set is read every time
        shutil.rmtree(home / "stats", ignore_errors=True)
    seen = []
    real_worker_loader = loader.worker_loader

    def recording(dataset, workers=None, prefetch_factor=2):
        seen.append(loader.default_workers() if workers is None else workers)
        return real_worker_loader(dataset, workers, prefetch_factor)

    monkeypatch.setattr(loader, "worker_loader", recording)
    code = main([*argv, *COMMON, "--workers", str(workers)])
    monkeypatch.setattr(loader, "worker_loader", real_worker_loader)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out), seen


@pytest.mark.parametrize("metric", ["fvd", "is"])
def test_worker_count_changes_nothing_but_speed(folders, capsys, monkeypatch, isolated_home, metric):
    fake, real, _ = folders
    argv = ["evaluate", metric, "--fake", str(fake)] + (["--real", str(real)] if metric == "fvd" else [])
    r0, seen0 = _evaluate(capsys, monkeypatch, argv, 0, isolated_home)
    r2, seen2 = _evaluate(capsys, monkeypatch, argv, 2, isolated_home)
    assert r0["value"] is not None and r0["value"] == r2["value"]  # bit-identical
    assert r0["n_fake"] == r2["n_fake"] == 11  # 10 npy + the AVI
    assert r0["skipped"] == r2["skipped"]
    reasons = {s["video"]: s["reason"] for s in r2["skipped"]}
    assert set(reasons) == {"f5_short.npy", "f6_broken.mp4"}
    assert reasons["f5_short.npy"].startswith("clip: ") and "ShortVideoError: too short: 8 frames < 16" in reasons["f5_short.npy"]
    assert reasons["f6_broken.mp4"].startswith("decode: ") and "f6_broken.mp4" in reasons["f6_broken.mp4"]
    # the fake side, and for FVD the real set, decoded with the flag's worker count
    assert set(seen0) == {0} and set(seen2) == {2}
    assert len(seen2) == (3 if metric == "fvd" else 1)  # fake clips; real manifest and clips


def test_clipsim_reads_whole_videos_through_the_workers(folders, capsys, monkeypatch):
    fake, _, prompts = folders
    argv = ["evaluate", "clipsim", "--videos", str(fake), "--prompts", str(prompts)]
    r0, seen0 = _evaluate(capsys, monkeypatch, argv, 0)
    r2, seen2 = _evaluate(capsys, monkeypatch, argv, 2)
    assert r0["value"] is not None and r0["value"] == r2["value"]
    assert r0["frames"] == r2["frames"] == 10 * 18 + 20 + 8  # every frame of every video
    assert r0["skipped"] == r2["skipped"] and len(r2["skipped"]) == 1
    assert r2["skipped"][0]["reason"].startswith("decode: ")
    assert set(seen2) == {2} and set(seen0) == {0}


def test_workers_config_field(tmp_path):
    from ffbench.harness.config import EXECUTION_FIELDS, default_workers, parse_run_config

    base = {"model": "harness_fakes:make", "dataset": "demo", "metrics": ["fvd"]}
    cfg = parse_run_config(base)
    assert cfg.workers == default_workers() == min(4, __import__("os").cpu_count() or 1)
    assert "workers" in EXECUTION_FIELDS
    two = parse_run_config({**base, "workers": 2})
    assert two.workers == 2 and two.hash == cfg.hash  # how it runs, not what it produces
    assert cfg.with_execution(workers=0).workers == 0
    with pytest.raises(ConfigError, match="'workers' must be >= 0"):
        parse_run_config({**base, "workers": -1})
    with pytest.raises(ConfigError, match="'workers' must be an integer"):
        parse_run_config({**base, "workers": "2"})
