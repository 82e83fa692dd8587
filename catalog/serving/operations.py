"""The serving endpoint operations: create, get, list, update config, delete.

Action names follow Databricks' audit log for serving (``createServingEndpoint``, ...). The
Python client (``cat.serving``), the CLI and ``/api/2.0/serving-endpoints`` are built on them;
authorization is :mod:`catalog.services.serving`'s. Invocations do not go through here: they are
the serving runtime's (:mod:`catalog.serving.runtime`).
"""

from __future__ import annotations

from typing import Any

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
    return endpoint_json(endpoint, row, live, permission_level=_level(ctx, endpoint))


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
