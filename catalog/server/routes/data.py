"""SQL and table rows: ``POST /api/v1/sql`` and ``/api/v1/tables/{name}/rows``, frames as Arrow."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, Field

from catalog import wire
from catalog.server.routes.common import MAX_JSON_ROWS, Caller, arrow_body, arrow_response, json_response, table_json

router = APIRouter(prefix="/api/v1", tags=["sql and rows"])

ARROW = {"content": {"application/vnd.apache.arrow.stream": {}}, "description": "rows as an Arrow IPC stream"}


class SqlRequest(BaseModel):
    statement: str = Field(description="Databricks SQL; several statements separated by ';'")
    parameters: list[Any] | dict[str, Any] | None = Field(
        default=None, description="values for ? markers (a list) or :name markers (an object)"
    )


@router.post(
    "/sql",
    responses={200: ARROW},
    summary="Run SQL; the last statement's result as Arrow (or JSON rows with Accept: application/json)",
)
def run_sql(
    body: SqlRequest,
    cat: Caller,
    accept: Annotated[str | None, Header()] = None,
    max_rows: Annotated[int, Query(ge=1, le=MAX_JSON_ROWS)] = 1000,
) -> Response:
    wire.check_parsed([body.statement, body.parameters])
    frame = cat.sql(body.statement, body.parameters)
    if accept is not None and "application/json" in accept and wire.ARROW_STREAM not in accept:
        # For browsers (the web UI): at most max_rows rows, as JSON-ready values.
        return json_response(table_json(frame, max_rows), cat)
    return arrow_response(frame, cat)


@router.get("/tables/{name}/rows", responses={200: ARROW}, summary="All rows of a table or view (needs SELECT)")
def read_rows(name: str, cat: Caller) -> Response:
    return arrow_response(cat.read_table(name), cat)


@router.post("/tables/{name}/rows", summary="Append, overwrite or merge rows sent as Arrow (needs MODIFY)")
def write_rows(
    name: str,
    cat: Caller,
    frame: Annotated[pd.DataFrame, Depends(arrow_body)],
    mode: Literal["append", "overwrite", "merge"] = "append",
) -> Response:
    return json_response({"num_affected_rows": cat.write_table(name, frame, mode)}, cat)


@router.put("/tables/{name}", summary="Create a managed table from rows sent as Arrow (needs CREATE TABLE)")
def create_table(
    name: str,
    cat: Caller,
    frame: Annotated[pd.DataFrame, Depends(arrow_body)],
    mode: Literal["error", "ignore", "overwrite"] = "error",
    comment: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    return json_response({"full_name": cat.create_table(name, frame, comment=comment, mode=mode)}, cat, 201)
