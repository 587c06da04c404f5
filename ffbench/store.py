"""Results database: models, runs and scores.

SQLite by default (`results.db` in `$FFBENCH_HOME`), or any SQLAlchemy URL so a lab can share
one PostgreSQL leaderboard. Plain tables (SQLAlchemy Core), so `pandas.read_sql` reads them
directly. Every score row carries what makes it comparable: protocol name and hash, sample
count, detector weights sha256 and the random-weights flag.

Concurrency: SQLite writers serialise on the database lock; we use WAL mode and a long busy
timeout so concurrent runs wait instead of failing, and every write is one transaction.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

__all__ = ["ResultsStore", "RunRecord", "ScoreRecord", "default_url"]

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


def default_url() -> str:
    from .weights import home

    return f"sqlite:///{home() / 'results.db'}"


def _finite_or_none(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


class ResultsStore:
    def __init__(self, url: str | os.PathLike | None = None):
        if url is None:
            url = default_url()
        elif "://" not in str(url):  # a plain file path means SQLite
            url = f"sqlite:///{Path(url).expanduser()}"
        self.url = str(url)
        kwargs: dict = {}
        if self.url.startswith("sqlite"):
            db_path = self.url.split("sqlite:///", 1)[-1]
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 60}
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)

    # --- writing ---------------------------------------------------------------------------
    def add_run(self, run: RunRecord, scores: list[ScoreRecord] = ()) -> str:
        """Insert or replace a run and its scores in one transaction."""
        row = asdict(run)
        kind = row.pop("model_kind")
        for key in ("config", "versions", "hardware", "timings"):
            row[f"{key}_json"] = json.dumps(row.pop(key), sort_keys=True, default=str)
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(models_table.c.name).where(
                models_table.c.name == run.model)).first()
            if existing is None:
                conn.execute(models_table.insert().values(
                    name=run.model, kind=kind,
                    config_json=json.dumps(run.config.get("model", {}), sort_keys=True, default=str)))
            conn.execute(scores_table.delete().where(scores_table.c.run_id == run.run_id))
            conn.execute(runs_table.delete().where(runs_table.c.run_id == run.run_id))
            conn.execute(runs_table.insert().values(**row))
            for s in scores:
                values = asdict(s)
                values["extra_json"] = json.dumps(values.pop("extra"), sort_keys=True, default=str)
                for k in ("value", "std", "ci_low", "ci_high"):
                    values[k] = _finite_or_none(values[k])
                conn.execute(scores_table.insert().values(run_id=run.run_id, **values))
        return run.run_id

    # --- reading ---------------------------------------------------------------------------
    def runs(self):
        import pandas as pd

        with self.engine.connect() as conn:
            return pd.read_sql(sa.select(runs_table).order_by(runs_table.c.created_at), conn)

    def scores(self, run_id: str | None = None):
        """Scores joined with their run's model and dataset."""
        import pandas as pd

        q = sa.select(scores_table, runs_table.c.model, runs_table.c.dataset,
                      runs_table.c.created_at, runs_table.c.n_failed,
                      runs_table.c.random_weights.label("run_random_weights")).join(
            runs_table, scores_table.c.run_id == runs_table.c.run_id)
        if run_id is not None:
            q = q.where(scores_table.c.run_id == run_id)
        with self.engine.connect() as conn:
            return pd.read_sql(q.order_by(scores_table.c.id), conn)

    def leaderboard(self, dataset: str | None = None):
        """One row per (model, dataset): the latest run's score for each metric@protocol.

        A column is keyed by protocol *name*; if rows in one column were computed under
        different protocol hashes (the protocol changed between ffbench versions), the column
        splits into one per hash so incomparable numbers never share a column.
        """
        import pandas as pd

        df = self.scores()
        if dataset is not None:
            df = df[df["dataset"] == dataset]
        if df.empty:
            return pd.DataFrame(columns=["model", "dataset"])
        df = df.sort_values("created_at")
        # a number is marked when its extractor or the generator had random weights
        df["random_weights"] = df["random_weights"].astype(bool) | df["run_random_weights"].astype(bool)
        hashes_per_protocol = df.groupby("protocol")["protocol_hash"].nunique()
        df["column"] = [
            p if hashes_per_protocol[p] == 1 else f"{p} [{h[:8]}]"
            for p, h in zip(df["protocol"], df["protocol_hash"])
        ]
        latest = df.groupby(["model", "dataset", "column"]).tail(1)
        table = latest.pivot(index=["model", "dataset"], columns="column", values="value")
        flags = latest.groupby(["model", "dataset"]).agg(
            n=("n", "max"), random_weights=("random_weights", "max"), run_id=("run_id", "last"))
        return table.join(flags).reset_index()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()
