"""Full-size UNets on the meta device: keys, shapes, order and parameter counts vs the release."""
from __future__ import annotations

import functools
import math

import pytest
import torch

from ffbench.errors import ConfigError
from ffbench.fusionframes.presets import PRESETS, get_config
from ffbench.fusionframes.temporal import (VARIANTS, TemporalConv3dBlock, TemporalResNetBlock,
                                           _conv1d_block_params, _conv3d_block_params,
                                           conv3d_hidden_channels)
from ffbench.fusionframes.unet import build_unet, param_count

from _ff_unet_util import read_tsv

KEYFRAME_TSV = "kandinsky_video_1_0_keyframe_unet_keys.tsv"
INTERP_TSV = "kandinsky_video_1_0_interp_unet_keys.tsv"


def _rows(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


@functools.lru_cache(maxsize=None)
def _meta(preset: str, temporal=None):
    """Full-size models on meta, built once per session (each build takes ~1 s)."""
    return build_unet(preset, device="meta", **({"temporal": temporal} if temporal else {}))


@pytest.mark.parametrize("preset,tsv,n_keys,n_params", [
    ("keyframe_full", KEYFRAME_TSV, 1900, 4_143_739_012),
    ("interpolation_full", INTERP_TSV, 1651, 3_872_572_046),
])
def test_full_matches_release_key_for_key(preset, tsv, n_keys, n_params):
    ref = read_tsv(tsv)
    assert len(ref) == n_keys
    model = _meta(preset)
    ours = _rows(model)
    ref_d, ours_d = dict(ref), dict(ours)
    assert sorted(set(ref_d) - set(ours_d)) == [], "keys of the release missing here"
    assert sorted(set(ours_d) - set(ref_d)) == [], "keys here that the release lacks"
    assert [k for k in ref_d if ref_d[k] != ours_d[k]] == []
    assert [k for k, _ in ours] == [k for k, _ in ref], "state_dict order differs from the release"
    assert param_count(model) == n_params == sum(math.prod(s) for _, s in ref)
    assert all(p.is_meta for p in model.parameters())


def test_kandinsky3_keys_are_the_spatial_keys_of_the_keyframe_unet():
    ref = dict(read_tsv(KEYFRAME_TSV))
    k3 = dict(_rows(_meta("kandinsky3_full")))
    assert len(k3) == 1068  # kandinsky_video.md §3: K3 has 1068 keys, all in the keyframe UNet
    assert all(ref.get(k) == s for k, s in k3.items())
    extra = set(ref) - set(k3)
    assert extra and all("temporal" in k for k in extra)


def test_tiny_presets_share_the_full_key_names():
    for kind in ("keyframe", "interpolation"):
        full = _meta(f"{kind}_full").state_dict()
        tiny = build_unet(f"{kind}_tiny", device="meta").state_dict()
        assert list(full) == list(tiny)
        assert any(full[k].shape != tiny[k].shape for k in full)


def _variant_counts():
    return {v: param_count(_meta("keyframe_full", v)) for v in VARIANTS}


def test_variant_parameter_counts_full_size():
    counts = _variant_counts()
    print("\nfull-size keyframe UNet parameters by temporal variant:")
    for v, n in counts.items():
        print(f"  {v:24s} {n:>15,d}  ({n / counts['conv1d_attn1d_blocks'] - 1:+.2%} vs released)")
    assert counts["conv1d_attn1d_blocks"] == 4_143_739_012
    assert counts["conv1d_attn3d_blocks"] == counts["conv1d_attn1d_blocks"]  # "no extra params"
    rel = abs(counts["conv3d_attn1d_blocks"] / counts["conv1d_attn1d_blocks"] - 1)
    assert rel < 0.03, f"conv3d variant differs by {rel:.2%}"  # "keep params comparable"
    assert counts["none"] == sum(math.prod(s) for k, s in read_tsv(KEYFRAME_TSV) if "temporal" not in k)
    assert counts["none"] < counts["conv1d_attn1d_layers"] < counts["conv1d_attn1d_blocks"]


def test_every_variant_contains_the_spatial_model():
    spatial = dict(_rows(_meta("kandinsky3_full")))
    for v in VARIANTS:
        rows = dict(_rows(_meta("keyframe_full", v)))
        assert all(rows.get(k) == s for k, s in spatial.items()), v


@pytest.mark.parametrize("channels", [384, 768, 1536, 3072, 32, 64])
def test_conv3d_block_width_and_count(channels):
    groups = 32 if channels >= 384 else 8
    tdim = 1536 if channels >= 384 else 64
    with torch.device("meta"):
        b1 = TemporalResNetBlock(channels, tdim, groups, 2)
        b3 = TemporalConv3dBlock(channels, tdim, groups, 2)
    inner = conv3d_hidden_channels(channels, tdim, groups, 2)
    assert inner % groups == 0 and b3.temporal_down_projection.out_features == inner
    n1, n3 = param_count(b1), param_count(b3)
    # the closed forms used to pick the width are the real counts ...
    assert n1 == _conv1d_block_params(channels, tdim, 2)
    assert n3 == _conv3d_block_params(channels, tdim, 2, inner)
    # ... and the chosen width is the closest among its neighbours
    for other in (inner - groups, inner + groups):
        if groups <= other <= channels // 2:
            assert abs(_conv3d_block_params(channels, tdim, 2, other) - n1) >= abs(n3 - n1)
    if channels >= 384:
        assert abs(n3 / n1 - 1) < 0.10


def test_bad_configs_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown temporal variant"):
        get_config("keyframe_tiny", temporal="conv2d_magic")
    with pytest.raises(ConfigError, match="unknown UNet preset"):
        get_config("keyframe_huge")
    with pytest.raises(ConfigError, match="unknown UNetConfig field"):
        get_config("keyframe_tiny", channels=3)
    with pytest.raises(ConfigError, match="interpolation=True"):
        get_config("interpolation_tiny", temporal="conv1d_attn1d_blocks")
    with pytest.raises(ConfigError, match="multiple of groups"):
        get_config("keyframe_tiny", model_channels=20)
    with pytest.raises(ConfigError, match="needs num_frames"):
        get_config("keyframe_tiny", num_frames=None)
    with pytest.raises(ConfigError, match="entries"):
        get_config("keyframe_tiny", num_blocks=(3, 3, 3))


def test_presets_are_frozen_data():
    cfg = PRESETS["keyframe_full"]
    with pytest.raises(Exception):
        cfg.model_channels = 1  # type: ignore[misc]
    assert (cfg.model_channels, cfg.init_channels, cfg.time_embed_dim, cfg.context_dim) == (384, 192, 1536, 4096)
    assert cfg.num_frames == 15 and cfg.prediction == "epsilon"
    assert PRESETS["interpolation_full"].prediction == "v"
    assert (PRESETS["interpolation_full"].in_channels, PRESETS["interpolation_full"].out_channels) == (20, 12)
