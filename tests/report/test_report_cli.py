from __future__ import annotations

import json
import subprocess
import sys


def _ffbench(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ffbench.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_report_help():
    r = _ffbench("report", "--help")
    assert r.returncode == 0 and "--format" in r.stdout and "--profile" in r.stdout


def test_report_cli_md_csv(run_dirs, tmp_path):
    out = tmp_path / "rep"
    r = _ffbench("report", *run_dirs, "--out", out, "--format", "md,csv", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["formats"] == ["md", "csv"] and info["index"] is None
    assert (out / "tables" / "table1.md").is_file() and not (out / "index.html").exists()
    assert "fusionframes-tiny (random weights)" not in (out / "tables" / "table1.md").read_text()
    assert "tiny-baseline" in (out / "tables" / "results.md").read_text()


def test_report_cli_html_with_db(fixed_store, tmp_path):
    out = tmp_path / "rep"
    r = _ffbench("report", "--out", out, "--format", "html", "--db", fixed_store.url)
    assert r.returncode == 0, r.stderr
    assert "report:" in r.stdout and (out / "index.html").is_file()
    assert "modelscope_1.7b" in (out / "index.html").read_text()


def test_report_cli_errors(tmp_path):
    r = _ffbench("report", tmp_path / "missing", "--out", tmp_path / "o")
    assert r.returncode != 0 and "missing" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "unfinished").mkdir()
    r = _ffbench("report", tmp_path / "unfinished", "--out", tmp_path / "o")
    assert r.returncode != 0 and "results.json" in r.stderr and "Traceback" not in r.stderr
    r = _ffbench("report", "--out", tmp_path / "o", "--db", tmp_path / "x.db", "--format", "pdf")
    assert r.returncode != 0 and "pdf" in r.stderr
    r = _ffbench("report", "--out", tmp_path / "o")
    assert r.returncode != 0 and "RUN_DIR" in r.stderr
