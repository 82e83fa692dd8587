"""Who may do what: every privilege rule as one row of (setup grants, actor, statement, expected).

The world is a copy of one prepared home (real DuckDB files): catalog ``main`` with schemas
``ml`` (tables churn and other, view churn_v) and ``secret`` (table payroll), all owned by the
metastore admin; users alice, bob, carol and dave; group analysts (alice) and group platform,
which holds group ml_team, which holds dave. Nobody but the admin holds anything until a row's
setup statements (run by the admin) grant it.

A row whose statement succeeds and changes something gets a world of its own. Rows that cannot
change anything (queries, DESCRIBE, SHOW, and every refusal, which rolls back) share one open
world per setup, which keeps the matrix quick.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import build_home, copy_home

import catalog
from catalog.api import Catalog

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client

WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.ml",
    "CREATE SCHEMA main.secret",
    "CREATE TABLE main.ml.churn (id INT, v INT)",
    "INSERT INTO main.ml.churn VALUES (1, 10), (2, 20)",
    "CREATE TABLE main.ml.other (id INT)",
    "INSERT INTO main.ml.other VALUES (7)",
    "CREATE VIEW main.ml.churn_v AS SELECT id FROM main.ml.churn",
    "CREATE TABLE main.secret.payroll (id INT, salary INT)",
    "INSERT INTO main.secret.payroll VALUES (1, 100)",
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE USER carol",
    "CREATE USER dave",
    "CREATE GROUP analysts",
    "ALTER GROUP analysts ADD USER alice",
    "CREATE GROUP platform",
    "CREATE GROUP ml_team",
    "ALTER GROUP platform ADD GROUP ml_team",
    "ALTER GROUP ml_team ADD USER dave",
)


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_home(tmp_path_factory.mktemp("privileges"), WORLD)


@pytest.fixture
def home(tmp_path: Path, world_template: Path) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared world for every test."""
    return copy_home(world_template, tmp_path)


Opener = Callable[[tuple[str, ...], str], Catalog]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, world_template: Path) -> Iterator[Opener]:
    """Connections to a world prepared with a given setup, kept open while rows ask for that setup."""
    root = tmp_path_factory.mktemp("shared")
    numbers = itertools.count()
    current: dict[str, object] = {"setup": None, "home": None, "open": {}}

    def close_all() -> None:
        for cat in current["open"].values():
            cat.close()
        current["open"] = {}

    def open_as(setup: tuple[str, ...], user: str) -> Catalog:
        if current["setup"] != setup:
            close_all()
            path = root / f"home{next(numbers)}"
            shutil.copytree(world_template, path)
            admin = catalog.connect(path, user="admin")
            current.update(setup=setup, home=path, open={"admin": admin})
            for line in setup:
                admin.sql(line)
        opened = current["open"]
        if user not in opened:
            opened[user] = catalog.connect(current["home"], user=user)
        return opened[user]

    yield open_as
    close_all()


def changes_state(statement: str, expected: str) -> bool:
    """Whether running the row may leave the world changed: only a statement that succeeds and is
    not a query or a metadata read can."""
    return expected == OK and not statement.lstrip().upper().startswith(("SELECT", "DESCRIBE", "SHOW"))


# -- helpers -----------------------------------------------------------------------------------

OK = "OK"
DENIED = "PERMISSION_DENIED"
INVALID = "INVALID_PRIVILEGE"
NO_PRINCIPAL = "PRINCIPAL_DOES_NOT_EXIST"


def usage(who: str, *schemas: str) -> tuple[str, ...]:
    """USE CATALOG on main and USE SCHEMA on each schema (main.ml by default) for ``who``."""
    schemas = schemas or ("main.ml",)
    return (
        f"GRANT USE CATALOG ON CATALOG main TO {who}",
        *(f"GRANT USE SCHEMA ON SCHEMA {s} TO {who}" for s in schemas),
    )


def grant(privileges: str, on: str, who: str) -> str:
    return f"GRANT {privileges} ON {on} TO {who}"


def outcome(cat: Catalog, statement: str) -> tuple[str, str]:
    """(OK or the error code, the error message)."""
    try:
        cat.sql(statement)
    except catalog.CatalogError as error:
        return error.error_code, error.message
    return OK, ""


def case(name: str, setup: tuple[str, ...], actor: str, statement: str, expected: str = OK, *named: str):
    return pytest.param(setup, actor, statement, expected, named, id=name)


def rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(r) for r in frame.astype(object).itertuples(index=False)]


READ = "SELECT * FROM main.ml.churn"
READ_VIEW = "SELECT * FROM main.ml.churn_v"
READ_SECRET = "SELECT * FROM main.secret.payroll"
INSERT = "INSERT INTO main.ml.churn VALUES (3, 30)"
UPDATE = "UPDATE main.ml.churn SET v = 0 WHERE id = 1"
DELETE = "DELETE FROM main.ml.churn WHERE id = 1"
MERGE = (
    "MERGE INTO main.ml.churn t USING (SELECT 1 AS id, 5 AS v) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v"
)
CREATE_TABLE = "CREATE TABLE main.ml.fresh (id INT)"
CTAS = "CREATE TABLE main.ml.fresh AS SELECT * FROM main.ml.churn"
CREATE_VIEW = "CREATE VIEW main.ml.fresh_v AS SELECT id FROM main.ml.churn"

TABLE = "TABLE main.ml.churn"
ML = "SCHEMA main.ml"
GROUP_READS = (
    grant("USE CATALOG", "CATALOG main", "analysts"),
    grant("USE SCHEMA, SELECT", ML, "analysts"),
)
PLATFORM_READS = (
    grant("USE CATALOG", "CATALOG main", "platform"),
    grant("USE SCHEMA, SELECT", ML, "platform"),
)
EVERYONE_READS = (
    grant("USE CATALOG", "CATALOG main", "`account users`"),
    grant("USE SCHEMA, SELECT", ML, "`account users`"),
)
TABLE_OWNER = ("ALTER TABLE main.ml.churn OWNER TO alice", *usage("alice"))
SCHEMA_OWNER = ("ALTER SCHEMA main.secret OWNER TO carol", grant("USE CATALOG", "CATALOG main", "carol"))
CATALOG_OWNER = ("ALTER CATALOG main OWNER TO carol",)
CATALOG_OWNER_USING = (*CATALOG_OWNER, grant("USE SCHEMA", "CATALOG main", "carol"))
TABLE_MANAGER = (grant("MANAGE", TABLE, "bob"), *usage("bob"))
ALL_ON_ML = (grant("USE CATALOG", "CATALOG main", "alice"), grant("ALL PRIVILEGES", ML, "alice"))
BROWSER = (grant("BROWSE", "CATALOG main", "bob"),)

MATRIX = [
    # -- reading a table: USE CATALOG, then USE SCHEMA, then SELECT --------------------------------
    case(
        "read/nothing granted: USE CATALOG is checked first", (), "alice", READ, DENIED, "alice", "USE CATALOG", "main"
    ),
    case(
        "read/only USE CATALOG: USE SCHEMA is next",
        (grant("USE CATALOG", "CATALOG main", "alice"),),
        "alice",
        READ,
        DENIED,
        "USE SCHEMA",
        "main.ml",
    ),
    case("read/usage only: SELECT is last", usage("alice"), "alice", READ, DENIED, "SELECT", "main.ml.churn"),
    case("read/usage and SELECT on the table", (*usage("alice"), grant("SELECT", TABLE, "alice")), "alice", READ),
    case(
        "read/SELECT without usage",
        (grant("SELECT", TABLE, "alice"),),
        "alice",
        READ,
        DENIED,
        "USE CATALOG",
        "main",
    ),
    case(
        "read/SELECT on the schema reaches its tables", (*usage("alice"), grant("SELECT", ML, "alice")), "alice", READ
    ),
    case(
        "read/SELECT on the schema reaches its views",
        (*usage("alice"), grant("SELECT", ML, "alice")),
        "alice",
        READ_VIEW,
    ),
    case(
        "read/SELECT on the schema reaches a table created after the grant",
        (*usage("alice"), grant("SELECT", ML, "alice"), "CREATE TABLE main.ml.later AS SELECT 1 AS id"),
        "alice",
        "SELECT * FROM main.ml.later",
    ),
    case(
        "read/SELECT on one schema does not reach another",
        (*usage("alice", "main.ml", "main.secret"), grant("SELECT", ML, "alice")),
        "alice",
        READ_SECRET,
        DENIED,
        "SELECT",
        "main.secret.payroll",
    ),
    case(
        "read/USE SCHEMA and SELECT on the catalog reach every schema and table",
        (grant("USE CATALOG, USE SCHEMA, SELECT", "CATALOG main", "alice"),),
        "alice",
        READ_SECRET,
    ),
    case(
        "read/USE CATALOG does not stand in for USE SCHEMA",
        (grant("USE CATALOG, SELECT", "CATALOG main", "alice"),),
        "alice",
        READ,
        DENIED,
        "USE SCHEMA",
        "main.ml",
    ),
    case(
        "read/SELECT on one table does not reach its neighbour",
        (*usage("alice"), grant("SELECT", TABLE, "alice")),
        "alice",
        "SELECT * FROM main.ml.other",
        DENIED,
        "SELECT",
        "main.ml.other",
    ),
    case(
        "read/a view needs SELECT on the view only",
        (*usage("alice"), grant("SELECT", "VIEW main.ml.churn_v", "alice")),
        "alice",
        READ_VIEW,
    ),
    case(
        "read/SELECT on a view does not open its table",
        (*usage("alice"), grant("SELECT", "VIEW main.ml.churn_v", "alice")),
        "alice",
        READ,
        DENIED,
        "SELECT",
        "main.ml.churn",
    ),
    case(
        "read/SELECT on a table does not open a view over it",
        (*usage("alice"), grant("SELECT", TABLE, "alice")),
        "alice",
        READ_VIEW,
        DENIED,
        "SELECT",
        "main.ml.churn_v",
    ),
    case(
        "read/BROWSE gives no data",
        (*usage("bob"), *BROWSER),
        "bob",
        READ,
        DENIED,
        "SELECT",
        "main.ml.churn",
    ),
    case("read/a grant to the user's group", GROUP_READS, "alice", READ),
    case("read/a group's grant is not for non-members", GROUP_READS, "bob", READ, DENIED, "bob", "USE CATALOG"),
    case("read/a grant to an outer group reaches members of a nested group", PLATFORM_READS, "dave", READ),
    case("read/a grant to account users reaches every user", EVERYONE_READS, "carol", READ),
    case(
        "read/a grant to account users reaches a user created later",
        (*EVERYONE_READS, "CREATE USER erin"),
        "erin",
        READ,
    ),
    case(
        "read/a revoked grant no longer applies",
        (*usage("alice"), grant("SELECT", TABLE, "alice"), "REVOKE SELECT ON TABLE main.ml.churn FROM alice"),
        "alice",
        READ,
        DENIED,
        "SELECT",
        "main.ml.churn",
    ),
    case(
        "read/revoking on the table leaves the schema's grant in force",
        (*usage("alice"), grant("SELECT", ML, "alice"), "REVOKE SELECT ON TABLE main.ml.churn FROM alice"),
        "alice",
        READ,
    ),
    case(
        "read/revoking on the schema, where it was granted, takes it away",
        (*usage("alice"), grant("SELECT", ML, "alice"), "REVOKE SELECT ON SCHEMA main.ml FROM alice"),
        "alice",
        READ,
        DENIED,
        "SELECT",
        "main.ml.churn",
    ),
    case(
        "read/a user removed from a group loses its grants",
        (*GROUP_READS, "ALTER GROUP analysts REMOVE USER alice"),
        "alice",
        READ,
        DENIED,
        "USE CATALOG",
    ),
    case(
        "read/a nested group removed from the outer group loses its grants",
        (*PLATFORM_READS, "ALTER GROUP platform REMOVE GROUP ml_team"),
        "dave",
        READ,
        DENIED,
        "USE CATALOG",
    ),
    case(
        "read/the metastore admin reads what others own, with no grant",
        (
            "ALTER CATALOG main OWNER TO bob",
            "ALTER SCHEMA main.ml OWNER TO bob",
            "ALTER TABLE main.ml.churn OWNER TO bob",
        ),
        "admin",
        READ,
    ),
    # -- ALL PRIVILEGES: everything but MANAGE -----------------------------------------------
    case("all/on a schema: read", ALL_ON_ML, "alice", READ),
    case("all/on a schema: update", ALL_ON_ML, "alice", UPDATE),
    case("all/on a schema: create table as select", ALL_ON_ML, "alice", CTAS),
    case(
        "all/on a schema: no MANAGE, so no drop",
        ALL_ON_ML,
        "alice",
        "DROP TABLE main.ml.other",
        DENIED,
        "MANAGE",
        "main.ml.other",
    ),
    case(
        "all/on a schema: no MANAGE, so no grant",
        ALL_ON_ML,
        "alice",
        grant("SELECT", TABLE, "bob"),
        DENIED,
        "MANAGE",
        "main.ml.churn",
    ),
    case(
        "all/on the catalog implies USE CATALOG, USE SCHEMA and SELECT below",
        (grant("ALL PRIVILEGES", "CATALOG main", "alice"),),
        "alice",
        READ_SECRET,
    ),
    case(
        "all/on the catalog: create schema",
        (grant("ALL PRIVILEGES", "CATALOG main", "alice"),),
        "alice",
        "CREATE SCHEMA main.fresh",
    ),
    case(
        "all/on the catalog: no MANAGE on it",
        (grant("ALL PRIVILEGES", "CATALOG main", "alice"),),
        "alice",
        "COMMENT ON CATALOG main IS 'mine'",
        DENIED,
        "MANAGE",
        "main",
    ),
    case("all/on a table: delete", (*usage("alice"), grant("ALL PRIVILEGES", TABLE, "alice")), "alice", DELETE),
    case("all/spelled ALL", (*usage("alice"), grant("ALL", TABLE, "alice")), "alice", READ),
    # -- writing -------------------------------------------------------------------------------
    case("write/insert with MODIFY", (*usage("alice"), grant("MODIFY", TABLE, "alice")), "alice", INSERT),
    case(
        "write/insert with SELECT only",
        (*usage("alice"), grant("SELECT", TABLE, "alice")),
        "alice",
        INSERT,
        DENIED,
        "MODIFY",
        "main.ml.churn",
    ),
    case(
        "write/insert without usage",
        (grant("MODIFY", TABLE, "alice"),),
        "alice",
        INSERT,
        DENIED,
        "USE CATALOG",
    ),
    *(
        case(
            f"write/{verb} needs SELECT besides MODIFY",
            (*usage("alice"), grant("MODIFY", TABLE, "alice")),
            "alice",
            statement,
            DENIED,
            "SELECT",
            "main.ml.churn",
        )
        for verb, statement in (("update", UPDATE), ("delete", DELETE), ("merge", MERGE))
    ),
    *(
        case(
            f"write/{verb} with MODIFY and SELECT",
            (*usage("alice"), grant("MODIFY, SELECT", TABLE, "alice")),
            "alice",
            statement,
        )
        for verb, statement in (("update", UPDATE), ("delete", DELETE), ("merge", MERGE))
    ),
    case(
        "write/update with SELECT only",
        (*usage("alice"), grant("SELECT", TABLE, "alice")),
        "alice",
        UPDATE,
        DENIED,
        "MODIFY",
        "main.ml.churn",
    ),
    case(
        "write/truncate with MODIFY",
        (*usage("alice"), grant("MODIFY", TABLE, "alice")),
        "alice",
        "TRUNCATE TABLE main.ml.churn",
    ),
    case(
        "write/insert from a source the writer cannot read",
        (*usage("alice", "main.ml", "main.secret"), grant("MODIFY", TABLE, "alice")),
        "alice",
        "INSERT INTO main.ml.churn SELECT * FROM main.secret.payroll",
        DENIED,
        "SELECT",
        "main.secret.payroll",
    ),
    case(
        "write/merge from a source the writer cannot read",
        (*usage("alice", "main.ml", "main.secret"), grant("MODIFY, SELECT", TABLE, "alice")),
        "alice",
        "MERGE INTO main.ml.churn t USING main.secret.payroll s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET v = s.salary",
        DENIED,
        "SELECT",
        "main.secret.payroll",
    ),
    case(
        "write/MODIFY on the schema reaches its tables",
        (*usage("alice"), grant("MODIFY", ML, "alice")),
        "alice",
        INSERT,
    ),
    case(
        "write/MODIFY on the catalog reaches every table",
        (grant("USE CATALOG, USE SCHEMA, MODIFY", "CATALOG main", "alice"),),
        "alice",
        "INSERT INTO main.secret.payroll VALUES (2, 200)",
    ),
    # -- creating ------------------------------------------------------------------------------
    case("create/table without CREATE TABLE", usage("alice"), "alice", CREATE_TABLE, DENIED, "CREATE TABLE", "main.ml"),
    case(
        "create/table with CREATE TABLE", (*usage("alice"), grant("CREATE TABLE", ML, "alice")), "alice", CREATE_TABLE
    ),
    case(
        "create/table without USE SCHEMA",
        (grant("USE CATALOG", "CATALOG main", "alice"), grant("CREATE TABLE", ML, "alice")),
        "alice",
        CREATE_TABLE,
        DENIED,
        "USE SCHEMA",
        "main.ml",
    ),
    case(
        "create/table as select needs SELECT on the source",
        (*usage("alice"), grant("CREATE TABLE", ML, "alice")),
        "alice",
        CTAS,
        DENIED,
        "SELECT",
        "main.ml.churn",
    ),
    case(
        "create/table as select with SELECT on the source",
        (*usage("alice"), grant("CREATE TABLE", ML, "alice"), grant("SELECT", TABLE, "alice")),
        "alice",
        CTAS,
    ),
    case(
        "create/view needs SELECT on the source",
        (*usage("alice"), grant("CREATE TABLE", ML, "alice")),
        "alice",
        CREATE_VIEW,
        DENIED,
        "SELECT",
        "main.ml.churn",
    ),
    case(
        "create/view needs CREATE TABLE",
        (*usage("alice"), grant("SELECT", TABLE, "alice")),
        "alice",
        CREATE_VIEW,
        DENIED,
        "CREATE TABLE",
        "main.ml",
    ),
    case(
        "create/view with CREATE TABLE and SELECT",
        (*usage("alice"), grant("CREATE TABLE", ML, "alice"), grant("SELECT", TABLE, "alice")),
        "alice",
        CREATE_VIEW,
    ),
    case(
        "create/CREATE TABLE on the catalog reaches its schemas",
        (grant("USE CATALOG, USE SCHEMA, CREATE TABLE", "CATALOG main", "alice"),),
        "alice",
        "CREATE TABLE main.secret.fresh (id INT)",
    ),
    case(
        "create/replacing someone else's table needs MANAGE on it",
        (*usage("alice"), grant("CREATE TABLE", ML, "alice"), grant("SELECT", TABLE, "alice")),
        "alice",
        "CREATE OR REPLACE TABLE main.ml.churn AS SELECT 1 AS id, 2 AS v",
        DENIED,
        "MANAGE",
        "main.ml.churn",
    ),
    case(
        "create/schema without CREATE SCHEMA",
        (grant("USE CATALOG", "CATALOG main", "alice"),),
        "alice",
        "CREATE SCHEMA main.fresh",
        DENIED,
        "CREATE SCHEMA",
        "main",
    ),
    case(
        "create/schema without USE CATALOG",
        (grant("CREATE SCHEMA", "CATALOG main", "alice"),),
        "alice",
        "CREATE SCHEMA main.fresh",
        DENIED,
        "USE CATALOG",
        "main",
    ),
    case(
        "create/schema with USE CATALOG and CREATE SCHEMA",
        (grant("USE CATALOG, CREATE SCHEMA", "CATALOG main", "alice"),),
        "alice",
        "CREATE SCHEMA main.fresh",
    ),
    case("create/catalog by a user", (), "alice", "CREATE CATALOG sales", DENIED, "CREATE CATALOG", "metastore"),
    case(
        "create/catalog with CREATE CATALOG on the metastore",
        (grant("CREATE CATALOG", "METASTORE", "alice"),),
        "alice",
        "CREATE CATALOG sales",
    ),
    case(
        "create/catalog with CREATE CATALOG granted to the user's group",
        (grant("CREATE CATALOG", "METASTORE", "analysts"),),
        "alice",
        "CREATE CATALOG sales",
    ),
    case("create/catalog by the metastore admin", (), "admin", "CREATE CATALOG sales"),
    # -- owners of a table or view: every privilege on it, but no usage of its containers --------
    case("own table/read", TABLE_OWNER, "alice", READ),
    case("own table/update", TABLE_OWNER, "alice", UPDATE),
    case("own table/grant", TABLE_OWNER, "alice", grant("SELECT", TABLE, "bob")),
    case("own table/drop", TABLE_OWNER, "alice", "DROP TABLE main.ml.churn"),
    case("own table/comment", TABLE_OWNER, "alice", "COMMENT ON TABLE main.ml.churn IS 'mine'"),
    case("own table/change owner", TABLE_OWNER, "alice", "ALTER TABLE main.ml.churn OWNER TO bob"),
    case(
        "own table/no usage of the containers",
        ("ALTER TABLE main.ml.churn OWNER TO alice",),
        "alice",
        READ,
        DENIED,
        "USE CATALOG",
        "main",
    ),
    case(
        "own table/after handing it over, nothing",
        (*TABLE_OWNER, "ALTER TABLE main.ml.churn OWNER TO bob"),
        "alice",
        READ,
        DENIED,
        "SELECT",
        "main.ml.churn",
    ),
    case(
        "own view/drop",
        ("ALTER VIEW main.ml.churn_v OWNER TO alice", *usage("alice")),
        "alice",
        "DROP VIEW main.ml.churn_v",
    ),
    case(
        "own via group/read",
        ("ALTER TABLE main.ml.churn OWNER TO analysts", *usage("alice")),
        "alice",
        READ,
    ),
    case(
        "own via group/drop",
        ("ALTER TABLE main.ml.churn OWNER TO analysts", *usage("alice")),
        "alice",
        "DROP TABLE main.ml.churn",
    ),
    case(
        "own via group/not for non-members",
        ("ALTER TABLE main.ml.churn OWNER TO analysts", *usage("bob")),
        "bob",
        READ,
        DENIED,
        "SELECT",
        "main.ml.churn",
    ),
    # -- owners of a schema: MANAGE on its children, no data privileges on them -----------------
    case(
        "own schema/no SELECT on its tables",
        SCHEMA_OWNER,
        "carol",
        READ_SECRET,
        DENIED,
        "SELECT",
        "main.secret.payroll",
    ),
    case(
        "own schema/no MODIFY on its tables",
        SCHEMA_OWNER,
        "carol",
        "INSERT INTO main.secret.payroll VALUES (2, 200)",
        DENIED,
        "MODIFY",
        "main.secret.payroll",
    ),
    case("own schema/drop a child table", SCHEMA_OWNER, "carol", "DROP TABLE main.secret.payroll"),
    case(
        "own schema/grant on a child table", SCHEMA_OWNER, "carol", grant("SELECT", "TABLE main.secret.payroll", "bob")
    ),
    case("own schema/comment on a child table", SCHEMA_OWNER, "carol", "COMMENT ON TABLE main.secret.payroll IS 'hr'"),
    case("own schema/change a child's owner", SCHEMA_OWNER, "carol", "ALTER TABLE main.secret.payroll OWNER TO bob"),
    case(
        "own schema/grant themselves SELECT, then read",
        SCHEMA_OWNER,
        "carol",
        f"{grant('SELECT', 'TABLE main.secret.payroll', 'carol')}; {READ_SECRET}",
    ),
    case("own schema/create a table in it", SCHEMA_OWNER, "carol", "CREATE TABLE main.secret.fresh (id INT)"),
    case("own schema/drop it", SCHEMA_OWNER, "carol", "DROP SCHEMA main.secret CASCADE"),
    case(
        "own schema/managing a child still needs USE CATALOG",
        ("ALTER SCHEMA main.secret OWNER TO carol",),
        "carol",
        "DROP TABLE main.secret.payroll",
        DENIED,
        "USE CATALOG",
        "main",
    ),
    case(
        "own schema via group/drop a child table",
        ("ALTER SCHEMA main.secret OWNER TO analysts", grant("USE CATALOG", "CATALOG main", "alice")),
        "alice",
        "DROP TABLE main.secret.payroll",
    ),
    # -- owners of a catalog: MANAGE on its schemas and tables, no data privileges --------------
    case("own catalog/create a schema", CATALOG_OWNER, "carol", "CREATE SCHEMA main.fresh"),
    case("own catalog/grant on the catalog", CATALOG_OWNER, "carol", grant("USE CATALOG", "CATALOG main", "bob")),
    case(
        "own catalog/grant themselves USE SCHEMA on the catalog",
        CATALOG_OWNER,
        "carol",
        grant("USE SCHEMA", "CATALOG main", "carol"),
    ),
    case(
        "own catalog/grant themselves USE SCHEMA on a child schema",
        CATALOG_OWNER,
        "carol",
        grant("USE SCHEMA", ML, "carol"),
    ),
    case("own catalog/comment on a child schema", CATALOG_OWNER, "carol", "COMMENT ON SCHEMA main.ml IS 'ours'"),
    case("own catalog/change a child schema's owner", CATALOG_OWNER, "carol", "ALTER SCHEMA main.ml OWNER TO bob"),
    case("own catalog/drop a child schema", CATALOG_OWNER, "carol", "DROP SCHEMA main.secret CASCADE"),
    case("own catalog/drop a table below", CATALOG_OWNER_USING, "carol", "DROP TABLE main.ml.other"),
    case("own catalog/grant on a table below", CATALOG_OWNER_USING, "carol", grant("SELECT", TABLE, "bob")),
    case(
        "own catalog/no SELECT on tables below", CATALOG_OWNER_USING, "carol", READ, DENIED, "SELECT", "main.ml.churn"
    ),
    case(
        "own catalog/grant themselves SELECT, then read",
        CATALOG_OWNER_USING,
        "carol",
        f"{grant('SELECT', TABLE, 'carol')}; {READ}",
    ),
    case(
        "own catalog/is not a metastore admin",
        CATALOG_OWNER,
        "carol",
        "CREATE CATALOG sales",
        DENIED,
        "CREATE CATALOG",
        "metastore",
    ),
    # -- MANAGE: grant, revoke, drop, comment, change owner; no data -------------------------
    case("manage table/grant", TABLE_MANAGER, "bob", grant("SELECT", TABLE, "carol")),
    case(
        "manage table/revoke",
        (*TABLE_MANAGER, grant("SELECT", TABLE, "carol")),
        "bob",
        "REVOKE SELECT ON TABLE main.ml.churn FROM carol",
    ),
    case("manage table/grant MANAGE onward", TABLE_MANAGER, "bob", grant("MANAGE", TABLE, "carol")),
    case("manage table/drop", TABLE_MANAGER, "bob", "DROP TABLE main.ml.churn"),
    case("manage table/comment", TABLE_MANAGER, "bob", "COMMENT ON TABLE main.ml.churn IS 'managed'"),
    case("manage table/take ownership", TABLE_MANAGER, "bob", "ALTER TABLE main.ml.churn OWNER TO bob"),
    case("manage table/no data", TABLE_MANAGER, "bob", READ, DENIED, "SELECT", "main.ml.churn"),
    case(
        "manage table/still needs usage",
        (grant("MANAGE", TABLE, "bob"),),
        "bob",
        grant("SELECT", TABLE, "carol"),
        DENIED,
        "USE CATALOG",
        "main",
    ),
    case(
        "manage table/through a group",
        (grant("MANAGE", TABLE, "analysts"), *usage("alice")),
        "alice",
        grant("SELECT", TABLE, "carol"),
    ),
    case(
        "manage schema/reaches its tables",
        (grant("MANAGE", ML, "bob"), *usage("bob")),
        "bob",
        "DROP TABLE main.ml.other",
    ),
    case(
        "manage schema/grant on the schema",
        (grant("MANAGE", ML, "bob"), grant("USE CATALOG", "CATALOG main", "bob")),
        "bob",
        grant("SELECT", ML, "carol"),
    ),
    case(
        "manage schema/comment on the schema",
        (grant("MANAGE", ML, "bob"), grant("USE CATALOG", "CATALOG main", "bob")),
        "bob",
        "COMMENT ON SCHEMA main.ml IS 'managed'",
    ),
    case(
        "manage catalog/comment on the catalog",
        (grant("MANAGE", "CATALOG main", "bob"),),
        "bob",
        "COMMENT ON CATALOG main IS 'managed'",
    ),
    case(
        "manage catalog/grant on the catalog",
        (grant("MANAGE", "CATALOG main", "bob"),),
        "bob",
        grant("USE CATALOG", "CATALOG main", "carol"),
    ),
    # -- GRANT and REVOKE by those who may not manage --------------------------------------------
    case(
        "grant/by a reader who is not an owner or manager",
        (*usage("alice"), grant("SELECT", TABLE, "alice")),
        "alice",
        grant("SELECT", TABLE, "bob"),
        DENIED,
        "alice",
        "MANAGE",
        "main.ml.churn",
    ),
    case(
        "grant/revoke by a reader who is not an owner or manager",
        (*usage("alice"), grant("SELECT", TABLE, "alice")),
        "alice",
        "REVOKE SELECT ON TABLE main.ml.churn FROM alice",
        DENIED,
        "MANAGE",
        "main.ml.churn",
    ),
    case(
        "grant/on a schema by a user with usage only",
        usage("alice"),
        "alice",
        grant("SELECT", ML, "alice"),
        DENIED,
        "MANAGE",
        "main.ml",
    ),
    case(
        "grant/on the metastore by a user",
        (),
        "bob",
        grant("CREATE CATALOG", "METASTORE", "bob"),
        DENIED,
        "metastore admin",
        "bob",
    ),
    case(
        "grant/revoke on the metastore by a user",
        (grant("CREATE CATALOG", "METASTORE", "bob"),),
        "bob",
        "REVOKE CREATE CATALOG ON METASTORE FROM bob",
        DENIED,
        "metastore admin",
    ),
    case("grant/on the metastore by the admin", (), "admin", grant("CREATE CATALOG", "METASTORE", "bob")),
    case(
        "grant/by the admin on what others own",
        ("ALTER TABLE main.ml.churn OWNER TO bob",),
        "admin",
        grant("SELECT", TABLE, "carol"),
    ),
    case(
        "grant/change the metastore admin as a user",
        (),
        "bob",
        "ALTER METASTORE OWNER TO bob",
        DENIED,
        "metastore admin",
    ),
    # -- metadata: any privilege, a reaching container grant, BROWSE, ownership or MANAGE -------
    # With nothing at all, bob is refused at the catalog, so even whether the object exists stays hidden.
    case("metadata/nothing: describe table", (), "bob", "DESCRIBE TABLE main.ml.churn", DENIED, "bob", "USE CATALOG"),
    case("metadata/nothing: show tables", (), "bob", "SHOW TABLES IN main.ml", DENIED, "USE CATALOG", "main"),
    case("metadata/nothing: show grants", (), "bob", "SHOW GRANTS ON TABLE main.ml.churn", DENIED, "USE CATALOG"),
    case("metadata/nothing: describe schema", (), "bob", "DESCRIBE SCHEMA main.ml", DENIED, "USE CATALOG"),
    case(
        "metadata/USE CATALOG alone: a missing table and a hidden one answer alike",
        (grant("USE CATALOG", "CATALOG main", "bob"),),
        "bob",
        "DESCRIBE TABLE main.ml.churn",
        DENIED,
        "USE SCHEMA on schema main.ml",
    ),
    case("metadata/nothing: describe catalog", (), "bob", "DESCRIBE CATALOG main", DENIED, "main"),
    case(
        "metadata/SELECT on the table, no usage: describe",
        (grant("SELECT", TABLE, "bob"),),
        "bob",
        "DESCRIBE TABLE main.ml.churn",
    ),
    case(
        "metadata/SELECT on the table: its schema is listable",
        (grant("SELECT", TABLE, "bob"),),
        "bob",
        "SHOW TABLES IN main.ml",
    ),
    case(
        "metadata/MODIFY on the table: describe",
        (grant("MODIFY", TABLE, "bob"),),
        "bob",
        "DESCRIBE TABLE main.ml.churn",
    ),
    case(
        "metadata/SELECT on the schema: describe a table",
        (grant("SELECT", ML, "bob"),),
        "bob",
        "DESCRIBE TABLE main.ml.churn",
    ),
    case(
        "metadata/USE SCHEMA alone reveals no table",
        (grant("USE CATALOG", "CATALOG main", "bob"), grant("USE SCHEMA", ML, "bob")),
        "bob",
        "DESCRIBE TABLE main.ml.churn",
        DENIED,
        "main.ml.churn",
    ),
    case(
        "metadata/CREATE TABLE on the schema reveals no table",
        (grant("USE CATALOG", "CATALOG main", "bob"), grant("USE SCHEMA, CREATE TABLE", ML, "bob")),
        "bob",
        "DESCRIBE TABLE main.ml.churn",
        DENIED,
        "main.ml.churn",
    ),
    case(
        "metadata/CREATE TABLE on the schema: describe schema",
        (grant("CREATE TABLE", ML, "bob"),),
        "bob",
        "DESCRIBE SCHEMA main.ml",
    ),
    case(
        "metadata/USE CATALOG: describe catalog",
        (grant("USE CATALOG", "CATALOG main", "bob"),),
        "bob",
        "DESCRIBE CATALOG main",
    ),
    case("metadata/BROWSE: describe table", BROWSER, "bob", "DESCRIBE TABLE main.secret.payroll"),
    case("metadata/BROWSE: show tables", BROWSER, "bob", "SHOW TABLES IN main.secret"),
    case("metadata/BROWSE: describe schema", BROWSER, "bob", "DESCRIBE SCHEMA main.secret"),
    case("metadata/BROWSE: show grants", BROWSER, "bob", "SHOW GRANTS ON TABLE main.secret.payroll"),
    case("metadata/BROWSE: show columns", BROWSER, "bob", "SHOW COLUMNS IN main.secret.payroll"),
    case("metadata/a group's grant: describe", GROUP_READS, "alice", "DESCRIBE TABLE main.ml.churn"),
    case(
        "metadata/owner: describe", ("ALTER TABLE main.ml.churn OWNER TO bob",), "bob", "DESCRIBE TABLE main.ml.churn"
    ),
    case(
        "metadata/owner: show grants",
        ("ALTER TABLE main.ml.churn OWNER TO bob",),
        "bob",
        "SHOW GRANTS ON TABLE main.ml.churn",
    ),
    case("metadata/MANAGE: describe", (grant("MANAGE", TABLE, "bob"),), "bob", "DESCRIBE TABLE main.ml.churn"),
    case(
        "metadata/schema owner: describe a child",
        ("ALTER SCHEMA main.secret OWNER TO bob",),
        "bob",
        "DESCRIBE TABLE main.secret.payroll",
    ),
    case(
        "metadata/catalog owner: describe a table below", CATALOG_OWNER, "carol", "DESCRIBE TABLE main.secret.payroll"
    ),
    # -- users and groups are for metastore admins ----------------------------------------------
    *(
        case(f"principals/{statement} by a user", (), "bob", statement, DENIED, "metastore admin", "bob")
        for statement in (
            "CREATE USER erin",
            "CREATE GROUP readers",
            "DROP USER carol",
            "DROP GROUP analysts",
            "ALTER GROUP analysts ADD USER bob",
            "ALTER GROUP analysts REMOVE USER alice",
        )
    ),
    case("principals/by a catalog owner", CATALOG_OWNER, "carol", "CREATE USER erin", DENIED, "metastore admin"),
    case(
        "principals/by a MANAGE holder",
        TABLE_MANAGER,
        "bob",
        "ALTER GROUP analysts ADD USER bob",
        DENIED,
        "metastore admin",
    ),
    case("principals/by the admin", (), "admin", "CREATE USER erin"),
    case(
        "principals/by a member of a group that owns the metastore",
        ("ALTER METASTORE OWNER TO analysts",),
        "alice",
        "CREATE USER erin",
    ),
    case("admin via group/reads everything", ("ALTER METASTORE OWNER TO analysts",), "alice", READ_SECRET),
    case(
        "admin via group/the former admin is not one any more",
        ("ALTER METASTORE OWNER TO analysts",),
        "admin",
        "CREATE USER erin",
        DENIED,
        "metastore admin",
    ),
    # -- which privilege applies to which object --------------------------------------------------
    case("errors/unknown privilege", (), "admin", grant("FLY", TABLE, "alice"), INVALID, "FLY"),
    case(
        "errors/unknown privilege among known ones", (), "admin", grant("SELECT, FLY", TABLE, "alice"), INVALID, "FLY"
    ),
    case(
        "errors/unknown privilege in REVOKE",
        (),
        "admin",
        "REVOKE FLY ON TABLE main.ml.churn FROM alice",
        INVALID,
        "FLY",
    ),
    case("errors/unknown principal", (), "admin", grant("SELECT", TABLE, "nobody"), NO_PRINCIPAL, "nobody"),
    case(
        "errors/unknown principal in REVOKE",
        (),
        "admin",
        "REVOKE SELECT ON TABLE main.ml.churn FROM nobody",
        NO_PRINCIPAL,
        "nobody",
    ),
    case("errors/unknown new owner", (), "admin", "ALTER TABLE main.ml.churn OWNER TO nobody", NO_PRINCIPAL, "nobody"),
    *(
        case(f"errors/{privilege} on {on}", (), "admin", grant(privilege, on, "alice"), INVALID, privilege, named)
        for privilege, on, named in (
            ("USE CATALOG", TABLE, "table"),
            ("USE SCHEMA", TABLE, "table"),
            ("CREATE TABLE", TABLE, "table"),
            ("EXECUTE", TABLE, "table"),
            ("BROWSE", TABLE, "table"),
            ("SELECT", "METASTORE", "metastore"),
            ("USE CATALOG", "METASTORE", "metastore"),
            ("MODIFY", "VIEW main.ml.churn_v", "main.ml.churn_v"),
            ("CREATE SCHEMA", ML, "schema"),
            ("USE CATALOG", ML, "schema"),
            ("BROWSE", ML, "schema"),
            ("CREATE CATALOG", "CATALOG main", "catalog"),
        )
    ),
    *(
        case(f"errors/{privilege} on {on} is fine", (), "admin", grant(privilege, on, "alice"))
        for privilege, on in (
            ("MODIFY", "CATALOG main"),
            ("SELECT", "CATALOG main"),
            ("BROWSE", "CATALOG main"),
            ("CREATE FUNCTION", "CATALOG main"),
            ("EXECUTE", ML),
            ("CREATE MODEL", ML),
            ("CREATE FUNCTION", ML),
            ("MANAGE", "VIEW main.ml.churn_v"),
            ("ALL PRIVILEGES", "VIEW main.ml.churn_v"),
            ("use_catalog", "CATALOG main"),
            ("CREATE CATALOG", "METASTORE"),
        )
    ),
    case("errors/granting to a group", (), "admin", grant("SELECT", TABLE, "analysts")),
    case("errors/granting to account users", (), "admin", grant("SELECT", TABLE, "`account users`")),
    # -- the system catalog -------------------------------------------------------------------------
    case(
        "system/every user reads the information schema", (), "carol", "SELECT * FROM system.information_schema.tables"
    ),
    case(
        "system/the audit log is for admins",
        (),
        "carol",
        "SELECT * FROM system.access.audit",
        DENIED,
        "USE SCHEMA",
        "system.access",
    ),
    case(
        "system/the audit log with SELECT but no USE SCHEMA",
        (grant("SELECT", "TABLE system.access.audit", "carol"),),
        "carol",
        "SELECT * FROM system.access.audit",
        DENIED,
        "USE SCHEMA",
        "system.access",
    ),
    case(
        "system/the audit log with USE SCHEMA but no SELECT",
        (grant("USE SCHEMA", "SCHEMA system.access", "carol"),),
        "carol",
        "SELECT * FROM system.access.audit",
        DENIED,
        "SELECT",
        "system.access.audit",
    ),
    case(
        "system/the audit log once an admin grants it",
        (grant("USE SCHEMA", "SCHEMA system.access", "carol"), grant("SELECT", "TABLE system.access.audit", "carol")),
        "carol",
        "SELECT * FROM system.access.audit",
    ),
]


@pytest.mark.parametrize(("setup", "actor", "statement", "expected", "named"), MATRIX)
def test_privilege_matrix(
    request: pytest.FixtureRequest,
    shared: Opener,
    setup: tuple[str, ...],
    actor: str,
    statement: str,
    expected: str,
    named: tuple[str, ...],
):
    if changes_state(statement, expected):
        connect = request.getfixturevalue("connect")
        admin = connect("admin")
        for line in setup:
            admin.sql(line)
        cat = admin if actor == "admin" else connect(actor)
    else:
        cat = shared(setup, actor)
    code, message = outcome(cat, statement)
    assert code == expected, message
    for word in named:
        assert word in message


# -- denials explain themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "statement", "suggestion"),
    [
        ((), READ, "GRANT USE CATALOG ON CATALOG main TO alice"),
        ((grant("USE CATALOG", "CATALOG main", "alice"),), READ, "GRANT USE SCHEMA ON SCHEMA main.ml TO alice"),
        (usage("alice"), READ, "GRANT SELECT ON TABLE main.ml.churn TO alice"),
        (usage("alice"), READ_VIEW, "GRANT SELECT ON VIEW main.ml.churn_v TO alice"),
        ((*usage("alice"), grant("SELECT", TABLE, "alice")), INSERT, "GRANT MODIFY ON TABLE main.ml.churn TO alice"),
        (usage("alice"), CREATE_TABLE, "GRANT CREATE TABLE ON SCHEMA main.ml TO alice"),
        ((), "CREATE CATALOG sales", "GRANT CREATE CATALOG ON METASTORE TO alice"),
    ],
)
def test_a_denial_names_the_user_the_privilege_and_the_object_and_suggests_the_grant(
    connect, setup, statement, suggestion
):
    admin = connect("admin")
    for line in setup:
        admin.sql(line)
    with pytest.raises(catalog.PermissionDenied) as raised:
        connect("alice").sql(statement)
    assert raised.value.error_code == "PERMISSION_DENIED"
    assert "alice" in raised.value.message
    assert suggestion in raised.value.message


def test_the_suggested_grant_quotes_a_principal_that_needs_it(admin, connect):
    admin.sql("CREATE USER `ann@example.com`")
    with pytest.raises(catalog.PermissionDenied) as raised:
        connect("ann@example.com").sql(READ)
    assert "GRANT USE CATALOG ON CATALOG main TO `ann@example.com`" in raised.value.message


def test_running_the_suggested_grants_in_order_lets_the_reader_in(admin, connect):
    alice = connect("alice")
    suggested = []
    for _ in range(4):
        code, message = outcome(alice, READ)
        if code == OK:
            break
        statement = message[message.index("GRANT ") :]
        suggested.append(statement)
        admin.sql(statement)
    assert suggested == [
        "GRANT USE CATALOG ON CATALOG main TO alice",
        "GRANT USE SCHEMA ON SCHEMA main.ml TO alice",
        "GRANT SELECT ON TABLE main.ml.churn TO alice",
    ]
    assert rows(alice.sql("SELECT id, v FROM main.ml.churn ORDER BY id")) == [(1, 10), (2, 20)]


# -- no existence oracle -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * FROM main.secret.{}",
        "INSERT INTO main.secret.{} VALUES (1, 1)",
        "DROP TABLE main.secret.{}",
        "GRANT SELECT ON TABLE main.secret.{} TO alice",
        "COMMENT ON TABLE main.secret.{} IS 'x'",
        "DESCRIBE TABLE main.secret.{}",
        "SHOW COLUMNS IN main.secret.{}",
        "SHOW GRANTS ON TABLE main.secret.{}",
    ],
)
def test_a_user_who_cannot_use_a_schema_cannot_tell_which_of_its_tables_exist(admin, connect, template):
    """Inside a schema the user may not use, an existing table and a missing one get the same answer."""
    admin.sql(grant("USE CATALOG", "CATALOG main", "alice"))
    alice = connect("alice")
    existing_code, existing_message = outcome(alice, template.format("payroll"))
    missing_code, missing_message = outcome(alice, template.format("nope"))
    assert (existing_code, missing_code) == (DENIED, DENIED)
    assert "USE SCHEMA" in missing_message
    assert existing_message.replace("payroll", "nope") == missing_message


def test_a_missing_table_in_a_usable_schema_is_not_found(admin, connect):
    for line in usage("alice"):
        admin.sql(line)
    code, message = outcome(connect("alice"), "SELECT * FROM main.ml.nope")
    assert code == "TABLE_OR_VIEW_NOT_FOUND"
    assert "main.ml.nope" in message


def test_a_missing_schema_in_a_catalog_the_user_cannot_use_is_a_denial(connect):
    code, message = outcome(connect("alice"), "SELECT * FROM main.nowhere.t")
    assert code == DENIED
    assert "USE CATALOG" in message


# -- changes take effect at once, for every open connection -----------------------------------


def test_a_revoke_takes_effect_at_once_even_on_a_connection_opened_before(admin, connect):
    for line in (*usage("alice"), grant("SELECT", TABLE, "alice")):
        admin.sql(line)
    first, second = connect("alice"), connect("alice")
    assert len(first.sql(READ)) == 2
    assert len(second.sql(READ)) == 2
    admin.sql("REVOKE SELECT ON TABLE main.ml.churn FROM alice")
    for cat in (first, second):
        with pytest.raises(catalog.PermissionDenied) as raised:
            cat.sql(READ)
        assert "SELECT" in raised.value.message
    with pytest.raises(catalog.PermissionDenied):
        first.read_table("main.ml.churn")


def test_a_grant_takes_effect_at_once_on_an_open_connection(admin, connect):
    alice = connect("alice")
    assert outcome(alice, READ)[0] == DENIED
    for line in (*usage("alice"), grant("SELECT", TABLE, "alice")):
        admin.sql(line)
    assert rows(alice.sql("SELECT id FROM main.ml.churn ORDER BY id")) == [(1,), (2,)]


def test_leaving_and_rejoining_a_group_takes_and_gives_back_its_grants(admin, connect):
    for line in GROUP_READS:
        admin.sql(line)
    alice = connect("alice")
    assert len(alice.sql(READ)) == 2
    admin.sql("ALTER GROUP analysts REMOVE USER alice")
    assert outcome(alice, READ)[0] == DENIED
    admin.sql("ALTER GROUP analysts ADD USER alice")
    assert len(alice.sql(READ)) == 2


def test_a_revoke_from_the_group_does_not_touch_a_members_own_grant(admin, connect):
    for line in (*GROUP_READS, *usage("alice"), grant("SELECT", TABLE, "alice")):
        admin.sql(line)
    admin.sql("REVOKE SELECT ON SCHEMA main.ml FROM analysts")
    alice = connect("alice")
    assert len(alice.sql(READ)) == 2
    assert outcome(alice, "SELECT * FROM main.ml.other")[0] == DENIED


def test_a_revoke_on_the_table_of_a_grant_made_on_the_schema_changes_nothing(admin, connect):
    for line in (*usage("alice"), grant("SELECT", ML, "alice")):
        admin.sql(line)
    before = rows(admin.sql("SHOW GRANTS ON TABLE main.ml.churn"))
    admin.sql("REVOKE SELECT ON TABLE main.ml.churn FROM alice")
    assert rows(admin.sql("SHOW GRANTS ON TABLE main.ml.churn")) == before
    assert ("alice", "SELECT", "SCHEMA", "main.ml") in before
    assert len(connect("alice").sql(READ)) == 2


# -- creators own what they create ---------------------------------------------------------------


def test_the_creator_of_a_table_owns_it_and_may_read_grant_and_drop_it(admin, connect):
    for line in (*usage("alice"), grant("CREATE TABLE", ML, "alice"), *usage("bob")):
        admin.sql(line)
    alice = connect("alice")
    alice.sql("CREATE TABLE main.ml.mine (id INT)")
    alice.sql("INSERT INTO main.ml.mine VALUES (1)")
    assert ("alice", "OWN", "TABLE", "main.ml.mine") in rows(admin.sql("SHOW GRANTS ON TABLE main.ml.mine"))
    alice.sql("GRANT SELECT ON TABLE main.ml.mine TO bob")
    assert rows(connect("bob").sql("SELECT id FROM main.ml.mine")) == [(1,)]
    alice.sql("DROP TABLE main.ml.mine")
    assert "mine" not in admin.sql("SHOW TABLES IN main.ml")["tableName"].tolist()


def test_the_creator_of_a_catalog_owns_it(admin, connect):
    admin.sql(grant("CREATE CATALOG", "METASTORE", "alice"))
    alice = connect("alice")
    alice.sql("CREATE CATALOG sales")
    alice.sql("CREATE SCHEMA sales.q1")
    alice.sql("CREATE TABLE sales.q1.orders AS SELECT 1 AS id")
    assert rows(alice.sql("SELECT id FROM sales.q1.orders")) == [(1,)]
    assert rows(admin.sql("SHOW GRANTS ON CATALOG sales")) == [("alice", "OWN", "CATALOG", "sales")]


def test_python_api_calls_follow_the_same_rules(admin, connect):
    alice = connect("alice")
    frame = pd.DataFrame({"id": [9], "v": [90]})
    for call in (lambda: alice.read_table("main.ml.churn"), lambda: alice.write_table("main.ml.churn", frame)):
        with pytest.raises(catalog.PermissionDenied) as raised:
            call()
        assert "USE CATALOG" in raised.value.message
    for line in (*usage("alice"), grant("SELECT", TABLE, "alice")):
        admin.sql(line)
    assert len(alice.read_table("main.ml.churn")) == 2
    with pytest.raises(catalog.PermissionDenied) as raised:
        alice.write_table("main.ml.churn", frame)
    assert "MODIFY" in raised.value.message
    with pytest.raises(catalog.PermissionDenied) as raised:
        alice.create_table("main.ml.mine", frame)
    assert "CREATE TABLE" in raised.value.message
    admin.sql(grant("MODIFY", TABLE, "alice"))
    assert alice.write_table("main.ml.churn", frame) == 1
    assert len(alice.read_table("main.ml.churn")) == 3


# -- GRANT is all or nothing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        (grant("SELECT, FLY", TABLE, "alice"), INVALID),
        (grant("SELECT", TABLE, "alice, nobody"), NO_PRINCIPAL),
        (grant("SELECT, MODIFY", "VIEW main.ml.churn_v", "alice"), INVALID),
    ],
)
def test_a_refused_grant_grants_nothing(admin, statement, code):
    before = rows(admin.sql("SHOW GRANTS ON TABLE main.ml.churn"))
    assert outcome(admin, statement)[0] == code
    assert rows(admin.sql("SHOW GRANTS ON TABLE main.ml.churn")) == before
    assert rows(admin.sql("SHOW GRANTS ON VIEW main.ml.churn_v")) == [("admin", "OWN", "VIEW", "main.ml.churn_v")]


def test_a_denied_grant_grants_nothing(admin, connect):
    for line in (*usage("alice"), grant("SELECT", TABLE, "alice")):
        admin.sql(line)
    assert outcome(connect("alice"), grant("SELECT", TABLE, "bob"))[0] == DENIED
    assert rows(admin.sql("SHOW GRANTS bob ON TABLE main.ml.churn")) == []


def test_granting_twice_keeps_one_grant(admin):
    admin.sql(grant("SELECT", TABLE, "alice"))
    admin.sql(grant("SELECT", TABLE, "alice"))
    assert rows(admin.sql("SHOW GRANTS alice ON TABLE main.ml.churn")) == [
        ("alice", "SELECT", "TABLE", "main.ml.churn")
    ]


# -- SHOW GRANTS ---------------------------------------------------------------------------------

SHOW_SETUP = (
    *GROUP_READS,
    grant("SELECT", TABLE, "bob"),
    grant("MODIFY", TABLE, "alice"),
    grant("CREATE SCHEMA", "CATALOG main", "carol"),
    grant("USE SCHEMA", "CATALOG main", "carol"),
)


@pytest.fixture
def shown(admin: Catalog) -> Catalog:
    for line in SHOW_SETUP:
        admin.sql(line)
    return admin


def test_show_grants_has_the_databricks_columns(shown):
    assert list(shown.sql("SHOW GRANTS ON TABLE main.ml.churn").columns) == [
        "principal",
        "action_type",
        "object_type",
        "object_key",
    ]


def test_show_grants_lists_the_owner_direct_and_inherited_grants_to_a_manager(shown):
    assert set(rows(shown.sql("SHOW GRANTS ON TABLE main.ml.churn"))) == {
        ("admin", "OWN", "TABLE", "main.ml.churn"),
        ("bob", "SELECT", "TABLE", "main.ml.churn"),
        ("alice", "MODIFY", "TABLE", "main.ml.churn"),
        ("analysts", "SELECT", "SCHEMA", "main.ml"),
        ("analysts", "USE SCHEMA", "SCHEMA", "main.ml"),
        ("analysts", "USE CATALOG", "CATALOG", "main"),
        ("carol", "USE SCHEMA", "CATALOG", "main"),
    }


def test_show_grants_on_a_schema_and_a_catalog(shown):
    assert set(rows(shown.sql("SHOW GRANTS ON SCHEMA main.ml"))) == {
        ("admin", "OWN", "SCHEMA", "main.ml"),
        ("analysts", "SELECT", "SCHEMA", "main.ml"),
        ("analysts", "USE SCHEMA", "SCHEMA", "main.ml"),
        ("analysts", "USE CATALOG", "CATALOG", "main"),
        ("carol", "USE SCHEMA", "CATALOG", "main"),
    }
    assert set(rows(shown.sql("SHOW GRANTS ON CATALOG main"))) == {
        ("admin", "OWN", "CATALOG", "main"),
        ("analysts", "USE CATALOG", "CATALOG", "main"),
        ("carol", "CREATE SCHEMA", "CATALOG", "main"),
        ("carol", "USE SCHEMA", "CATALOG", "main"),
    }


def test_show_grants_on_the_metastore(shown):
    shown.sql(grant("CREATE CATALOG", "METASTORE", "carol"))
    assert set(rows(shown.sql("SHOW GRANTS ON METASTORE"))) == {
        ("admin", "OWN", "METASTORE", ""),
        ("carol", "CREATE CATALOG", "METASTORE", ""),
    }


def test_show_grants_shows_a_non_manager_only_their_own_and_their_groups_rows(shown, connect):
    assert set(rows(connect("alice").sql("SHOW GRANTS ON TABLE main.ml.churn"))) == {
        ("alice", "MODIFY", "TABLE", "main.ml.churn"),
        ("analysts", "SELECT", "SCHEMA", "main.ml"),
        ("analysts", "USE SCHEMA", "SCHEMA", "main.ml"),
        ("analysts", "USE CATALOG", "CATALOG", "main"),
    }
    assert rows(connect("bob").sql("SHOW GRANTS ON TABLE main.ml.churn")) == [
        ("bob", "SELECT", "TABLE", "main.ml.churn")
    ]


def test_show_grants_for_a_principal_filters_to_them_and_their_groups(shown):
    assert set(rows(shown.sql("SHOW GRANTS alice ON TABLE main.ml.churn"))) == {
        ("alice", "MODIFY", "TABLE", "main.ml.churn"),
        ("analysts", "SELECT", "SCHEMA", "main.ml"),
        ("analysts", "USE SCHEMA", "SCHEMA", "main.ml"),
        ("analysts", "USE CATALOG", "CATALOG", "main"),
    }
    assert rows(shown.sql("SHOW GRANTS bob ON TABLE main.ml.churn")) == [("bob", "SELECT", "TABLE", "main.ml.churn")]


def test_show_grants_for_another_principal_reveals_nothing_to_a_non_manager(shown, connect):
    assert rows(connect("alice").sql("SHOW GRANTS bob ON TABLE main.ml.churn")) == []


def test_show_grants_for_an_unknown_principal(shown):
    code, message = outcome(shown, "SHOW GRANTS nobody ON TABLE main.ml.churn")
    assert code == NO_PRINCIPAL
    assert "nobody" in message


def test_show_grants_shows_a_manage_holder_every_row(shown, connect):
    for line in TABLE_MANAGER:
        shown.sql(line)
    assert rows(connect("bob").sql("SHOW GRANTS ON TABLE main.ml.churn")) == rows(
        shown.sql("SHOW GRANTS ON TABLE main.ml.churn")
    )


def test_show_grants_shows_a_schema_owner_every_row_on_a_child(shown, connect):
    shown.sql("ALTER SCHEMA main.ml OWNER TO dave")
    assert set(rows(connect("dave").sql("SHOW GRANTS ON TABLE main.ml.churn"))) >= {
        ("admin", "OWN", "TABLE", "main.ml.churn"),
        ("bob", "SELECT", "TABLE", "main.ml.churn"),
        ("carol", "USE SCHEMA", "CATALOG", "main"),
    }


def test_show_grants_lists_all_privileges_as_granted(admin):
    admin.sql(grant("ALL PRIVILEGES", ML, "analysts"))
    assert ("analysts", "ALL PRIVILEGES", "SCHEMA", "main.ml") in rows(admin.sql("SHOW GRANTS ON TABLE main.ml.churn"))
