"""Refuse anything in user SQL that could reach past the catalog: files, settings, raw SQL.

This pass runs on the parsed tree, before names are resolved. It is the first of three walls:
every table name must then resolve through the catalog (resolve.py), and DuckDB itself runs
with external access off and its configuration locked (store/database.py).
"""

from __future__ import annotations

from sqlglot import exp

from catalog.errors import SqlError

# Table-valued functions allowed in FROM: they only generate rows.
ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series"})
ALLOWED_TABLE_FUNCTION_NODES = (exp.Explode, exp.Posexplode, exp.Unnest, exp.ExplodeOuter)

# Function nodes sqlglot models that read files or leave the sandbox.
FORBIDDEN_FUNCTION_NODES = (exp.ReadCSV, exp.ReadParquet, exp.ToFile)

# Functions (by name, lower-case) that would read settings, DuckDB's own catalog, variables,
# the environment, or execute SQL text. Prefixes cover whole families.
FORBIDDEN_FUNCTIONS = frozenset(
    {
        "current_setting",
        "getvariable",
        "getenv",
        "current_database",
        "current_schema",
        "current_schemas",
        "current_catalog",
        "current_query",
        "col_description",
        "obj_description",
        "shobj_description",
        "format_pg_type",
        "format_type",
        "query",
        "query_table",
        "json_execute_serialized_sql",
        "sql_auto_complete",
        "which_secret",
        "nextval",
        "currval",
        "setval",
        "enum_range",
        "enum_range_boundary",
        "enum_first",
        "enum_last",
        "enum_code",
        "identifier",
        "read_files",
        "checkpoint",
        "force_checkpoint",
        "glob",
        "sniff_csv",
        "parquet_scan",
        "parquet_metadata",
        "parquet_schema",
        "iceberg_scan",
        "delta_scan",
        "sqlite_scan",
        "postgres_scan",
        "mysql_scan",
        "sleep_ms",
        "txid_current",
        "version",
        "platform",
        "current_role",
        "user",
        "session_user",
    }
)
FORBIDDEN_PREFIXES = ("duckdb_", "pragma_", "read_", "pg_", "has_", "parquet_", "json_execute", "icu_")

FORBIDDEN_STATEMENTS = (
    exp.Pragma,
    exp.Set,
    exp.Copy,
    exp.Attach,
    exp.Detach,
    exp.Export,
    exp.Command,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Install,
    exp.LoadData,
)


def check(tree: exp.Expr) -> None:
    """Raise SqlError if the tree holds anything outside the sandbox."""
    if isinstance(tree, FORBIDDEN_STATEMENTS):
        raise SqlError(
            f"{type(tree).__name__.upper()} statements are not allowed in catalog SQL.",
            error_code="UNSUPPORTED_STATEMENT",
        )
    for node in tree.walk():
        if isinstance(node, exp.Table):
            _check_table(node)
        elif isinstance(node, FORBIDDEN_FUNCTION_NODES):
            _refuse_function(node.sql_name().lower())
        elif isinstance(node, exp.Anonymous | exp.AnonymousAggFunc):
            name = node.name.lower()
            if name in FORBIDDEN_FUNCTIONS or name.startswith(FORBIDDEN_PREFIXES):
                _refuse_function(name)
        elif isinstance(node, exp.Func) and node.sql_name().lower() in FORBIDDEN_FUNCTIONS:
            _refuse_function(node.sql_name().lower())


def _check_table(table: exp.Table) -> None:
    source = table.this
    if source is None:  # a schema name, as in CREATE SCHEMA main.ml
        return
    if isinstance(source, exp.Identifier):
        if table.args.get("version"):
            raise SqlError(f"Time travel (AS OF) on '{table.name}' is not supported.", error_code="UNSUPPORTED_FEATURE")
        return
    if isinstance(source, ALLOWED_TABLE_FUNCTION_NODES):
        return
    if isinstance(source, exp.Anonymous) and source.name.lower() in ALLOWED_TABLE_FUNCTIONS:
        return
    name = source.name if isinstance(source, exp.Anonymous) else type(source).__name__
    raise SqlError(
        f"The table function '{name}' is not allowed: catalog SQL reads only catalog tables. "
        "Load files into a table with the Python client (create_table / write_table).",
        error_code="UNSUPPORTED_TABLE_FUNCTION",
    )


def _refuse_function(name: str) -> None:
    raise SqlError(
        f"The function '{name}' is not allowed in catalog SQL: it reads settings, files or the database's own catalog.",
        error_code="UNSUPPORTED_FUNCTION",
    )
