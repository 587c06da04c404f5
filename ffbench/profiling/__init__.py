"""FLOPs, parameters and memory of every pipeline stage (stages.py), sweeps and plots (sweep.py).

The names below live here, free of torch, so that `ffbench profile --help` stays fast.
"""
from ..fusionframes.modes import DECODER_VARIANTS  # noqa: F401  (torch-free, re-exported)

STAGES = ("text_encoder", "keyframes", "interpolation", "mfi", "decoder", "pipeline")
