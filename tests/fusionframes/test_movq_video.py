"""Video MoVQ decoders of paper Table 3: sizes, 1.1 layout, zero-init, temporal interaction."""
from __future__ import annotations

import pytest
import torch

from ffbench.fusionframes.movq import MoVQError, build_movq, images_to_uint8
from ffbench.fusionframes.movq_video import (TABLE3_PARAMS_M, VARIANTS, VideoDecoderConfig,
                                             build_video_movq, decoder_param_counts,
                                             infer_video_config, load_video_movq)
from ffbench.weights import WeightsError, WeightsMissing



def test_decoder_sizes_match_table3():
    counts = decoder_param_counts("full")
    assert set(counts) == set(TABLE3_PARAMS_M)
    for variant, millions in TABLE3_PARAMS_M.items():
        assert abs(counts[variant] / 1e6 - millions) <= 1.0, (variant, counts[variant])
    # exact counts of the released 1.0 decoder and of 1.1's video_movq decoder (README: 556M)
    assert counts["image"] == 161_118_211
    assert counts["conv3x3x3_attn"] == 556_645_919


def test_conv3x3x3_attn_has_kandinsky_video_1_1_layout():
    m = build_video_movq("conv3x3x3_attn", "full", device="meta")
    sd = m.state_dict()
    assert len(sd) == 570
    assert sd["decoder.up.3.block.0.temporal_projection1.weight"].shape == (1024, 1024, 3, 3, 3)
    assert sd["decoder.mid.block_2.temporal_merge2"].shape == (1,)
    assert sd["decoder.mid.temporal_attn_1.proj_out.weight"].shape == (1024, 1024, 1, 1)
    assert sd["decoder.up.3.temporal_attn.2.norm.conv_b.weight"].shape == (1024, 4, 1, 1)
    assert "decoder.up.2.temporal_attn.0.q.weight" not in sd  # attention only at res 32
    image = build_movq("full", device="meta").state_dict()
    assert all(sd[k].shape == v.shape for k, v in image.items())  # spatial part unchanged
    flick = build_video_movq("conv3x3x3_attn", "full", device="meta", flicker_augmentation=True)
    assert flick.state_dict()["decoder.mid.block_1.temporal_flicker_proj.weight"].shape == (1024, 1)


def test_infer_variant_from_keys():
    for v in VARIANTS:
        m = build_video_movq(v, "tiny", device="meta")
        keys = ((k, tuple(t.shape)) for k, t in m.state_dict().items())
        assert infer_video_config(keys).variant == v
    with pytest.raises(MoVQError, match="unknown video decoder variant"):
        VideoDecoderConfig("conv5x5x5")


@pytest.fixture(scope="module")
def image():
    return build_movq("tiny", seed=3)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_zero_init_reproduces_image_decoder(image, variant):
    video = build_video_movq(variant, "tiny", seed=11)
    video.load_image_weights(image.state_dict())
    z = torch.randn(2, 3, 4, 2, 3)  # [B, T, 4, h, w]
    want = image.decode(z.flatten(0, 1), chunk_size=None).unflatten(0, (2, 3))
    got = video.decode(z, chunk_size=None)
    assert got.shape == want.shape == (2, 3, 3, 16, 24)
    if variant == "conv2d_to_3d":  # inflated kernels: same sums, other conv algorithm
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    else:
        assert torch.equal(got, want)


def _randomise_temporal(model):
    torch.manual_seed(5)
    names = set(model.temporal_parameter_names())
    assert names
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in names:
                p.copy_(torch.randn_like(p) * 0.05 + (0.5 if "merge" in name else 0.0))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_frames_interact_only_in_video_variants(image, variant):
    model = build_video_movq(variant, "tiny", seed=11)
    model.load_image_weights(image.state_dict())
    if variant != "image":
        _randomise_temporal(model)
    else:
        assert model.temporal_parameter_names() == []
    z = torch.randn(3, 4, 2, 2)
    z2 = z.clone()
    z2[1] += 1.0  # perturb frame 1 only
    a = model.decode(z, num_frames=3, chunk_size=None)
    b = model.decode(z2, num_frames=3, chunk_size=None)
    assert not torch.allclose(a[1], b[1])
    others = (a[[0, 2]] - b[[0, 2]]).abs().amax(dim=(1, 2, 3))
    if variant == "image":
        assert torch.equal(a[[0, 2]], b[[0, 2]])
    else:
        assert (others > 1e-4).all(), others  # every other frame of the clip sees frame 1


def test_layouts_and_chunks(image):
    model = build_video_movq("conv3x1x1_attn", "tiny", seed=2)
    _randomise_temporal(model)
    z = torch.randn(2, 4, 4, 2, 2)
    five = model.decode(z, chunk_size=2)
    flat = model.decode(z.flatten(0, 1), num_frames=4, chunk_size=2)
    torch.testing.assert_close(flat, five.flatten(0, 1), atol=1e-6, rtol=1e-6)
    # clips are independent: chunk 2 equals decoding each 2-frame clip on its own
    torch.testing.assert_close(five[:, 2:], model.decode(z[:, 2:], chunk_size=None),
                               atol=1e-6, rtol=1e-6)
    # ...and differ from decoding all 4 frames as one clip
    assert not torch.allclose(five, model.decode(z, chunk_size=None), atol=1e-4)
    video = model.latents_to_video(z[0], chunk_size=2)
    assert video.shape == (4, 16, 16, 3) and video.dtype == torch.uint8
    six = z.flatten(0, 1)[:6]  # more frames than the default chunk: one clip means one clip
    one_clip = images_to_uint8(model.decode(six, chunk_size=None))
    assert torch.equal(model.latents_to_video(six, chunk_size=None), one_clip)
    assert not torch.equal(model.latents_to_video(six, chunk_size=2), one_clip)
    with pytest.raises(MoVQError, match="num_frames"):
        model.decode(z.flatten(0, 1), num_frames=3)


def test_release_attention_quirk_changes_only_with_flag(image):
    a = build_video_movq("conv3x3x3_attn", "tiny", seed=4)
    b = build_video_movq("conv3x3x3_attn", "tiny", seed=4, release_attn_quirk=True)
    z = torch.randn(3, 4, 2, 2)
    first = a.decode(z, chunk_size=None)
    quirk = b.decode(z, chunk_size=None)
    assert torch.equal(first[0], quirk[0])  # frame 0 conditions on itself either way
    assert not torch.allclose(first[1:], quirk[1:])


def test_load_video_movq_strict(tmp_path, monkeypatch):
    src = build_video_movq("conv3x3x3_attn", "tiny", seed=7)
    _randomise_temporal(src)
    path = tmp_path / "video_movq.pt"
    torch.save(src.state_dict(), path)
    loaded = load_video_movq(path, preset="tiny", release_attn_quirk=False)
    assert loaded.vconfig.variant == "conv3x3x3_attn" and not loaded.random_weights
    z = torch.randn(4, 4, 2, 2)
    assert torch.equal(loaded.decode(z), src.decode(z))
    sd = dict(src.state_dict())
    sd.pop("decoder.up.0.block.1.temporal_merge2")
    monkeypatch.setenv("FFBENCH_HOME", str(tmp_path / "home2"))  # the first load pinned path
    torch.save(sd, path)
    with pytest.raises(WeightsError, match="missing keys: decoder.up.0.block.1.temporal_merge2"):
        load_video_movq(path, preset="tiny")
    with pytest.raises(WeightsMissing, match="video_movq.pt"):
        load_video_movq()


def test_load_image_weights_rejects_video_state():
    video = build_video_movq("conv3x1x1", "tiny", seed=0)
    with pytest.raises(MoVQError, match="not an image MoVQ state_dict"):
        video.load_image_weights(video.state_dict())
