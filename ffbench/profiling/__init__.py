"""FLOPs, parameters and memory of every pipeline stage (stages.py), sweeps and plots (sweep.py).

The names below live here, free of torch, so that `ffbench profile --help` stays fast.
"""
STAGES = ("text_encoder", "keyframes", "interpolation", "mfi", "decoder", "pipeline")
# the MoVQ decoder variants of paper Table 3 (ffbench.fusionframes.movq_video.VARIANTS)
DECODER_VARIANTS = ("image", "conv3x1x1", "conv3x3x3", "conv3x1x1_attn", "conv3x3x3_attn",
                    "resnet_attn", "conv2d_to_3d")
