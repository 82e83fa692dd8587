"""Lineage in the metastore: events whole, their edges, and the distinct links graph walks follow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from catalog.lineage.events import DatasetRef
from catalog.store.database import fetch_frame, registered

_BATCH = 250  # rows per INSERT: one statement per batch keeps DuckDB's per-statement cost low


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    run_id: str
    event_type: str
    event_time: datetime
    job_namespace: str
    job_name: str
    entity_type: str
    created_by: str
    json: str


@dataclass(frozen=True)
class Edge:
    """``source`` feeds ``target``; with column names, a column-level edge."""

    source: DatasetRef
    target: DatasetRef
    source_column: str | None = None
    target_column: str | None = None


class LineageStore:
    """Reads and writes the lineage tables on one cursor (inside the caller's transaction)."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor

    def save(self, events: Sequence[StoredEvent], edges: Sequence[Edge], *, edge_event: StoredEvent | None) -> None:
        """Store ``events``; attach ``edges`` to ``edge_event`` (the run's COMPLETE event)."""
        _insert(
            self.cursor,
            "meta.lineage_events",
            [
                (
                    e.event_id,
                    e.run_id,
                    e.event_type,
                    e.event_time,
                    e.job_namespace,
                    e.job_name,
                    e.entity_type,
                    e.created_by,
                    e.json,
                )
                for e in events
            ],
        )
        if edge_event is None or not edges:
            return
        _insert(
            self.cursor,
            "meta.lineage_edges",
            [
                (
                    uuid.uuid4().hex,
                    edge_event.event_id,
                    edge_event.entity_type,
                    edge_event.job_name,
                    edge_event.run_id,
                    edge.source.key,
                    edge.source.type,
                    edge.source_column,
                    edge.target.key,
                    edge.target.type,
                    edge.target_column,
                    edge_event.created_by,
                    edge_event.event_time,
                )
                for edge in edges
            ],
        )
        links = sorted({(e.source.key, e.target.key) for e in edges if e.source_column is None})
        _insert(self.cursor, "meta.lineage_links", links, or_ignore=True)

    def rename(self, old: str, new: str) -> None:
        """A catalog object was renamed: its edges and links follow it (the stored events keep
        the name they were recorded with)."""
        for end in ("source_name", "target_name"):
            self.cursor.execute(f"UPDATE meta.lineage_edges SET {end} = ? WHERE {end} = ?", [new, old])
        self.cursor.execute(
            """
            INSERT OR IGNORE INTO meta.lineage_links
            SELECT CASE WHEN source_name = $old THEN $new ELSE source_name END,
                   CASE WHEN target_name = $old THEN $new ELSE target_name END
            FROM meta.lineage_links WHERE source_name = $old OR target_name = $old
            """,
            {"old": old, "new": new},
        )
        self.cursor.execute(
            "DELETE FROM meta.lineage_links WHERE source_name = $old OR target_name = $old", {"old": old}
        )

    def closure(self, root: str, *, upstream: bool, depth: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Everything reachable from ``root`` (upstream: what feeds it; downstream: what it
        feeds), ``depth`` hops at most.

        Returns ``nodes`` (name, depth: the fewest hops from the root) and ``edges`` (source,
        target, source_type, target_type, last_event_time, runs) among them. One recursive
        query walks the links breadth first, keyed by node so that each is kept once, at its
        first (shortest) depth, and never expanded again: cycles end.
        """
        near, far = ("target_name", "source_name") if upstream else ("source_name", "target_name")
        nodes = self.cursor.sql(
            f"""
            WITH RECURSIVE walk(name, depth) USING KEY (name) AS (
                SELECT $root::VARCHAR, 0
                UNION
                SELECT l.{far}, w.depth + 1
                FROM walk w JOIN meta.lineage_links l ON l.{near} = w.name
                WHERE ($depth IS NULL OR w.depth < $depth)
                  AND l.{far} NOT IN (SELECT name FROM recurring.walk)
            )
            SELECT name, depth FROM walk ORDER BY depth, name
            """,
            params={"root": root, "depth": depth},
        ).to_arrow_table()
        with registered(self.cursor, {"__walk": nodes}):
            edges = fetch_frame(
                self.cursor,
                f"""
                WITH links AS (
                    SELECT l.source_name, l.target_name
                    FROM meta.lineage_links l
                    JOIN __walk n ON n.name = l.{near} AND ($depth IS NULL OR n.depth < $depth)
                    SEMI JOIN __walk f ON f.name = l.{far}
                )
                SELECT e.source_name AS source, e.target_name AS target,
                       arg_max(e.source_type, e.event_time) AS source_type,
                       arg_max(e.target_type, e.event_time) AS target_type,
                       timezone('UTC', max(e.event_time)) AS last_event_time,
                       count(DISTINCT e.entity_run_id) AS runs
                FROM meta.lineage_edges e
                SEMI JOIN links ON e.source_name = links.source_name AND e.target_name = links.target_name
                WHERE e.source_column IS NULL
                GROUP BY e.source_name, e.target_name
                ORDER BY source, target
                """,
                params={"depth": depth},
            )
        # Times come as UTC wall times and become UTC timestamps here, in one vectorised step
        # (DuckDB's own conversion looks the zone up for every value: seconds at 1M links).
        edges["last_event_time"] = pd.to_datetime(edges["last_event_time"]).dt.tz_localize("UTC")
        return nodes.to_pandas(), edges


def _insert(cursor: duckdb.DuckDBPyConnection, table: str, rows: Sequence[tuple[Any, ...]], *, or_ignore=False) -> None:
    if not rows:
        return
    verb = "INSERT OR IGNORE INTO" if or_ignore else "INSERT INTO"
    width = len(rows[0])
    row_marks = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(rows), _BATCH):
        chunk = rows[start : start + _BATCH]
        cursor.execute(
            f"{verb} {table} VALUES {', '.join([row_marks] * len(chunk))}",
            [value for row in chunk for value in row],
        )
