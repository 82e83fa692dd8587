"""Experiments and runs in the metastore (the tables of sql/metastore/0003_tracking.sql)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from catalog.store.database import registered


@dataclass(frozen=True)
class Experiment:
    """Shaped like ``mlflow.entities.Experiment``."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    owner: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_name: str
    experiment_id: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str

    @property
    def run_uuid(self) -> str:  # MLflow's older name
        return self.run_id


@dataclass(frozen=True)
class RunData:
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


@dataclass(frozen=True)
class DatasetInput:
    name: str
    digest: str
    num_rows: int | None
    context: str | None


@dataclass(frozen=True)
class Run:
    """Shaped like ``mlflow.entities.Run``: ``run.info``, ``run.data``, ``run.inputs``."""

    info: RunInfo
    data: RunData
    inputs: tuple[DatasetInput, ...] = ()


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int


_FEW_ROWS = 100
_EXPERIMENT_COLUMNS = "experiment_id, name, artifact_location, lifecycle_stage, owner, creation_time, last_update_time"
_RUN_COLUMNS = "run_id, run_name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage"


class TrackingStore:
    """Reads and writes tracking rows on one cursor, inside the caller's transaction."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor

    # -- experiments -------------------------------------------------------------------------
    def next_experiment_id(self) -> str:
        ((count,),) = self.cursor.execute("SELECT count(*) FROM meta.experiments").fetchall()
        return str(count + 1)

    def insert_experiment(self, experiment: Experiment) -> None:
        self.cursor.execute(
            f"INSERT INTO meta.experiments ({_EXPERIMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                experiment.experiment_id,
                experiment.name,
                experiment.artifact_location,
                experiment.lifecycle_stage,
                experiment.owner,
                experiment.creation_time,
                experiment.last_update_time,
            ],
        )
        self.set_experiment_tags(experiment.experiment_id, experiment.tags)

    def experiment(self, *, experiment_id: str | None = None, name: str | None = None) -> Experiment | None:
        column, value = ("experiment_id", experiment_id) if experiment_id is not None else ("name", name)
        rows = self.cursor.execute(
            f"SELECT {_EXPERIMENT_COLUMNS} FROM meta.experiments WHERE {column} = ?", [value]
        ).fetchall()
        if not rows:
            return None
        row = rows[0]
        tags = dict(
            self.cursor.execute(
                "SELECT key, value FROM meta.experiment_tags WHERE experiment_id = ?", [row[0]]
            ).fetchall()
        )
        return Experiment(*row, tags=tags)

    def experiments(self) -> list[Experiment]:
        ids = [r[0] for r in self.cursor.execute("SELECT experiment_id FROM meta.experiments").fetchall()]
        return [e for e in (self.experiment(experiment_id=i) for i in ids) if e is not None]

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.cursor.execute(
                "INSERT OR REPLACE INTO meta.experiment_tags VALUES (?, ?, ?)", [experiment_id, key, value]
            )

    def set_experiment_stage(self, experiment_id: str, stage: str, when: int) -> None:
        self.cursor.execute(
            "UPDATE meta.experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
            [stage, when, experiment_id],
        )

    def set_experiment_runs_stage(self, experiment_id: str, stage: str) -> None:
        self.cursor.execute("UPDATE meta.runs SET lifecycle_stage = ? WHERE experiment_id = ?", [stage, experiment_id])

    # -- runs --------------------------------------------------------------------------------
    def insert_run(self, info: RunInfo, parent_run_id: str | None) -> None:
        self.cursor.execute(
            f"INSERT INTO meta.runs ({_RUN_COLUMNS}, parent_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                info.run_id,
                info.run_name,
                info.experiment_id,
                info.user_id,
                info.status,
                info.start_time,
                info.end_time,
                info.artifact_uri,
                info.lifecycle_stage,
                parent_run_id,
            ],
        )

    def run_info(self, run_id: str) -> RunInfo | None:
        rows = self.cursor.execute(f"SELECT {_RUN_COLUMNS} FROM meta.runs WHERE run_id = ?", [run_id]).fetchall()
        return RunInfo(*rows[0]) if rows else None

    def run_and_experiment(self, run_id: str) -> tuple[RunInfo, Experiment] | None:
        """A run and its experiment (without tags), in one query: what every run call checks."""
        columns = ", ".join(f"r.{c.strip()}" for c in _RUN_COLUMNS.split(","))
        experiment_columns = ", ".join(f"e.{c.strip()}" for c in _EXPERIMENT_COLUMNS.split(","))
        rows = self.cursor.execute(
            f"SELECT {columns}, {experiment_columns} FROM meta.runs r "
            "JOIN meta.experiments e ON e.experiment_id = r.experiment_id WHERE r.run_id = ?",
            [run_id],
        ).fetchall()
        if not rows:
            return None
        row = rows[0]
        width = len(_RUN_COLUMNS.split(","))
        return RunInfo(*row[:width]), Experiment(*row[width:])

    def runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Whole runs, in the order of ``run_ids`` (four queries, however many runs)."""
        if not run_ids:
            return []
        ids = list(run_ids)
        infos = {
            row[0]: RunInfo(*row)
            for row in self.cursor.execute(
                f"SELECT {_RUN_COLUMNS} FROM meta.runs WHERE run_id IN (SELECT unnest(?))", [ids]
            ).fetchall()
        }
        metrics = self._pairs("SELECT run_id, key, value FROM meta.run_latest_metrics", ids)
        params = self._pairs("SELECT run_id, key, value FROM meta.run_params", ids)
        tags = self._pairs("SELECT run_id, key, value FROM meta.run_tags", ids)
        inputs: dict[str, list[DatasetInput]] = {}
        for run_id, *rest in self.cursor.execute(
            "SELECT run_id, name, digest, num_rows, context FROM meta.run_inputs "
            "WHERE run_id IN (SELECT unnest(?)) ORDER BY logged_time",
            [ids],
        ).fetchall():
            inputs.setdefault(run_id, []).append(DatasetInput(*rest))
        return [
            Run(
                infos[i],
                RunData(metrics.get(i, {}), params.get(i, {}), tags.get(i, {})),
                tuple(inputs.get(i, ())),
            )
            for i in ids
            if i in infos
        ]

    def _pairs(self, query: str, ids: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for run_id, key, value in self.cursor.execute(f"{query} WHERE run_id IN (SELECT unnest(?))", [ids]).fetchall():
            found.setdefault(run_id, {})[key] = value
        return found

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> None:
        changes = {
            k: v
            for k, v in {
                "status": status,
                "end_time": end_time,
                "run_name": run_name,
                "lifecycle_stage": lifecycle_stage,
            }.items()
            if v is not None
        }
        if changes:
            assignments = ", ".join(f"{k} = ?" for k in changes)
            self.cursor.execute(f"UPDATE meta.runs SET {assignments} WHERE run_id = ?", [*changes.values(), run_id])

    def params(self, run_id: str) -> dict[str, str]:
        return dict(self.cursor.execute("SELECT key, value FROM meta.run_params WHERE run_id = ?", [run_id]).fetchall())

    def insert_params(self, run_id: str, params: Mapping[str, str]) -> None:
        if params:
            _insert_table(
                self.cursor,
                "meta.run_params",
                {"run_id": [run_id] * len(params), "key": list(params), "value": list(params.values())},
            )

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        if tags:
            _insert_table(
                self.cursor,
                "meta.run_tags",
                {"run_id": [run_id] * len(tags), "key": list(tags), "value": list(tags.values())},
                replace=True,
            )

    def delete_tag(self, run_id: str, key: str) -> bool:
        rows = self.cursor.execute(
            "DELETE FROM meta.run_tags WHERE run_id = ? AND key = ? RETURNING key", [run_id, key]
        )
        return bool(rows.fetchall())

    def insert_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append points to the history and move each metric's latest point forward."""
        if not metrics:
            return
        rows = [(run_id, m.key, m.value, m.timestamp, m.step) for m in metrics]
        if len(rows) <= _FEW_ROWS:  # a VALUES list costs less than registering a table
            marks = ", ".join(["(?, ?, ?, ?, ?)"] * len(rows))
            self.cursor.execute(f"INSERT INTO meta.run_metrics VALUES {marks}", [v for row in rows for v in row])
        else:
            columns = list(zip(*rows, strict=True))
            points = pa.table(
                {
                    "run_id": pa.array(columns[0], pa.string()),
                    "key": pa.array(columns[1], pa.string()),
                    "value": pa.array(columns[2], pa.float64()),
                    "timestamp": pa.array(columns[3], pa.int64()),
                    "step": pa.array(columns[4], pa.int64()),
                }
            )
            with registered(self.cursor, {"__points": points}):
                self.cursor.execute("INSERT INTO meta.run_metrics SELECT * FROM __points")
        # MLflow's latest point: the highest step, then the latest timestamp, then the largest
        # value. The batch's best point per key is found here; the stored one is replaced only
        # by a better point.
        best: dict[str, Metric] = {}
        for m in metrics:
            held = best.get(m.key)
            if held is None or (m.step, m.timestamp, m.value) > (held.step, held.timestamp, held.value):
                best[m.key] = m
        marks = ", ".join(["(?, ?, ?, ?, ?)"] * len(best))
        self.cursor.execute(
            f"""
            INSERT INTO meta.run_latest_metrics VALUES {marks}
            ON CONFLICT (run_id, key) DO UPDATE
            SET value = excluded.value, timestamp = excluded.timestamp, step = excluded.step
            WHERE excluded.step > run_latest_metrics.step
               OR (excluded.step = run_latest_metrics.step AND excluded.timestamp > run_latest_metrics.timestamp)
               OR (excluded.step = run_latest_metrics.step AND excluded.timestamp = run_latest_metrics.timestamp
                   AND excluded.value > run_latest_metrics.value)
            """,
            [v for m in best.values() for v in (run_id, m.key, m.value, m.timestamp, m.step)],
        )

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        rows = self.cursor.execute(
            "SELECT key, value, timestamp, step FROM meta.run_metrics WHERE run_id = ? AND key = ?",
            [run_id, key],
        ).fetchall()
        return [Metric(*r) for r in rows]

    def insert_inputs(self, run_id: str, inputs: Iterable[DatasetInput], when: int) -> None:
        """Record datasets the run read; one already recorded (same name and digest) is not
        recorded twice, as in MLflow."""
        for dataset in inputs:
            self.cursor.execute(
                "INSERT INTO meta.run_inputs SELECT $run, $name, $digest, $rows, $context, $when "
                "WHERE NOT EXISTS (SELECT 1 FROM meta.run_inputs "
                "WHERE run_id = $run AND name = $name AND digest = $digest)",
                {
                    "run": run_id,
                    "name": dataset.name,
                    "digest": dataset.digest,
                    "rows": dataset.num_rows,
                    "context": dataset.context,
                    "when": when,
                },
            )

    def inputs(self, run_id: str) -> list[DatasetInput]:
        rows = self.cursor.execute(
            "SELECT name, digest, num_rows, context FROM meta.run_inputs WHERE run_id = ? ORDER BY logged_time",
            [run_id],
        ).fetchall()
        return [DatasetInput(*r) for r in rows]


def _insert_table(
    cursor: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, list], *, replace: bool = False
) -> None:
    verb = "INSERT OR REPLACE INTO" if replace else "INSERT INTO"
    with registered(cursor, {"__rows": pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})}):
        cursor.execute(f"{verb} {table} SELECT {', '.join(columns)} FROM __rows")
