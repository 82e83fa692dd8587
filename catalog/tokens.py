"""Personal access tokens for the catalog server, on any connection: ``cat.tokens``.

created = cat.tokens.create("alice", comment="laptop", lifetime_seconds=90 * 86400)
created.token          # the secret: shown this once, stored only as a digest
cat.tokens.list()      # admins: everyone's; others: their own
cat.tokens.revoke(created.info.token_id)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalog.api import Catalog
    from catalog.services.tokens import CreatedToken
    from catalog.store.tokens import TokenInfo


class Tokens:
    def __init__(self, cat: Catalog) -> None:
        self._cat = cat

    def create(
        self, user: str | None = None, *, comment: str | None = None, lifetime_seconds: int | None = None
    ) -> CreatedToken:
        """A new token acting as ``user`` (default: you; others' tokens need a metastore admin)."""
        return self._cat.invoke("createToken", user=user, comment=comment, lifetime_seconds=lifetime_seconds)

    def list(self, user: str | None = None) -> list[TokenInfo]:
        return self._cat.invoke("listTokens", user=user)

    def revoke(self, token_id: str) -> TokenInfo:
        """Revoke a token now: requests carrying it get 401 from then on."""
        return self._cat.invoke("revokeToken", token_id=token_id)
