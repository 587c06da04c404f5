"""ffbench: benchmark and evaluation suite for text-to-video generation around FusionFrames."""
__version__ = "0.1.0"
