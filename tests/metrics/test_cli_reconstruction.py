"""`ffbench evaluate reconstruction`: Vimeo-90k layout vs a prediction tree, matched by name."""
from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from ffbench.cli import main
from ffbench.metrics.reconstruction import VideoLPIPS, video_mse, video_psnr, video_ssim
from ffbench.video import write_video

IDS = ["00001/0001", "00001/0002", "00002/0005"]


def _write_seq(d, v):
    d.mkdir(parents=True)
    for k, f in enumerate(v):
        Image.fromarray(f.numpy()).save(d / f"im{k + 1}.png")


@pytest.fixture
def dirs(tmp_path):
    """target: official Vimeo root listing IDS; pred: sequences/<id>/im*.png for the first two
    ids plus one id the target does not list."""
    g = torch.Generator().manual_seed(0)
    target, pred = tmp_path / "vimeo", tmp_path / "pred"
    data = {}
    for i in IDS:
        t = torch.randint(0, 256, (7, 32, 40, 3), generator=g, dtype=torch.uint8)
        _write_seq(target / "sequences" / i, t)
        p = (t.float() + torch.randn(t.shape, generator=g) * 8).clamp(0, 255).round().to(torch.uint8)
        data[i] = (p, t)
    (target / "sep_testlist.txt").write_text("\n".join(IDS) + "\n")
    for i in IDS[:2] + ["00009/0009"]:
        _write_seq(pred / "sequences" / i, data.get(i, data[IDS[0]])[0])
    return pred, target, data


def test_json_matches_in_process_metrics(dirs, cli):
    pred, target, data = dirs
    proc = cli("evaluate", "reconstruction", "--pred", pred, "--target", target, "--json",
               "--random-weights", "--allow-unmatched", "--device", "cpu", check=True)
    out = json.loads(proc.stdout)
    assert out["only_in_pred"] == ["00009/0009"] and out["only_in_target"] == ["00002/0005"]
    assert [r["name"] for r in out["per_video"]] == IDS[:2] and out["num_frames"] == 14
    p = torch.stack([data[i][0] for i in IDS[:2]]).float() / 255
    t = torch.stack([data[i][1] for i in IDS[:2]]).float() / 255
    lp = VideoLPIPS(random_backbone=True, seed=0)
    lp.update(p, t)
    expected = {"psnr": video_psnr(p, t), "ssim": video_ssim(p, t), "mse": video_mse(p, t), "lpips": lp.compute()}
    for k, v in expected.items():
        assert out["values"][k] == pytest.approx(float(v), rel=1e-5, abs=1e-7), k
    assert [r["psnr"] for r in out["per_video"]] == pytest.approx(video_psnr(p, t, reduction="none").tolist(), rel=1e-6)
    assert out["random_weights"] is True and out["lpips"]["net"] == "alex"
    assert out["protocol"] == "reconstruction@vimeo90k-septuplet" and out["psnr_identical_frames"] == 0


def test_unmatched_items_are_named_and_fail_by_default(dirs, capsys):
    pred, target, _ = dirs
    rc = main(["evaluate", "reconstruction", "--pred", str(pred), "--target", str(target), "--metrics", "psnr"])
    err = capsys.readouterr().err
    assert rc == 2 and "00009/0009" in err and "00002/0005" in err and "--allow-unmatched" in err


def test_videos_by_name_identical_inf_and_shape_mismatch(tmp_path, capsys):
    g = torch.Generator().manual_seed(1)
    a = torch.randint(0, 256, (3, 8, 8, 3), generator=g, dtype=torch.uint8)
    write_video(tmp_path / "p" / "clip.npy", a)
    write_video(tmp_path / "t" / "clip.npy", a)
    args = ["evaluate", "reconstruction", "--pred", str(tmp_path / "p"), "--target", str(tmp_path / "t"),
            "--metrics", "psnr,mse", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    # PSNR of identical frames is +inf: a JSON null with its sibling, never a string in a number field
    assert out["values"] == {"psnr": None, "psnr_nonfinite": "inf", "mse": 0.0}
    assert out["psnr_identical_frames"] == 3
    assert out["per_video"][0]["psnr"] is None and out["per_video"][0]["psnr_nonfinite"] == "inf"
    write_video(tmp_path / "p" / "clip.npy", a[:2])
    assert main(args) == 2
    assert "clip" in (err := capsys.readouterr().err) and "[2, 8, 8, 3]" in err and "[3, 8, 8, 3]" in err


def test_lpips_needs_weights_and_bad_metric(dirs, capsys):
    pred, target, _ = dirs
    base = ["evaluate", "reconstruction", "--pred", str(pred), "--target", str(target), "--allow-unmatched"]
    assert main(base + ["--metrics", "lpips", "--lpips-net", "vgg"]) == 2
    assert "vgg16-397923af.pth" in capsys.readouterr().err
    assert main(base + ["--metrics", "psnr,fvd"]) == 2
    assert "fvd" in capsys.readouterr().err
    assert main(base + ["--metrics", "ssim"]) == 0
    out = capsys.readouterr()
    assert "ssim" in out.out and "only in" in out.err


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "reconstruction", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--lpips-net" in out and "sep_testlist.txt" in out


def test_decoder_variant_lands_in_the_store_and_table3(tmp_path, capsys):
    """`--decoder VARIANT --target DIR`: the MoVQ variant reconstructs the set; the number goes to
    the store and the report's Table 3 shows it as a measured row beside the published ones."""
    import json as _json

    import torch as _torch

    from ffbench.cli import main as _main
    from ffbench.report.builder import collect
    from ffbench.report.layouts import table3
    from ffbench.store import ResultsStore
    from ffbench.video import write_video as _write

    g = _torch.Generator().manual_seed(0)
    target = tmp_path / "target"
    for i in range(2):
        _write(target / f"v{i}.npy", _torch.randint(0, 256, (7, 32, 32, 3), dtype=_torch.uint8, generator=g))
    db = str(tmp_path / "r.db")
    argv = ["evaluate", "reconstruction", "--decoder", "conv3x1x1", "--target", str(target),
            "--random-weights", "--db", db, "--metrics", "psnr,ssim,mse", "--json"]
    assert _main(argv) == 0
    out = _json.loads(capsys.readouterr().out)
    assert out["random_weights"] is True and out["temporal_layers"] == "3x1x1 Conv"
    assert out["num_videos"] == 2 and 0 < out["values"]["ssim"] < 1
    scores = ResultsStore(db).scores()
    (row,) = scores.to_dict("records")
    assert row["metric"] == "reconstruction" and row["random_weights"]
    _, sc, _ = collect((), db)
    md = table3(sc).render("md")
    assert "movq-conv3x1x1-tiny" in md and "32.9677" in md  # measured beside published
    # the same set again gives the same numbers (fixed seeds)
    assert _main(argv) == 0
    again = _json.loads(capsys.readouterr().out)
    assert again["values"] == out["values"]
