"""Open the DuckDB file of a catalog home with the sandbox switched on.

The settings below are DuckDB's own defences for user SQL: no file or network access, no
extension installs or loads, no Python-variable scans, and a locked configuration so that no
statement can switch them back. The engine never needs any of these for its own work.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from catalog.errors import HomeLocked, InvalidRequest

DATABASE_FILE = "catalog.duckdb"

SANDBOX_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,
    "allow_community_extensions": False,
}


def open_database(home: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the home's database file; raise HomeLocked if another process holds it."""
    if home.exists() and not home.is_dir():
        raise InvalidRequest(f"The catalog home '{home}' exists but is not a directory.")
    home.mkdir(parents=True, exist_ok=True)
    path = home / DATABASE_FILE
    try:
        connection = duckdb.connect(str(path), config=SANDBOX_CONFIG)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise InvalidRequest(f"Cannot open the catalog home '{home}': {exc}") from exc
        raise HomeLocked(
            f"The catalog home '{home}' is open in another process. DuckDB allows one process per "
            f"home: run `catalog --home {home} server` there and connect to it with "
            "catalog.connect('http://HOST:PORT', token=...) instead.",
        ) from exc
    connection.execute("SET lock_configuration = true")
    return connection


@contextmanager
def transaction(cursor: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT around a block; ROLLBACK if it raises."""
    cursor.begin()
    try:
        yield
    except BaseException:
        with suppress(duckdb.TransactionException):  # DuckDB may have ended it already
            cursor.rollback()
        raise
    cursor.commit()


@contextmanager
def registered(cursor: duckdb.DuckDBPyConnection, relations: Mapping[str, Any]) -> Iterator[None]:
    """Expose DataFrames or Arrow tables to SQL on ``cursor`` under the given names, for one block.

    Registration is transactional in DuckDB: if the block's statement aborted the transaction,
    unregistering fails and the coming rollback removes the names instead.
    """
    for name, data in relations.items():
        cursor.register(name, data)
    try:
        yield
    finally:
        for name in relations:
            # In an aborted transaction unregistering fails; the rollback drops the name instead.
            with suppress(duckdb.TransactionException):
                cursor.unregister(name)


def fetch_frame(cursor: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> pd.DataFrame:
    """Run a query and return its rows as pandas.

    duckdb's pandas conversion of TIMESTAMP WITH TIME ZONE calls a pandas API that pandas 3
    deprecates; the warning is about duckdb's internals, not the caller's code, so it is
    silenced here (and only here).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.drop is deprecated")
        return cursor.execute(sql, params).df()


def quote_identifier(name: str) -> str:
    """A column or table name as a DuckDB quoted identifier, inner quotes doubled: safe to splice."""
    return '"' + str(name).replace('"', '""') + '"'


# Parsed statements by SQL text. DuckDB's parser costs ~0.3 ms for a query of a few joins, about
# a sixth of a small search. A parsed statement is still bound and planned on every run, so it
# stays right whatever changed in between; each run takes its own copy of it (DuckDB copies the
# statement it is given), so one parse serves every cursor and thread. Dropped whole past
# _MAX_PARSED texts.
_PARSED: dict[str, Any] = {}
_MAX_PARSED = 256


def execute_parsed(cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> duckdb.DuckDBPyConnection:
    """``cursor.execute(sql, params)`` for SQL that the engine itself writes and runs often,
    parsed once per process. (Never for user SQL: that goes through the sandbox.)"""
    statement = _PARSED.get(sql)
    if statement is None:
        (statement,) = cursor.extract_statements(sql)
        if len(_PARSED) >= _MAX_PARSED:
            _PARSED.clear()
        _PARSED[sql] = statement
    return cursor.execute(statement, params)
