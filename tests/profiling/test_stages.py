"""Stage profiles (ffbench/profiling/stages.py): scaling laws, linearity, no memory on meta."""
import resource

import pytest
import torch

from ffbench.errors import ConfigError
from ffbench.profiling.flops import count_flops
from ffbench.profiling.stages import STAGES, Point, _unet, clear_cache, profile_point


def _by(rows, stage, pass_=None, variant=None):
    out = [r for r in rows if r["stage"] == stage and (pass_ is None or r["pass"] == pass_)
           and (variant is None or r["variant"] == variant)]
    assert out, (stage, pass_, variant)
    return out


def tiny(**kw):
    return Point(preset="tiny", **kw)


def _rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_full_on_meta_allocates_no_parameter_memory():
    clear_cache()  # build the full models here, whatever ran before
    before = _rss_mib()
    rows = profile_point(Point(fps="medium"), ["text_encoder", "keyframes", "interpolation", "mfi"])
    grown = _rss_mib() - before
    params = sum(r["params"] for r in rows)
    assert params > 20e9  # 8.7 B text encoder + 3 UNets of ~4 B
    # fp32 weights would be > 80 GB; allow 1 GiB for Python objects of the meta graphs
    assert grown < 1024, f"RSS grew by {grown:.0f} MiB while profiling full models on meta"
    assert all(p.is_meta for p in _unet("keyframes", "full", "meta", 15).parameters())


# Parameter counts and FLOPs of the full-size profile at fps "medium", measured with
# `ffbench profile --json --fps medium` at commit 81f332d, before the profiler built its models
# through the pipeline's own builders (fusionframes.pipeline.component_config); the builders
# must give the same models. Key: (stage, variant) -> (params, FLOPs).
FULL_MEDIUM = {
    ("text_encoder", "flan-ul2-encoder"): (8738583040, 2211908157440),
    ("keyframes", "conv1d_attn1d_blocks"): (4143739012, 1569565310976000),
    ("interpolation", "fusionframes"): (3872572046, 1592964589977600),
    ("mfi", "masked_frame"): (4003977412, 7157626785792000),
    ("decoder", "image"): (161118231, 439219637059584),
    ("decoder", "conv3x1x1"): (203210291, 533227881234432),
    ("decoder", "conv3x3x3"): (539803187, 1285293834633216),
    ("decoder", "conv3x1x1_attn"): (220053043, 541077202403328),
    ("decoder", "conv3x3x3_attn"): (556645939, 1293143155802112),
    ("decoder", "resnet_attn"): (220268055, 541712186474496),
    ("decoder", "conv2d_to_3d"): (419461143, 1047335466565632),
    ("pipeline", "fusionframes"): (16916012329, 3603961446170624),
    ("pipeline", "mfi"): (17047417695, 9168623641985024),
}


def test_full_profile_counts_are_unchanged_and_come_from_the_pipeline_builders():
    from ffbench.fusionframes.pipeline import component_config
    from ffbench.fusionframes.unet import build_unet

    rows = profile_point(Point(fps="medium"))
    got = {(r["stage"], r["variant"]): (r["params"], r["flops"]) for r in rows}
    assert got == FULL_MEDIUM
    # the keyframe row is the pipeline's own keyframe UNet, built on meta by its builder
    unet = build_unet(component_config("full", "keyframe"), device="meta")
    assert sum(p.numel() for p in unet.parameters()) == FULL_MEDIUM[("keyframes", "conv1d_attn1d_blocks")][0]


def test_unet_flops_scale_with_pixels():
    # full size on meta (shares the 512 profiles with the RSS test): x4 pixels -> ~x4 UNet FLOPs
    # (spatial self-attention grows faster than linearly, the text keys/values not at all)
    a = profile_point(Point(height=256, width=256, fps="medium"), ["interpolation", "mfi"])
    b = profile_point(Point(height=512, width=512, fps="medium"), ["interpolation", "mfi"])
    for stage in ("interpolation", "mfi"):
        r = _by(b, stage)[0]["flops"] / _by(a, stage)[0]["flops"]
        assert 3.9 < r < 4.6, (stage, r)


def test_flops_scale_with_frames_steps_and_guidance():
    base = tiny(height=64, width=64, fps="high", keyframes=3)
    rows = profile_point(base, ["interpolation", "mfi"])
    # pass 2 sees 4T-3 = 9 frames -> 8 pairs vs 2 pairs on pass 1: x4 FLOPs
    for stage in ("interpolation", "mfi"):
        p1, p2 = _by(rows, stage, 1)[0], _by(rows, stage, 2)[0]
        assert p2["flops"] == 4 * p1["flops"]
        assert (p1["frames_out"], p2["frames_out"]) == (9, 33)
    more = profile_point(Point(preset="tiny", height=64, width=64, fps="high", keyframes=5), ["interpolation"])
    assert _by(more, "interpolation", 1)[0]["flops"] == 2 * _by(rows, "interpolation", 1)[0]["flops"]
    steps = profile_point(tiny(height=64, width=64, fps="medium", keyframes=3, steps=10), ["keyframes"])
    steps2 = profile_point(tiny(height=64, width=64, fps="medium", keyframes=3, steps=20), ["keyframes"])
    assert steps2[0]["flops"] == 2 * steps[0]["flops"]
    nocfg = profile_point(tiny(height=64, width=64, fps="medium", keyframes=3, steps=10, guidance=False),
                          ["keyframes"])
    assert steps[0]["flops"] == 2 * nocfg[0]["flops"]


@pytest.mark.parametrize("kind", ["interpolation", "mfi"])
def test_unit_scaling_equals_real_batch(kind):
    """The profiler counts one pair/window and scales: check against a real batched call."""
    rows = profile_point(tiny(height=64, width=64, fps="medium", keyframes=4, steps=1), [kind])
    m = _unet(kind, "tiny", "meta")
    c = m.config
    g = 3
    n = 2 * g * (5 if kind == "mfi" else 1)
    x = torch.empty(n, c.in_channels, 8, 8, device="meta")
    t = torch.zeros(n, device="meta")
    ctx = torch.empty(n, 2, c.context_dim, device="meta")
    mask = torch.ones(n, 2, dtype=torch.bool, device="meta")
    if kind == "mfi":
        real = count_flops(lambda: m(x, t, ctx, mask, num_frames=5), activations=False)
    else:
        real = count_flops(lambda: m(x, t, ctx, mask, num_temporal_groups=g, skip_frames=3,
                                     perturbation_time=0), activations=False)
    assert rows[0]["flops"] == real.flops


def test_pipeline_sums_stages_and_mfi_costs_more():
    rows = profile_point(tiny(height=64, width=64, fps="high", keyframes=3, steps=2), STAGES)
    ff = _by(rows, "pipeline", variant="fusionframes")[0]
    mfi = _by(rows, "pipeline", variant="mfi")[0]
    parts = sum(r["flops"] for s in ("text_encoder", "keyframes", "interpolation") for r in _by(rows, s))
    parts += _by(rows, "decoder", variant="image")[0]["flops"]
    assert ff["flops"] == parts
    assert mfi["flops"] > ff["flops"]
    assert {r["variant"] for r in _by(rows, "decoder")} >= {"image", "conv3x3x3_attn", "conv2d_to_3d"}
    assert _by(rows, "decoder", variant="image")[0]["frames_out"] == 33
    assert all(r["top_modules"] for r in rows if r["stage"] != "pipeline")


def test_decoder_short_clip_pro_rata_is_close_to_exact():
    from ffbench.profiling.stages import _decoder_rows

    p = tiny(height=64, width=64, fps="medium", keyframes=3)  # 9 frames: clips 4, 4, 1
    for v in ("image", "conv3x3x3_attn"):
        approx = _decoder_rows(p, [v])[0]["flops"]
        exact = _decoder_rows(p, [v], exact_tail=True)[0]["flops"]
        assert abs(approx - exact) <= 0.01 * exact, (v, approx, exact)
        if v == "image":
            assert approx == exact  # per-frame layers only: exactly linear


def test_bad_points():
    with pytest.raises(ConfigError, match="multiples of 64"):
        Point(height=500)
    with pytest.raises(ConfigError, match="fps"):
        Point(fps="ultra")
    with pytest.raises(ConfigError, match="unknown stage"):
        profile_point(tiny(), ["vae"])


def test_write_profile_contract(tmp_path):
    import json

    import pandas as pd

    from ffbench.profiling.sweep import interp_mfi_ratio, write_profile

    df = pd.DataFrame(profile_point(tiny(height=64, width=64, fps="high", keyframes=3, steps=2), STAGES))
    written = write_profile(df, tmp_path)
    names = {p.name for p in written}
    assert {"profile.json", "profile.csv", "interp_vs_mfi.png", "interp_vs_mfi.svg", "stage_flops.png",
            "stage_flops.svg"} <= names
    rows = json.loads((tmp_path / "profile.json").read_text())
    assert isinstance(rows, list) and rows[0]["stage"] == "text_encoder"
    ratio = interp_mfi_ratio(df)["mfi_over_interpolation"].iloc[0]
    assert ratio > 1


def test_decoder_variant_names_match_the_decoders():
    from ffbench.fusionframes.movq_video import VARIANTS
    from ffbench.profiling import DECODER_VARIANTS

    assert DECODER_VARIANTS == tuple(VARIANTS)
