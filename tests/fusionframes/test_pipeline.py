"""FusionFramesPipeline end to end (tiny preset, CPU) and `ffbench generate fusionframes`."""
from __future__ import annotations

import json

import pytest
import torch

from ffbench.errors import ConfigError
from ffbench.fusionframes.pipeline import FusionFramesPipeline
from ffbench.weights import WeightsMissing

PROMPT = "a dog running on the beach"
SIZE = dict(width=32, height=32, steps=2)


@pytest.fixture(scope="module")
def pipe():
    return FusionFramesPipeline.tiny(0)


@pytest.mark.parametrize("fps,frames,rate", [("low", 15, 2.0), ("medium", 57, 8.0), ("high", 225, 30.0)])
def test_fps_modes(pipe, fps, frames, rate):
    out = pipe(PROMPT, fps=fps, seed=3, return_latents=True, **SIZE)
    (video,) = out.videos
    assert video.dtype == torch.uint8 and video.shape == (frames, 32, 32, 3)
    assert video.float().std() > 0  # not a constant image
    md = out.metadata
    assert md["frames"] == frames and md["fps"] == rate and md["fps_mode"] == fps
    assert md["random_weights"] is True and set(md["timings"]) == {"text", "keyframes", "interpolation", "decode"}
    assert all(v >= 0 for v in md["timings"].values())
    assert out.latents[0].shape == (frames, 4, 4, 4)
    # keyframes untouched by interpolation: latents at 4k (16k after two passes) are the keyframes
    keys = pipe.keyframes(PROMPT, seed=3, **SIZE)
    step = {"low": 1, "medium": 4, "high": 16}[fps]
    assert torch.equal(out.latents[0][::step], keys)


def test_deterministic_and_batch_independent(pipe):
    a = pipe(PROMPT, fps="medium", seed=11, **SIZE).videos[0]
    b = pipe(PROMPT, fps="medium", seed=11, **SIZE).videos[0]
    c = pipe(PROMPT, fps="medium", seed=12, **SIZE).videos[0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    batch = pipe(["a red car", PROMPT, "snow"], fps="medium", seed=[5, 11, 6], **SIZE)
    assert torch.equal(batch.videos[1], a)
    assert batch.metadata["seeds"] == [5, 11, 6]
    # seed=int gives prompt i the seed seed + i
    assert pipe(["x", PROMPT], fps="low", seed=10, **SIZE).metadata["seeds"] == [10, 11]


def test_bad_arguments(pipe):
    with pytest.raises(ConfigError, match=r"width=40 must be a positive multiple of 16.*MoVQ"):
        pipe(PROMPT, width=40, height=32)
    with pytest.raises(ConfigError, match="unknown fps mode 'ultra'"):
        pipe(PROMPT, fps="ultra", **SIZE)
    with pytest.raises(ConfigError, match="2 seeds for 1 prompts"):
        pipe(PROMPT, seed=[1, 2], **SIZE)
    with pytest.raises(ConfigError, match="non-empty"):
        pipe([], **SIZE)
    full = FusionFramesPipeline.__new__(FusionFramesPipeline)  # the released sizes: multiples of 64
    full.movq = type("M", (), {"config": type("C", (), {"downsample_factor": 8})})()
    from ffbench.fusionframes.pipeline import PIPELINE_PRESETS

    full.unet = type("U", (), {"config": PIPELINE_PRESETS["full"]["keyframe"]})()
    assert full.size_multiple == 64
    with pytest.raises(ConfigError, match="multiple of 64.*3 downsamplings"):
        full._check_size(640, 360)


def test_from_pretrained_missing_files(tmp_path):
    with pytest.raises(WeightsMissing) as e:
        FusionFramesPipeline.from_pretrained(tmp_path, device="cpu")
    msg = str(e.value)
    for name in ("kandinsky_video.pt", "kandinsky_video_interpolation.pt", "movq.pt", "flan-ul2"):
        assert name in msg
    with pytest.raises(ConfigError, match="only 'conv1d_attn1d_blocks' has released weights"):
        FusionFramesPipeline.from_pretrained(tmp_path, temporal="conv3d_attn1d_blocks")


def _write_official_layout(pipe, root):
    """The released files' layout, from the tiny pipeline's weights."""
    te = pipe.text_encoder
    torch.save({"unet": pipe.unet.state_dict(), "projections": te.projections.state_dict(),
                "null_embedding": te.null_embedding.clone()}, root / "kandinsky_video.pt")
    torch.save({"unet": pipe.interpolation_unet.state_dict(),
                "null_embedding": pipe.interpolation_null_embedding.clone()},
               root / "kandinsky_video_interpolation.pt")
    torch.save(pipe.movq.state_dict(), root / "movq.pt")
    te.encoder.save_pretrained(root / "flan-ul2")
    te.tokenizer.save_pretrained(root / "flan-ul2")


def test_from_pretrained_official_layout(pipe, tmp_path):
    _write_official_layout(pipe, tmp_path)
    loaded = FusionFramesPipeline.from_pretrained(tmp_path, preset="tiny", device="cpu")
    assert loaded.random_weights is False
    a = pipe(PROMPT, fps="medium", seed=4, **SIZE)
    b = loaded(PROMPT, fps="medium", seed=4, **SIZE)
    assert b.metadata["random_weights"] is False
    assert torch.equal(a.videos[0], b.videos[0])


def test_cli_generate_fusionframes_tiny(cli, tmp_path):
    out = tmp_path / "out"
    proc = cli("generate", "fusionframes", "--tiny", "--prompt", PROMPT, "--fps", "medium",
               "--height", "32", "--width", "32", "--steps", "1", "--out", out, "--json",
               env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["generated"] == 1 and summary["random_weights"] is True
    from ffbench.fusionframes.modes import output_frames
    from ffbench.fusionframes.presets import SMOKE_TEST

    frames = output_frames(SMOKE_TEST["keyframes"], "medium")  # --tiny: the smoke preset's keyframes
    assert frames == 17
    record = json.loads((out / "samples" / "00000.json").read_text())  # the run-directory format
    assert record["frames"] == frames and record["random_weights"] is True
    assert (record["height"], record["width"], record["fps"]) == (32, 32, 8.0)
    from ffbench.video import read_video

    assert tuple(read_video(out / "samples" / "00000.mp4").shape) == (frames, 32, 32, 3)


def test_cli_errors_in_process(tmp_path, capsys, monkeypatch):
    """Error paths of the same command, in-process (cheaper than more subprocesses)."""
    from ffbench.cli import main
    from ffbench.generators import fusionframes as ffmod

    # the command registers our pipeline factory globally: restore it afterwards
    monkeypatch.setattr(ffmod, "_default_factory", ffmod._default_factory)

    with pytest.raises(SystemExit) as e:  # argparse rejects an unknown mode
        main(["generate", "fusionframes", "--tiny", "--prompt", PROMPT, "--fps", "ultra", "--out", str(tmp_path)])
    assert e.value.code == 2 and "ultra" in capsys.readouterr().err
    rc = main(["generate", "fusionframes", "--weights", str(tmp_path / "none"), "--prompt", PROMPT,
               "--fps", "low", "--out", str(tmp_path / "o2")])
    err = capsys.readouterr().err
    assert rc == 2 and "kandinsky_video.pt" in err and "kandinsky_video_interpolation.pt" in err
    rc = main(["generate", "fusionframes", "--tiny", "--weights", str(tmp_path), "--prompt", PROMPT,
               "--out", str(tmp_path / "o3")])
    assert rc == 2 and "exclude each other" in capsys.readouterr().err


def test_masked_frame_interpolation_pipeline_tiny():
    """Paper Table 2's baseline in the same pipeline: same keyframes, MFI in-between frames."""
    ff = FusionFramesPipeline.tiny(0)
    mfi = FusionFramesPipeline.tiny(0, interpolation="mfi")
    kw = dict(width=32, height=32, fps="medium", steps=2, seed=5, num_keyframes=3, return_latents=True)
    a, b = ff(["a cat"], **kw), mfi(["a cat"], **kw)
    assert b.metadata["interpolation"] == "mfi" and a.metadata["interpolation"] == "fusionframes"
    assert b.videos[0].shape == a.videos[0].shape == (9, 32, 32, 3)
    la, lb = a.latents[0], b.latents[0]
    assert torch.equal(la[::4], lb[::4])  # the keyframes are the same model's
    assert not torch.equal(la[1::4], lb[1::4])  # the in-between frames are MFI's
    with pytest.raises(ConfigError, match="unknown interpolation"):
        FusionFramesPipeline.tiny(0, interpolation="linear")
