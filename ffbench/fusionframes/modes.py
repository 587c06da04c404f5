"""FusionFrames names and frame arithmetic, torch-free (the CLI, the generator adapter, the
profiler and the pipeline all read them from here).

fps modes (paper §4, kandinsky_video.md): `low` = the keyframes at 2 fps, `medium` = one
interpolation pass (8 fps), `high` = two passes (30 fps). Each pass puts 3 new frames between
each pair of neighbours: T frames become 4T - 3 (15 -> 57 -> 225).
"""
from __future__ import annotations

from ..errors import ConfigError

__all__ = ["FPS_MODES", "FPS", "FRAMES_PER_PAIR", "passes_for", "output_frames", "DECODER_VARIANTS",
           "INTERPOLATIONS"]

FPS_MODES = ("low", "medium", "high")
FPS = {"low": 2.0, "medium": 8.0, "high": 30.0}  # playback rate of each mode's output
FRAMES_PER_PAIR = 3
# the MoVQ decoder variants of paper Table 3 (ffbench.fusionframes.movq_video.VARIANTS)
DECODER_VARIANTS = ("image", "conv3x1x1", "conv3x3x3", "conv3x1x1_attn", "conv3x3x3_attn",
                    "resnet_attn", "conv2d_to_3d")
# how in-between frames are made: FusionFrames' interpolation UNet (released) or masked-frame
# interpolation (the paper's Table 2 baseline: no released weights, random `tiny` only)
INTERPOLATIONS = ("fusionframes", "mfi")


def passes_for(fps: str) -> int:
    """Number of interpolation passes of an fps mode (low 0, medium 1, high 2)."""
    if fps not in FPS_MODES:
        raise ConfigError(f"unknown fps mode {fps!r}; choose one of {', '.join(FPS_MODES)} "
                          "(low = keyframes only, medium = one interpolation pass, high = two)")
    return FPS_MODES.index(fps)


def output_frames(keyframes: int, fps: str) -> int:
    """Frame count after the mode's passes: each pass maps T to 4T - 3 (15 -> 57 -> 225)."""
    t = keyframes
    for _ in range(passes_for(fps)):
        t = 4 * t - 3
    return t
