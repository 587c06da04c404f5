"""Sizes of the tiny test pipelines (a module of its own: `from conftest import` is ambiguous
when several test folders have a conftest.py)."""
SIZE = 16  # pixels (tiny VAE has scale factor 1): small enough for fast CPU tests
FRAMES = 4
