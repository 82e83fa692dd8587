"""Every DDL, DML and catalog statement through the real embedded catalog (DuckDB files on disk).

Read-only checks and refusals share one module-scoped home (``shared``); anything that changes
state gets a fresh home from the ``admin`` fixture.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

import catalog
from catalog.api import Catalog

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client

# -- helpers -----------------------------------------------------------------------------------


def rows(frame: pd.DataFrame) -> list[list]:
    """The frame's rows as plain lists, with missing values as None."""
    return [[None if _missing(v) else v for v in row] for row in frame.astype(object).values.tolist()]


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def column(cat: Catalog, statement: str, name: str) -> list:
    return [None if _missing(v) else v for v in cat.sql(statement)[name].tolist()]


def names(cat: Catalog, statement: str) -> list[str]:
    """The names a SHOW statement lists, whichever column holds them."""
    frame = cat.sql(statement)
    for name in ("catalog", "databaseName", "tableName", "viewName", "name"):
        if name in frame.columns:
            return frame[name].tolist()
    raise AssertionError(f"{statement} returned columns {list(frame.columns)}")


def tables_in(cat: Catalog, schema: str) -> list[str]:
    return column(cat, f"SHOW TABLES IN {schema}", "tableName")


def catalogs(cat: Catalog) -> list[str]:
    return column(cat, "SHOW CATALOGS", "catalog")


def refused(cat: Catalog, statement: str, params=None) -> catalog.CatalogError:
    with pytest.raises(catalog.CatalogError) as raised:
        cat.sql(statement, params)
    return raised.value


def info(cat: Catalog, statement: str) -> dict[str, str]:
    """DESCRIBE SCHEMA/CATALOG as a dict; DESCRIBE TABLE EXTENDED's detail rows as a dict."""
    frame = cat.sql(statement)
    if "info_name" in frame.columns:
        return dict(zip(frame["info_name"], frame["info_value"], strict=True))
    return dict(zip(frame["col_name"], frame["data_type"], strict=True))


def grants_on(cat: Catalog, statement: str) -> set[tuple[str, str, str]]:
    frame = cat.sql(statement)
    return set(zip(frame["principal"], frame["action_type"], frame["object_key"], strict=True))


# -- homes -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bare_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new home, made once: admin is its metastore admin and it holds only the system catalog."""
    path = tmp_path_factory.mktemp("bare") / "home"
    catalog.connect(path, user="admin").close()
    return path


@pytest.fixture
def home(tmp_path: Path, bare_home: Path) -> Path:
    """Overrides conftest's ``home``: a copy of the bare home (a real DuckDB file), quicker than a new one."""
    path = tmp_path / "home"
    shutil.copytree(bare_home, path)
    return path


_SEEDED: dict[str, Path] = {}


@pytest.fixture
def seed(home: Path, bare_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, tuple], None]:
    """Fill ``home`` (before anything opens it) with a copy of a home that ran ``statements`` as admin.

    Each named world is built once per session and copied for every test that asks for it.
    """

    def apply(name: str, statements: tuple[str, ...]) -> None:
        template = _SEEDED.get(name)
        if template is None:
            template = tmp_path_factory.mktemp(name) / "home"
            shutil.copytree(bare_home, template)
            builder = catalog.connect(template, user="admin")
            try:
                for statement in statements:
                    builder.sql(statement)
            finally:
                builder.close()
            _SEEDED[name] = template
        shutil.rmtree(home)
        shutil.copytree(template, home)

    return apply


@pytest.fixture
def small(seed, connect) -> Catalog:
    """main.ml.t (a INT, b STRING) with one row, and the view main.ml.v over it."""
    seed(
        "small",
        (
            "CREATE CATALOG main",
            "CREATE SCHEMA main.ml",
            "CREATE TABLE main.ml.t (a INT, b STRING)",
            "INSERT INTO main.ml.t VALUES (1, 'x')",
            "CREATE VIEW main.ml.v AS SELECT a FROM main.ml.t",
        ),
    )
    return connect("admin")


# -- a shared world for read-only checks and refusals ------------------------------------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    home: Path = tmp_path_factory.mktemp("statements") / "home"
    admin = catalog.connect(home, user="admin")
    for statement in (
        "CREATE CATALOG main COMMENT 'prod'",
        "CREATE SCHEMA main.ml COMMENT 'churn work'",
        "CREATE SCHEMA main.other",
        "CREATE CATALOG other",
        "CREATE TABLE main.ml.churn_features AS SELECT * FROM VALUES (1, 3), (2, 14), (3, 40), (4, 7) "
        "AS v(customer_id, tenure_months)",
        "CREATE TABLE main.ml.customers (id INT, name STRING)",
        "CREATE TABLE main.ml.features (id INT)",
        "CREATE TABLE main.ml.customer_features (id INT)",
        "CREATE TABLE main.ml.scores (id INT)",
        "CREATE VIEW main.ml.cust_v AS SELECT id FROM main.ml.customers",
        "CREATE VIEW main.ml.feature_view AS SELECT id FROM main.ml.features",
        "CREATE TABLE main.ml.typed (s STRING, i INT, b BIGINT, d DOUBLE, f BOOLEAN, dt DATE, ts TIMESTAMP, "
        "dec DECIMAL(10,2), n INT NOT NULL COMMENT 'must have')",
        "CREATE SCHEMA main.`data-eng`",
        "CREATE TABLE main.`data-eng`.`raw-events` AS SELECT 7 AS `event id`",
        "CREATE USER alice",
        "CREATE USER bob",
        "CREATE GROUP analysts",
        "ALTER GROUP analysts ADD USER alice",
    ):
        admin.sql(statement)
    yield admin
    admin.close()


# -- catalogs and schemas ----------------------------------------------------------------------


def test_a_new_catalog_gets_a_default_schema(admin):
    assert admin.sql("CREATE CATALOG sales").empty
    assert catalogs(admin) == ["sales", "system"]
    assert column(admin, "SHOW SCHEMAS IN sales", "databaseName") == ["default"]
    assert info(admin, "DESCRIBE SCHEMA sales.default")["Schema Name"] == "sales.default"
    admin.sql("CREATE TABLE sales.default.t AS SELECT 1 AS a")
    assert admin.sql("SELECT a FROM sales.default.t")["a"].tolist() == [1]


def test_a_catalog_holding_only_an_empty_default_schema_drops_without_cascade(admin):
    admin.sql("CREATE CATALOG sales")
    admin.sql("DROP CATALOG sales")
    assert catalogs(admin) == ["system"]


def test_drop_catalog_refuses_a_non_empty_catalog_and_cascade_drops_its_data(admin):
    admin.sql("CREATE CATALOG sales")
    admin.sql("CREATE SCHEMA sales.eu")
    admin.sql("CREATE TABLE sales.eu.orders AS SELECT * FROM VALUES (1), (2) AS v(id)")

    error = refused(admin, "DROP CATALOG sales")
    assert error.error_code == "CATALOG_NOT_EMPTY"
    assert "sales" in error.message
    assert admin.sql("SELECT count(*) AS n FROM sales.eu.orders")["n"].tolist() == [2]

    admin.sql("DROP CATALOG sales CASCADE")
    assert catalogs(admin) == ["system"]
    assert refused(admin, "SELECT * FROM sales.eu.orders").error_code == "CATALOG_NOT_FOUND"

    # The old rows are gone: the same names start empty.
    admin.sql("CREATE CATALOG sales")
    admin.sql("CREATE SCHEMA sales.eu")
    admin.sql("CREATE TABLE sales.eu.orders (id INT)")
    assert admin.sql("SELECT count(*) AS n FROM sales.eu.orders")["n"].tolist() == [0]


def test_drop_schema_refuses_a_non_empty_schema_and_cascade_drops_its_data(admin):
    admin.sql("CREATE CATALOG main")
    admin.sql("CREATE SCHEMA main.ml")
    admin.sql("CREATE TABLE main.ml.t AS SELECT 1 AS a")
    admin.sql("CREATE VIEW main.ml.v AS SELECT a FROM main.ml.t")

    error = refused(admin, "DROP SCHEMA main.ml")
    assert error.error_code == "SCHEMA_NOT_EMPTY"
    assert "main.ml" in error.message
    assert tables_in(admin, "main.ml") == ["t", "v"]

    admin.sql("DROP SCHEMA main.ml CASCADE")
    assert column(admin, "SHOW SCHEMAS IN main", "databaseName") == ["default"]
    admin.sql("CREATE SCHEMA main.ml")
    assert tables_in(admin, "main.ml") == []
    admin.sql("DROP SCHEMA main.ml")
    assert column(admin, "SHOW SCHEMAS IN main", "databaseName") == ["default"]


@pytest.mark.parametrize(
    ("statement", "check", "expected"),
    [
        ("CREATE CATALOG IF NOT EXISTS fresh", "SHOW CATALOGS", ["fresh", "main", "system"]),
        ("CREATE SCHEMA IF NOT EXISTS main.fresh", "SHOW SCHEMAS IN main", ["default", "fresh", "ml"]),
        ("CREATE TABLE IF NOT EXISTS main.ml.fresh (a INT)", "SHOW TABLES IN main.ml", ["fresh", "t", "v"]),
        ("CREATE TABLE IF NOT EXISTS main.ml.fresh AS SELECT 1 AS a", "SHOW TABLES IN main.ml", ["fresh", "t", "v"]),
        ("CREATE VIEW IF NOT EXISTS main.ml.fresh AS SELECT 1 AS a", "SHOW VIEWS IN main.ml", ["fresh", "v"]),
        ("DROP CATALOG IF EXISTS main CASCADE", "SHOW CATALOGS", ["system"]),
        ("DROP SCHEMA IF EXISTS main.ml CASCADE", "SHOW SCHEMAS IN main", ["default"]),
        ("DROP TABLE IF EXISTS main.ml.t", "SHOW TABLES IN main.ml", ["v"]),
        ("DROP VIEW IF EXISTS main.ml.v", "SHOW TABLES IN main.ml", ["t"]),
    ],
)
def test_if_not_exists_creates_and_if_exists_drops_when_the_object_is_there_or_not(small, statement, check, expected):
    admin = small
    assert admin.sql(statement).empty
    assert names(admin, check) == expected


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE CATALOG IF NOT EXISTS main COMMENT 'other words'",
        "CREATE SCHEMA IF NOT EXISTS main.ml COMMENT 'other words'",
        "CREATE TABLE IF NOT EXISTS main.ml.churn_features (other INT)",
        "CREATE TABLE IF NOT EXISTS main.ml.churn_features AS SELECT 99 AS other",
        "CREATE VIEW IF NOT EXISTS main.ml.cust_v AS SELECT 99 AS other",
        "DROP CATALOG IF EXISTS nope",
        "DROP CATALOG IF EXISTS nope CASCADE",
        "DROP SCHEMA IF EXISTS main.nope",
        "DROP TABLE IF EXISTS main.ml.nope",
        "DROP VIEW IF EXISTS main.ml.nope",
    ],
)
def test_if_not_exists_and_if_exists_leave_existing_and_missing_objects_alone(shared, statement):
    before = _state(shared)
    assert shared.sql(statement).empty
    assert _state(shared) == before


def _state(cat: Catalog):
    return (
        catalogs(cat),
        column(cat, "SHOW SCHEMAS IN main", "databaseName"),
        tables_in(cat, "main.ml"),
        info(cat, "DESCRIBE CATALOG main")["Comment"],
        info(cat, "DESCRIBE SCHEMA main.ml")["Comment"],
        rows(cat.sql("DESCRIBE TABLE main.ml.churn_features")),
        rows(cat.sql("SELECT * FROM main.ml.churn_features ORDER BY customer_id")),
        rows(cat.sql("DESCRIBE TABLE main.ml.cust_v")),
    )


# -- errors name the object --------------------------------------------------------------------

ERRORS = [
    ("CREATE CATALOG main", "CATALOG_ALREADY_EXISTS", "main"),
    ("CREATE CATALOG MAIN", "CATALOG_ALREADY_EXISTS", "main"),
    ("CREATE SCHEMA main.ml", "SCHEMA_ALREADY_EXISTS", "main.ml"),
    ("CREATE TABLE main.ml.churn_features (a INT)", "TABLE_OR_VIEW_ALREADY_EXISTS", "main.ml.churn_features"),
    ("CREATE TABLE main.ml.CHURN_FEATURES AS SELECT 1 AS a", "TABLE_OR_VIEW_ALREADY_EXISTS", "main.ml.churn_features"),
    ("CREATE TABLE main.ml.cust_v (a INT)", "TABLE_OR_VIEW_ALREADY_EXISTS", "main.ml.cust_v"),
    ("CREATE VIEW main.ml.cust_v AS SELECT 1 AS a", "TABLE_OR_VIEW_ALREADY_EXISTS", "main.ml.cust_v"),
    ("CREATE VIEW main.ml.churn_features AS SELECT 1 AS a", "TABLE_OR_VIEW_ALREADY_EXISTS", "main.ml.churn_features"),
    ("CREATE SCHEMA nope.ml", "CATALOG_NOT_FOUND", "nope"),
    ("CREATE TABLE nope.ml.t (a INT)", "CATALOG_NOT_FOUND", "nope"),
    ("CREATE TABLE main.nope.t (a INT)", "SCHEMA_NOT_FOUND", "main.nope"),
    ("CREATE VIEW main.nope.v AS SELECT 1 AS a", "SCHEMA_NOT_FOUND", "main.nope"),
    ("DROP CATALOG nope", "CATALOG_NOT_FOUND", "nope"),
    ("DROP SCHEMA main.nope", "SCHEMA_NOT_FOUND", "main.nope"),
    ("DROP SCHEMA nope.ml", "CATALOG_NOT_FOUND", "nope"),
    ("DROP TABLE main.ml.nope", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("DROP VIEW main.ml.nope", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("DROP TABLE main.nope.t", "SCHEMA_NOT_FOUND", "main.nope"),
    ("SELECT * FROM main.ml.nope", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("SELECT * FROM main.nope.t", "SCHEMA_NOT_FOUND", "main.nope"),
    ("SELECT * FROM nope.ml.t", "CATALOG_NOT_FOUND", "nope"),
    ("INSERT INTO main.ml.nope VALUES (1)", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("UPDATE main.ml.nope SET a = 1", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("DELETE FROM main.ml.nope", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("INSERT INTO main.ml.scores SELECT id FROM main.ml.nope", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("USE CATALOG nope", "CATALOG_NOT_FOUND", "nope"),
    ("USE SCHEMA main.nope", "SCHEMA_NOT_FOUND", "main.nope"),
    ("DESCRIBE TABLE main.ml.nope", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("DESCRIBE SCHEMA main.nope", "SCHEMA_NOT_FOUND", "main.nope"),
    ("DESCRIBE CATALOG nope", "CATALOG_NOT_FOUND", "nope"),
    ("SHOW SCHEMAS IN nope", "CATALOG_NOT_FOUND", "nope"),
    ("SHOW TABLES IN main.nope", "SCHEMA_NOT_FOUND", "main.nope"),
    ("COMMENT ON TABLE main.ml.nope IS 'x'", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("COMMENT ON SCHEMA main.nope IS 'x'", "SCHEMA_NOT_FOUND", "main.nope"),
    ("COMMENT ON CATALOG nope IS 'x'", "CATALOG_NOT_FOUND", "nope"),
    ("COMMENT ON COLUMN main.ml.customers.nope IS 'x'", "UNRESOLVED_COLUMN", "nope"),
    ("ALTER TABLE main.ml.nope RENAME TO x", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("ALTER TABLE main.ml.nope OWNER TO alice", "TABLE_OR_VIEW_NOT_FOUND", "main.ml.nope"),
    ("ALTER TABLE main.ml.customers OWNER TO nobody", "PRINCIPAL_DOES_NOT_EXIST", "nobody"),
    ("DROP CATALOG main", "CATALOG_NOT_EMPTY", "main"),
    ("DROP SCHEMA main.ml", "SCHEMA_NOT_EMPTY", "main.ml"),
    ("DROP TABLE main.ml.cust_v", "EXPECT_TABLE_NOT_VIEW", "main.ml.cust_v"),
    ("DROP VIEW main.ml.customers", "EXPECT_VIEW_NOT_TABLE", "main.ml.customers"),
    ("ALTER TABLE main.ml.cust_v RENAME TO x", "EXPECT_TABLE_NOT_VIEW", "main.ml.cust_v"),
    ("ALTER VIEW main.ml.customers RENAME TO x", "EXPECT_VIEW_NOT_TABLE", "main.ml.customers"),
    ("INSERT INTO main.ml.cust_v VALUES (1)", "EXPECT_TABLE_NOT_VIEW", "main.ml.cust_v"),
    ("UPDATE main.ml.cust_v SET id = 1", "EXPECT_TABLE_NOT_VIEW", "main.ml.cust_v"),
    ("DELETE FROM main.ml.cust_v", "EXPECT_TABLE_NOT_VIEW", "main.ml.cust_v"),
    ("CREATE OR REPLACE VIEW main.ml.customers AS SELECT 1 AS a", "EXPECT_VIEW_NOT_TABLE", "main.ml.customers"),
    ("CREATE OR REPLACE TABLE main.ml.cust_v AS SELECT 1 AS a", "EXPECT_TABLE_NOT_VIEW", "main.ml.cust_v"),
    ("ALTER TABLE main.ml.customers RENAME TO main.other.customers", "CANNOT_MOVE_ACROSS_SCHEMAS", "main.ml.customers"),
    ("ALTER TABLE main.ml.customers RENAME TO features", "TABLE_OR_VIEW_ALREADY_EXISTS", "main.ml.features"),
    ("ALTER TABLE main.ml.customers RENAME TO cust_v", "TABLE_OR_VIEW_ALREADY_EXISTS", "main.ml.cust_v"),
    ("CREATE OR REPLACE TABLE IF NOT EXISTS main.ml.customers (a INT)", "INVALID_PARAMETER_VALUE", "REPLACE"),
    ("CREATE TABLE main.ml.dup (a INT, A STRING)", "ANALYSIS_ERROR", "A"),
    ("INSERT INTO main.ml.customers (id, nope) VALUES (1, 'x')", "ANALYSIS_ERROR", "nope"),
    ("SELECT nope FROM main.ml.customers", "ANALYSIS_ERROR", "nope"),
]


@pytest.mark.parametrize(("statement", "code", "named"), ERRORS, ids=[row[0] for row in ERRORS])
def test_errors_carry_a_stable_code_and_name_the_object(shared, statement, code, named):
    before = tables_in(shared, "main.ml")
    error = refused(shared, statement)
    assert error.error_code == code
    assert named in error.message
    assert tables_in(shared, "main.ml") == before


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT nope FROM main.ml.customers",
        "SELECT c.nope FROM main.ml.customers c",
        "INSERT INTO main.ml.customers VALUES (1)",
        "INSERT INTO main.ml.customers (id, nope) VALUES (1, 'x')",
        "UPDATE main.ml.customers SET nope = 1",
    ],
)
def test_execution_errors_name_catalog_objects_not_physical_tables(shared, statement):
    error = refused(shared, statement)
    assert error.error_code == "ANALYSIS_ERROR"
    assert not re.search(r"t_[0-9a-f]{32}|managed\.|__", error.message)


def test_a_column_without_a_type_is_a_syntax_error_not_silently_dropped(admin):
    admin.sql("CREATE CATALOG main")
    error = refused(admin, "CREATE TABLE main.default.t (a INT, c)")
    assert error.error_code == "PARSE_SYNTAX_ERROR"
    assert tables_in(admin, "main.default") == []


# -- USE CATALOG / USE SCHEMA ------------------------------------------------------------------


@pytest.fixture
def two_catalogs(seed, connect) -> Catalog:
    """The same table name in four places, each holding a different number."""
    seed(
        "two_catalogs",
        (
            "CREATE CATALOG main",
            "CREATE SCHEMA main.ml",
            "CREATE CATALOG other",
            "CREATE SCHEMA other.ml",
            "CREATE TABLE main.default.t AS SELECT 1 AS a",
            "CREATE TABLE main.ml.t AS SELECT 2 AS a",
            "CREATE TABLE other.default.t AS SELECT 3 AS a",
            "CREATE TABLE other.ml.t AS SELECT 4 AS a",
        ),
    )
    return connect("admin")


# (statement run first, or None; then what t / ml.t / default.t read, and SHOW TABLES' schema)
USE_STEPS = [
    (None, 1, 2, 1, "default"),
    ("USE SCHEMA ml", 2, 2, 1, "ml"),
    ("USE CATALOG other", 3, 4, 3, "default"),
    ("USE SCHEMA ml", 4, 4, 3, "ml"),
    ("USE SCHEMA main.ml", 2, 2, 1, "ml"),
    ("USE other.default", 3, 4, 3, "default"),
    ("USE SCHEMA `ML`", 4, 4, 3, "ml"),
    ("USE CATALOG MAIN", 1, 2, 1, "default"),
]


def test_use_changes_how_one_and_two_part_names_resolve_and_persists_across_calls(two_catalogs):
    cat = two_catalogs
    for use, one_part, two_part, default_two_part, shown_schema in USE_STEPS:
        if use:
            assert cat.sql(use).empty
        assert cat.sql("SELECT a FROM t")["a"].tolist() == [one_part], use
        assert cat.sql("SELECT a FROM ml.t")["a"].tolist() == [two_part], use
        assert cat.sql("SELECT a FROM default.t")["a"].tolist() == [default_two_part], use
        assert cat.sql("SELECT a FROM main.ml.t")["a"].tolist() == [2], use
        assert cat.sql("SHOW TABLES")["database"].tolist() == [shown_schema], use


def test_use_also_decides_where_new_objects_go(two_catalogs):
    cat = two_catalogs
    cat.sql("USE other.ml")
    cat.sql("CREATE TABLE fresh AS SELECT 5 AS a")
    cat.sql("CREATE SCHEMA extra")
    assert tables_in(cat, "other.ml") == ["fresh", "t"]
    assert column(cat, "SHOW SCHEMAS", "databaseName") == ["default", "extra", "ml"]
    assert cat.sql("SELECT a FROM other.ml.fresh")["a"].tolist() == [5]


def test_use_belongs_to_one_connection(two_catalogs, connect):
    two_catalogs.sql("USE CATALOG other")
    second = connect("admin")
    assert second.sql("SELECT a FROM t")["a"].tolist() == [1]
    assert two_catalogs.sql("SELECT a FROM t")["a"].tolist() == [3]


def test_a_failed_use_keeps_the_previous_namespace(two_catalogs):
    two_catalogs.sql("USE SCHEMA other.ml")
    assert refused(two_catalogs, "USE SCHEMA nope").error_code == "SCHEMA_NOT_FOUND"
    assert refused(two_catalogs, "USE CATALOG nope").error_code == "CATALOG_NOT_FOUND"
    assert two_catalogs.sql("SELECT a FROM t")["a"].tolist() == [4]


def test_use_inside_a_script_applies_to_the_statements_after_it(two_catalogs):
    assert two_catalogs.sql("USE CATALOG other; SELECT a FROM t")["a"].tolist() == [3]
    assert two_catalogs.sql("SELECT a FROM t")["a"].tolist() == [3]


# -- SHOW --------------------------------------------------------------------------------------

SHOWS = [
    ("SHOW CATALOGS", "catalog", ["main", "other", "system"]),
    ("SHOW CATALOGS LIKE 'o*'", "catalog", ["other"]),
    ("SHOW CATALOGS LIKE 'MAIN|sys*'", "catalog", ["main", "system"]),
    ("SHOW SCHEMAS IN main", "databaseName", ["data-eng", "default", "ml", "other"]),
    ("SHOW DATABASES IN main", "databaseName", ["data-eng", "default", "ml", "other"]),
    ("SHOW SCHEMAS IN main LIKE 'm*'", "databaseName", ["ml"]),
    ("SHOW SCHEMAS", "databaseName", ["data-eng", "default", "ml", "other"]),
    ("SHOW SCHEMAS IN system", "databaseName", ["access", "information_schema", "mlflow", "serving"]),
    (
        "SHOW TABLES IN main.ml",
        "tableName",
        ["churn_features", "cust_v", "customer_features", "customers", "feature_view", "features", "scores", "typed"],
    ),
    (
        "SHOW TABLES IN main.ml LIKE 'cust*|feat*'",
        "tableName",
        ["cust_v", "customer_features", "customers", "feature_view", "features"],
    ),
    ("SHOW TABLES IN main.ml LIKE 'CUST*'", "tableName", ["cust_v", "customer_features", "customers"]),
    ("SHOW TABLES IN main.ml LIKE '*features'", "tableName", ["churn_features", "customer_features", "features"]),
    ("SHOW TABLES IN main.ml LIKE 'nothing*'", "tableName", []),
    ("SHOW TABLES IN main.ml 'scores'", "tableName", ["scores"]),
    ("SHOW TABLES IN main.default", "tableName", []),
    ("SHOW TABLES", "tableName", []),
    ("SHOW VIEWS IN main.ml", "viewName", ["cust_v", "feature_view"]),
    ("SHOW VIEWS IN main.ml LIKE 'f*'", "viewName", ["feature_view"]),
    ("SHOW USERS", "name", ["admin", "alice", "bob"]),
    ("SHOW USERS LIKE 'a*'", "name", ["admin", "alice"]),
    ("SHOW GROUPS", "name", ["analysts"]),
    ("SHOW GROUPS LIKE 'x*'", "name", []),
]


@pytest.mark.parametrize(("statement", "name", "expected"), SHOWS, ids=[row[0] for row in SHOWS])
def test_show_lists_objects(shared, statement, name, expected):
    assert column(shared, statement, name) == expected


def test_show_tables_names_the_schema_and_flags_nothing_temporary(shared):
    frame = shared.sql("SHOW TABLES IN main.ml LIKE 'cust*'")
    assert list(frame.columns) == ["database", "tableName", "isTemporary"]
    assert rows(frame) == [["ml", "cust_v", False], ["ml", "customer_features", False], ["ml", "customers", False]]


# -- DESCRIBE ----------------------------------------------------------------------------------

TYPES = [
    ("s", "string", None),
    ("i", "int", None),
    ("b", "bigint", None),
    ("d", "double", None),
    ("f", "boolean", None),
    ("dt", "date", None),
    ("ts", "timestamp", None),
    ("dec", "decimal(10,2)", None),  # Databricks prints decimal(p,s) without a space
    ("n", "int", "must have"),
]


@pytest.mark.parametrize(("name", "data_type", "comment"), TYPES, ids=[row[0] for row in TYPES])
def test_describe_table_gives_databricks_type_names_and_comments(shared, name, data_type, comment):
    frame = shared.sql("DESCRIBE TABLE main.ml.typed")
    assert list(frame.columns) == ["col_name", "data_type", "comment"]
    assert frame["col_name"].tolist() == [row[0] for row in TYPES]
    described = {row[0]: row[1:] for row in rows(frame)}
    assert described[name] == [data_type, comment]


@pytest.mark.parametrize(
    ("select", "data_type"),
    [
        ("1", "int"),
        ("CAST(1 AS BIGINT)", "bigint"),
        ("CAST(1 AS SMALLINT)", "smallint"),
        ("'x'", "string"),
        ("CAST(1.5 AS DOUBLE)", "double"),
        ("CAST(1.5 AS FLOAT)", "float"),
        ("true", "boolean"),
        ("DATE '2024-01-01'", "date"),
        ("TIMESTAMP '2024-01-01 10:00:00'", "timestamp"),
        ("CAST(1.5 AS DECIMAL(10,2))", "decimal(10,2)"),
        ("array(1, 2)", "array<int>"),
        ("map('k', 1)", "map<string,int>"),
        ("named_struct('a', 1, 'b', 'x')", "struct<a:int,b:string>"),
    ],
)
def test_describe_of_a_ctas_table_gives_databricks_type_names(admin, select, data_type):
    admin.sql("CREATE CATALOG main")
    admin.sql(f"CREATE TABLE main.default.t AS SELECT {select} AS c")
    assert rows(admin.sql("DESCRIBE TABLE main.default.t")) == [["c", data_type, None]]


def test_describe_without_table_keyword_and_describe_of_a_view(shared):
    assert rows(shared.sql("DESCRIBE main.ml.customers")) == [["id", "int", None], ["name", "string", None]]
    assert rows(shared.sql("DESCRIBE TABLE main.ml.cust_v")) == [["id", "int", None]]


def test_describe_table_extended_adds_the_table_details(shared):
    details = info(shared, "DESCRIBE TABLE EXTENDED main.ml.customers")
    assert details["id"] == "int"
    assert "# Detailed Table Information" in details
    assert {k: details[k] for k in ("Catalog", "Database", "Table", "Owner", "Created By", "Type")} == {
        "Catalog": "main",
        "Database": "ml",
        "Table": "customers",
        "Owner": "admin",
        "Created By": "admin",
        "Type": "MANAGED",
    }
    assert "View Text" not in details


def test_describe_table_extended_of_a_view_shows_its_qualified_text(shared):
    details = info(shared, "DESCRIBE TABLE EXTENDED main.ml.cust_v")
    assert details["Type"] == "VIEW"
    assert details["View Text"] == "SELECT id FROM main.ml.customers"


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("DESCRIBE SCHEMA main.ml", {"Schema Name": "main.ml", "Comment": "churn work", "Owner": "admin"}),
        ("DESCRIBE DATABASE main.ml", {"Schema Name": "main.ml", "Comment": "churn work", "Owner": "admin"}),
        ("DESCRIBE CATALOG main", {"Catalog Name": "main", "Comment": "prod", "Owner": "admin"}),
        ("DESCRIBE CATALOG other", {"Catalog Name": "other", "Comment": "", "Owner": "admin"}),
    ],
)
def test_describe_schema_and_catalog(shared, statement, expected):
    assert info(shared, statement) == expected


@pytest.mark.parametrize("statement", ["DESCRIBE SCHEMA EXTENDED main.ml", "DESCRIBE CATALOG EXTENDED main"])
def test_describe_schema_and_catalog_extended_add_times_and_creator(shared, statement):
    details = info(shared, statement)
    assert details["Created By"] == "admin"
    assert pd.Timestamp(details["Created Time"]) <= pd.Timestamp(details["Last Altered"])


# -- COMMENT ON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "describe", "key", "query"),
    [
        (
            "COMMENT ON CATALOG main IS 'the main one'",
            "DESCRIBE CATALOG main",
            "Comment",
            "SELECT comment FROM system.information_schema.catalogs WHERE catalog_name = 'main'",
        ),
        (
            "COMMENT ON SCHEMA main.ml IS 'the main one'",
            "DESCRIBE SCHEMA main.ml",
            "Comment",
            "SELECT comment FROM system.information_schema.schemata WHERE schema_name = 'ml'",
        ),
        (
            "COMMENT ON TABLE main.ml.t IS 'the main one'",
            "DESCRIBE TABLE EXTENDED main.ml.t",
            "Comment",
            "SELECT comment FROM system.information_schema.tables WHERE table_name = 't'",
        ),
        (
            "COMMENT ON VIEW main.ml.v IS 'the main one'",
            "DESCRIBE TABLE EXTENDED main.ml.v",
            "Comment",
            "SELECT comment FROM system.information_schema.tables WHERE table_name = 'v'",
        ),
        (
            "COMMENT ON COLUMN main.ml.t.a IS 'the main one'",
            "DESCRIBE TABLE main.ml.t",
            "a",
            "SELECT comment FROM system.information_schema.columns WHERE table_name = 't' AND column_name = 'a'",
        ),
        (
            "COMMENT ON COLUMN ml.t.A IS 'the main one'",
            "DESCRIBE TABLE main.ml.t",
            "a",
            "SELECT comment FROM system.information_schema.columns WHERE table_name = 't' AND column_name = 'a'",
        ),
    ],
)
def test_comment_on_is_visible_in_describe_and_information_schema(small, comment, describe, key, query):
    admin = small
    assert admin.sql(comment).empty
    frame = admin.sql(describe)
    if key == "a":
        assert dict(zip(frame["col_name"], frame["comment"], strict=True))["a"] == "the main one"
    else:
        assert info(admin, describe)[key] == "the main one"
    assert column(admin, query, "comment") == ["the main one"]

    admin.sql(comment.replace("'the main one'", "NULL"))
    assert column(admin, query, "comment") == [None]


def test_create_comments_are_visible_everywhere(admin):
    admin.sql("CREATE CATALOG main COMMENT 'c'")
    admin.sql("CREATE SCHEMA main.ml COMMENT 's'")
    admin.sql("CREATE TABLE main.ml.t (a INT COMMENT 'col a', b STRING) COMMENT 't'")
    admin.sql("CREATE VIEW main.ml.v COMMENT 'v' AS SELECT a FROM main.ml.t")
    assert info(admin, "DESCRIBE CATALOG main")["Comment"] == "c"
    assert info(admin, "DESCRIBE SCHEMA main.ml")["Comment"] == "s"
    assert rows(admin.sql("DESCRIBE TABLE main.ml.t")) == [["a", "int", "col a"], ["b", "string", None]]
    tables = admin.sql(
        "SELECT table_name, comment FROM system.information_schema.tables WHERE table_schema = 'ml' ORDER BY 1"
    )
    assert rows(tables) == [["t", "t"], ["v", "v"]]


# -- CREATE TABLE ------------------------------------------------------------------------------


def test_create_table_with_every_type_stores_and_returns_values(admin):
    admin.sql("CREATE CATALOG main")
    admin.sql(
        "CREATE TABLE main.default.t (s STRING, i INT, b BIGINT, d DOUBLE, f BOOLEAN, dt DATE, "
        "ts TIMESTAMP, dec DECIMAL(10,2))"
    )
    admin.sql(
        "INSERT INTO main.default.t VALUES ('x', 1, 9000000000, 2.5, true, DATE '2024-02-29', "
        "TIMESTAMP '2024-02-29 10:30:00', 12.345)"
    )
    frame = admin.sql("SELECT * FROM main.default.t")
    (row,) = frame.to_dict("records")
    assert (row["s"], row["i"], row["b"], row["d"], row["f"]) == ("x", 1, 9000000000, 2.5, True)
    assert pd.Timestamp(row["dt"]).date().isoformat() == "2024-02-29"
    assert pd.Timestamp(row["ts"]).strftime("%Y-%m-%d %H:%M:%S") == "2024-02-29 10:30:00"
    assert float(row["dec"]) == 12.35  # DECIMAL(10,2) rounds to two places


def test_not_null_is_enforced_on_insert_and_the_failed_insert_changes_nothing(admin):
    admin.sql("CREATE CATALOG main")
    admin.sql("CREATE TABLE main.default.t (id INT NOT NULL, v STRING)")
    admin.sql("INSERT INTO main.default.t VALUES (1, 'a')")
    for statement in (
        "INSERT INTO main.default.t (v) VALUES ('b')",
        "INSERT INTO main.default.t VALUES (2, 'b'), (NULL, 'c')",
        "UPDATE main.default.t SET id = NULL",
    ):
        error = refused(admin, statement)
        assert error.error_code == "CONSTRAINT_VIOLATION", statement
        assert "id" in error.message
    assert rows(admin.sql("SELECT * FROM main.default.t")) == [[1, "a"]]


def test_primary_key_constraints_are_informational(admin):
    admin.sql("CREATE CATALOG main")
    admin.sql("CREATE TABLE main.default.t (id INT NOT NULL, v STRING, PRIMARY KEY (id))")
    admin.sql("INSERT INTO main.default.t VALUES (1, 'a'), (1, 'b')")
    assert admin.sql("SELECT count(*) AS n FROM main.default.t")["n"].tolist() == [2]


def test_ctas_copies_rows_and_columns(admin):
    admin.sql("CREATE CATALOG main")
    admin.sql("CREATE TABLE main.default.src AS SELECT * FROM VALUES (1, 'a'), (2, 'b'), (3, 'c') AS v(id, v)")
    admin.sql(
        "CREATE TABLE main.default.copy COMMENT 'copy' AS SELECT id * 10 AS id, upper(v) AS v FROM src WHERE id > 1"
    )
    assert rows(admin.sql("SELECT * FROM main.default.copy ORDER BY id")) == [[20, "B"], [30, "C"]]
    assert rows(admin.sql("DESCRIBE TABLE main.default.copy")) == [["id", "int", None], ["v", "string", None]]
    assert info(admin, "DESCRIBE TABLE EXTENDED main.default.copy")["Comment"] == "copy"


def test_ctas_with_a_column_list_is_refused(admin):
    admin.sql("CREATE CATALOG main")
    error = refused(admin, "CREATE TABLE main.default.t (a INT) AS SELECT 1 AS a")
    assert error.error_code == "UNSUPPORTED_FEATURE"
    assert tables_in(admin, "main.default") == []


@pytest.fixture
def granted(seed, connect: Callable[[str], Catalog]) -> dict[str, Catalog]:
    """main.ml.t (ids 1..3) owned by admin; alice may read it (and only it)."""
    seed(
        "granted",
        (
            "CREATE CATALOG main",
            "CREATE SCHEMA main.ml",
            "CREATE SCHEMA main.other",
            "CREATE USER alice",
            "CREATE USER `app-service`",
            "GRANT USE CATALOG ON CATALOG main TO alice",
            "GRANT USE SCHEMA ON SCHEMA main.ml TO alice",
            "CREATE TABLE main.ml.t (id INT, v STRING)",
            "INSERT INTO main.ml.t VALUES (1, 'a'), (2, 'b'), (3, 'c')",
            "GRANT SELECT ON TABLE main.ml.t TO alice",
        ),
    )
    return {"admin": connect("admin"), "alice": connect("alice")}


def test_create_or_replace_table_keeps_grants_and_owner(granted):
    admin, alice = granted["admin"], granted["alice"]
    admin.sql("ALTER TABLE main.ml.t OWNER TO `app-service`")
    admin.sql("CREATE OR REPLACE TABLE main.ml.t (id BIGINT, w DOUBLE)")
    assert rows(admin.sql("DESCRIBE TABLE main.ml.t")) == [["id", "bigint", None], ["w", "double", None]]
    assert admin.sql("SELECT count(*) AS n FROM main.ml.t")["n"].tolist() == [0]
    admin.sql("INSERT INTO main.ml.t VALUES (7, 0.5)")
    assert rows(alice.sql("SELECT * FROM main.ml.t")) == [[7, 0.5]]
    assert {("app-service", "OWN", "main.ml.t"), ("alice", "SELECT", "main.ml.t")} <= grants_on(
        admin, "SHOW GRANTS ON TABLE main.ml.t"
    )


def test_create_or_replace_table_as_select_can_read_the_table_it_replaces(granted):
    admin, alice = granted["admin"], granted["alice"]
    admin.sql("CREATE OR REPLACE TABLE main.ml.t AS SELECT * FROM main.ml.t WHERE id > 1")
    assert rows(admin.sql("SELECT * FROM main.ml.t ORDER BY id")) == [[2, "b"], [3, "c"]]
    assert rows(alice.sql("SELECT * FROM main.ml.t ORDER BY id")) == [[2, "b"], [3, "c"]]
    assert ("admin", "OWN", "main.ml.t") in grants_on(admin, "SHOW GRANTS ON TABLE main.ml.t")


def test_create_or_replace_creates_when_missing(admin):
    admin.sql("CREATE CATALOG main")
    admin.sql("CREATE OR REPLACE TABLE main.default.t AS SELECT 1 AS a")
    admin.sql("CREATE OR REPLACE VIEW main.default.v AS SELECT a + 1 AS b FROM main.default.t")
    assert admin.sql("SELECT b FROM main.default.v")["b"].tolist() == [2]


# -- views -------------------------------------------------------------------------------------


def test_views_are_created_listed_replaced_and_dropped(granted):
    admin, alice = granted["admin"], granted["alice"]
    admin.sql("CREATE VIEW main.ml.v AS SELECT id FROM main.ml.t WHERE id > 1")
    assert column(admin, "SHOW VIEWS IN main.ml", "viewName") == ["v"]
    assert tables_in(admin, "main.ml") == ["t", "v"]
    assert admin.sql("SELECT id FROM main.ml.v ORDER BY id")["id"].tolist() == [2, 3]

    admin.sql("GRANT SELECT ON VIEW main.ml.v TO alice")
    admin.sql("CREATE OR REPLACE VIEW main.ml.v AS SELECT id * 10 AS tens FROM main.ml.t")
    assert alice.sql("SELECT tens FROM main.ml.v ORDER BY tens")["tens"].tolist() == [10, 20, 30]
    assert rows(admin.sql("DESCRIBE TABLE main.ml.v")) == [["tens", "int", None]]

    error = refused(admin, "DROP TABLE main.ml.v")
    assert error.error_code == "EXPECT_TABLE_NOT_VIEW"
    assert "main.ml.v" in error.message
    admin.sql("DROP VIEW main.ml.v")
    assert column(admin, "SHOW VIEWS IN main.ml", "viewName") == []
    assert refused(alice, "SELECT * FROM main.ml.v").error_code == "TABLE_OR_VIEW_NOT_FOUND"
    assert admin.sql("SELECT count(*) AS n FROM main.ml.t")["n"].tolist() == [3]


def test_a_view_keeps_the_names_it_was_created_with_whatever_the_readers_namespace(two_catalogs, connect):
    cat = two_catalogs
    cat.sql("USE SCHEMA ml")
    cat.sql("CREATE VIEW main.default.v AS SELECT a FROM t")  # t is main.ml.t here
    assert info(cat, "DESCRIBE TABLE EXTENDED main.default.v")["View Text"] == "SELECT a FROM main.ml.t"
    other = connect("admin")
    other.sql("USE CATALOG other")
    assert other.sql("SELECT a FROM main.default.v")["a"].tolist() == [2]


def test_a_view_cannot_read_itself(admin):
    admin.sql("CREATE CATALOG main")
    admin.sql("CREATE VIEW main.default.a AS SELECT 1 AS x")
    admin.sql("CREATE VIEW main.default.b AS SELECT x FROM main.default.a")
    error = refused(admin, "CREATE OR REPLACE VIEW main.default.a AS SELECT x FROM main.default.b")
    assert error.error_code == "RECURSIVE_VIEW"
    assert "main.default.a" in error.message
    assert admin.sql("SELECT x FROM main.default.b")["x"].tolist() == [1]


# -- ALTER -------------------------------------------------------------------------------------


def test_rename_keeps_data_and_grants_and_frees_the_old_name(granted):
    admin, alice = granted["admin"], granted["alice"]
    assert admin.sql("ALTER TABLE main.ml.t RENAME TO main.ml.renamed").empty
    assert tables_in(admin, "main.ml") == ["renamed"]
    assert rows(alice.sql("SELECT * FROM main.ml.renamed ORDER BY id")) == [[1, "a"], [2, "b"], [3, "c"]]
    assert ("alice", "SELECT", "main.ml.renamed") in grants_on(admin, "SHOW GRANTS ON TABLE main.ml.renamed")
    error = refused(alice, "SELECT * FROM main.ml.t")
    assert error.error_code == "TABLE_OR_VIEW_NOT_FOUND"
    assert "main.ml.t" in error.message
    # A one-part new name stays in the table's schema; the old name can be reused.
    admin.sql("ALTER TABLE main.ml.renamed RENAME TO again")
    admin.sql("CREATE TABLE main.ml.t AS SELECT 'new' AS v")
    assert tables_in(admin, "main.ml") == ["again", "t"]
    assert admin.sql("SELECT count(*) AS n FROM main.ml.again")["n"].tolist() == [3]


def test_rename_refuses_to_move_a_table_to_another_schema(granted):
    admin = granted["admin"]
    error = refused(admin, "ALTER TABLE main.ml.t RENAME TO main.other.t")
    assert error.error_code == "CANNOT_MOVE_ACROSS_SCHEMAS"
    assert "main.ml.t" in error.message
    assert tables_in(admin, "main.ml") == ["t"]
    assert tables_in(admin, "main.other") == []


def test_rename_a_view(granted):
    admin = granted["admin"]
    admin.sql("CREATE VIEW main.ml.v AS SELECT id FROM main.ml.t")
    admin.sql("ALTER VIEW main.ml.v RENAME TO w")
    assert column(admin, "SHOW VIEWS IN main.ml", "viewName") == ["w"]
    assert admin.sql("SELECT count(*) AS n FROM main.ml.w")["n"].tolist() == [3]


@pytest.mark.parametrize(
    ("statement", "show", "key", "query"),
    [
        (
            "ALTER TABLE main.ml.t OWNER TO `app-service`",
            "SHOW GRANTS ON TABLE main.ml.t",
            "main.ml.t",
            "SELECT table_owner AS owner FROM system.information_schema.tables WHERE table_name = 't'",
        ),
        (
            "ALTER TABLE main.ml.t SET OWNER TO `app-service`",
            "SHOW GRANTS ON TABLE main.ml.t",
            "main.ml.t",
            "SELECT table_owner AS owner FROM system.information_schema.tables WHERE table_name = 't'",
        ),
        (
            "ALTER VIEW main.ml.v OWNER TO `app-service`",
            "SHOW GRANTS ON VIEW main.ml.v",
            "main.ml.v",
            "SELECT table_owner AS owner FROM system.information_schema.tables WHERE table_name = 'v'",
        ),
        (
            "ALTER SCHEMA main.ml OWNER TO `app-service`",
            "SHOW GRANTS ON SCHEMA main.ml",
            "main.ml",
            "SELECT schema_owner AS owner FROM system.information_schema.schemata WHERE schema_name = 'ml'",
        ),
        (
            "ALTER CATALOG main OWNER TO `app-service`",
            "SHOW GRANTS ON CATALOG main",
            "main",
            "SELECT catalog_owner AS owner FROM system.information_schema.catalogs WHERE catalog_name = 'main'",
        ),
    ],
)
def test_alter_owner_shows_in_show_grants_and_information_schema(granted, statement, show, key, query):
    admin = granted["admin"]
    admin.sql("CREATE VIEW main.ml.v AS SELECT id FROM main.ml.t")
    assert ("admin", "OWN", key) in grants_on(admin, show)
    assert admin.sql(statement).empty
    owners = {p for p, action, k in grants_on(admin, show) if action == "OWN" and k == key}
    assert owners == {"app-service"}
    assert column(admin, query, "owner") == ["app-service"]


def test_a_new_owner_may_manage_the_table(granted, connect):
    admin = granted["admin"]
    admin.sql("ALTER TABLE main.ml.t OWNER TO alice")
    alice = granted["alice"]
    alice.sql("COMMENT ON TABLE main.ml.t IS 'mine now'")
    alice.sql("ALTER TABLE main.ml.t RENAME TO mine")
    assert info(admin, "DESCRIBE TABLE EXTENDED main.ml.mine")["Comment"] == "mine now"
    assert info(admin, "DESCRIBE TABLE EXTENDED main.ml.mine")["Owner"] == "alice"


# -- DML ---------------------------------------------------------------------------------------


@pytest.fixture
def dml(seed, connect) -> Catalog:
    """main.ml.t (id, v, w) holding ids 1 and 2; main.ml.src (id, v) holding ids 2 and 3."""
    seed(
        "dml",
        (
            "CREATE CATALOG main",
            "CREATE SCHEMA main.ml",
            "CREATE TABLE main.ml.t (id INT, v STRING, w DOUBLE)",
            "INSERT INTO main.ml.t VALUES (1, 'a', 1.0), (2, 'b', 2.0)",
            "CREATE TABLE main.ml.src (id INT, v STRING)",
            "INSERT INTO main.ml.src VALUES (2, 'B'), (3, 'C')",
        ),
    )
    return connect("admin")


ALL_ROWS = "SELECT id, v, w FROM main.ml.t ORDER BY id"

DML = [
    (
        "INSERT INTO main.ml.t VALUES (3, 'c', 3.0), (4, 'd', 4.0)",
        {"num_affected_rows": [2], "num_inserted_rows": [2]},
        [[1, "a", 1.0], [2, "b", 2.0], [3, "c", 3.0], [4, "d", 4.0]],
    ),
    (
        "INSERT INTO main.ml.t (v, id) VALUES ('z', 9)",
        {"num_affected_rows": [1], "num_inserted_rows": [1]},
        [[1, "a", 1.0], [2, "b", 2.0], [9, "z", None]],
    ),
    (
        "INSERT INTO TABLE main.ml.t (id) VALUES (5)",
        {"num_affected_rows": [1], "num_inserted_rows": [1]},
        [[1, "a", 1.0], [2, "b", 2.0], [5, None, None]],
    ),
    (
        "INSERT INTO main.ml.t (v, id) SELECT v, id + 10 FROM main.ml.src",
        {"num_affected_rows": [2], "num_inserted_rows": [2]},
        [[1, "a", 1.0], [2, "b", 2.0], [12, "B", None], [13, "C", None]],
    ),
    (
        "INSERT INTO main.ml.t SELECT id + 100, v, w FROM main.ml.t",
        {"num_affected_rows": [2], "num_inserted_rows": [2]},
        [[1, "a", 1.0], [2, "b", 2.0], [101, "a", 1.0], [102, "b", 2.0]],
    ),
    (
        "INSERT OVERWRITE main.ml.t SELECT id, v, 0.5 FROM main.ml.src",
        {"num_affected_rows": [2], "num_inserted_rows": [2]},
        [[2, "B", 0.5], [3, "C", 0.5]],
    ),
    (
        "INSERT OVERWRITE TABLE main.ml.t (id, v) SELECT id, v FROM main.ml.src",
        {"num_affected_rows": [2], "num_inserted_rows": [2]},
        [[2, "B", None], [3, "C", None]],
    ),
    (
        "INSERT OVERWRITE main.ml.t SELECT id * 10, upper(v), w FROM main.ml.t WHERE id > 1",
        {"num_affected_rows": [1], "num_inserted_rows": [1]},
        [[20, "B", 2.0]],
    ),
    (
        "UPDATE main.ml.t SET v = 'z', w = w * 10 WHERE id = 1",
        {"num_affected_rows": [1]},
        [[1, "z", 10.0], [2, "b", 2.0]],
    ),
    ("UPDATE main.ml.t SET w = 0", {"num_affected_rows": [2]}, [[1, "a", 0.0], [2, "b", 0.0]]),
    ("UPDATE main.ml.t SET v = 'never' WHERE id > 99", {"num_affected_rows": [0]}, [[1, "a", 1.0], [2, "b", 2.0]]),
    (
        "UPDATE main.ml.t SET v = (SELECT s.v FROM main.ml.src s WHERE s.id = t.id) WHERE id = 2",
        {"num_affected_rows": [1]},
        [[1, "a", 1.0], [2, "B", 2.0]],
    ),
    ("DELETE FROM main.ml.t WHERE id = 1", {"num_affected_rows": [1]}, [[2, "b", 2.0]]),
    (
        "DELETE FROM main.ml.t WHERE id IN (SELECT id FROM main.ml.src)",
        {"num_affected_rows": [1]},
        [[1, "a", 1.0]],
    ),
    ("DELETE FROM main.ml.t", {"num_affected_rows": [2]}, []),
    ("TRUNCATE TABLE main.ml.t", {"num_affected_rows": [2]}, []),
    (
        "MERGE INTO main.ml.t AS t USING (SELECT id, v, 9.0 AS w FROM main.ml.src) AS s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
        {"num_affected_rows": [2]},
        [[1, "a", 1.0], [2, "B", 9.0], [3, "C", 9.0]],
    ),
    (
        "MERGE INTO main.ml.t t USING main.ml.src s ON t.id = s.id "
        "WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, lower(s.v))",
        {"num_affected_rows": [2]},
        [[1, "a", 1.0], [3, "c", None]],
    ),
    (
        "MERGE INTO main.ml.t AS t USING main.ml.src AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.v = s.v",
        {"num_affected_rows": [1]},
        [[1, "a", 1.0], [2, "B", 2.0]],
    ),
    # Columns qualified with schema.table or catalog.schema.table name the statement's target.
    ("UPDATE main.ml.t SET v = 'q' WHERE t.id = 1", {"num_affected_rows": [1]}, [[1, "q", 1.0], [2, "b", 2.0]]),
    ("UPDATE main.ml.t SET v = 'q' WHERE ml.t.id = 1", {"num_affected_rows": [1]}, [[1, "q", 1.0], [2, "b", 2.0]]),
    (
        "UPDATE main.ml.t SET v = 'q' WHERE main.ml.t.id = 1",
        {"num_affected_rows": [1]},
        [[1, "q", 1.0], [2, "b", 2.0]],
    ),
    ("DELETE FROM main.ml.t WHERE main.ml.t.id = 1", {"num_affected_rows": [1]}, [[2, "b", 2.0]]),
    (
        "MERGE INTO main.ml.t USING main.ml.src AS s ON main.ml.t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v",
        {"num_affected_rows": [1]},
        [[1, "a", 1.0], [2, "B", 2.0]],
    ),
]


@pytest.mark.parametrize(("statement", "result", "after"), DML, ids=[row[0] for row in DML])
def test_dml_returns_counts_and_changes_the_rows(dml, statement, result, after):
    frame = dml.sql(statement)
    assert frame.to_dict("list") == result
    assert rows(dml.sql(ALL_ROWS)) == after


def test_dml_with_parameters(dml):
    dml.sql("INSERT INTO main.ml.t VALUES (?, ?, ?)", [3, "c", 3.5])
    dml.sql("UPDATE main.ml.t SET v = :v WHERE id = :id", {"v": "B!", "id": 2})
    dml.sql("DELETE FROM main.ml.t WHERE id = ?", [1])
    assert rows(dml.sql(ALL_ROWS)) == [[2, "B!", 2.0], [3, "c", 3.5]]


# -- atomicity ---------------------------------------------------------------------------------

# A source whose 4000th row fails to cast: DuckDB has already produced the first chunks by then.
HALFWAY = "SELECT CAST(CASE WHEN i = 4000 THEN 'x' ELSE CAST(i AS STRING) END AS INT) AS id FROM range(5000) AS r(i)"


@pytest.mark.parametrize(
    "statement",
    [
        f"INSERT INTO main.ml.t (id) {HALFWAY}",
        f"INSERT OVERWRITE main.ml.t (id) {HALFWAY}",
        "INSERT INTO main.ml.t VALUES (3, 'c', 3.0), (CAST('x' AS INT), 'd', 4.0)",
        "UPDATE main.ml.t SET id = CAST(v AS INT)",
        "DELETE FROM main.ml.t WHERE CAST(v AS INT) = 1",
        f"CREATE OR REPLACE TABLE main.ml.t AS {HALFWAY}",
        "CREATE OR REPLACE TABLE main.ml.t AS SELECT CAST(v AS INT) AS id FROM main.ml.t",
        f"MERGE INTO main.ml.t AS t USING ({HALFWAY}) AS s ON t.id = s.id WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)",
    ],
)
def test_a_failed_statement_leaves_no_partial_change(dml, statement):
    before_rows = rows(dml.sql(ALL_ROWS))
    before_columns = rows(dml.sql("DESCRIBE TABLE main.ml.t"))
    error = refused(dml, statement)
    assert error.error_code in ("CAST_INVALID_INPUT", "DIVIDE_BY_ZERO", "ARITHMETIC_OVERFLOW", "INVALID_INPUT")
    assert rows(dml.sql(ALL_ROWS)) == before_rows
    assert rows(dml.sql("DESCRIBE TABLE main.ml.t")) == before_columns


@pytest.mark.parametrize(
    "statement",
    [
        f"CREATE TABLE main.ml.new AS {HALFWAY}",
        "CREATE TABLE main.ml.new AS SELECT * FROM main.ml.nope",
        "CREATE TABLE main.ml.new AS SELECT nope FROM main.ml.t",
        "CREATE VIEW main.ml.new AS SELECT nope FROM main.ml.t",
        "CREATE VIEW main.ml.new AS SELECT * FROM main.ml.nope",
    ],
)
def test_a_failed_create_leaves_no_table_and_no_securable(dml, statement):
    refused(dml, statement)
    assert tables_in(dml, "main.ml") == ["src", "t"]
    count = "SELECT count(*) AS n FROM system.information_schema.tables WHERE table_name = 'new'"
    assert dml.sql(count)["n"].tolist() == [0]
    assert refused(dml, "DESCRIBE TABLE main.ml.new").error_code == "TABLE_OR_VIEW_NOT_FOUND"
    dml.sql("CREATE TABLE main.ml.new AS SELECT 1 AS a")
    assert dml.sql("SELECT a FROM main.ml.new")["a"].tolist() == [1]


def test_a_script_commits_statements_before_the_failing_one_and_runs_none_after(dml):
    error = refused(
        dml,
        "INSERT INTO main.ml.t VALUES (3, 'c', 3.0); "
        f"INSERT INTO main.ml.t (id) {HALFWAY}; "
        "INSERT INTO main.ml.t VALUES (5, 'e', 5.0)",
    )
    assert error.error_code == "CAST_INVALID_INPUT"
    assert rows(dml.sql(ALL_ROWS)) == [[1, "a", 1.0], [2, "b", 2.0], [3, "c", 3.0]]


def test_a_script_with_ddl_stops_at_the_failing_statement(dml):
    error = refused(
        dml,
        "CREATE TABLE main.ml.s1 AS SELECT 1 AS a; CREATE TABLE main.ml.s1 AS SELECT 2 AS a; "
        "CREATE TABLE main.ml.s3 AS SELECT 3 AS a",
    )
    assert error.error_code == "TABLE_OR_VIEW_ALREADY_EXISTS"
    assert tables_in(dml, "main.ml") == ["s1", "src", "t"]
    assert dml.sql("SELECT a FROM main.ml.s1")["a"].tolist() == [1]


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ("INSERT INTO main.ml.t VALUES (4, 'd', 4.0) WHERE", "PARSE_SYNTAX_ERROR"),
        ("VACUUM main.ml.t", "UNSUPPORTED_STATEMENT"),
        ("ANALYZE TABLE main.ml.t COMPUTE STATISTICS", "UNSUPPORTED_STATEMENT"),
        ("SELECT * FROM read_csv('/etc/passwd')", "UNSUPPORTED_TABLE_FUNCTION"),
    ],
)
def test_a_script_that_fails_to_parse_or_check_runs_nothing(dml, bad, code):
    error = refused(
        dml, f"INSERT INTO main.ml.t VALUES (3, 'c', 3.0); {bad}; INSERT INTO main.ml.t VALUES (5, 'e', 5.0)"
    )
    assert error.error_code == code
    assert rows(dml.sql(ALL_ROWS)) == [[1, "a", 1.0], [2, "b", 2.0]]


def test_a_script_returns_the_result_of_its_last_statement(dml):
    frame = dml.sql("INSERT INTO main.ml.t VALUES (3, 'c', 3.0); SELECT count(*) AS n FROM main.ml.t")
    assert frame.to_dict("list") == {"n": [3]}


# -- the system catalog is read-only -----------------------------------------------------------

SYSTEM_WRITES = [
    ("INSERT INTO system.access.audit SELECT * FROM system.access.audit", "EXPECT_TABLE_NOT_VIEW"),
    ("INSERT OVERWRITE system.access.audit SELECT * FROM system.access.audit", "EXPECT_TABLE_NOT_VIEW"),
    ("DELETE FROM system.access.audit", "EXPECT_TABLE_NOT_VIEW"),
    ("UPDATE system.access.audit SET action_name = 'nothing'", "EXPECT_TABLE_NOT_VIEW"),
    ("TRUNCATE TABLE system.access.audit", "EXPECT_TABLE_NOT_VIEW"),
    (
        "MERGE INTO system.access.audit a USING system.access.audit b ON a.event_id = b.event_id "
        "WHEN MATCHED THEN DELETE",
        "EXPECT_TABLE_NOT_VIEW",
    ),
    ("UPDATE system.information_schema.tables SET comment = 'x'", "EXPECT_TABLE_NOT_VIEW"),
    ("DROP TABLE system.access.audit", "EXPECT_TABLE_NOT_VIEW"),
    ("DROP VIEW system.access.audit", "SYSTEM_CATALOG_READ_ONLY"),
    ("ALTER VIEW system.access.audit RENAME TO gone", "SYSTEM_CATALOG_READ_ONLY"),
    ("ALTER VIEW system.access.audit OWNER TO alice", "SYSTEM_CATALOG_READ_ONLY"),
    ("COMMENT ON VIEW system.access.audit IS 'x'", "SYSTEM_CATALOG_READ_ONLY"),
    ("COMMENT ON COLUMN system.access.audit.action_name IS 'x'", "SYSTEM_CATALOG_READ_ONLY"),
    ("CREATE TABLE system.access.x (a INT)", "SYSTEM_CATALOG_READ_ONLY"),
    ("CREATE TABLE system.access.x AS SELECT 1 AS a", "SYSTEM_CATALOG_READ_ONLY"),
    ("CREATE VIEW system.access.x AS SELECT 1 AS a", "SYSTEM_CATALOG_READ_ONLY"),
    ("CREATE OR REPLACE VIEW system.access.audit AS SELECT 1 AS a", "SYSTEM_CATALOG_READ_ONLY"),
    ("CREATE SCHEMA system.extra", "SYSTEM_CATALOG_READ_ONLY"),
    ("CREATE SCHEMA IF NOT EXISTS system.access", "SYSTEM_CATALOG_READ_ONLY"),
    ("CREATE CATALOG system", "SYSTEM_CATALOG_READ_ONLY"),
    ("CREATE CATALOG IF NOT EXISTS system", "SYSTEM_CATALOG_READ_ONLY"),
    ("DROP SCHEMA system.access CASCADE", "SYSTEM_CATALOG_READ_ONLY"),
    ("DROP CATALOG system CASCADE", "SYSTEM_CATALOG_READ_ONLY"),
    ("ALTER CATALOG system OWNER TO alice", "SYSTEM_CATALOG_READ_ONLY"),
    ("COMMENT ON CATALOG system IS 'x'", "SYSTEM_CATALOG_READ_ONLY"),
]


@pytest.mark.parametrize(("statement", "code"), SYSTEM_WRITES, ids=[row[0] for row in SYSTEM_WRITES])
def test_the_system_catalog_refuses_every_write(shared, statement, code):
    error = refused(shared, statement)
    assert error.error_code == code
    assert "system" in error.message
    bootstrap = "SELECT count(*) AS n FROM system.access.audit WHERE action_name = 'createMetastore'"
    assert shared.sql(bootstrap)["n"].tolist() == [1]
    assert column(shared, "SHOW SCHEMAS IN system", "databaseName") == [
        "access",
        "information_schema",
        "mlflow",
        "serving",
    ]
    assert "audit" in tables_in(shared, "system.access")


# -- identifiers -------------------------------------------------------------------------------

IDENTIFIERS = [
    ("SELECT count(*) AS n FROM `Main`.`ML`.`Churn_Features`", [[4]]),
    ("SELECT count(*) AS n FROM MAIN.ML.CHURN_FEATURES", [[4]]),
    ("SELECT count(*) AS n FROM `main`.ml.`churn_features`", [[4]]),
    ("SELECT Customer_ID FROM main.ml.churn_features WHERE CUSTOMER_ID = 2", [[2]]),
    ("SELECT `customer_id` FROM main.ml.churn_features WHERE `Tenure_Months` > 30", [[3]]),
    ("SELECT `event id` FROM main.`data-eng`.`raw-events`", [[7]]),
    ("SELECT `EVENT ID` FROM `MAIN`.`DATA-ENG`.`RAW-EVENTS`", [[7]]),
    ("SELECT e.`event id` FROM main.`data-eng`.`raw-events` AS e", [[7]]),
]


@pytest.mark.parametrize(("query", "expected"), IDENTIFIERS, ids=[row[0] for row in IDENTIFIERS])
def test_identifiers_are_case_insensitive_and_backtick_quotable(shared, query, expected):
    assert rows(shared.sql(query)) == expected


def test_names_are_stored_lower_case_and_hyphenated_names_work_in_ddl(admin):
    admin.sql("CREATE CATALOG `Sales-EU`")
    admin.sql("CREATE SCHEMA `Sales-EU`.`Q1-Data`")
    admin.sql("CREATE TABLE `sales-eu`.`q1-data`.`My-Table` (`Order Id` INT)")
    admin.sql("INSERT INTO `SALES-EU`.`Q1-DATA`.`MY-TABLE` VALUES (1)")
    assert catalogs(admin) == ["sales-eu", "system"]
    assert column(admin, "SHOW SCHEMAS IN `sales-eu`", "databaseName") == ["default", "q1-data"]
    assert tables_in(admin, "`sales-eu`.`q1-data`") == ["my-table"]
    admin.sql("USE SCHEMA `Sales-EU`.`Q1-Data`")
    assert admin.sql("SELECT `order id` FROM `my-table`")["Order Id"].tolist() == [1]
    admin.sql("COMMENT ON TABLE `my-table` IS 'hyphens'")
    admin.sql("ALTER TABLE `My-Table` RENAME TO `Other-Table`")
    assert tables_in(admin, "`sales-eu`.`q1-data`") == ["other-table"]
    admin.sql("DROP TABLE `OTHER-TABLE`")
    admin.sql("DROP CATALOG `SALES-EU` CASCADE")
    assert catalogs(admin) == ["system"]
