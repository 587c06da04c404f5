"""Fixtures for generator tests: tiny diffusers pipelines built once per session (random weights)."""
from __future__ import annotations

import pytest
import torch

from ffbench.generators.tiny import build_tiny_animatediff, build_tiny_text_to_video, tiny_toml

SIZE = 16  # pixels (tiny VAE has scale factor 1): small enough for fast CPU tests
FRAMES = 4


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny ops gain nothing from threads, and on a shared 2-core machine two threads are ~10x slower
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_t2v_dir(tmp_path_factory):
    torch.set_num_threads(1)
    return build_tiny_text_to_video(tmp_path_factory.mktemp("tiny") / "t2v", seed=0)


@pytest.fixture(scope="session")
def tiny_ad_dir(tmp_path_factory):
    torch.set_num_threads(1)
    return build_tiny_animatediff(tmp_path_factory.mktemp("tiny") / "animatediff", seed=0)


@pytest.fixture
def write_toml(tmp_path):
    def write(text: str, name: str = "model.toml"):
        p = tmp_path / name
        p.write_text(text)
        return p
    return write


@pytest.fixture
def tiny_t2v_toml(tiny_t2v_dir, write_toml):
    return write_toml(tiny_toml(tiny_t2v_dir, frames=FRAMES, size=SIZE), "tiny-t2v.toml")
