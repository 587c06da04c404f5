import json
import multiprocessing as mp

import pandas as pd
import sqlalchemy as sa

from ffbench.store import ResultsStore, RunRecord, ScoreRecord


def _run(run_id, model="m", dataset="demo", created="2026-01-01T00:00:00", **kw):
    return RunRecord(run_id=run_id, model=model, dataset=dataset, created_at=created,
                     n_samples=4, config={"model": {"name": model}}, **kw)


def _score(value, protocol="fvd@stylegan-v-2048x16", h="a" * 64, **kw):
    return ScoreRecord(metric=protocol.split("@")[0], protocol=protocol, protocol_hash=h,
                       value=value, n=4, **kw)


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
    cols = [c for c in lb.columns if c.startswith("fvd@")]
    assert len(cols) == 2 and all("[" in c for c in cols)  # two hashes never share a column
    row_m = lb[lb["model"] == "m"].iloc[0]
    assert row_m[[c for c in cols if "[aaaaaaaa]" in c][0]] == 40.0
    assert store.leaderboard(dataset="nope").empty


def _writer(url, worker):
    store = ResultsStore(url)
    for i in range(15):
        store.add_run(_run(f"w{worker}-{i}", model=f"model{worker}"), [_score(float(i))])


def test_concurrent_writers_do_not_corrupt(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    ResultsStore(url)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(url, w)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = ResultsStore(url)
    assert len(store.runs()) == 30 and len(store.scores()) == 30
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"


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
