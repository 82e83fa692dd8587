"""Model versions, aliases and tags in the metastore (sql/metastore/0005_registry.sql).

The registered model itself is a securable (meta.securables); this store keeps what hangs off
it, keyed by the model's securable id so that renaming or re-owning the model moves nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

MODELS_DIR = "models"  # under the home: models/<model securable id>/<version>/


def model_dir(home: Path, model_id: str) -> Path:
    return home / MODELS_DIR / model_id


def version_dir(home: Path, model_id: str, version: int) -> Path:
    return model_dir(home, model_id) / str(version)


@dataclass(frozen=True)
class VersionRow:
    """One row of meta.model_versions, before it is named and given its tags and aliases."""

    model_id: str
    version: int
    source: str
    run_id: str | None
    storage_location: str
    digest: str
    status: str
    current_stage: str
    description: str | None
    created_by: str
    creation_timestamp: int
    last_updated_by: str
    last_updated_timestamp: int


_VERSION_COLUMNS = (
    "model_id, version, source, run_id, storage_location, digest, status, current_stage, description, "
    "created_by, creation_timestamp, last_updated_by, last_updated_timestamp"
)


class RegistryStore:
    """Reads and writes registry rows on one cursor, inside the caller's transaction."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor

    # -- versions ----------------------------------------------------------------------------
    def next_version(self, model_id: str) -> int:
        """Reserve the next version number of a model (callers hold the engine's write lock)."""
        rows = self.cursor.execute(
            "SELECT last_version FROM meta.model_version_counters WHERE model_id = ?", [model_id]
        ).fetchall()
        version = (rows[0][0] if rows else 0) + 1
        self.cursor.execute("INSERT OR REPLACE INTO meta.model_version_counters VALUES (?, ?)", [model_id, version])
        return version

    def insert_version(self, row: VersionRow) -> None:
        self.cursor.execute(
            f"INSERT INTO meta.model_versions ({_VERSION_COLUMNS}) VALUES ({', '.join('?' * 13)})",
            [
                row.model_id,
                row.version,
                row.source,
                row.run_id,
                row.storage_location,
                row.digest,
                row.status,
                row.current_stage,
                row.description,
                row.created_by,
                row.creation_timestamp,
                row.last_updated_by,
                row.last_updated_timestamp,
            ],
        )

    def version(self, model_id: str, version: int) -> VersionRow | None:
        rows = self.cursor.execute(
            f"SELECT {_VERSION_COLUMNS} FROM meta.model_versions WHERE model_id = ? AND version = ?",
            [model_id, version],
        ).fetchall()
        return VersionRow(*rows[0]) if rows else None

    def versions(self, model_ids: Sequence[str]) -> list[VersionRow]:
        """Every version of the given models, newest first within each model."""
        if not model_ids:
            return []
        rows = self.cursor.execute(
            f"SELECT {_VERSION_COLUMNS} FROM meta.model_versions WHERE model_id IN (SELECT unnest(?)) "
            "ORDER BY model_id, version DESC",
            [list(model_ids)],
        ).fetchall()
        return [VersionRow(*r) for r in rows]

    def update_version(self, model_id: str, version: int, actor: str, when: int, **changes: object) -> None:
        allowed = {"description", "current_stage"}
        if set(changes) - allowed:
            raise ValueError(f"cannot update {sorted(set(changes) - allowed)}")
        assignments = ", ".join(f"{column} = ?" for column in changes)
        self.cursor.execute(
            f"UPDATE meta.model_versions SET {assignments}, last_updated_by = ?, last_updated_timestamp = ? "
            "WHERE model_id = ? AND version = ?",
            [*changes.values(), actor, when, model_id, version],
        )

    def delete_version(self, model_id: str, version: int) -> None:
        for table in ("meta.model_versions", "meta.model_version_tags"):
            self.cursor.execute(f"DELETE FROM {table} WHERE model_id = ? AND version = ?", [model_id, version])

    def delete_model(self, model_id: str) -> None:
        """Everything the registry holds for a model (the securable row is the metastore's)."""
        for table in (
            "meta.model_versions",
            "meta.model_version_counters",
            "meta.model_aliases",
            "meta.registered_model_tags",
            "meta.model_version_tags",
        ):
            self.cursor.execute(f"DELETE FROM {table} WHERE model_id = ?", [model_id])

    # -- aliases -----------------------------------------------------------------------------
    def aliases(self, model_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """model id -> {alias: version}."""
        found: dict[str, dict[str, int]] = defaultdict(dict)
        if model_ids:
            for model_id, alias, version in self.cursor.execute(
                "SELECT model_id, alias, version FROM meta.model_aliases WHERE model_id IN (SELECT unnest(?)) "
                "ORDER BY alias",
                [list(model_ids)],
            ).fetchall():
                found[model_id][alias] = version
        return found

    def set_alias(self, model_id: str, alias: str, version: int) -> None:
        self.cursor.execute("INSERT OR REPLACE INTO meta.model_aliases VALUES (?, ?, ?)", [model_id, alias, version])

    def delete_alias(self, model_id: str, alias: str) -> bool:
        rows = self.cursor.execute(
            "DELETE FROM meta.model_aliases WHERE model_id = ? AND alias = ? RETURNING alias", [model_id, alias]
        ).fetchall()
        return bool(rows)

    # -- tags --------------------------------------------------------------------------------
    def model_tags(self, model_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = defaultdict(dict)
        if model_ids:
            for model_id, key, value in self.cursor.execute(
                "SELECT model_id, key, value FROM meta.registered_model_tags WHERE model_id IN (SELECT unnest(?)) "
                "ORDER BY key",
                [list(model_ids)],
            ).fetchall():
                found[model_id][key] = value
        return found

    def version_tags(self, model_ids: Sequence[str]) -> dict[tuple[str, int], dict[str, str]]:
        found: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
        if model_ids:
            for model_id, version, key, value in self.cursor.execute(
                "SELECT model_id, version, key, value FROM meta.model_version_tags "
                "WHERE model_id IN (SELECT unnest(?)) ORDER BY key",
                [list(model_ids)],
            ).fetchall():
                found[(model_id, version)][key] = value
        return found

    def set_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.cursor.execute(
                "INSERT OR REPLACE INTO meta.registered_model_tags VALUES (?, ?, ?)", [model_id, key, value]
            )

    def delete_model_tag(self, model_id: str, key: str) -> bool:
        rows = self.cursor.execute(
            "DELETE FROM meta.registered_model_tags WHERE model_id = ? AND key = ? RETURNING key", [model_id, key]
        ).fetchall()
        return bool(rows)

    def set_version_tags(self, model_id: str, version: int, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.cursor.execute(
                "INSERT OR REPLACE INTO meta.model_version_tags VALUES (?, ?, ?, ?)", [model_id, version, key, value]
            )

    def delete_version_tag(self, model_id: str, version: int, key: str) -> bool:
        rows = self.cursor.execute(
            "DELETE FROM meta.model_version_tags WHERE model_id = ? AND version = ? AND key = ? RETURNING key",
            [model_id, version, key],
        ).fetchall()
        return bool(rows)
