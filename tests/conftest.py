"""Shared fixtures: every test runs with its own FFBENCH_HOME so no user cache is touched."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("ffbench_home")
    monkeypatch.setenv("FFBENCH_HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(home / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(min(2, os.cpu_count() or 1))


def run_cli(*args, env=None, check=False, timeout=300):
    """Run `python -m ffbench.cli ARGS` in a subprocess (the way users run it)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "ffbench.cli", *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"ffbench {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def cli():
    return run_cli
