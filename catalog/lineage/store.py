"""Lineage in the metastore: events whole, their edges, and the distinct links graph walks follow."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import duckdb
import pytz

from catalog.lineage.events import DatasetRef

_BATCH = 250  # rows per INSERT: one statement per batch keeps DuckDB's per-statement cost low
_FEW = 16  # names looked up with an IN list; more go through one join


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
        if len(names) <= _FEW:  # a short IN list costs less than building the join
            marks = ", ".join("?" * len(names))
            query = f"SELECT source_name, target_name FROM meta.lineage_links WHERE {near} IN ({marks})"
            rows = self.cursor.execute(query, names).fetchall()
        else:  # one hash join against the whole level, however wide (not a query per 1,000 names)
            rows = self.cursor.execute(
                f"""
                SELECT l.source_name, l.target_name
                FROM meta.lineage_links l SEMI JOIN (SELECT unnest($names::VARCHAR[]) AS name) wanted
                    ON l.{near} = wanted.name
                """,
                {"names": names},
            ).fetchall()
        return [Link(s, t) for s, t in rows]

    def edge_details(self, links: Sequence[Link]) -> dict[tuple[str, str], tuple[str, str, datetime, int]]:
        """For each link: source type, target type, last event time and the number of runs."""
        if not links:
            return {}
        rows = self.cursor.execute(
            """
            SELECT e.source_name, e.target_name, arg_max(e.source_type, e.event_time),
                   arg_max(e.target_type, e.event_time), timezone('UTC', max(e.event_time)),
                   count(DISTINCT e.entity_run_id)
            FROM meta.lineage_edges e
            SEMI JOIN (SELECT unnest($sources::VARCHAR[]) AS s, unnest($targets::VARCHAR[]) AS t) wanted
                ON e.source_name = wanted.s AND e.target_name = wanted.t
            WHERE e.source_column IS NULL
            GROUP BY e.source_name, e.target_name
            """,
            {"sources": [link.source for link in links], "targets": [link.target for link in links]},
        ).fetchall()
        # The times come as UTC wall times and get the session's time zone here, as DuckDB would
        # give it: DuckDB's own conversion looks the zone up for every value, which made fetching
        # the details of 200k links about 1.4x slower.
        zone = _time_zone(self.cursor)
        return {(s, t): (st, tt, when.replace(tzinfo=UTC).astimezone(zone), runs) for s, t, st, tt, when, runs in rows}


def _time_zone(cursor: duckdb.DuckDBPyConnection) -> tzinfo:
    (name,) = cursor.execute("SELECT current_setting('TimeZone')").fetchone()
    return pytz.timezone(name)


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
