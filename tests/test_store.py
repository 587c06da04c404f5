import json
import sqlite3

import pandas as pd
import pytest
import sqlalchemy as sa

from ffbench import store as store_mod
from ffbench.store import ResultsStore, RunRecord, ScoreRecord, StoreError, normalize_url


def _run(run_id, model="m", dataset="demo", created="2026-01-01T00:00:00", **kw):
    return RunRecord(run_id=run_id, model=model, dataset=dataset, created_at=created,
                     n_samples=4, config={"model": {"name": model}}, **kw)


def _score(value, protocol="fvd@stylegan-v-2048x16", h=None, **kw):
    """A score under `protocol`'s registry hash unless `h` says otherwise."""
    from ffbench import protocols

    return ScoreRecord(metric=protocol.split("@")[0], protocol=protocol,
                       protocol_hash=h or protocols.get(protocol).hash, value=value, n=4, **kw)


def test_default_location_and_round_trip(isolated_home):
    store = ResultsStore()
    assert store.url.endswith(str(isolated_home / "results.db"))
    store.add_run(_run("r1"), [_score(10.0, ci_low=9.0, ci_high=11.0), _score(0.3, "clipsim@vit-b-32")])
    df = store.scores("r1")
    assert sorted(df["protocol"]) == ["clipsim@vit-b-32", "fvd@stylegan-v-2048x16"]
    with store.engine.connect() as conn:  # readable with plain pandas
        assert len(pd.read_sql("select * from scores", conn)) == 2


def test_rewrite_replaces_scores_and_nonfinite_become_null(tmp_path):
    store = ResultsStore(tmp_path / "r.db")
    store.add_run(_run("r1"), [_score(1.0)])
    store.add_run(_run("r1"), [_score(float("inf"))])
    df = store.scores()
    assert len(df) == 1 and df["value"].isna().all()


def test_leaderboard_latest_run_and_protocol_hash_split(tmp_path):
    store = ResultsStore(tmp_path / "r.db")
    store.add_run(_run("old", created="2026-01-01"), [_score(50.0)])
    store.add_run(_run("new", created="2026-02-01"), [_score(40.0)])
    store.add_run(_run("other", model="b", created="2026-02-02"), [_score(30.0, h="b" * 64)])
    lb = store.leaderboard()
    assert set(lb["model"]) == {"m", "b"}
    cols = sorted(c for c in lb.columns if c.startswith("fvd@"))
    # two hashes never share a column; only the registry's hash is headed by the bare name
    assert cols == ["fvd@stylegan-v-2048x16", "fvd@stylegan-v-2048x16 [bbbbbbbb]"]
    row_m = lb[lb["model"] == "m"].iloc[0]
    assert row_m["fvd@stylegan-v-2048x16"] == 40.0
    assert lb[lb["model"] == "b"].iloc[0]["fvd@stylegan-v-2048x16 [bbbbbbbb]"] == 30.0
    assert store.leaderboard(dataset="nope").empty


def test_leaderboard_never_heads_a_variant_with_the_standard_name(tmp_path):
    """A number made under another hash than the registry's (a smoke test's smaller detector, an
    older definition) is labelled with its hash even when it is alone in its column; the run ids
    of a row are all listed."""
    store = ResultsStore(tmp_path / "r.db")
    store.add_run(_run("smoke", created="2026-01-01"), [_score(7.0, h="1cf9f200" + "0" * 56)])
    store.add_run(_run("clip", created="2026-01-02"), [_score(0.3, "clipsim@vit-b-32")])
    lb = store.leaderboard().iloc[0]
    assert lb["fvd@stylegan-v-2048x16 [1cf9f200]"] == 7.0 and "fvd@stylegan-v-2048x16" not in lb
    assert lb["clipsim@vit-b-32"] == 0.3
    assert lb["run_id"] == "smoke, clip"


def test_leaderboard_cli(cli, tmp_path):
    db = tmp_path / "r.db"
    ResultsStore(db).add_run(_run("r1", random_weights=True), [_score(12.5)])
    r = cli("leaderboard", "--db", db, "--format", "json", check=True)
    rows = json.loads(r.stdout)
    assert rows[0]["model"] == "m" and rows[0]["fvd@stylegan-v-2048x16"] == 12.5
    r = cli("leaderboard", "--db", db, check=True)
    assert "| model |" in r.stdout and "random weights" in r.stdout
    r = cli("leaderboard", "--db", db, "--format", "csv", "--dataset", "demo", check=True)
    assert r.stdout.splitlines()[0].startswith("model,dataset")


def test_urls_paths_and_the_postgresql_driver(tmp_path):
    assert normalize_url(tmp_path / "r.db") == f"sqlite:///{tmp_path / 'r.db'}"
    # SQLAlchemy's default PostgreSQL driver (psycopg2) is not installed: use psycopg 3
    assert normalize_url("postgresql://u:p@h:5/db") == "postgresql+psycopg://u:p@h:5/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"


def test_unreachable_server_is_one_error_naming_the_url_without_password():
    with pytest.raises(StoreError) as e:
        ResultsStore("postgresql://me:s3cret@127.0.0.1:1/lab")
    msg = str(e.value)
    assert "127.0.0.1:1/lab" in msg and "s3cret" not in msg and "cannot open" in msg


def test_damaged_or_unplaceable_sqlite_file_is_an_error_naming_it(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="junk.db.*not a database"):
        ResultsStore(junk)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match="afile"):
        ResultsStore(tmp_path / "afile" / "sub" / "r.db")


def test_existing_store_opens_and_reads_while_a_writer_holds_the_lock(tmp_path, monkeypatch):
    db = tmp_path / "r.db"
    ResultsStore(db).add_run(_run("r1"), [_score(1.0)])
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_S", 1)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of writing a run
    try:
        reader = ResultsStore(db)  # takes no write lock on an existing store
        assert reader.leaderboard()["fvd@stylegan-v-2048x16"].tolist() == [1.0]
        with pytest.raises(StoreError, match="r.db.*cannot write run 'r2'.*locked"):
            reader.add_run(_run("r2"), [_score(2.0)])  # a writer does wait, then says why
    finally:
        other.execute("ROLLBACK")
        other.close()
    reader.add_run(_run("r2"), [_score(2.0)])
    assert sorted(reader.runs()["run_id"]) == ["r1", "r2"]


def test_portable_model_insert_on_other_databases(tmp_path, monkeypatch):
    store = ResultsStore(tmp_path / "r.db")
    monkeypatch.setattr(store, "dialect", "other")  # the path taken on e.g. MySQL
    store.add_run(_run("r1"), [_score(1.0)])
    store.add_run(_run("r2"), [_score(2.0)])
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from models")).scalar() == 1


def test_leaderboard_cli_damaged_db(cli, tmp_path):
    db = tmp_path / "bad.db"
    db.write_bytes(b"\0garbage" * 500)
    r = cli("leaderboard", "--db", db)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "bad.db" in r.stderr and "not a database" in r.stderr


def test_malformed_urls_are_errors_without_the_password():
    for url in ("postgresql://me:s3cret@host:notaport/db", "nodriver://me:s3cret@h/db",
                "not a url://me:s3cret@x"):
        with pytest.raises(StoreError) as e:
            ResultsStore(url)
        assert "s3cret" not in str(e.value) and "results store" in str(e.value), url


def test_differences_name_run_columns_and_scores_but_not_run_dir(tmp_path):
    a, b = ResultsStore.scratch(), ResultsStore(tmp_path / "b.db")
    a.add_run(_run("r1", run_dir="/here"), [_score(1.0), _score(0.3, "clipsim@vit-b-32")])
    b.add_run(_run("r1", run_dir="/moved"), [_score(0.3, "clipsim@vit-b-32"), _score(1.0)])
    assert a.differences(b, "r1") == [] and a.differences(b, "absent") == []
    b.add_run(_run("r1", config_hash="x" * 64), [_score(1.5), _score(0.3, "clipsim@vit-b-32")])
    assert a.differences(b, "r1") == ["config_hash", "scores"]


def test_read_only_store_never_creates_or_writes(tmp_path):
    with pytest.raises(StoreError, match="no such file"):
        ResultsStore(tmp_path / "sub" / "r.db", read_only=True)
    assert not (tmp_path / "sub").exists()
    sqlite3.connect(tmp_path / "plain.db").execute("CREATE TABLE t (x)").connection.close()
    before = (tmp_path / "plain.db").read_bytes()
    with pytest.raises(StoreError, match="not an ffbench results store"):
        ResultsStore(tmp_path / "plain.db", read_only=True)
    assert (tmp_path / "plain.db").read_bytes() == before  # no schema, no WAL switch
    ResultsStore(tmp_path / "r.db").add_run(_run("r1"), [_score(1.0)])
    assert ResultsStore(tmp_path / "r.db", read_only=True).scores()["value"].tolist() == [1.0]
