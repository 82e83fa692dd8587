"""Forwarding recorded lineage to an OpenLineage receiver through openlineage-python's transports.

The receiver is a real HTTP server on 127.0.0.1 (a thread in this process) that records every
request; what it receives is rebuilt with openlineage-python's own types. Every test starts from a
copy of one prepared home (catalog ``main``, schema ``ml``, table ``events``) that was built
without forwarding, so the only events sent are those of the writes a test makes. The forwarding
configuration is in place before the test's first connection to the home (the engine, and its
forwarder, are made when the first connection opens).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    error_message_run,
    job_type_job,
    schema_dataset,
    sql_job,
)

import catalog
from catalog.api import Catalog
from catalog.lineage.forward import Forwarder

CTAS = "CREATE TABLE main.ml.daily AS SELECT id, v * 2 AS doubled FROM main.ml.events"
FLUSH_TIMEOUT = 60.0  # generous: flush returns as soon as the queue is empty


# -- a real OpenLineage receiver ---------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)

    def bodies(self, **where: str) -> list[dict[str, Any]]:
        """Bodies received, in order; ``sql=...`` keeps those of one statement, ``run_id=...`` of one run."""
        found = [r.body for r in self.requests]
        if "sql" in where:
            found = [b for b in found if b["job"]["facets"].get("sql", {}).get("query") == where["sql"]]
        if "run_id" in where:
            found = [b for b in found if b["run"]["runId"] == where["run_id"]]
        return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on a free port of 127.0.0.1 that records what is POSTed and answers 200."""
    got: list[Received] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:  # recorded before answering: once the sender has its answer, the request is here
                got.append(Received(self.command, self.path, dict(self.headers), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="openlineage-receiver", daemon=True
    )
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_port}", got)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- homes -------------------------------------------------------------------------------------


def without_ambient_openlineage(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    """Only what a test configures counts: no OPENLINEAGE_* variables, no openlineage.yml in the cwd."""
    for name in list(os.environ):
        if name.startswith("OPENLINEAGE"):
            monkeypatch.delenv(name)
    workdir.mkdir(exist_ok=True)
    monkeypatch.chdir(workdir)


@pytest.fixture(autouse=True)
def no_ambient_openlineage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    without_ambient_openlineage(monkeypatch, tmp_path / "cwd")


@pytest.fixture(scope="session")
def forward_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("forward") / "home"
    with pytest.MonkeyPatch.context() as monkeypatch:
        without_ambient_openlineage(monkeypatch, path.parent / "cwd")
        builder = catalog.connect(path, user="admin")
        try:
            assert builder.session.engine.forwarder is None
            for statement in (
                "CREATE CATALOG main",
                "CREATE SCHEMA main.ml",
                "CREATE TABLE main.ml.events (id INT, v INT)",
                "INSERT INTO main.ml.events VALUES (1, 10), (2, 20)",
            ):
                builder.sql(statement)
        finally:
            builder.close()
    return path


@pytest.fixture
def home(tmp_path: Path, forward_template: Path) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared home, not yet opened."""
    path = tmp_path / "home"
    shutil.copytree(forward_template, path)
    return path


def configure(home: Path, transport: dict[str, Any]) -> None:
    """Write ``<home>/openlineage.yml``; call before the first connection to ``home``."""
    (home / "openlineage.yml").write_text(yaml.safe_dump({"transport": transport}), encoding="utf-8")


def http_transport(url: str, **more: Any) -> dict[str, Any]:
    return {"type": "http", "url": url, "endpoint": "api/v1/lineage", **more}


def flush(cat: Catalog) -> None:
    forwarder = cat.session.engine.forwarder
    assert isinstance(forwarder, Forwarder)
    assert forwarder.flush(FLUSH_TIMEOUT), "the forwarder did not drain its queue"


def recorded_run(admin: Catalog, target: str) -> str:
    """The run id of the (one) recorded write into ``target``."""
    [run_id] = admin.sql(
        "SELECT DISTINCT entity_run_id FROM system.access.table_lineage WHERE target_table_full_name = ?", [target]
    )["entity_run_id"].tolist()
    return run_id


# -- rebuilding what arrived with openlineage-python's types -------------------------------------


def rebuilt(body: dict[str, Any]) -> RunEvent:
    """The received body as openlineage-python's RunEvent (its validators check time and run id)."""
    return RunEvent(
        eventType=RunState(body["eventType"]),
        eventTime=body["eventTime"],
        run=Run(runId=body["run"]["runId"]),
        job=Job(namespace=body["job"]["namespace"], name=body["job"]["name"]),
        inputs=[InputDataset(namespace=d["namespace"], name=d["name"]) for d in body["inputs"]],
        outputs=[OutputDataset(namespace=d["namespace"], name=d["name"]) for d in body["outputs"]],
        producer=body["producer"],
    )


def schema_of(facet: dict[str, Any]) -> schema_dataset.SchemaDatasetFacet:
    assert facet["_schemaURL"] == schema_dataset.SchemaDatasetFacet._get_schema()
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f["type"]) for f in facet["fields"]]
    )


def column_lineage_of(facet: dict[str, Any]) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    assert facet["_schemaURL"] == column_lineage_dataset.ColumnLineageDatasetFacet._get_schema()
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            target: column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=f["namespace"],
                        name=f["name"],
                        field=f["field"],
                        transformations=[
                            column_lineage_dataset.Transformation(type=t["type"], subtype=t.get("subtype"))
                            for t in f.get("transformations", [])
                        ],
                    )
                    for f in spec["inputFields"]
                ]
            )
            for target, spec in facet["fields"].items()
        }
    )


# -- HTTP ----------------------------------------------------------------------------------------


def test_a_ctas_forwards_start_and_complete_over_http(receiver, home, connect):
    configure(home, http_transport(receiver.url, custom_headers={"X-Catalog-Test": "forward"}))
    admin = connect("admin")
    namespace = admin.lineage.namespace

    admin.sql(CTAS)
    flush(admin)

    assert receiver.requests, "nothing reached the receiver"
    for request in receiver.requests:
        assert (request.method, request.path) == ("POST", "/api/v1/lineage")
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Catalog-Test"] == "forward"
    start, complete = receiver.bodies(sql=CTAS)
    assert [RunState(start["eventType"]), RunState(complete["eventType"])] == [RunState.START, RunState.COMPLETE]
    assert start["run"]["runId"] == complete["run"]["runId"] == recorded_run(admin, "main.ml.daily")
    assert uuid.UUID(start["run"]["runId"])

    event = rebuilt(complete)
    assert event.job == Job(namespace=namespace, name="sql.createTable")
    assert [(d.namespace, d.name) for d in event.inputs] == [(namespace, "main.ml.events")]
    assert [(d.namespace, d.name) for d in event.outputs] == [(namespace, "main.ml.daily")]
    assert event.eventTime >= start["eventTime"]

    job_facets = complete["job"]["facets"]
    assert job_facets["sql"]["_schemaURL"] == sql_job.SQLJobFacet._get_schema()
    assert job_facets["sql"]["query"] == CTAS
    assert job_facets["jobType"]["_schemaURL"] == job_type_job.JobTypeJobFacet._get_schema()
    who = complete["run"]["facets"]["catalog"]
    assert (who["principal"], who["origin"], who["action"]) == ("admin", "SQL", "createTable")

    [source] = complete["inputs"]
    assert schema_of(source["facets"]["schema"]) == schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name="id", type="INT"),
            schema_dataset.SchemaDatasetFacetFields(name="v", type="INT"),
        ]
    )
    [target] = complete["outputs"]
    assert [f.name for f in schema_of(target["facets"]["schema"]).fields] == ["id", "doubled"]
    lineage = column_lineage_of(target["facets"]["columnLineage"])
    assert {
        column: [(f.namespace, f.name, f.field) for f in spec.inputFields] for column, spec in lineage.fields.items()
    } == {
        "id": [(namespace, "main.ml.events", "id")],
        "doubled": [(namespace, "main.ml.events", "v")],
    }
    assert all(
        t.type == "DIRECT" for spec in lineage.fields.values() for f in spec.inputFields for t in f.transformations
    )


def test_writes_arrive_in_the_order_they_were_made(receiver, home, connect):
    configure(home, http_transport(receiver.url))
    admin = connect("admin")
    statements = [CTAS, "INSERT INTO main.ml.daily SELECT id, v FROM main.ml.events", "DELETE FROM main.ml.daily"]
    for statement in statements:
        admin.sql(statement)
    flush(admin)

    sent = [(b["job"]["facets"]["sql"]["query"], b["eventType"]) for b in receiver.bodies()]
    assert sent == [(statement, state) for statement in statements for state in ("START", "COMPLETE")]


def test_a_failing_write_forwards_start_and_fail_with_the_error(receiver, home, connect):
    configure(home, http_transport(receiver.url))
    admin = connect("admin")
    failing = "INSERT INTO main.ml.events SELECT CAST('not a number' AS INT), 1"

    with pytest.raises(catalog.SqlError) as failed:
        admin.sql(failing)
    flush(admin)

    start, fail = receiver.bodies(sql=failing)
    assert [RunState(start["eventType"]), RunState(fail["eventType"])] == [RunState.START, RunState.FAIL]
    assert start["run"]["runId"] == fail["run"]["runId"]
    rebuilt(fail)
    error = fail["run"]["facets"]["errorMessage"]
    assert error["_schemaURL"] == error_message_run.ErrorMessageRunFacet._get_schema()
    assert error_message_run.ErrorMessageRunFacet(
        message=error["message"], programmingLanguage=error["programmingLanguage"]
    ) == error_message_run.ErrorMessageRunFacet(message=failed.value.message, programmingLanguage="SQL")
    assert "not a number" in error["message"]
    # the catalog keeps the same two events
    stored = admin.sql(
        "SELECT event_type FROM system.access.lineage_events WHERE run_id = ? ORDER BY event_time",
        [fail["run"]["runId"]],
    )
    assert stored["event_type"].tolist() == ["START", "FAIL"]


def test_an_ingested_event_is_forwarded_and_a_refused_one_is_not(receiver, home, connect):
    configure(home, http_transport(receiver.url))
    admin = connect("admin")
    run_id = str(uuid.uuid4())
    row_count = {
        "_producer": "https://github.com/apache/airflow",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json",
        "rowCount": 2,
    }
    sent = {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T12:00:00+00:00",
        "run": {"runId": run_id},
        "job": {"namespace": "airflow", "name": "load_events"},
        "inputs": [{"namespace": "s3://bucket", "name": "raw/events"}],
        "outputs": [
            {"namespace": "catalog", "name": "main.ml.events", "outputFacets": {"outputStatistics": row_count}}
        ],
        "producer": "https://github.com/apache/airflow",
    }

    admin.lineage.ingest(json.dumps(sent))
    refused = dict(sent, run={"runId": str(uuid.uuid4())}, outputs=[{"namespace": "catalog", "name": "main.ml.nope"}])
    with pytest.raises(catalog.NotFound):
        admin.lineage.ingest(refused)
    flush(admin)

    [body] = receiver.bodies()
    event = rebuilt(body)
    assert (event.eventType, event.run.runId, event.eventTime) == (RunState.COMPLETE, run_id, sent["eventTime"])
    assert event.job == Job(namespace="airflow", name="load_events")
    assert [(d.namespace, d.name) for d in event.inputs] == [("s3://bucket", "raw/events")]
    assert [(d.namespace, d.name) for d in event.outputs] == [("catalog", "main.ml.events")]
    assert body["outputs"][0]["outputFacets"] == {"outputStatistics": row_count}
    assert body["producer"] == sent["producer"]


@pytest.mark.parametrize("route", ["OPENLINEAGE_URL", "OPENLINEAGE__TRANSPORT", "OPENLINEAGE_CONFIG"])
def test_forwarding_configured_by_openlineages_own_environment(receiver, home, connect, monkeypatch, tmp_path, route):
    if route == "OPENLINEAGE_URL":
        monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)  # endpoint: api/v1/lineage by default
    elif route == "OPENLINEAGE__TRANSPORT":
        monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
        monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", receiver.url)
        monkeypatch.setenv("OPENLINEAGE__TRANSPORT__ENDPOINT", "api/v1/lineage")
    else:
        elsewhere = tmp_path / "elsewhere.yml"
        elsewhere.write_text(yaml.safe_dump({"transport": http_transport(receiver.url)}), encoding="utf-8")
        monkeypatch.setenv("OPENLINEAGE_CONFIG", str(elsewhere))
    assert not (home / "openlineage.yml").exists()
    admin = connect("admin")

    admin.sql(CTAS)
    flush(admin)

    assert [b["eventType"] for b in receiver.bodies(sql=CTAS)] == ["START", "COMPLETE"]
    assert {(r.method, r.path) for r in receiver.requests} == {("POST", "/api/v1/lineage")}


# -- a receiver that is down ---------------------------------------------------------------------


def test_a_receiver_that_is_down_neither_slows_nor_fails_a_write(home, connect, caplog):
    caplog.set_level(logging.WARNING, logger="catalog.lineage")
    port = free_port()
    # openlineage-python retries a refused connection with a backoff (here 2 s for each event): a
    # write that sent its START and COMPLETE itself would take more than 4 s.
    configure(home, http_transport(f"http://127.0.0.1:{port}", timeout=5, retry={"total": 2, "backoff_factor": 1}))
    admin = connect("admin")

    began = time.monotonic()
    admin.sql(CTAS)
    took = time.monotonic() - began

    assert took < 3, f"the write waited {took:.1f} s for a receiver that is down"
    assert admin.sql("SELECT count(*) AS n FROM main.ml.daily")["n"].tolist() == [2]
    run_id = recorded_run(admin, "main.ml.daily")
    flush(admin)  # the forwarder logs from its own thread
    failures = [
        r for r in caplog.records if r.name == "catalog.lineage" and "could not forward OpenLineage event" in r.message
    ]
    assert [r.levelno for r in failures] == [logging.WARNING, logging.WARNING]  # START and COMPLETE
    assert all(run_id in r.getMessage() and "http" in r.getMessage() for r in failures)
    # the events stay in the catalog
    assert admin.sql("SELECT count(*) AS n FROM system.access.lineage_events WHERE run_id = ?", [run_id])[
        "n"
    ].tolist() == [2]


# -- other transports, and none ------------------------------------------------------------------


def test_the_file_transport_writes_json_lines(home, connect, tmp_path):
    log_file = tmp_path / "lineage.jsonl"
    configure(home, {"type": "file", "log_file_path": str(log_file), "append": True})
    admin = connect("admin")

    admin.sql(CTAS)
    admin.sql("INSERT INTO main.ml.daily SELECT id, v FROM main.ml.events")
    flush(admin)

    lines = log_file.read_text(encoding="utf-8").splitlines()
    events = [rebuilt(json.loads(line)) for line in lines]
    assert [(e.job.name, e.eventType) for e in events] == [
        ("sql.createTable", RunState.START),
        ("sql.createTable", RunState.COMPLETE),
        ("sql.insertInto", RunState.START),
        ("sql.insertInto", RunState.COMPLETE),
    ]
    assert events[0].run.runId == events[1].run.runId != events[2].run.runId == events[3].run.runId
    recorded = admin.sql(
        "SELECT DISTINCT entity_run_id FROM system.access.table_lineage WHERE target_table_full_name = 'main.ml.daily'"
    )
    assert set(recorded["entity_run_id"]) == {e.run.runId for e in events}
    assert all(
        [(d.name, d.namespace) for d in e.outputs] == [("main.ml.daily", admin.lineage.namespace)] for e in events
    )


def test_without_configuration_nothing_is_forwarded(home, connect, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))  # no ~/.openlineage/openlineage.yml either
    assert not (home / "openlineage.yml").exists()
    assert not (Path.cwd() / "openlineage.yml").exists()
    admin = connect("admin")

    assert admin.session.engine.forwarder is None
    admin.sql(CTAS)

    # recorded in the catalog all the same
    stored = admin.sql(
        "SELECT event_type FROM system.access.lineage_events WHERE run_id = ? ORDER BY event_time",
        [recorded_run(admin, "main.ml.daily")],
    )
    assert stored["event_type"].tolist() == ["START", "COMPLETE"]


def test_openlineage_disabled_turns_forwarding_off(home, connect, receiver, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    admin = connect("admin")

    assert admin.session.engine.forwarder is None
    admin.sql(CTAS)
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("transport: {type: http}\n", "url"),  # http without a url
        ("transport: [\n", "parsing"),  # not YAML
        ("", "transport"),  # empty: would silently print to the console
        ("transport: {type: no-such-transport}\n", "no-such-transport"),
    ],
)
def test_a_bad_home_configuration_is_refused_clearly_and_leaves_the_home_usable(home, text, named):
    (home / "openlineage.yml").write_text(text, encoding="utf-8")
    with pytest.raises(catalog.InvalidRequest) as refused:
        catalog.connect(home, user="admin")
    assert refused.value.error_code == "INVALID_LINEAGE_CONFIG"
    assert "openlineage.yml" in refused.value.message and named in refused.value.message

    (home / "openlineage.yml").unlink()  # fixed: the home opens (the failed attempt released it)
    with catalog.connect(home, user="admin") as admin:
        assert admin.session.engine.forwarder is None
        assert admin.sql("SELECT 1 AS x")["x"].tolist() == [1]
