"""`ffbench evaluate fvd|is` and `ffbench stats` — one subprocess per command as users run it,
the rest in-process (cheaper). Random weights at a small detector size: these check plumbing,
caching and error paths, not FVD values."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from ffbench.cli import main
from ffbench.video import write_video

FAST = ["--random-weights", "--resolution", "32", "--batch-size", "4"]


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    g = torch.Generator().manual_seed(0)
    for role, frames in (("real", 18), ("fake", 16)):
        (root / role).mkdir()
        for i in range(2):
            v = torch.randint(0, 256, (frames, 20, 24, 3), dtype=torch.uint8, generator=g)
            write_video(root / role / f"{role}{i}.npy", v)
    (root / "short").mkdir()
    write_video(root / "short" / "s.npy", torch.zeros(8, 20, 24, 3, dtype=torch.uint8))
    return root


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_fvd_subprocess_then_cache(dirs, capsys, cli):
    proc = cli("evaluate", "fvd", "--real", dirs / "real", "--fake", dirs / "fake", *FAST, "--json")
    assert proc.returncode == 0, proc.stderr
    first = json.loads(proc.stdout)
    assert first["random_weights"] is True and first["weights_sha256"] == "random-seed-0"
    assert first["n_real"] == 2 and first["n_fake"] == 2 and np.isfinite(first["value"])
    assert first["protocol"] == "fvd@stylegan-v-2048x16" and first["real_source"] == "videos"
    assert first["resolution_override"] == 32 and any("2048" in w for w in first["warnings"])
    # the second run reads the real statistics from the cache (same FFBENCH_HOME)
    again = _json(capsys, ["evaluate", "fvd", "--real", str(dirs / "real"), "--fake",
                           str(dirs / "fake"), *FAST, "--json"])
    assert again["real_source"].startswith("cache:")
    assert again["value"] == pytest.approx(first["value"], rel=1e-9, abs=1e-15)


def test_stats_compute_show_import_and_real_from_file(dirs, tmp_path, capsys, cli):
    out = tmp_path / "real.npz"
    res = _json(capsys, ["stats", "compute", "--protocol", "fvd@videogpt", "--real", str(dirs / "real"),
                         "--out", str(out), *FAST, "--json"])
    assert res["n"] == 2 and res["dim"] == 400 and out.exists()
    via_file = _json(capsys, ["evaluate", "fvd", "--protocol", "fvd@videogpt", "--real", str(out),
                              "--fake", str(dirs / "fake"), *FAST, "--json"])
    via_dir = _json(capsys, ["evaluate", "fvd", "--protocol", "fvd@videogpt", "--real", str(dirs / "real"),
                             "--fake", str(dirs / "fake"), *FAST, "--json"])
    assert via_file["value"] == pytest.approx(via_dir["value"], rel=1e-9, abs=1e-15)
    assert via_file["sqrtm"] == "tfgan" and via_file["covariance"] == "unbiased"
    # statistics of one protocol are refused under another
    assert main(["evaluate", "fvd", "--protocol", "fvd@cd-fvd-i3d", "--real", str(out),
                 "--fake", str(dirs / "fake"), *FAST]) == 2
    assert "not comparable" in capsys.readouterr().err
    # a StyleGAN-V style pickle
    x = np.random.default_rng(0).standard_normal((10, 400)).astype(np.float32).astype(np.float64)
    with open(tmp_path / "ucf.pkl", "wb") as fh:
        pickle.dump({"capture_all": False, "capture_mean_cov": True, "max_items": 10, "num_items": 10,
                     "num_features": 400, "all_features": [], "raw_mean": x.sum(0), "raw_cov": x.T @ x}, fh)
    imp = _json(capsys, ["stats", "import", str(tmp_path / "ucf.pkl"), "--protocol",
                         "fvd@stylegan-v-2048x16", "--out", str(tmp_path / "ucf.npz"), "--json"])
    assert imp["n"] == 10 and imp["protocol"] == "fvd@stylegan-v-2048x16"
    proc = cli("stats", "show", tmp_path / "ucf.npz", "--json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["n"] == 10 and shown["source"] == "reference-pkl" and shown["weights_sha256"] == "unknown"
    listing = _json(capsys, ["stats", "show", "--json"])
    assert any("videogpt" in f["file"] for f in listing["files"])


def test_errors_are_clean(dirs, capsys, cli):
    # no weights on this machine and no --random-weights: a clear message, never random weights
    assert main(["evaluate", "fvd", "--real", str(dirs / "real"), "--fake", str(dirs / "fake")]) == 2
    assert "not on this machine" in capsys.readouterr().err
    assert main(["evaluate", "fvd", "--real", str(dirs / "real"), "--fake", str(dirs / "fake"),
                 "--resolution", "32"]) == 2
    assert "only goes with --random-weights" in capsys.readouterr().err
    assert main(["evaluate", "fvd", "--real", str(dirs / "nope"), "--fake", str(dirs / "fake"), *FAST]) == 2
    assert "neither a directory nor a statistics file" in capsys.readouterr().err
    assert main(["evaluate", "fvd", "--real", str(dirs / "short"), "--fake", str(dirs / "fake"), *FAST,
                 "--no-cache"]) == 2
    assert "at least 2 real videos" in capsys.readouterr().err
    proc = cli("evaluate", "is", "--fake", dirs / "fake", "--random-weights")
    assert proc.returncode == 2 and "needs at least 10" in proc.stderr and "Traceback" not in proc.stderr
    # TGAN2's IS scores 10 loops of 2048 fresh videos: the CLI asks for all 20480
    assert main(["evaluate", "is", "--fake", str(dirs / "fake"), "--protocol", "is@c3d-ucf101-tgan2",
                 "--random-weights"]) == 2
    assert "needs at least 20480 (10 loops of 2048 fresh samples" in capsys.readouterr().err


def test_help(cli):
    proc = cli("evaluate", "fvd", "--help")
    assert proc.returncode == 0 and "--random-weights" in proc.stdout and "fvd@videogpt" in proc.stdout
