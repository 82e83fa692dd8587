"""Column metadata: read a DuckDB relation's shape and name its types the Databricks way."""

from __future__ import annotations

import re
from functools import lru_cache

import duckdb
from sqlglot import exp
from sqlglot.errors import ParseError

from catalog.store.metastore import Column

_SPACE_AFTER_SEPARATOR = re.compile(r"([,:])\s+")


@lru_cache(maxsize=256)
def databricks_type(duckdb_type: str) -> str:
    """``VARCHAR`` -> ``STRING``, ``INTEGER`` -> ``INT``, ``TIMESTAMP WITH TIME ZONE`` -> ``TIMESTAMP``."""
    try:
        printed = exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect="databricks")
    except (ParseError, ValueError):
        printed = duckdb_type.upper()
    return _SPACE_AFTER_SEPARATOR.sub(r"\1", printed)  # DECIMAL(10,2), STRUCT<A:INT,B:STRING>


def describe(cursor: duckdb.DuckDBPyConnection, relation_sql: str) -> list[Column]:
    """The columns of a table name or a query, as DuckDB sees them."""
    rows = cursor.execute(f"DESCRIBE {relation_sql}").fetchall()
    return [Column(name, databricks_type(kind), nullable != "NO") for name, kind, nullable, *_ in rows]


def merge_comments(columns: list[Column], comments: dict[str, str | None]) -> list[Column]:
    """Carry column comments over by (case-insensitive) name."""
    lowered = {k.lower(): v for k, v in comments.items()}
    return [Column(c.name, c.data_type, c.nullable, lowered.get(c.name.lower(), c.comment)) for c in columns]
