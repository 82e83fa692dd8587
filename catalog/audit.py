"""The audit log: one row per statement or API call, allowed or denied.

Rows follow the columns of Databricks' ``system.access.audit`` so that audit queries written
for Databricks run here. Each row also keeps the authorization decisions behind the outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from catalog.authz.index import Decision

SERVICE_NAME = "unityCatalog"

_INSERT = """
INSERT INTO meta.audit_log VALUES (
    ?, ?, ?, ?, ?, ?, ?,
    {'email': ?, 'subject_name': ?},
    ?, ?, ?,
    map(?::VARCHAR[], ?::VARCHAR[]),
    {'status_code': ?, 'error_message': ?, 'result': ?},
    ?, ?
)
"""


@dataclass
class AuditEvent:
    """What happened, who asked, and how it ended."""

    principal: str
    action_name: str
    request_params: dict[str, str] = field(default_factory=dict)
    status_code: int = 200
    error_message: str | None = None
    result: str | None = None
    decisions: list[Decision] = field(default_factory=list)
    service_name: str = SERVICE_NAME
    session_id: str | None = None
    source_ip_address: str | None = None
    user_agent: str | None = None


def record(cursor: duckdb.DuckDBPyConnection, workspace_id: str, event: AuditEvent) -> str:
    """Insert one audit row on ``cursor`` (inside the caller's transaction) and return its id."""
    event_id = uuid.uuid4().hex
    stamp = datetime.now(UTC)
    params = {k: str(v) for k, v in event.request_params.items() if v is not None}
    cursor.execute(
        _INSERT,
        [
            event_id,
            stamp,
            stamp.date(),
            workspace_id,
            event.source_ip_address,
            event.user_agent,
            event.session_id,
            event.principal,
            event.principal,
            event.service_name,
            event.action_name,
            uuid.uuid4().hex,
            list(params),
            list(params.values()),
            event.status_code,
            event.error_message,
            event.result,
            "ACCOUNT_LEVEL" if event.service_name == "accounts" else "WORKSPACE_LEVEL",
            [str(d) for d in event.decisions],
        ],
    )
    return event_id
