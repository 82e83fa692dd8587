"""Model serving over HTTP, with Databricks' paths and JSON.

- ``/api/2.0/serving-endpoints``: create (POST), list (GET); ``/{name}``: get, delete;
  ``/{name}/config``: update the config (PUT) — the named operations of
  :mod:`catalog.serving.operations`, run as the caller.
- ``POST /serving-endpoints/{name}/invocations``: score a request (``dataframe_split``,
  ``dataframe_records``, ``instances`` or ``inputs``), answered ``{"predictions": [...]}`` with
  the served entity in ``X-Served-Entity``. Needs QUERY on the endpoint only.
- ``GET /metrics``: Prometheus text, for metastore admins.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from catalog import operations
from catalog.authz.authorizer import AccessDenied
from catalog.errors import InvalidRequest
from catalog.server.auth import authenticated
from catalog.server.routes.common import Caller, json_body, json_response
from catalog.serving import http
from catalog.serving.runtime import runtime_for

router = APIRouter(tags=["serving endpoints"])

_OBJECT = {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}}


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest(f"Send {what} as a JSON object.", error_code="MALFORMED_REQUEST")
    return body


@router.post("/api/2.0/serving-endpoints", summary="Create a serving endpoint", openapi_extra=_OBJECT)
def create_endpoint(cat: Caller, body: Annotated[Any, Depends(json_body)]) -> Response:
    request = _object(body, '{"name": ..., "config": {...}}')
    if not isinstance(request.get("name"), str):
        raise InvalidRequest("The request needs 'name', e.g. 'main.ml.churn_endpoint'.", error_code="MALFORMED_REQUEST")
    config = _object(request.get("config"), "'config'")
    return json_response(
        operations.run(cat.session, "createServingEndpoint", {"name": request["name"], "config": config})
    )


@router.get("/api/2.0/serving-endpoints", summary="List the serving endpoints you may see")
def list_endpoints(cat: Caller) -> Response:
    return json_response({"endpoints": operations.run(cat.session, "listServingEndpoints", {})})


@router.get("/api/2.0/serving-endpoints/{name}", summary="Describe a serving endpoint")
def get_endpoint(name: str, cat: Caller) -> Response:
    return json_response(operations.run(cat.session, "getServingEndpoint", {"name": name}))


@router.put("/api/2.0/serving-endpoints/{name}/config", summary="Update an endpoint's config", openapi_extra=_OBJECT)
def update_config(name: str, cat: Caller, body: Annotated[Any, Depends(json_body)]) -> Response:
    config = _object(body, "the config")
    return json_response(operations.run(cat.session, "updateServingEndpointConfig", {"name": name, "config": config}))


@router.delete("/api/2.0/serving-endpoints/{name}", summary="Delete a serving endpoint")
def delete_endpoint(name: str, cat: Caller) -> Response:
    operations.run(cat.session, "deleteServingEndpoint", {"name": name})
    return json_response({})


@router.post(
    "/serving-endpoints/{name}/invocations",
    summary="Score a request on a serving endpoint",
    openapi_extra=_OBJECT,
)
async def invocations(name: str, request: Request) -> Response:
    info = authenticated(request)
    runtime = runtime_for(request.app.state.engine)
    return await http.invoke(runtime, request, name, http.caller_of(request, info.principal))


@router.get("/metrics", summary="Serving metrics in Prometheus' text format (metastore admins)")
def metrics(cat: Caller) -> Response:
    snapshot, authz = cat.session.engine.state()
    if not authz.is_admin(cat.user):
        error = AccessDenied(
            f"Only a metastore admin can read /metrics; user {cat.user} is not one. Ask "
            f"{snapshot.admin} for a token to scrape with.",
            [],
        )
        cat.session.record_refusal("getServingMetrics", {}, error)
        raise error
    body, content_type = runtime_for(cat.session.engine).metrics.render()
    return Response(body, media_type=content_type)
