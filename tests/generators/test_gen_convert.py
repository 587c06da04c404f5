"""Pipeline outputs in every format -> uint8 [T,H,W,3]."""
import numpy as np
import pytest
import torch
from PIL import Image

from ffbench.generators.base import GeneratorError
from ffbench.generators.diffusers import split_videos, to_uint8_video

T, H, W = 4, 5, 7


@pytest.fixture
def ref():
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (T, H, W, 3), dtype=torch.uint8, generator=g)


def test_pil_list(ref):
    frames = [Image.fromarray(f.numpy()) for f in ref]
    out = to_uint8_video(frames)
    assert out.dtype == torch.uint8 and torch.equal(out, ref)


def test_pil_non_rgb_is_converted(ref):
    frames = [Image.fromarray(f.numpy()).convert("RGBA") for f in ref]
    assert torch.equal(to_uint8_video(frames), ref)


def test_numpy_thwc_float01(ref):
    arr = ref.numpy().astype(np.float32) / 255.0
    assert torch.equal(to_uint8_video(arr), ref)


def test_tensor_tchw_float_minus1_1(ref):
    t = (ref.float() / 255.0 * 2 - 1).permute(0, 3, 1, 2)  # [T,C,H,W]
    assert torch.equal(to_uint8_video(t, value_range="-1,1"), ref)


def test_tensor_cthw_channel_first():
    ref = torch.randint(0, 256, (4, H, W, 3), dtype=torch.uint8)
    t = (ref.float() / 255.0).permute(3, 0, 1, 2)  # [C,T,H,W]
    assert torch.equal(to_uint8_video(t), ref)
    assert torch.equal(to_uint8_video(t, layout="CTHW"), ref)


def test_channel_first_ambiguity_is_an_error(ref):
    ref = ref[:3]
    t = (ref.float() / 255.0).permute(3, 0, 1, 2)  # [3,3,H,W]: TCHW or CTHW?
    with pytest.raises(GeneratorError, match="set output_layout"):
        to_uint8_video(t)
    assert torch.equal(to_uint8_video(t, layout="CTHW"), ref)


def test_explicit_layout_resolves_ambiguity():
    # T=3 frames of a 3x3 image: THWC and TCHW both have a 3 where auto looks first
    x = torch.rand(3, 3, 3, 3)
    a = to_uint8_video(x, layout="THWC")
    b = to_uint8_video(x, layout="TCHW")
    assert torch.equal(a, (x * 255).round().to(torch.uint8))
    assert torch.equal(b, (x.permute(0, 2, 3, 1) * 255).round().to(torch.uint8))


def test_uint8_passthrough(ref):
    assert torch.equal(to_uint8_video(ref.numpy()), ref)


def test_small_overshoot_is_clipped_but_wrong_range_is_an_error(ref):
    x = ref.float() / 255.0
    x[0, 0, 0, 0] = 1.004
    assert to_uint8_video(x)[0, 0, 0, 0] == 255
    with pytest.raises(GeneratorError, match="set output_range"):
        to_uint8_video(x * 2 - 1)  # a [-1,1] output declared as [0,1]


def test_nan_and_bad_shapes_are_errors():
    with pytest.raises(GeneratorError, match="NaN"):
        to_uint8_video(torch.full((2, 4, 4, 3), float("nan")))
    with pytest.raises(GeneratorError, match="4-d"):
        to_uint8_video(torch.rand(4, 4, 3))
    with pytest.raises(GeneratorError, match="no axis of size 3"):
        to_uint8_video(torch.rand(2, 4, 4, 5))


def test_split_batch_array_list_and_flat_frames():
    batch = np.zeros((2, T, H, W, 3), np.float32)
    assert [v.shape for v in split_videos(batch, 2, T)] == [(T, H, W, 3)] * 2
    nested = [[Image.new("RGB", (W, H))] * T for _ in range(2)]
    assert [len(v) for v in split_videos(nested, 2, T)] == [T, T]
    flat = [Image.new("RGB", (W, H), (i, 0, 0)) for i in range(2 * T)]
    parts = split_videos(flat, 2, T)
    assert [p[0].getpixel((0, 0))[0] for p in parts] == [0, T]  # prompt-major order
    flat_arr = np.zeros((2 * T, H, W, 3))
    assert [v.shape[0] for v in split_videos(flat_arr, 2, T)] == [T, T]
    with pytest.raises(GeneratorError, match="batch of 3"):
        split_videos(np.zeros((3, T, H, W, 3)), 2, T)
