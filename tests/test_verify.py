"""`ffbench verify`: ffbench vs the reference implementations (ffbench.verify), random weights.

Real weight files cannot be downloaded here, so the real-weights path is exercised with files
made locally in the registry's formats (a seeded torchvision AlexNet state_dict for LPIPS, a
tiny `clip.model.CLIP` TorchScript archive for CLIPSIM): the reference side then loads them through the
reference package's own loader (torchvision's hub cache, `clip.load`), as it would the real ones.
"""
from __future__ import annotations

import json
import math
import os

import pytest
import torch

from ffbench import verify as V
from ffbench import weights as W
from ffbench.cli import main

@pytest.fixture(scope="module")
def random_rows():
    return V.run_checks(random_weights=True, device="cpu")


def test_every_check_runs_and_agrees_with_its_reference(random_rows):
    assert {r["check"] for r in random_rows} >= {"clipsim vs clip", "psnr vs scikit-image",
                                                 "lpips vs lpips", "frechet vs scipy sqrtm",
                                                 "frechet vs clean-fid", "is vs compute_isv"}
    for r in random_rows:
        assert r["random_weights"] is True
        if r["reason"].startswith("reference package not installed"):
            continue  # an optional reference (test extra) missing in this environment
        assert math.isfinite(r["ours"]) and math.isfinite(r["reference_value"]), r
        # every check passes, SSIM included: the Table 3 protocol's valid-window SSIM equals
        # scikit-image and pytorch-msssim (issue 19 item 2)
        assert r["status"] == "pass", r
        assert r["difference"] <= r["tolerance"]


def test_clipsim_check_covers_each_backbone_protocol(random_rows):
    protos = sorted(p for r in random_rows if r["check"] == "clipsim vs clip" for p in r["protocols"])
    assert protos == ["clipsim@vit-b-16", "clipsim@vit-b-32", "clipsim@vit-l-14"]


def _fake_check(monkeypatch, name, fn, **kw):
    monkeypatch.setattr(V, "CHECKS", [V.Check(name, ("fvd@videogpt",), "a test reference", fn, 1e-6, **kw)])


def test_a_difference_beyond_tolerance_fails_with_exit_code_1(monkeypatch, capsys):
    _fake_check(monkeypatch, "off by 1e-3", lambda ctx: (1.0, 1.001))
    assert main(["verify", "--random-weights", "--json"]) == 1
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == "fail" and row["difference"] == pytest.approx(1e-3)


def test_a_check_that_raises_is_an_error_not_a_pass(monkeypatch, capsys):
    def boom(ctx):
        raise RuntimeError("reference exploded")

    _fake_check(monkeypatch, "boom", boom)
    assert main(["verify", "--random-weights"]) == 1
    out = capsys.readouterr().out
    assert "error" in out and "RuntimeError: reference exploded" in out


def test_missing_reference_package_is_a_visible_skip(monkeypatch, capsys):
    _fake_check(monkeypatch, "needs pkg", lambda ctx: (1.0, 1.0), modules=("ffbench_no_such_module",),
                install="no-such-package")
    assert main(["verify", "--random-weights"]) == 1  # nothing ran: not a success
    captured = capsys.readouterr()
    assert "skip" in captured.out and "pip install no-such-package" in captured.out
    assert "no check ran" in captured.err


def test_without_weights_the_weight_checks_skip_and_say_what_to_download():
    rows = V.run_checks(["clipsim@vit-b-32", "is@c3d-ucf101"], device="cpu")
    by = {r["check"]: r for r in rows}
    assert by["clipsim vs clip"]["status"] == "skip"
    assert "ffbench weights download clip_vit_b32" in by["clipsim vs clip"]["reason"]
    assert by["is vs compute_isv"]["status"] == "pass" and by["is vs compute_isv"]["random_weights"] is False


def test_unknown_protocol_is_a_clear_error(capsys):
    assert main(["verify", "--protocol", "fvd@nope"]) == 2
    assert "no verify check for protocol(s) fvd@nope; known:" in capsys.readouterr().err


def test_table_output(capsys):
    assert main(["verify", "--random-weights", "--protocol", "is@c3d-ucf101"]) == 0
    out = capsys.readouterr().out
    assert "random weights" in out
    header = next(line for line in out.splitlines() if line.startswith("protocol"))
    assert header.split() == ["protocol", "check", "ours", "reference", "difference", "tolerance", "status"]
    assert "is@c3d-ucf101" in out and "pass" in out


def test_real_weights_path_lpips_loads_the_backbone_through_torchvision(isolated_home):
    import torchvision

    torch.manual_seed(3)
    alex = torchvision.models.alexnet()
    torch.save(alex.state_dict(), isolated_home / W.get("lpips_alex_backbone").filename)
    torch_home = os.environ["TORCH_HOME"]
    rows = V.run_checks(["reconstruction@vimeo90k-septuplet"], device="cpu")
    lp = next(r for r in rows if r["check"] == "lpips vs lpips")
    assert lp["status"] == "pass" and lp["random_weights"] is False, lp
    assert lp["ours"] > 0
    assert os.environ["TORCH_HOME"] == torch_home  # the temporary hub cache is undone
    assert not (isolated_home / "torch" / "hub").exists()  # torchvision fetched nothing


def test_real_weights_path_clipsim_loads_the_file_with_clip_load(isolated_home, monkeypatch):
    from ffbench.metrics.extractors.clip import CLIPExtractor

    wf = W.get("clip_vit_b32")  # the published digest is that of the real file: unpin for ours
    monkeypatch.setitem(W.REGISTRY, wf.name, W.WeightFile(wf.name, wf.filename, wf.url, wf.used_by))
    # OpenAI's files are TorchScript archives (clip.load rebuilds a CLIP from their state_dict)
    import clip

    model = CLIPExtractor.random(seed=5).model
    example = (torch.zeros(1, 3, 224, 224), clip.tokenize(["a"]))
    torch.jit.save(torch.jit.trace(model, example, check_trace=False), str(isolated_home / wf.filename))
    (row,) = [r for r in V.run_checks(["clipsim@vit-b-32"], device="cpu")]
    assert row["status"] == "pass" and row["random_weights"] is False, row
