"""The report reads its numbers only through the results store (issue 16, Deliver 4).

Run directories are stored the way the harness stores a run (`ResultsStore.add_results`) into
a scratch store; `--db` is only read. So a report of run dirs and a report of the same runs from
a store are the same tables, a results.json field the store does not keep never reaches a table,
the user's store file is untouched, and a run dir that disagrees with `--db` is named.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from ffbench.errors import FFBenchError
from ffbench.report.builder import build_report, collect
from ffbench.store import ResultsStore

BOGUS = 8765.4321  # a number no table may show: the store keeps no field that holds it


def _store_of(run_dirs, path, edit=lambda res: res) -> ResultsStore:
    """A store holding `run_dirs` as the harness stores them (runner._store), each results.json
    passed through `edit` first."""
    store = ResultsStore(path)
    for d in run_dirs:
        store.add_results(edit(json.loads((d / "results.json").read_text())), str(d.resolve()))
    return store


def _tables(out) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((out / "tables").iterdir())}


def test_run_dirs_and_the_same_runs_from_db_give_identical_tables(run_dirs, tmp_path, caplog):
    db = _store_of(run_dirs, tmp_path / "same.db")
    build_report(run_dirs, tmp_path / "dirs", "md,csv,latex")
    build_report([], tmp_path / "db", "md,csv,latex", store=db.url)
    with caplog.at_level(logging.WARNING):
        build_report(run_dirs, tmp_path / "both", "md,csv,latex", store=db.url)
    dirs = _tables(tmp_path / "dirs")
    assert len(dirs) == 12 and "tiny-baseline" in dirs["results.md"]
    assert "fusionframes-tiny" in dirs["results.csv"]
    assert _tables(tmp_path / "db") == dirs
    assert _tables(tmp_path / "both") == dirs  # a run in both is taken once
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # the copies agree
    runs, scores, infos = collect(run_dirs, db)
    assert sorted(runs["run_id"]) == ["demo-ff", "demo-tiny-baseline"] and len(scores) == 4
    assert [(i.model, i.random_weights) for i in infos] == [("fusionframes-tiny", True),
                                                            ("tiny-baseline", False)]


def test_no_table_number_comes_from_a_field_the_store_does_not_keep(run_dirs, tmp_path):
    for d in run_dirs:
        res = json.loads((d / "results.json").read_text())
        res["bogus_total"] = BOGUS
        res["per_sample"] = {"s000": {"clipsim@vit-b-32": BOGUS}}
        for s in res["scores"]:
            s["mean"] = BOGUS  # not a ScoreRecord field
        res["scores"][0]["value"] = 0.4321  # kept by the store: must show (the control)
        (d / "results.json").write_text(json.dumps(res))
    build_report(run_dirs, tmp_path / "o", "md,csv,latex")
    text = "\n".join(_tables(tmp_path / "o").values())
    assert "0.4321" in text
    assert "8765" not in text and "4321" not in text.replace("0.4321", "")


def test_report_never_writes_the_users_db(run_dirs, fixed_store, tmp_path):
    db_file = tmp_path / "results.db"
    fixed_store.engine.dispose()  # the fixture's writes checkpointed: the file is all there is
    before = (db_file.read_bytes(), db_file.stat().st_mtime_ns, sorted(tmp_path.iterdir()))
    r = subprocess.run([sys.executable, "-m", "ffbench.cli", "report", *run_dirs, "--db", db_file,
                        "--out", tmp_path / "rep", "--format", "md"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "modelscope_1.7b" in (tmp_path / "rep" / "tables" / "results.md").read_text()
    after = (db_file.read_bytes(), db_file.stat().st_mtime_ns,
             sorted(p for p in tmp_path.iterdir() if p.name != "rep"))
    assert after == before


def test_missing_or_foreign_db_is_an_error_and_is_not_created(run_dirs, tmp_path):
    with pytest.raises(FFBenchError, match="no such file") as e:
        build_report(run_dirs, tmp_path / "o", "md", store=str(tmp_path / "typo.db"))
    assert "typo.db" in str(e.value) and not (tmp_path / "typo.db").exists()
    import sqlite3

    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(FFBenchError, match="not an ffbench results store"):
        build_report(run_dirs, tmp_path / "o", "md", store=str(tmp_path / "other.db"))


def test_run_dir_disagreeing_with_db_is_one_warning_naming_it(run_dirs, tmp_path, caplog):
    def other(res):
        res["config_hash"] = "d" * 64
        res["scores"][0]["value"] = 0.9876
        return res

    db = _store_of(run_dirs[:1], tmp_path / "other.db", other)
    with caplog.at_level(logging.WARNING):
        build_report(run_dirs, tmp_path / "o", "md,csv", store=db.url)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(run_dirs[0]) in warnings[0] and "config_hash" in warnings[0]
    assert "scores" in warnings[0] and "demo-ff" in warnings[0]
    text = "\n".join(_tables(tmp_path / "o").values())
    assert "0.21" in text and "0.9876" not in text  # the run directory's copy wins


def test_a_harness_run_reads_the_same_from_its_folder_and_from_its_store(tmp_path, caplog):
    """End to end: the store copy `ffbench run` wrote and the report's scratch copy of the same
    run directory are the same rows, so both give the same tables and no warning."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
    from harness_util import base_config, in_process

    db = tmp_path / "results.db"
    run_dir = tmp_path / "run"
    in_process(base_config(run_dir, n=12, metrics=["is@c3d-ucf101"], db=str(db)))
    with caplog.at_level(logging.WARNING):
        runs, scores, infos = collect([run_dir], str(db))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    s_runs, s_scores = ResultsStore(db, read_only=True).runs(), ResultsStore(db).scores()
    assert len(runs) == 1 and runs.equals(s_runs)  # the --db copy was taken once (the folder's)
    assert scores.drop(columns="id").equals(s_scores.drop(columns="id"))
    assert infos[0].random_weights and len(infos[0].samples) == 12
    build_report([run_dir], tmp_path / "dirs", "md,csv")
    build_report([], tmp_path / "db", "md,csv", store=str(db))
    assert _tables(tmp_path / "dirs") == _tables(tmp_path / "db")
    assert "is@c3d-ucf101" in _tables(tmp_path / "db")["results.md"]
