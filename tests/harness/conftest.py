"""Make the harness test helpers (harness_util, harness_fakes) importable, in-process and by
the `ffbench run` subprocesses (harness_util.env sets PYTHONPATH)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
