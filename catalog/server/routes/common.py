"""What the routers share: the caller's connection, frames as Arrow, JSON via the wire codec."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pandas as pd
from fastapi import Depends, Request, Response

from catalog import wire
from catalog.embedded import EmbeddedCatalog
from catalog.engine import Session
from catalog.errors import InvalidRequest
from catalog.server.auth import CURRENT_CATALOG_HEADER, CURRENT_SCHEMA_HEADER, request_session


def caller(session: Annotated[Session, Depends(request_session)]) -> Iterator[EmbeddedCatalog]:
    """The engine's own client, acting as the request's principal."""
    yield EmbeddedCatalog.over(session)


Caller = Annotated[EmbeddedCatalog, Depends(caller)]


def session_headers(cat: EmbeddedCatalog) -> dict[str, str]:
    """The session's current catalog and schema after the call (USE changes them)."""
    session = cat.session
    return {
        CURRENT_CATALOG_HEADER: session.current_catalog or "",
        CURRENT_SCHEMA_HEADER: session.current_schema or "",
    }


def arrow_response(frame: pd.DataFrame, cat: EmbeddedCatalog) -> Response:
    body = memoryview(wire.arrow_buffer(frame))
    return Response(body, media_type=wire.ARROW_STREAM, headers=session_headers(cat))


def json_response(value: Any, cat: EmbeddedCatalog | None = None, status_code: int = 200) -> Response:
    headers = session_headers(cat) if cat is not None else None
    return Response(wire.dumps(value), status_code=status_code, media_type="application/json", headers=headers)


MAX_JSON_ROWS = 10_000  # the most rows a JSON answer carries; Arrow has no such limit


def table_json(frame: pd.DataFrame, max_rows: int) -> dict[str, Any]:
    """A frame as ``{"columns": [{"name", "type"}], "rows": [[...]], "truncated"}``: its first
    ``max_rows`` rows as JSON values (timestamps as ISO 8601 text, NaN as null)."""
    import json

    shown = frame.head(max_rows)
    rows = json.loads(shown.to_json(orient="values", date_format="iso", default_handler=str))
    return {
        "columns": [{"name": str(name), "type": str(dtype)} for name, dtype in frame.dtypes.items()],
        "rows": rows,
        "truncated": len(frame) > max_rows,
        "row_count": len(frame),
    }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A small metadata frame as JSON-ready rows (listings for REST callers)."""
    import json

    return json.loads(frame.to_json(orient="records", date_format="iso", default_handler=str))


async def arrow_body(request: Request) -> pd.DataFrame:
    if request.headers.get("content-type", "").split(";")[0].strip() != wire.ARROW_STREAM:
        raise InvalidRequest(
            f"Send the rows as an Arrow IPC stream with Content-Type: {wire.ARROW_STREAM}.",
            error_code="MALFORMED_REQUEST",
        )
    return wire.arrow_to_frame(await request.body())


async def raw_body(request: Request) -> bytes:
    return await request.body()


async def json_body(request: Request) -> Any:
    body = await request.body()
    return wire.loads(body) if body else {}


async def text_body(request: Request) -> str:
    body = await request.body()
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("The request body is not UTF-8 text.", error_code="MALFORMED_REQUEST") from None
