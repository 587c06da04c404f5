"""Fixtures for generator tests: tiny diffusers pipelines built once per session (random weights)."""
from __future__ import annotations

import pytest

from ffbench.generators.tiny import build_tiny_animatediff, build_tiny_text_to_video, tiny_toml
from gen_sizes import FRAMES, SIZE  # noqa: F401  (shared with the test modules)


@pytest.fixture(scope="session")
def tiny_t2v_dir(tmp_path_factory):
    return build_tiny_text_to_video(tmp_path_factory.mktemp("tiny") / "t2v", seed=0)


@pytest.fixture(scope="session")
def tiny_ad_dir(tmp_path_factory):
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
