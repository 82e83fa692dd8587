"""Registry rows read back as MLflow-shaped entities: a model's versions with their tags and
aliases, and registered models with their latest version per stage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb

from catalog.registry.entities import STAGES, ModelVersion, RegisteredModel
from catalog.registry.store import RegistryStore
from catalog.securables import Securable


def versions_of(cursor: duckdb.DuckDBPyConnection, models: Sequence[Securable]) -> dict[str, list[ModelVersion]]:
    """model id -> its versions, newest first, as entities."""
    store = RegistryStore(cursor)
    ids = [m.id for m in models]
    names = {m.id: str(m.full_name) for m in models}
    aliases = store.aliases(ids)
    tags = store.version_tags(ids)
    found: dict[str, list[ModelVersion]] = {m.id: [] for m in models}
    for row in store.versions(ids):
        pointing = tuple(sorted(a for a, v in aliases.get(row.model_id, {}).items() if v == row.version))
        found[row.model_id].append(
            ModelVersion(
                name=names[row.model_id],
                version=row.version,
                creation_timestamp=row.creation_timestamp,
                last_updated_timestamp=row.last_updated_timestamp,
                user_id=row.created_by,
                current_stage=row.current_stage,
                source=row.source,
                run_id=row.run_id,
                status=row.status,
                description=row.description,
                digest=row.digest,
                storage_location=row.storage_location,
                tags=tags.get((row.model_id, row.version), {}),
                aliases=pointing,
            )
        )
    return found


def registered_models(cursor: duckdb.DuckDBPyConnection, models: Sequence[Securable]) -> list[RegisteredModel]:
    store = RegistryStore(cursor)
    ids = [m.id for m in models]
    aliases, tags, versions = store.aliases(ids), store.model_tags(ids), versions_of(cursor, models)
    result = []
    for model in models:
        latest: dict[str, ModelVersion] = {}
        for version in versions[model.id]:  # newest first
            latest.setdefault(version.current_stage, version)
        result.append(
            RegisteredModel(
                name=str(model.full_name),
                owner=model.owner,
                creation_timestamp=_ms(model.created_at),
                last_updated_timestamp=_ms(model.updated_at),
                description=model.comment,
                tags=tags.get(model.id, {}),
                aliases=aliases.get(model.id, {}),
                latest_versions=tuple(latest[s] for s in STAGES if s in latest),
            )
        )
    return result


def _ms(when: datetime | None) -> int:
    return int(when.timestamp() * 1000) if when is not None else 0
