"""The results store under concurrency (issue 20 item 3, issue 21 item 5), on SQLite and PostgreSQL.

Many processes create a new store at once (the race that crashed with "table models already
exists"), then write runs at once while another process reads the leaderboard: nothing is
lost, no reader ever sees half a run. PostgreSQL runs when FFBENCH_TEST_POSTGRES_URL points at
a server (`.ci/start_postgres.sh` starts one; CI does); each test gets a fresh database.
"""
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import time
import traceback
import uuid

import pytest
import sqlalchemy as sa

from ffbench.store import ResultsStore, RunRecord, ScoreRecord, normalize_url

PG_ENV = "FFBENCH_TEST_POSTGRES_URL"
WRITERS, RUNS_EACH, MODELS = 6, 8, 3


@pytest.fixture(params=["sqlite", "postgresql"])
def new_store_url(request, tmp_path):
    """URL of a store that does not exist yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new' / 'results.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test against "
                    "(run `eval \"$(.ci/start_postgres.sh)\"` first; CI does)")
    admin_url = sa.engine.make_url(normalize_url(base))
    name = f"ffbench_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as e:
        admin.dispose()
        pytest.fail(f"{PG_ENV} is set but the server cannot be used: {e}")
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _run(run_id, model, created):
    return RunRecord(run_id=run_id, model=model, dataset="demo", created_at=created, n_samples=4,
                     config={"model": {"name": model}})


def _scores(value):
    from ffbench.protocols import get

    return [ScoreRecord(metric="fvd", protocol="fvd@stylegan-v-2048x16",
                        protocol_hash=get("fvd@stylegan-v-2048x16").hash, value=value, n=4),
            ScoreRecord(metric="clipsim", protocol="clipsim@vit-b-32",
                        protocol_hash=get("clipsim@vit-b-32").hash, value=value / 1000, n=4)]


def _value(worker, i):
    return float(worker * 100 + i)


def _open_and_write(url, barrier, worker):
    """Child: wait until every child is ready, then open the (new) store and write one run."""
    barrier.wait(120)
    store = ResultsStore(url)
    store.add_run(_run(f"c{worker}", f"model{worker % MODELS}", f"2026-01-01T00:00:{worker:02d}"),
                  _scores(_value(worker, 0)))


def _writer(url, barrier, worker):
    """Child: write RUNS_EACH runs over shared models, plus one run id every writer replaces."""
    store = ResultsStore(url)
    barrier.wait(120)
    for i in range(RUNS_EACH):
        store.add_run(_run(f"w{worker}-{i}", f"model{i % MODELS}", f"2026-01-01T00:{i:02d}:{worker:02d}"),
                      _scores(_value(worker, i)))
        if i == RUNS_EACH // 2:
            store.add_run(_run("shared", "model0", "2025-01-01"), _scores(-1.0))


def _reader(url, barrier, done, out):
    """Child: read the leaderboard and all scores until the writers are done; report what it saw."""
    try:
        store = ResultsStore(url)
        barrier.wait(120)
        reads, seen = 0, 0
        while True:
            finished = done.is_set()  # one more full read after the writers are done
            lb = store.leaderboard()
            sc = store.scores()
            per_run = sc.groupby("run_id").size()
            assert (per_run == 2).all(), f"a run seen with some of its scores: {per_run[per_run != 2]}"
            assert len(per_run) >= seen, f"runs went from {seen} to {len(per_run)}"
            assert set(lb["model"]) <= {f"model{k}" for k in range(MODELS)}
            seen, reads = len(per_run), reads + 1
            if finished:
                break
        out.put(("ok", reads, seen))
    except BaseException:  # noqa: BLE001 - report to the parent, which asserts
        out.put(("error", traceback.format_exc(), 0))


def _killed_mid_write(url, ready):
    """Child: stop inside add_run's transaction (run row written, scores not yet) and wait."""
    store = ResultsStore(url)

    def pause(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO SCORES"):
            ready.set()
            time.sleep(600)

    sa.event.listen(store.engine, "before_cursor_execute", pause)
    store.add_run(_run("half", "model0", "2026-01-02"), _scores(1.0))


def _join_all(procs, timeout=240):
    for p in procs:
        p.join(timeout)
    codes = [p.exitcode for p in procs]
    for p in procs:
        if p.exitcode is None:
            p.kill()
    assert codes == [0] * len(procs), f"child exit codes {codes} (tracebacks above)"


def test_many_processes_create_a_new_store_at_once(new_store_url):
    ctx = mp.get_context("spawn")
    n = 8
    barrier = ctx.Barrier(n)
    procs = [ctx.Process(target=_open_and_write, args=(new_store_url, barrier, w)) for w in range(n)]
    for p in procs:
        p.start()
    _join_all(procs)
    store = ResultsStore(new_store_url)
    assert sorted(store.runs()["run_id"]) == sorted(f"c{w}" for w in range(n))
    assert len(store.scores()) == 2 * n
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sa.table("models"))).scalar() == MODELS


def test_writers_and_a_leaderboard_reader_at_once_lose_nothing(new_store_url):
    ResultsStore(new_store_url)
    ctx = mp.get_context("spawn")
    barrier, done, out = ctx.Barrier(WRITERS + 1), ctx.Event(), ctx.Queue()
    writers = [ctx.Process(target=_writer, args=(new_store_url, barrier, w)) for w in range(WRITERS)]
    reader = ctx.Process(target=_reader, args=(new_store_url, barrier, done, out))
    for p in [reader, *writers]:
        p.start()
    _join_all(writers)
    done.set()
    try:
        status, info, seen = out.get(timeout=240)
    except queue_mod.Empty:
        pytest.fail("the reader reported nothing")
    _join_all([reader])
    assert status == "ok", info
    assert info >= 2  # it read during the writes and once after them

    store = ResultsStore(new_store_url)
    expected = {f"w{w}-{i}" for w in range(WRITERS) for i in range(RUNS_EACH)} | {"shared"}
    runs = store.runs()
    assert set(runs["run_id"]) == expected and len(runs) == len(expected)
    assert seen == len(expected)  # the reader's last read saw every run
    sc = store.scores()
    assert len(sc) == 2 * len(expected)
    fvd = sc[sc["metric"] == "fvd"].set_index("run_id")["value"]
    for w in range(WRITERS):
        for i in range(RUNS_EACH):
            assert fvd[f"w{w}-{i}"] == _value(w, i)
    assert fvd["shared"] == -1.0
    lb = store.leaderboard().set_index("model")
    # latest run of model k: the largest i with i % MODELS == k, then the largest worker
    for k in range(MODELS):
        i = max(i for i in range(RUNS_EACH) if i % MODELS == k)
        assert lb.loc[f"model{k}", "fvd@stylegan-v-2048x16"] == _value(WRITERS - 1, i)
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_writer_killed_mid_transaction_leaves_no_half_run_and_no_lock(new_store_url):
    store = ResultsStore(new_store_url)
    store.add_run(_run("before", "model0", "2026-01-01"), _scores(1.0))
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    child = ctx.Process(target=_killed_mid_write, args=(new_store_url, ready))
    child.start()
    try:
        assert ready.wait(120), "the writer never reached its scores"
    finally:
        os.kill(child.pid, signal.SIGKILL)  # kill -9 while it holds the write lock
        child.join(60)
    assert child.exitcode == -signal.SIGKILL
    store.add_run(_run("after", "model1", "2026-01-03"), _scores(2.0))  # the lock was released
    assert sorted(store.runs()["run_id"]) == ["after", "before"]
    assert sorted(store.scores()["run_id"]) == ["after", "after", "before", "before"]
    assert sorted(ResultsStore(new_store_url).leaderboard()["model"]) == ["model0", "model1"]
