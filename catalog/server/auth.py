"""Who is calling: bearer tokens checked against their stored digests, and a session per request.

A request without a valid token is refused with 401 and audited (principal ``anonymous``, the
caller's address); the session it gets otherwise carries the caller's address and user agent
into every audit row, so 403s are audited like any other denial.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime

from fastapi import Request

from catalog import audit
from catalog.engine import Engine, Session
from catalog.errors import NotFound, Unauthenticated
from catalog.services import tokens
from catalog.store.tokens import TokenInfo

ANONYMOUS = "anonymous"
CURRENT_CATALOG_HEADER = "X-Catalog-Current-Catalog"
CURRENT_SCHEMA_HEADER = "X-Catalog-Current-Schema"


class Authenticator:
    """Checks tokens, remembering answers until the next committed write (a revocation is one)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._known: dict[str, TokenInfo | None] = {}
        self._generation = -1

    def check(self, token: str) -> TokenInfo | None:
        generation = self.engine.data_generation
        with self._lock:
            if generation != self._generation:
                self._known.clear()
                self._generation = generation
            if token in self._known:
                info = self._known[token]
                return info if info is not None and info.active(datetime.now(UTC)) else None
        with closing(self.engine.db.cursor()) as cursor:
            info = tokens.authenticate(cursor, token)
        with self._lock:
            if generation == self._generation and len(self._known) < 10_000:
                self._known[token] = info
        return info

    def refuse(self, request: Request, reason: str) -> Unauthenticated:
        """Audit a refused request and return the error to raise."""
        error = Unauthenticated(
            f"{reason} Send 'Authorization: Bearer <token>'; an admin creates tokens with "
            "`catalog tokens create --user <name>`.",
            error_code="UNAUTHENTICATED",
        )
        event = audit.AuditEvent(
            principal=ANONYMOUS,
            action_name="authenticate",
            request_params={"method": request.method, "path": request.url.path},
            status_code=error.http_status,
            error_message=error.message,
            source_ip_address=client_address(request),
            user_agent=request.headers.get("user-agent"),
        )
        self.engine.audit_journal.append(self.engine.workspace_id or "", event)
        return error


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticated(request: Request) -> TokenInfo:
    """The token the request carries, checked (401, audited, when there is none or it is not valid)."""
    authenticator: Authenticator = request.app.state.authenticator
    token = bearer_token(request)
    if token is None:
        raise authenticator.refuse(request, "This request carries no token.")
    info = authenticator.check(token)
    if info is None:
        raise authenticator.refuse(request, "The token is unknown, expired or revoked.")
    return info


def request_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: a session as the token's user, closed when the request ends."""
    state = request.app.state
    authenticator: Authenticator = state.authenticator
    info = authenticated(request)
    try:
        session = Session(
            state.engine,
            info.principal,
            source_ip_address=client_address(request),
            user_agent=request.headers.get("user-agent") or "unknown",
        )
    except NotFound:  # the token's user was dropped
        raise authenticator.refuse(request, f"The token's user '{info.principal}' no longer exists.") from None
    try:
        session.current_catalog = _header(request, CURRENT_CATALOG_HEADER, session.current_catalog)
        session.current_schema = _header(request, CURRENT_SCHEMA_HEADER, session.current_schema)
        yield session
    finally:
        session.close()


def _header(request: Request, name: str, default: str | None) -> str | None:
    value = request.headers.get(name)
    if value is None:
        return default
    return value or None
