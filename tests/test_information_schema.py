"""system.information_schema: Databricks' column names, and each reader sees only what they may see.

Every test gets a copy of one prepared home (real DuckDB files), the issue's story plus a little:
catalog ``main`` with schema ``ml`` (table churn_features, view churned) and schema ``secret``
(table salaries); catalog ``sales`` with schema ``q1`` (table orders). alice is in analysts,
which hold USE CATALOG on main and USE SCHEMA + SELECT on main.ml; bob and carol hold nothing
beyond what every user gets (the information schema itself).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import catalog
from catalog.api import Catalog
from catalog.services import system_tables

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client

WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.ml COMMENT 'churn work'",
    "CREATE VIEW main.ml.churned COMMENT 'who left' AS "
    "SELECT customer_id FROM main.ml.churn_features WHERE churned = 1",
    "CREATE SCHEMA main.secret",
    "CREATE TABLE main.secret.salaries (employee_id INT NOT NULL COMMENT 'who', amount DECIMAL(10,2)) COMMENT 'pay'",
    "CREATE CATALOG sales",
    "CREATE SCHEMA sales.q1",
    "CREATE TABLE sales.q1.orders (id BIGINT)",
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE USER carol",
    "CREATE GROUP analysts",
    "ALTER GROUP analysts ADD USER alice",
    "GRANT USE CATALOG ON CATALOG main TO analysts",
    "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO analysts",
)


def churn_features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "tenure_months": [3, 14, 40, 7],
            "avg_session_minutes": [12.5, 30.0, 8.25, 55.0],
            "churned": [1, 0, 0, 1],
        }
    )


@pytest.fixture(scope="session")
def schema_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("information_schema") / "home"
    builder = catalog.connect(path, user="admin")
    try:
        builder.sql(WORLD[0])
        builder.sql(WORLD[1])
        builder.create_table("main.ml.churn_features", churn_features(), comment="features")
        for statement in WORLD[2:]:
            builder.sql(statement)
    finally:
        builder.close()
    return path


@pytest.fixture
def home(tmp_path: Path, schema_template: Path) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared world for every test."""
    path = tmp_path / "home"
    shutil.copytree(schema_template, path)
    return path


@pytest.fixture
def readers(admin: Catalog, connect: Callable[[str], Catalog]) -> dict[str, Catalog]:
    return {"admin": admin, "alice": connect("alice"), "bob": connect("bob"), "carol": connect("carol")}


def rows(cat: Catalog, query: str) -> set[tuple]:
    frame = cat.sql(query).astype(object)
    return {tuple(None if _missing(v) else v for v in row) for row in frame.itertuples(index=False)}


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def refused(cat: Catalog, statement: str) -> catalog.CatalogError:
    with pytest.raises(catalog.CatalogError) as raised:
        cat.sql(statement)
    return raised.value


IS = "system.information_schema"
INFO_TABLES = {
    "catalog_privileges",
    "catalogs",
    "columns",
    "key_column_usage",
    "model_versions",
    "registered_models",
    "schema_privileges",
    "schemata",
    "table_constraints",
    "table_privileges",
    "tables",
    "views",
}

# -- column names --------------------------------------------------------------------------------

COLUMNS = {
    "catalogs": [
        "catalog_name",
        "catalog_owner",
        "comment",
        "created",
        "created_by",
        "last_altered",
        "last_altered_by",
    ],
    "schemata": [
        "catalog_name",
        "schema_name",
        "schema_owner",
        "comment",
        "created",
        "created_by",
        "last_altered",
        "last_altered_by",
    ],
    "tables": [
        "table_catalog",
        "table_schema",
        "table_name",
        "table_type",
        "is_insertable_into",
        "commit_action",
        "table_owner",
        "comment",
        "created",
        "created_by",
        "last_altered",
        "last_altered_by",
        "data_source_format",
    ],
    "columns": [
        "table_catalog",
        "table_schema",
        "table_name",
        "column_name",
        "ordinal_position",
        "column_default",
        "is_nullable",
        "full_data_type",
        "data_type",
        "comment",
    ],
    "views": ["table_catalog", "table_schema", "table_name", "view_definition", "is_updatable", "is_insertable_into"],
    "table_privileges": [
        "grantor",
        "grantee",
        "table_catalog",
        "table_schema",
        "table_name",
        "privilege_type",
        "is_grantable",
        "inherited_from",
    ],
    "schema_privileges": [
        "grantor",
        "grantee",
        "catalog_name",
        "schema_name",
        "privilege_type",
        "is_grantable",
        "inherited_from",
    ],
    "catalog_privileges": ["grantor", "grantee", "catalog_name", "privilege_type", "is_grantable", "inherited_from"],
    "table_constraints": [
        "constraint_catalog",
        "constraint_schema",
        "constraint_name",
        "table_catalog",
        "table_schema",
        "table_name",
        "constraint_type",
        "is_deferrable",
        "initially_deferred",
        "enforced",
        "comment",
    ],
    "key_column_usage": [
        "constraint_catalog",
        "constraint_schema",
        "constraint_name",
        "table_catalog",
        "table_schema",
        "table_name",
        "column_name",
        "ordinal_position",
        "position_in_unique_constraint",
    ],
    # Not in Databricks' information schema: the registry's own views (tests/test_registry.py).
    "registered_models": [
        "catalog_name",
        "schema_name",
        "model_name",
        "full_name",
        "owner",
        "comment",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "latest_version",
        "aliases",
    ],
    "model_versions": [
        "catalog_name",
        "schema_name",
        "model_name",
        "full_name",
        "version",
        "source",
        "run_id",
        "status",
        "current_stage",
        "comment",
        "aliases",
        "model_digest",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    ],
}


@pytest.mark.parametrize(("table", "columns"), COLUMNS.items(), ids=list(COLUMNS))
def test_columns_are_named_as_in_databricks(readers, table, columns):
    assert list(readers["bob"].sql(f"SELECT * FROM {IS}.{table} LIMIT 0").columns) == columns


def test_the_information_schema_describes_itself(readers):
    described = rows(
        readers["bob"],
        f"SELECT table_name, column_name, ordinal_position FROM {IS}.columns WHERE table_schema = 'information_schema'",
    )
    assert described == {
        (table, column, position) for table, columns in COLUMNS.items() for position, column in enumerate(columns, 1)
    }


# -- what each reader sees --------------------------------------------------------------------------

# The admin-only system tables (system.access, system.mlflow, ...), as the package defines them.
SYSTEM_TABLES = {(t.name.schema, t.name.name) for t in system_tables.definitions().values()}
ACCESS_ROWS = {(schema, name) for schema, name in SYSTEM_TABLES if schema != "information_schema"}
NON_SYSTEM_TABLES = f"SELECT table_catalog, table_schema, table_name FROM {IS}.tables WHERE table_catalog <> 'system'"
NON_SYSTEM_COLUMNS = (
    f"SELECT DISTINCT table_catalog, table_schema, table_name FROM {IS}.columns WHERE table_catalog <> 'system'"
)
MAIN_TABLES = {("main", "ml", "churn_features"), ("main", "ml", "churned")}
ALL_TABLES = {*MAIN_TABLES, ("main", "secret", "salaries"), ("sales", "q1", "orders")}
INFO_ROWS = {("information_schema", name) for name in INFO_TABLES}

VISIBILITY = [
    ("admin", f"SELECT catalog_name FROM {IS}.catalogs", {("system",), ("main",), ("sales",)}),
    ("alice", f"SELECT catalog_name FROM {IS}.catalogs", {("system",), ("main",)}),
    ("bob", f"SELECT catalog_name FROM {IS}.catalogs", {("system",)}),
    (
        "admin",
        f"SELECT catalog_name, schema_name FROM {IS}.schemata",
        {
            *{("system", schema) for schema, _ in SYSTEM_TABLES},
            ("main", "default"),
            ("main", "ml"),
            ("main", "secret"),
            ("sales", "default"),
            ("sales", "q1"),
        },
    ),
    (
        "alice",
        f"SELECT catalog_name, schema_name FROM {IS}.schemata",
        {("system", "information_schema"), ("main", "ml")},
    ),
    ("bob", f"SELECT catalog_name, schema_name FROM {IS}.schemata", {("system", "information_schema")}),
    ("admin", NON_SYSTEM_TABLES, ALL_TABLES),
    ("alice", NON_SYSTEM_TABLES, MAIN_TABLES),
    ("bob", NON_SYSTEM_TABLES, set()),
    (
        "admin",
        f"SELECT table_schema, table_name FROM {IS}.tables WHERE table_catalog = 'system'",
        {*INFO_ROWS, *ACCESS_ROWS},
    ),
    ("alice", f"SELECT table_schema, table_name FROM {IS}.tables WHERE table_catalog = 'system'", INFO_ROWS),
    ("bob", f"SELECT table_schema, table_name FROM {IS}.tables WHERE table_catalog = 'system'", INFO_ROWS),
    ("admin", NON_SYSTEM_COLUMNS, ALL_TABLES),
    ("alice", NON_SYSTEM_COLUMNS, MAIN_TABLES),
    ("bob", NON_SYSTEM_COLUMNS, set()),
    (
        "admin",
        f"SELECT DISTINCT table_name FROM {IS}.columns WHERE table_schema = 'access'",
        {(name,) for schema, name in ACCESS_ROWS if schema == "access"},
    ),
    ("alice", f"SELECT DISTINCT table_name FROM {IS}.columns WHERE table_schema = 'access'", set()),
    ("admin", f"SELECT table_catalog, table_schema, table_name FROM {IS}.views", {("main", "ml", "churned")}),
    ("alice", f"SELECT table_catalog, table_schema, table_name FROM {IS}.views", {("main", "ml", "churned")}),
    ("bob", f"SELECT table_catalog, table_schema, table_name FROM {IS}.views", set()),
    (
        "alice",
        f"SELECT DISTINCT table_catalog, table_schema, table_name FROM {IS}.table_privileges "
        "WHERE table_catalog <> 'system'",
        MAIN_TABLES,
    ),
    ("bob", f"SELECT * FROM {IS}.table_privileges WHERE table_catalog <> 'system'", set()),
    ("bob", f"SELECT * FROM {IS}.schema_privileges WHERE catalog_name <> 'system'", set()),
    ("bob", f"SELECT * FROM {IS}.catalog_privileges WHERE catalog_name <> 'system'", set()),
]


@pytest.mark.parametrize(("reader", "query", "expected"), VISIBILITY, ids=[f"{r[0]}: {r[1][:90]}" for r in VISIBILITY])
def test_each_reader_sees_only_what_they_may_see(readers, reader, query, expected):
    assert rows(readers[reader], query) == expected


def test_table_rows_carry_type_owner_comment_and_format(readers):
    query = (
        "SELECT table_name, table_type, is_insertable_into, commit_action, table_owner, comment, created_by, "
        f"last_altered_by, data_source_format FROM {IS}.tables WHERE table_catalog = 'main'"
    )
    assert rows(readers["admin"], query) == {
        ("churn_features", "MANAGED", "YES", "PRESERVE", "admin", "features", "admin", "admin", "DUCKDB"),
        ("churned", "VIEW", "NO", "PRESERVE", "admin", "who left", "admin", "admin", None),
        ("salaries", "MANAGED", "YES", "PRESERVE", "admin", "pay", "admin", "admin", "DUCKDB"),
    }


def test_column_rows_carry_position_type_nullability_and_comment(readers):
    query = (
        "SELECT table_name, column_name, ordinal_position, is_nullable, full_data_type, data_type, comment, "
        f"column_default FROM {IS}.columns WHERE table_catalog = 'main'"
    )
    assert rows(readers["admin"], query) == {
        ("churn_features", "customer_id", 1, "YES", "bigint", "BIGINT", None, None),
        ("churn_features", "tenure_months", 2, "YES", "bigint", "BIGINT", None, None),
        ("churn_features", "avg_session_minutes", 3, "YES", "double", "DOUBLE", None, None),
        ("churn_features", "churned", 4, "YES", "bigint", "BIGINT", None, None),
        ("churned", "customer_id", 1, "YES", "bigint", "BIGINT", None, None),
        ("salaries", "employee_id", 1, "NO", "int", "INT", "who", None),
        ("salaries", "amount", 2, "YES", "decimal(10,2)", "DECIMAL", None, None),
    }


def test_alice_sees_the_same_rows_as_the_admin_for_what_she_may_read(readers):
    query = f"SELECT * FROM {IS}.columns WHERE table_schema = 'ml'"
    assert rows(readers["alice"], query) == rows(readers["admin"], query)


def test_view_rows_carry_the_qualified_definition(readers):
    assert rows(
        readers["alice"], f"SELECT table_name, view_definition, is_updatable, is_insertable_into FROM {IS}.views"
    ) == {("churned", "SELECT customer_id FROM main.ml.churn_features WHERE churned = 1", "NO", "NO")}


def test_catalog_and_schema_rows_carry_owner_and_comment(readers):
    admin = readers["admin"]
    admin.sql("ALTER SCHEMA main.secret OWNER TO carol")
    assert rows(
        admin, f"SELECT catalog_name, catalog_owner, created_by FROM {IS}.catalogs WHERE catalog_name = 'main'"
    ) == {("main", "admin", "admin")}
    assert rows(admin, f"SELECT schema_name, schema_owner, comment FROM {IS}.schemata WHERE catalog_name = 'main'") == {
        ("default", "admin", "Default schema"),
        ("ml", "admin", "churn work"),
        ("secret", "carol", None),
    }


def test_joins_and_aggregates_over_the_information_schema(readers):
    query = (
        f"SELECT t.table_name, t.table_type, count(*) AS n FROM {IS}.tables t JOIN {IS}.columns c "
        "ON c.table_catalog = t.table_catalog AND c.table_schema = t.table_schema AND c.table_name = t.table_name "
        "WHERE t.table_catalog = 'main' GROUP BY ALL"
    )
    assert rows(readers["alice"], query) == {("churn_features", "MANAGED", 4), ("churned", "VIEW", 1)}
    assert rows(readers["admin"], query) == {
        ("churn_features", "MANAGED", 4),
        ("churned", "VIEW", 1),
        ("salaries", "MANAGED", 2),
    }


# -- what makes an object visible -----------------------------------------------------------------


def test_a_grant_shows_the_table_and_its_containers_at_once_and_a_revoke_hides_them(readers):
    admin, bob = readers["admin"], readers["bob"]
    admin.sql("GRANT SELECT ON TABLE main.secret.salaries TO bob")
    assert rows(bob, NON_SYSTEM_TABLES) == {("main", "secret", "salaries")}
    assert rows(bob, f"SELECT catalog_name, schema_name FROM {IS}.schemata WHERE catalog_name = 'main'") == {
        ("main", "secret")
    }
    assert ("main",) in rows(bob, f"SELECT catalog_name FROM {IS}.catalogs")
    admin.sql("REVOKE SELECT ON TABLE main.secret.salaries FROM bob")
    assert rows(bob, NON_SYSTEM_TABLES) == set()
    assert rows(bob, f"SELECT catalog_name FROM {IS}.catalogs") == {("system",)}


@pytest.mark.parametrize(
    ("grants", "tables"),
    [
        (("GRANT SELECT ON SCHEMA main.secret TO bob",), {("main", "secret", "salaries")}),
        (("GRANT MODIFY ON TABLE main.secret.salaries TO bob",), {("main", "secret", "salaries")}),
        (("GRANT MANAGE ON SCHEMA main.secret TO bob",), {("main", "secret", "salaries")}),
        (("GRANT SELECT ON CATALOG sales TO bob",), {("sales", "q1", "orders")}),
        (("GRANT BROWSE ON CATALOG main TO bob",), {*MAIN_TABLES, ("main", "secret", "salaries")}),
        (("ALTER TABLE sales.q1.orders OWNER TO bob",), {("sales", "q1", "orders")}),
        (("ALTER SCHEMA main.secret OWNER TO bob",), {("main", "secret", "salaries")}),
        (("ALTER CATALOG sales OWNER TO bob",), {("sales", "q1", "orders")}),
        (("GRANT SELECT ON TABLE sales.q1.orders TO `account users`",), {("sales", "q1", "orders")}),
        (
            (
                "CREATE GROUP everyone_in_analytics",
                "ALTER GROUP everyone_in_analytics ADD GROUP analysts",
                "ALTER GROUP analysts ADD USER bob",
                "GRANT SELECT ON TABLE sales.q1.orders TO everyone_in_analytics",
            ),
            {*MAIN_TABLES, ("sales", "q1", "orders")},
        ),
        (("GRANT USE CATALOG ON CATALOG main TO bob", "GRANT USE SCHEMA ON SCHEMA main.secret TO bob"), set()),
        (("GRANT CREATE TABLE ON SCHEMA main.secret TO bob",), set()),
        (("GRANT USE SCHEMA ON CATALOG sales TO bob",), set()),
    ],
    ids=[
        "SELECT on the schema",
        "MODIFY on the table",
        "MANAGE on the schema",
        "SELECT on the catalog",
        "BROWSE on the catalog",
        "owns the table",
        "owns the schema",
        "owns the catalog",
        "account users",
        "nested group",
        "usage only",
        "CREATE TABLE only",
        "USE SCHEMA on the catalog",
    ],
)
def test_what_makes_a_table_visible(readers, grants, tables):
    for statement in grants:
        readers["admin"].sql(statement)
    assert rows(readers["bob"], NON_SYSTEM_TABLES) == tables


def test_browse_shows_metadata_but_no_data(readers):
    readers["admin"].sql("GRANT BROWSE ON CATALOG main TO bob")
    bob = readers["bob"]
    assert ("salaries", "employee_id", "who") in rows(
        bob, f"SELECT table_name, column_name, comment FROM {IS}.columns WHERE table_catalog = 'main'"
    )
    error = refused(bob, "SELECT * FROM main.secret.salaries")
    assert error.error_code == "PERMISSION_DENIED"


def test_usage_of_a_schema_shows_the_schema_but_none_of_its_tables(readers):
    readers["admin"].sql("GRANT USE SCHEMA ON SCHEMA main.secret TO carol")
    carol = readers["carol"]
    assert rows(carol, f"SELECT catalog_name, schema_name FROM {IS}.schemata WHERE catalog_name = 'main'") == {
        ("main", "secret")
    }
    assert rows(carol, NON_SYSTEM_TABLES) == set()


def test_the_information_schema_needs_select_like_any_table(readers):
    readers["admin"].sql(f"REVOKE SELECT ON SCHEMA {IS} FROM `account users`")
    error = refused(readers["bob"], f"SELECT * FROM {IS}.tables")
    assert error.error_code == "PERMISSION_DENIED"
    assert "SELECT" in error.message
    assert f"{IS}.tables" in error.message
    assert len(readers["admin"].sql(f"SELECT * FROM {IS}.tables")) > 0


# -- the privileges views ----------------------------------------------------------------------------

TABLE_PRIVILEGES = (
    "SELECT grantor, grantee, table_catalog, table_schema, table_name, privilege_type, is_grantable, inherited_from "
    f"FROM {IS}.table_privileges WHERE table_catalog <> 'system'"
)
SCHEMA_PRIVILEGES = (
    "SELECT grantor, grantee, catalog_name, schema_name, privilege_type, is_grantable, inherited_from "
    f"FROM {IS}.schema_privileges WHERE catalog_name <> 'system'"
)
CATALOG_PRIVILEGES = (
    "SELECT grantor, grantee, catalog_name, privilege_type, is_grantable, inherited_from "
    f"FROM {IS}.catalog_privileges WHERE catalog_name <> 'system'"
)
ANALYSTS_TABLE_ROWS = {
    ("admin", "analysts", "main", "ml", "churn_features", "SELECT", "NO", "SCHEMA"),
    ("admin", "analysts", "main", "ml", "churned", "SELECT", "NO", "SCHEMA"),
}
ANALYSTS_SCHEMA_ROWS = {
    ("admin", "analysts", "main", "ml", "USE SCHEMA", "NO", "NONE"),
    ("admin", "analysts", "main", "ml", "SELECT", "NO", "NONE"),
}


def test_table_privileges_show_grants_inherited_from_the_schema(readers):
    assert rows(readers["admin"], TABLE_PRIVILEGES) == ANALYSTS_TABLE_ROWS


def test_schema_and_catalog_privileges_show_the_grants_made_on_them(readers):
    assert rows(readers["admin"], SCHEMA_PRIVILEGES) == ANALYSTS_SCHEMA_ROWS
    assert rows(readers["admin"], CATALOG_PRIVILEGES) == {("admin", "analysts", "main", "USE CATALOG", "NO", "NONE")}


def test_grants_on_a_catalog_reach_schemas_and_tables_marked_inherited_from_catalog(readers):
    admin = readers["admin"]
    admin.sql("GRANT USE CATALOG, USE SCHEMA, SELECT, CREATE SCHEMA ON CATALOG sales TO carol")
    assert rows(admin, f"{CATALOG_PRIVILEGES} AND catalog_name = 'sales'") == {
        ("admin", "carol", "sales", privilege, "NO", "NONE")
        for privilege in ("USE CATALOG", "USE SCHEMA", "SELECT", "CREATE SCHEMA")
    }
    assert rows(admin, f"{SCHEMA_PRIVILEGES} AND catalog_name = 'sales'") == {
        ("admin", "carol", "sales", schema, privilege, "NO", "CATALOG")
        for schema in ("default", "q1")
        for privilege in ("USE SCHEMA", "SELECT")
    }
    assert rows(admin, f"{TABLE_PRIVILEGES} AND table_catalog = 'sales'") == {
        ("admin", "carol", "sales", "q1", "orders", "SELECT", "NO", "CATALOG")
    }


def test_a_direct_grant_is_not_inherited_and_names_its_grantor(readers):
    admin = readers["admin"]
    admin.sql("GRANT MANAGE ON TABLE main.secret.salaries TO bob")
    admin.sql("GRANT USE CATALOG ON CATALOG main TO bob")
    admin.sql("GRANT USE SCHEMA ON SCHEMA main.secret TO bob")
    readers["bob"].sql("GRANT SELECT ON TABLE main.secret.salaries TO carol")
    assert rows(admin, f"{TABLE_PRIVILEGES} AND table_schema = 'secret'") == {
        ("admin", "bob", "main", "secret", "salaries", "MANAGE", "NO", "NONE"),
        ("bob", "carol", "main", "secret", "salaries", "SELECT", "NO", "NONE"),
    }


def test_a_reader_sees_grants_to_themselves_and_their_groups_but_not_to_others(readers):
    admin = readers["admin"]
    admin.sql("GRANT SELECT ON TABLE main.ml.churn_features TO bob")
    admin.sql("GRANT MODIFY ON TABLE main.ml.churn_features TO carol")
    admin.sql("GRANT CREATE SCHEMA ON CATALOG main TO carol")
    bob_row = ("admin", "bob", "main", "ml", "churn_features", "SELECT", "NO", "NONE")
    carol_row = ("admin", "carol", "main", "ml", "churn_features", "MODIFY", "NO", "NONE")
    assert rows(admin, TABLE_PRIVILEGES) == {*ANALYSTS_TABLE_ROWS, bob_row, carol_row}
    assert rows(readers["alice"], TABLE_PRIVILEGES) == ANALYSTS_TABLE_ROWS
    assert rows(readers["bob"], TABLE_PRIVILEGES) == {bob_row}
    assert rows(readers["carol"], TABLE_PRIVILEGES) == {carol_row}
    assert rows(readers["alice"], CATALOG_PRIVILEGES) == {("admin", "analysts", "main", "USE CATALOG", "NO", "NONE")}
    assert rows(readers["carol"], CATALOG_PRIVILEGES) == {("admin", "carol", "main", "CREATE SCHEMA", "NO", "NONE")}
    assert rows(readers["bob"], CATALOG_PRIVILEGES) == set()


def test_a_reader_who_may_manage_an_object_sees_every_grant_on_it(readers):
    admin = readers["admin"]
    admin.sql("GRANT SELECT ON TABLE main.ml.churn_features TO bob")
    admin.sql("ALTER TABLE main.ml.churn_features OWNER TO carol")
    assert rows(readers["carol"], TABLE_PRIVILEGES) == {
        ("admin", "analysts", "main", "ml", "churn_features", "SELECT", "NO", "SCHEMA"),
        ("admin", "bob", "main", "ml", "churn_features", "SELECT", "NO", "NONE"),
    }
    admin.sql("GRANT MANAGE ON SCHEMA main.ml TO bob")
    assert rows(readers["bob"], TABLE_PRIVILEGES) == {
        *ANALYSTS_TABLE_ROWS,
        ("admin", "bob", "main", "ml", "churn_features", "SELECT", "NO", "NONE"),
        ("admin", "bob", "main", "ml", "churn_features", "MANAGE", "NO", "SCHEMA"),
        ("admin", "bob", "main", "ml", "churned", "MANAGE", "NO", "SCHEMA"),
    }
    assert rows(readers["bob"], SCHEMA_PRIVILEGES) == {
        *ANALYSTS_SCHEMA_ROWS,
        ("admin", "bob", "main", "ml", "MANAGE", "NO", "NONE"),
    }


def test_grants_to_an_outer_group_are_visible_to_members_of_a_nested_group(readers):
    admin = readers["admin"]
    for statement in (
        "CREATE GROUP everyone_in_analytics",
        "ALTER GROUP everyone_in_analytics ADD GROUP analysts",
        "GRANT SELECT ON TABLE sales.q1.orders TO everyone_in_analytics",
    ):
        admin.sql(statement)
    assert rows(readers["alice"], f"{TABLE_PRIVILEGES} AND table_catalog = 'sales'") == {
        ("admin", "everyone_in_analytics", "sales", "q1", "orders", "SELECT", "NO", "NONE")
    }
    assert rows(readers["bob"], f"{TABLE_PRIVILEGES} AND table_catalog = 'sales'") == set()


def test_every_user_sees_the_default_grants_to_account_users(readers):
    bob = readers["bob"]
    assert rows(bob, f"SELECT grantee, catalog_name, privilege_type, inherited_from FROM {IS}.catalog_privileges") == {
        ("account users", "system", "USE CATALOG", "NONE")
    }
    assert rows(bob, f"SELECT grantee, schema_name, privilege_type, inherited_from FROM {IS}.schema_privileges") == {
        ("account users", "information_schema", "USE SCHEMA", "NONE"),
        ("account users", "information_schema", "SELECT", "NONE"),
    }
    assert rows(bob, f"SELECT grantee, table_name, privilege_type, inherited_from FROM {IS}.table_privileges") == {
        ("account users", name, "SELECT", "SCHEMA") for name in INFO_TABLES
    }


def test_privileges_that_do_not_apply_to_a_type_are_not_listed_for_it(readers):
    admin = readers["admin"]
    admin.sql("GRANT USE CATALOG, CREATE SCHEMA, BROWSE ON CATALOG sales TO carol")
    admin.sql("GRANT CREATE TABLE, USE SCHEMA ON SCHEMA sales.q1 TO carol")
    assert rows(admin, f"{SCHEMA_PRIVILEGES} AND catalog_name = 'sales'") == {
        ("admin", "carol", "sales", "q1", "CREATE TABLE", "NO", "NONE"),
        ("admin", "carol", "sales", "q1", "USE SCHEMA", "NO", "NONE"),
    }
    assert rows(admin, f"{TABLE_PRIVILEGES} AND table_catalog = 'sales'") == set()


def test_a_revoke_disappears_from_the_privileges_views_at_once(readers):
    admin = readers["admin"]
    admin.sql("REVOKE SELECT ON SCHEMA main.ml FROM analysts")
    assert rows(readers["alice"], TABLE_PRIVILEGES) == set()
    assert rows(readers["alice"], SCHEMA_PRIVILEGES) == {
        ("admin", "analysts", "main", "ml", "USE SCHEMA", "NO", "NONE")
    }


# -- DuckDB's own catalog is out of reach ------------------------------------------------------------

INTERNALS = [
    ("admin", "SELECT * FROM information_schema.tables", "SCHEMA_NOT_FOUND", "main.information_schema"),
    ("alice", "SELECT * FROM information_schema.tables", "SCHEMA_NOT_FOUND", "main.information_schema"),
    ("admin", "SELECT * FROM information_schema.columns", "SCHEMA_NOT_FOUND", "main.information_schema"),
    ("admin", "SELECT * FROM information_schema.schemata", "SCHEMA_NOT_FOUND", "main.information_schema"),
    ("admin", "SELECT * FROM main.information_schema.tables", "SCHEMA_NOT_FOUND", "main.information_schema"),
    ("admin", "SELECT * FROM pg_catalog.pg_tables", "SCHEMA_NOT_FOUND", "main.pg_catalog"),
    ("admin", "SELECT * FROM meta.securables", "SCHEMA_NOT_FOUND", "main.meta"),
    ("admin", "SELECT * FROM memory.information_schema.tables", "CATALOG_NOT_FOUND", "memory"),
    ("admin", "SELECT * FROM duckdb_tables", "TABLE_OR_VIEW_NOT_FOUND", "main.default.duckdb_tables"),
    ("admin", "SELECT * FROM sqlite_master", "TABLE_OR_VIEW_NOT_FOUND", "main.default.sqlite_master"),
    ("admin", f"SELECT * FROM {IS}.duckdb_tables", "TABLE_OR_VIEW_NOT_FOUND", f"{IS}.duckdb_tables"),
    ("admin", "SELECT * FROM duckdb_tables()", "UNSUPPORTED_TABLE_FUNCTION", "duckdb_tables"),
    ("admin", "SELECT * FROM duckdb_columns()", "UNSUPPORTED_TABLE_FUNCTION", "duckdb_columns"),
    ("admin", "SELECT * FROM duckdb_databases()", "UNSUPPORTED_TABLE_FUNCTION", "duckdb_databases"),
    ("alice", "SELECT (SELECT count(*) FROM duckdb_tables()) AS n", "UNSUPPORTED_TABLE_FUNCTION", "duckdb_tables"),
    ("bob", "SELECT * FROM information_schema.tables", "PERMISSION_DENIED", "USE CATALOG"),
]


@pytest.mark.parametrize(("reader", "query", "code", "named"), INTERNALS, ids=[f"{r[0]}: {r[1]}" for r in INTERNALS])
def test_duckdbs_own_information_schema_and_catalog_functions_are_not_reachable(readers, reader, query, code, named):
    error = refused(readers[reader], query)
    assert error.error_code == code
    assert named in error.message


def test_a_two_part_information_schema_name_resolves_in_the_current_catalog(readers):
    alice = readers["alice"]
    alice.sql("USE CATALOG system")
    assert rows(alice, "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'main'") == {
        ("churn_features",),
        ("churned",),
    }
