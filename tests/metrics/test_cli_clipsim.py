"""`ffbench evaluate clipsim` through a subprocess (as users run it), plus in-process checks of
the prompts-file formats and error paths (cheaper than one subprocess each)."""
from __future__ import annotations

import json

import pytest
import torch

from ffbench.cli import main
from ffbench.commands.evaluate_clipsim import load_prompts_file
from ffbench.errors import FFBenchError
from ffbench.metrics.clipsim import CLIPSIM
from ffbench.video import write_video

LONG = "a very long prompt " * 30  # > 77 tokens


def _videos(tmp_path, n=3):
    g = torch.Generator().manual_seed(0)
    d = tmp_path / "videos"
    vids = {}
    for i in range(n):
        v = torch.randint(0, 256, (2 + i, 48, 64, 3), generator=g, dtype=torch.uint8)
        write_video(d / f"{i:04d}.npy", v)  # exact (mp4 would be lossy)
        vids[f"{i:04d}"] = v
    return d, vids


def test_json_output_equals_in_process_metric(tmp_path, cli):
    d, vids = _videos(tmp_path)
    prompts = {"0000": "a cat", "0001": LONG, "0002": "a dog on a beach", "0099": "never generated"}
    pf = tmp_path / "prompts.json"
    pf.write_text(json.dumps(prompts))
    proc = cli("evaluate", "clipsim", "--videos", d, "--prompts", pf, "--random-weights",
               "--json", check=True)
    out = json.loads(proc.stdout)
    m = CLIPSIM(random_weights=True, seed=0, device="cpu")
    for k, v in vids.items():
        m.update([v], [prompts[k]])
    assert out["value"] == pytest.approx(float(m.compute()), abs=1e-6)
    assert [r["clipsim"] for r in out["per_video"]] == pytest.approx(m.per_video_scores().tolist(), abs=1e-6)
    assert [r["video"] for r in out["per_video"]] == ["0000.npy", "0001.npy", "0002.npy"]
    assert out["random_weights"] is True and out["protocol"] == "clipsim@vit-b-32"
    assert out["prompts_without_video"] == ["0099"]
    assert len(out["protocol_hash"]) == 64 and out["frames"] == 9 and out["n_fake"] == 3


def test_missing_weights_message_in_subprocess(tmp_path, cli):
    d, _ = _videos(tmp_path, 1)
    pf = tmp_path / "p.txt"
    pf.write_text("0000\ta cat\n")
    proc = cli("evaluate", "clipsim", "--videos", d, "--prompts", pf, "--backbone", "ViT-B/16")
    assert proc.returncode == 2
    assert "ViT-B-16.pt" in proc.stderr and "never downloads" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_prompt_file_formats(tmp_path):
    (tmp_path / "a.json").write_text('{"x": "p1", "y": "p2"}')
    (tmp_path / "a.jsonl").write_text('{"video": "x", "prompt": "p1"}\n\n{"video": "y", "prompt": "p2"}\n')
    (tmp_path / "a.txt").write_text("# comment\nx\tp1\ny\t p2 \n")
    for f in ("a.json", "a.jsonl", "a.txt"):
        assert load_prompts_file(tmp_path / f) == {"x": "p1", "y": "p2"}
    (tmp_path / "b.txt").write_text("x\tp1\ny p2\n")
    with pytest.raises(FFBenchError, match=r"b.txt:2: expected '<stem><TAB><prompt>'"):
        load_prompts_file(tmp_path / "b.txt")
    (tmp_path / "b.jsonl").write_text('{"video": "x", "prompt": "p"}\n{"video": "x", "prompt": "q"}\n')
    with pytest.raises(FFBenchError, match=r"b.jsonl:2: video 'x' has two prompts"):
        load_prompts_file(tmp_path / "b.jsonl")
    (tmp_path / "b.json").write_text('["x"]')
    with pytest.raises(FFBenchError, match="expected a JSON object"):
        load_prompts_file(tmp_path / "b.json")


def test_errors_and_text_output_in_process(tmp_path, capsys):
    d, _ = _videos(tmp_path, 2)
    pf = tmp_path / "p.txt"
    pf.write_text("0000\ta cat\n")
    args = ["evaluate", "clipsim", "--videos", str(d), "--prompts", str(pf), "--random-weights"]
    assert main(args) == 2
    assert "no prompt for video(s) 0001.npy" in capsys.readouterr().err
    assert main(args + ["--protocol", "clipsim100@vit-b-32", "--backbone", "ViT-B/32"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(args[:-1] + ["--backbone", "RN50", "--random-weights"]) == 2
    assert "--backbone 'RN50' unknown" in capsys.readouterr().err
    pf.write_text("0000\ta cat\n0001\ta dog\n")
    assert main(args + ["--protocol", "clipsim100@vit-b-32"]) == 0
    out = capsys.readouterr().out
    assert "random weights" in out and "clipsim100@vit-b-32" in out and "over 2 videos, 5 frames" in out


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "clipsim", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--prompts" in out and ".jsonl" in out and "--random-weights" in out
