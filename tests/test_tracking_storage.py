"""How tracking calls reach DuckDB, on real databases: rows appended through cached appenders
(a failed one leaves nothing behind for the next call), each metric's latest point kept by
MLflow's rule however points arrive, runs fetched whole in one query from the document on
their row, which every write keeps equal to the record tables (and the migration fills for
older homes), what a connection remembers of runs and experiments, one audit row per call that
commits or rolls back with it, and writes that survive the process dying right after they
return. Search's joins are checked in tests/test_tracking_search.py's style at the end."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pytest

import catalog
from catalog import audit
from catalog.securables import SecurableType
from catalog.store.database import DATABASE_FILE
from catalog.store.metastore import Metastore
from catalog.store.migrations import current_version, migrate
from catalog.tracking import Client
from catalog.tracking.search import compile_search
from catalog.tracking.store import RUN_COLUMNS, DatasetInput, Metric, RunInfo, TrackingStore

ROOT = Path(__file__).resolve().parents[1]
NAN = float("nan")


@pytest.fixture
def db(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A bare database with the metastore's tables (all migrations, as a home has them)."""
    conn = duckdb.connect(str(tmp_path / "tracking.duckdb"))
    for script in sorted((ROOT / "sql" / "metastore").glob("*.sql")):
        conn.execute(script.read_text())
    yield conn
    conn.close()


@pytest.fixture
def store(db: duckdb.DuckDBPyConnection) -> TrackingStore:
    return TrackingStore(db.cursor())


def add_run(store: TrackingStore, run_id: str, start_time: int = 1) -> RunInfo:
    info = RunInfo(run_id, f"name-{run_id}", "1", "alice", "RUNNING", start_time, None, f"file:///a/{run_id}", "active")
    store.insert_run(info, None)
    return info


def latest(store: TrackingStore, run_id: str) -> dict[str, tuple]:
    rows = store.cursor.execute(
        "SELECT key, step, timestamp, value FROM meta.run_latest_metrics WHERE run_id = ?", [run_id]
    ).fetchall()
    return {key: (step, timestamp, value) for key, step, timestamp, value in rows}


def expected_latest(points: list[Metric]) -> dict[str, tuple]:
    """MLflow's rule, written out plainly: highest step, then timestamp, then value, NaN above
    every number (DuckDB's order, which the store keeps)."""
    best: dict[str, Metric] = {}
    for m in points:
        rank = (m.step, m.timestamp, math.isnan(m.value), 0.0 if math.isnan(m.value) else m.value)
        held = best.get(m.key)
        if held is None or rank > (
            held.step,
            held.timestamp,
            math.isnan(held.value),
            0.0 if math.isnan(held.value) else held.value,
        ):
            best[m.key] = m
    return {k: (m.step, m.timestamp, m.value) for k, m in best.items()}


def plain(value: object) -> object:
    """``value`` with NaN written "nan", so that equal data compare equal."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def record_of(cursor: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    """What the record (the run's columns and the params, tags, metrics and inputs tables) says
    of a run, shaped as its document."""

    def pairs(table: str) -> dict:
        return dict(cursor.execute(f"SELECT key, value FROM meta.{table} WHERE run_id = ?", [run_id]).fetchall())

    info = cursor.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM meta.runs WHERE run_id = ?", [run_id]).fetchone()
    inputs = cursor.execute(
        "SELECT name, digest, num_rows, context FROM meta.run_inputs WHERE run_id = ? ORDER BY logged_time, rowid",
        [run_id],
    ).fetchall()
    keys = ("name", "digest", "num_rows", "context")
    return plain(
        {
            "r": list(info),
            "m": pairs("run_latest_metrics"),
            "p": pairs("run_params"),
            "t": pairs("run_tags"),
            "i": [dict(zip(keys, row, strict=True)) for row in inputs],
        }
    )


def document_of(cursor: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    ((text,),) = cursor.execute("SELECT data FROM meta.runs WHERE run_id = ?", [run_id]).fetchall()
    return plain(json.loads(text))


def same(a: dict[str, tuple], b: dict[str, tuple]) -> bool:
    def plain(d):
        return {k: tuple("nan" if isinstance(x, float) and math.isnan(x) else x for x in v) for k, v in d.items()}

    return plain(a) == plain(b)


# -- Metric ----------------------------------------------------------------------------------------
def test_a_metric_is_a_frozen_value():
    metric = Metric("loss", 0.5, 10, 1)
    assert metric == Metric(key="loss", value=0.5, timestamp=10, step=1)
    assert hash(metric) == hash(Metric("loss", 0.5, 10, 1))
    assert repr(metric) == "Metric(key='loss', value=0.5, timestamp=10, step=1)"
    assert dataclasses.replace(metric, step=2) == Metric("loss", 0.5, 10, 2)
    assert dataclasses.asdict(metric) == {"key": "loss", "value": 0.5, "timestamp": 10, "step": 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        metric.value = 1.0  # type: ignore[misc]


# -- the latest point of each metric ---------------------------------------------------------------
BATCHES = {
    "one key, rising steps": [[Metric("loss", 1.0 / (s + 1), 100 + s, s) for s in range(5)]],
    "a later batch with lower steps keeps the stored point": [
        [Metric("loss", 0.1, 100, 9)],
        [Metric("loss", 0.9, 999, 3)],
    ],
    "same step: later timestamp, then larger value": [
        [Metric("a", 0.3, 200, 1), Metric("b", 0.2, 100, 1)],
        [Metric("a", 0.9, 100, 1), Metric("b", 0.1, 100, 1), Metric("b", 0.4, 100, 1)],
    ],
    "NaN ranks above numbers, in a batch and against the stored point": [
        [Metric("n", NAN, 5, 1), Metric("n", 0.5, 5, 1)],
        [Metric("m", 0.5, 5, 1)],
        [Metric("m", NAN, 5, 1)],
        [Metric("n", 0.7, 5, 1)],
    ],
    "new, better and worse keys in one batch": [
        [Metric("old", 1.0, 1, 1), Metric("worse", 1.0, 1, 5)],
        [Metric("old", 2.0, 1, 2), Metric("worse", 3.0, 1, 4), Metric("new", 4.0, 1, 0)],
    ],
    "more keys than a few, twice": [
        [Metric(f"k{i}", float(i), 1, i % 3) for i in range(150)],
        [Metric(f"k{i}", float(-i), 2, 1) for i in range(0, 160, 2)],
    ],
}


@pytest.mark.parametrize("point_by_point", [False, True], ids=["in-batches", "point-by-point"])
@pytest.mark.parametrize("batches", list(BATCHES.values()), ids=list(BATCHES))
def test_the_latest_point_follows_mlflows_rule(store, batches, point_by_point):
    add_run(store, "r1")
    logged = [m for batch in batches for m in batch]
    for batch in [[m] for m in logged] if point_by_point else batches:
        store.insert_metrics("r1", batch)
    assert same(latest(store, "r1"), expected_latest(logged))
    history = store.cursor.execute("SELECT count(*) FROM meta.run_metrics WHERE run_id = 'r1'").fetchone()
    assert history == (len(logged),)
    assert document_of(store.cursor, "r1") == record_of(store.cursor, "r1")


@pytest.mark.parametrize("keys", [["loss"], ["loss", "acc", "f1"]], ids=["one key", "three keys"])
def test_a_step_remembered_by_a_cursor_never_decides_the_latest_point(db, keys):
    mine, other = TrackingStore(db.cursor()), TrackingStore(db.cursor())
    add_run(mine, "r1")
    mine.insert_metrics("r1", [Metric(k, 0.5, 1, 5) for k in keys])  # mine remembers step 5
    other.insert_metrics("r1", [Metric(k, 0.9, 1, 10) for k in keys])  # ... but step 10 is stored
    mine.insert_metrics("r1", [Metric(k, 0.7, 1, 7) for k in keys])
    assert latest(mine, "r1") == {k: (10, 1, 0.9) for k in keys}
    mine.insert_metrics("r1", [Metric(k, 0.1, 1, 11) for k in keys])
    assert latest(mine, "r1") == {k: (11, 1, 0.1) for k in keys}
    assert document_of(db, "r1") == record_of(db, "r1")


def test_a_step_remembered_from_a_rolled_back_call_never_decides_either(store):
    add_run(store, "r1")
    store.cursor.execute("BEGIN")
    store.insert_metrics("r1", [Metric("loss", 0.5, 1, 5), Metric("acc", 0.5, 1, 5)])
    store.cursor.execute("ROLLBACK")
    store.insert_metrics("r1", [Metric("loss", 0.7, 1, 7)])
    store.insert_metrics("r1", [Metric("loss", 0.6, 1, 6), Metric("acc", 0.6, 1, 6)])
    assert latest(store, "r1") == {"loss": (7, 1, 0.7), "acc": (6, 1, 0.6)}


def test_metrics_of_one_run_leave_other_runs_alone(store):
    add_run(store, "r1")
    add_run(store, "r2")
    store.insert_metrics("r1", [Metric("loss", 0.5, 1, 1)])
    store.insert_metrics("r2", [Metric("loss", 0.1, 1, 0)])
    store.insert_metrics("r2", [Metric("loss", 0.2, 1, 2)])
    assert latest(store, "r1") == {"loss": (1, 1, 0.5)}
    assert latest(store, "r2") == {"loss": (2, 1, 0.2)}


# -- appenders -------------------------------------------------------------------------------------
def test_a_failed_append_leaves_nothing_for_the_next_one(store):
    add_run(store, "r1")
    store.insert_params("r1", {"depth": "8"})
    with pytest.raises(duckdb.ConstraintException):
        store.insert_params("r1", {"rate": "0.1", "depth": "9"})  # depth is there already
    store.insert_params("r1", {"seed": "7"})
    assert store.params("r1") == {"depth": "8", "seed": "7"}
    assert store.params("r1", ["seed", "absent"]) == {"seed": "7"}


def test_appended_rows_commit_and_roll_back_with_the_transaction(store):
    add_run(store, "r1")
    store.cursor.execute("BEGIN")
    store.insert_metrics("r1", [Metric("loss", 0.5, 1, 1)])
    store.set_tags("r1", {"t": "v"}, new_run=True)
    store.cursor.execute("ROLLBACK")
    assert latest(store, "r1") == {}
    assert store.runs(["r1"])[0].data.tags == {}
    assert document_of(store.cursor, "r1") == record_of(store.cursor, "r1")
    store.cursor.execute("BEGIN")
    store.insert_metrics("r1", [Metric("loss", 0.5, 1, 1)])
    store.cursor.execute("COMMIT")
    assert latest(store, "r1") == {"loss": (1, 1, 0.5)}


def test_tags_of_an_existing_run_are_replaced(store):
    add_run(store, "r1")
    store.set_tags("r1", {"a": "1", "b": "2"}, new_run=True)
    store.set_tags("r1", {"b": "3", "c": "4"})
    assert store.runs(["r1"])[0].data.tags == {"a": "1", "b": "3", "c": "4"}


# -- whole runs ------------------------------------------------------------------------------------
def test_runs_come_whole_in_the_order_asked(store):
    for n, run_id in enumerate(["r1", "r2", "r3"]):
        add_run(store, run_id, start_time=n)
    store.insert_metrics("r2", [Metric("acc", 0.9, 1, 1), Metric("loss", 0.2, 1, 1)])
    store.insert_params("r2", {"depth": "8"})
    store.set_tags("r2", {"mlflow.runName": "name-r2"}, new_run=True)
    store.insert_inputs("r2", [DatasetInput("main.ml.b", "d2", 20, "eval")], when=200)
    store.insert_inputs("r2", [DatasetInput("main.ml.a", "d1", None, "training")], when=100)
    store.insert_params("r3", {"depth": "4"})
    found = store.runs(["r3", "missing", "r2", "r1"])
    assert [r.info.run_id for r in found] == ["r3", "r2", "r1"]
    r3, r2, r1 = found
    assert r2.data.metrics == {"acc": 0.9, "loss": 0.2}
    assert (r2.data.params, r2.data.tags) == ({"depth": "8"}, {"mlflow.runName": "name-r2"})
    assert r2.inputs == (DatasetInput("main.ml.a", "d1", None, "training"), DatasetInput("main.ml.b", "d2", 20, "eval"))
    assert (r3.data.params, r3.data.metrics, r3.inputs) == ({"depth": "4"}, {}, ())
    assert (r1.data.metrics, r1.data.params, r1.data.tags, r1.inputs) == ({}, {}, {}, ())
    assert r1.info == RunInfo("r1", "name-r1", "1", "alice", "RUNNING", 0, None, "file:///a/r1", "active")
    assert store.runs([]) == []
    assert store.runs(["r2"]) == [r2]
    for run_id in ("r1", "r2", "r3"):
        assert document_of(store.cursor, run_id) == record_of(store.cursor, run_id)


# -- the run's document ----------------------------------------------------------------------------
def test_every_write_keeps_the_document_equal_to_the_record(connect, home):
    admin = connect("admin")
    client = Client(admin)
    first = client.create_experiment("/Shared/doc")
    parent = client.create_run(first, tags={"team": "ml"}, run_name="parent").info.run_id
    child = client.create_run(first, parent_run_id=parent).info.run_id
    client.log_batch(
        parent,
        metrics=[Metric("loss", 0.5, 10, 1), Metric("loss", 0.4, 11, 2), Metric("acc", NAN, 10, 1)],
        params={"depth": 8, "a b/c:d": 'it\'s "hi"'},
        tags={"note": "é\n\\ /", "mlflow.note.content": "x" * 500},
    )
    client.log_batch(parent, metrics=[Metric("loss", 0.9, 5, 0), Metric("f1", math.inf, 1, 0)])  # loss: stays
    client.log_batch(parent, metrics=[Metric("acc", 0.7, 11, 1), Metric("tiny", 5e-324, 1, 0), Metric("z", -0.0, 1, 0)])
    client.set_tag(parent, "note", "changed")
    client.delete_tag(parent, "team")
    with pytest.raises(catalog.InvalidRequest):  # refused whole: the metric is not written either
        client.log_batch(parent, metrics=[Metric("loss", 0.0, 99, 99)], params={"depth": 9})
    client.log_inputs(
        parent, [DatasetInput("main.ml.b", "d2", 20, "eval"), DatasetInput("main.ml.a", "d1", None, None)]
    )
    client.log_inputs(parent, [DatasetInput("main.ml.b", "d2", 20, "eval")])  # recorded once
    client.update_run(parent, status="FINISHED", name="renamed")
    client.set_terminated(child, "KILLED")
    client.delete_run(child)
    client.restore_run(child)
    second = client.create_experiment("/Shared/doc-gone")
    gone = client.create_run(second).info.run_id
    client.log_param(gone, "p", "1")
    client.delete_experiment(second)

    found = {r.info.run_id: r for r in client.search_runs([first, second], run_view_type="ALL")}
    assert set(found) == {parent, child, gone}
    for run_id, run in found.items():
        assert plain(dataclasses.asdict(run)) == plain(dataclasses.asdict(client.get_run(run_id)))
    got = client.get_run(parent)
    assert got.data.metrics["loss"] == 0.4 and got.data.metrics["acc"] == 0.7 and got.data.metrics["f1"] == math.inf
    assert math.copysign(1.0, got.data.metrics["z"]) == -1.0 and got.data.metrics["tiny"] == 5e-324
    assert got.data.params == {"depth": "8", "a b/c:d": 'it\'s "hi"'}
    assert got.data.tags["note"] == "changed" and "team" not in got.data.tags
    assert got.data.tags["mlflow.runName"] == got.info.run_name == "renamed" and got.info.status == "FINISHED"
    assert [d.name for d in got.inputs] == ["main.ml.b", "main.ml.a"]
    assert client.get_run(gone).info.lifecycle_stage == "deleted"
    admin.close()
    with duckdb.connect(str(home / DATABASE_FILE), read_only=True) as db:
        for run_id in (parent, child, gone):
            assert document_of(db, run_id) == record_of(db, run_id), run_id


def test_the_migration_fills_the_documents_of_an_older_homes_runs(tmp_path):
    """A home as version 3 left it, with runs, params, tags, metrics and inputs in their tables,
    is migrated on open: each run's document says what its tables say."""
    home = tmp_path / "older"
    home.mkdir()
    with duckdb.connect(str(home / DATABASE_FILE)) as db:
        assert migrate(db, up_to=3) == 3
        store = Metastore(db)
        store.set_info("workspace_id", "older")
        store.insert_principal("admin", "USER", "admin")
        store.insert_securable(SecurableType.METASTORE, None, None, "admin")
        db.execute("INSERT INTO meta.experiments VALUES ('1', '/Shared/old', 'file:///a/1', 'active', 'admin', 1, 1)")
        for n, run_id in enumerate(["r1", "r2", "r3"]):
            db.execute(
                "INSERT INTO meta.runs VALUES (?, '1', ?, 'admin', 'FINISHED', ?, ?, ?, ?, NULL)",
                [run_id, f"name-{run_id}", 100 + n, None if n else 200, f"file:///a/1/{run_id}", "active"],
            )
        db.execute("UPDATE meta.runs SET lifecycle_stage = 'deleted' WHERE run_id = 'r3'")
        db.executemany(
            "INSERT INTO meta.run_latest_metrics VALUES (?, ?, ?, 1, 1)",
            [["r1", "acc", 0.9], ["r1", "loss", NAN], ["r2", "acc", 0.8]],
        )
        db.executemany("INSERT INTO meta.run_metrics VALUES (?, ?, ?, 1, 1)", [["r1", "acc", 0.9], ["r2", "acc", 0.8]])
        db.executemany("INSERT INTO meta.run_params VALUES (?, ?, ?)", [["r1", "depth", "8"], ["r2", "depth", "4"]])
        db.executemany(
            "INSERT INTO meta.run_tags VALUES (?, ?, ?)",
            [["r1", "mlflow.runName", "name-r1"], ["r1", "quote", 'it\'s "x"'], ["r3", "t", "v"]],
        )
        db.executemany(
            "INSERT INTO meta.run_inputs VALUES ('r1', ?, ?, ?, ?, ?)",
            [
                ["main.ml.b", "d2", 20, "eval", 200],
                ["main.ml.a", "d1", None, None, 100],
                ["main.ml.c", "d3", 1, None, 200],
            ],
        )
    with catalog.connect(home, user="admin") as admin:
        client = Client(admin)
        found = client.search_runs(["1"], "metrics.acc > 0.5", order_by=["metrics.acc DESC"])
        assert [r.info.run_id for r in found] == ["r1", "r2"]
        r1 = found[0]
        assert plain(r1.data.metrics) == {"acc": 0.9, "loss": "nan"} and r1.data.params == {"depth": "8"}
        assert r1.data.tags == {"mlflow.runName": "name-r1", "quote": 'it\'s "x"'}
        assert [d.name for d in r1.inputs] == ["main.ml.a", "main.ml.b", "main.ml.c"]
        assert r1.info == RunInfo("r1", "name-r1", "1", "admin", "FINISHED", 100, 200, "file:///a/1/r1", "active")
        assert client.get_run("r3").info.lifecycle_stage == "deleted"
        client.log_metric("r2", "acc", 0.95, step=2)  # and later writes keep it
    with duckdb.connect(str(home / DATABASE_FILE), read_only=True) as db:
        assert current_version(db) >= 8
        for run_id in ("r1", "r2", "r3"):
            assert document_of(db, run_id) == record_of(db, run_id), run_id


# -- what a connection remembers -------------------------------------------------------------------
def test_a_run_known_to_a_connection_is_still_checked_on_every_call(connect):
    admin = connect("admin")
    admin.sql("CREATE USER alice")
    experiment_id = Client(admin).create_experiment("/Shared/known")
    admin.sql("GRANT CAN EDIT ON EXPERIMENT `/Shared/known` TO alice")
    alice = Client(connect("alice"))
    run_id = alice.create_run(experiment_id).info.run_id
    alice.log_metric(run_id, "loss", 0.5, step=0)  # alice's connection now knows the run
    Client(admin).delete_run(run_id)  # through another connection
    for write in (
        lambda: alice.log_metric(run_id, "loss", 0.4, step=1),
        lambda: alice.log_batch(run_id, metrics=[Metric("bad key!", 0.4, 1, 1)]),  # deleted, said first
        lambda: alice.log_batch(run_id, params={"p": "1"}, tags={"t": "v"}),
    ):
        with pytest.raises(catalog.InvalidRequest) as refused:
            write()
        assert refused.value.error_code == "INVALID_STATE"
    Client(admin).restore_run(run_id)
    assert len(alice.get_metric_history(run_id, "loss")) == 1  # nothing written while deleted
    alice.log_metric(run_id, "loss", 0.3, step=2)
    admin.sql("REVOKE CAN EDIT ON EXPERIMENT `/Shared/known` FROM alice")
    with pytest.raises(catalog.PermissionDenied):
        alice.log_metric(run_id, "loss", 0.2, step=3)
    assert Client(admin).get_run(run_id).data.metrics == {"loss": 0.3}
    with pytest.raises(catalog.NotFound):
        alice.log_metric("f" * 32, "loss", 0.2)


def test_an_experiment_rolled_back_is_not_remembered(admin):
    """An id seen in a transaction that rolled back may go to another experiment: the connection
    must not have remembered the first one's name."""
    from catalog.services import tracking as service  # here: importing it first makes an import cycle

    home = admin.home

    def create_then_fail(ctx):
        experiment = service.create_experiment(ctx, home, "/Shared/rolled-back")
        service.search_runs(ctx, [experiment.experiment_id])  # reads the new experiment's name
        raise catalog.InvalidRequest("fail after the search")

    with pytest.raises(catalog.InvalidRequest):
        admin.session.run("createExperiment", create_then_fail, writes=True)
    client = Client(admin)
    experiment_id = client.create_experiment("/Shared/kept")
    run_id = client.create_run(experiment_id).info.run_id
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run_id]
    assert client.get_experiment(experiment_id).name == "/Shared/kept"


# -- the audit row ---------------------------------------------------------------------------------
def test_an_audit_row_that_failed_is_not_written_with_the_next(db):
    log = audit.AuditLog(db.cursor())
    with pytest.raises(duckdb.ConstraintException):
        log.record(None, audit.AuditEvent("alice", "refusedRow"))  # type: ignore[arg-type] - workspace_id is NOT NULL
    log.record("ws", audit.AuditEvent("alice", "logBatch", {"run_id": "r1", "skipped": None}))
    rows = db.execute(
        "SELECT action_name, workspace_id, user_identity, request_params, response, audit_level, decision_reasons "
        "FROM meta.audit_log"
    ).fetchall()
    assert rows == [
        (
            "logBatch",
            "ws",
            {"email": "alice", "subject_name": "alice"},
            {"run_id": "r1"},
            {"status_code": 200, "error_message": None, "result": None},
            "WORKSPACE_LEVEL",
            [],
        )
    ]


def test_an_audit_row_commits_and_rolls_back_with_the_call(db):
    cursor = db.cursor()
    log = audit.AuditLog(cursor)
    cursor.execute("BEGIN")
    log.record("ws", audit.AuditEvent("alice", "rolledBack"))
    cursor.execute("ROLLBACK")
    cursor.execute("BEGIN")
    event_id = log.record("ws", audit.AuditEvent("alice", "kept", status_code=403, error_message="no"))
    cursor.execute("COMMIT")
    assert db.execute("SELECT event_id, action_name, response.status_code FROM meta.audit_log").fetchall() == [
        (event_id, "kept", 403)
    ]


def test_every_tracking_call_leaves_one_audit_row_denials_included(connect):
    admin = connect("admin")
    admin.sql("CREATE USER bob")
    client = Client(admin)
    run_id = client.create_run(client.create_experiment("/Shared/audited")).info.run_id
    for step in range(5):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    with pytest.raises(catalog.PermissionDenied):
        Client(connect("bob")).log_metric(run_id, "loss", 0.0)
    rows = admin.sql(
        "SELECT user_identity.email AS who, response.status_code AS status FROM system.access.audit "
        "WHERE action_name = 'logBatch' ORDER BY event_time"
    )
    assert list(zip(rows["who"], rows["status"], strict=True)) == [("admin", 200)] * 5 + [("bob", 403)]


# -- durability ------------------------------------------------------------------------------------
CRASHING_WRITER = textwrap.dedent(
    """
    import os, sys
    from catalog.tracking import Client
    from catalog.tracking.store import Metric
    import catalog

    client = Client(catalog.connect(sys.argv[1], user="admin"))
    run_id = client.create_run(client.create_experiment("/Shared/crash")).info.run_id
    for step in range(20):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    client.log_batch(run_id, metrics=[Metric("acc", i / 100, 5, i) for i in range(200)])
    print(run_id, flush=True)
    os._exit(0)  # dies at once: no close, no checkpoint, nothing flushed on the way out
    """
)


def test_acknowledged_writes_survive_the_process_dying(tmp_path):
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(home)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    run_id = done.stdout.strip()
    with catalog.connect(home, user="admin") as cat:
        client = Client(cat)
        assert len(client.get_metric_history(run_id, "loss")) == 20
        assert len(client.get_metric_history(run_id, "acc")) == 200
        assert client.get_run(run_id).data.metrics == {"loss": 1.0 / 20, "acc": 1.99}
        logged = cat.sql("SELECT count(*) AS n FROM system.access.audit WHERE action_name = 'logBatch'")
        assert logged["n"][0] == 21


# -- runs as a caller sees them --------------------------------------------------------------------
def test_a_new_run_is_what_reading_it_back_gives(admin):
    client = Client(admin)
    experiment_id = client.create_experiment("/Shared/new-run")
    made = client.create_run(experiment_id, tags={"team": "ml"}, run_name="first")
    assert made == client.get_run(made.info.run_id)
    assert made.data.tags == {"mlflow.runName": "first", "mlflow.user": "admin", "team": "ml"}
    child = client.create_run(experiment_id, parent_run_id=made.info.run_id)
    assert child == client.get_run(child.info.run_id)


def test_metrics_in_a_batch_may_be_numpy_or_int_and_are_stored_as_floats(admin):
    client = Client(admin)
    run_id = client.create_run(client.create_experiment("/Shared/types")).info.run_id
    client.log_batch(run_id, metrics=[Metric("a", 1, 10, 0), Metric("b", np.float32(0.5), np.int64(11), np.int32(2))])
    history = client.get_metric_history(run_id, "b") + client.get_metric_history(run_id, "a")
    assert [(m.value, m.timestamp, m.step) for m in history] == [(0.5, 11, 2), (1.0, 10, 0)]
    assert all(type(m.value) is float for m in history)


# -- search: one join per key ----------------------------------------------------------------------
def test_a_key_filtered_and_ordered_on_is_joined_once():
    compiled = compile_search(
        ["1"],
        "metrics.acc > 0.5 and metrics.acc < 0.9 and params.depth = '8'",
        order_by=["metrics.acc DESC", "tags.team"],
    )
    assert compiled.sql.count("meta.run_latest_metrics") == 1
    assert compiled.sql.count("meta.run_params") == 1
    assert "LEFT JOIN meta.run_tags" in compiled.sql  # only ordered on: runs without it stay


SEARCH_RUNS = {  # run_id: (acc or None, depth or None, team or None)
    "a": (0.6, "8", "x"),
    "b": (0.8, "8", None),
    "c": (0.95, "8", "y"),
    "d": (0.7, "4", "x"),
    "e": (None, "8", "x"),
    "f": (NAN, "8", "x"),
    "g": (0.55, None, "y"),
}


@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [
        ("metrics.acc > 0.5 and params.depth = '8'", ["metrics.acc DESC"], ["c", "b", "a"]),
        ("metrics.acc > 0.5 and metrics.acc < 0.9", ["metrics.acc ASC"], ["g", "a", "d", "b"]),
        ("metrics.acc != 0.6", ["metrics.acc DESC"], ["c", "b", "d", "g", "f"]),
        ("params.depth = '8'", ["metrics.acc DESC"], ["c", "b", "a", "f", "e"]),
        ("params.depth = '8'", ["tags.team DESC"], ["c", "a", "e", "f", "b"]),
        ("tags.team IN ('x') and params.depth != '4'", ["metrics.acc ASC"], ["a", "f", "e"]),
    ],
)
def test_joined_filters_and_orders_find_what_they_should(db, filter_string, order_by, expected):
    store = TrackingStore(db.cursor())
    for n, (run_id, (acc, depth, team)) in enumerate(SEARCH_RUNS.items()):
        add_run(store, run_id, start_time=100 - n)
        if acc is not None:
            store.insert_metrics(run_id, [Metric("acc", acc, 1, 1)])
        if depth is not None:
            store.insert_params(run_id, {"depth": depth})
        if team is not None:
            store.set_tags(run_id, {"team": team}, new_run=True)
    page = compile_search(["1"], filter_string, order_by=order_by, columns=RUN_COLUMNS).run(db)
    assert page.run_ids == expected
    assert [RunInfo(*row).run_id for row in page.rows] == expected


@pytest.mark.parametrize("columns", [(), ("run_name",), ("run_id", "x; DROP TABLE meta.runs")])
def test_search_columns_are_names_of_meta_runs_with_run_id_first(columns):
    with pytest.raises(ValueError, match="run_id first"):
        compile_search(["1"], "", columns=columns)


def test_copies_of_a_home_may_give_an_id_to_different_experiments(tmp_path):
    """Copies of one home share its metastore id, then each may give an experiment id to an
    experiment of its own: what the process learned in one copy never decides in the other."""
    with catalog.connect(tmp_path / "template", user="admin") as cat:
        cat.sql("CREATE USER alice")
    for copy in ("a", "b"):
        shutil.copytree(tmp_path / "template", tmp_path / copy)
    with catalog.connect(tmp_path / "a", user="admin") as cat:
        client = Client(cat)
        experiment_id = client.create_experiment("/Shared/a")  # id 1 in copy a
        run_id = client.create_run(experiment_id).info.run_id
        assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run_id]
    with catalog.connect(tmp_path / "b", user="admin") as admin, catalog.connect(tmp_path / "b", user="alice") as alice:
        client = Client(admin)
        private = client.create_experiment("/Shared/b")  # id 1 in copy b
        client.create_run(private)
        shared = client.create_experiment("/Shared/a")  # the name id 1 has in copy a
        admin.sql("GRANT CAN READ ON EXPERIMENT `/Shared/a` TO alice")
        assert (private, shared) == ("1", "2")
        with pytest.raises(catalog.PermissionDenied):
            Client(alice).search_runs([private])
        assert Client(alice).search_runs([shared]) == []
