"""The serving endpoint operations: create, get, list, update config, delete.

Action names follow Databricks' audit log for serving (``createServingEndpoint``, ...). The
Python client (``cat.serving``), the CLI and ``/api/2.0/serving-endpoints`` are built on them;
authorization is :mod:`catalog.services.serving`'s. Invocations do not go through here: they are
the serving runtime's (:mod:`catalog.serving.runtime`).
"""

from __future__ import annotations

from typing import Any

from catalog.models.transfer import ModelFiles
from catalog.operations import operation
from catalog.securables import Privilege, Securable
from catalog.services import serving as service
from catalog.services.context import Context
from catalog.serving.describe import endpoint_json
from catalog.serving.runtime import running_runtime
from catalog.serving.store import EndpointRow

AREA = "serving"


def describe(ctx: Context, endpoint: Securable, row: EndpointRow) -> dict[str, Any]:
    runtime = running_runtime(ctx.home)
    live = runtime.describe(endpoint.id) if runtime is not None else None
    problems = service.readiness(ctx, endpoint, row)
    return endpoint_json(endpoint, row, live, permission_level=_level(ctx, endpoint), problems=problems)


def _level(ctx: Context, endpoint: Securable) -> str:
    """Databricks' permission level of the caller on the endpoint."""
    if ctx.authz.decide(ctx.principal, endpoint, Privilege.MANAGE).allowed:
        return "CAN_MANAGE"
    if ctx.authz.decide(ctx.principal, endpoint, Privilege.QUERY).allowed:
        return "CAN_QUERY"
    return "CAN_VIEW"


@operation(AREA, "createServingEndpoint", writes=True, audit=("name",))
def create_serving_endpoint(ctx: Context, name: str, config: dict[str, Any]) -> dict[str, Any]:
    endpoint = service.create_endpoint(ctx, name, config)
    return describe(ctx, *service.get_endpoint(ctx, str(endpoint.full_name)))


@operation(AREA, "getServingEndpoint", writes=False, audit=("name",))
def get_serving_endpoint(ctx: Context, name: str) -> dict[str, Any]:
    return describe(ctx, *service.get_endpoint(ctx, name))


@operation(AREA, "listServingEndpoints", writes=False)
def list_serving_endpoints(ctx: Context) -> list[dict[str, Any]]:
    return [describe(ctx, endpoint, row) for endpoint, row in service.list_endpoints(ctx)]


@operation(AREA, "updateServingEndpointConfig", writes=True, audit=("name",))
def update_serving_endpoint_config(ctx: Context, name: str, config: dict[str, Any]) -> dict[str, Any]:
    endpoint = service.update_config(ctx, name, config)
    return describe(ctx, *service.get_endpoint(ctx, str(endpoint.full_name)))


@operation(AREA, "deleteServingEndpoint", writes=True, audit=("name",))
def delete_serving_endpoint(ctx: Context, name: str) -> None:
    service.delete_endpoint(ctx, name)


@operation(AREA, "flushServingRecords", writes=False)
def flush_serving_records(ctx: Context) -> bool:
    """Wait until the requests answered so far are in system.serving.endpoint_usage and the
    inference tables (they are written in the background); True when all are."""
    runtime = running_runtime(ctx.home)
    return runtime.flush() if runtime is not None else True


# -- for serving gateways ----------------------------------------------------------------------
# A gateway worker (catalog.serving.gateway) never opens the metastore: it asks these. The
# caller's own token authorizes each caller; the gateway's token (the endpoint's owner, or a
# principal with MANAGE on it) reads the plan and the model files and records requests.
@operation(AREA, "authorizeServingQuery", writes=False, audit=("name",))
def authorize_serving_query(ctx: Context, name: str) -> dict[str, str]:
    """Whether the caller may query endpoint ``name`` (QUERY): its id and name, or a 403/404."""
    endpoint = service.find_endpoint(ctx, name)
    ctx.require("query", endpoint)
    return {"endpoint_id": endpoint.id, "name": str(endpoint.full_name), "principal": ctx.principal}


@operation(AREA, "getServingPlan", writes=False, audit=("name",))
def get_serving_plan(ctx: Context, name: str) -> dict[str, Any]:
    """An endpoint's current configuration with the model version each entity serves (MANAGE)."""
    endpoint, row, entities = service.serving_plan(ctx, name)
    return {
        "endpoint_id": endpoint.id,
        "name": str(endpoint.full_name),
        "config_version": row.config_version,
        "config": row.config.to_json(),
        "ready": row.ready,
        "config_update": row.config_update,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at,
        "entities": entities,
    }


@operation(AREA, "getServedModelFiles", writes=False, audit=("name", "served_entity"))
def get_served_model_files(ctx: Context, name: str, served_entity: str) -> ModelFiles:
    """The files of the version a served entity serves (MANAGE on the endpoint; the owner's
    EXECUTE on the model, since the endpoint scores as its owner)."""
    return service.served_model_files(ctx, name, served_entity)


@operation(AREA, "recordServingRequests", writes=True, audit=lambda a: {"name": a["name"], "rows": len(a["requests"])})
def record_serving_requests(ctx: Context, name: str, requests: list[dict[str, Any]]) -> int:
    """Add request rows answered by a gateway to system.serving.endpoint_usage (MANAGE)."""
    return service.record_requests(ctx, name, requests)


@operation(AREA, "getServingEndpointUsage", writes=False, audit=("name",))
def get_serving_endpoint_usage(ctx: Context, name: str, minutes: int = 60) -> dict[str, Any]:
    """Requests, errors and latency of an endpoint you may see: per served entity over the last
    ``minutes``, and per minute (for charts). The same rows as system.serving.endpoint_usage."""
    runtime = running_runtime(ctx.home)
    if runtime is not None:
        runtime.flush(timeout=2.0)
    return service.endpoint_usage(ctx, name, minutes)
