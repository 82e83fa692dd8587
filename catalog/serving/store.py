"""Rows of the serving tables (sql/metastore/0009_serving.sql): plain data access, no decisions.

The endpoint itself is a securable (meta.securables); this store keeps its configuration, the
history of what it served (one row per served entity per configuration) and its request log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from catalog.serving.config import EndpointConfig

READY = "READY"
NOT_READY = "NOT_READY"
NOT_UPDATING = "NOT_UPDATING"
UPDATE_FAILED = "UPDATE_FAILED"
ENTITY_TYPE = "CUSTOM_MODEL"


@dataclass(frozen=True)
class EndpointRow:
    endpoint_id: str
    config_version: int
    config: EndpointConfig
    ready: str
    config_update: str
    update_message: str | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class ResolvedEntity:
    """A served entity with the registered model version it names."""

    name: str
    model_id: str
    digest: str


@dataclass(frozen=True)
class RequestRow:
    """One invocation, for system.serving.endpoint_usage."""

    request_id: str
    client_request_id: str | None
    endpoint_id: str
    endpoint_name: str
    served_entity_id: str | None
    served_entity_name: str | None
    requester: str
    status_code: int
    error_code: str | None
    request_time: datetime
    duration_ms: float
    input_rows: int


_ENDPOINT_COLUMNS = (
    "endpoint_id, config_version, config, ready, config_update, update_message, created_by, created_at, "
    "updated_by, updated_at"
)


class ServingStore:
    """Reads and writes serving rows on one cursor, inside the caller's transaction."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor

    # -- endpoints ---------------------------------------------------------------------------
    def endpoint(self, endpoint_id: str) -> EndpointRow | None:
        rows = self.cursor.execute(
            f"SELECT {_ENDPOINT_COLUMNS} FROM meta.serving_endpoints WHERE endpoint_id = ?", [endpoint_id]
        ).fetchall()
        return _endpoint(rows[0]) if rows else None

    def endpoints(self, endpoint_ids: Sequence[str]) -> dict[str, EndpointRow]:
        if not endpoint_ids:
            return {}
        rows = self.cursor.execute(
            f"SELECT {_ENDPOINT_COLUMNS} FROM meta.serving_endpoints WHERE endpoint_id IN (SELECT unnest(?))",
            [list(endpoint_ids)],
        ).fetchall()
        return {row[0]: _endpoint(row) for row in rows}

    def insert_endpoint(self, endpoint_id: str, config: EndpointConfig, actor: str, at: datetime) -> None:
        self.cursor.execute(
            f"INSERT INTO meta.serving_endpoints ({_ENDPOINT_COLUMNS}) VALUES (?, 1, ?, ?, ?, NULL, ?, ?, ?, ?)",
            [endpoint_id, json.dumps(config.to_json()), READY, NOT_UPDATING, actor, at, actor, at],
        )

    def update_endpoint(self, endpoint_id: str, config: EndpointConfig, actor: str, at: datetime) -> int:
        """Make ``config`` the one served; returns its config version."""
        rows = self.cursor.execute(
            "UPDATE meta.serving_endpoints SET config_version = config_version + 1, config = ?, ready = ?, "
            "config_update = ?, update_message = NULL, updated_by = ?, updated_at = ? WHERE endpoint_id = ? "
            "RETURNING config_version",
            [json.dumps(config.to_json()), READY, NOT_UPDATING, actor, at, endpoint_id],
        ).fetchall()
        return int(rows[0][0])

    def delete_endpoint(self, endpoint_id: str, at: datetime) -> None:
        self.cursor.execute("DELETE FROM meta.serving_endpoints WHERE endpoint_id = ?", [endpoint_id])
        self.cursor.execute(
            "UPDATE meta.served_entities SET endpoint_delete_time = ? WHERE endpoint_id = ? "
            "AND endpoint_delete_time IS NULL",
            [at, endpoint_id],
        )

    # -- served entities ---------------------------------------------------------------------
    def record_served_entities(
        self,
        endpoint_id: str,
        endpoint_name: str,
        config_version: int,
        config: EndpointConfig,
        resolved: dict[str, ResolvedEntity],
        actor: str,
        at: datetime,
    ) -> dict[str, str]:
        """Add the history rows of a configuration taking effect; returns name -> served_entity_id."""
        shares = config.percentages()
        ids = {}
        for entity in config.served_entities:
            name = str(entity.name)
            ids[name] = uuid.uuid4().hex
            self.cursor.execute(
                "INSERT INTO meta.served_entities VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                [
                    ids[name],
                    endpoint_id,
                    endpoint_name,
                    config_version,
                    name,
                    ENTITY_TYPE,
                    entity.entity_name,
                    entity.entity_version,
                    resolved[name].model_id,
                    resolved[name].digest,
                    shares[name],
                    entity.scale_to_zero_enabled,
                    entity.workload_size,
                    json.dumps(entity.model_dump(mode="json", exclude_none=True)),
                    actor,
                    at,
                ],
            )
        return ids

    def served_entity_ids(self, endpoint_id: str, config_version: int) -> dict[str, str]:
        """served entity name -> served_entity_id for one configuration of an endpoint."""
        rows = self.cursor.execute(
            "SELECT served_entity_name, served_entity_id FROM meta.served_entities "
            "WHERE endpoint_id = ? AND endpoint_config_version = ?",
            [endpoint_id, config_version],
        ).fetchall()
        return dict(rows)

    def served_digests(self, endpoint_id: str, config_version: int) -> dict[str, ResolvedEntity]:
        rows = self.cursor.execute(
            "SELECT served_entity_name, model_id, digest FROM meta.served_entities "
            "WHERE endpoint_id = ? AND endpoint_config_version = ?",
            [endpoint_id, config_version],
        ).fetchall()
        return {name: ResolvedEntity(name, model_id, digest) for name, model_id, digest in rows}

    def serving(self, model_id: str, version: int | None = None) -> list[tuple[str, str, str]]:
        """(endpoint, served entity, version) for each current configuration serving the model
        (that version of it, when given)."""
        rows = self.cursor.execute(
            "SELECT se.endpoint_name, se.served_entity_name, se.entity_version FROM meta.served_entities se "
            "JOIN meta.serving_endpoints ep ON ep.endpoint_id = se.endpoint_id "
            "AND ep.config_version = se.endpoint_config_version "
            "WHERE se.model_id = ? AND (CAST(? AS VARCHAR) IS NULL OR se.entity_version = CAST(? AS VARCHAR)) "
            "ORDER BY 1, 2",
            [model_id, version, version],
        ).fetchall()
        return [(str(e), str(n), str(v)) for e, n, v in rows]

    # -- requests ----------------------------------------------------------------------------
    def insert_requests(self, rows: Sequence[RequestRow]) -> None:
        """Add request rows in one statement (a frame: thousands of rows cost one insert)."""
        if not rows:
            return
        import pandas as pd

        from catalog.store.database import registered

        def column(values: list[Any]) -> pd.Series:
            return pd.Series(values, dtype="object")

        frame = pd.DataFrame(
            {
                "databricks_request_id": [r.request_id for r in rows],
                "client_request_id": column([r.client_request_id for r in rows]),
                "endpoint_id": [r.endpoint_id for r in rows],
                "endpoint_name": [r.endpoint_name for r in rows],
                "served_entity_id": column([r.served_entity_id for r in rows]),
                "served_entity_name": column([r.served_entity_name for r in rows]),
                "requester": [r.requester for r in rows],
                "status_code": [int(r.status_code) for r in rows],
                "error_code": column([r.error_code for r in rows]),
                "request_time": pd.to_datetime([r.request_time for r in rows], utc=True),
                "execution_duration_ms": [float(r.duration_ms) for r in rows],
                "input_rows": [int(r.input_rows) for r in rows],
            }
        )
        with registered(self.cursor, {"__requests": frame}):
            self.cursor.execute("INSERT INTO meta.serving_requests BY NAME SELECT * FROM __requests")


def _endpoint(row: Sequence[Any]) -> EndpointRow:
    return EndpointRow(
        endpoint_id=row[0],
        config_version=int(row[1]),
        config=EndpointConfig.model_validate(json.loads(row[2])),
        ready=row[3],
        config_update=row[4],
        update_message=row[5],
        created_by=row[6],
        created_at=row[7],
        updated_by=row[8],
        updated_at=row[9],
    )
