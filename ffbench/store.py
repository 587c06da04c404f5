"""Results database: models, runs and scores.

SQLite by default (`results.db` in `$FFBENCH_HOME`), or any SQLAlchemy URL so a lab can share
one PostgreSQL leaderboard. Plain tables (SQLAlchemy Core), so `pandas.read_sql` reads them
directly. Every score row carries what makes it comparable: protocol name and hash, sample
count, detector weights sha256 and the random-weights flag.

Concurrency (issue 20 item 3, issue 21 item 5): any number of processes may open a new store
and write runs at once while others read the leaderboard; nothing is lost.
- Schema: created inside one write transaction that holds a database-wide lock (SQLite
  ``BEGIN IMMEDIATE``; PostgreSQL ``pg_advisory_xact_lock``), so check-then-create cannot
  interleave ("table models already exists" was the race); other dialects retry on
  "already exists". An existing store is opened without taking any write lock.
- SQLite: WAL (readers never block the writer), busy timeout set before anything else, and
  writes start with ``BEGIN IMMEDIATE`` so a transaction never has to upgrade a read lock
  (that upgrade fails at once with "database is locked" instead of waiting).
- PostgreSQL (``postgresql://`` means the psycopg 3 driver): writers of the same run id take
  turns on an advisory lock (else one deletes the run while the other's new scores still
  reference it); a model row is inserted with ON CONFLICT DO NOTHING; a unique-key race,
  serialization failure or deadlock that still happens is retried.
- Every write is one transaction: a reader sees all of a run's scores or none of them.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from .errors import FFBenchError

__all__ = ["ResultsStore", "RunRecord", "ScoreRecord", "StoreError", "default_url", "normalize_url",
           "records_from_results", "random_weights_of"]

BUSY_TIMEOUT_S = 60  # how long a SQLite writer waits for the lock before giving up
_RETRIES = 8  # transient races (PostgreSQL unique/serialization/deadlock) retried this often
_SCHEMA_LOCK_KEY = 0x66666265  # "ffbe": the PostgreSQL advisory lock around schema creation


class StoreError(FFBenchError):
    """The results store cannot be opened or written; the message names the database and why."""

metadata = sa.MetaData()

models_table = sa.Table(
    "models", metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(50), nullable=False, default=""),
    sa.Column("config_json", sa.Text, nullable=False, default="{}"),
)

runs_table = sa.Table(
    "runs", metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("model", sa.String(200), sa.ForeignKey("models.name"), nullable=False),
    sa.Column("dataset", sa.String(100), nullable=False, default=""),
    sa.Column("prompt_set", sa.String(200), nullable=False, default=""),
    sa.Column("seed", sa.Integer, nullable=False, default=0),
    sa.Column("n_samples", sa.Integer, nullable=False, default=0),
    sa.Column("n_failed", sa.Integer, nullable=False, default=0),
    sa.Column("random_weights", sa.Boolean, nullable=False, default=False),
    sa.Column("config_hash", sa.String(64), nullable=False, default=""),
    sa.Column("config_json", sa.Text, nullable=False, default="{}"),
    sa.Column("versions_json", sa.Text, nullable=False, default="{}"),
    sa.Column("hardware_json", sa.Text, nullable=False, default="{}"),
    sa.Column("timings_json", sa.Text, nullable=False, default="{}"),
    sa.Column("run_dir", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.String(40), nullable=False),
)

scores_table = sa.Table(
    "scores", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("metric", sa.String(50), nullable=False),
    sa.Column("protocol", sa.String(100), nullable=False),
    sa.Column("protocol_hash", sa.String(64), nullable=False),
    sa.Column("value", sa.Float, nullable=True),  # NULL for a metric that could not be computed
    sa.Column("std", sa.Float, nullable=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("ci_low", sa.Float, nullable=True),
    sa.Column("ci_high", sa.Float, nullable=True),
    sa.Column("weights_sha256", sa.String(64), nullable=False, default=""),
    sa.Column("random_weights", sa.Boolean, nullable=False, default=False),
    sa.Column("extra_json", sa.Text, nullable=False, default="{}"),
    sa.UniqueConstraint("run_id", "metric", "protocol", name="one_score_per_metric"),
)


@dataclass
class RunRecord:
    run_id: str
    model: str
    dataset: str = ""
    prompt_set: str = ""
    seed: int = 0
    n_samples: int = 0
    n_failed: int = 0
    random_weights: bool = False
    config_hash: str = ""
    config: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    hardware: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    run_dir: str = ""
    model_kind: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


@dataclass
class ScoreRecord:
    metric: str
    protocol: str
    protocol_hash: str
    value: float | None
    n: int
    std: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    weights_sha256: str = ""
    random_weights: bool = False
    extra: dict = field(default_factory=dict)


def random_weights_of(generator_random: bool, scores) -> bool:
    """The one random-weights rule: a run (or a report row) is random when its generator or any
    score's extractor had random weights. Used by the harness, the store and the report."""
    return bool(generator_random) or any(bool(s.get("random_weights")) for s in scores)


def records_from_results(results: dict, run_dir: str = "") -> tuple[RunRecord, list[ScoreRecord]]:
    """The store rows of a results.json (docs/RUN_DIR.md): one RunRecord and its ScoreRecords.
    Every writer (`run`, `evaluate`, `generate`) and the report's reading of run folders go
    through this (`ResultsStore.add_results`), so a results.json and the store never disagree."""
    config = dict(results.get("config", {}))
    if results.get("interpolation") is not None:
        config["interpolation"] = results["interpolation"]
    run = RunRecord(
        run_id=results["run_id"], model=results["model"], dataset=results.get("dataset", ""),
        prompt_set=str(results.get("prompt_set", "")), seed=int(results.get("seed", 0)),
        n_samples=int(results.get("n_samples", 0)), n_failed=int(results.get("n_failed", 0)),
        random_weights=random_weights_of(results.get("random_weights"), results.get("scores", [])),
        config_hash=results.get("config_hash", ""), config=config,
        versions=results.get("versions", {}), hardware=results.get("hardware", {}),
        timings=results.get("timings", {}), run_dir=run_dir,
        model_kind=results.get("model_kind", ""),
        **({"created_at": results["created_at"]} if results.get("created_at") else {}))
    known = {f for f in ScoreRecord.__dataclass_fields__}
    scores = [ScoreRecord(**{k: v for k, v in s.items() if k in known}) for s in results.get("scores", [])]
    return run, scores


def default_url() -> str:
    from .weights import home

    return f"sqlite:///{home() / 'results.db'}"


def normalize_url(url: str | os.PathLike | None) -> str:
    """A SQLAlchemy URL: None -> the default SQLite file, a plain path -> SQLite, and
    ``postgresql://`` / ``postgres://`` -> ``postgresql+psycopg://`` (the driver ffbench ships;
    SQLAlchemy's default for that scheme is psycopg2, which is not installed)."""
    if url is None:
        return default_url()
    if "://" not in str(url):  # a plain file path means SQLite
        return f"sqlite:///{Path(url).expanduser()}"
    url = str(url)
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def _finite_or_none(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


class ResultsStore:
    """One results database; safe to use from many processes at once (see module docstring).

    Raises StoreError (naming the URL, password hidden) when the database cannot be reached,
    created or written. `read_only=True` never writes (no folder, schema or WAL switch): a
    missing SQLite file or one without our tables is a StoreError instead.
    """

    def __init__(self, url: str | os.PathLike | None = None, *, read_only: bool = False):
        self.url = normalize_url(url)
        try:
            parsed = sa.engine.make_url(self.url)
        except (sa.exc.ArgumentError, ValueError) as e:  # ValueError: a port that is no number
            shown = re.sub(r"://[^/@]*@", "://***@", self.url)  # no password in the message
            raise StoreError(f"results store {shown}: not a database URL") from e
        self.shown_url = parsed.render_as_string(hide_password=True)
        self.dialect = parsed.get_backend_name()
        kwargs: dict = {}
        if self.dialect == "sqlite":
            db_path = parsed.database
            if db_path and db_path != ":memory:" and read_only and not Path(db_path).is_file():
                raise StoreError(f"results store {db_path}: no such file")
            if db_path and db_path != ":memory:" and not read_only:
                try:
                    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise StoreError(f"results store {db_path}: cannot create its folder: "
                                     f"{e.strerror or e}") from e
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S}
        try:
            self.engine = sa.create_engine(self.url, **kwargs)
        except (ImportError, sa.exc.ArgumentError) as e:
            raise StoreError(f"results store {self.shown_url}: cannot use this URL ({e})") from e
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect",
                            lambda conn, _rec: _sqlite_on_connect(conn, wal=not read_only))
            sa.event.listen(self.engine, "begin", _sqlite_on_begin)
        # writes go through this engine: on SQLite its transactions start with BEGIN IMMEDIATE
        self._writer = self.engine.execution_options(ffbench_write=True)
        self._guard("open", lambda: self._create_schema(read_only))

    @classmethod
    def scratch(cls) -> ResultsStore:
        """A private in-memory SQLite store, gone with the object (the report's run dirs)."""
        return cls("sqlite://")

    def _guard(self, what: str, fn):
        """Run fn, retrying transient races; other database errors become one StoreError line."""
        for attempt in range(_RETRIES):
            try:
                return fn()
            except sa.exc.DBAPIError as e:
                if attempt + 1 < _RETRIES and _transient(e, self.dialect):
                    time.sleep(0.02 * (attempt + 1) * (1 + random.random()))
                    continue
                reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
                raise StoreError(f"results store {self.shown_url}: cannot {what}: {reason}") from e

    def _create_schema(self, read_only: bool = False) -> None:
        """Create the tables unless they all exist, race-free (module docstring)."""
        with self.engine.connect() as conn:  # no lock at all when the store already exists
            present = set(sa.inspect(conn).get_table_names())
        if present >= set(metadata.tables):
            return
        if read_only:
            raise StoreError(f"results store {self.shown_url}: not an ffbench results store")
        with self._writer.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
            metadata.create_all(conn, checkfirst=True)

    # --- writing ---------------------------------------------------------------------------
    def add_results(self, results: dict, run_dir: str = "") -> str:
        """Store a results.json (as a dict): the one ingest path of the harness and the report."""
        return self.add_run(*records_from_results(results, run_dir))

    def add_run(self, run: RunRecord, scores: list[ScoreRecord] = ()) -> str:
        """Insert or replace a run and its scores in one transaction."""
        row = asdict(run)
        kind = row.pop("model_kind")
        for key in ("config", "versions", "hardware", "timings"):
            row[f"{key}_json"] = json.dumps(row.pop(key), sort_keys=True, default=str)
        model_row = dict(name=run.model, kind=kind,
                         config_json=json.dumps(run.config.get("model", {}), sort_keys=True,
                                                default=str))
        score_rows = []
        for s in scores:
            values = asdict(s)
            values["extra_json"] = json.dumps(values.pop("extra"), sort_keys=True, default=str)
            for k in ("value", "std", "ci_low", "ci_high"):
                values[k] = _finite_or_none(values[k])
            score_rows.append(dict(values, run_id=run.run_id))

        def write():
            with self._writer.begin() as conn:
                if self.dialect == "postgresql":  # writers of one run id take turns
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                                 {"k": _lock_key("run:" + run.run_id)})
                conn.execute(self._insert_model(model_row))
                conn.execute(scores_table.delete().where(scores_table.c.run_id == run.run_id))
                conn.execute(runs_table.delete().where(runs_table.c.run_id == run.run_id))
                conn.execute(runs_table.insert().values(**row))
                if score_rows:
                    conn.execute(scores_table.insert(), score_rows)

        self._guard(f"write run {run.run_id!r}", write)
        return run.run_id

    def _insert_model(self, values: dict):
        """INSERT of a model row that does nothing when another writer already added it."""
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        elif self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:  # portable fallback: the unique-key race it leaves is retried by _guard
            exists = sa.select(models_table.c.name).where(models_table.c.name == values["name"])
            return models_table.insert().from_select(
                list(values), sa.select(*[sa.literal(v) for v in values.values()]).where(
                    ~exists.exists()))
        return insert(models_table).values(**values).on_conflict_do_nothing(
            index_elements=["name"])

    # --- reading ---------------------------------------------------------------------------
    def _read(self, query):
        import pandas as pd

        def read():
            with self.engine.connect() as conn:
                return pd.read_sql(query, conn)

        return self._guard("read", read)

    def runs(self):
        return self._read(sa.select(runs_table).order_by(runs_table.c.created_at))

    def differences(self, other: ResultsStore, run_id: str) -> list[str]:
        """The run columns (then "scores") in which `other`'s copy of `run_id` differs from this
        store's; [] when they agree or either lacks the run. `run_dir` (where the folder was
        when stored) is no difference; scores are compared in every column but their row id."""
        def copy(store):
            with store.engine.connect() as conn:
                run = conn.execute(sa.select(runs_table).where(
                    runs_table.c.run_id == run_id)).mappings().first()
                scores = conn.execute(sa.select(*[c for c in scores_table.c if c.name != "id"]).where(
                    scores_table.c.run_id == run_id).order_by("metric", "protocol")).all()
            return run, scores

        (mine, my_scores), (theirs, their_scores) = (s._guard("read", lambda s=s: copy(s))
                                                     for s in (self, other))
        return [] if mine is None or theirs is None else (
            [k for k in mine if k != "run_dir" and mine[k] != theirs[k]]
            + (["scores"] if my_scores != their_scores else []))

    def scores(self, run_id: str | None = None):
        """Scores joined with their run's model and dataset."""
        q = sa.select(scores_table, runs_table.c.model, runs_table.c.dataset,
                      runs_table.c.created_at, runs_table.c.n_failed,
                      runs_table.c.random_weights.label("run_random_weights")).join(
            runs_table, scores_table.c.run_id == runs_table.c.run_id)
        if run_id is not None:
            q = q.where(scores_table.c.run_id == run_id)
        return self._read(q.order_by(scores_table.c.id))

    def leaderboard(self, dataset: str | None = None):
        """One row per (model, dataset): the latest run's score for each metric@protocol.

        A column is keyed by protocol *hash*: it is headed by the protocol's name alone only
        when its numbers were made under the hash that name has in this ffbench (the registry,
        ffbench.protocols); a number made under any other hash (an older definition, a smoke
        test's smaller detector via `resolution`) is headed `name [hash8]`, so a column never
        mixes incomparable numbers nor passes a variant off as the standard protocol. `run_id`
        lists every run a row's numbers come from.
        """
        import pandas as pd

        df = self.scores()
        if dataset is not None:
            df = df[df["dataset"] == dataset]
        if df.empty:
            return pd.DataFrame(columns=["model", "dataset"])
        df = df.sort_values("created_at")
        # a number is marked when its extractor or the generator had random weights
        df["random_weights"] = [random_weights_of(run, [{"random_weights": score}]) for run, score
                                in zip(df["run_random_weights"], df["random_weights"])]
        registry = {p: _registry_hash(p) for p in df["protocol"].unique()}  # once per protocol
        df["column"] = [p if h == registry[p] else f"{p} [{h[:8]}]"
                        for p, h in zip(df["protocol"], df["protocol_hash"])]
        latest = df.groupby(["model", "dataset", "column"]).tail(1)
        table = latest.pivot(index=["model", "dataset"], columns="column", values="value")
        flags = latest.groupby(["model", "dataset"]).agg(
            n=("n", "max"), random_weights=("random_weights", "max"),
            run_id=("run_id", lambda ids: ", ".join(dict.fromkeys(ids))))
        return table.join(flags).reset_index()


def _registry_hash(name: str) -> str | None:
    """The hash protocol `name` has in this ffbench, or None when it is not registered."""
    from . import protocols

    try:
        return protocols.get(name).hash
    except (KeyError, ValueError, FFBenchError):
        return None


def _lock_key(text: str) -> int:
    """A signed 64-bit advisory-lock key for `text` (a collision only serialises two writers)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def _transient(e: sa.exc.DBAPIError, dialect: str) -> bool:
    """A failure that a retry of the whole transaction can fix (a race, not a bad input)."""
    text = str(getattr(e, "orig", e)).lower()
    if "already exists" in text:  # schema creation raced on a dialect without our lock
        return True
    if dialect == "postgresql":
        code = getattr(getattr(e, "orig", None), "sqlstate", None)
        # 23505 unique violation (two writers replaced one run id), 40001 serialization
        # failure, 40P01 deadlock
        return code in ("23505", "40001", "40P01")
    if dialect == "sqlite":  # writers wait on the lock for BUSY_TIMEOUT_S already
        return False
    return isinstance(e, sa.exc.IntegrityError)


def _sqlite_on_connect(dbapi_conn, wal: bool = True) -> None:
    """Busy timeout first (so the WAL switch below waits for the lock too), then WAL unless
    read-only; and leave transaction control to SQLAlchemy's begin event (pysqlite's is deferred)."""
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    if wal:
        cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def _sqlite_on_begin(conn) -> None:
    """Writers take the write lock up front (BEGIN IMMEDIATE waits on the busy timeout);
    readers take a plain snapshot (BEGIN), which WAL never blocks."""
    immediate = conn.get_execution_options().get("ffbench_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
