"""The audit query library (sql/audit/): each query against a realistic history, its parameters, the CLI.

Every test gets a copy of one prepared home whose history is the story an auditor would look
into: alice (analysts) reads churn_features twice and is refused an INSERT; bob, who holds
nothing, is refused two SELECTs and a read_table; carol writes with INSERT and write_table,
builds churn_train and churn_scores from it with CTAS and feeds churn_scores back into
churn_features (a lineage cycle), makes a churn_sample in Python and fails one INSERT; an
Airflow job loads churn_features from S3; the admin grants and revokes SELECT for bob and
applies a policy file. Running a query is itself audited, so each test starts from a fresh copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pytest
from sqlglot import exp

import catalog
from catalog import audit_queries
from catalog.api import Catalog
from catalog.sql.parse import DIALECT

F = TypeVar("F", bound=Callable[..., object])
TESTED: set[str] = set()


def covers(*names: str) -> Callable[[F], F]:
    """Mark a test as checking the results of these queries (see test_every_query_is_tested)."""

    def mark(test: F) -> F:
        TESTED.update(names)
        return test

    return mark


FEATURES = "main.ml.churn_features"
SETUP = (
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE USER carol",
    "CREATE GROUP analysts",
    "ALTER GROUP analysts ADD USER alice",
    "GRANT USE CATALOG ON CATALOG main TO analysts",
    "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO analysts",
    "GRANT USE CATALOG ON CATALOG main TO carol",
    "GRANT USE SCHEMA, SELECT, MODIFY, CREATE TABLE ON SCHEMA main.ml TO carol",
    "CREATE VIEW main.ml.churn_recent AS SELECT customer_id, churned FROM main.ml.churn_features "
    "WHERE tenure_months < 12",
)
LOAD_EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2026-11-23T08:00:00Z",
    "run": {"runId": "6f1d1c9e-8a4b-4a0e-9a57-0c5a1f3b2d11"},
    "job": {"namespace": "airflow", "name": "load_churn_features"},
    "inputs": [{"namespace": "s3://landing", "name": "customers.csv"}],
    "outputs": [{"namespace": "catalog", "name": FEATURES}],
}
CYCLE_INSERT = (
    "INSERT INTO main.ml.churn_features SELECT customer_id + 100, 0, 0.0, CAST(score > 0.5 AS INT) "
    "FROM main.ml.churn_scores"
)
BAD_INSERT = "INSERT INTO main.ml.churn_features VALUES ('x')"


def make_history(path: Path) -> None:
    opened: list[Catalog] = []

    def connect(user: str) -> Catalog:
        opened.append(catalog.connect(path, user=user))
        return opened[-1]

    try:
        admin = connect("admin")
        admin.sql("CREATE CATALOG main")
        admin.sql("CREATE SCHEMA main.ml")
        features = pd.DataFrame(
            {"customer_id": [1, 2, 3, 4], "tenure_months": [3, 14, 40, 7],
             "avg_session_minutes": [12.5, 30.0, 8.25, 55.0], "churned": [1, 0, 0, 1]}
        )  # fmt: skip
        admin.create_table(FEATURES, features)
        for statement in SETUP:
            admin.sql(statement)
        admin.lineage.ingest(json.dumps(LOAD_EVENT))
        alice, bob, carol = connect("alice"), connect("bob"), connect("carol")

        alice.sql("SELECT count(*) AS n FROM main.ml.churn_features")
        alice.read_table(FEATURES)
        with pytest.raises(catalog.PermissionDenied):
            alice.sql("INSERT INTO main.ml.churn_features VALUES (9, 1, 1.0, 0)")

        with pytest.raises(catalog.PermissionDenied):
            bob.sql("SELECT * FROM main.ml.churn_features")
        with pytest.raises(catalog.PermissionDenied):
            bob.read_table(FEATURES)
        with pytest.raises(catalog.PermissionDenied):
            bob.sql("SELECT customer_id FROM main.ml.churn_features")
        admin.sql("GRANT SELECT ON TABLE main.ml.churn_features TO bob")
        admin.sql("REVOKE SELECT ON TABLE main.ml.churn_features FROM bob")

        carol.sql("INSERT INTO main.ml.churn_features VALUES (5, 2, 20.0, 0)")
        row = pd.DataFrame({"customer_id": [6], "tenure_months": [30], "avg_session_minutes": [5.0], "churned": [0]})
        carol.write_table(FEATURES, row)
        carol.sql("CREATE TABLE main.ml.churn_train AS SELECT * FROM main.ml.churn_features WHERE customer_id <= 4")
        carol.sql(
            "CREATE TABLE main.ml.churn_scores AS SELECT customer_id, churned * 0.9 AS score FROM main.ml.churn_train"
        )
        carol.sql(CYCLE_INSERT)
        with pytest.raises(catalog.SqlError):
            carol.sql(BAD_INSERT)
        carol.sql("SELECT * FROM main.ml.churn_recent")  # a read of churn_features through a view
        carol.create_table("main.ml.churn_sample", carol.read_table("main.ml.churn_train").head(2))

        admin.policy.apply(admin.policy.export() + "p, bob, catalog:main, USE CATALOG\n")
    finally:
        for cat in reversed(opened):
            cat.close()


@pytest.fixture(scope="session")
def history_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit_queries") / "home"
    make_history(path)
    return path


@pytest.fixture
def home(tmp_path: Path, history_template: Path) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared history for every test."""
    path = tmp_path / "home"
    shutil.copytree(history_template, path)
    return path


def today() -> date:
    return datetime.now(UTC).date()  # audit rows are dated in UTC


YESTERDAY = str(today() - timedelta(days=1))
TOMORROW = str(today() + timedelta(days=1))


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    """The frame's rows as tuples of the named columns, NULLs as None."""
    picked = frame[list(columns)].astype(object)
    return [tuple(None if pd.isna(v) else v for v in row) for row in picked.itertuples(index=False, name=None)]


# -- the library itself ------------------------------------------------------------------------


def test_every_query_is_tested():
    assert set(audit_queries.library()) == TESTED


@pytest.mark.parametrize("name", sorted(audit_queries.library()))
def test_header_declares_exactly_the_markers_the_query_uses(name):
    query = audit_queries.library()[name]
    assert query.name == name and query.title and query.description
    (tree,) = DIALECT.parse(query.sql)
    markers = {p.name for p in tree.find_all(exp.Placeholder)}
    assert set(query.parameter_names) == markers
    for parameter, description in query.parameters:
        assert description.endswith(")") and "(" in description, f":{parameter} needs an example"


def test_header_is_parsed_into_title_description_and_parameters():
    query = audit_queries.library()["who_read_table"]
    assert query.title == "Who read a table"
    assert query.description.startswith("Every principal who read :table_name on or after :since")
    assert query.parameters == (
        ("table_name", "the table's full name, catalog.schema.table (main.ml.churn_features)"),
        ("since", "the first day to include, a date (2026-11-16)"),
    )


def test_a_file_without_title_or_query_is_a_packaging_error():
    with pytest.raises(ValueError, match="needs a '-- title'"):
        audit_queries.parse_query("bad", "-- :since  a date (2026-11-16)\nSELECT 1")
    with pytest.raises(ValueError, match="query after the header"):
        audit_queries.parse_query("bad", "-- A title\n--\n-- :since  a date (2026-11-16)\n")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The catalog command as a real subprocess (as tests/test_cli.py runs it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CATALOG_HOME", "CATALOG_USER")}
    command = [sys.executable, "-m", "catalog.cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


# -- each query's answer ----------------------------------------------------------------------


@covers("who_read_table")
def test_who_read_table(admin):
    found = audit_queries.run(admin, "who_read_table", table_name=FEATURES, since=YESTERDAY)
    assert list(found.columns) == ["principal", "reads", "first_read", "last_read", "actions"]
    # alice: a SELECT and a read_table; carol: a SELECT on a view over it. bob's refusals and
    # carol's CTAS and INSERT ... SELECT (writes) are not reads.
    assert rows(found, "principal", "reads", "actions") == [
        ("alice", 2, "executeQuery, readTable"),
        ("carol", 1, "executeQuery"),
    ]
    alice = found.iloc[0]
    assert alice.first_read < alice.last_read
    train = audit_queries.run(admin, "who_read_table", table_name="Main.ML.Churn_Train", since=YESTERDAY)
    assert rows(train, "principal", "reads", "actions") == [("carol", 1, "readTable")]


@covers("who_read_table")
def test_who_read_table_since_a_later_day_is_empty(admin):
    assert audit_queries.run(admin, "who_read_table", table_name=FEATURES, since=TOMORROW).empty
    assert len(audit_queries.run(admin, "who_read_table", table_name=FEATURES, since=today())) == 2


@covers("what_feeds")
def test_what_feeds_walks_back_through_sql_python_and_external_writes(admin):
    found = audit_queries.run(admin, "what_feeds", name="main.ml.churn_sample", max_depth=10)
    assert list(found.columns) == ["source", "source_type", "depth", "feeds"]
    # churn_sample <- churn_train <- churn_features <- {churn_scores (the cycle), s3 file}; the
    # walk stops where churn_scores leads back to churn_train.
    assert rows(found, "source", "source_type", "depth", "feeds") == [
        ("main.ml.churn_train", "TABLE", 1, "main.ml.churn_sample"),
        ("main.ml.churn_features", "TABLE", 2, "main.ml.churn_train"),
        ("main.ml.churn_scores", "TABLE", 3, "main.ml.churn_features"),
        ("s3://landing/customers.csv", "PATH", 3, "main.ml.churn_features"),
    ]


@covers("what_feeds")
def test_what_feeds_ends_on_a_cycle_and_leaves_the_object_out(admin):
    found = audit_queries.run(admin, "what_feeds", name=FEATURES, max_depth=50)
    assert rows(found, "source", "depth", "feeds") == [
        ("main.ml.churn_scores", 1, "main.ml.churn_features"),
        ("s3://landing/customers.csv", 1, "main.ml.churn_features"),
        ("main.ml.churn_train", 2, "main.ml.churn_scores"),
    ]


@covers("what_feeds")
def test_what_feeds_stops_at_max_depth_and_knows_nothing_of_unfed_objects(admin):
    found = audit_queries.run(admin, "what_feeds", name="main.ml.churn_sample", max_depth="2")
    assert rows(found, "source", "depth") == [("main.ml.churn_train", 1), ("main.ml.churn_features", 2)]
    view = audit_queries.run(admin, "what_feeds", name="main.ml.churn_recent", max_depth=1)
    assert rows(view, "source", "depth") == [(FEATURES, 1)]
    assert audit_queries.run(admin, "what_feeds", name="main.ml.nothing_here", max_depth=10).empty


@covers("writes_by_principal")
def test_writes_by_principal(admin):
    found = audit_queries.run(admin, "writes_by_principal", principal="Carol", since=YESTERDAY)
    assert list(found.columns) == [
        "event_time",
        "action_name",
        "written",
        "tables_touched",
        "origin",
        "status_code",
        "error_message",
        "command_text",
    ]
    assert rows(found, "action_name", "written", "origin", "status_code", "command_text") == [
        ("createTable", "main.ml.churn_sample", "PYTHON", 200, None),
        ("insertInto", FEATURES, "SQL", 400, BAD_INSERT),
        ("insertInto", FEATURES, "SQL", 200, CYCLE_INSERT),
        (
            "createTable",
            "main.ml.churn_scores",
            "SQL",
            200,
            "CREATE TABLE main.ml.churn_scores AS SELECT customer_id, churned * 0.9 AS score FROM main.ml.churn_train",
        ),
        (
            "createTable",
            "main.ml.churn_train",
            "SQL",
            200,
            "CREATE TABLE main.ml.churn_train AS SELECT * FROM main.ml.churn_features WHERE customer_id <= 4",
        ),
        ("writeTable", FEATURES, "PYTHON", 200, None),
        ("insertInto", FEATURES, "SQL", 200, "INSERT INTO main.ml.churn_features VALUES (5, 2, 20.0, 0)"),
    ]
    assert found.event_time.is_monotonic_decreasing
    assert found.tables_touched[2] == "main.ml.churn_features, main.ml.churn_scores"


@covers("writes_by_principal")
def test_writes_by_principal_includes_refused_writes_and_nothing_of_others(admin):
    alice = audit_queries.run(admin, "writes_by_principal", principal="alice", since=YESTERDAY)
    assert rows(alice, "action_name", "written", "tables_touched", "status_code") == [
        ("insertInto", None, FEATURES, 403),
    ]
    assert "does not have MODIFY on table main.ml.churn_features" in alice.error_message[0]
    assert audit_queries.run(admin, "writes_by_principal", principal="bob", since=YESTERDAY).empty
    assert audit_queries.run(admin, "writes_by_principal", principal="carol", since=TOMORROW).empty


@covers("failed_writes")
def test_failed_writes(admin):
    found = audit_queries.run(admin, "failed_writes", since=YESTERDAY)
    assert rows(found, "principal", "action_name", "written", "status_code", "command_text") == [
        ("carol", "insertInto", FEATURES, 400, BAD_INSERT),
        ("alice", "insertInto", None, 403, "INSERT INTO main.ml.churn_features VALUES (9, 1, 1.0, 0)"),
    ]
    assert "has 4 columns but 1 values were supplied" in found.error_message[0]
    assert audit_queries.run(admin, "failed_writes", since=TOMORROW).empty


@covers("denied_by_principal")
def test_denied_by_principal(admin):
    found = audit_queries.run(admin, "denied_by_principal", since=YESTERDAY)
    assert list(found.columns) == [
        "principal",
        "action_name",
        "denials",
        "first_denied",
        "last_denied",
        "last_error_message",
    ]
    assert rows(found, "principal", "action_name", "denials") == [
        ("bob", "executeQuery", 2),
        ("alice", "insertInto", 1),
        ("bob", "readTable", 1),
    ]
    assert "GRANT USE CATALOG ON CATALOG main TO bob" in found.last_error_message[0]
    assert found.first_denied[0] < found.last_denied[0]
    assert "GRANT MODIFY ON TABLE main.ml.churn_features TO alice" in found.last_error_message[1]
    assert audit_queries.run(admin, "denied_by_principal", since=TOMORROW).empty


@covers("grants_changes")
def test_grants_changes(admin):
    found = audit_queries.run(admin, "grants_changes", since=YESTERDAY)
    assert list(found.columns) == [
        "event_time",
        "changed_by",
        "change",
        "privileges",
        "securable",
        "principal",
        "via",
        "command_text",
    ]
    assert rows(found, "changed_by", "change", "privileges", "securable", "principal", "via") == [
        ("admin", "GRANT", "USE CATALOG", "CATALOG main", "analysts", "sql"),
        ("admin", "GRANT", "USE SCHEMA, SELECT", "SCHEMA main.ml", "analysts", "sql"),
        ("admin", "GRANT", "USE CATALOG", "CATALOG main", "carol", "sql"),
        ("admin", "GRANT", "USE SCHEMA, SELECT, MODIFY, CREATE TABLE", "SCHEMA main.ml", "carol", "sql"),
        ("admin", "GRANT", "SELECT", "TABLE main.ml.churn_features", "bob", "sql"),
        ("admin", "REVOKE", "SELECT", "TABLE main.ml.churn_features", "bob", "sql"),
        ("admin", "GRANT", "USE CATALOG", "CATALOG main", "bob", "policy"),
    ]
    assert found.command_text[5] == "REVOKE SELECT ON TABLE main.ml.churn_features FROM bob"
    assert audit_queries.run(admin, "grants_changes", since=TOMORROW).empty


@covers("grants_changes")
def test_grants_changes_leaves_out_refused_grants(admin, connect):
    carol = connect("carol")
    with pytest.raises(catalog.PermissionDenied):
        carol.sql("GRANT SELECT ON SCHEMA main.ml TO bob")
    found = audit_queries.run(admin, "grants_changes", since=YESTERDAY)
    assert "carol" not in set(found.changed_by)


# -- parameters and access ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"table_name": FEATURES}, "missing :since; it takes :table_name, :since"),
        ({}, "missing :table_name, :since; it takes :table_name, :since"),
        (
            {"table_name": FEATURES, "since": YESTERDAY, "until": TOMORROW},
            "unknown :until; it takes :table_name, :since",
        ),
        ({"since": YESTERDAY, "table": FEATURES}, "missing :table_name; unknown :table; it takes"),
    ],
)
def test_missing_or_unknown_parameters_are_refused(admin, params, message):
    with pytest.raises(catalog.InvalidRequest) as raised:
        audit_queries.run(admin, "who_read_table", **params)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in raised.value.message
    assert raised.value.details["expected"] == ["table_name", "since"]


def test_a_parameter_called_name_is_a_parameter(admin):
    with pytest.raises(catalog.InvalidRequest, match="missing :max_depth"):
        audit_queries.run(admin, "what_feeds", name=FEATURES)


def test_an_unknown_query_lists_the_available_ones(admin):
    with pytest.raises(catalog.NotFound) as raised:
        audit_queries.run(admin, "who_wrote_table", table_name=FEATURES)
    assert raised.value.error_code == "AUDIT_QUERY_NOT_FOUND"
    assert "'who_wrote_table'" in raised.value.message
    assert ", ".join(sorted(audit_queries.library())) in raised.value.message


def test_a_bad_value_is_a_catalog_error(admin):
    with pytest.raises(catalog.CatalogError):
        audit_queries.run(admin, "denied_by_principal", since="last week")


@pytest.mark.parametrize("name", sorted(audit_queries.library()))
def test_a_non_admin_is_refused(connect, name):
    alice = connect("alice")
    params = {p: "1" for p in audit_queries.library()[name].parameter_names}
    with pytest.raises(catalog.PermissionDenied, match=r"system\.access"):
        audit_queries.run(alice, name, **params)


def test_a_granted_reader_may_run_them(admin, connect):
    admin.sql("GRANT USE CATALOG ON CATALOG system TO bob")
    admin.sql("GRANT USE SCHEMA, SELECT ON SCHEMA system.access TO bob")
    found = audit_queries.run(connect("bob"), "denied_by_principal", since=YESTERDAY)
    assert rows(found, "principal", "action_name", "denials")[0] == ("bob", "executeQuery", 2)


# -- the command line --------------------------------------------------------------------------


def test_cli_lists_the_queries():
    result = run_cli("--format", "csv", "audit", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "name,title,parameters"
    assert [line.split(",")[0] for line in lines[1:]] == sorted(audit_queries.library())
    assert 'who_read_table,Who read a table,":table_name, :since"' in lines
    table = run_cli("audit", "list")
    assert "| what_feeds" in table.stdout and f"({len(audit_queries.library())} rows)" in table.stdout


def test_cli_runs_a_query(home):
    result = run_cli(
        "--home", str(home), "--user", "admin", "--format", "json",
        "audit", "run", "who_read_table", "-p", f"table_name={FEATURES}", "-p", f"since={YESTERDAY}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [(r["principal"], r["reads"]) for r in found] == [("alice", 2), ("carol", 1)]
    table = run_cli(
        "--home", str(home), "--user", "admin",
        "audit", "run", "what_feeds", "-p", "name=main.ml.churn_train", "-p", "max_depth=5",
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "| s3://landing/customers.csv" in table.stdout and "(3 rows)" in table.stdout


def test_cli_shows_a_query():
    result = run_cli("audit", "show", "what_feeds")
    assert result.returncode == 0
    assert result.stdout == audit_queries.library()["what_feeds"].sql


def test_cli_errors(home):
    base = ("--home", str(home), "--user", "admin", "audit", "run")
    missing = run_cli(*base, "who_read_table", "-p", f"table_name={FEATURES}")
    assert missing.returncode == 1
    assert "Error [INVALID_PARAMETER_VALUE]" in missing.stderr and "it takes :table_name, :since" in missing.stderr
    unknown = run_cli(*base, "who_wrote_table")
    assert unknown.returncode == 1 and "AUDIT_QUERY_NOT_FOUND" in unknown.stderr and "who_read_table" in unknown.stderr
    refused = run_cli("--home", str(home), "--user", "alice", "audit", "run", "failed_writes", "-p", "since=2026-11-16")
    assert refused.returncode == 1 and "Error [PERMISSION_DENIED]" in refused.stderr
    assert run_cli(*base, "failed_writes", "-p", "since").returncode == 2
    twice = run_cli(*base, "failed_writes", "-p", "since=2026-11-16", "-p", "since=2026-11-17")
    assert twice.returncode == 2 and "given twice" in twice.stderr
    assert run_cli("audit").returncode == 2
