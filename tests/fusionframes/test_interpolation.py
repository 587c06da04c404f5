"""The released interpolation procedure (ffbench.fusionframes.interpolation)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ffbench.errors import ConfigError
from ffbench.fusionframes.interpolation import (FPS, Interpolator, output_frames, passes_for, reassemble,
                                                unpack_groups)
from ffbench.fusionframes.unet import build_unet
from ffbench.fusionframes.pipeline import PIPELINE_PRESETS


def test_output_frames_and_modes():
    assert [output_frames(15, m) for m in ("low", "medium", "high")] == [15, 57, 225]
    assert output_frames(16, "high") == 241
    assert [passes_for(m) for m in ("low", "medium", "high")] == [0, 1, 2]
    assert FPS == {"low": 2.0, "medium": 8.0, "high": 30.0}
    with pytest.raises(ConfigError, match="unknown fps mode 'ultra'.*low, medium, high"):
        passes_for("ultra")


def test_reassembly_order():
    t, c = 4, 2
    frames = torch.arange(t, dtype=torch.float32).view(t, 1, 1, 1).expand(t, c, 1, 1) * 100
    # pair k, generated frame j (1..3), channel ch -> value 100k + 10j + ch, packed frame-major
    groups = torch.tensor([[100 * k + 10 * j + ch for j in (1, 2, 3) for ch in range(c)] for k in range(t - 1)],
                          dtype=torch.float32).view(t - 1, 3 * c, 1, 1)
    out = reassemble(frames, groups)
    assert out.shape == (4 * t - 3, c, 1, 1)
    for i in range(4 * t - 3):
        k, j = divmod(i, 4)
        expect = [100.0 * k] * c if j == 0 else [100.0 * k + 10 * j + ch for ch in range(c)]
        assert out[i, :, 0, 0].tolist() == expect, i
    assert unpack_groups(groups, c)[4, 1, 0, 0].item() == 100 + 20 + 1  # pair 1, frame 2, ch 1
    with pytest.raises(ValueError, match="3 groups"):
        reassemble(frames[:3], groups)


class _Cfg:
    interpolation = True
    in_channels, out_channels, context_dim, prediction = 20, 12, 6, "v"


class RecordingUNet(nn.Module):
    """Stands in for the interpolation UNet: records its inputs, returns a fixed function of them."""

    def __init__(self):
        super().__init__()
        self.config = _Cfg()
        self.w = nn.Parameter(torch.ones(()))
        self.calls = []

    def forward(self, x, time, context, mask, *, num_temporal_groups, skip_frames, perturbation_time):
        self.calls.append(dict(x=x.clone(), time=time.clone(), context=context.clone(), mask=mask.clone(),
                               groups=num_temporal_groups, skip=skip_frames.clone(), pert=perturbation_time))
        # output depends on the keyframe channels, so cond and uncond halves differ
        return 0.1 * x[:, 4:16] + 0.05 * (x[:, :4].repeat(1, 3, 1, 1) + x[:, 16:].repeat(1, 3, 1, 1))


def test_interpolator_inputs_and_guidance():
    torch.manual_seed(0)
    unet = RecordingUNet()
    null = torch.randn(6)
    frames = torch.randn(4, 4, 2, 2)
    out = Interpolator(unet, null)(frames, 2, torch.Generator().manual_seed(1), steps=2, guidance_scale=0.25)
    assert out.shape == (16 * 4 - 15, 4, 2, 2)
    assert torch.equal(out[::16], frames)  # the keyframes survive both passes
    assert len(unet.calls) == 4  # 2 steps x 2 passes, cond + uncond in one call
    first, second = unet.calls[0], unet.calls[2]
    for call, g, skip in ((first, 3, 3), (second, 12, 1)):
        x = call["x"]
        assert call["groups"] == g and x.shape == (2 * g, 20, 2, 2)
        assert call["skip"].tolist() == [skip] * (2 * g)
        assert call["pert"] == 0
        assert torch.equal(x[:g, 4:16], x[g:, 4:16])  # same noisy frames in both halves
        assert torch.count_nonzero(x[g:, :4]) == 0 and torch.count_nonzero(x[g:, 16:]) == 0  # no keyframes
        assert torch.equal(call["context"][:, 0], null.expand(2 * g, 6))
        assert torch.count_nonzero(call["context"][:, 1]) == 0
        assert call["mask"].tolist() == [[True, False]] * (2 * g)
    assert torch.equal(first["x"][:3, :4], frames[:-1]) and torch.equal(first["x"][:3, 16:], frames[1:])
    # second pass runs on the reassembled 13 frames (keyframes at 4k)
    assert torch.equal(second["x"][0:12:4, :4], frames[:3])
    assert first["time"].tolist() == [500] * 6 and unet.calls[1]["time"].tolist() == [0] * 6


def test_interpolator_rejects_keyframe_unet():
    with pytest.raises(ConfigError, match="interpolation UNet"):
        Interpolator(build_unet(PIPELINE_PRESETS["tiny"]["keyframe"], device="meta"), torch.zeros(32))
    with pytest.raises(ConfigError, match="null_embedding has shape"):
        Interpolator(RecordingUNet(), torch.zeros(5))
    with pytest.raises(ConfigError, match="passes must be"):
        Interpolator(RecordingUNet(), torch.zeros(6))(torch.zeros(3, 4, 2, 2), 3, 0)


def test_tiny_unet_pass_keeps_keyframes_and_is_seeded():
    unet = build_unet(PIPELINE_PRESETS["tiny"]["interpolation"], seed=0).eval()
    with torch.no_grad():  # make the temporal parts active (they start at zero)
        for name, p in unet.named_parameters():
            if name.endswith(("temporal_merge", "skip_merge", "time_embed_merge")):
                p.fill_(0.3)
    interp = Interpolator(unet, torch.randn(unet.config.context_dim, generator=torch.Generator().manual_seed(2)))
    frames = torch.randn(5, 4, 4, 4, generator=torch.Generator().manual_seed(3))
    a = interp(frames, 1, torch.Generator().manual_seed(7), steps=2)
    b = interp(frames, 1, torch.Generator().manual_seed(7), steps=2)
    c = interp(frames, 1, torch.Generator().manual_seed(8), steps=2)
    assert a.shape == (17, 4, 4, 4)
    assert torch.equal(a[::4], frames)
    assert torch.equal(a, b) and not torch.allclose(a, c)
    assert torch.isfinite(a).all()
