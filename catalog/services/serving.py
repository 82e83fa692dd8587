"""Serving endpoints as ENDPOINT securables in ``catalog.schema.endpoint``.

Who may do what (the same authorizer as everything else):

- create an endpoint: ``CREATE ENDPOINT`` on the schema (with USE CATALOG / USE SCHEMA), and
  ``EXECUTE`` on every model it serves; with auto capture, ``CREATE TABLE`` on the capture
  schema (or ``MODIFY`` on an existing payload table);
- update its config or delete it: owner or ``MANAGE`` (plus EXECUTE on newly served models);
- query it: ``QUERY`` on the endpoint only. The endpoint scores as its owner: the owner's
  EXECUTE on the models and SELECT on feature tables are what count then;
- read its description: any privilege on it, or BROWSE on its catalog.

A configuration change takes effect as a whole: the models it names are checked to exist and
load (checksums verified) before it is recorded, and the server keeps answering with the old
configuration until the new one's models are loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from catalog.errors import AlreadyExists, InvalidRequest, NotFound
from catalog.models.transfer import ModelFiles, read_model
from catalog.names import FullName
from catalog.registry.store import RegistryStore, version_dir
from catalog.securables import RELATION_TYPES, Securable, SecurableType
from catalog.services import namespace, registry
from catalog.services.context import Context
from catalog.serving.config import AutoCaptureConfig, EndpointConfig, parse_config
from catalog.serving.store import ENTITY_TYPE, EndpointRow, RequestRow, ResolvedEntity, ServingStore
from catalog.store.metastore import now

ENDPOINT = frozenset({SecurableType.ENDPOINT})

# The inference table every auto-capturing endpoint writes (Databricks' columns, plus who asked).
PAYLOAD_COLUMNS = (
    ("databricks_request_id", "VARCHAR"),
    ("client_request_id", "VARCHAR"),
    ("date", "DATE"),
    ("timestamp_ms", "BIGINT"),
    ("status_code", "INTEGER"),
    ("execution_time_ms", "DOUBLE"),
    ("served_entity_name", "VARCHAR"),
    ("model_name", "VARCHAR"),
    ("model_version", "VARCHAR"),
    ("requester", "VARCHAR"),
    ("request", "VARCHAR"),
    ("response", "VARCHAR"),
)


def endpoint_name(name: str) -> FullName:
    """Parse an endpoint name, which always has three parts."""
    return namespace.object_name(name, "serving endpoint", "main.ml.churn_endpoint")


def find_endpoint(ctx: Context, name: str) -> Securable:
    return ctx.lookup(endpoint_name(name), ENDPOINT)


# -- changes -----------------------------------------------------------------------------------
def create_endpoint(ctx: Context, name: str, config: Mapping[str, Any]) -> Securable:
    full = endpoint_name(name)
    namespace.refuse_system(full, "create an endpoint in")
    schema = ctx.lookup(full.parent, namespace.SCHEMA)
    ctx.require("create_endpoint", schema)
    existing = ctx.find(full)
    if existing is not None:
        what = "Serving endpoint" if existing.type is SecurableType.ENDPOINT else existing.type.label.capitalize()
        raise AlreadyExists(
            f"{what} '{full}' already exists. Change an endpoint with update_config, or choose another name.",
            error_code="RESOURCE_ALREADY_EXISTS",
        )
    parsed = parse_config(dict(config), endpoint=str(full))
    resolved = _resolve_entities(ctx, parsed, {})
    _prepare_capture(ctx, parsed.auto_capture_config)
    endpoint = ctx.metastore.insert_securable(SecurableType.ENDPOINT, full, schema.id, ctx.principal)
    at = now()
    store = ServingStore(ctx.cursor)
    store.insert_endpoint(endpoint.id, parsed, ctx.principal, at)
    store.record_served_entities(endpoint.id, str(full), 1, parsed, resolved, ctx.principal, at)
    ctx.changed()
    return endpoint


def update_config(ctx: Context, name: str, config: Mapping[str, Any]) -> Securable:
    endpoint = find_endpoint(ctx, name)
    ctx.require("manage", endpoint)
    store = ServingStore(ctx.cursor)
    current = _row(store, endpoint)
    raw = dict(config)
    if "auto_capture_config" not in raw and current.config.auto_capture_config is not None:
        # Databricks keeps capture on across updates that do not mention it.
        raw["auto_capture_config"] = current.config.auto_capture_config.model_dump(mode="json")
    parsed = parse_config(raw, endpoint=str(endpoint.full_name))
    kept = store.served_digests(endpoint.id, current.config_version)
    resolved = _resolve_entities(ctx, parsed, {n: e for n, e in kept.items() if _same(current.config, parsed, n)})
    if parsed.auto_capture_config != current.config.auto_capture_config:
        _prepare_capture(ctx, parsed.auto_capture_config)
    at = now()
    version = store.update_endpoint(endpoint.id, parsed, ctx.principal, at)
    store.record_served_entities(endpoint.id, str(endpoint.full_name), version, parsed, resolved, ctx.principal, at)
    ctx.metastore.update_securable(endpoint.id, ctx.principal)
    ctx.changed()
    return endpoint


def delete_endpoint(ctx: Context, name: str) -> None:
    endpoint = find_endpoint(ctx, name)
    ctx.require("manage", endpoint)
    namespace.drop_storage(ctx, endpoint)
    ctx.metastore.delete_securables([endpoint.id])
    ctx.changed()


def drop_endpoint_rows(ctx: Context, endpoint: Securable) -> None:
    """What deleting an endpoint removes besides its securable: its current config (its history
    rows stay, stamped with the deletion time, as Databricks keeps them)."""
    ServingStore(ctx.cursor).delete_endpoint(endpoint.id, now())


# -- reading -----------------------------------------------------------------------------------
def get_endpoint(ctx: Context, name: str) -> tuple[Securable, EndpointRow]:
    endpoint = find_endpoint(ctx, name)
    ctx.require_visible(endpoint)
    return endpoint, _row(ServingStore(ctx.cursor), endpoint)


def list_endpoints(ctx: Context) -> list[tuple[Securable, EndpointRow]]:
    """The endpoints the caller may see, by name."""
    visible = ctx.authz.visible_ids(ctx.principal)
    endpoints = sorted(
        (s for s in ctx.snapshot.by_id.values() if s.type is SecurableType.ENDPOINT and s.id in visible),
        key=lambda s: str(s.full_name),
    )
    rows = ServingStore(ctx.cursor).endpoints([e.id for e in endpoints])
    return [(e, rows[e.id]) for e in endpoints if e.id in rows]


def serving_plan(ctx: Context, name: str) -> tuple[Securable, EndpointRow, dict[str, dict[str, str]]]:
    """What a serving gateway needs to serve an endpoint (MANAGE): its config and, per served
    entity, the registered model version's id, digest and history row id."""
    endpoint = find_endpoint(ctx, name)
    ctx.require("manage", endpoint)
    store = ServingStore(ctx.cursor)
    row = _row(store, endpoint)
    resolved = store.served_digests(endpoint.id, row.config_version)
    ids = store.served_entity_ids(endpoint.id, row.config_version)
    entities = {
        entity: {"model_id": found.model_id, "digest": found.digest, "served_entity_id": ids.get(entity, "")}
        for entity, found in resolved.items()
    }
    return endpoint, row, entities


def served_model_files(ctx: Context, name: str, served_entity: str) -> ModelFiles:
    endpoint = find_endpoint(ctx, name)
    ctx.require("manage", endpoint)
    row = _row(ServingStore(ctx.cursor), endpoint)
    try:
        entity = row.config.entity(served_entity)
    except StopIteration:
        raise NotFound(
            f"Serving endpoint '{endpoint.full_name}' has no served entity '{served_entity}'.",
            error_code="RESOURCE_DOES_NOT_EXIST",
        ) from None
    model = registry.find_model(ctx, entity.entity_name)
    ctx.require("execute", model, as_principal=endpoint.owner)  # the endpoint scores as its owner
    version = registry.parse_version(entity.entity_version)
    found = RegistryStore(ctx.cursor).version(model.id, version)
    if found is None or ctx.home is None:
        raise NotFound(
            f"Model '{model.full_name}' has no version {version} any more.", error_code="RESOURCE_DOES_NOT_EXIST"
        )
    uri = f"models:/{model.full_name}/{version}"
    return read_model(version_dir(ctx.home, model.id, version), uri, digest=found.digest, version=version)


def record_requests(ctx: Context, name: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Store request rows a gateway answered for endpoint ``name`` (MANAGE on it)."""
    endpoint = find_endpoint(ctx, name)
    ctx.require("manage", endpoint)
    try:
        parsed = [
            RequestRow(**{**row, "endpoint_id": endpoint.id, "endpoint_name": str(endpoint.full_name)}) for row in rows
        ]
    except TypeError as exc:
        raise InvalidRequest(f"Malformed request rows: {exc}.", error_code="INVALID_PARAMETER_VALUE") from None
    ServingStore(ctx.cursor).insert_requests(parsed)
    return len(parsed)


def readiness(ctx: Context, endpoint: Securable, row: EndpointRow) -> list[str]:
    """Why the endpoint cannot answer now (empty when it can): a served model gone, or its owner,
    whose rights it scores with, no longer allowed to EXECUTE it."""
    from catalog.authz.authorizer import AccessDenied

    problems = []
    resolved = ServingStore(ctx.cursor).served_digests(endpoint.id, row.config_version)
    for name, found in sorted(resolved.items()):
        model = ctx.snapshot.by_id.get(found.model_id)
        if model is None:
            problems.append(f"served entity '{name}': its registered model was dropped")
            continue
        try:
            ctx.authz.require(endpoint.owner, "execute", model)
        except AccessDenied:
            problems.append(
                f"served entity '{name}': the endpoint's owner {endpoint.owner} may no longer EXECUTE "
                f"{model.full_name} (GRANT EXECUTE ON MODEL {model.full_name} TO `{endpoint.owner}`)"
            )
    return problems


def endpoint_usage(ctx: Context, name: str, minutes: int) -> dict[str, Any]:
    """Usage of an endpoint the caller may see (any privilege on it, or BROWSE on its catalog)."""
    endpoint = find_endpoint(ctx, name)
    ctx.require_visible(endpoint)
    if not 1 <= minutes <= 7 * 24 * 60:
        raise InvalidRequest("minutes must be between 1 and 10080 (a week).", error_code="INVALID_PARAMETER_VALUE")
    window = "request_time >= now() - to_minutes(CAST(? AS BIGINT))"
    per_entity = ctx.cursor.execute(
        "SELECT coalesce(served_entity_name, '') AS served_entity, count(*) AS requests, "
        "count(*) FILTER (WHERE status_code >= 400) AS errors, "
        "quantile_cont(execution_duration_ms, 0.5) AS p50_ms, quantile_cont(execution_duration_ms, 0.99) AS p99_ms "
        f"FROM meta.serving_requests WHERE endpoint_id = ? AND {window} GROUP BY 1 ORDER BY 1",
        [endpoint.id, minutes],
    ).fetchall()
    per_minute = ctx.cursor.execute(
        "SELECT date_trunc('minute', request_time) AS minute, count(*) AS requests, "
        "count(*) FILTER (WHERE status_code >= 400) AS errors, "
        "quantile_cont(execution_duration_ms, 0.5) AS p50_ms, quantile_cont(execution_duration_ms, 0.99) AS p99_ms "
        f"FROM meta.serving_requests WHERE endpoint_id = ? AND {window} GROUP BY 1 ORDER BY 1",
        [endpoint.id, minutes],
    ).fetchall()
    keys = ("requests", "errors", "p50_ms", "p99_ms")
    end = ctx.cursor.execute("SELECT now()").fetchall()[0][0]
    return {
        "name": str(endpoint.full_name),
        "minutes": minutes,
        # the window counted (per_minute lists only minutes that had requests)
        "window_start": (end - timedelta(minutes=minutes)).isoformat(),
        "window_end": end.isoformat(),
        "served_entities": [{"name": row[0], **dict(zip(keys, row[1:], strict=True))} for row in per_entity],
        "per_minute": [{"minute": row[0].isoformat(), **dict(zip(keys, row[1:], strict=True))} for row in per_minute],
    }


def _row(store: ServingStore, endpoint: Securable) -> EndpointRow:
    row = store.endpoint(endpoint.id)
    if row is None:  # a securable without its config: only if the metastore was edited by hand
        raise NotFound(f"Serving endpoint '{endpoint.full_name}' has no configuration.", error_code="NOT_FOUND")
    return row


# -- checks ------------------------------------------------------------------------------------
def _same(old: EndpointConfig, new: EndpointConfig, name: str) -> bool:
    """Whether ``name`` serves the same model version in both configs (no new EXECUTE check)."""
    try:
        before, after = old.entity(name), new.entity(name)
    except StopIteration:
        return False
    return (before.entity_name, before.entity_version) == (after.entity_name, after.entity_version)


def _resolve_entities(
    ctx: Context, config: EndpointConfig, kept: dict[str, ResolvedEntity]
) -> dict[str, ResolvedEntity]:
    """Each served entity's registered model version: it must exist and be READY, and the
    caller must hold EXECUTE on the model (not asked again for entities the config keeps)."""
    resolved = {}
    store = RegistryStore(ctx.cursor)
    for entity in config.served_entities:
        name = str(entity.name)
        if name in kept:
            resolved[name] = kept[name]
            continue
        model = registry.find_model(ctx, entity.entity_name)
        ctx.require("execute", model)
        version = store.version(model.id, registry.parse_version(entity.entity_version))
        if version is None:
            raise NotFound(
                f"Model '{model.full_name}' has no version {entity.entity_version} (served entity '{name}'). "
                f"Check the versions with search_model_versions(\"name = '{model.full_name}'\").",
                error_code="RESOURCE_DOES_NOT_EXIST",
            )
        if version.status != registry.READY:
            raise InvalidRequest(
                f"Version {version.version} of '{model.full_name}' is {version.status}, not READY; it cannot be served.",
                error_code="INVALID_STATE",
            )
        if ctx.home is not None:  # a version whose files were tampered with is refused now, not at first request
            from catalog.models.format import verify_model

            verify_model(version_dir(ctx.home, model.id, version.version), expected_digest=version.digest)
        resolved[name] = ResolvedEntity(name, model.id, version.digest)
    return resolved


def _prepare_capture(ctx: Context, capture: AutoCaptureConfig | None) -> None:
    """Make sure the payload table exists with the inference table columns, and that the
    endpoint's creator (its owner, whose rights the server writes with) may write it."""
    if capture is None or not capture.enabled:
        return
    table_name = FullName.parse(capture.payload_table)
    existing = ctx.find(table_name)
    if existing is None:
        from catalog.services import tables  # tables imports the namespace; keep this module light

        columns = ", ".join(f"{column} {kind}" for column, kind in PAYLOAD_COLUMNS)
        tables.create_table(
            ctx,
            table_name,
            lambda storage: ctx.cursor.execute(f"CREATE TABLE {storage} ({columns})"),
            comment="Requests and responses of a serving endpoint (auto capture).",
        )
        return
    if existing.type not in RELATION_TYPES or existing.type is not SecurableType.TABLE:
        raise InvalidRequest(
            f"Auto capture needs '{table_name}' to be a table, but it is a {existing.type.label}. "
            "Choose another table_name_prefix.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    ctx.require("write", existing)
    have = {c.name.lower() for c in ctx.metastore.columns(existing.id)}
    missing = [column for column, _ in PAYLOAD_COLUMNS if column not in have]
    if missing:
        raise InvalidRequest(
            f"Table '{table_name}' exists but lacks the inference table column(s) {', '.join(missing)}. "
            "Drop it or choose another table_name_prefix.",
            error_code="SCHEMA_MISMATCH",
        )


__all__ = [
    "ENDPOINT",
    "ENTITY_TYPE",
    "PAYLOAD_COLUMNS",
    "create_endpoint",
    "delete_endpoint",
    "endpoint_name",
    "find_endpoint",
    "get_endpoint",
    "list_endpoints",
    "update_config",
]
