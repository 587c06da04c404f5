"""MoVQ image autoencoder: release layout (meta device), tiny shapes, chunking, loading, errors."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from ffbench.fusionframes.movq import (PRESETS, MoVQError, build_movq, images_to_uint8,
                                       load_movq, release_chunk_sizes)
from ffbench.weights import WeightsError, WeightsMissing

# sha256 of shared/reference/keys/kandinsky_video_1_0_movq_keys.tsv ("key\t[shape]\n" per key, in
# state_dict order), derived from the released module definitions (kandinsky_video.md §3).
MOVQ_TSV_SHA256 = "074b8b50378b7f5bfb0cc59eb24c37166e1e76dcfed644e9ae6a65b103c9d702"
TSV = Path("/work/shared/reference/keys/kandinsky_video_1_0_movq_keys.tsv")


def _tsv(model) -> str:
    return "".join(f"{k}\t{list(v.shape)}\n" for k, v in model.state_dict().items())


@pytest.fixture(scope="module")
def full():
    return build_movq("full", device="meta")


@pytest.fixture(scope="module")
def tiny():
    return build_movq("tiny", seed=0)


def test_full_matches_released_keys_and_params(full):
    sd = full.state_dict()
    assert len(sd) == 430
    assert sum(p.numel() for p in full.parameters()) == 270_603_567
    assert hashlib.sha256(_tsv(full).encode()).hexdigest() == MOVQ_TSV_SHA256
    if TSV.exists():  # the readable diff, where the reference notes are on disk
        assert _tsv(full) == TSV.read_text()
    # spot checks from kandinsky_video.md §3
    assert sd["encoder.conv_out.weight"].shape == (4, 1024, 3, 3)
    assert sd["decoder.conv_in.weight"].shape == (1024, 4, 3, 3)
    assert sd["decoder.conv_out.weight"].shape == (3, 256, 3, 3)
    assert sd["quant_conv.weight"].shape == sd["post_quant_conv.weight"].shape == (4, 4, 1, 1)
    assert sd["decoder.up.3.attn.2.norm.conv_y.weight"].shape == (1024, 4, 1, 1)
    assert "encoder.down.3.attn.1.norm.conv_y.weight" not in sd  # encoder norms are plain GN
    enc = sum(p.numel() for p in full.encoder.parameters())
    dec = sum(p.numel() for p in full.decoder.parameters())
    assert round(enc / 1e6, 1) == 109.5 and round(dec / 1e6, 1) == 161.1


def test_tiny_encode_decode_shapes(tiny):
    assert tiny.random_weights
    x = torch.rand(2, 3, 16, 24) * 2 - 1
    z = tiny.encode(x)
    assert z.shape == (2, 4, 2, 3)
    y = tiny.decode(z)
    assert y.shape == (2, 3, 16, 24) and y.dtype == torch.float32 and torch.isfinite(y).all()


@pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN")
def test_chunked_decode_equals_unchunked(tiny):
    z = torch.randn(5, 4, 3, 2)
    # with deterministic kernels (one thread, oneDNN off) chunking is bit-exact ...
    with torch.backends.mkldnn.flags(enabled=False):
        whole = tiny.decode(z, chunk_size=None)
        for chunk in (1, 2, 4, "release"):
            assert torch.equal(tiny.decode(z, chunk_size=chunk), whole), chunk
    # ... with oneDNN (kernels chosen by batch size) it agrees to float rounding: ~5e-6 on
    # random-weight outputs of magnitude ~3, i.e. ~1e-6 relative
    whole = tiny.decode(z, chunk_size=None)
    torch.testing.assert_close(tiny.decode(z, chunk_size=2), whole, atol=1e-5, rtol=1e-5)


def test_release_chunk_sizes():
    # the release decodes video.chunk(T // 4): 15 -> 5,5,5; 57 -> 11 x 5 + 2; 225 -> 4 x 56 + 1
    assert release_chunk_sizes(15) == [5, 5, 5]
    assert release_chunk_sizes(57) == [5] * 11 + [2]
    assert release_chunk_sizes(225) == [5] * 45
    assert release_chunk_sizes(3) == [3]


def test_latents_to_video(tiny):
    z = torch.randn(5, 4, 2, 3)
    video = tiny.latents_to_video(z)
    assert video.shape == (5, 16, 24, 3) and video.dtype == torch.uint8
    ref = (((tiny.decode(z, chunk_size=None) + 1) / 2).clamp(0, 1) * 255).round()
    assert (video.permute(0, 3, 1, 2).float() - ref).abs().max() <= 1


def test_images_to_uint8_rounding():
    x = torch.tensor([-2.0, -1.0, 0.0, 0.999, 1.0, 3.0]).view(1, 1, 1, 6).expand(1, 3, 1, 6)
    r = images_to_uint8(x)[0, 0, :, 0].tolist()
    f = images_to_uint8(x, rounding="floor")[0, 0, :, 0].tolist()
    assert r == [0, 0, 128, 255, 255, 255]
    assert f == [0, 0, 127, 254, 255, 255]


def test_strict_loading_of_saved_state(tiny, tmp_path):
    path = tmp_path / "movq.pt"
    torch.save(tiny.state_dict(), path)
    loaded = load_movq(path, preset="tiny")
    assert not loaded.random_weights
    z = torch.randn(2, 4, 2, 2)
    assert torch.equal(loaded.decode(z), tiny.decode(z))


def test_bad_key_gives_clear_error(tiny, tmp_path, monkeypatch):
    sd = dict(tiny.state_dict())
    sd["decoder.conv_out.wieght"] = sd.pop("decoder.conv_out.weight")
    path = tmp_path / "bad.pt"
    torch.save(sd, path)
    with pytest.raises(WeightsError) as e:
        load_movq(path, preset="tiny")
    msg = str(e.value)
    assert "bad.pt" in msg and "decoder.conv_out.weight" in msg and "wieght" in msg
    sd = dict(tiny.state_dict())
    sd["quant_conv.weight"] = torch.zeros(4, 4, 3, 3)
    path = tmp_path / "bad2.pt"  # another file: the first use pinned bad.pt's digest
    monkeypatch.setenv("FFBENCH_HOME", str(tmp_path / "home2"))
    torch.save(sd, path)
    with pytest.raises(WeightsError, match="shape mismatches: quant_conv.weight"):
        load_movq(path, preset="tiny")
    monkeypatch.setenv("FFBENCH_HOME", str(tmp_path / "home3"))
    torch.save(tiny.state_dict(), path)
    with pytest.raises(WeightsError, match="does not fit MoVQ"):  # tiny file, full model
        load_movq(path, preset="full")


def test_missing_weights_say_where_to_get_them():
    with pytest.raises(WeightsMissing, match="movq.pt"):
        load_movq()


@pytest.mark.parametrize("bad", [torch.zeros(2, 3, 4, 4), torch.zeros(4, 4, 4), "latents"])
def test_bad_latents(tiny, bad):
    with pytest.raises(MoVQError, match="latents"):
        tiny.decode(bad)


def test_bad_image_size_and_chunk(tiny):
    with pytest.raises(MoVQError, match="multiple of 8"):
        tiny.encode(torch.zeros(1, 3, 20, 16))
    with pytest.raises(MoVQError, match="chunk_size"):
        tiny.decode(torch.zeros(2, 4, 2, 2), chunk_size=0)
    with pytest.raises(MoVQError, match="unknown MoVQ preset"):
        build_movq("huge")
    assert PRESETS["full"].downsample_factor == 8
