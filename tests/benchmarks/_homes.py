"""The catalog home (and raw DuckDB baseline) the read benchmarks share: tables in main.bench, and alice reading them
through a group grant on the schema (the path a real reader's request takes)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

import catalog


def build_reader_home(home: Path, data: dict[str, pd.DataFrame]) -> None:
    """Create ``home`` with a table per frame of ``data`` and alice in group readers, who may read them."""
    with catalog.connect(home, user="admin") as admin:
        admin.sql("CREATE CATALOG main")
        admin.sql("CREATE SCHEMA main.bench")
        for name, frame in data.items():
            admin.create_table(f"main.bench.{name}", frame)
        admin.sql("CREATE USER alice")
        admin.sql("CREATE GROUP readers")
        admin.sql("ALTER GROUP readers ADD USER alice")
        admin.sql("GRANT USE CATALOG ON CATALOG main TO readers")
        admin.sql("GRANT USE SCHEMA, SELECT ON SCHEMA main.bench TO readers")


def raw_database(path: Path, data: dict[str, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    """The baseline: a plain DuckDB file with a table per frame of ``data``, no catalog."""
    raw = duckdb.connect(str(path))
    for name, frame in data.items():
        raw.register("frame", frame)
        raw.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        raw.unregister("frame")
    return raw
