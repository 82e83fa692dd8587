"""A cap on request bodies, enforced before a route reads them."""

from __future__ import annotations

import json
from contextlib import suppress

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog.errors import RequestTooLarge

DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024  # table writes travel as Arrow; metadata calls are small


class BodySizeLimit:
    """Refuse with 413 any body over ``max_bytes``: at once when Content-Length says so, and
    while streaming when a chunked body grows past it (nothing of it reaches the engine)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _refuse(send, self.max_bytes)
            return
        seen = 0
        too_large = started = False

        async def counted_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if too_large:  # FastAPI turns a failed body read into its own 400; the 413 replaces it
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with suppress(_TooLarge):
            await self.app(scope, counted_receive, tracked_send)
        if too_large and not started:
            await _refuse(send, self.max_bytes)


class _TooLarge(Exception):
    pass


async def _refuse(send: Send, max_bytes: int) -> None:
    error = RequestTooLarge(
        f"The request body is larger than this server's limit of {max_bytes:,} bytes. Send less at once "
        "(write a table in several batches), or start the server with a higher --max-body-mb."
    )
    body = json.dumps(error.to_dict()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.http_status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
