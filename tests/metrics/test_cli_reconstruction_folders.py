"""`ffbench evaluate reconstruction` reads folders as every command does (issue #16): `ID.npy`
beside `ID.mp4` (what `generate` / `run` write) is ONE sample read from the exact `.npy`, a run
folder contributes its samples/, and the numbers equal those of `.npy`-only copies."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from ffbench.cli import main
from ffbench.metrics.reconstruction import video_mse, video_psnr, video_ssim
from ffbench.video import write_video

IDS = ["demo-00000", "demo-00001", "demo-00002"]
BASE = ["evaluate", "reconstruction", "--metrics", "psnr,ssim,mse", "--no-store", "--workers", "0"]


def _run_folder(root, seed):
    """A run folder as `ffbench generate --out` leaves it: samples/ID.npy + ID.mp4, previews/,
    shards/, run.json. Returns {id: uint8 [4,32,32,3]}."""
    g = torch.Generator().manual_seed(seed)
    videos = {}
    for i in IDS:
        v = torch.randint(0, 256, (4, 32, 32, 3), generator=g, dtype=torch.uint8)
        write_video(root / "samples" / f"{i}.npy", v)
        write_video(root / "samples" / f"{i}.mp4", v)
        (root / "previews").mkdir(parents=True, exist_ok=True)
        Image.fromarray(v[0].numpy()).save(root / "previews" / f"{i}.jpg")
        videos[i] = v
    (root / "shards").mkdir()
    (root / "run.json").write_text("{}")
    return videos


@pytest.fixture
def runs(tmp_path):
    """qs/ff and qs/ff-seed1 as the README quick start makes them, plus .npy-only and
    .mp4-only copies of their samples/."""
    ff, ff1 = tmp_path / "ff", tmp_path / "ff-seed1"
    data = (_run_folder(ff, 0), _run_folder(ff1, 1))
    for run in (ff, ff1):
        for ext in ("npy", "mp4"):
            only = tmp_path / f"{run.name}-{ext}"
            only.mkdir()
            for f in (run / "samples").glob(f"*.{ext}"):
                shutil.copy(f, only / f.name)
    return tmp_path, data


def _json(argv, capsys):
    rc = main(argv + ["--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def test_samples_folders_with_npy_and_mp4_are_one_sample_each(runs, capsys):
    root, (target, pred) = runs
    out = _json(BASE + ["--pred", str(root / "ff-seed1" / "samples"),
                        "--target", str(root / "ff" / "samples"), "--allow-unmatched"], capsys)
    assert [r["name"] for r in out["per_video"]] == IDS and out["num_videos"] == 3
    assert out["only_in_pred"] == [] and out["only_in_target"] == []
    assert out["model"] == "ff-seed1"  # a run's samples/ is named by its run
    dup = [(s["side"], s["video"], s["reason"]) for s in out["skipped"]]
    assert dup == [(side, str(root / run / "samples" / f"{i}.mp4"), f"duplicate of {i}.npy")
                   for side, run in (("pred", "ff-seed1"), ("target", "ff")) for i in IDS]
    # the exact .npy is read: the numbers equal .npy-only copies and the in-process metrics ...
    npy = _json(BASE + ["--pred", str(root / "ff-seed1-npy"), "--target", str(root / "ff-npy")], capsys)
    assert npy["values"] == out["values"] and npy["per_video"] == out["per_video"]
    p = torch.stack([pred[i] for i in IDS]).float() / 255
    t = torch.stack([target[i] for i in IDS]).float() / 255
    for k, f in (("psnr", video_psnr), ("ssim", video_ssim), ("mse", video_mse)):
        assert out["values"][k] == pytest.approx(float(f(p, t)), rel=1e-6), k
    # ... and not the lossy mp4 copies
    mp4 = _json(BASE + ["--pred", str(root / "ff-seed1-mp4"), "--target", str(root / "ff-mp4")], capsys)
    assert mp4["values"]["mse"] != out["values"]["mse"]
    # text mode: the containers are noted, not silently dropped
    assert main(BASE + ["--pred", str(root / "ff-seed1" / "samples"), "--target", str(root / "ff" / "samples")]) == 0
    cap = capsys.readouterr()
    assert "note: 6 container file(s) beside an array" in cap.err and "demo-00002" in cap.out


def test_run_folders_read_their_samples(runs, capsys):
    root, _ = runs
    samples = _json(BASE + ["--pred", str(root / "ff-seed1" / "samples"), "--target", str(root / "ff" / "samples")],
                    capsys)
    # decoding in a worker process gives the same numbers as in-process
    argv = BASE[:-1] + ["1", "--pred", str(root / "ff-seed1"), "--target", str(root / "ff")]
    out = _json(argv, capsys)
    assert out["values"] == samples["values"] and [r["name"] for r in out["per_video"]] == IDS
    assert out["model"] == "ff-seed1"
    reasons = {s["video"]: s["reason"] for s in out["skipped"]}
    assert reasons[str(root / "ff" / "previews")].startswith("part of an ffbench run folder")
    # a run folder against a samples folder pairs by the same names
    mixed = _json(BASE + ["--pred", str(root / "ff-seed1"), "--target", str(root / "ff" / "samples")], capsys)
    assert mixed["values"] == samples["values"]


def test_decoder_variant_on_a_run_folder_equals_npy_only_copy(runs, capsys):
    root, _ = runs
    dec = ["--decoder", "conv3x1x1", "--random-weights"]
    out = _json(BASE + dec + ["--target", str(root / "ff")], capsys)
    assert out["num_videos"] == 3 and [r["name"] for r in out["per_video"]] == IDS
    assert out["temporal_layers"] == "3x1x1 Conv" and len(out["skipped"]) == 5  # 3 mp4, previews, shards
    npy = _json(BASE + dec + ["--target", str(root / "ff-npy")], capsys)
    assert npy["values"] == out["values"] and npy["skipped"] == []
    samples = _json(BASE + dec + ["--target", str(root / "ff" / "samples")], capsys)
    assert samples["values"] == out["values"]


def test_clear_errors_name_the_files(tmp_path, capsys):
    v = torch.zeros(2, 16, 16, 3, dtype=torch.uint8)
    write_video(tmp_path / "p" / "a.npy", v)
    write_video(tmp_path / "t" / "a.mp4", v)
    write_video(tmp_path / "t" / "a.npy", v)
    args = BASE + ["--pred", str(tmp_path / "p"), "--target", str(tmp_path / "t")]
    assert main(args) == 0  # a.npy + a.mp4: one item
    capsys.readouterr()
    (tmp_path / "t" / "b.npy").write_bytes(b"not an array")
    (tmp_path / "p" / "b.npy").write_bytes(b"not an array either")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"ffbench: error: {tmp_path / 'p' / 'b.npy'}: corrupt: cannot read array" in err
    shutil.copy(tmp_path / "t" / "a.mp4", tmp_path / "p" / "b.mp4")
    (tmp_path / "p" / "b.npy").unlink()
    (tmp_path / "p" / "b.gif").write_bytes(b"")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "two videos named 'b'" in err and "b.gif" in err and "b.mp4" in err
    assert main(BASE + ["--pred", str(tmp_path / "nowhere"), "--target", str(tmp_path / "t")]) == 2
    assert f"{tmp_path / 'nowhere'}: not a folder (it does not exist)" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    np.save(empty / ".hidden.npy", np.zeros((2, 4, 4, 3), np.uint8))
    assert main(BASE + ["--pred", str(empty), "--target", str(tmp_path / "t")]) == 2
    assert f"{empty}: no videos or frame folders" in capsys.readouterr().err


def test_natural_order_and_vimeo_root_frames_checked(tmp_path, capsys):
    g = torch.Generator().manual_seed(3)
    for name in ("v10", "v2", "v1"):
        v = torch.randint(0, 256, (2, 16, 16, 3), generator=g, dtype=torch.uint8)
        write_video(tmp_path / "p" / f"{name}.npy", v)
        write_video(tmp_path / "t" / f"{name}.npy", v // 2)
    out = _json(BASE + ["--pred", str(tmp_path / "p"), "--target", str(tmp_path / "t")], capsys)
    assert [r["name"] for r in out["per_video"]] == ["v1", "v2", "v10"]
    write_video(tmp_path / "p" / "v2.npy", torch.zeros(2, 8, 8, 3, dtype=torch.uint8))
    write_video(tmp_path / "t" / "v2.npy", torch.zeros(2, 8, 8, 3, dtype=torch.uint8))
    assert main(BASE + ["--pred", str(tmp_path / "p"), "--target", str(tmp_path / "t")]) == 2
    assert "ffbench: error: v2: frames of 8x8 px are smaller than the 11x11 SSIM window" in capsys.readouterr().err
    # an official Vimeo-90k root: a listed sequence without im3.png is named, never read short
    seq = tmp_path / "vimeo" / "sequences" / "00001" / "0001"
    seq.mkdir(parents=True)
    (tmp_path / "vimeo" / "sep_testlist.txt").write_text("00001/0001\n")
    for k in (1, 2, 4, 5, 6, 7, 8):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(seq / f"im{k}.png")
    assert main(BASE + ["--pred", str(tmp_path / "p"), "--target", str(tmp_path / "vimeo")]) == 2
    assert f"{seq / 'im3.png'}: frame not found" in capsys.readouterr().err
