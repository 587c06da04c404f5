"""FLOPs, parameters and memory of every pipeline stage (stages.py), sweeps and plots (sweep.py).

The names below live here, free of torch, so that `ffbench profile --help` stays fast.
"""
from ..fusionframes.modes import DECODER_VARIANTS  # torch-free

STAGES = ("text_encoder", "keyframes", "interpolation", "mfi", "decoder", "pipeline")

__all__ = ["STAGES", "DECODER_VARIANTS"]
