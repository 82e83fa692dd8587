"""Plain reads and writes of the metastore tables; no rules, no authorization.

Callers own the transaction: every method runs on the cursor it was given, so a statement's
metadata changes, data changes and audit record commit or roll back together.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from catalog.names import FullName
from catalog.securables import Securable, SecurableType

_SECURABLE_COLUMNS = (
    "id, type, parent_id, full_name, owner, comment, created_at, created_by, updated_at, "
    "updated_by, storage_name, definition, properties"
)
# Timestamps come back as naive UTC: converting tz-aware values costs a pytz lookup per value,
# which dominated loading a large metastore.
_SECURABLE_SELECT = _SECURABLE_COLUMNS.replace("created_at", "timezone('UTC', created_at)").replace(
    "updated_at", "timezone('UTC', updated_at)"
)


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    nullable: bool = True
    comment: str | None = None


@dataclass(frozen=True)
class PrimaryKey:
    """A table's primary key: ``columns``, then the ``timeseries`` (timestamp) key columns."""

    name: str
    columns: tuple[str, ...]
    timeseries: tuple[str, ...] = ()

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.columns + self.timeseries


@dataclass(frozen=True)
class Grant:
    securable_id: str
    principal: str
    privilege: str
    granted_by: str


_TYPES = {t.value: t for t in SecurableType}


def _securable_from_row(row: Sequence[Any]) -> Securable:
    (
        sid,
        kind,
        parent,
        full_name,
        owner,
        comment,
        created_at,
        created_by,
        updated_at,
        updated_by,
        storage_name,
        definition,
        properties,
    ) = row
    securable_type = _TYPES[kind]
    # An experiment's full_name column holds its workspace path, which is not a dotted name.
    path = full_name if securable_type is SecurableType.EXPERIMENT else None
    return Securable(
        id=sid,
        type=securable_type,
        full_name=FullName(tuple(full_name.split("."))) if full_name and path is None else None,
        path=path,
        parent_id=parent,
        owner=owner,
        comment=comment,
        created_at=created_at,
        created_by=created_by,
        updated_at=updated_at,
        updated_by=updated_by,
        storage_name=storage_name,
        definition=definition,
        properties=json.loads(properties) if properties else {},
    )


class Metastore:
    """Data access over one DuckDB cursor."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor

    # -- info --------------------------------------------------------------------------------
    def get_info(self, key: str) -> str | None:
        rows = self.cursor.execute("SELECT value FROM meta.info WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else None

    def set_info(self, key: str, value: str) -> None:
        self.cursor.execute("DELETE FROM meta.info WHERE key = ?", [key])
        self.cursor.execute("INSERT INTO meta.info VALUES (?, ?)", [key, value])

    # -- principals --------------------------------------------------------------------------
    def principals(self) -> list[tuple[str, str, datetime, str]]:
        return self.cursor.execute(
            "SELECT name, kind, created_at, created_by FROM meta.principals ORDER BY name"
        ).fetchall()

    def principal_kinds(self) -> dict[str, str]:
        """Every principal's name and kind (USER or GROUP)."""
        return dict(self.cursor.execute("SELECT name, kind FROM meta.principals").fetchall())

    def insert_principal(self, name: str, kind: str, created_by: str) -> None:
        self.cursor.execute("INSERT INTO meta.principals VALUES (?, ?, ?, ?)", [name, kind, now(), created_by])

    def delete_principal(self, name: str) -> None:
        self.cursor.execute("DELETE FROM meta.principals WHERE name = ?", [name])
        self.cursor.execute("DELETE FROM meta.memberships WHERE group_name = ? OR member = ?", [name, name])
        self.cursor.execute("DELETE FROM meta.grants WHERE principal = ?", [name])

    def memberships(self) -> list[tuple[str, str]]:
        return self.cursor.execute(
            "SELECT group_name, member FROM meta.memberships ORDER BY group_name, member"
        ).fetchall()

    def add_member(self, group: str, member: str) -> None:
        self.cursor.execute("INSERT INTO meta.memberships VALUES (?, ?)", [group, member])

    def remove_member(self, group: str, member: str) -> None:
        self.cursor.execute("DELETE FROM meta.memberships WHERE group_name = ? AND member = ?", [group, member])

    # -- securables --------------------------------------------------------------------------
    def securables(self) -> list[Securable]:
        rows = self.cursor.execute(f"SELECT {_SECURABLE_SELECT} FROM meta.securables").fetchall()
        return [_securable_from_row(r) for r in rows]

    def get_securable(self, securable_id: str) -> Securable | None:
        rows = self.cursor.execute(
            f"SELECT {_SECURABLE_SELECT} FROM meta.securables WHERE id = ?", [securable_id]
        ).fetchall()
        return _securable_from_row(rows[0]) if rows else None

    def insert_securable(
        self,
        kind: SecurableType,
        full_name: FullName | None,
        parent_id: str | None,
        owner: str,
        *,
        comment: str | None = None,
        storage_name: str | None = None,
        definition: str | None = None,
        properties: dict[str, Any] | None = None,
        securable_id: str | None = None,
        path: str | None = None,
    ) -> Securable:
        """Insert one securable; an experiment has a ``path`` (stored in the name columns) and
        no ``full_name``."""
        sid = securable_id or new_id()
        stamp = now()
        name = path if path is not None else str(full_name) if full_name else ""
        self.cursor.execute(
            f"INSERT INTO meta.securables ({_SECURABLE_COLUMNS}, name) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                sid,
                kind.value,
                parent_id,
                name,
                owner,
                comment,
                stamp,
                owner,
                stamp,
                owner,
                storage_name,
                definition,
                json.dumps(properties) if properties else None,
                path if path is not None else full_name.name if full_name else "",
            ],
        )
        return self.get_securable(sid)  # type: ignore[return-value]

    def update_securable(self, securable_id: str, actor: str, **changes: Any) -> None:
        """Update columns of one securable (owner, comment, full_name, definition, ...)."""
        allowed = {"owner", "comment", "full_name", "name", "definition", "properties", "storage_name"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if "properties" in changes and changes["properties"] is not None:
            changes["properties"] = json.dumps(changes["properties"])
        assignments = "".join(f"{column} = ?, " for column in changes)  # none: only the stamp changes
        self.cursor.execute(
            f"UPDATE meta.securables SET {assignments}updated_at = ?, updated_by = ? WHERE id = ?",
            [*changes.values(), now(), actor, securable_id],
        )

    def delete_securables(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if not ids:
            return
        for table, column in (
            ("meta.grants", "securable_id"),
            ("meta.columns", "securable_id"),
            ("meta.primary_keys", "securable_id"),
            ("meta.securables", "id"),
        ):
            self.cursor.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT unnest(?))", [ids])

    def set_experiment_owner(self, path: str, owner: str) -> None:
        """Copy an experiment's new owner to meta.experiments.owner, in the caller's transaction.
        The securables row is where the engine reads the owner; the copy keeps the tracking
        table truthful for whoever reads it directly."""
        self.cursor.execute("UPDATE meta.experiments SET owner = ? WHERE name = ?", [owner, path])

    # -- columns -----------------------------------------------------------------------------
    def columns(self, securable_id: str) -> list[Column]:
        return self.columns_of([securable_id]).get(securable_id, [])

    def columns_of(self, securable_ids: Sequence[str]) -> dict[str, list[Column]]:
        """The columns of several securables, in one query."""
        rows = self.cursor.execute(
            "SELECT securable_id, name, data_type, nullable, comment FROM meta.columns "
            "WHERE securable_id IN (SELECT unnest(?)) ORDER BY securable_id, position",
            [list(securable_ids)],
        ).fetchall()
        found: dict[str, list[Column]] = {}
        for securable_id, *column in rows:
            found.setdefault(securable_id, []).append(Column(*column))
        return found

    def set_columns(self, securable_id: str, columns: Sequence[Column]) -> None:
        self.cursor.execute("DELETE FROM meta.columns WHERE securable_id = ?", [securable_id])
        if columns:  # one INSERT: executemany runs a statement per row
            self.cursor.execute(
                f"INSERT INTO meta.columns VALUES {', '.join(['(?, ?, ?, ?, ?, ?)'] * len(columns))}",
                [
                    value
                    for i, c in enumerate(columns, start=1)
                    for value in (securable_id, i, c.name, c.data_type, c.nullable, c.comment)
                ],
            )

    def set_column_comment(self, securable_id: str, column: str, comment: str | None) -> None:
        self.cursor.execute(
            "UPDATE meta.columns SET comment = ? WHERE securable_id = ? AND name = ?",
            [comment, securable_id, column],
        )

    # -- primary keys ------------------------------------------------------------------------
    def primary_key(self, securable_id: str) -> PrimaryKey | None:
        rows = self.cursor.execute(
            "SELECT constraint_name, column_name, timeseries FROM meta.primary_keys WHERE securable_id = ? "
            "ORDER BY ordinal_position",
            [securable_id],
        ).fetchall()
        if not rows:
            return None
        return PrimaryKey(
            rows[0][0],
            tuple(column for _, column, timeseries in rows if not timeseries),
            tuple(column for _, column, timeseries in rows if timeseries),
        )

    def set_primary_key(self, securable_id: str, key: PrimaryKey) -> None:
        self.cursor.execute("DELETE FROM meta.primary_keys WHERE securable_id = ?", [securable_id])
        columns = [(c, False) for c in key.columns] + [(c, True) for c in key.timeseries]
        self.cursor.execute(
            f"INSERT INTO meta.primary_keys VALUES {', '.join(['(?, ?, ?, ?, ?)'] * len(columns))}",
            [
                value
                for position, (column, timeseries) in enumerate(columns, start=1)
                for value in (securable_id, key.name, column, position, timeseries)
            ],
        )

    # -- grants ------------------------------------------------------------------------------
    def grants(self) -> list[Grant]:
        rows = self.cursor.execute("SELECT securable_id, principal, privilege, granted_by FROM meta.grants").fetchall()
        return [Grant(*r) for r in rows]

    def insert_grant(self, securable_id: str, principal: str, privilege: str, actor: str) -> None:
        self.cursor.execute(
            "INSERT INTO meta.grants VALUES (?, ?, ?, ?, ?)",
            [securable_id, principal, privilege, actor, now()],
        )

    def delete_grant(self, securable_id: str, principal: str, privilege: str) -> None:
        self.cursor.execute(
            "DELETE FROM meta.grants WHERE securable_id = ? AND principal = ? AND privilege = ?",
            [securable_id, principal, privilege],
        )
