"""Masked-frame interpolation (ffbench/fusionframes/mfi.py): tiny runs, frame counts, keyframes kept."""
import pytest
import torch

from ffbench.errors import ConfigError
from ffbench.fusionframes.interpolation import output_frames
from ffbench.fusionframes.mfi import MFIInterpolator, build_mfi_unet, build_windows, mfi_config
from ffbench.fusionframes.unet import param_count


def _interp(seed=0):
    unet = build_mfi_unet("tiny", seed=seed)
    null = torch.randn(unet.config.context_dim, generator=torch.Generator().manual_seed(1))
    return MFIInterpolator(unet, null)


def _keyframes(t=2, seed=5):
    return torch.randn(t, 4, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_config_is_keyframe_widths_with_mfi_channels():
    cfg = mfi_config("full")
    assert (cfg.in_channels, cfg.out_channels, cfg.num_frames) == (9, 4, 5)
    assert cfg.temporal == "conv1d_attn1d_layers"
    assert (cfg.model_channels, cfg.dim_mult, cfg.context_dim) == (384, (1, 2, 4, 8), 4096)
    with pytest.raises(ConfigError, match="unknown MFI preset"):
        mfi_config("huge")


def test_windows_layout():
    f = _keyframes(3)
    ctx, mask = build_windows(f)
    assert ctx.shape == (10, 4, 8, 8) and mask.shape == (10, 1, 8, 8)
    assert torch.equal(ctx[0], f[0]) and torch.equal(ctx[4], f[1]) and torch.equal(ctx[5], f[1])
    assert torch.equal(ctx[9], f[2]) and not ctx[1:4].any() and not ctx[6:9].any()
    assert mask[:, 0, 0, 0].tolist() == [1, 0, 0, 0, 1] * 2


@pytest.mark.parametrize("passes,fps", [(1, "medium"), (2, "high")])
def test_tiny_same_frame_count_as_ours_and_keyframes_untouched(passes, fps):
    f = _keyframes(2)
    out = _interp()(f, passes, 0, steps=2)
    assert out.shape == (output_frames(2, fps), 4, 8, 8)
    assert torch.equal(out[::4 ** passes], f)  # keyframes at 4k (16k after two passes), copied
    assert torch.isfinite(out).all()
    between = out[1:4]
    assert between.abs().sum() > 0


def test_deterministic_by_seed():
    f = _keyframes(2)
    a = _interp()(f, 1, 7, steps=2)
    b = _interp()(f, 1, 7, steps=2)
    c = _interp()(f, 1, 8, steps=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_guidance_off_and_perturbation_run():
    f = _keyframes(2)
    out = _interp().interpolate(f, 0, steps=3, guidance_scale=None, perturbation_step=1)
    assert out.shape == (1, 12, 8, 8)


def test_bad_input():
    with pytest.raises(ValueError, match="frames"):
        _interp()(torch.zeros(1, 4, 8, 8), 1, 0, steps=2)
    with pytest.raises(ConfigError):
        _interp()(_keyframes(2), 3, 0, steps=2)


def test_full_builds_on_meta_with_param_count():
    unet = build_mfi_unet("full", device="meta")
    n = param_count(unet)
    print(f"MFI full parameters: {n:,}")
    assert all(p.is_meta for p in unet.parameters())
    # same widths as the keyframe model: billions of parameters, same order as ours (3.9-4.1 B)
    assert 3.0e9 < n < 5.0e9
