"""Turn DuckDB exceptions into CatalogErrors a user can act on.

DuckDB messages can quote the rewritten statement (physical table names, system-table SQL) and
suggest other tables' names; none of that may reach the user, so messages are cut to their
first sentence-level part and physical names are mapped back to catalog names.
"""

from __future__ import annotations

import re

import duckdb

from catalog.errors import CatalogError, InvalidRequest, SqlError

_CODES: tuple[tuple[type[duckdb.Error], str], ...] = (
    (duckdb.ParserException, "PARSE_SYNTAX_ERROR"),
    (duckdb.BinderException, "ANALYSIS_ERROR"),
    (duckdb.CatalogException, "ANALYSIS_ERROR"),
    (duckdb.ConversionException, "CAST_INVALID_INPUT"),
    (duckdb.ConstraintException, "CONSTRAINT_VIOLATION"),
    (duckdb.OutOfRangeException, "ARITHMETIC_OVERFLOW"),
    (duckdb.InvalidInputException, "INVALID_INPUT"),
    (duckdb.PermissionException, "UNSUPPORTED_FUNCTION"),
    (duckdb.NotImplementedException, "UNSUPPORTED_FEATURE"),
    (duckdb.TransactionException, "CONCURRENT_MODIFICATION"),
)

_PHYSICAL = re.compile(r'(?:"?managed"?\.)?"?(t_[0-9a-f]{32})"?')
_CTE = re.compile(r"__cte\d+_(\w+)")


def translate(exc: duckdb.Error, physical_names: dict[str, str] | None = None) -> CatalogError:
    """A SqlError for ``exc`` whose message names catalog objects, not DuckDB internals."""
    code = next((c for kind, c in _CODES if isinstance(exc, kind)), "SQL_EXECUTION_ERROR")
    message = str(exc).split("\nLINE ")[0].split("\nDid you mean")[0].strip()
    message = re.sub(r"^[A-Za-z ]+ Error: ", "", message)
    names = physical_names or {}
    message = _PHYSICAL.sub(lambda m: names.get(m.group(1), "a table"), message)
    message = _CTE.sub(lambda m: m.group(1), message)
    message = message.replace("\n", " ")
    if code == "CONCURRENT_MODIFICATION":
        return InvalidRequest(f"{message}. Another write changed the same data; retry the statement.", error_code=code)
    return SqlError(message, error_code=code)
