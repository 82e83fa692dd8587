"""Refuse anything in user SQL that could reach past the catalog: files, settings, raw SQL.

This pass runs on the parsed tree, before names are resolved. It is the first of three walls:
every table name must then resolve through the catalog (resolve.py), and DuckDB itself runs
with external access off and its configuration locked (store/database.py).

Functions are checked by allowlist, not by denylist:
- in a table position (FROM, JOIN, LATERAL) only row generators are allowed, because DuckDB's
  table functions and table macros read files, the database's own catalog, or any table named
  in a string argument;
- elsewhere, a function sqlglot does not know passes through to DuckDB by name, so it must be
  one of DuckDB's own scalar, aggregate or window functions, minus those that read settings,
  variables, the catalog or bind SQL text (``DANGEROUS``); a function sqlglot knows is refused
  if sqlglot would print it as one of those.
"""

from __future__ import annotations

import re
from functools import cache

import duckdb
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from catalog.errors import InvalidName, SqlError

# Row generators allowed in FROM / JOIN / LATERAL.
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest", "explode", "posexplode"})
TABLE_FUNCTION_NODES = (
    exp.Explode, exp.Posexplode, exp.ExplodeOuter, exp.Unnest, exp.Inline, exp.GenerateSeries,
)  # fmt: skip

# Evaluated by the planner for the querying principal (rewrite.substitute_session_functions).
SESSION_FUNCTION_NODES = (exp.CurrentUser, exp.CurrentCatalog, exp.CurrentSchema, exp.CurrentDatabase)
SESSION_FUNCTIONS = frozenset(
    {"current_user", "session_user", "user", "current_catalog", "current_schema", "current_database",
     "is_account_group_member", "is_member"}
)  # fmt: skip

# DuckDB functions (by DuckDB name) that read settings, variables, sequences, logs, the
# database's own catalog, or parse/bind SQL text given as a string.
DANGEROUS = frozenset(
    {"current_setting", "getvariable", "current_query", "current_query_id", "current_connection_id",
     "current_transaction_id", "txid_current", "current_database", "current_schema", "current_schemas",
     "current_catalog", "current_role", "current_user", "session_user", "user", "in_search_path",
     "json_serialize_plan", "json_serialize_sql", "json_deserialize_sql", "json_execute_serialized_sql",
     "nextval", "currval", "setval", "version", "platform", "sleep_ms", "write_log",
     "parse_duckdb_log_message", "stats", "get_block_size", "getenv", "query", "query_table"}
)  # fmt: skip

FORBIDDEN_STATEMENTS = (
    exp.Pragma, exp.Set, exp.Copy, exp.Attach, exp.Detach, exp.Export, exp.Command,
    exp.Transaction, exp.Commit, exp.Rollback, exp.Install, exp.LoadData,
)  # fmt: skip

_CALL = re.compile(r"\s*([A-Za-z_]\w*)\s*\(")


@cache
def duckdb_functions() -> frozenset[str]:
    """DuckDB's built-in scalar, aggregate and window functions (schema main), minus DANGEROUS."""
    with duckdb.connect() as connection:
        rows = connection.execute(
            "SELECT DISTINCT function_name FROM duckdb_functions() WHERE schema_name = 'main' "
            "AND function_type IN ('scalar', 'aggregate', 'window', 'macro')"
        ).fetchall()
    return frozenset(n.lower() for (n,) in rows if not n.startswith("__")) - DANGEROUS


@cache
def dangerous_node_types() -> frozenset[type]:
    """sqlglot function classes that print as a DANGEROUS function (or a file reader) in DuckDB."""
    found: set[type] = {exp.ReadCSV, exp.ReadParquet, exp.ToFile}
    for cls in _subclasses(exp.Func):
        try:
            args = {k: exp.Literal.number(1) for k, required in cls.arg_types.items() if required}
            printed = cls(**args).sql(dialect="duckdb", unsupported_level=ErrorLevel.IGNORE)
        except Exception:
            continue
        match = _CALL.match(printed)
        if match and match.group(1).lower() in DANGEROUS | {"read_csv", "read_parquet", "read_json"}:
            found.add(cls)
    return frozenset(found)


def _subclasses(cls: type) -> set[type]:
    seen: set[type] = set()
    stack = [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return seen


def check(tree: exp.Expr) -> None:
    """Raise SqlError if the tree holds anything outside the sandbox."""
    if isinstance(tree, FORBIDDEN_STATEMENTS):
        raise SqlError(
            f"{type(tree).__name__.upper()} statements are not allowed in catalog SQL.",
            error_code="UNSUPPORTED_STATEMENT",
        )
    table_positions: set[int] = set()
    for node in tree.walk():
        if isinstance(node, exp.Table | exp.Lateral):
            _check_source(node)
            if isinstance(node.this, exp.Func):
                table_positions.add(id(node.this))
        elif isinstance(node, exp.Func) and id(node) not in table_positions:
            _check_function(node)


def _check_source(node: exp.Table | exp.Lateral) -> None:
    """What may stand in a FROM / JOIN / LATERAL position: a name, a subquery, or a row generator."""
    source = node.this
    if isinstance(node, exp.Table):
        if source is None:  # a schema name, as in CREATE SCHEMA main.ml
            return
        alias = node.args.get("alias")
        if (
            node.args.get("version")
            or node.args.get("when")
            or (alias and not isinstance(alias.this, exp.Identifier | None))
        ):
            raise SqlError(f"Time travel on '{node.name}' is not supported.", error_code="UNSUPPORTED_FEATURE")
        if isinstance(source, exp.Identifier):
            return
    elif isinstance(source, exp.Subquery | exp.Query):
        return
    name = source.name.lower() if isinstance(source, exp.Anonymous) else ""
    if isinstance(source, TABLE_FUNCTION_NODES) or name in TABLE_FUNCTIONS:
        for argument in source.iter_expressions():
            for inner in argument.walk():
                if isinstance(inner, exp.Func):
                    _check_function(inner)
        return
    if isinstance(source, exp.Dot):
        raise InvalidName(f"'{node.sql()}' has more than three name parts; use catalog.schema.name.")
    shown = source.name if isinstance(source, exp.Anonymous) else source.sql(dialect="databricks")[:40]
    raise SqlError(
        f"'{shown}' is not allowed in FROM: catalog SQL reads only catalog tables, views and row "
        "generators (range, explode, unnest). Load files into a table with the Python client.",
        error_code="UNSUPPORTED_TABLE_FUNCTION",
    )


def _check_function(node: exp.Func) -> None:
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc):
        name = node.name.lower()
        if name in SESSION_FUNCTIONS or name in duckdb_functions():
            return
        raise SqlError(
            f"The function '{node.name}' is not available in catalog SQL (it is unknown, or it reads "
            "settings, files or the database's own catalog).",
            error_code="UNSUPPORTED_FUNCTION",
        )
    if isinstance(node, SESSION_FUNCTION_NODES):
        return
    if type(node) in dangerous_node_types():
        raise SqlError(
            f"The function '{node.sql_name().lower()}' is not allowed in catalog SQL: it reads "
            "settings, files or the database's own catalog.",
            error_code="UNSUPPORTED_FUNCTION",
        )
