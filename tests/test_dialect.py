"""The catalog dialect: every statement form parses into a real tree and prints back as Databricks SQL.

Table-driven like sqlglot's ``tests/dialects/test_databricks.py`` (``validate_identity``): one row
per statement form. The second half covers ``catalog.sql.parse.parse``: syntax errors with their
position, statements the catalog refuses, empty text and parameter binding.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlglot import exp

import catalog
from catalog.api import Catalog
from catalog.sql.dialect import CatalogDialect
from catalog.sql.expressions import (
    AlterGroup,
    CommentOn,
    CreatePrincipal,
    DropPrincipal,
    SetOwner,
    ShowGrants,
    ShowObjects,
)
from catalog.sql.parse import parse


def generate(tree: exp.Expr) -> str:
    return tree.sql(dialect=CatalogDialect)


def kind_of(tree: exp.Expr) -> str | None:
    kind = tree.args.get("kind")
    if isinstance(kind, exp.Expr):
        return kind.name.upper()
    return str(kind).upper() if kind else None


def parse_one(text: str) -> exp.Expr:
    return parse_one_with(text, None)


def parse_one_with(text: str, params) -> exp.Expr:
    trees = parse(text, params)
    assert len(trees) == 1, trees
    return trees[0]


# (statement, node class, kind, printed text; None when it prints back exactly as written)
FORMS = [
    # -- catalogs and schemas --------------------------------------------------------------------
    ("CREATE CATALOG main", exp.Create, "CATALOG", None),
    ("CREATE CATALOG IF NOT EXISTS main", exp.Create, "CATALOG", None),
    ("CREATE CATALOG main COMMENT 'prod data'", exp.Create, "CATALOG", None),
    ("CREATE CATALOG IF NOT EXISTS main COMMENT 'prod data'", exp.Create, "CATALOG", None),
    ("DROP CATALOG main", exp.Drop, "CATALOG", None),
    ("DROP CATALOG IF EXISTS main", exp.Drop, "CATALOG", None),
    ("DROP CATALOG main CASCADE", exp.Drop, "CATALOG", None),
    ("DROP CATALOG IF EXISTS main CASCADE", exp.Drop, "CATALOG", None),
    ("CREATE SCHEMA main.ml", exp.Create, "SCHEMA", None),
    ("CREATE SCHEMA ml", exp.Create, "SCHEMA", None),
    ("CREATE SCHEMA IF NOT EXISTS main.ml", exp.Create, "SCHEMA", None),
    ("CREATE SCHEMA main.ml COMMENT 'churn work'", exp.Create, "SCHEMA", None),
    ("CREATE DATABASE main.ml", exp.Create, "DATABASE", None),
    ("DROP SCHEMA main.ml", exp.Drop, "SCHEMA", None),
    ("DROP SCHEMA IF EXISTS main.ml", exp.Drop, "SCHEMA", None),
    ("DROP SCHEMA main.ml CASCADE", exp.Drop, "SCHEMA", None),
    ("DROP SCHEMA IF EXISTS main.ml CASCADE", exp.Drop, "SCHEMA", None),
    # -- USE -------------------------------------------------------------------------------------
    ("USE CATALOG main", exp.Use, "CATALOG", None),
    ("USE SCHEMA main.ml", exp.Use, "SCHEMA", None),
    ("USE SCHEMA ml", exp.Use, "SCHEMA", None),
    ("USE main.ml", exp.Use, None, None),
    # -- SHOW ------------------------------------------------------------------------------------
    ("SHOW CATALOGS", ShowObjects, "CATALOGS", None),
    ("SHOW CATALOGS LIKE 'ma*'", ShowObjects, "CATALOGS", None),
    ("SHOW SCHEMAS", ShowObjects, "SCHEMAS", None),
    ("SHOW SCHEMAS IN main", ShowObjects, "SCHEMAS", None),
    ("SHOW SCHEMAS IN main LIKE 'm*'", ShowObjects, "SCHEMAS", None),
    ("SHOW DATABASES FROM main", ShowObjects, "SCHEMAS", "SHOW SCHEMAS IN main"),
    ("SHOW TABLES", ShowObjects, "TABLES", None),
    ("SHOW TABLES IN main.ml", ShowObjects, "TABLES", None),
    ("SHOW TABLES FROM main.ml", ShowObjects, "TABLES", "SHOW TABLES IN main.ml"),
    ("SHOW TABLES LIKE 'cust*'", ShowObjects, "TABLES", None),
    ("SHOW TABLES IN main.ml LIKE 'cust*|feat*'", ShowObjects, "TABLES", None),
    ("SHOW TABLES IN main.ml 'cust*'", ShowObjects, "TABLES", "SHOW TABLES IN main.ml LIKE 'cust*'"),
    ("SHOW VIEWS", ShowObjects, "VIEWS", None),
    ("SHOW VIEWS IN main.ml LIKE 'v*'", ShowObjects, "VIEWS", None),
    ("SHOW USERS", ShowObjects, "USERS", None),
    ("SHOW GROUPS", ShowObjects, "GROUPS", None),
    ("SHOW GROUPS LIKE 'ana*'", ShowObjects, "GROUPS", None),
    # -- DESCRIBE --------------------------------------------------------------------------------
    ("DESCRIBE TABLE main.ml.t", exp.Describe, "TABLE", "DESCRIBE main.ml.t"),
    ("DESCRIBE TABLE EXTENDED main.ml.t", exp.Describe, "TABLE", "DESCRIBE EXTENDED main.ml.t"),
    ("DESC TABLE main.ml.t", exp.Describe, "TABLE", "DESCRIBE main.ml.t"),
    ("DESCRIBE main.ml.t", exp.Describe, None, None),
    ("DESCRIBE EXTENDED main.ml.t", exp.Describe, None, None),
    # Printing SCHEMA/CATALOG away would turn these into DESCRIBE of a table named main.ml / main.
    ("DESCRIBE SCHEMA main.ml", exp.Describe, "SCHEMA", None),
    ("DESCRIBE SCHEMA EXTENDED main.ml", exp.Describe, "SCHEMA", None),
    ("DESCRIBE CATALOG main", exp.Describe, "CATALOG", None),
    ("DESCRIBE CATALOG EXTENDED main", exp.Describe, "CATALOG", None),
    # -- COMMENT ON ------------------------------------------------------------------------------
    ("COMMENT ON CATALOG main IS 'prod'", CommentOn, "CATALOG", None),
    ("COMMENT ON SCHEMA main.ml IS 'churn work'", CommentOn, "SCHEMA", None),
    ("COMMENT ON TABLE main.ml.t IS 'rows'", CommentOn, "TABLE", None),
    ("COMMENT ON TABLE main.ml.t IS NULL", CommentOn, "TABLE", None),
    ("COMMENT ON VIEW main.ml.v IS 'a view'", CommentOn, "VIEW", None),
    ("COMMENT ON COLUMN main.ml.t.a IS 'col a'", CommentOn, "COLUMN", None),
    ("COMMENT ON COLUMN t.a IS 'col a'", CommentOn, "COLUMN", None),
    # -- tables and views ------------------------------------------------------------------------
    ("CREATE TABLE main.ml.t (a INT, b STRING)", exp.Create, "TABLE", None),
    (
        "CREATE TABLE main.ml.t (a INT NOT NULL, b STRING COMMENT 'bee', c DECIMAL(10, 2), d DATE, "
        "e TIMESTAMP, f BOOLEAN, g BIGINT, h DOUBLE)",
        exp.Create,
        "TABLE",
        None,
    ),
    ("CREATE TABLE IF NOT EXISTS main.ml.t (a INT)", exp.Create, "TABLE", None),
    ("CREATE OR REPLACE TABLE main.ml.t (a INT)", exp.Create, "TABLE", None),
    ("CREATE TABLE main.ml.t (a INT) COMMENT 'rows'", exp.Create, "TABLE", None),
    ("CREATE TABLE main.ml.t AS SELECT 1 AS a", exp.Create, "TABLE", None),
    ("CREATE OR REPLACE TABLE main.ml.t AS SELECT * FROM main.ml.t WHERE a > 1", exp.Create, "TABLE", None),
    ("CREATE VIEW main.ml.v AS SELECT a FROM main.ml.t", exp.Create, "VIEW", None),
    ("CREATE OR REPLACE VIEW main.ml.v AS SELECT a FROM main.ml.t", exp.Create, "VIEW", None),
    ("CREATE VIEW IF NOT EXISTS main.ml.v AS SELECT 1 AS a", exp.Create, "VIEW", None),
    ("CREATE VIEW main.ml.v COMMENT 'v' AS SELECT 1 AS a", exp.Create, "VIEW", None),
    ("DROP TABLE main.ml.t", exp.Drop, "TABLE", None),
    ("DROP TABLE IF EXISTS main.ml.t", exp.Drop, "TABLE", None),
    ("DROP VIEW main.ml.v", exp.Drop, "VIEW", None),
    ("DROP VIEW IF EXISTS main.ml.v", exp.Drop, "VIEW", None),
    ("ALTER TABLE main.ml.t RENAME TO main.ml.u", exp.Alter, "TABLE", None),
    ("ALTER TABLE main.ml.t RENAME TO u", exp.Alter, "TABLE", None),
    ("ALTER VIEW main.ml.v RENAME TO w", exp.Alter, "VIEW", None),
    # -- owners ----------------------------------------------------------------------------------
    ("ALTER CATALOG main OWNER TO alice", SetOwner, "CATALOG", None),
    ("ALTER CATALOG main SET OWNER TO alice", SetOwner, "CATALOG", "ALTER CATALOG main OWNER TO alice"),
    ("ALTER SCHEMA main.ml OWNER TO analysts", SetOwner, "SCHEMA", None),
    ("ALTER TABLE main.ml.t OWNER TO `app-service`", SetOwner, "TABLE", None),
    (
        "ALTER VIEW main.ml.v SET OWNER TO `alice@example.com`",
        SetOwner,
        "VIEW",
        "ALTER VIEW main.ml.v OWNER TO `alice@example.com`",
    ),
    # -- DML -------------------------------------------------------------------------------------
    ("INSERT INTO main.ml.t VALUES (1, 'a'), (2, 'b')", exp.Insert, None, None),
    ("INSERT INTO main.ml.t (a, b) VALUES (1, 'a')", exp.Insert, None, None),
    ("INSERT INTO main.ml.t SELECT * FROM main.ml.u", exp.Insert, None, None),
    ("INSERT OVERWRITE TABLE main.ml.t SELECT * FROM main.ml.u", exp.Insert, None, None),
    (
        "INSERT OVERWRITE main.ml.t SELECT * FROM main.ml.u",
        exp.Insert,
        None,
        "INSERT OVERWRITE TABLE main.ml.t SELECT * FROM main.ml.u",
    ),
    ("UPDATE main.ml.t SET b = 'z' WHERE a = 1", exp.Update, None, None),
    ("DELETE FROM main.ml.t WHERE a = 1", exp.Delete, None, None),
    (
        "MERGE INTO main.ml.t AS t USING main.ml.u AS u ON t.a = u.a "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
        exp.Merge,
        None,
        None,
    ),
    (
        "MERGE INTO main.ml.t AS t USING main.ml.u AS u ON t.a = u.a "
        "WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT (a, b) VALUES (u.a, u.b)",
        exp.Merge,
        None,
        None,
    ),
    ("TRUNCATE TABLE main.ml.t", exp.TruncateTable, None, None),
    # -- principals ------------------------------------------------------------------------------
    ("CREATE USER alice", CreatePrincipal, "USER", None),
    ("CREATE USER IF NOT EXISTS `alice@example.com`", CreatePrincipal, "USER", None),
    ("CREATE GROUP analysts", CreatePrincipal, "GROUP", None),
    ("CREATE GROUP IF NOT EXISTS `data-eng`", CreatePrincipal, "GROUP", None),
    ("DROP USER alice", DropPrincipal, "USER", None),
    ("DROP USER IF EXISTS `app-service`", DropPrincipal, "USER", None),
    ("DROP GROUP analysts", DropPrincipal, "GROUP", None),
    ("DROP GROUP IF EXISTS analysts", DropPrincipal, "GROUP", None),
    ("ALTER GROUP analysts ADD USER alice", AlterGroup, None, None),
    ("ALTER GROUP analysts ADD USER alice, USER bob, GROUP data_eng", AlterGroup, None, None),
    ("ALTER GROUP analysts REMOVE USER `alice@example.com`, GROUP `data-eng`", AlterGroup, None, None),
    # -- GRANT / REVOKE --------------------------------------------------------------------------
    ("GRANT SELECT ON TABLE main.ml.t TO alice", exp.Grant, "TABLE", None),
    ("GRANT SELECT, MODIFY ON TABLE main.ml.t TO alice, `app-service`", exp.Grant, "TABLE", None),
    ("GRANT SELECT ON main.ml.t TO alice", exp.Grant, "TABLE", "GRANT SELECT ON TABLE main.ml.t TO alice"),
    ("GRANT USE CATALOG ON CATALOG main TO analysts", exp.Grant, "CATALOG", None),
    ("GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO analysts", exp.Grant, "SCHEMA", None),
    ("GRANT ALL PRIVILEGES ON SCHEMA main.ml TO `alice@example.com`", exp.Grant, "SCHEMA", None),
    ("GRANT CREATE CATALOG ON METASTORE TO alice", exp.Grant, "METASTORE", None),
    ("GRANT CREATE TABLE, CREATE SCHEMA, BROWSE ON CATALOG main TO data_eng", exp.Grant, "CATALOG", None),
    ("GRANT SELECT ON VIEW main.ml.v TO bob", exp.Grant, "VIEW", None),
    ("GRANT EXECUTE ON MODEL main.ml.m TO bob", exp.Grant, "MODEL", None),
    ("GRANT BROWSE ON CATALOG main TO `account users`", exp.Grant, "CATALOG", None),
    ("REVOKE SELECT ON TABLE main.ml.t FROM alice", exp.Revoke, "TABLE", None),
    ("REVOKE USE CATALOG ON CATALOG main FROM analysts, `app-service`", exp.Revoke, "CATALOG", None),
    ("REVOKE ALL PRIVILEGES ON SCHEMA main.ml FROM bob", exp.Revoke, "SCHEMA", None),
    ("REVOKE CREATE CATALOG ON METASTORE FROM alice", exp.Revoke, "METASTORE", None),
    ("REVOKE SELECT ON VIEW main.ml.v FROM `alice@example.com`", exp.Revoke, "VIEW", None),
    ("REVOKE EXECUTE ON MODEL main.ml.m FROM bob", exp.Revoke, "MODEL", None),
    ("REVOKE SELECT ON main.ml.t FROM alice", exp.Revoke, "TABLE", "REVOKE SELECT ON TABLE main.ml.t FROM alice"),
    # -- SHOW GRANTS -----------------------------------------------------------------------------
    ("SHOW GRANTS ON TABLE main.ml.t", ShowGrants, "TABLE", None),
    ("SHOW GRANTS alice ON TABLE main.ml.t", ShowGrants, "TABLE", None),
    ("SHOW GRANTS `alice@example.com` ON SCHEMA main.ml", ShowGrants, "SCHEMA", None),
    ("SHOW GRANTS ON CATALOG main", ShowGrants, "CATALOG", None),
    ("SHOW GRANTS analysts ON METASTORE", ShowGrants, "METASTORE", None),
    ("SHOW GRANTS ON VIEW main.ml.v", ShowGrants, "VIEW", None),
    ("SHOW GRANTS `app-service` ON MODEL main.ml.m", ShowGrants, "MODEL", None),
    ("SHOW GRANTS ON main.ml.t", ShowGrants, "TABLE", "SHOW GRANTS ON TABLE main.ml.t"),
    ("SHOW GRANT ON VIEW main.ml.v", ShowGrants, "VIEW", "SHOW GRANTS ON VIEW main.ml.v"),
    # -- experiments: a path, backquoted or as a string ------------------------------------------
    ("GRANT CAN READ ON EXPERIMENT `/Shared/churn` TO alice", exp.Grant, "EXPERIMENT", None),
    ("GRANT CAN EDIT ON EXPERIMENT '/Shared/churn' TO `data-scientists`", exp.Grant, "EXPERIMENT", None),
    ("GRANT CAN MANAGE, CAN READ ON EXPERIMENT `/Users/a@x.com/churn model` TO bob", exp.Grant, "EXPERIMENT", None),
    ("REVOKE CAN MANAGE ON EXPERIMENT `/Shared/churn` FROM bob, `data-scientists`", exp.Revoke, "EXPERIMENT", None),
    ("SHOW GRANTS ON EXPERIMENT `/Shared/churn`", ShowGrants, "EXPERIMENT", None),
    ("SHOW GRANTS alice ON EXPERIMENT '/Shared/churn'", ShowGrants, "EXPERIMENT", None),
    ("ALTER EXPERIMENT `/Shared/churn` OWNER TO bob", SetOwner, "EXPERIMENT", None),
    (
        "ALTER EXPERIMENT '/Shared/churn' SET OWNER TO `data-scientists`",
        SetOwner,
        "EXPERIMENT",
        "ALTER EXPERIMENT '/Shared/churn' OWNER TO `data-scientists`",
    ),
]
FORM_IDS = [row[0] for row in FORMS]


@pytest.mark.parametrize(("text", "node", "kind", "printed"), FORMS, ids=FORM_IDS)
def test_statement_parses_into_a_real_node(text, node, kind, printed):
    tree = parse_one(text)
    assert not isinstance(tree, exp.Command)
    assert type(tree) is node
    assert kind_of(tree) == kind


@pytest.mark.parametrize(("text", "node", "kind", "printed"), FORMS, ids=FORM_IDS)
def test_statement_prints_back_as_databricks_sql(text, node, kind, printed):
    tree = parse_one(text)
    expected = printed or text
    assert generate(tree) == expected
    # The printed text is a fixed point: parsing and printing it again changes nothing.
    again = parse_one(expected)
    assert type(again) is node
    assert generate(again) == expected


@pytest.mark.parametrize(
    ("text", "privileges", "securable", "principals"),
    [
        ("GRANT SELECT ON TABLE main.ml.t TO alice", ["SELECT"], "main.ml.t", ["alice"]),
        (
            "GRANT USE CATALOG, USE SCHEMA, CREATE TABLE ON CATALOG main TO analysts, `app-service`",
            ["USE CATALOG", "USE SCHEMA", "CREATE TABLE"],
            "main",
            ["analysts", "app-service"],
        ),
        (
            "GRANT ALL PRIVILEGES ON SCHEMA main.ml TO `alice@example.com`",
            ["ALL PRIVILEGES"],
            "main.ml",
            ["alice@example.com"],
        ),
        ("GRANT CREATE CATALOG ON METASTORE TO alice", ["CREATE CATALOG"], None, ["alice"]),
        ("GRANT SELECT, MODIFY ON main.ml.t TO `account users`", ["SELECT", "MODIFY"], "main.ml.t", ["account users"]),
        (
            "REVOKE USE CATALOG ON CATALOG main FROM analysts, `app-service`",
            ["USE CATALOG"],
            "main",
            ["analysts", "app-service"],
        ),
        ("REVOKE ALL PRIVILEGES ON VIEW main.ml.v FROM bob", ["ALL PRIVILEGES"], "main.ml.v", ["bob"]),
        (
            "GRANT CAN EDIT, CAN READ ON EXPERIMENT `/Shared/churn` TO `data-scientists`",
            ["CAN EDIT", "CAN READ"],
            "`/Shared/churn`",
            ["data-scientists"],
        ),
        ("REVOKE CAN MANAGE ON EXPERIMENT '/Shared/churn' FROM bob", ["CAN MANAGE"], "'/Shared/churn'", ["bob"]),
    ],
)
def test_grant_and_revoke_keep_each_privilege_and_principal(text, privileges, securable, principals):
    tree = parse_one(text)
    assert [p.this.name for p in tree.args["privileges"]] == privileges
    target = tree.args.get("securable")
    assert (target.sql(dialect=CatalogDialect) if target is not None else None) == securable
    assert [p.this.name for p in tree.args["principals"]] == principals


@pytest.mark.parametrize(
    ("text", "action", "members"),
    [
        ("ALTER GROUP analysts ADD USER alice", "ADD", [("USER", "alice")]),
        (
            "ALTER GROUP analysts ADD USER alice, USER bob, GROUP data_eng",
            "ADD",
            [("USER", "alice"), ("USER", "bob"), ("GROUP", "data_eng")],
        ),
        (
            "ALTER GROUP analysts REMOVE USER `alice@example.com`, GROUP `data-eng`",
            "REMOVE",
            [("USER", "alice@example.com"), ("GROUP", "data-eng")],
        ),
    ],
)
def test_alter_group_keeps_every_member(text, action, members):
    tree = parse_one(text)
    assert tree.this.name == "analysts"
    assert tree.args["action"] == action
    assert [(m.args["kind"], m.this.name) for m in tree.expressions] == members


@pytest.mark.parametrize(
    ("text", "principal", "target"),
    [
        ("SHOW GRANTS ON TABLE main.ml.t", None, "main.ml.t"),
        ("SHOW GRANTS `alice@example.com` ON SCHEMA main.ml", "alice@example.com", "main.ml"),
        ("SHOW GRANTS `app-service` ON CATALOG main", "app-service", "main"),
        ("SHOW GRANTS analysts ON METASTORE", "analysts", None),
        ("SHOW GRANTS alice ON EXPERIMENT `/Shared/a b`", "alice", "`/Shared/a b`"),
    ],
)
def test_show_grants_keeps_principal_and_target(text, principal, target):
    tree = parse_one(text)
    got_principal = tree.args.get("principal")
    assert (got_principal.name if got_principal is not None else None) == principal
    got_target = tree.this
    assert (got_target.sql(dialect=CatalogDialect) if got_target is not None else None) == target


@pytest.mark.parametrize(
    ("text", "scope", "like"),
    [
        ("SHOW TABLES", None, None),
        ("SHOW TABLES IN main.ml", "main.ml", None),
        ("SHOW TABLES IN main.ml LIKE 'cust*|feat*'", "main.ml", "cust*|feat*"),
        ("SHOW SCHEMAS FROM main LIKE 'm*'", "main", "m*"),
        ("SHOW CATALOGS 'ma*'", None, "ma*"),
    ],
)
def test_show_keeps_scope_and_pattern(text, scope, like):
    tree = parse_one(text)
    got_scope = tree.args.get("scope")
    assert (got_scope.sql(dialect=CatalogDialect) if got_scope is not None else None) == scope
    got_like = tree.args.get("like")
    assert (got_like.name if got_like is not None else None) == like


def test_a_script_parses_into_one_tree_per_statement():
    trees = parse("CREATE CATALOG main;\nUSE CATALOG main;\nSHOW SCHEMAS;")
    assert [type(t) for t in trees] == [exp.Create, exp.Use, ShowObjects]


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "near"),
    [
        ("SELECT a,\nFROM WHERE x", 2, "WHERE"),
        ("SELEC 1", 1, None),
        ("SELECT 1;\nSELECT * FROM", 2, None),
        ("SELECT a\nFROM t\nWHERE a = = 1", 3, None),
        ("SELECT a\nFROM t\nWHERE (a = 1", 3, None),
        ("SELECT 1,, 2", 1, None),  # sqlglot drops the empty item; Databricks calls it a syntax error
        ("GRANT SELECT ON TABLE t", 1, None),
        ("GRANT SELECT ON TABLE t alice", 1, "alice"),
        ("REVOKE SELECT ON TABLE t TO alice", 1, None),
        ("SHOW GRANTS alice", 1, None),
        ("CREATE CATALOG a.b", 1, None),
        ("CREATE SCHEMA a.b.c", 1, None),
        ("ALTER GROUP g ADD alice", 1, "alice"),
        ("ALTER GROUP g DROP USER alice", 1, None),
        ("COMMENT ON TABLE t 'x'", 1, None),
        ("GRANT CAN READ ON EXPERIMENT /Shared/churn TO alice", 1, "/"),  # a path is quoted
        ("GRANT CAN READ ON EXPERIMENT churn TO alice", 1, "churn"),
        ("SHOW GRANTS ON EXPERIMENT", 1, None),
        ("SELECT 'abc", 1, None),  # an unterminated string fails in the tokenizer, not the parser
    ],
)
def test_syntax_errors_name_line_and_column(text, line, near):
    with pytest.raises(catalog.SqlError) as raised:
        parse(text)
    error = raised.value
    assert error.error_code == "PARSE_SYNTAX_ERROR"
    assert f"line {line}" in error.message
    assert "column" in error.message
    assert error.details.get("line") == line
    assert isinstance(error.details.get("column"), int)
    if near:
        assert near in error.message


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("VACUUM t", "VACUUM"),
        ("OPTIMIZE t", "OPTIMIZE"),
        ("OPTIMIZE main.ml.t ZORDER BY (a)", "OPTIMIZE"),
        ("MSCK REPAIR TABLE t", "MSCK"),
        ("EXPLAIN SELECT 1", "EXPLAIN"),
        ("LOAD httpfs", "LOAD"),
        ("CALL pragma_version()", "CALL"),
    ],
)
def test_parse_refuses_statements_sqlglot_cannot_model(text, keyword):
    with pytest.raises(catalog.SqlError) as raised:
        parse(text)
    assert raised.value.error_code == "UNSUPPORTED_STATEMENT"
    assert keyword in raised.value.message


@pytest.mark.parametrize(
    "text",
    [
        # Valid Databricks SQL the catalog does not run: "unsupported", not "syntax error".
        "SHOW CREATE TABLE main.ml.t",
        "SHOW FOO",
        "SHOW ALL TABLES",
    ],
)
def test_valid_databricks_statements_the_catalog_lacks_are_unsupported_not_syntax_errors(text):
    with pytest.raises(catalog.SqlError) as raised:
        parse(text)
    assert raised.value.error_code == "UNSUPPORTED_STATEMENT"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", ";", " ; ; ", "-- only a comment", None])
def test_empty_text_is_refused(text):
    with pytest.raises(catalog.SqlError) as raised:
        parse(text)
    assert raised.value.error_code == "PARSE_EMPTY_STATEMENT"


@pytest.mark.parametrize(
    "text",
    ["SELECT 1; -- done", "SELECT 1;\n-- a closing note\n", "SELECT 1; /* end */", "-- first\nSELECT 1;"],
)
def test_comments_around_statements_are_not_statements(text):
    assert [tree.sql(comments=False) for tree in parse(text)] == ["SELECT 1"]


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    """One home for the tests that need statements to reach the engine (they change nothing)."""
    home: Path = tmp_path_factory.mktemp("dialect") / "home"
    admin = catalog.connect(home, user="admin")
    admin.sql("CREATE CATALOG main")
    admin.sql("CREATE SCHEMA main.ml")
    admin.sql("CREATE TABLE main.ml.t (a INT, s STRING)")
    admin.sql("INSERT INTO main.ml.t VALUES (1, 'one'), (2, 'two')")
    admin.sql("CREATE USER alice")
    yield admin
    admin.close()


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        # sqlglot parses these into real (non-Command) nodes; the catalog refuses them afterwards.
        ("ANALYZE TABLE main.ml.t COMPUTE STATISTICS", "ANALYZE"),
        ("REFRESH TABLE main.ml.t", "REFRESH"),
        ("CACHE TABLE main.ml.t", "CACHE"),
        ("UNCACHE TABLE main.ml.t", "UNCACHE"),
        ("ALTER TABLE main.ml.t ADD COLUMN c INT", "ALTER"),
        ("CREATE FUNCTION main.ml.f() RETURNS INT RETURN 1", "FUNCTION"),
        ("DROP FUNCTION main.ml.f", "FUNCTION"),
        ("SET x = 1", "SET"),
        ("COPY INTO main.ml.t FROM '/tmp/x'", "COPY"),
        ("PRAGMA version", "PRAGMA"),
        ("BEGIN", "TRANSACTION"),
        ("COMMIT", "COMMIT"),
        ("ROLLBACK", "ROLLBACK"),
        ("INSTALL httpfs", "INSTALL"),
        ("CHECKPOINT", "CHECKPOINT"),
        # DESCRIBE HISTORY shows a Delta table's versions; answering with its columns is wrong.
        ("DESCRIBE HISTORY main.ml.t", "HISTORY"),
    ],
)
def test_statements_parsed_but_not_run_are_refused(cat, text, keyword):
    with pytest.raises(catalog.SqlError) as raised:
        cat.sql(text)
    assert raised.value.error_code == "UNSUPPORTED_STATEMENT"
    assert keyword in raised.value.message.upper()
    assert cat.sql("SELECT a, s FROM main.ml.t ORDER BY a").values.tolist() == [[1, "one"], [2, "two"]]


# -- parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "params", "printed"),
    [
        ("SELECT ? AS a", [1], "SELECT 1 AS a"),
        ("SELECT ? AS a, ? AS b", [1, "x"], "SELECT 1 AS a, 'x' AS b"),
        ("SELECT ? AS a, ? AS b", (2.5, None), "SELECT 2.5 AS a, NULL AS b"),
        ("SELECT ? AS a", [True], "SELECT TRUE AS a"),
        ("SELECT :n AS a", {"n": 7}, "SELECT 7 AS a"),
        ("SELECT :n AS a, :n AS b", {"n": 7}, "SELECT 7 AS a, 7 AS b"),
        ("SELECT :b AS b, :a AS a", {"a": 1, "b": "two"}, "SELECT 'two' AS b, 1 AS a"),
        ("SELECT * FROM t WHERE s = ?", ["O'Brien"], "SELECT * FROM t WHERE s = 'O\\'Brien'"),
        ("GRANT SELECT ON TABLE t TO ?", ["alice"], "GRANT SELECT ON TABLE t TO 'alice'"),
    ],
)
def test_parameters_are_bound_as_literals(text, params, printed):
    assert generate(parse_one_with(text, params)) == printed


def test_parameters_are_bound_across_the_statements_of_a_script():
    trees = parse("SELECT ? AS a; SELECT ? AS b", [1, 2])
    assert [generate(t) for t in trees] == ["SELECT 1 AS a", "SELECT 2 AS b"]


def test_parsing_the_same_text_twice_binds_fresh_values():
    assert generate(parse_one_with("SELECT ? AS a", [1])) == "SELECT 1 AS a"
    assert generate(parse_one_with("SELECT ? AS a", [2])) == "SELECT 2 AS a"


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("SELECT ? AS a", None),
        ("SELECT ? AS a", []),
        ("SELECT ? AS a, ? AS b", [1]),
        ("SELECT ? AS a", [1, 2]),
        ("SELECT 1 AS a", [1]),
        ("SELECT 1 AS a", {"x": 1}),
        ("SELECT :x AS a", None),
        ("SELECT :x AS a", {"y": 1}),
        ("SELECT :x AS a, :y AS b", {"x": 1}),
        ("SELECT :x AS a", [1]),
        ("SELECT ? AS a", {"x": 1}),
        ("SELECT ? AS a", [object()]),
        ("SELECT ? AS a", [[1, 2]]),
    ],
)
def test_parameter_mismatches_are_unbound_parameter_errors(text, params):
    with pytest.raises(catalog.SqlError) as raised:
        parse(text, params)
    assert raised.value.error_code == "UNBOUND_SQL_PARAMETER"


def test_a_missing_named_parameter_is_named():
    with pytest.raises(catalog.SqlError) as raised:
        parse("SELECT :wanted AS a", {"other": 1})
    assert raised.value.error_code == "UNBOUND_SQL_PARAMETER"
    assert ":wanted" in raised.value.message


INJECTIONS = [
    "x'; DROP TABLE main.ml.t; --",
    "' OR '1'='1",
    "a\\'; DELETE FROM main.ml.t; --",
    '"; DROP CATALOG main CASCADE; --',
    "$$; DROP TABLE main.ml.t; $$",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_bound_string_is_one_literal_and_cannot_change_the_statement(value):
    trees = parse("SELECT * FROM main.ml.t WHERE s = ?", [value])
    assert len(trees) == 1
    (literal,) = [lit for lit in trees[0].find_all(exp.Literal) if lit.is_string]
    assert literal.name == value
    assert not list(trees[0].find_all(exp.Drop, exp.Delete))


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_bound_string_is_stored_and_matched_literally(cat, value):
    inserted = cat.sql("INSERT INTO main.ml.t VALUES (?, ?)", [99, value])
    try:
        assert inserted["num_affected_rows"].tolist() == [1]
        matched = cat.sql("SELECT a, s FROM main.ml.t WHERE s = :s", {"s": value})
        assert matched.values.tolist() == [[99, value]]
        assert cat.sql("SELECT count(*) AS n FROM main.ml.t")["n"].tolist() == [3]
        assert cat.sql("SHOW CATALOGS")["catalog"].tolist() == ["main", "system"]
    finally:
        cat.sql("DELETE FROM main.ml.t WHERE a = 99")


def test_a_bound_principal_name_is_one_name(cat):
    cat.sql("GRANT SELECT ON TABLE main.ml.t TO ?", ["alice"])
    try:
        grants = cat.sql("SHOW GRANTS alice ON TABLE main.ml.t")
        assert ("alice", "SELECT", "main.ml.t") in set(
            zip(grants["principal"], grants["action_type"], grants["object_key"], strict=True)
        )
        with pytest.raises(catalog.NotFound) as raised:
            cat.sql("GRANT SELECT ON TABLE main.ml.t TO ?", ["alice; DROP TABLE main.ml.t"])
        assert raised.value.error_code == "PRINCIPAL_DOES_NOT_EXIST"
        assert cat.sql("SELECT count(*) AS n FROM main.ml.t")["n"].tolist() == [2]
    finally:
        cat.sql("REVOKE SELECT ON TABLE main.ml.t FROM alice")
