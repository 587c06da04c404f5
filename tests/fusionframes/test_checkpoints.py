"""Loading checkpoint files in the official layouts (fake files built from tiny models)."""
from __future__ import annotations

import pytest
import torch

from ffbench.fusionframes.checkpoints import (CheckpointError, load_interpolation_unet,
                                              load_kandinsky3_spatial, load_keyframe_unet)
from ffbench.fusionframes.unet import build_unet
from ffbench.weights import WeightsMissing

from _ff_unet_util import keyframe_inputs, randomize


def _keyframe_file(path, model, **extra):
    obj = {"unet": model.state_dict(),
           "projections": {"t5.0.weight": torch.randn(32, 32), "t5.1.weight": torch.ones(32),
                           "t5.1.bias": torch.zeros(32)},
           "null_embedding": torch.randn(32)}
    obj.update(extra)
    torch.save(obj, path)
    return obj


@torch.no_grad()
def test_keyframe_file_loads_strict_and_reproduces_the_model(tmp_path):
    src = build_unet("keyframe_tiny", seed=0, num_frames=4)
    randomize(src, 1)
    obj = _keyframe_file(tmp_path / "kandinsky_video.pt", src)
    ck = load_keyframe_unet(tmp_path / "kandinsky_video.pt", config=src.config)
    assert ck.unet.random_weights is False and not ck.unet.training
    assert torch.equal(ck.null_embedding, obj["null_embedding"])
    assert set(ck.projections) == {"t5.0.weight", "t5.1.weight", "t5.1.bias"}
    x, t, ctx, mask = keyframe_inputs(src.config, videos=1, frames=4)
    torch.testing.assert_close(ck.unet(x, t, ctx, mask), src.eval()(x, t, ctx, mask))
    # the directory form of the path finds the official file name
    assert load_keyframe_unet(tmp_path, config=src.config).path.name == "kandinsky_video.pt"


@torch.no_grad()
def test_interpolation_file_loads_strict(tmp_path):
    src = build_unet("interpolation_tiny", seed=0)
    randomize(src, 2)
    torch.save({"unet": src.state_dict(), "null_embedding": torch.zeros(32)},
               tmp_path / "kandinsky_video_interpolation.pt")
    ck = load_interpolation_unet(tmp_path / "kandinsky_video_interpolation.pt", config="interpolation_tiny",
                                 dtype=torch.float64)
    assert ck.unet.random_weights is False and ck.unet.in_layer.weight.dtype == torch.float64
    sd = src.state_dict()
    assert all(torch.equal(v.double(), sd[k].double()) for k, v in ck.unet.state_dict().items())


def test_wrong_keys_give_a_clear_error(tmp_path):
    # several different files under one registry name: skip the sha256 pinning of the first
    src = build_unet("keyframe_tiny", seed=0)
    sd = src.state_dict()
    bad = dict(sd)
    bad["renamed.weight"] = bad.pop("in_layer.weight")
    _keyframe_file(tmp_path / "a.pt", src, unet=bad)
    with pytest.raises(CheckpointError, match=r"1 missing keys: in_layer\.weight.*1 unexpected keys: renamed\.weight"):
        load_keyframe_unet(tmp_path / "a.pt", config="keyframe_tiny", verify_digest=False)
    # a file of another variant: the temporal keys differ
    other = build_unet("keyframe_tiny", seed=0, temporal="conv3d_attn1d_blocks")
    _keyframe_file(tmp_path / "b.pt", other)
    with pytest.raises(CheckpointError, match="temporal_down_projection"):
        load_keyframe_unet(tmp_path / "b.pt", config="keyframe_tiny", verify_digest=False)
    # wrong widths
    wide = build_unet("keyframe_tiny", seed=0, time_embed_dim=32)
    _keyframe_file(tmp_path / "c.pt", wide)
    with pytest.raises(CheckpointError, match="shape mismatches"):
        load_keyframe_unet(tmp_path / "c.pt", config="keyframe_tiny", verify_digest=False)
    # wrong layout: a bare state_dict instead of the official dict
    torch.save(sd, tmp_path / "d.pt")
    with pytest.raises(CheckpointError, match="expected a dict with keys"):
        load_keyframe_unet(tmp_path / "d.pt", config="keyframe_tiny", verify_digest=False)
    (tmp_path / "e.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_keyframe_unet(tmp_path / "e.pt", config="keyframe_tiny", verify_digest=False)
    with pytest.raises(CheckpointError, match="keyframe config"):
        load_keyframe_unet(tmp_path / "a.pt", config="interpolation_tiny", verify_digest=False)


def test_missing_file_is_weights_missing(tmp_path):
    with pytest.raises(WeightsMissing, match="kandinsky_video.pt"):
        load_keyframe_unet(tmp_path / "nowhere.pt", config="keyframe_tiny")
    with pytest.raises(WeightsMissing, match="kandinsky_video_interpolation.pt"):
        load_interpolation_unet(config="interpolation_tiny")  # isolated, empty FFBENCH_HOME
    with pytest.raises(WeightsMissing, match="kandinsky3.pt"):
        load_kandinsky3_spatial(build_unet("keyframe_tiny", seed=0), tmp_path)


@torch.no_grad()
def test_kandinsky3_file_loads_into_the_spatial_part(tmp_path):
    k3 = build_unet("kandinsky3_tiny", seed=0).eval()
    randomize(k3, 3)
    torch.save({"unet": k3.state_dict(), "null_embedding": torch.ones(32)}, tmp_path / "kandinsky3.pt")
    video = build_unet("keyframe_tiny", seed=5, num_frames=4).eval()
    before = {k: v.clone() for k, v in video.state_dict().items()}
    null = load_kandinsky3_spatial(video, tmp_path / "kandinsky3.pt")
    assert torch.equal(null, torch.ones(32)) and video.random_weights is True
    sd, k3sd = video.state_dict(), k3.state_dict()
    assert all(torch.equal(sd[k], k3sd[k]) for k in k3sd)
    assert all(torch.equal(sd[k], before[k]) for k in sd if k not in k3sd)
    # the temporal parts start at zero output: the video model is the T2I model
    x, t, ctx, mask = keyframe_inputs(video.config, videos=1, frames=4)
    torch.testing.assert_close(video(x, t, ctx, mask), k3(x, t, ctx, mask), rtol=1e-5, atol=1e-5)
    # the same file loads into the `none` variant fully, and into every temporal variant
    t2i = build_unet("keyframe_tiny", seed=0, temporal="none")
    load_kandinsky3_spatial(t2i, tmp_path / "kandinsky3.pt")
    assert t2i.random_weights is False
    # strict over the spatial keys: an extra or a missing spatial key is an error
    extra = dict(k3sd, **{"bogus.weight": torch.zeros(1)})
    torch.save({"unet": extra}, tmp_path / "k3extra.pt")
    with pytest.raises(CheckpointError, match="bogus.weight"):
        load_kandinsky3_spatial(video, tmp_path / "k3extra.pt", verify_digest=False)
    short = {k: v for k, v in k3sd.items() if k != "out_layer.2.bias"}
    torch.save({"unet": short}, tmp_path / "k3short.pt")
    with pytest.raises(CheckpointError, match="out_layer.2.bias"):
        load_kandinsky3_spatial(video, tmp_path / "k3short.pt", verify_digest=False)
    with pytest.raises(CheckpointError, match="keyframe UNets only"):
        load_kandinsky3_spatial(build_unet("interpolation_tiny", seed=0), tmp_path / "kandinsky3.pt")
