"""``POST /api/v1/<area>/<action>``: the engine's named operations (tracking, registry, features,
tokens), with MLflow's RPC style: a JSON object of arguments in, the result as JSON out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic.errors import PydanticInvalidForJsonSchema

from catalog import operations
from catalog.errors import InvalidRequest, NotFound
from catalog.server.routes.common import Caller, json_body, json_response

router = APIRouter(prefix="/api/v1", tags=["tracking, registry, features, tokens, serving"])

AREAS = ("tracking", "registry", "features", "tokens", "serving")


@router.post(
    "/{area}/{action}",
    summary="Run a named operation (see GET /api/v1/operations)",
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
def run_operation(area: str, action: str, cat: Caller, arguments: Annotated[Any, Depends(json_body)]) -> Response:
    op = operations.find(action)
    if op.area != area:
        raise NotFound(f"There is no operation '{area}/{action}'; it is {op.path}.", error_code="ENDPOINT_NOT_FOUND")
    if not isinstance(arguments, dict):
        raise InvalidRequest("Send the arguments as a JSON object.", error_code="MALFORMED_REQUEST")
    return json_response({"result": operations.run(cat.session, action, arguments)}, cat)


@router.get("/operations", summary="The named operations and their arguments")
def list_operations() -> Response:
    return json_response(
        {
            "operations": [
                {
                    "path": op.path,
                    "writes": op.writes,
                    "arguments": op.arguments.model_json_schema(mode="validation")
                    if _has_schema(op)
                    else sorted(op.arguments.model_fields),
                }
                for op in operations.all_operations()
            ]
        }
    )


def _has_schema(op: operations.Operation) -> bool:
    try:
        op.arguments.model_json_schema(mode="validation")
    except PydanticInvalidForJsonSchema:  # arguments of arbitrary types (frames) have none
        return False
    return True
