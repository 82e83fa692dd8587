"""Experiments and runs in the metastore (the tables of sql/metastore/0003_tracking.sql).

A run is also kept whole, as one JSON document on its row (meta.runs.data, see
sql/metastore/0008_run_summary.sql): its own columns, params, tags, latest metrics and inputs.
Search and whole-run reads use it; the columns and the params, tags, metrics and inputs tables
stay the record (the system tables and the latest-point rule read them). Every write here
patches the document in the caller's transaction: in the statement that changes the run's
columns, or in one more statement per call.
"""

from __future__ import annotations

import json
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
_EXPERIMENT_COLUMNS = "experiment_id, name, artifact_location, lifecycle_stage, owner, creation_time, last_update_time"
_RUN_COLUMNS = "run_id, run_name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage"
RUN_COLUMNS = tuple(c.strip() for c in _RUN_COLUMNS.split(","))  # what RunInfo takes, in order

RUN_DATA = "data"  # the column holding a run's document, read back by ``runs_from_rows``
_WHOLE_RUN = "SELECT run_id, data FROM meta.runs"
_LATEST = "SELECT key, step, timestamp, value FROM meta.run_latest_metrics WHERE run_id = ?"
_LATEST_OF_KEY = f"{_LATEST} AND key = ?"
_LATEST_OF_KEYS = f"{_LATEST} AND list_contains(?, key)"  # cheapest for a few keys
_LATEST_OF_MANY_KEYS = f"{_LATEST} AND key IN (SELECT unnest(?))"
# The inputs of a run's document, rebuilt from its rows: ties in logged_time keep the order written.
_COPY_INPUTS = """
UPDATE meta.runs SET data = json_merge_patch(data, json_object('i', coalesce((
    SELECT list(struct_pack(name, digest, num_rows, context) ORDER BY logged_time, rowid)
    FROM meta.run_inputs WHERE run_id = $run), [])))
WHERE run_id = $run
"""


def runs_from_rows(rows: Sequence[Sequence]) -> list[Run]:
    """Whole runs from rows whose last column is the run's document (``RUN_DATA``), in order.

    The documents are JSON: DuckDB hands over one string per run several times faster than it
    builds Python objects from nested values, and doubles read back exactly (NaN and
    infinities included: DuckDB writes them, Python's json reads them). A page's documents are
    parsed as one array (half the cost of a call per document), and the entities are filled
    directly, as ``Metric`` is: a frozen dataclass's own __init__ costs a call per field."""
    if not rows:
        return []
    return [_run(data) for data in json.loads(f"[{','.join(row[-1] for row in rows)}]")]


def _run(data: dict) -> Run:
    info = _new(RunInfo)
    info.__dict__.update(zip(RUN_COLUMNS, data["r"], strict=True))
    run_data = _new(RunData)
    run_data.__dict__.update(metrics=data["m"], params=data["p"], tags=data["t"])
    run = _new(Run)
    inputs = data["i"]
    run.__dict__.update(info=info, data=run_data, inputs=tuple(DatasetInput(**d) for d in inputs) if inputs else ())
    return run


_new = object.__new__
# The run's own columns as the document holds them ("r", in RUN_COLUMNS order), written by the
# statement that changes them: SET expressions read the row as it was, so a changed column
# takes its new value from its parameter.
_INFO_JSON = (
    "json_array(run_id, coalesce($run_name, run_name), experiment_id, user_id, coalesce($status, status), "
    "start_time, coalesce($end_time, end_time), artifact_uri, coalesce($lifecycle_stage, lifecycle_stage))"
)


def _document(info: RunInfo, tags: Mapping[str, str]) -> str:
    return json.dumps({"r": [getattr(info, c) for c in RUN_COLUMNS], "m": {}, "p": {}, "t": dict(tags), "i": []})


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
        self.cursor.execute(
            "UPDATE meta.runs SET lifecycle_stage = $lifecycle_stage, "
            f"data = json_merge_patch(data, json_object('r', {_INFO_JSON})) WHERE experiment_id = $experiment",
            {"lifecycle_stage": stage, "run_name": None, "status": None, "end_time": None, "experiment": experiment_id},
        )

    # -- runs --------------------------------------------------------------------------------
    def insert_run(self, info: RunInfo, parent_run_id: str | None, tags: Mapping[str, str] | None = None) -> None:
        """Insert a new run with its first tags (appended: a new run has none to replace)."""
        tags = tags or {}
        self.cursor.execute(
            f"INSERT INTO meta.runs ({_RUN_COLUMNS}, parent_run_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                _document(info, tags),
            ],
        )
        if tags:
            _append(self.cursor, "meta.run_tags", [(info.run_id, k, v) for k, v in tags.items()])

    def run_info(self, run_id: str) -> RunInfo | None:
        rows = self.cursor.execute(f"SELECT {_RUN_COLUMNS} FROM meta.runs WHERE run_id = ?", [run_id]).fetchall()
        return RunInfo(*rows[0]) if rows else None

    def run_stage(self, run_id: str) -> str | None:
        """The run's lifecycle stage (None: no such run)."""
        rows = self.cursor.execute("SELECT lifecycle_stage FROM meta.runs WHERE run_id = ?", [run_id]).fetchall()
        return rows[0][0] if rows else None

    def experiment_name(self, experiment_id: str) -> str | None:
        rows = self.cursor.execute("SELECT name FROM meta.experiments WHERE experiment_id = ?", [experiment_id])
        found = rows.fetchall()
        return found[0][0] if found else None

    def runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Whole runs, in the order of ``run_ids`` (one query, however many runs)."""
        if not run_ids:
            return []
        ids = list(run_ids)
        if len(ids) == 1:
            rows = self.cursor.execute(f"{_WHOLE_RUN} WHERE run_id = ?", ids).fetchall()
        else:
            rows = self.cursor.execute(f"{_WHOLE_RUN} WHERE run_id IN (SELECT unnest(?))", [ids]).fetchall()
        found = {row[0]: row for row in rows}
        return runs_from_rows([found[i] for i in ids if i in found])

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> RunInfo | None:
        """Change the run's attributes; a new ``run_name`` is its mlflow.runName tag too, as in
        MLflow. Returns the run as it now is (None: no such run)."""
        changes = {"status": status, "end_time": end_time, "run_name": run_name, "lifecycle_stage": lifecycle_stage}
        if all(v is None for v in changes.values()):
            return self.run_info(run_id)
        assignments = [f"{k} = ${k}" for k, v in changes.items() if v is not None]
        document = f"json_object('r', {_INFO_JSON}"
        if run_name is not None:
            document += ", 't', json_object('mlflow.runName', $run_name)"
        rows = self.cursor.execute(
            f"UPDATE meta.runs SET {', '.join(assignments)}, data = json_merge_patch(data, {document})) "
            f"WHERE run_id = $run RETURNING {_RUN_COLUMNS}",
            {**changes, "run": run_id},
        ).fetchall()
        if not rows:
            return None
        if run_name is not None:
            self._replace_tags(run_id, {"mlflow.runName": run_name})
        return RunInfo(*rows[0])

    def params(self, run_id: str, keys: Sequence[str] | None = None) -> dict[str, str]:
        """The run's params (only those of ``keys``, when given)."""
        if keys is None:
            query, args = "SELECT key, value FROM meta.run_params WHERE run_id = ?", [run_id]
        else:
            query = "SELECT key, value FROM meta.run_params WHERE run_id = ? AND list_contains(?, key)"
            args = [run_id, list(keys)]
        return dict(self.cursor.execute(query, args).fetchall())

    def log(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] | None = None,
        metrics: Sequence[Metric] = (),
        tags: Mapping[str, str] | None = None,
        new_run: bool = False,
    ) -> str | None:
        """Record new params (none may be there already), metric points and tags (replacing
        values held under the same keys; a ``new_run`` has none, so its tags are appended), and
        patch the run's document with one statement for all three.

        Returns the run's lifecycle stage, read by that statement (None when there was nothing
        to patch, or no such run): callers that know the run check it there, without a query.
        """
        if params:
            _append(self.cursor, "meta.run_params", [(run_id, k, v) for k, v in params.items()])
        latest = self._insert_metrics(run_id, metrics) if metrics else {}
        if tags and new_run:
            _append(self.cursor, "meta.run_tags", [(run_id, k, v) for k, v in tags.items()])
        elif tags:
            self._replace_tags(run_id, tags)
        patch = {part: dict(values) for part, values in (("m", latest), ("p", params), ("t", tags)) if values}
        return self._patch(run_id, patch) if patch else None

    def insert_params(self, run_id: str, params: Mapping[str, str]) -> None:
        self.log(run_id, params=params)

    def insert_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        self.log(run_id, metrics=metrics)

    def set_tags(self, run_id: str, tags: Mapping[str, str], *, new_run: bool = False) -> None:
        self.log(run_id, tags=tags, new_run=new_run)

    def _replace_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        # An upsert costs DuckDB several times an append: only tags that may exist take it.
        marks = ", ".join(["(?, ?, ?)"] * len(tags))
        values = [v for k, value in tags.items() for v in (run_id, k, value)]
        self.cursor.execute(f"INSERT OR REPLACE INTO meta.run_tags VALUES {marks}", values)

    def _patch(self, run_id: str, patch: Mapping[str, object]) -> str | None:
        """Merge ``patch`` into the run's document (RFC 7396: objects merge key by key, a null
        removes a key); return the run's stage."""
        rows = self.cursor.execute(
            "UPDATE meta.runs SET data = json_merge_patch(data, ?) WHERE run_id = ? RETURNING lifecycle_stage",
            [json.dumps(patch), run_id],
        ).fetchall()
        return rows[0][0] if rows else None

    def delete_tag(self, run_id: str, key: str) -> bool:
        rows = self.cursor.execute(
            "DELETE FROM meta.run_tags WHERE run_id = ? AND key = ? RETURNING key", [run_id, key]
        )
        if not rows.fetchall():
            return False
        self._patch(run_id, {"t": {key: None}})
        return True

    def _insert_metrics(self, run_id: str, metrics: Sequence[Metric]) -> dict[str, float]:
        """Append points to the history and move each metric's latest point forward; return the
        keys whose latest point moved, with its value.

        MLflow's latest point is the one with the highest step, then the latest timestamp, then
        the largest value (NaN above every number, as DuckDB orders it). The batch's best point
        per key replaces the stored one only if it comes later. A series logged step after step
        (the common case) moves forward with one conditional UPDATE when this cursor has seen the
        key's step before: the step it remembers only picks that path, the UPDATE's condition
        decides. Other keys are read first, then inserted or updated; writes hold the engine's
        write lock, so what was read cannot change before this transaction commits.
        """
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
        return {key: m.value for key, m in best.items() if key not in kept}

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
        self.cursor.execute(_COPY_INPUTS, {"run": run_id})

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
