"""Lineage in the metastore: events whole, their edges, and the distinct links graph walks follow."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from catalog.lineage.events import DatasetRef

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


@dataclass(frozen=True)
class Link:
    source: str
    target: str


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

    def neighbours(self, names: Iterable[str], *, upstream: bool) -> list[Link]:
        """The links into (upstream) or out of (downstream) any of ``names``."""
        names = list(names)
        if not names:
            return []
        near = "target_name" if upstream else "source_name"
        found: list[Link] = []
        for start in range(0, len(names), 1000):
            chunk = names[start : start + 1000]
            marks = ", ".join("?" * len(chunk))
            rows = self.cursor.execute(
                f"SELECT source_name, target_name FROM meta.lineage_links WHERE {near} IN ({marks})", chunk
            ).fetchall()
            found.extend(Link(s, t) for s, t in rows)
        return found

    def edge_details(self, links: Sequence[Link]) -> dict[tuple[str, str], tuple[str, str, datetime, int]]:
        """For each link: source type, target type, last event time and the number of runs."""
        if not links:
            return {}
        pairs = [(link.source, link.target) for link in links]
        details = {}
        for start in range(0, len(pairs), 500):
            chunk = pairs[start : start + 500]
            marks = ", ".join("(?, ?)" for _ in chunk)
            rows = self.cursor.execute(
                f"""
                SELECT e.source_name, e.target_name, arg_max(e.source_type, e.event_time),
                       arg_max(e.target_type, e.event_time), max(e.event_time), count(DISTINCT e.entity_run_id)
                FROM meta.lineage_edges e
                JOIN (VALUES {marks}) AS wanted(s, t) ON e.source_name = wanted.s AND e.target_name = wanted.t
                WHERE e.source_column IS NULL
                GROUP BY e.source_name, e.target_name
                """,
                [value for pair in chunk for value in pair],
            ).fetchall()
            details.update({(s, t): (st, tt, when, runs) for s, t, st, tt, when, runs in rows})
        return details


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
