"""system.access.audit: one row per statement or API call, allowed or refused, in Databricks' columns.

Every test gets a copy of one prepared home (real DuckDB files): catalog ``main`` with schemas
``ml`` (tables churn and other, view churn_v) and ``secret`` (table payroll); alice belongs to
analysts, which hold USE CATALOG on main and USE SCHEMA + SELECT on main.ml; bob holds nothing.
Reading the audit log is itself audited, so the helpers below pick rows by their command text or
action rather than by position.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import build_home, copy_home

import catalog
from catalog.api import Catalog

WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.ml",
    "CREATE SCHEMA main.secret",
    "CREATE TABLE main.ml.churn (id INT, v INT)",
    "INSERT INTO main.ml.churn VALUES (1, 10), (2, 20)",
    "CREATE TABLE main.ml.other (id INT)",
    "CREATE VIEW main.ml.churn_v AS SELECT id FROM main.ml.churn",
    "CREATE TABLE main.secret.payroll (id INT, salary INT)",
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE GROUP analysts",
    "ALTER GROUP analysts ADD USER alice",
    "GRANT USE CATALOG ON CATALOG main TO analysts",
    "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO analysts",
)


@pytest.fixture(scope="session")
def audit_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_home(tmp_path_factory.mktemp("audit"), WORLD)


@pytest.fixture
def home(tmp_path: Path, audit_template: Path) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared world for every test."""
    return copy_home(audit_template, tmp_path)


@pytest.fixture(autouse=True)
def index_decider(monkeypatch: pytest.MonkeyPatch) -> None:
    """decision_reasons are asserted in the grant index's words (CATALOG_AUTHZ=casbin words them
    differently, though it reaches the same decisions)."""
    monkeypatch.delenv("CATALOG_AUTHZ", raising=False)


@pytest.fixture
def users(admin: Catalog, connect: Callable[[str], Catalog]) -> dict[str, Catalog]:
    return {"admin": admin, "alice": connect("alice"), "bob": connect("bob")}


# -- helpers -----------------------------------------------------------------------------------

AUDIT_COLUMNS = [
    "workspace_id",
    "event_id",
    "event_time",
    "event_date",
    "source_ip_address",
    "user_agent",
    "session_id",
    "user_identity",
    "service_name",
    "action_name",
    "request_id",
    "request_params",
    "response",
    "audit_level",
    "decision_reasons",
]

_SELECT = """
SELECT event_time, event_date, user_identity.email AS email, service_name, action_name,
       request_params, response.status_code AS status_code, response.error_message AS error_message,
       session_id, decision_reasons
FROM system.access.audit
"""


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def audit(admin: Catalog, where: str = "TRUE", params: list | None = None) -> list[dict[str, Any]]:
    """Audit rows matching ``where``, oldest first, as plain Python values."""
    frame = admin.sql(f"{_SELECT} WHERE {where} ORDER BY event_time", params)
    return [{k: _plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def rows_for(admin: Catalog, command: str) -> list[dict[str, Any]]:
    """Audit rows of the SQL text ``command`` (its request_params.commandText)."""
    return audit(admin, "request_params['commandText'] = ?", [command])


def only_row(admin: Catalog, command: str) -> dict[str, Any]:
    found = rows_for(admin, command)
    assert len(found) == 1, found
    return found[0]


def refused(cat: Catalog, statement: str) -> catalog.CatalogError:
    with pytest.raises(catalog.CatalogError) as raised:
        cat.sql(statement)
    return raised.value


def api_rows(admin: Catalog, action: str, name: str) -> list[dict[str, Any]]:
    return audit(admin, "action_name = ? AND request_params['name'] = ?", [action, name])


# -- the shape of the log ------------------------------------------------------------------------


def test_the_audit_log_has_the_databricks_columns(admin):
    assert list(admin.sql("SELECT * FROM system.access.audit LIMIT 1").columns) == AUDIT_COLUMNS


def test_nested_columns_are_addressable_as_in_databricks(admin):
    frame = admin.sql(
        "SELECT user_identity.email AS email, user_identity.subject_name AS subject, "
        "request_params['commandText'] AS command, response.status_code AS status, "
        "response.error_message AS error, response.result AS result, audit_level "
        "FROM system.access.audit WHERE action_name = 'createCatalog'"
    )
    assert frame.astype(object).to_dict("records") == [
        {
            "email": "admin",
            "subject": "admin",
            "command": "CREATE CATALOG main",
            "status": 200,
            "error": None,
            "result": "0 row(s)",
            "audit_level": "WORKSPACE_LEVEL",
        }
    ]


def test_the_first_row_is_the_creation_of_the_home(admin):
    first = audit(admin)[0]
    assert (first["email"], first["action_name"], first["status_code"]) == ("admin", "createMetastore", 200)


def test_event_date_is_the_date_of_event_time_and_rows_come_in_the_order_they_happened(users):
    statements = ["SELECT 1 AS a", "SELECT 2 AS b", "SELECT 3 AS c"]
    for statement in statements:
        users["alice"].sql(statement)
    found = audit(
        users["admin"], "request_params['commandText'] IN ('SELECT 1 AS a', 'SELECT 2 AS b', 'SELECT 3 AS c')"
    )
    assert [r["request_params"]["commandText"] for r in found] == statements
    for row in found:
        assert pd.Timestamp(row["event_date"]).date() == pd.Timestamp(row["event_time"]).tz_convert("UTC").date()
    times = [pd.Timestamp(r["event_time"]) for r in found]
    assert times == sorted(times)


def test_each_connection_has_its_own_session_id(admin, connect):
    first, second = connect("alice"), connect("alice")
    first.sql("SELECT 1 AS first_one")
    second.sql("SELECT 1 AS second_one")
    one, two = only_row(admin, "SELECT 1 AS first_one"), only_row(admin, "SELECT 1 AS second_one")
    assert one["session_id"] == first.session.session_id
    assert two["session_id"] == second.session.session_id
    assert one["session_id"] != two["session_id"]


# -- allowed statements: 200, with the grant that allowed each check ------------------------------

ALLOWED = [
    ("alice", "SELECT * FROM main.ml.churn", "executeQuery", "SELECT on schema main.ml granted to analysts"),
    ("alice", "SELECT * FROM main.ml.churn_v", "executeQuery", "SELECT on schema main.ml granted to analysts"),
    ("alice", "USE SCHEMA main.ml", "setCurrentNamespace", "USE SCHEMA on schema main.ml granted to analysts"),
    ("alice", "DESCRIBE TABLE main.ml.churn", "getTable", "allowed BROWSE on table main.ml.churn"),
    ("alice", "SHOW TABLES IN main.ml", "listObjects", "allowed BROWSE on schema main.ml"),
    ("alice", "SHOW GRANTS ON TABLE main.ml.churn", "getPermissions", "allowed BROWSE on table main.ml.churn"),
    ("admin", "CREATE CATALOG sales", "createCatalog", "CREATE CATALOG on the metastore: metastore admin"),
    ("admin", "CREATE SCHEMA main.extra", "createSchema", "CREATE SCHEMA on catalog main: owner of catalog main"),
    ("admin", "CREATE TABLE main.ml.t (id INT)", "createTable", "CREATE TABLE on schema main.ml: owner"),
    ("admin", "CREATE TABLE main.ml.t AS SELECT * FROM main.ml.churn", "createTable", "SELECT on table main.ml.churn"),
    ("admin", "CREATE VIEW main.ml.v AS SELECT id FROM main.ml.churn", "createView", "CREATE TABLE on schema main.ml"),
    ("admin", "INSERT INTO main.ml.churn VALUES (3, 30)", "insertInto", "MODIFY on table main.ml.churn"),
    ("admin", "UPDATE main.ml.churn SET v = 0", "updateTable", "MODIFY on table main.ml.churn"),
    ("admin", "DELETE FROM main.ml.churn WHERE id = 1", "deleteFrom", "SELECT on table main.ml.churn"),
    (
        "admin",
        "MERGE INTO main.ml.churn t USING (SELECT 1 AS id, 5 AS v) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v",
        "mergeInto",
        "MODIFY on table main.ml.churn",
    ),
    ("admin", "TRUNCATE TABLE main.ml.churn", "truncateTable", "MODIFY on table main.ml.churn"),
    ("admin", "ALTER TABLE main.ml.other RENAME TO other2", "renameTable", "MANAGE on table main.ml.other"),
    ("admin", "ALTER TABLE main.ml.other OWNER TO bob", "updateOwner", "MANAGE on table main.ml.other"),
    ("admin", "COMMENT ON TABLE main.ml.other IS 'spare'", "updateComment", "MANAGE on table main.ml.other"),
    ("admin", "DROP TABLE main.ml.other", "deleteTable", "MANAGE on table main.ml.other"),
    ("admin", "DROP VIEW main.ml.churn_v", "deleteView", "MANAGE on view main.ml.churn_v"),
    ("admin", "DROP SCHEMA main.secret CASCADE", "deleteSchema", "MANAGE on schema main.secret"),
    ("admin", "DROP CATALOG main CASCADE", "deleteCatalog", "MANAGE on catalog main"),
    ("admin", "GRANT SELECT ON TABLE main.ml.other TO bob", "updatePermissions", "MANAGE on table main.ml.other"),
    ("admin", "REVOKE SELECT ON SCHEMA main.ml FROM analysts", "updatePermissions", "MANAGE on schema main.ml"),
    ("admin", "CREATE USER carol", "createPrincipal", "METASTORE ADMIN"),
    ("admin", "CREATE GROUP readers", "createPrincipal", "METASTORE ADMIN"),
    ("admin", "ALTER GROUP analysts ADD USER bob", "updateGroupMembers", "METASTORE ADMIN"),
    ("admin", "DROP USER bob", "deletePrincipal", "METASTORE ADMIN"),
]


@pytest.mark.parametrize(("actor", "statement", "action", "reason"), ALLOWED, ids=[r[1][:70] for r in ALLOWED])
def test_an_allowed_statement_is_one_row_with_status_200(users, actor, statement, action, reason):
    cat = users[actor]
    cat.sql(statement)
    row = only_row(users["admin"], statement)
    assert row["email"] == actor
    assert row["action_name"] == action
    assert row["service_name"] == "unityCatalog"
    assert row["status_code"] == 200
    assert row["error_message"] is None
    assert row["session_id"] == cat.session.session_id
    assert row["decision_reasons"], "an allowed statement records the checks that allowed it"
    assert all(r.startswith("allowed ") for r in row["decision_reasons"])
    assert any(reason in r for r in row["decision_reasons"]), row["decision_reasons"]


def test_every_check_of_a_read_is_recorded_in_order(users):
    users["alice"].sql("SELECT * FROM main.ml.churn")
    assert only_row(users["admin"], "SELECT * FROM main.ml.churn")["decision_reasons"] == [
        "allowed USE CATALOG on catalog main: USE CATALOG on catalog main granted to analysts",
        "allowed USE SCHEMA on schema main.ml: USE SCHEMA on schema main.ml granted to analysts",
        "allowed SELECT on table main.ml.churn: SELECT on schema main.ml granted to analysts",
    ]


def test_the_row_names_the_objects_the_statement_touched(users):
    users["alice"].sql("SELECT * FROM main.ml.churn")
    params = only_row(users["admin"], "SELECT * FROM main.ml.churn")["request_params"]
    assert params == {"commandText": "SELECT * FROM main.ml.churn", "full_name_arg": "main.ml.churn"}


# -- denials: 403, with the missing privilege in error_message and decision_reasons ---------------

DENIED = [
    ("bob", "SELECT * FROM main.ml.churn", "executeQuery", "USE CATALOG", "denied USE CATALOG on catalog main"),
    (
        "alice",
        "SELECT * FROM main.secret.payroll",
        "executeQuery",
        "USE SCHEMA",
        "denied USE SCHEMA on schema main.secret",
    ),
    (
        "alice",
        "INSERT INTO main.ml.churn VALUES (3, 30)",
        "insertInto",
        "MODIFY",
        "denied MODIFY on table main.ml.churn",
    ),
    ("alice", "UPDATE main.ml.churn SET v = 0", "updateTable", "MODIFY", "denied MODIFY on table main.ml.churn"),
    (
        "alice",
        "CREATE TABLE main.ml.t (id INT)",
        "createTable",
        "CREATE TABLE",
        "denied CREATE TABLE on schema main.ml",
    ),
    ("alice", "DROP TABLE main.ml.churn", "deleteTable", "MANAGE", "denied MANAGE on table main.ml.churn"),
    ("alice", "GRANT SELECT ON TABLE main.ml.churn TO bob", "updatePermissions", "MANAGE", "denied MANAGE on table"),
    ("alice", "ALTER TABLE main.ml.churn OWNER TO alice", "updateOwner", "MANAGE", "denied MANAGE on table"),
    ("bob", "CREATE CATALOG sales", "createCatalog", "CREATE CATALOG", "denied CREATE CATALOG on the metastore"),
    ("bob", "CREATE USER carol", "createPrincipal", "metastore admin", "denied METASTORE ADMIN on the metastore"),
    ("bob", "ALTER GROUP analysts ADD USER bob", "updateGroupMembers", "metastore admin", "denied METASTORE ADMIN"),
    # Without USE CATALOG, bob is refused at the catalog: whether the table exists stays hidden.
    ("bob", "DESCRIBE TABLE main.ml.churn", "getTable", "USE CATALOG", "denied USE CATALOG on catalog main"),
    ("bob", "SHOW GRANTS ON TABLE main.ml.churn", "getPermissions", "USE CATALOG", "denied USE CATALOG on catalog"),
    ("bob", "USE CATALOG main", "setCurrentNamespace", "USE CATALOG", "denied USE CATALOG on catalog main"),
    (
        "bob",
        "SELECT * FROM system.access.audit",
        "executeQuery",
        "USE SCHEMA",
        "denied USE SCHEMA on schema system.access",
    ),
]


@pytest.mark.parametrize(
    ("actor", "statement", "action", "privilege", "reason"), DENIED, ids=[f"{r[0]}: {r[1][:60]}" for r in DENIED]
)
def test_a_denied_statement_is_one_row_with_status_403_and_the_reason(
    users, actor, statement, action, privilege, reason
):
    error = refused(users[actor], statement)
    assert error.error_code == "PERMISSION_DENIED"
    row = only_row(users["admin"], statement)
    assert (row["email"], row["action_name"], row["status_code"]) == (actor, action, 403)
    assert row["error_message"] == error.message
    assert privilege in row["error_message"]
    assert row["decision_reasons"][-1].startswith(reason), row["decision_reasons"]
    assert all(r.startswith("allowed ") for r in row["decision_reasons"][:-1])


def test_a_denial_records_the_checks_that_passed_before_it(users):
    refused(users["alice"], "SELECT * FROM main.secret.payroll")
    assert only_row(users["admin"], "SELECT * FROM main.secret.payroll")["decision_reasons"] == [
        "allowed USE CATALOG on catalog main: USE CATALOG on catalog main granted to analysts",
        "denied USE SCHEMA on schema main.secret: no grant of USE SCHEMA on schema main.secret or its parents "
        "to alice or their groups",
    ]


# -- other failures: 404, 400, 409 ---------------------------------------------------------------

NOT_FOUND = [
    ("admin", "SELECT * FROM main.ml.nope", "executeQuery", "main.ml.nope"),
    ("alice", "SELECT * FROM main.ml.nope", "executeQuery", "main.ml.nope"),
    ("admin", "SELECT * FROM nowhere.ml.t", "executeQuery", "nowhere"),
    ("admin", "DROP TABLE main.ml.nope", "deleteTable", "main.ml.nope"),
    ("admin", "DESCRIBE TABLE main.ml.nope", "getTable", "main.ml.nope"),
    ("admin", "DROP SCHEMA main.nope", "deleteSchema", "main.nope"),
    ("admin", "GRANT SELECT ON TABLE main.ml.churn TO nobody", "updatePermissions", "nobody"),
    ("admin", "ALTER GROUP analysts ADD USER nobody", "updateGroupMembers", "nobody"),
]


@pytest.mark.parametrize(("actor", "statement", "action", "named"), NOT_FOUND, ids=[r[1] for r in NOT_FOUND])
def test_a_statement_on_something_missing_is_one_row_with_status_404(users, actor, statement, action, named):
    error = refused(users[actor], statement)
    assert isinstance(error, catalog.NotFound)
    row = only_row(users["admin"], statement)
    assert (row["email"], row["action_name"], row["status_code"]) == (actor, action, 404)
    assert named in row["error_message"]


SYNTAX = [
    ("SELEC 1", "PARSE_SYNTAX_ERROR"),
    ("SELECT 1,, 2", "PARSE_SYNTAX_ERROR"),
    ("SELECT 'unterminated", "PARSE_SYNTAX_ERROR"),
    ("   ", "PARSE_EMPTY_STATEMENT"),
    ("VACUUM main.ml.churn", "UNSUPPORTED_STATEMENT"),
    ("SELECT * FROM duckdb_tables()", "UNSUPPORTED_TABLE_FUNCTION"),
]


@pytest.mark.parametrize(("statement", "code"), SYNTAX, ids=[r[0] for r in SYNTAX])
def test_a_statement_refused_before_it_runs_is_one_row_with_status_400(users, statement, code):
    error = refused(users["bob"], statement)
    assert error.error_code == code
    row = only_row(users["admin"], statement)
    assert (row["email"], row["action_name"], row["status_code"]) == ("bob", "commandSubmit", 400)
    assert row["error_message"] == error.message
    assert row["decision_reasons"] == []


def test_a_script_that_fails_to_parse_is_audited_once_and_runs_nothing(users):
    script = "INSERT INTO main.ml.churn VALUES (9, 90); SELEC 2"
    refused(users["admin"], script)
    assert [(r["action_name"], r["status_code"]) for r in rows_for(users["admin"], script)] == [("commandSubmit", 400)]
    assert (
        audit(
            users["admin"],
            "action_name = 'insertInto' AND user_identity.email = 'admin' AND request_params['commandText'] LIKE '%9, 90%'",
        )
        == []
    )
    assert len(users["admin"].sql("SELECT * FROM main.ml.churn")) == 2


ALREADY_EXISTS = [
    ("CREATE CATALOG main", "createCatalog", "CATALOG_ALREADY_EXISTS"),
    ("CREATE SCHEMA main.ml", "createSchema", "SCHEMA_ALREADY_EXISTS"),
    ("CREATE TABLE main.ml.churn (id INT)", "createTable", "TABLE_OR_VIEW_ALREADY_EXISTS"),
    ("CREATE VIEW main.ml.churn_v AS SELECT 1 AS x", "createView", "TABLE_OR_VIEW_ALREADY_EXISTS"),
    ("ALTER TABLE main.ml.other RENAME TO churn", "renameTable", "TABLE_OR_VIEW_ALREADY_EXISTS"),
    ("CREATE USER alice", "createPrincipal", "PRINCIPAL_ALREADY_EXISTS"),
]


@pytest.mark.parametrize(("statement", "action", "code"), ALREADY_EXISTS, ids=[r[0] for r in ALREADY_EXISTS])
def test_creating_what_exists_is_one_row_with_status_409(admin, statement, action, code):
    error = refused(admin, statement)
    assert error.error_code == code
    *earlier, row = rows_for(admin, statement)
    assert [r["status_code"] for r in earlier] == [200] * len(earlier)  # the world's own CREATE, if any
    assert (row["action_name"], row["status_code"]) == (action, 409)
    assert row["error_message"] == error.message


def test_an_execution_error_is_audited_with_status_400_and_changes_nothing(admin):
    admin.sql("CREATE TABLE main.ml.strict (id INT NOT NULL)")
    statement = "INSERT INTO main.ml.strict VALUES (1), (NULL)"
    error = refused(admin, statement)
    assert error.error_code == "CONSTRAINT_VIOLATION"
    row = only_row(admin, statement)
    assert (row["action_name"], row["status_code"]) == ("insertInto", 400)
    assert "main.ml.strict" in row["error_message"]
    assert len(admin.sql("SELECT * FROM main.ml.strict")) == 0


# -- denials are audited although the statement rolled back ---------------------------------------


def test_a_denied_create_table_as_select_leaves_no_table_but_an_audit_row(users):
    admin, alice = users["admin"], users["alice"]
    admin.sql("GRANT CREATE TABLE ON SCHEMA main.ml TO alice")
    statement = "CREATE TABLE main.ml.leak AS SELECT * FROM main.secret.payroll"
    assert refused(alice, statement).error_code == "PERMISSION_DENIED"
    assert "leak" not in admin.sql("SHOW TABLES IN main.ml")["tableName"].tolist()
    row = only_row(admin, statement)
    assert (row["email"], row["action_name"], row["status_code"]) == ("alice", "createTable", 403)
    assert row["decision_reasons"][-1].startswith("denied USE SCHEMA on schema main.secret")


def test_a_script_audits_each_statement_up_to_the_denied_one(users):
    admin, alice = users["admin"], users["alice"]
    admin.sql("GRANT MODIFY ON TABLE main.ml.churn TO alice")
    refused(
        alice,
        "INSERT INTO main.ml.churn VALUES (5, 50); SELECT * FROM main.secret.payroll; "
        "INSERT INTO main.ml.churn VALUES (6, 60)",
    )
    mine = audit(admin, "user_identity.email = 'alice'")
    assert [(r["action_name"], r["status_code"]) for r in mine] == [("insertInto", 200), ("executeQuery", 403)]
    assert "(5, 50)" in mine[0]["request_params"]["commandText"]
    assert "main.secret.payroll" in mine[1]["request_params"]["commandText"]
    assert sorted(admin.sql("SELECT id FROM main.ml.churn")["id"].tolist()) == [1, 2, 5]


def test_a_denied_write_changes_no_rows_and_is_audited(users):
    admin, alice = users["admin"], users["alice"]
    statement = "DELETE FROM main.ml.churn"
    assert refused(alice, statement).error_code == "PERMISSION_DENIED"
    assert len(admin.sql("SELECT * FROM main.ml.churn")) == 2
    assert only_row(admin, statement)["status_code"] == 403


# -- the Python API ----------------------------------------------------------------------------------


def test_python_api_calls_are_audited_with_their_action_names(users):
    admin = users["admin"]
    frame = pd.DataFrame({"id": [1, 2], "v": [3, 4]})
    admin.create_table("main.ml.frame", frame, comment="from pandas")
    admin.write_table("main.ml.frame", frame)
    admin.read_table("main.ml.frame")
    found = audit(admin, "request_params['name'] = 'main.ml.frame'")
    assert [(r["action_name"], r["status_code"]) for r in found] == [
        ("createTable", 200),
        ("writeTable", 200),
        ("readTable", 200),
    ]
    params = dict(found[0]["request_params"])
    assert uuid.UUID(params.pop("lineage_run_id"))  # the write's OpenLineage run, see test_lineage.py
    assert params == {"name": "main.ml.frame", "mode": "error", "full_name_arg": "main.ml"}
    params = dict(found[1]["request_params"])
    assert uuid.UUID(params.pop("lineage_run_id"))
    assert params == {"name": "main.ml.frame", "mode": "append", "full_name_arg": "main.ml.frame"}
    assert found[2]["request_params"] == {"name": "main.ml.frame", "full_name_arg": "main.ml.frame"}
    assert all(r["session_id"] == admin.session.session_id for r in found)
    assert found[2]["decision_reasons"][-1] == "allowed SELECT on table main.ml.frame: owner of table main.ml.frame"
    results = admin.sql(
        "SELECT response.result AS result FROM system.access.audit "
        "WHERE request_params['name'] = 'main.ml.frame' ORDER BY event_time"
    )["result"].tolist()
    assert results[1:] == ["2 row(s)", "4 row(s)"]


@pytest.mark.parametrize(
    ("call", "action", "status", "reason"),
    [
        (lambda c: c.read_table("main.ml.churn"), "readTable", 403, "denied USE CATALOG on catalog main"),
        (
            lambda c: c.write_table("main.ml.churn", pd.DataFrame({"id": [3]})),
            "writeTable",
            403,
            "denied USE CATALOG on catalog main",
        ),
        (
            lambda c: c.create_table("main.ml.churn2", pd.DataFrame({"id": [3]})),
            "createTable",
            403,
            "denied USE CATALOG on catalog main",
        ),
    ],
    ids=["readTable", "writeTable", "createTable"],
)
def test_a_denied_python_api_call_is_audited(users, call, action, status, reason):
    with pytest.raises(catalog.PermissionDenied):
        call(users["bob"])
    found = audit(users["admin"], "user_identity.email = 'bob' AND action_name = ?", [action])
    assert len(found) == 1
    assert found[0]["status_code"] == status
    assert found[0]["decision_reasons"][-1].startswith(reason)


def test_python_api_calls_on_missing_or_existing_tables_are_audited(admin):
    with pytest.raises(catalog.NotFound):
        admin.read_table("main.ml.nope")
    with pytest.raises(catalog.AlreadyExists):
        admin.create_table("main.ml.churn", pd.DataFrame({"id": [1]}))
    assert [r["status_code"] for r in api_rows(admin, "readTable", "main.ml.nope")] == [404]
    assert [r["status_code"] for r in api_rows(admin, "createTable", "main.ml.churn")] == [409]


@pytest.mark.parametrize(
    ("call", "action", "name"),
    [
        (
            lambda c: c.create_table("main.ml.bad", pd.DataFrame({"id": [1]}), mode="bogus"),
            "createTable",
            "main.ml.bad",
        ),
        (lambda c: c.create_table("main.ml.bad", [1, 2, 3]), "createTable", "main.ml.bad"),
        (
            lambda c: c.create_table("main.ml.bad", pd.DataFrame({"id": [1], "ID": [2]})),
            "createTable",
            "main.ml.bad",
        ),
        (
            lambda c: c.write_table("main.ml.churn", pd.DataFrame({"id": [1]}), mode="bogus"),
            "writeTable",
            "main.ml.churn",
        ),
    ],
    ids=["create_table bad mode", "create_table not a frame", "create_table clashing columns", "write_table bad mode"],
)
def test_a_python_api_call_refused_for_its_arguments_is_audited_with_status_400(admin, call, action, name):
    with pytest.raises(catalog.InvalidRequest) as raised:
        call(admin)
    found = api_rows(admin, action, name)
    assert [r["status_code"] for r in found] == [400]
    assert found[0]["error_message"] == raised.value.message


# -- who may read the log -----------------------------------------------------------------------------


def test_the_audit_log_is_for_metastore_admins_until_one_grants_it(users):
    admin, bob = users["admin"], users["bob"]
    error = refused(bob, "SELECT count(*) AS n FROM system.access.audit")
    assert error.error_code == "PERMISSION_DENIED"
    assert "system.access" in error.message
    admin.sql("GRANT USE SCHEMA ON SCHEMA system.access TO bob")
    error = refused(bob, "SELECT count(*) AS n FROM system.access.audit")
    assert "SELECT" in error.message
    assert "system.access.audit" in error.message
    admin.sql("GRANT SELECT ON TABLE system.access.audit TO bob")
    seen = bob.sql(
        "SELECT user_identity.email AS email, action_name FROM system.access.audit WHERE action_name = 'createCatalog'"
    )
    assert seen.values.tolist() == [["admin", "createCatalog"]]
    admin.sql("REVOKE SELECT ON TABLE system.access.audit FROM bob")
    assert refused(bob, "SELECT count(*) AS n FROM system.access.audit").error_code == "PERMISSION_DENIED"


def test_a_group_grant_opens_the_audit_log_to_its_members(users):
    admin = users["admin"]
    admin.sql("GRANT USE SCHEMA ON SCHEMA system.access TO analysts")
    admin.sql("GRANT SELECT ON TABLE system.access.audit TO analysts")
    assert users["alice"].sql("SELECT count(*) AS n FROM system.access.audit")["n"][0] > 0
    assert refused(users["bob"], "SELECT count(*) AS n FROM system.access.audit").error_code == "PERMISSION_DENIED"


def test_the_log_cannot_be_written_or_dropped_even_by_the_admin(admin):
    before = admin.sql("SELECT count(*) AS n FROM system.access.audit WHERE action_name <> 'executeQuery'")["n"][0]
    attempts = {
        "INSERT INTO system.access.audit SELECT * FROM system.access.audit": "EXPECT_TABLE_NOT_VIEW",
        "DELETE FROM system.access.audit": "EXPECT_TABLE_NOT_VIEW",
        "TRUNCATE TABLE system.access.audit": "EXPECT_TABLE_NOT_VIEW",
        "DROP VIEW system.access.audit": "SYSTEM_CATALOG_READ_ONLY",
    }
    for statement, code in attempts.items():
        assert refused(admin, statement).error_code == code
        assert only_row(admin, statement)["status_code"] == 400
    after = admin.sql("SELECT count(*) AS n FROM system.access.audit WHERE action_name <> 'executeQuery'")["n"][0]
    assert after == before + len(attempts)  # one row per refused attempt, and nothing removed
    assert audit(admin, "action_name = 'createMetastore'")[0]["status_code"] == 200


# -- querying the log ------------------------------------------------------------------------------


def test_each_audit_query_is_itself_a_row(admin):
    count = "SELECT count(*) AS n FROM system.access.audit"
    first = admin.sql(count)["n"][0]
    second = admin.sql(count)["n"][0]
    assert second == first + 1
    rows = rows_for(admin, count)
    assert [(r["action_name"], r["status_code"]) for r in rows] == [("executeQuery", 200), ("executeQuery", 200)]
    assert rows[0]["request_params"]["full_name_arg"] == "system.access.audit"


def test_counting_denials_by_user(users):
    for actor, statement in (
        ("bob", "SELECT * FROM main.ml.churn"),
        ("bob", "CREATE USER mallory"),
        ("alice", "SELECT * FROM main.secret.payroll"),
    ):
        with pytest.raises(catalog.PermissionDenied):
            users[actor].sql(statement)
    users["alice"].sql("SELECT * FROM main.ml.churn")  # allowed: not counted
    frame = users["admin"].sql(
        "SELECT user_identity.email AS user_name, count(*) AS denials FROM system.access.audit "
        "WHERE response.status_code = 403 GROUP BY user_identity.email ORDER BY user_name"
    )
    assert frame.values.tolist() == [["alice", 1], ["bob", 2]]


def test_filtering_and_grouping_the_log(users):
    admin = users["admin"]
    users["alice"].sql("SELECT * FROM main.ml.churn")
    refused(users["alice"], "DROP TABLE main.ml.churn")
    refused(users["bob"], "SELEC 1")
    frame = admin.sql(
        "SELECT action_name, response.status_code AS status, count(*) AS n FROM system.access.audit "
        "WHERE user_identity.email IN ('alice', 'bob') GROUP BY ALL ORDER BY action_name"
    )
    assert frame.values.tolist() == [["commandSubmit", 400, 1], ["deleteTable", 403, 1], ["executeQuery", 200, 1]]
    touched = admin.sql(
        "SELECT DISTINCT request_params['full_name_arg'] AS name FROM system.access.audit "
        "WHERE user_identity.email = 'alice' ORDER BY name"
    )
    assert touched["name"].tolist() == ["main.ml.churn"]
    denied_reasons = admin.sql(
        "SELECT count(*) AS n FROM system.access.audit "
        "WHERE list_contains(list_transform(decision_reasons, r -> starts_with(r, 'denied')), true)"
    )
    assert denied_reasons["n"][0] == 1
