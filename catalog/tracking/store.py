"""Experiments and runs in the metastore (the tables of sql/metastore/0003_tracking.sql)."""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
MAX_PARAM_VALUE = 6000  # MLflow's limits
MAX_TAG_VALUE = 8000


def now_ms() -> int:
    """Now in milliseconds since the epoch, MLflow's unit for times."""
    return int(time.time() * 1000)


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


@dataclass(frozen=True, init=False)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int

    def __init__(self, key: str, value: float, timestamp: int, step: int) -> None:
        # Batches hold thousands of points: filling the instance dict directly costs half of the
        # frozen dataclass's generated __init__ (one object.__setattr__ call per field).
        fields = self.__dict__
        fields["key"] = key
        fields["value"] = value
        fields["timestamp"] = timestamp
        fields["step"] = step


_FEW_ROWS = 100
_METRIC_ROW, _PARAM_ROW, _TAG_ROW, _INPUT_ROW = 1, 2, 3, 4
_EXPERIMENT_COLUMNS = "experiment_id, name, artifact_location, lifecycle_stage, owner, creation_time, last_update_time"
_RUN_COLUMNS = "run_id, run_name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage"
RUN_COLUMNS = tuple(c.strip() for c in _RUN_COLUMNS.split(","))  # what RunInfo takes, in order

# The latest metrics, params, tags and inputs of a set of runs, as one set of rows: (kind,
# run_id, key or dataset name, metric value, param or tag value or dataset context, digest,
# num_rows, logged_time).
_DATA_OF_RUNS = f"""
SELECT d.* FROM (
    SELECT {_METRIC_ROW} AS kind, run_id, key, value AS number, NULL::VARCHAR AS text,
           NULL::VARCHAR AS digest, NULL::BIGINT AS num_rows, NULL::BIGINT AS logged_time
    FROM meta.run_latest_metrics
    UNION ALL SELECT {_PARAM_ROW}, run_id, key, NULL, value, NULL, NULL, NULL FROM meta.run_params
    UNION ALL SELECT {_TAG_ROW}, run_id, key, NULL, value, NULL, NULL, NULL FROM meta.run_tags
    UNION ALL SELECT {_INPUT_ROW}, run_id, name, NULL, context, digest, num_rows, logged_time FROM meta.run_inputs
) AS d SEMI JOIN (SELECT unnest(?::VARCHAR[]) AS run_id) AS wanted ON d.run_id = wanted.run_id
"""
_LATEST = "SELECT key, step, timestamp, value FROM meta.run_latest_metrics WHERE run_id = ?"
_LATEST_OF_KEY = f"{_LATEST} AND key = ?"
_LATEST_OF_KEYS = f"{_LATEST} AND list_contains(?, key)"  # cheapest for a few keys
_LATEST_OF_MANY_KEYS = f"{_LATEST} AND key IN (SELECT unnest(?))"


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
        """Whole runs, in the order of ``run_ids`` (two queries, however many runs)."""
        if not run_ids:
            return []
        ids = list(run_ids)
        found = {
            row[0]: row
            for row in self.cursor.execute(
                f"SELECT {_RUN_COLUMNS} FROM meta.runs WHERE run_id IN (SELECT unnest(?))", [ids]
            ).fetchall()
        }
        return self.whole_runs([found[i] for i in ids if i in found])

    def whole_runs(self, rows: Sequence[Sequence]) -> list[Run]:
        """Runs from rows of meta.runs (``RUN_COLUMNS``, in that order), each with its latest
        metrics, params, tags and inputs, fetched together in one query; in the order of ``rows``."""
        if not rows:
            return []
        metrics: dict[str, dict[str, float]] = {}
        params: dict[str, dict[str, str]] = {}
        tags: dict[str, dict[str, str]] = {}
        inputs: dict[str, list[tuple[int, DatasetInput]]] = {}
        by_kind = {_METRIC_ROW: metrics, _PARAM_ROW: params, _TAG_ROW: tags}
        ids = [row[0] for row in rows]
        for kind, run_id, key, number, text, digest, num_rows, when in self.cursor.execute(
            _DATA_OF_RUNS, [ids]
        ).fetchall():
            if kind == _INPUT_ROW:
                inputs.setdefault(run_id, []).append((when, DatasetInput(key, digest, num_rows, text)))
            else:
                by_kind[kind].setdefault(run_id, {})[key] = number if kind == _METRIC_ROW else text
        return [
            Run(
                RunInfo(*row),
                RunData(metrics.get(row[0], {}), params.get(row[0], {}), tags.get(row[0], {})),
                tuple(dataset for _, dataset in sorted(inputs.get(row[0], ()), key=_logged_time)),
            )
            for row in rows
        ]

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

    def params(self, run_id: str, keys: Sequence[str] | None = None) -> dict[str, str]:
        """The run's params (only those of ``keys``, when given)."""
        if keys is None:
            query, args = "SELECT key, value FROM meta.run_params WHERE run_id = ?", [run_id]
        else:
            query = "SELECT key, value FROM meta.run_params WHERE run_id = ? AND list_contains(?, key)"
            args = [run_id, list(keys)]
        return dict(self.cursor.execute(query, args).fetchall())

    def insert_params(self, run_id: str, params: Mapping[str, str]) -> None:
        if params:
            _append(self.cursor, "meta.run_params", [(run_id, k, v) for k, v in params.items()])

    def set_tags(self, run_id: str, tags: Mapping[str, str], *, new_run: bool = False) -> None:
        """Set tags, replacing values held under the same keys; a ``new_run`` has none to replace,
        so its tags are simply appended (an upsert costs DuckDB several times an append)."""
        if not tags:
            return
        rows = [(run_id, k, v) for k, v in tags.items()]
        if new_run:
            _append(self.cursor, "meta.run_tags", rows)
            return
        marks = ", ".join(["(?, ?, ?)"] * len(rows))
        self.cursor.execute(f"INSERT OR REPLACE INTO meta.run_tags VALUES {marks}", [v for row in rows for v in row])

    def delete_tag(self, run_id: str, key: str) -> bool:
        rows = self.cursor.execute(
            "DELETE FROM meta.run_tags WHERE run_id = ? AND key = ? RETURNING key", [run_id, key]
        )
        return bool(rows.fetchall())

    def insert_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append points to the history and move each metric's latest point forward.

        MLflow's latest point is the one with the highest step, then the latest timestamp, then
        the largest value (NaN above every number, as DuckDB orders it). The batch's best point
        per key replaces the stored one only if it comes later. A series logged step after step
        (the common case) moves forward with one conditional UPDATE when this cursor has seen the
        key's step before: the step it remembers only picks that path, the UPDATE's condition
        decides. Other keys are read first, then inserted or updated; writes hold the engine's
        write lock, so what was read cannot change before this transaction commits.
        """
        if not metrics:
            return
        _append(self.cursor, "meta.run_metrics", [(run_id, m.key, m.value, m.timestamp, m.step) for m in metrics])
        best: dict[str, Metric] = {}
        for m in metrics:
            held = best.get(m.key)
            if (
                held is None
                or m.step > held.step  # the common case, decided without a call
                or (m.step == held.step and _later(m.step, m.timestamp, m.value, held.step, held.timestamp, held.value))
            ):
                best[m.key] = m
        steps = _STEPS.get(self.cursor)
        if steps is None or len(steps) > _MAX_STEPS:
            steps = _STEPS[self.cursor] = {}
        ahead = [m for key, m in best.items() if steps.get((run_id, key), m.step) < m.step]
        moved = self._update_latest(run_id, ahead, only_over_lower_steps=True) if ahead else set()
        rest = [key for key in best if key not in moved]
        kept: dict[str, int] = {}  # keys whose stored point stays: its step
        if rest:
            stored = self._latest(run_id, rest)
            fresh: list[Metric] = []
            better: list[Metric] = []
            for key in rest:
                m = best[key]
                if key not in stored:
                    fresh.append(m)
                elif _later(m.step, m.timestamp, m.value, *stored[key]):
                    better.append(m)
                else:
                    kept[key] = stored[key][0]
            if fresh:
                _append(
                    self.cursor,
                    "meta.run_latest_metrics",
                    [(run_id, m.key, m.value, m.timestamp, m.step) for m in fresh],
                )
            if better:
                self._update_latest(run_id, better)
        for key, m in best.items():
            steps[(run_id, key)] = kept.get(key, m.step)

    def _update_latest(self, run_id: str, points: list[Metric], *, only_over_lower_steps: bool = False) -> set[str]:
        """Set the latest point of each key of ``points`` (when ``only_over_lower_steps``, only
        where the stored step is lower); return the keys updated."""
        if len(points) == 1:
            (m,) = points
            condition = " AND step < ?" if only_over_lower_steps else ""
            ((count,),) = self.cursor.execute(
                "UPDATE meta.run_latest_metrics SET value = ?, timestamp = ?, step = ? "
                f"WHERE run_id = ? AND key = ?{condition}",
                [m.value, m.timestamp, m.step, run_id, m.key, *([m.step] if only_over_lower_steps else [])],
            ).fetchall()
            return {m.key} if count else set()
        rows = self.cursor.execute(
            f"""
            UPDATE meta.run_latest_metrics AS l SET value = b.value, timestamp = b.timestamp, step = b.step
            FROM (SELECT unnest(?::VARCHAR[]) AS key, unnest(?::DOUBLE[]) AS value,
                         unnest(?::BIGINT[]) AS timestamp, unnest(?::BIGINT[]) AS step) AS b
            WHERE l.run_id = ? AND l.key = b.key{" AND l.step < b.step" if only_over_lower_steps else ""}
            RETURNING l.key
            """,
            [
                [m.key for m in points],
                [m.value for m in points],
                [m.timestamp for m in points],
                [m.step for m in points],
                run_id,
            ],
        ).fetchall()
        return {key for (key,) in rows}

    def _latest(self, run_id: str, keys: list[str]) -> dict[str, tuple[int, int, float]]:
        """The stored latest (step, timestamp, value) of each of ``keys`` that has one."""
        if len(keys) == 1:
            query, args = _LATEST_OF_KEY, [run_id, keys[0]]
        else:
            query, args = _LATEST_OF_KEYS if len(keys) <= _FEW_ROWS else _LATEST_OF_MANY_KEYS, [run_id, keys]
        return {
            key: (step, timestamp, value) for key, step, timestamp, value in self.cursor.execute(query, args).fetchall()
        }

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


def _later(step: int, timestamp: int, value: float, held_step: int, held_timestamp: int, held_value: float) -> bool:
    """Whether a point comes after the held one as MLflow picks a metric's latest point: the
    higher step, then the later timestamp, then the larger value (NaN above every number, as
    DuckDB orders it; only NaN differs from itself)."""
    if step != held_step:
        return step > held_step
    if timestamp != held_timestamp:
        return timestamp > held_timestamp
    return value > held_value or (value != value and held_value == held_value)


def _logged_time(entry: tuple[int, DatasetInput]) -> int:
    return entry[0]


# One appender per cursor and table, kept while the cursor lives. An appender takes rows as
# values: no SQL text to parse and plan on every call, no Arrow table to build and register.
_APPENDERS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, dict[str, duckdb.Appender]] = (
    weakref.WeakKeyDictionary()
)


# The latest step this cursor wrote or read for (run_id, metric key): a hint that picks the
# one-statement path for a series logged step after step. It is never trusted for the result
# (a rolled-back or concurrent write only sends a call down the read-first path), and it is
# dropped whole when it grows past _MAX_STEPS keys.
_STEPS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, dict[tuple[str, str], int]] = weakref.WeakKeyDictionary()
_MAX_STEPS = 100_000


def _append(cursor: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Insert ``rows`` (in the table's column order) inside the caller's transaction. The rows
    are flushed before this returns: nothing waits in the appender for a later call."""
    held = _APPENDERS.get(cursor)
    if held is None:
        held = _APPENDERS[cursor] = {}
    appender = held.get(table)
    if appender is None:
        appender = held[table] = cursor.appender(table)
    try:
        appender.append_rows(rows)
        appender.flush()
    except BaseException:
        del held[table]  # dropped with whatever it buffered; the next call makes a new one
        raise
