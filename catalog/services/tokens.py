"""Personal access tokens: create (shown once), list, revoke, and authenticate a request.

A metastore admin manages everyone's tokens; a user may create, list and revoke their own
(as Databricks personal access tokens). Only a SHA-256 digest of a token is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from catalog import wire
from catalog.errors import InvalidRequest, NotFound
from catalog.names import normalize_principal
from catalog.operations import operation
from catalog.services.context import Context
from catalog.store.tokens import TokenInfo, TokenStore

PREFIX = "cat_"
MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600


@wire.register
@dataclass(frozen=True)
class CreatedToken:
    """A new token: ``token`` is the secret, returned this once and never again."""

    token: str
    info: TokenInfo


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@operation("tokens", "createToken", writes=True, audit=("user", "comment", "lifetime_seconds"))
def create_token(
    ctx: Context, user: str | None = None, comment: str | None = None, lifetime_seconds: int | None = None
) -> CreatedToken:
    """A token acting as ``user`` (default: the caller), expiring after ``lifetime_seconds``."""
    principal = normalize_principal(user) if user is not None else ctx.principal
    if principal != ctx.principal:
        ctx.require_admin(f"create a token for user {principal}")
    if not ctx.snapshot.is_user(principal):
        raise NotFound(
            f"User '{principal}' does not exist; create it first with CREATE USER `{principal}`.",
            error_code="PRINCIPAL_DOES_NOT_EXIST",
        )
    if lifetime_seconds is not None and not 0 < lifetime_seconds <= MAX_LIFETIME_SECONDS:
        raise InvalidRequest(
            f"lifetime_seconds must be between 1 and {MAX_LIFETIME_SECONDS} (ten years), not {lifetime_seconds}; "
            "leave it out for a token that does not expire.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    now = datetime.now(UTC)
    token = PREFIX + secrets.token_urlsafe(32)
    info = TokenInfo(
        token_id=uuid.uuid4().hex[:16],
        principal=principal,
        comment=comment,
        created_by=ctx.principal,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime_seconds) if lifetime_seconds else None,
        revoked_at=None,
        revoked_by=None,
    )
    TokenStore(ctx.cursor).insert(info, digest(token))
    return CreatedToken(token, info)


@operation("tokens", "listTokens", writes=False, audit=("user",))
def list_tokens(ctx: Context, user: str | None = None) -> list[TokenInfo]:
    """The tokens of ``user`` (admins: of everyone when ``user`` is None; others: their own)."""
    principal = normalize_principal(user) if user is not None else None
    if principal != ctx.principal and not ctx.is_admin():
        if principal is not None:
            ctx.require_admin(f"list the tokens of user {principal}")
        principal = ctx.principal
    return TokenStore(ctx.cursor).list(principal)


@operation("tokens", "revokeToken", writes=True, audit=("token_id",))
def revoke_token(ctx: Context, token_id: str) -> TokenInfo:
    """Revoke a token at once; revoking a revoked token changes nothing."""
    store = TokenStore(ctx.cursor)
    info = store.get(token_id)
    if info is None or (info.principal != ctx.principal and not ctx.is_admin()):
        raise NotFound(
            f"There is no token '{token_id}' of yours; see your tokens with `catalog tokens list`.",
            error_code="TOKEN_NOT_FOUND",
        )
    store.revoke(token_id, ctx.principal, datetime.now(UTC))
    return store.get(token_id)  # type: ignore[return-value]


def authenticate(cursor: duckdb.DuckDBPyConnection, token: str) -> TokenInfo | None:
    """The active token ``token`` is, or None (unknown, revoked or expired)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    info = TokenStore(cursor).by_hash(digest(token))
    if info is None or not info.active(datetime.now(UTC)):
        return None
    return info
