"""cat.lineage.ingest: OpenLineage events from other tools join the catalog's lineage graph.

Every test gets a copy of one prepared home (real DuckDB files): catalog ``main`` with schema
``ml`` (tables events, customers, daily made from events by CTAS, view events_v) and ``secret``
(table payroll). alice belongs to analysts (USE CATALOG on main, USE SCHEMA + SELECT on main.ml);
writer holds USE CATALOG on main, USE SCHEMA on main.ml and MODIFY on main.ml.events only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import build_home, copy_home
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset
from openlineage.client.serde import Serde

import catalog
from catalog.api import Catalog

WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.ml",
    "CREATE SCHEMA main.secret",
    "CREATE TABLE main.ml.events (id INT, v INT)",
    "CREATE TABLE main.ml.customers (id INT, name STRING)",
    "CREATE TABLE main.ml.daily AS SELECT id, v FROM main.ml.events",
    "CREATE VIEW main.ml.events_v AS SELECT id FROM main.ml.events",
    "CREATE TABLE main.secret.payroll (id INT, salary INT)",
    "CREATE USER alice",
    "CREATE USER writer",
    "CREATE GROUP analysts",
    "ALTER GROUP analysts ADD USER alice",
    "GRANT USE CATALOG ON CATALOG main TO analysts",
    "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO analysts",
    "GRANT USE CATALOG ON CATALOG main TO writer",
    "GRANT USE SCHEMA ON SCHEMA main.ml TO writer",
    "GRANT MODIFY ON TABLE main.ml.events TO writer",
)

RAW = {"namespace": "s3://bucket", "name": "raw/events"}
RAW_PATH = "s3://bucket/raw/events"
EVENT_TIME = "2024-05-01T12:00:00Z"
MiB = 1024 * 1024


@pytest.fixture(scope="session")
def ingest_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_home(tmp_path_factory.mktemp("ingest"), WORLD)


@pytest.fixture
def home(tmp_path: Path, ingest_template: Path) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared world for every test."""
    return copy_home(ingest_template, tmp_path)


@pytest.fixture
def users(admin: Catalog, connect: Callable[[str], Catalog]) -> dict[str, Catalog]:
    return {"admin": admin, "alice": connect("alice"), "writer": connect("writer")}


# -- helpers -----------------------------------------------------------------------------------


def event(
    event_type: str = "COMPLETE",
    *,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """An Airflow job that loads s3://bucket/raw/events into main.ml.events (unless told otherwise)."""
    return {
        "eventType": event_type,
        "eventTime": EVENT_TIME,
        "run": {"runId": run_id or str(uuid.uuid4())},
        "job": {"namespace": "airflow", "name": "load_events"},
        "inputs": [dict(RAW)] if inputs is None else inputs,
        "outputs": [{"namespace": "catalog", "name": "main.ml.events"}] if outputs is None else outputs,
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/1.0.0",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, SQL NULL (NaN/NaT in pandas) as None."""
    plain = frame.astype(object)
    return plain.where(pd.notna(plain), None).to_dict("records")


def table_lineage(admin: Catalog, where: str = "TRUE", params: list | None = None) -> list[dict[str, Any]]:
    return records(
        admin.sql(
            "SELECT entity_type, entity_id, entity_run_id, source_table_full_name, source_path, source_type, "
            "target_table_full_name, target_path, target_type, created_by, event_time "
            f"FROM system.access.table_lineage WHERE {where} ORDER BY source_type, source_path, source_table_full_name",
            params,
        )
    )


def external_edges(admin: Catalog) -> list[dict[str, Any]]:
    return table_lineage(admin, "entity_type = 'EXTERNAL'")


def external_events(admin: Catalog) -> list[dict[str, Any]]:
    return records(
        admin.sql(
            "SELECT run_id, event_type, job_namespace, job_name, created_by, event "
            "FROM system.access.lineage_events WHERE entity_type = 'EXTERNAL' ORDER BY event_time, event_type DESC"
        )
    )


def ingest_audit(admin: Catalog) -> list[dict[str, Any]]:
    return records(
        admin.sql(
            "SELECT user_identity.email AS email, response.status_code AS status_code, "
            "response.error_message AS error_message, response.result AS result "
            "FROM system.access.audit WHERE action_name = 'ingestLineageEvent' ORDER BY event_time"
        )
    )


def assert_nothing_stored(admin: Catalog) -> None:
    assert external_events(admin) == []
    assert external_edges(admin) == []
    assert admin.sql("SELECT count(*) AS n FROM system.access.column_lineage WHERE entity_type = 'EXTERNAL'")[
        "n"
    ].tolist() == [0]


# -- events that join the graph ----------------------------------------------------------------


@pytest.mark.parametrize("namespace", ["catalog", "home"])
def test_an_external_write_from_a_path_joins_sql_lineage(admin, namespace):
    ours = "catalog" if namespace == "catalog" else admin.lineage.namespace
    assert ours == "catalog" or ours.startswith("catalog://")
    sent = event(outputs=[{"namespace": ours, "name": "main.ml.events"}])

    recorded = admin.lineage.ingest(json.dumps(sent))

    run_id = sent["run"]["runId"]
    assert recorded == {
        "run_id": run_id,
        "event_type": "COMPLETE",
        "inputs": [RAW_PATH],
        "outputs": ["main.ml.events"],
        "edges": 1,
    }
    [edge] = external_edges(admin)
    assert edge == {
        "entity_type": "EXTERNAL",
        "entity_id": "load_events",
        "entity_run_id": run_id,
        "source_table_full_name": None,
        "source_path": RAW_PATH,
        "source_type": "PATH",
        "target_table_full_name": "main.ml.events",
        "target_path": None,
        "target_type": "TABLE",
        "created_by": "admin",
        "event_time": pd.Timestamp(EVENT_TIME),
    }

    # The CTAS in the prepared world made events -> daily; the ingested run adds raw -> events.
    graph = admin.lineage.upstream("main.ml.daily")
    assert [(n.name, n.type, n.depth, n.masked) for n in graph.nodes] == [
        ("main.ml.daily", "TABLE", 0, False),
        ("main.ml.events", "TABLE", 1, False),
        (RAW_PATH, "PATH", 2, False),
    ]
    assert sorted((e.source, e.target, e.runs) for e in graph.edges) == [
        ("main.ml.events", "main.ml.daily", 1),
        (RAW_PATH, "main.ml.events", 1),
    ]
    assert admin.lineage.downstream("main.ml.events").names() == ["main.ml.daily", "main.ml.events_v"]

    [stored] = external_events(admin)
    assert stored["run_id"] == run_id
    assert (stored["event_type"], stored["job_namespace"], stored["job_name"]) == ("COMPLETE", "airflow", "load_events")
    assert json.loads(stored["event"]) == sent
    [audited] = ingest_audit(admin)
    assert audited["email"] == "admin" and audited["status_code"] == 200
    assert audited["result"] == f"COMPLETE run {run_id}: 1 edge(s)"


def test_a_reader_sees_the_joined_graph_too(users):
    users["admin"].lineage.ingest(event())
    graph = users["alice"].lineage.upstream("main.ml.daily")
    assert graph.names() == ["main.ml.events", RAW_PATH]


def test_a_column_lineage_facet_becomes_column_lineage_rows(admin):
    customers = {"namespace": "catalog", "name": "main.ml.customers"}
    facet = {
        "_producer": "https://example.com/airflow",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
        "fields": {
            "v": {
                "inputFields": [{**RAW, "field": "value"}, {"namespace": "s3://elsewhere", "name": "x", "field": "y"}]
            },
            "id": {"inputFields": [{**customers, "field": "id"}]},
        },
    }
    sent = event(
        inputs=[dict(RAW), customers],
        outputs=[{"namespace": "catalog", "name": "main.ml.events", "facets": {"columnLineage": facet}}],
    )

    recorded = admin.lineage.ingest(sent)

    # Two table edges; two column edges (the input field from s3://elsewhere names no input of the event).
    assert recorded["edges"] == 4
    frame = admin.sql(
        "SELECT entity_type, source_table_full_name, source_path, source_type, source_column_name, "
        "target_table_full_name, target_column_name FROM system.access.column_lineage "
        "WHERE entity_run_id = ? ORDER BY target_column_name",
        [sent["run"]["runId"]],
    )
    assert records(frame) == [
        {
            "entity_type": "EXTERNAL",
            "source_table_full_name": "main.ml.customers",
            "source_path": None,
            "source_type": "TABLE",
            "source_column_name": "id",
            "target_table_full_name": "main.ml.events",
            "target_column_name": "id",
        },
        {
            "entity_type": "EXTERNAL",
            "source_table_full_name": None,
            "source_path": RAW_PATH,
            "source_type": "PATH",
            "source_column_name": "value",
            "target_table_full_name": "main.ml.events",
            "target_column_name": "v",
        },
    ]
    assert {(e["source_table_full_name"], e["source_path"]) for e in external_edges(admin)} == {
        ("main.ml.customers", None),
        (None, RAW_PATH),
    }


def test_a_start_event_is_stored_but_makes_no_edges(admin):
    run_id = str(uuid.uuid4())

    started = admin.lineage.ingest(event("START", run_id=run_id))

    assert started["edges"] == 0
    assert [(e["run_id"], e["event_type"]) for e in external_events(admin)] == [(run_id, "START")]
    assert external_edges(admin) == []
    assert admin.lineage.upstream("main.ml.events").names() == []

    admin.lineage.ingest(event("COMPLETE", run_id=run_id))

    assert [(e["run_id"], e["event_type"]) for e in external_events(admin)] == [(run_id, "START"), (run_id, "COMPLETE")]
    assert [e["source_path"] for e in external_edges(admin)] == [RAW_PATH]
    assert admin.lineage.upstream("main.ml.events").names() == [RAW_PATH]


@pytest.mark.parametrize("event_type", ["RUNNING", "FAIL", "ABORT", "OTHER"])
def test_only_complete_events_make_edges(admin, event_type):
    assert admin.lineage.ingest(event(event_type))["edges"] == 0
    assert [e["event_type"] for e in external_events(admin)] == [event_type]
    assert external_edges(admin) == []


def test_an_event_built_with_openlineage_python_is_accepted(admin):
    run_id = str(uuid.uuid4())
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name="id", type="INT"),
            schema_dataset.SchemaDatasetFacetFields(name="v", type="INT"),
        ]
    )
    columns = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "v": column_lineage_dataset.Fields(
                inputFields=[column_lineage_dataset.InputField(namespace="s3://bucket", name="raw/events", field="v")]
            )
        }
    )
    sent = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=EVENT_TIME,
        run=Run(runId=run_id),
        job=Job(namespace="spark", name="etl.load_events"),
        inputs=[InputDataset(namespace="s3://bucket", name="raw/events")],
        outputs=[
            OutputDataset(
                namespace=admin.lineage.namespace,
                name="main.ml.events",
                facets={"schema": schema, "columnLineage": columns},
            )
        ],
        producer="https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark",
    )
    text = Serde.to_json(sent)

    recorded = admin.lineage.ingest(text)

    assert recorded["run_id"] == run_id and recorded["edges"] == 2
    assert [(e["entity_id"], e["source_path"], e["target_table_full_name"]) for e in external_edges(admin)] == [
        ("etl.load_events", RAW_PATH, "main.ml.events")
    ]
    lineage_columns = admin.sql(
        "SELECT source_path, source_column_name, target_column_name FROM system.access.column_lineage "
        "WHERE entity_run_id = ?",
        [run_id],
    )
    assert lineage_columns.values.tolist() == [[RAW_PATH, "v", "v"]]
    [stored] = external_events(admin)
    assert json.loads(stored["event"]) == json.loads(text)


# -- malformed events ----------------------------------------------------------------------------


def mutated(change: Callable[[dict[str, Any]], None]) -> str:
    sent = event()
    change(sent)
    return json.dumps(sent)


def _without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda sent: sent["job"].pop(key)


MALFORMED = [
    pytest.param("{'eventType': 'COMPLETE'", "not JSON", id="not-json"),
    pytest.param(b"\xff\xfe not utf-8", "not JSON", id="not-utf8"),
    pytest.param("[1, 2, 3]", "expected a JSON object", id="not-an-object"),
    pytest.param(mutated(lambda e: e.update(eventType="FINISHED")), "eventType", id="bad-event-type"),
    pytest.param(mutated(lambda e: e.pop("eventType")), "eventType", id="no-event-type"),
    pytest.param(mutated(lambda e: e.update(eventTime="yesterday")), "eventTime", id="bad-event-time"),
    pytest.param(mutated(lambda e: e.update(eventTime="2024-05-01")), "eventTime", id="event-time-without-time"),
    pytest.param(mutated(lambda e: e.update(eventTime=1714564800)), "eventTime", id="event-time-a-number"),
    pytest.param(
        mutated(lambda e: e.update(eventTime="2024-05-01T12:00:00 +00:00")), "eventTime", id="event-time-spaced-offset"
    ),
    pytest.param(mutated(lambda e: e.update(run="r-1")), "'run' must be an object", id="run-not-an-object"),
    pytest.param(mutated(lambda e: e["run"].update(runId="run-42")), "run.runId", id="run-id-not-a-uuid"),
    pytest.param(mutated(lambda e: e["run"].update(facets="none")), "run.facets", id="run-facets-not-an-object"),
    pytest.param(mutated(lambda e: e.pop("job")), "'job' must be an object", id="no-job"),
    pytest.param(mutated(_without("name")), "job.name", id="no-job-name"),
    pytest.param(mutated(lambda e: e["job"].update(name="")), "job.name", id="empty-job-name"),
    pytest.param(mutated(_without("namespace")), "job.namespace", id="no-job-namespace"),
    pytest.param(mutated(lambda e: e["job"].update(facets=[1])), "job.facets", id="job-facets-not-an-object"),
    pytest.param(mutated(lambda e: e.update(inputs=dict(RAW))), "inputs must be a list", id="inputs-an-object"),
    pytest.param(mutated(lambda e: e.update(inputs={})), "inputs must be a list", id="inputs-empty-object"),
    pytest.param(mutated(lambda e: e.update(outputs="main.ml.events")), "outputs must be a list", id="outputs-text"),
    pytest.param(
        mutated(lambda e: e.update(inputs=["s3://bucket/raw"])), "inputs[0] must be an object", id="input-text"
    ),
    pytest.param(mutated(lambda e: e["outputs"][0].pop("name")), "outputs[0].name", id="output-without-name"),
    pytest.param(mutated(lambda e: e["inputs"][0].pop("name")), "inputs[0].name", id="input-without-name"),
    pytest.param(mutated(lambda e: e["inputs"][0].update(namespace=7)), "inputs[0].namespace", id="namespace-a-number"),
    pytest.param(
        mutated(lambda e: e["outputs"][0].update(facets="schema")), "outputs[0].facets", id="facets-not-an-object"
    ),
    pytest.param(
        mutated(lambda e: e["outputs"][0].update(outputFacets=[])), "outputs[0].outputFacets", id="output-facets-list"
    ),
    pytest.param(
        mutated(lambda e: e["outputs"][0].update(name="main.events")),
        "'main.events' is not a catalog.schema.table name",
        id="catalog-name-two-parts",
    ),
    pytest.param(
        mutated(lambda e: e["inputs"].append({"namespace": "catalog", "name": "main.ml.events.v"})),
        "'main.ml.events.v' is not a catalog.schema.table name",
        id="catalog-name-four-parts",
    ),
    pytest.param(
        mutated(lambda e: e["outputs"][0].update(namespace="catalog://someone-else")),
        "catalog://someone-else",
        id="another-catalogs-namespace",
    ),
    pytest.param(
        mutated(lambda e: e["outputs"][0].update(facets={"columnLineage": {"fields": {"v": ["value"]}}})),
        "columnLineage field 'v'",
        id="column-lineage-field-not-an-object",
    ),
    pytest.param(
        mutated(
            lambda e: e["outputs"][0].update(
                facets={"columnLineage": {"fields": {"v": {"inputFields": [{**RAW, "column": "value"}]}}}}
            )
        ),
        "columnLineage field 'v'",
        id="column-lineage-input-without-field",
    ),
]


@pytest.mark.parametrize(("sent", "names"), MALFORMED)
def test_a_malformed_event_is_refused_audited_and_not_stored(admin, sent, names):
    with pytest.raises(catalog.InvalidRequest) as refused:
        admin.lineage.ingest(sent)

    assert refused.value.error_code == "MALFORMED_REQUEST"
    assert refused.value.message.startswith("Malformed OpenLineage event: ")
    assert names in refused.value.message
    assert_nothing_stored(admin)
    [audited] = ingest_audit(admin)
    assert (audited["email"], audited["status_code"]) == ("admin", 400)
    assert names in audited["error_message"]


def test_a_refused_event_leaves_earlier_lineage_alone(admin):
    admin.lineage.ingest(event())
    bad = event(inputs=[dict(RAW), {"namespace": "catalog", "name": "main.ml"}])
    with pytest.raises(catalog.InvalidRequest):
        admin.lineage.ingest(bad)
    assert len(external_events(admin)) == 1
    assert [e["entity_run_id"] for e in external_edges(admin)] != [bad["run"]["runId"]]
    assert [a["status_code"] for a in ingest_audit(admin)] == [200, 400]


def oversized_text(size: int, char: str = "x") -> str:
    sent = event()
    sent["job"]["facets"] = {"documentation": {"description": char * size}}
    return json.dumps(sent, ensure_ascii=False)


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(oversized_text(5 * MiB), id="text"),
        pytest.param(oversized_text(5 * MiB).encode(), id="bytes"),
        # under 5 Mi characters, but over 5 MiB once encoded as UTF-8 (as it would be sent)
        pytest.param(oversized_text(3 * MiB, "é"), id="multibyte-text"),
    ],
)
def test_an_event_over_5_mib_is_refused(admin, sent):
    with pytest.raises(catalog.InvalidRequest) as refused:
        admin.lineage.ingest(sent)
    assert refused.value.error_code == "MALFORMED_REQUEST"
    assert "larger than 5 MiB" in refused.value.message
    assert_nothing_stored(admin)
    assert [a["status_code"] for a in ingest_audit(admin)] == [400]


def test_an_event_just_under_5_mib_is_accepted(admin):
    sent = oversized_text(5 * MiB - 1024)
    assert len(sent.encode()) < 5 * MiB
    assert admin.lineage.ingest(sent)["edges"] == 1


# -- who may ingest ------------------------------------------------------------------------------


def test_modify_on_the_target_is_enough_to_ingest(users):
    admin, writer = users["admin"], users["writer"]
    admin.lineage.ingest(event("START"))

    recorded = writer.lineage.ingest(event())

    assert recorded["outputs"] == ["main.ml.events"]
    assert [(e["source_path"], e["target_table_full_name"], e["created_by"]) for e in external_edges(admin)] == [
        (RAW_PATH, "main.ml.events", "writer")
    ]
    assert [(e["event_type"], e["created_by"]) for e in external_events(admin)] == [
        ("START", "admin"),
        ("COMPLETE", "writer"),
    ]
    # lineage_events shows a non-admin the events of their own writes only
    admin.sql("GRANT USE CATALOG ON CATALOG system TO writer")
    admin.sql("GRANT USE SCHEMA, SELECT ON SCHEMA system.access TO writer")
    own = writer.sql("SELECT run_id, entity_type, created_by FROM system.access.lineage_events")
    assert own.values.tolist() == [[recorded["run_id"], "EXTERNAL", "writer"]]
    assert [(a["email"], a["status_code"]) for a in ingest_audit(admin)] == [("admin", 200), ("writer", 200)]


def test_without_modify_ingesting_is_denied_and_audited(users):
    admin, alice = users["admin"], users["alice"]

    with pytest.raises(catalog.PermissionDenied) as denied:
        alice.lineage.ingest(event())

    assert denied.value.error_code == "PERMISSION_DENIED"
    assert "alice" in denied.value.message and "MODIFY" in denied.value.message
    assert_nothing_stored(admin)
    [audited] = ingest_audit(admin)
    assert (audited["email"], audited["status_code"]) == ("alice", 403)


def test_writing_into_a_path_needs_a_metastore_admin(users):
    admin, writer = users["admin"], users["writer"]
    exported = event(
        inputs=[{"namespace": "catalog", "name": "main.ml.events"}],
        outputs=[{"namespace": "s3://bucket", "name": "exports/events"}],
    )

    with pytest.raises(catalog.PermissionDenied) as denied:
        writer.lineage.ingest(exported)
    assert "metastore admin" in denied.value.message
    assert "s3://bucket/exports/events" in denied.value.message
    assert_nothing_stored(admin)

    admin.lineage.ingest(exported)
    [edge] = external_edges(admin)
    assert (edge["source_table_full_name"], edge["target_path"], edge["target_type"]) == (
        "main.ml.events",
        "s3://bucket/exports/events",
        "PATH",
    )
    assert admin.lineage.downstream("main.ml.events").names() == [
        "main.ml.daily",
        "main.ml.events_v",
        "s3://bucket/exports/events",
    ]
    assert [(a["email"], a["status_code"]) for a in ingest_audit(admin)] == [("writer", 403), ("admin", 200)]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("main.ml.daily", id="no-privilege-on-the-table"),
        pytest.param("main.secret.payroll", id="no-use-schema"),
    ],
)
def test_reading_a_table_the_writer_cannot_see_is_refused(users, source):
    admin, writer = users["admin"], users["writer"]
    sent = event(inputs=[{"namespace": "catalog", "name": source}])

    with pytest.raises(catalog.PermissionDenied) as denied:
        writer.lineage.ingest(sent)

    assert "writer" in denied.value.message
    assert_nothing_stored(admin)
    assert [(a["email"], a["status_code"]) for a in ingest_audit(admin)] == [("writer", 403)]
    # The same event from someone who can see the source is recorded.
    admin.lineage.ingest(sent)
    assert [e["source_table_full_name"] for e in external_edges(admin)] == [source]


@pytest.mark.parametrize("side", ["inputs", "outputs"])
def test_a_catalog_table_that_does_not_exist_is_not_found(admin, side):
    missing = [{"namespace": "catalog", "name": "main.ml.nope"}]
    with pytest.raises(catalog.NotFound) as missed:
        admin.lineage.ingest(event(**{side: missing}))
    assert missed.value.error_code == "TABLE_OR_VIEW_NOT_FOUND"
    assert "main.ml.nope" in missed.value.message
    assert_nothing_stored(admin)
    assert [a["status_code"] for a in ingest_audit(admin)] == [404]


def test_lineage_is_recorded_into_tables_not_views(admin):
    with pytest.raises(catalog.InvalidRequest) as refused:
        admin.lineage.ingest(event(outputs=[{"namespace": "catalog", "name": "main.ml.events_v"}]))
    assert refused.value.error_code == "EXPECT_TABLE_NOT_VIEW"
    assert_nothing_stored(admin)
