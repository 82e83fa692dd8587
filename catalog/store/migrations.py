"""Bring a home's metastore schema up to date, one numbered SQL file at a time."""

from __future__ import annotations

import duckdb

from catalog.resources import resource_dir

SCHEMA_VERSION_KEY = "schema_version"


def _migrations() -> list[tuple[int, str]]:
    folder = resource_dir("sql") / "metastore"
    found = []
    for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append((int(path.name[:4]), path.read_text(encoding="utf-8")))
    return found


def current_version(connection: duckdb.DuckDBPyConnection) -> int:
    exists = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'info'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    rows = connection.execute("SELECT value FROM meta.info WHERE key = ?", [SCHEMA_VERSION_KEY]).fetchall()
    return int(rows[0][0]) if rows else 0


def migrate(connection: duckdb.DuckDBPyConnection, *, up_to: int | None = None) -> int:
    """Apply every migration newer than the home's version (and, with ``up_to``, no newer than
    that: how tests build a home as an older version left it), each in its own transaction."""
    version = current_version(connection)
    for number, script in _migrations():
        if number <= version or (up_to is not None and number > up_to):
            continue
        connection.execute("BEGIN")
        try:
            connection.execute(script)
            connection.execute("DELETE FROM meta.info WHERE key = ?", [SCHEMA_VERSION_KEY])
            connection.execute("INSERT INTO meta.info VALUES (?, ?)", [SCHEMA_VERSION_KEY, str(number)])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        version = number
    return version
