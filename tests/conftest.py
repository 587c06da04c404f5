"""Shared fixtures: every test runs with its own FFBENCH_HOME so no user cache is touched."""
from __future__ import annotations

import os
import subprocess
import sys

# One intra-op thread: the tests run tiny models, for which thread synchronisation costs more
# than it saves (measured up to 25x slower with two threads on a busy 2-core machine).
# Set before torch is imported so CLI subprocesses inherit it too.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("ffbench_home")
    monkeypatch.setenv("FFBENCH_HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(home / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


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
