"""Rows of meta.tokens: plain data access, no decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from catalog import wire

_COLUMNS = "token_id, principal, comment, created_by, created_at, expires_at, revoked_at, revoked_by"


@wire.register
@dataclass(frozen=True)
class TokenInfo:
    """A token as listings show it: never the secret, never its hash."""

    token_id: str
    principal: str
    comment: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class TokenStore:
    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor

    def insert(self, info: TokenInfo, token_hash: str) -> None:
        self.cursor.execute(
            "INSERT INTO meta.tokens (token_id, principal, token_hash, comment, created_by, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                info.token_id,
                info.principal,
                token_hash,
                info.comment,
                info.created_by,
                info.created_at,
                info.expires_at,
            ],
        )

    def get(self, token_id: str) -> TokenInfo | None:
        rows = self.cursor.execute(f"SELECT {_COLUMNS} FROM meta.tokens WHERE token_id = ?", [token_id]).fetchall()
        return TokenInfo(*rows[0]) if rows else None

    def by_hash(self, token_hash: str) -> TokenInfo | None:
        rows = self.cursor.execute(f"SELECT {_COLUMNS} FROM meta.tokens WHERE token_hash = ?", [token_hash]).fetchall()
        return TokenInfo(*rows[0]) if rows else None

    def list(self, principal: str | None) -> list[TokenInfo]:
        where, params = ("WHERE principal = ?", [principal]) if principal else ("", [])
        rows = self.cursor.execute(f"SELECT {_COLUMNS} FROM meta.tokens {where} ORDER BY created_at", params).fetchall()
        return [TokenInfo(*row) for row in rows]

    def revoke(self, token_id: str, by: str, when: datetime) -> None:
        self.cursor.execute(
            "UPDATE meta.tokens SET revoked_at = ?, revoked_by = ? WHERE token_id = ? AND revoked_at IS NULL",
            [when, by, token_id],
        )
