"""ffbench.progress: bars on stderr only when wanted (issue 22)."""
from __future__ import annotations

import io

from ffbench.progress import progress, progress_enabled


class _TTY(io.StringIO):
    def isatty(self):
        return True


def test_disabled_when_quiet_or_not_a_terminal(monkeypatch):
    monkeypatch.delenv("FFBENCH_PROGRESS", raising=False)
    assert progress_enabled(stream=_TTY()) is True
    assert progress_enabled(quiet=True, stream=_TTY()) is False
    assert progress_enabled(stream=io.StringIO()) is False  # a pipe / log file
    monkeypatch.setenv("FFBENCH_PROGRESS", "1")
    assert progress_enabled(stream=io.StringIO()) is True
    assert progress_enabled(quiet=True, stream=_TTY()) is False  # --quiet always wins
    monkeypatch.setenv("FFBENCH_PROGRESS", "0")
    assert progress_enabled(stream=_TTY()) is False


def test_bar_writes_to_stderr_never_stdout(monkeypatch, capsys):
    monkeypatch.setenv("FFBENCH_PROGRESS", "1")
    assert list(progress(range(3), desc="work", unit="video", leave=True)) == [0, 1, 2]
    out, err = capsys.readouterr()
    assert out == "" and "work" in err and "3/3" in err


def test_disabled_bar_still_iterates_and_updates(monkeypatch, capsys):
    monkeypatch.setenv("FFBENCH_PROGRESS", "1")
    with progress(total=5, desc="quiet", quiet=True) as bar:
        bar.update(5)
    assert list(progress([1, 2], quiet=True)) == [1, 2]
    out, err = capsys.readouterr()
    assert out == "" and err == ""
