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


def test_evaluate_fvd_subprocess_then_cache(dirs, capsys, cli, isolated_home):
    proc = cli("evaluate", "fvd", "--real", dirs / "real", "--fake", dirs / "fake", *FAST, "--json")
    assert proc.returncode == 0, proc.stderr
    first = json.loads(proc.stdout)
    assert first["random_weights"] is True and first["weights_sha256"] == "random-seed-0"
    assert first["n_real"] == 2 and first["n_fake"] == 2 and np.isfinite(first["value"])
    assert first["protocol"] == "fvd@stylegan-v-2048x16" and first["real_source"].startswith("videos:")
    assert first["resolution_override"] == 32 and any("2048" in w for w in first["warnings"])
    cache = list((isolated_home / "stats").glob("*.npz"))
    assert len(cache) == 1
    # the second run reads the real statistics from the cache (same FFBENCH_HOME)
    before = cache[0].stat().st_mtime_ns
    again = _json(capsys, ["evaluate", "fvd", "--real", str(dirs / "real"), "--fake",
                           str(dirs / "fake"), *FAST, "--json"])
    assert cache[0].stat().st_mtime_ns == before
    assert again["value"] == first["value"]
    # and the result is in the store
    from ffbench.store import ResultsStore
    assert len(ResultsStore().leaderboard()) >= 1


def test_stats_compute_show_import_and_real_from_file(dirs, tmp_path, capsys, cli):
    out = tmp_path / "real.npz"
    res = _json(capsys, ["stats", "compute", "--protocol", "fvd@videogpt", "--real", str(dirs / "real"),
                         "--out", str(out), *FAST, "--json"])
    assert res["n"] == 2 and res["dim"] == 400 and out.exists()
    via_file = _json(capsys, ["evaluate", "fvd", "--protocol", "fvd@videogpt", "--real", str(out),
                              "--fake", str(dirs / "fake"), *FAST, "--json"])
    via_dir = _json(capsys, ["evaluate", "fvd", "--protocol", "fvd@videogpt", "--real", str(dirs / "real"),
                             "--fake", str(dirs / "fake"), *FAST, "--json"])
    assert via_file["value"] == via_dir["value"]
    assert via_file["sqrtm"] == "tfgan" and via_file["covariance"] == "unbiased"
    # statistics of one protocol are refused under another
    assert main(["evaluate", "fvd", "--protocol", "fvd@cd-fvd-i3d", "--real", str(out),
                 "--fake", str(dirs / "fake"), *FAST]) == 2  # refused before any video is read
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
    assert "neither a folder, a statistics file nor a dataset name" in capsys.readouterr().err
    # a real folder whose only video is too short: not computed, with the file named
    assert main(["evaluate", "fvd", "--real", str(dirs / "short"), "--fake", str(dirs / "fake"), *FAST]) == 1
    err = capsys.readouterr().err
    assert "no usable real videos" in err and "s.npy" in err
    proc = cli("evaluate", "is", "--fake", dirs / "fake", "--random-weights", "--no-store")
    assert proc.returncode == 2 and "needs at least 11 for 10 splits" in proc.stderr
    assert "Traceback" not in proc.stderr
    # TGAN2's IS scores 10 loops of 2048 fresh videos: the CLI asks for all 20480, before any network
    assert main(["evaluate", "is", "--fake", str(dirs / "fake"), "--protocol", "is@c3d-ucf101-tgan2",
                 "--random-weights", "--no-store"]) == 2
    assert "needs at least 20480 (10 loops of 2048 fresh samples" in capsys.readouterr().err


def test_help(cli):
    proc = cli("evaluate", "fvd", "--help")
    assert proc.returncode == 0 and "--random-weights" in proc.stdout and "fvd@videogpt" in proc.stdout
