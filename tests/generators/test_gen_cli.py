"""`ffbench generate` on the tiny local pipeline, through a subprocess and in-process."""
import json

import pytest
import torch

from gen_sizes import FRAMES, SIZE
from ffbench.generators.base import derive_seed
from ffbench.generators.tiny import tiny_toml
from ffbench.video import read_video


@pytest.fixture
def tiny_env(tiny_t2v_dir, tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    (d / "tiny-t2v.toml").write_text(tiny_toml(tiny_t2v_dir, frames=FRAMES, size=SIZE))
    return {"FFBENCH_BASELINES": str(d), "OMP_NUM_THREADS": "1"}


def test_generate_subprocess_writes_the_run_directory(cli, tiny_env, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a cat on a sofa\n\n../../etc/passwd\nthird prompt\n")
    out = tmp_path / "out"
    r = cli("generate", "tiny-t2v", "--prompts", prompts, "--n", 2, "--seed", 7, "--out", out,
            "--json", env=tiny_env, check=True)
    summary = json.loads(r.stdout)
    assert summary["generated"] == 2 and summary["failed"] == [] and summary["random_weights"]
    # the run-directory format of `ffbench run` (docs/RUN_DIR.md)
    names = sorted(p.name for p in (out / "samples").iterdir())
    assert names == ["00000.json", "00000.mp4", "00000.npy", "00001.json", "00001.mp4", "00001.npy"]
    assert (out / "run.json").is_file() and (out / "results.json").is_file()
    meta = json.loads((out / "samples" / "00001.json").read_text())
    assert meta["prompt"] == "../../etc/passwd"  # prompt text never becomes a path
    assert meta["random_weights"] is True and meta["model"] == "tiny-t2v"
    assert meta["seed"] == derive_seed(7, "00001")
    assert (meta["frames"], meta["height"], meta["width"]) == (FRAMES, SIZE, SIZE)
    video = read_video(out / "samples" / "00000.mp4")
    assert video.dtype == torch.uint8 and tuple(video.shape) == (FRAMES, SIZE, SIZE, 3)


def test_generate_in_process_resume_and_dataset(tiny_env, tmp_path, monkeypatch, capsys):
    from ffbench.cli import main

    for k, v in tiny_env.items():
        monkeypatch.setenv(k, v)
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    out = tmp_path / "out"
    argv = ["generate", "tiny-t2v", "--prompts", str(prompts), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    first = (out / "samples" / "00000.npy").read_bytes()
    mtime = (out / "samples" / "00000.npy").stat().st_mtime_ns
    capsys.readouterr()
    assert main(argv + ["--json"]) == 0  # the same command resumes: nothing is regenerated
    summary = json.loads(capsys.readouterr().out)
    assert (summary["generated"], summary["requested"]) == (2, 2)
    assert (out / "samples" / "00000.npy").read_bytes() == first
    assert (out / "samples" / "00000.npy").stat().st_mtime_ns == mtime
    # another config into the same directory is refused
    assert main(argv + ["--frames", "2"]) == 2
    assert "different config" in capsys.readouterr().err
    # a dataset name: sample ids come from the dataset
    out2 = tmp_path / "ds"
    assert main(["generate", "tiny-t2v", "--prompts", "ucf101", "--n", "1", "--out", str(out2),
                 "--quiet"]) == 0
    (meta_file,) = (out2 / "samples").glob("*.json")
    assert meta_file.name.startswith("ucf101-") and json.loads(meta_file.read_text())["prompt"]


def test_generate_errors_are_clean(cli, tiny_env, tmp_path):
    r = cli("generate", "tiny-t2v", "--prompts", "no-such-dataset-or-file", "--out", tmp_path / "o",
            env=tiny_env)
    assert r.returncode == 2 and "neither an existing file nor a known dataset" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli("generate", "nope-model", "--prompts", "ucf101", "--out", tmp_path / "o", env=tiny_env)
    assert r.returncode == 2 and "unknown model 'nope-model'" in r.stderr
