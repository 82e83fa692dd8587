"""Lineage capture, the lineage system tables and the graph API, on real homes (DuckDB files).

Every test gets a copy of one prepared home: catalog ``main`` with schemas ``raw`` and ``ml``
(the issue's customers and customer_features), ``s`` (tables a, b, c) and ``secret`` (table
payroll). alice belongs to analysts, which hold USE CATALOG on main and USE SCHEMA, SELECT,
MODIFY and CREATE TABLE on main.s; bob holds nothing. Each write is found through its audit row,
whose request_params carry the write's OpenLineage run id; its events and edges are then read
back through system.access, as a user would.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import build_home, copy_home

import catalog
from catalog.api import Catalog

WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.raw",
    "CREATE SCHEMA main.ml",
    "CREATE SCHEMA main.s",
    "CREATE SCHEMA main.secret",
    "CREATE TABLE main.raw.customers (customer_id INT, tenure_months INT, churned INT, region STRING)",
    "INSERT INTO main.raw.customers VALUES (1, 3, 1, 'eu'), (2, 14, 0, 'us'), (3, 40, 0, 'eu')",
    "CREATE TABLE main.ml.customer_features (customer_id INT, avg_session_minutes DOUBLE)",
    "INSERT INTO main.ml.customer_features VALUES (1, 12.5), (2, 30.0), (3, 8.25)",
    "CREATE TABLE main.s.a (id INT, x INT, y STRING)",
    "INSERT INTO main.s.a VALUES (1, 10, 'p'), (2, 20, 'q'), (3, 30, 'p')",
    "CREATE TABLE main.s.b (id INT, z INT)",
    "INSERT INTO main.s.b VALUES (1, 5), (4, 7)",
    "CREATE TABLE main.s.c (id INT, w INT)",
    "INSERT INTO main.s.c VALUES (1, 0), (2, 0)",
    "CREATE TABLE main.secret.payroll (id INT, salary INT)",
    "INSERT INTO main.secret.payroll VALUES (1, 100), (2, 200)",
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE GROUP analysts",
    "ALTER GROUP analysts ADD USER alice",
    "GRANT USE CATALOG ON CATALOG main TO analysts",
    "GRANT USE SCHEMA, SELECT, MODIFY, CREATE TABLE ON SCHEMA main.s TO analysts",
)

A, B, C = "main.s.a", "main.s.b", "main.s.c"
T, V = "main.s.t", "main.s.v"
PAYROLL = "main.secret.payroll"

TABLE_LINEAGE_COLUMNS = [
    "account_id",
    "metastore_id",
    "workspace_id",
    "entity_type",
    "entity_id",
    "entity_run_id",
    "source_table_full_name",
    "source_table_catalog",
    "source_table_schema",
    "source_table_name",
    "source_path",
    "source_type",
    "target_table_full_name",
    "target_table_catalog",
    "target_table_schema",
    "target_table_name",
    "target_path",
    "target_type",
    "created_by",
    "event_time",
    "event_date",
    "record_id",
    "event_id",
    "statement_id",
]
COLUMN_LINEAGE_COLUMNS = [
    *TABLE_LINEAGE_COLUMNS[:12],
    "source_column_name",
    *TABLE_LINEAGE_COLUMNS[12:18],
    "target_column_name",
    *TABLE_LINEAGE_COLUMNS[18:],
]


@pytest.fixture(scope="session")
def lineage_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_home(tmp_path_factory.mktemp("lineage"), WORLD)


@pytest.fixture
def home(tmp_path: Path, lineage_template: Path) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared world for every test."""
    return copy_home(lineage_template, tmp_path)


@pytest.fixture
def users(admin: Catalog, connect: Callable[[str], Catalog]) -> dict[str, Catalog]:
    return {"admin": admin, "alice": connect("alice"), "bob": connect("bob")}


# -- helpers -----------------------------------------------------------------------------------


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values, SQL NULL as None."""
    plain = frame.astype(object).where(frame.notna(), None)
    return plain.to_dict("records")


def run_of(admin: Catalog, command: str) -> str:
    """The lineage run id of the one audited statement whose text is ``command``."""
    found = admin.sql(
        "SELECT request_params['lineage_run_id'] AS run_id FROM system.access.audit "
        "WHERE request_params['commandText'] = ?",
        [command],
    )
    assert len(found) == 1, found
    run_id = found["run_id"][0]
    assert uuid.UUID(run_id)
    return run_id


def api_run(admin: Catalog, action: str, name: str) -> str:
    """The lineage run id of the latest Python API call ``action`` on ``name``."""
    found = admin.sql(
        "SELECT request_params['lineage_run_id'] AS run_id FROM system.access.audit "
        "WHERE action_name = ? AND request_params['name'] = ? ORDER BY event_time DESC LIMIT 1",
        [action, name],
    )
    assert len(found) == 1, found
    return found["run_id"][0]


def write(cat: Catalog, statement: str, admin: Catalog | None = None) -> str:
    """Run a SQL write as ``cat`` and return its lineage run id."""
    cat.sql(statement)
    return run_of(admin or cat, statement)


def table_edges(cat: Catalog, run_id: str) -> set[tuple[str | None, str | None]]:
    frame = cat.sql(
        "SELECT source_table_full_name, target_table_full_name FROM system.access.table_lineage "
        "WHERE entity_run_id = ?",
        [run_id],
    )
    return {(r["source_table_full_name"], r["target_table_full_name"]) for r in records(frame)}


def column_edges(cat: Catalog, run_id: str) -> set[tuple[str | None, str | None, str | None, str | None]]:
    frame = cat.sql(
        "SELECT source_table_full_name, source_column_name, target_table_full_name, target_column_name "
        "FROM system.access.column_lineage WHERE entity_run_id = ?",
        [run_id],
    )
    return {tuple(r.values()) for r in records(frame)}


def column_rows(cat: Catalog, run_id: str) -> list[tuple[str, str, str, str]]:
    """Column edges of a run as a list (duplicates kept)."""
    frame = cat.sql(
        "SELECT source_table_full_name, source_column_name, target_table_full_name, target_column_name "
        "FROM system.access.column_lineage WHERE entity_run_id = ? ORDER BY ALL",
        [run_id],
    )
    return [tuple(r.values()) for r in records(frame)]


def events(cat: Catalog, run_id: str) -> list[dict[str, Any]]:
    """The run's stored events, oldest first, with the JSON ``event`` parsed."""
    frame = cat.sql(
        "SELECT event_type, job_namespace, job_name, entity_type, created_by, event_time, event "
        "FROM system.access.lineage_events WHERE run_id = ? ORDER BY event_time",
        [run_id],
    )
    rows = records(frame)
    for row in rows:
        row["event"] = json.loads(row["event"])
    return rows


def event_count(cat: Catalog) -> int:
    return int(cat.sql("SELECT count(*) AS n FROM system.access.lineage_events")["n"][0])


def let_read_lineage(admin: Catalog, principal: str) -> None:
    """What a Databricks admin grants so that someone may query system.access."""
    admin.sql(f"GRANT USE CATALOG ON CATALOG system TO {principal}")
    admin.sql(f"GRANT USE SCHEMA, SELECT ON SCHEMA system.access TO {principal}")


def contents(cat: Catalog, name: str) -> list[dict[str, Any]]:
    return records(cat.sql(f"SELECT * FROM {name} ORDER BY ALL"))


# -- the issue's example -----------------------------------------------------------------------

CHURN_TRAINING = (
    "CREATE TABLE main.ml.churn_training AS SELECT c.customer_id, c.tenure_months, f.avg_session_minutes, "
    "c.churned FROM main.raw.customers c JOIN main.ml.customer_features f USING (customer_id)"
)


def test_the_issue_example(admin):
    admin.sql(CHURN_TRAINING)

    sources = admin.sql(
        "SELECT DISTINCT source_table_full_name FROM system.access.table_lineage "
        "WHERE target_table_full_name = 'main.ml.churn_training'"
    )
    assert sorted(sources["source_table_full_name"]) == ["main.ml.customer_features", "main.raw.customers"]

    feeding = admin.sql(
        "SELECT source_table_full_name, source_column_name FROM system.access.column_lineage "
        "WHERE target_table_full_name = 'main.ml.churn_training' AND target_column_name = 'avg_session_minutes'"
    )
    assert feeding.values.tolist() == [["main.ml.customer_features", "avg_session_minutes"]]


def test_the_issue_example_has_a_column_edge_for_every_written_column(admin):
    run_id = write(admin, CHURN_TRAINING)
    assert column_edges(admin, run_id) == {
        ("main.raw.customers", "customer_id", "main.ml.churn_training", "customer_id"),
        ("main.raw.customers", "tenure_months", "main.ml.churn_training", "tenure_months"),
        ("main.ml.customer_features", "avg_session_minutes", "main.ml.churn_training", "avg_session_minutes"),
        ("main.raw.customers", "churned", "main.ml.churn_training", "churned"),
    }


# -- every kind of write -----------------------------------------------------------------------

# (id, setup statements, the write, its job name, table edges, column edges as
#  (source table, source column, target column); the target is the written table)
WRITES = [
    (
        "ctas",
        [],
        "CREATE TABLE main.s.t AS SELECT id, x + 1 AS x1 FROM main.s.a",
        "sql.createTable",
        {(A, T)},
        {(A, "id", "id"), (A, "x", "x1")},
    ),
    (
        "insert_select_by_position",
        [],
        "INSERT INTO main.s.b SELECT id, x FROM main.s.a",
        "sql.insertInto",
        {(A, B)},
        {(A, "id", "id"), (A, "x", "z")},
    ),
    (
        "insert_select_with_column_list",
        [],
        "INSERT INTO main.s.b (z, id) SELECT x, id FROM main.s.a",
        "sql.insertInto",
        {(A, B)},
        {(A, "x", "z"), (A, "id", "id")},
    ),
    ("insert_values", [], "INSERT INTO main.s.b VALUES (9, 9)", "sql.insertInto", set(), set()),
    (
        "insert_overwrite",
        [],
        "INSERT OVERWRITE main.s.b SELECT id, x * 2 FROM main.s.a",
        "sql.insertInto",
        {(A, B)},
        {(A, "id", "id"), (A, "x", "z")},
    ),
    (
        "insert_overwrite_table",
        [],
        "INSERT OVERWRITE TABLE main.s.b SELECT id, x FROM main.s.a WHERE y = 'p'",
        "sql.insertInto",
        {(A, B)},
        {(A, "id", "id"), (A, "x", "z")},
    ),
    (
        "update_with_subquery_in_set",
        [],
        "UPDATE main.s.c SET w = (SELECT max(x) FROM main.s.a)",
        "sql.updateTable",
        {(A, C)},
        {(A, "x", "w")},
    ),
    (
        "update_with_subquery_in_where",
        [],
        "UPDATE main.s.c SET w = 5 WHERE id IN (SELECT id FROM main.s.b)",
        "sql.updateTable",
        {(B, C)},
        set(),
    ),
    (
        "update_from_its_own_columns",
        [],
        "UPDATE main.s.c SET w = w + 1",
        "sql.updateTable",
        set(),
        set(),
    ),
    (
        "delete_with_subquery",
        [],
        "DELETE FROM main.s.c WHERE id IN (SELECT id FROM main.s.a)",
        "sql.deleteFrom",
        {(A, C)},
        set(),
    ),
    (
        "merge_update_set_and_insert_values",
        [],
        "MERGE INTO main.s.c t USING main.s.b s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET w = s.z "
        "WHEN NOT MATCHED THEN INSERT (id, w) VALUES (s.id, s.z + 1)",
        "sql.mergeInto",
        {(B, C)},
        {(B, "id", "id"), (B, "z", "w")},
    ),
    (
        "merge_update_star_and_insert_star_by_name",
        ["CREATE TABLE main.s.src (w INT, id INT)", "INSERT INTO main.s.src VALUES (7, 1), (8, 5)"],
        "MERGE INTO main.s.c t USING main.s.src s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
        "sql.mergeInto",
        {("main.s.src", C)},
        {("main.s.src", "id", "id"), ("main.s.src", "w", "w")},
    ),
    (
        "merge_from_a_subquery",
        [],
        "MERGE INTO main.s.c t USING (SELECT id, x * 10 AS w FROM main.s.a) s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET w = s.w",
        "sql.mergeInto",
        {(A, C)},
        {(A, "x", "w")},
    ),
    (
        "merge_delete_only",
        [],
        "MERGE INTO main.s.c t USING main.s.b s ON t.id = s.id WHEN MATCHED THEN DELETE",
        "sql.mergeInto",
        {(B, C)},
        set(),
    ),
    ("truncate", [], "TRUNCATE TABLE main.s.c", "sql.truncateTable", set(), set()),
    (
        "create_view",
        [],
        "CREATE VIEW main.s.v AS SELECT a.id, a.x + b.z AS total FROM main.s.a a JOIN main.s.b b ON a.id = b.id",
        "sql.createView",
        {(A, V), (B, V)},
        {(A, "id", "id"), (A, "x", "total"), (B, "z", "total")},
    ),
    (
        "create_or_replace_view",
        ["CREATE VIEW main.s.v AS SELECT id FROM main.s.b"],
        "CREATE OR REPLACE VIEW main.s.v AS SELECT id, x FROM main.s.a",
        "sql.createView",
        {(A, V)},
        {(A, "id", "id"), (A, "x", "x")},
    ),
    (
        "create_or_replace_table",
        ["CREATE TABLE main.s.t AS SELECT id FROM main.s.b"],
        "CREATE OR REPLACE TABLE main.s.t AS SELECT id, y FROM main.s.a",
        "sql.createTable",
        {(A, T)},
        {(A, "id", "id"), (A, "y", "y")},
    ),
    (
        "a_read_through_a_view_is_an_edge_from_the_view",
        ["CREATE VIEW main.s.v AS SELECT a.id, a.x, b.z FROM main.s.a a JOIN main.s.b b ON a.id = b.id"],
        "CREATE TABLE main.s.t AS SELECT id, x + z AS big FROM main.s.v",
        "sql.createTable",
        {(V, T)},
        {(V, "id", "id"), (V, "x", "big"), (V, "z", "big")},
    ),
    (
        "cte",
        [],
        "CREATE TABLE main.s.t AS WITH doubled AS (SELECT id, x * 2 AS dbl FROM main.s.a) SELECT id, dbl FROM doubled",
        "sql.createTable",
        {(A, T)},
        {(A, "id", "id"), (A, "x", "dbl")},
    ),
    (
        "chained_ctes_joined_back",
        [],
        "CREATE TABLE main.s.t AS WITH s1 AS (SELECT id, x FROM main.s.a), "
        "s2 AS (SELECT id, sum(x) AS total FROM s1 GROUP BY id) "
        "SELECT s2.id, s2.total, b.z FROM s2 JOIN main.s.b b ON s2.id = b.id",
        "sql.createTable",
        {(A, T), (B, T)},
        {(A, "id", "id"), (A, "x", "total"), (B, "z", "z")},
    ),
    (
        "derived_table",
        [],
        "CREATE TABLE main.s.t AS SELECT q.id, q.inc FROM (SELECT id, x + 1 AS inc FROM main.s.a) q",
        "sql.createTable",
        {(A, T)},
        {(A, "id", "id"), (A, "x", "inc")},
    ),
    (
        "scalar_subquery_in_select",
        [],
        "CREATE TABLE main.s.t AS SELECT id, (SELECT max(z) FROM main.s.b) AS top FROM main.s.a",
        "sql.createTable",
        {(A, T), (B, T)},
        {(A, "id", "id"), (B, "z", "top")},
    ),
    (
        "union_all",
        [],
        "CREATE TABLE main.s.t AS SELECT id, x AS v FROM main.s.a UNION ALL SELECT id, z AS v FROM main.s.b",
        "sql.createTable",
        {(A, T), (B, T)},
        {(A, "id", "id"), (A, "x", "v"), (B, "id", "id"), (B, "z", "v")},
    ),
    (
        "aggregate",
        [],
        "CREATE TABLE main.s.t AS SELECT y, sum(x) AS total, count(*) AS n FROM main.s.a GROUP BY y",
        "sql.createTable",
        {(A, T)},
        {(A, "y", "y"), (A, "x", "total")},
    ),
    (
        "select_star",
        [],
        "CREATE TABLE main.s.t AS SELECT * FROM main.s.a",
        "sql.createTable",
        {(A, T)},
        {(A, "id", "id"), (A, "x", "x"), (A, "y", "y")},
    ),
    (
        "self_join",
        [],
        "CREATE TABLE main.s.t AS SELECT l.id, r.x FROM main.s.a l JOIN main.s.a r ON l.id = r.id",
        "sql.createTable",
        {(A, T)},
        {(A, "id", "id"), (A, "x", "x")},
    ),
    (
        "case_expression",
        [],
        "CREATE TABLE main.s.t AS SELECT CASE WHEN x > 10 THEN y ELSE 'none' END AS label FROM main.s.a",
        "sql.createTable",
        {(A, T)},
        {(A, "x", "label"), (A, "y", "label")},
    ),
    (
        "names_relative_to_the_current_schema",
        ["USE main.s"],
        "CREATE TABLE t AS SELECT id, z FROM b",
        "sql.createTable",
        {(B, T)},
        {(B, "id", "id"), (B, "z", "z")},
    ),
    (
        "quoted_and_mixed_case_names_keep_their_spelling",
        ["CREATE TABLE main.s.odd (`Mixed Col` INT, `a.b` INT)", "INSERT INTO main.s.odd VALUES (1, 2)"],
        "CREATE TABLE main.s.t AS SELECT `Mixed Col` AS Big, `a.b` AS c FROM main.s.Odd",
        "sql.createTable",
        {("main.s.odd", T)},
        {("main.s.odd", "Mixed Col", "Big"), ("main.s.odd", "a.b", "c")},
    ),
    (
        "insert_with_a_differently_cased_column_list",
        ["CREATE TABLE main.s.odd (`Mixed Col` INT, Other INT)"],
        "INSERT INTO main.s.odd (`MIXED col`, OTHER) SELECT id, x FROM main.s.a",
        "sql.insertInto",
        {(A, "main.s.odd")},
        {(A, "id", "Mixed Col"), (A, "x", "Other")},
    ),
    ("constants_only", [], "CREATE TABLE main.s.t AS SELECT 1 AS one, 'x' AS two", "sql.createTable", set(), set()),
    ("plain_create_table", [], "CREATE TABLE main.s.t (k INT, s STRING)", "sql.createTable", set(), set()),
]


def _target_of(statement: str, table_edges_: set[tuple[str, str]]) -> str:
    for name in ("main.s.t", "main.s.v", "main.s.odd", "main.s.b", "main.s.c"):
        if any(target == name for _, target in table_edges_):
            return name
    raise AssertionError(f"no target among the expected edges of {statement}")


@pytest.mark.parametrize(
    ("setup", "statement", "job", "expected_tables", "expected_columns"),
    [pytest.param(*case[1:], id=case[0]) for case in WRITES],
)
def test_each_write_records_one_run_with_its_edges(admin, setup, statement, job, expected_tables, expected_columns):
    for step in setup:
        admin.sql(step)
    run_id = write(admin, statement)

    stored = events(admin, run_id)
    assert [e["event_type"] for e in stored] == ["START", "COMPLETE"]
    assert {(e["job_name"], e["entity_type"], e["created_by"]) for e in stored} == {(job, "SQL", "admin")}
    assert table_edges(admin, run_id) == expected_tables
    if expected_columns:
        target = _target_of(statement, expected_tables)
        assert column_edges(admin, run_id) == {(s, sc, target, tc) for s, sc, tc in expected_columns}
    else:
        assert column_edges(admin, run_id) == set()
    # every column edge lies along a table edge of the same run
    assert {(s, t) for s, _, t, _ in column_edges(admin, run_id)} <= expected_tables


def test_merge_lists_a_column_pair_once_however_many_clauses_link_it(admin):
    run_id = write(
        admin,
        "MERGE INTO main.s.c t USING main.s.b s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET w = s.z WHEN NOT MATCHED THEN INSERT (id, w) VALUES (s.id, s.z + 1)",
    )
    assert column_rows(admin, run_id) == [(B, "id", C, "id"), (B, "z", C, "w")]
    (complete,) = [e["event"] for e in events(admin, run_id) if e["event_type"] == "COMPLETE"]
    fields = complete["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert len(fields["w"]["inputFields"]) == 1
    (source,) = fields["w"]["inputFields"]
    assert (source["name"], source["field"]) == (B, "z")
    assert sorted(t["subtype"] for t in source["transformations"]) == ["IDENTITY", "TRANSFORMATION"]


def test_a_write_with_parameters_records_its_lineage(admin):
    statement = "CREATE TABLE main.s.t AS SELECT id, x FROM main.s.a WHERE x > ?"
    admin.sql(statement, [15])
    run_id = run_of(admin, statement)
    assert table_edges(admin, run_id) == {(A, T)}
    assert column_edges(admin, run_id) == {(A, "id", T, "id"), (A, "x", T, "x")}
    assert contents(admin, T) == [{"id": 2, "x": 20}, {"id": 3, "x": 30}]


def test_each_write_is_its_own_run_and_repeated_writes_add_edges(admin):
    first = write(admin, "INSERT INTO main.s.b SELECT id, x FROM main.s.a")
    second = write(admin, "INSERT INTO main.s.b SELECT id, x FROM main.s.a WHERE y = 'p'")
    assert first != second
    assert table_edges(admin, first) == table_edges(admin, second) == {(A, B)}
    runs = admin.sql(
        "SELECT count(DISTINCT entity_run_id) AS n FROM system.access.table_lineage "
        "WHERE source_table_full_name = ? AND target_table_full_name = ?",
        [A, B],
    )
    assert runs["n"][0] == 2


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE IF NOT EXISTS main.s.a (id INT)",
        "CREATE TABLE IF NOT EXISTS main.s.a AS SELECT id FROM main.s.b",
        "CREATE VIEW IF NOT EXISTS main.s.v AS SELECT id FROM main.s.b",
    ],
)
def test_create_if_not_exists_on_an_existing_object_records_nothing(admin, statement):
    admin.sql("CREATE VIEW main.s.v AS SELECT id FROM main.s.a")
    before = event_count(admin)
    edges_before = len(admin.sql("SELECT * FROM system.access.table_lineage"))
    admin.sql(statement)
    assert event_count(admin) == before
    assert len(admin.sql("SELECT * FROM system.access.table_lineage")) == edges_before
    params = admin.sql(
        "SELECT request_params FROM system.access.audit WHERE request_params['commandText'] = ?", [statement]
    )["request_params"][0]
    assert "lineage_run_id" not in dict(params)  # no run was recorded, so the audit row names none


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM main.s.a",
        "CREATE SCHEMA main.other",
        "GRANT SELECT ON TABLE main.s.a TO bob",
        "COMMENT ON TABLE main.s.a IS 'the a table'",
        "ALTER TABLE main.s.a RENAME TO main.s.a2",
        "DROP TABLE main.s.c",
    ],
)
def test_statements_that_write_no_data_record_no_lineage(admin, statement):
    before = event_count(admin)
    admin.sql(statement)
    assert event_count(admin) == before
    params = admin.sql(
        "SELECT request_params FROM system.access.audit WHERE request_params['commandText'] = ?", [statement]
    )["request_params"][0]
    assert "lineage_run_id" not in dict(params)


# -- the events --------------------------------------------------------------------------------


def test_a_write_stores_start_and_complete_events_as_openlineage_json(admin):
    run_id = write(admin, CHURN_TRAINING)
    start, complete = events(admin, run_id)
    namespace = admin.lineage.namespace
    assert namespace.startswith("catalog://") and len(namespace) > len("catalog://")

    assert (start["event_type"], complete["event_type"]) == ("START", "COMPLETE")
    assert start["event_time"] <= complete["event_time"]
    for stored in (start, complete):
        event = stored["event"]
        assert event["eventType"] == stored["event_type"]
        assert event["run"]["runId"] == run_id
        assert event["job"] == {**event["job"], "namespace": namespace, "name": "sql.createTable"}
        assert stored["job_namespace"] == namespace
        assert event["job"]["facets"]["sql"]["query"] == CHURN_TRAINING
        assert event["run"]["facets"]["catalog"] == {
            **event["run"]["facets"]["catalog"],
            "principal": "admin",
            "origin": "SQL",
            "action": "createTable",
        }
        assert event["producer"].startswith("https://")
        assert "RunEvent" in event["schemaURL"]
        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
            (namespace, "main.raw.customers"),
            (namespace, "main.ml.customer_features"),
        ]
        assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [(namespace, "main.ml.churn_training")]
        schemas = {d["name"]: d["facets"]["schema"]["fields"] for d in event["inputs"] + event["outputs"]}
        assert [(f["name"], f["type"]) for f in schemas["main.raw.customers"]] == [
            ("customer_id", "INT"),
            ("tenure_months", "INT"),
            ("churned", "INT"),
            ("region", "STRING"),
        ]
        assert [(f["name"], f["type"]) for f in schemas["main.ml.churn_training"]] == [
            ("customer_id", "INT"),
            ("tenure_months", "INT"),
            ("avg_session_minutes", "DOUBLE"),
            ("churned", "INT"),
        ]
        lineage = event["outputs"][0]["facets"]["columnLineage"]["fields"]
        assert set(lineage) == {"customer_id", "tenure_months", "avg_session_minutes", "churned"}
        (feature,) = lineage["avg_session_minutes"]["inputFields"]
        assert feature == {
            **feature,
            "namespace": namespace,
            "name": "main.ml.customer_features",
            "field": "avg_session_minutes",
        }
        assert feature["transformations"] == [{"type": "DIRECT", "subtype": "IDENTITY"}]
        assert "errorMessage" not in event["run"]["facets"]


def test_the_event_column_is_duckdb_json_and_can_be_queried_in_sql(admin):
    run_id = write(admin, "INSERT INTO main.s.b SELECT id, x FROM main.s.a")
    frame = admin.sql(
        "SELECT typeof(event) AS kind, event->>'$.eventType' AS event_type, "
        "event->'$.run.facets.catalog'->>'principal' AS principal, "
        "json_extract_string(event, '$.outputs[0].name') AS output "
        "FROM system.access.lineage_events WHERE run_id = ? ORDER BY event_time",
        [run_id],
    )
    assert records(frame) == [
        {"kind": "JSON", "event_type": "START", "principal": "admin", "output": B},
        {"kind": "JSON", "event_type": "COMPLETE", "principal": "admin", "output": B},
    ]


def test_transformation_subtypes_in_the_column_lineage_facet(admin):
    run_id = write(
        admin,
        "CREATE TABLE main.s.t AS SELECT y, sum(x) AS total, max(x) + 1 AS top, upper(y) AS shout "
        "FROM main.s.a GROUP BY y",
    )
    complete = events(admin, run_id)[-1]["event"]
    fields = complete["outputs"][0]["facets"]["columnLineage"]["fields"]
    subtypes = {
        target: {(i["field"], t["subtype"]) for i in spec["inputFields"] for t in i["transformations"]}
        for target, spec in fields.items()
    }
    assert subtypes == {
        "y": {("y", "IDENTITY")},
        "total": {("x", "AGGREGATION")},
        "top": {("x", "AGGREGATION")},
        "shout": {("y", "TRANSFORMATION")},
    }
    assert {t["type"] for spec in fields.values() for i in spec["inputFields"] for t in i["transformations"]} == {
        "DIRECT"
    }


def test_the_audit_row_of_a_write_carries_its_lineage_run_id(admin):
    statement = "INSERT INTO main.s.b SELECT id, x FROM main.s.a"
    admin.sql(statement)
    audited = admin.sql(
        "SELECT request_params['lineage_run_id'] AS run_id, action_name FROM system.access.audit "
        "WHERE request_params['commandText'] = ?",
        [statement],
    )
    run_id = audited["run_id"][0]
    assert audited["action_name"][0] == "insertInto"
    stored = admin.sql("SELECT DISTINCT run_id FROM system.access.lineage_events WHERE run_id = ?", [run_id])
    assert stored["run_id"].tolist() == [run_id]
    assert {e["event"]["run"]["runId"] for e in events(admin, run_id)} == {run_id}


def test_events_record_the_principal_who_wrote(users):
    alice = users["alice"]
    run_id = write(alice, "CREATE TABLE main.s.t AS SELECT id FROM main.s.a", admin=users["admin"])
    stored = events(users["admin"], run_id)
    assert {e["created_by"] for e in stored} == {"alice"}
    assert {e["event"]["run"]["facets"]["catalog"]["principal"] for e in stored} == {"alice"}
    frame = users["admin"].sql(
        "SELECT DISTINCT created_by FROM system.access.table_lineage WHERE entity_run_id = ?", [run_id]
    )
    assert frame["created_by"].tolist() == ["alice"]


def test_event_time_and_date_agree(admin):
    run_id = write(admin, "INSERT INTO main.s.b SELECT id, x FROM main.s.a")
    frame = admin.sql(
        "SELECT event_time, event_date FROM system.access.table_lineage WHERE entity_run_id = ?", [run_id]
    )
    for row in records(frame):
        assert pd.Timestamp(row["event_date"]).date() == pd.Timestamp(row["event_time"]).tz_convert("UTC").date()


# -- failing writes ----------------------------------------------------------------------------

FAILURES = [
    pytest.param([], "INSERT INTO main.s.b SELECT id, y FROM main.s.a", B, id="insert_select_type_error"),
    pytest.param([], "INSERT INTO main.s.b VALUES ('not a number', 1)", B, id="insert_values_type_error"),
    pytest.param(
        ["CREATE TABLE main.s.dups (id INT, z INT)", "INSERT INTO main.s.dups VALUES (1, 1), (1, 2)"],
        "MERGE INTO main.s.c t USING main.s.dups s ON t.id = s.id WHEN MATCHED THEN UPDATE SET w = s.z",
        C,
        id="merge_matching_a_row_twice",
    ),
    pytest.param([], "UPDATE main.s.c SET w = (SELECT CAST(y AS INT) FROM main.s.a LIMIT 1)", C, id="update_cast"),
    pytest.param([], "CREATE TABLE main.s.t AS SELECT CAST(y AS INT) AS n FROM main.s.a", None, id="ctas_cast"),
]


@pytest.mark.parametrize(("setup", "statement", "table"), FAILURES)
def test_a_failing_write_stores_start_and_fail_and_no_edges(admin, setup, statement, table):
    for step in setup:
        admin.sql(step)
    before = contents(admin, table) if table else None
    with pytest.raises(catalog.CatalogError) as failed:
        admin.sql(statement)
    run_id = run_of(admin, statement)

    start, fail = events(admin, run_id)
    assert (start["event_type"], fail["event_type"]) == ("START", "FAIL")
    facet = fail["event"]["run"]["facets"]["errorMessage"]
    assert facet["message"] == failed.value.message
    assert facet["programmingLanguage"] == "SQL"
    assert "errorMessage" not in start["event"]["run"]["facets"]
    assert table_edges(admin, run_id) == set()
    assert column_edges(admin, run_id) == set()
    if table:
        assert contents(admin, table) == before
    else:
        assert admin.sql("SHOW TABLES IN main.s LIKE 't'").empty
    audited = admin.sql(
        "SELECT response.status_code AS status, response.error_message AS error FROM system.access.audit "
        "WHERE request_params['commandText'] = ?",
        [statement],
    )
    assert records(audited) == [{"status": 400, "error": facet["message"]}]


def test_a_failing_python_write_stores_fail_with_python_as_the_language(admin):
    before = contents(admin, B)
    with pytest.raises(catalog.CatalogError) as failed:
        admin.write_table(B, pd.DataFrame({"id": ["not a number"], "z": [1]}))
    run_id = api_run(admin, "writeTable", B)
    start, fail = events(admin, run_id)
    assert (start["event_type"], fail["event_type"]) == ("START", "FAIL")
    assert fail["job_name"] == "python.writeTable"
    assert fail["event"]["run"]["facets"]["errorMessage"]["message"] == failed.value.message
    assert fail["event"]["run"]["facets"]["errorMessage"]["programmingLanguage"] == "PYTHON"
    assert table_edges(admin, run_id) == set()
    assert contents(admin, B) == before


def test_a_refused_write_records_no_edges(users):
    statement = "INSERT INTO main.secret.payroll SELECT id, x FROM main.s.a"
    with pytest.raises(catalog.PermissionDenied):
        users["alice"].sql(statement)
    run_id = run_of(users["admin"], statement)
    assert table_edges(users["admin"], run_id) == set()
    assert contents(users["admin"], PAYROLL) == [{"id": 1, "salary": 100}, {"id": 2, "salary": 200}]


# -- writes from Python ------------------------------------------------------------------------


def test_create_table_from_a_transformed_read_table_frame_has_an_edge_from_the_source(users):
    alice, admin = users["alice"], users["admin"]
    frame = alice.read_table(A)
    shaped = frame[frame["x"] > 10].assign(x2=lambda d: d["x"] * 2)
    alice.create_table(T, shaped)
    run_id = api_run(admin, "createTable", T)

    assert table_edges(admin, run_id) == {(A, T)}
    stored = events(admin, run_id)
    assert [e["event_type"] for e in stored] == ["START", "COMPLETE"]
    complete = stored[-1]
    assert (complete["job_name"], complete["entity_type"], complete["created_by"]) == (
        "python.createTable",
        "PYTHON",
        "alice",
    )
    event = complete["event"]
    assert event["run"]["facets"]["catalog"] == {
        **event["run"]["facets"]["catalog"],
        "principal": "alice",
        "origin": "PYTHON",
    }
    assert [d["name"] for d in event["inputs"]] == [A]
    assert [d["name"] for d in event["outputs"]] == [T]
    assert "columnLineage" not in event["outputs"][0]["facets"]
    assert [(f["name"], f["type"]) for f in event["outputs"][0]["facets"]["schema"]["fields"]] == [
        ("id", "INT"),
        ("x", "INT"),
        ("y", "STRING"),
        ("x2", "INT"),
    ]
    lineage = admin.sql(
        "SELECT entity_type, entity_id FROM system.access.table_lineage WHERE entity_run_id = ?", [run_id]
    )
    assert records(lineage) == [{"entity_type": "PYTHON", "entity_id": "python.createTable"}]


def test_schema_facet_of_a_frame_uses_databricks_types(admin):
    frame = pd.DataFrame({"i": [1], "f": [1.5], "s": ["x"], "b": [True], "t": pd.to_datetime(["2024-01-01"])})
    admin.create_table(T, frame)
    output = events(admin, api_run(admin, "createTable", T))[-1]["event"]["outputs"][0]
    assert [(f["name"], f["type"]) for f in output["facets"]["schema"]["fields"]] == [
        ("i", "BIGINT"),
        ("f", "DOUBLE"),
        ("s", "STRING"),
        ("b", "BOOLEAN"),
        ("t", "TIMESTAMP_NTZ"),
    ]


@pytest.mark.parametrize("mode", ["append", "overwrite"])
def test_write_table_from_a_read_table_frame_has_an_edge_from_the_source(users, mode):
    alice, admin = users["alice"], users["admin"]
    frame = alice.read_table(A)[["id", "x"]].rename(columns={"x": "z"})
    alice.write_table(B, frame, mode=mode)
    run_id = api_run(admin, "writeTable", B)
    assert table_edges(admin, run_id) == {(A, B)}
    assert [e["event_type"] for e in events(admin, run_id)] == ["START", "COMPLETE"]
    assert {e["job_name"] for e in events(admin, run_id)} == {"python.writeTable"}
    expected = [{"id": 1, "z": 10}, {"id": 2, "z": 20}, {"id": 3, "z": 30}]
    if mode == "append":
        expected = sorted([*expected, {"id": 1, "z": 5}, {"id": 4, "z": 7}], key=lambda r: (r["id"], r["z"]))
    assert contents(admin, B) == expected


def test_catalog_source_set_by_hand_to_a_name_or_a_list_of_names(admin):
    frame = pd.DataFrame({"id": [1], "z": [2]})
    frame.attrs["catalog_source"] = [A, C]
    admin.create_table(T, frame)
    assert table_edges(admin, api_run(admin, "createTable", T)) == {(A, T), (C, T)}

    frame.attrs["catalog_source"] = "main.raw.customers"
    admin.write_table(T, frame)
    assert table_edges(admin, api_run(admin, "writeTable", T)) == {("main.raw.customers", T)}


def test_a_frame_with_no_catalog_source_records_the_write_without_edges(admin):
    admin.create_table(T, pd.DataFrame({"id": [1]}))
    run_id = api_run(admin, "createTable", T)
    assert [e["event_type"] for e in events(admin, run_id)] == ["START", "COMPLETE"]
    assert events(admin, run_id)[-1]["event"]["inputs"] == []
    assert table_edges(admin, run_id) == set()


def test_catalog_source_names_the_writer_cannot_see_or_that_are_not_tables_are_left_out(users):
    alice, admin = users["alice"], users["admin"]
    frame = alice.read_table(A)
    frame.attrs["catalog_source"] = [A, PAYROLL, "main.secret.nothing", "main.s", "main", "not a name!"]
    alice.create_table(T, frame)
    run_id = api_run(admin, "createTable", T)

    assert table_edges(admin, run_id) == {(A, T)}
    let_read_lineage(admin, "alice")
    stored = events(alice, run_id)
    assert [e["event_type"] for e in stored] == ["START", "COMPLETE"]
    assert all(PAYROLL not in json.dumps(e["event"]) for e in stored)
    assert PAYROLL not in admin.sql("SELECT * FROM system.access.table_lineage").to_string()


def test_create_table_ignore_on_an_existing_table_records_nothing_and_overwrite_does(admin):
    frame = admin.read_table(A)
    before = event_count(admin)
    admin.create_table(B, frame, mode="ignore")
    assert event_count(admin) == before

    admin.create_table(B, frame, mode="overwrite")
    run_id = api_run(admin, "createTable", B)
    assert table_edges(admin, run_id) == {(A, B)}
    assert event_count(admin) == before + 2


# -- who sees what in the system tables -------------------------------------------------------


def test_the_lineage_tables_have_databricks_columns(admin):
    assert list(admin.sql("SELECT * FROM system.access.table_lineage LIMIT 0").columns) == TABLE_LINEAGE_COLUMNS
    assert list(admin.sql("SELECT * FROM system.access.column_lineage LIMIT 0").columns) == COLUMN_LINEAGE_COLUMNS


def test_table_lineage_splits_full_names_into_their_parts(admin):
    run_id = write(admin, CHURN_TRAINING)
    frame = admin.sql(
        "SELECT source_table_catalog, source_table_schema, source_table_name, source_type, source_path, "
        "target_table_catalog, target_table_schema, target_table_name, target_type, target_path, "
        "workspace_id, account_id, metastore_id, statement_id, entity_run_id "
        "FROM system.access.table_lineage WHERE entity_run_id = ? ORDER BY source_table_name",
        [run_id],
    )
    rows = records(frame)
    assert [(r["source_table_catalog"], r["source_table_schema"], r["source_table_name"]) for r in rows] == [
        ("main", "ml", "customer_features"),
        ("main", "raw", "customers"),
    ]
    for row in rows:
        assert (row["target_table_catalog"], row["target_table_schema"], row["target_table_name"]) == (
            "main",
            "ml",
            "churn_training",
        )
        assert (row["source_type"], row["target_type"]) == ("TABLE", "TABLE")
        assert row["source_path"] is None and row["target_path"] is None
        assert row["workspace_id"] == row["account_id"] == row["metastore_id"]
        assert admin.lineage.namespace == f"catalog://{row['workspace_id']}"
        assert row["statement_id"] == row["entity_run_id"] == run_id


def test_views_appear_with_type_view(admin):
    admin.sql("CREATE VIEW main.s.v AS SELECT id, x FROM main.s.a")
    run_id = write(admin, "CREATE TABLE main.s.t AS SELECT id FROM main.s.v")
    frame = admin.sql(
        "SELECT source_type, target_type FROM system.access.table_lineage WHERE target_table_full_name = ?", [V]
    )
    assert records(frame) == [{"source_type": "TABLE", "target_type": "VIEW"}]
    frame = admin.sql("SELECT source_type FROM system.access.table_lineage WHERE entity_run_id = ?", [run_id])
    assert frame["source_type"].tolist() == ["VIEW"]


@pytest.mark.parametrize("table", ["table_lineage", "column_lineage", "lineage_events"])
def test_without_a_grant_a_non_admin_cannot_read_the_lineage_tables(users, table):
    for who in ("alice", "bob"):
        with pytest.raises(catalog.PermissionDenied):
            users[who].sql(f"SELECT * FROM system.access.{table}")


def _mixed_lineage(admin: Catalog) -> dict[str, str]:
    """Writes whose ends alice sees: both, only the target, only the source, neither."""
    return {
        "both": write(admin, "CREATE TABLE main.s.both_ends AS SELECT id, x FROM main.s.a"),
        "target_only": write(
            admin,
            "CREATE TABLE main.s.mixed AS SELECT a.id, p.salary FROM main.s.a a JOIN main.secret.payroll p "
            "ON a.id = p.id",
        ),
        "source_only": write(admin, "CREATE TABLE main.secret.leak AS SELECT id, x FROM main.s.a"),
        "neither": write(admin, "CREATE TABLE main.secret.copy AS SELECT id, salary FROM main.secret.payroll"),
    }


def test_a_reader_sees_edges_with_one_visible_end_and_the_other_end_masked(users):
    admin, alice = users["admin"], users["alice"]
    runs = _mixed_lineage(admin)
    let_read_lineage(admin, "alice")

    frame = alice.sql(
        "SELECT entity_run_id, source_table_full_name, source_table_catalog, source_table_schema, "
        "source_table_name, source_type, target_table_full_name, target_table_catalog, target_table_schema, "
        "target_table_name, target_type FROM system.access.table_lineage WHERE entity_run_id IN (?, ?, ?, ?)",
        list(runs.values()),
    )
    rows = sorted(records(frame), key=lambda r: (list(runs.values()).index(r["entity_run_id"]), r["source_type"]))
    masked = {"full_name": None, "catalog": None, "schema": None, "name": None, "type": "MASKED"}

    def end(row: dict[str, Any], side: str) -> dict[str, Any]:
        return {
            "full_name": row[f"{side}_table_full_name"],
            "catalog": row[f"{side}_table_catalog"],
            "schema": row[f"{side}_table_schema"],
            "name": row[f"{side}_table_name"],
            "type": row[f"{side}_type"],
        }

    a_end = {"full_name": A, "catalog": "main", "schema": "s", "name": "a", "type": "TABLE"}
    assert [(r["entity_run_id"], end(r, "source"), end(r, "target")) for r in rows] == [
        (
            runs["both"],
            a_end,
            {"full_name": "main.s.both_ends", "catalog": "main", "schema": "s", "name": "both_ends", "type": "TABLE"},
        ),
        (
            runs["target_only"],
            masked,
            {"full_name": "main.s.mixed", "catalog": "main", "schema": "s", "name": "mixed", "type": "TABLE"},
        ),
        (
            runs["target_only"],
            a_end,
            {"full_name": "main.s.mixed", "catalog": "main", "schema": "s", "name": "mixed", "type": "TABLE"},
        ),
        (runs["source_only"], a_end, masked),
    ]
    everything = alice.sql("SELECT * FROM system.access.table_lineage").to_string()
    assert "secret" not in everything and "payroll" not in everything and "leak" not in everything


def test_column_lineage_masks_hidden_ends_and_their_column_names(users):
    admin, alice = users["admin"], users["alice"]
    runs = _mixed_lineage(admin)
    let_read_lineage(admin, "alice")

    seen = {run: column_edges(alice, runs[run]) for run in runs}
    assert seen == {
        "both": {(A, "id", "main.s.both_ends", "id"), (A, "x", "main.s.both_ends", "x")},
        "target_only": {(A, "id", "main.s.mixed", "id"), (None, None, "main.s.mixed", "salary")},
        "source_only": {(A, "id", None, None), (A, "x", None, None)},
        "neither": set(),
    }
    types = alice.sql(
        "SELECT DISTINCT source_type, target_type FROM system.access.column_lineage WHERE entity_run_id IN (?, ?)",
        [runs["target_only"], runs["source_only"]],
    )
    assert set(types.itertuples(index=False, name=None)) == {
        ("MASKED", "TABLE"),
        ("TABLE", "TABLE"),
        ("TABLE", "MASKED"),
    }
    everything = alice.sql("SELECT * FROM system.access.column_lineage").to_string()
    assert "secret" not in everything and "salary" in everything and "payroll" not in everything


def test_admins_see_every_edge_including_dropped_tables(users):
    admin, alice = users["admin"], users["alice"]
    runs = _mixed_lineage(admin)
    admin.sql("DROP TABLE main.secret.leak")
    admin.sql("DROP TABLE main.s.both_ends")
    let_read_lineage(admin, "alice")

    assert table_edges(admin, runs["source_only"]) == {(A, "main.secret.leak")}
    assert table_edges(admin, runs["neither"]) == {(PAYROLL, "main.secret.copy")}
    assert table_edges(admin, runs["target_only"]) == {(A, "main.s.mixed"), (PAYROLL, "main.s.mixed")}
    assert table_edges(admin, runs["both"]) == {(A, "main.s.both_ends")}
    assert column_edges(admin, runs["source_only"]) == {
        (A, "id", "main.secret.leak", "id"),
        (A, "x", "main.secret.leak", "x"),
    }
    # to others a dropped table is as unseen as a hidden one
    assert table_edges(alice, runs["both"]) == {(A, None)}


def test_a_reader_sees_the_events_of_their_own_writes_and_admins_see_all(users):
    admin, alice = users["admin"], users["alice"]
    mine = write(alice, "CREATE TABLE main.s.t AS SELECT id FROM main.s.a", admin=admin)
    theirs = write(admin, "INSERT INTO main.s.b SELECT id, x FROM main.s.a")
    let_read_lineage(admin, "alice")

    assert set(alice.sql("SELECT DISTINCT created_by FROM system.access.lineage_events")["created_by"]) == {"alice"}
    assert [e["event_type"] for e in events(alice, mine)] == ["START", "COMPLETE"]
    assert events(alice, theirs) == []
    assert [e["event_type"] for e in events(admin, mine)] == ["START", "COMPLETE"]
    assert [e["event_type"] for e in events(admin, theirs)] == ["START", "COMPLETE"]


# -- the graph ---------------------------------------------------------------------------------


def _chain(admin: Catalog, names: list[str]) -> None:
    """names[0] exists; each next one is made from the previous one by CTAS."""
    for source, target in itertools.pairwise(names):
        admin.sql(f"CREATE TABLE {target} AS SELECT * FROM {source}")


def _depths(graph) -> dict[str, int]:
    return {n.name: n.depth for n in graph.nodes}


def _edges(graph) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in graph.edges}


def test_upstream_and_downstream_of_a_chain(admin):
    names = [B, "main.s.b1", "main.s.b2", "main.s.b3"]
    _chain(admin, names)

    up = admin.lineage.upstream("main.s.b3")
    assert (up.root, up.direction) == ("main.s.b3", "upstream")
    assert up.names() == ["main.s.b2", "main.s.b1", B]
    assert up.names(include_root=True) == ["main.s.b3", "main.s.b2", "main.s.b1", B]
    assert _depths(up) == {"main.s.b3": 0, "main.s.b2": 1, "main.s.b1": 2, B: 3}
    assert _edges(up) == {(B, "main.s.b1"), ("main.s.b1", "main.s.b2"), ("main.s.b2", "main.s.b3")}
    assert all(not n.masked and n.type == "TABLE" for n in up.nodes)

    down = admin.lineage.downstream(B)
    assert down.direction == "downstream"
    assert down.names() == ["main.s.b1", "main.s.b2", "main.s.b3"]
    assert _edges(down) == _edges(up)


def test_depth_limits_the_walk(admin):
    names = [B, "main.s.b1", "main.s.b2", "main.s.b3"]
    _chain(admin, names)
    assert admin.lineage.upstream("main.s.b3", depth=1).names() == ["main.s.b2"]
    assert _edges(admin.lineage.upstream("main.s.b3", depth=1)) == {("main.s.b2", "main.s.b3")}
    assert admin.lineage.upstream("main.s.b3", depth=2).names() == ["main.s.b2", "main.s.b1"]
    assert admin.lineage.downstream(B, depth=1).names() == ["main.s.b1"]
    assert admin.lineage.downstream(B, depth=99).names() == ["main.s.b1", "main.s.b2", "main.s.b3"]


def test_a_diamond_visits_the_shared_ancestor_once(admin):
    admin.sql("CREATE TABLE main.s.left_side AS SELECT id, x FROM main.s.a")
    admin.sql("CREATE TABLE main.s.right_side AS SELECT id, y FROM main.s.a")
    admin.sql(
        "CREATE TABLE main.s.joined AS SELECT l.id, l.x, r.y FROM main.s.left_side l "
        "JOIN main.s.right_side r ON l.id = r.id"
    )
    up = admin.lineage.upstream("main.s.joined")
    assert _depths(up) == {"main.s.joined": 0, "main.s.left_side": 1, "main.s.right_side": 1, A: 2}
    assert [n.name for n in up.nodes].count(A) == 1
    assert _edges(up) == {
        (A, "main.s.left_side"),
        (A, "main.s.right_side"),
        ("main.s.left_side", "main.s.joined"),
        ("main.s.right_side", "main.s.joined"),
    }
    down = admin.lineage.downstream(A)
    assert _depths(down) == {A: 0, "main.s.left_side": 1, "main.s.right_side": 1, "main.s.joined": 2}
    assert _edges(down) == _edges(up)


def test_a_cycle_ends(admin):
    admin.sql("CREATE TABLE main.s.derived AS SELECT id, x FROM main.s.a")
    admin.sql("INSERT INTO main.s.a (id, x) SELECT id + 100, x FROM main.s.derived")
    up = admin.lineage.upstream(A)
    assert _depths(up) == {A: 0, "main.s.derived": 1}
    assert _edges(up) == {("main.s.derived", A), (A, "main.s.derived")}
    down = admin.lineage.downstream("main.s.derived")
    assert _depths(down) == {"main.s.derived": 0, A: 1}


def test_a_deep_chain_comes_back_whole_in_order_of_depth(admin):
    names = [A, *(f"main.s.deep_{i:02d}" for i in range(1, 61))]
    _chain(admin, names)
    up = admin.lineage.upstream(names[-1])
    assert up.names() == list(reversed(names[:-1]))
    assert [n.depth for n in up.nodes] == list(range(61))
    assert len(up.edges) == 60
    down = admin.lineage.downstream(A)
    assert down.names() == names[1:]
    assert admin.lineage.downstream(A, depth=10).names() == names[1:11]


def test_the_graph_goes_through_views(admin):
    admin.sql("CREATE VIEW main.s.v AS SELECT id, x FROM main.s.a")
    admin.sql("CREATE TABLE main.s.t AS SELECT id FROM main.s.v")
    up = admin.lineage.upstream(T)
    assert [(n.name, n.type, n.depth) for n in up.nodes] == [(T, "TABLE", 0), (V, "VIEW", 1), (A, "TABLE", 2)]
    down = admin.lineage.downstream(V)
    assert [(n.name, n.type, n.depth) for n in down.nodes] == [(V, "VIEW", 0), (T, "TABLE", 1)]


def test_an_object_with_no_lineage_is_a_graph_of_one_node(admin):
    up = admin.lineage.upstream(C)
    assert [(n.name, n.depth, n.masked) for n in up.nodes] == [(C, 0, False)]
    assert up.edges == []
    assert up.names() == []
    assert list(up.edges_frame().columns) == ["source", "target", "last_event_time", "runs"]
    assert up.edges_frame().empty


def test_names_are_resolved_against_the_current_schema(admin):
    admin.sql("CREATE TABLE main.s.t AS SELECT id FROM main.s.a")
    admin.sql("USE main.s")
    assert admin.lineage.upstream("t").root == T
    assert admin.lineage.upstream("t").names() == [A]


def test_hidden_nodes_are_masked_and_the_walk_goes_through_them(users):
    admin, alice = users["admin"], users["alice"]
    admin.sql(
        "CREATE TABLE main.secret.middle AS SELECT a.id, a.x, p.salary FROM main.s.a a JOIN main.secret.payroll p ON a.id = p.id"
    )
    admin.sql("CREATE TABLE main.s.t AS SELECT id, x FROM main.secret.middle")

    up = alice.lineage.upstream(T)
    assert [(n.name, n.type, n.depth, n.masked) for n in up.nodes] == [
        (T, "TABLE", 0, False),
        ("<masked-1>", "MASKED", 1, True),
        (A, "TABLE", 2, False),
        ("<masked-2>", "MASKED", 2, True),
    ]
    assert _edges(up) == {("<masked-1>", T), (A, "<masked-1>"), ("<masked-2>", "<masked-1>")}
    assert up.names() == [A]
    assert "secret" not in repr(up) and "payroll" not in repr(up)
    assert "secret" not in up.nodes_frame().to_string() + up.edges_frame().to_string()

    down = alice.lineage.downstream(A)
    assert [(n.name, n.masked) for n in down.nodes] == [(A, False), ("<masked-1>", True), (T, False)]

    seen_by_admin = admin.lineage.upstream(T)
    assert _depths(seen_by_admin) == {T: 0, "main.secret.middle": 1, A: 2, PAYROLL: 2}
    assert not any(n.masked for n in seen_by_admin.nodes)


def test_nodes_frame_and_edges_frame(admin):
    admin.sql("INSERT INTO main.s.b SELECT id, x FROM main.s.a")
    admin.sql("INSERT INTO main.s.b SELECT id, x FROM main.s.a WHERE x > 10")
    admin.sql("CREATE TABLE main.s.t AS SELECT id, z FROM main.s.b")
    graph = admin.lineage.upstream(T)

    nodes = graph.nodes_frame()
    assert list(nodes.columns) == ["name", "type", "depth", "masked"]
    assert records(nodes) == [
        {"name": T, "type": "TABLE", "depth": 0, "masked": False},
        {"name": B, "type": "TABLE", "depth": 1, "masked": False},
        {"name": A, "type": "TABLE", "depth": 2, "masked": False},
    ]

    edges = graph.edges_frame()
    assert list(edges.columns) == ["source", "target", "last_event_time", "runs"]
    by_pair = {(r["source"], r["target"]): r for r in records(edges)}
    assert set(by_pair) == {(B, T), (A, B)}
    assert by_pair[(A, B)]["runs"] == 2
    assert by_pair[(B, T)]["runs"] == 1
    latest = admin.sql(
        "SELECT max(event_time) AS t FROM system.access.table_lineage "
        "WHERE source_table_full_name = ? AND target_table_full_name = ?",
        [A, B],
    )["t"][0]
    assert pd.Timestamp(by_pair[(A, B)]["last_event_time"]) == pd.Timestamp(latest)
    assert by_pair[(A, B)]["last_event_time"] < by_pair[(B, T)]["last_event_time"]


def _lineage_audit(admin: Catalog, name: str) -> list[dict[str, Any]]:
    frame = admin.sql(
        "SELECT user_identity.email AS email, request_params['direction'] AS direction, "
        "response.status_code AS status FROM system.access.audit "
        "WHERE action_name = 'getLineage' AND request_params['name'] = ? ORDER BY event_time",
        [name],
    )
    return records(frame)


def test_the_graph_of_an_object_the_reader_cannot_see_is_refused_and_audited(users):
    admin, alice, bob = users["admin"], users["alice"], users["bob"]
    admin.sql("GRANT USE SCHEMA ON SCHEMA main.secret TO analysts")  # alice may look in, not at payroll

    with pytest.raises(catalog.PermissionDenied):
        alice.lineage.upstream(PAYROLL)
    with pytest.raises(catalog.PermissionDenied):
        bob.lineage.downstream(A)
    with pytest.raises(catalog.NotFound):
        alice.lineage.upstream("main.s.no_such_table")

    assert _lineage_audit(admin, PAYROLL) == [{"email": "alice", "direction": "upstream", "status": 403}]
    assert _lineage_audit(admin, A) == [{"email": "bob", "direction": "downstream", "status": 403}]
    assert _lineage_audit(admin, "main.s.no_such_table") == [{"email": "alice", "direction": "upstream", "status": 404}]


def test_a_missing_and_a_hidden_table_answer_alike_in_a_schema_the_reader_cannot_use(users):
    alice = users["alice"]
    with pytest.raises(catalog.PermissionDenied) as hidden:
        alice.lineage.upstream(PAYROLL)
    with pytest.raises(catalog.PermissionDenied) as missing:
        alice.lineage.upstream("main.secret.no_such_table")
    assert hidden.value.message == missing.value.message


@pytest.mark.parametrize("depth", [0, -1, 1.5, "2", True])
def test_a_depth_that_is_not_a_positive_whole_number_is_refused(users, depth):
    admin = users["admin"]
    with pytest.raises(catalog.InvalidRequest):
        admin.lineage.upstream(A, depth=depth)
    with pytest.raises(catalog.InvalidRequest):
        users["alice"].lineage.downstream(A, depth=depth)
    statuses = [r["status"] for r in _lineage_audit(admin, A)]
    assert statuses == [400, 400]


def test_graph_requests_are_audited(users):
    users["alice"].lineage.upstream(A, depth=2)
    frame = users["admin"].sql(
        "SELECT request_params, response.status_code AS status, response.result AS result "
        "FROM system.access.audit WHERE action_name = 'getLineage'"
    )
    (row,) = records(frame)
    params = dict(row["request_params"])
    assert (params["name"], params["direction"], params["depth"]) == (A, "upstream", "2")
    assert row["status"] == 200
    assert row["result"] == "1 node(s), 0 edge(s)"


# -- renames -----------------------------------------------------------------------------------


def test_lineage_follows_a_rename(admin):
    admin.sql("CREATE TABLE main.s.t AS SELECT a.id, a.x, b.z FROM main.s.a a JOIN main.s.b b USING (id)")
    admin.sql("CREATE TABLE main.s.u AS SELECT id, x FROM main.s.t")
    admin.sql("ALTER TABLE main.s.t RENAME TO main.s.t2")

    assert admin.lineage.upstream("main.s.t2").names() == [A, B]
    assert admin.lineage.upstream("main.s.u").names() == ["main.s.t2", A, B]
    assert admin.lineage.downstream(A).names() == ["main.s.t2", "main.s.u"]
    names = admin.sql(
        "SELECT DISTINCT source_table_full_name AS s, target_table_full_name AS t FROM system.access.table_lineage"
    )
    pairs = set(zip(names["s"], names["t"], strict=True))
    assert {(A, "main.s.t2"), (B, "main.s.t2"), ("main.s.t2", "main.s.u")} <= pairs
    assert not any(T in pair for pair in pairs)
    columns = admin.sql(
        "SELECT source_column_name FROM system.access.column_lineage WHERE target_table_full_name = 'main.s.t2' "
        "AND target_column_name = 'z'"
    )
    assert columns["source_column_name"].tolist() == ["z"]
    # the events stay as they were recorded, under the old name
    recorded = admin.sql(
        "SELECT count(*) AS n FROM system.access.lineage_events "
        "WHERE event ->> '$.outputs[0].name' = 'main.s.t' AND event_type = 'COMPLETE'"
    )
    assert recorded["n"][0] == 1


def test_a_rename_into_an_existing_link_keeps_one_link(admin):
    admin.sql("CREATE TABLE main.s.t AS SELECT id, x FROM main.s.a")
    admin.sql("CREATE TABLE main.s.u AS SELECT id, x FROM main.s.t")
    admin.sql("DROP TABLE main.s.t")
    admin.sql("CREATE TABLE main.s.t0 AS SELECT id, x FROM main.s.a")
    admin.sql("INSERT INTO main.s.u SELECT id, x FROM main.s.t0")
    admin.sql("ALTER TABLE main.s.t0 RENAME TO main.s.t")  # t's old edges and t0's now share a name

    graph = admin.lineage.upstream("main.s.u")
    assert graph.names() == [T, A]
    assert [(e.source, e.target, e.runs) for e in graph.edges] == [(A, T, 2), (T, "main.s.u", 2)]
