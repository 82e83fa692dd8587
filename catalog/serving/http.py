"""The invocation route's HTTP work, shared by the catalog server and serving gateways: the JSON
body in, ``{"predictions": [...]}`` out with the served entity in a header."""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import Request, Response

from catalog.errors import InvalidRequest
from catalog.serving.runtime import Caller, ServingRuntime, response_headers

WORKER_HEADER = "X-Serving-Worker"  # which process answered (a gateway runs several)


async def read_json(request: Request) -> tuple[Any, str]:
    """The decoded body and its text (the text goes into the inference table as sent)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
        return json.loads(text), text
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(
            f'The request body is not valid JSON ({exc}). Send e.g. {{"dataframe_records": [{{...}}]}}.',
            error_code="MALFORMED_REQUEST",
        ) from None


def caller_of(request: Request, principal: str = "", token: str | None = None) -> Caller:
    return Caller(
        principal,
        request.client.host if request.client else None,
        request.headers.get("user-agent"),
        request.headers.get("x-client-request-id"),
        token,
    )


async def invoke(runtime: ServingRuntime, request: Request, name: str, caller: Caller) -> Response:
    body, text = await read_json(request)
    invocation = await runtime.ainvoke(caller, name, body, text)
    headers = {**response_headers(invocation), WORKER_HEADER: str(os.getpid())}
    return Response(json.dumps(invocation.to_json()), media_type="application/json", headers=headers)
