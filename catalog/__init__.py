"""A governance-first data and ML catalog: one namespace, grants enforced by casbin, audit, SQL.

    import catalog
    cat = catalog.connect("./demo-home", user="admin")
    cat.sql("CREATE CATALOG main")

``import catalog`` stays light: the engine (DuckDB, sqlglot, casbin) loads on first connect.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.errors import (
    AlreadyExists,
    CatalogError,
    HomeLocked,
    InvalidName,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PolicyError,
    ServerUnavailable,
    SqlError,
    Unauthenticated,
)

if TYPE_CHECKING:
    from catalog.api import Catalog

__all__ = [
    "AlreadyExists",
    "Catalog",
    "CatalogError",
    "HomeLocked",
    "InvalidName",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "PolicyError",
    "ServerUnavailable",
    "SqlError",
    "Unauthenticated",
    "connect",
]

__version__ = "0.1.0"

HOME_ENV = "CATALOG_HOME"
USER_ENV = "CATALOG_USER"
URI_ENV = "CATALOG_URI"
TOKEN_ENV = "CATALOG_TOKEN"
DEFAULT_HOME = ".catalog"


def connect(
    home: str | os.PathLike[str] | None = None, *, user: str | None = None, token: str | None = None
) -> Catalog:
    """Open a catalog: a local home folder (embedded), or a catalog server's URL (remote).

    Args:
        home: a folder, or ``http(s)://host:port`` of a ``catalog server``; defaults to
            ``$CATALOG_URI``, then ``$CATALOG_HOME``, then ``./.catalog``.
        user: the acting principal of an embedded connection; defaults to ``$CATALOG_USER``, then
            the home's metastore admin (whoever creates a home becomes its admin). A remote
            connection acts as its token's user.
        token: the bearer token for a server (default ``$CATALOG_TOKEN``).

    Both kinds offer the same methods and raise the same errors.

    Raises:
        NotFound: the user does not exist in this home (PRINCIPAL_DOES_NOT_EXIST).
        HomeLocked: another process holds the home; run ``catalog server`` there instead.
        Unauthenticated: the server refused the token.
        ServerUnavailable: nothing answers at the URL.
    """
    if home is None:
        home = os.environ.get(URI_ENV) or os.environ.get(HOME_ENV) or DEFAULT_HOME
    text = os.fspath(home)
    global _latest
    if "://" in text:
        if not text.startswith(("http://", "https://")):
            raise InvalidRequest(
                f"'{text}' is not a catalog server URL; use http://host:port or https://..., or a folder path.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        from catalog.remote import RemoteCatalog

        _latest = RemoteCatalog(text, token or os.environ.get(TOKEN_ENV), user=user)
        return _latest
    from catalog.embedded import EmbeddedCatalog

    try:
        _latest = EmbeddedCatalog(Path(text), user or os.environ.get(USER_ENV) or None)
    except HomeLocked:
        served = _through_local_server(Path(text), user)
        if served is None:
            raise
        _latest = served
    return _latest


def _through_local_server(home: Path, user: str | None) -> Catalog | None:
    """A locked home served by ``catalog server`` on this machine: a connection to that server
    as its metastore admin (``<home>/server.json``); None when no server published one."""
    from catalog.server import local

    found = local.read(home)
    if found is None:
        return None
    from catalog.remote import RemoteCatalog

    cat = RemoteCatalog(found.url, found.token)
    if user is not None and user.strip().lower() != cat.user:
        cat.close()
        raise HomeLocked(
            f"The catalog server at {found.url} holds '{home}'. Connect to it as {user} with "
            f"catalog.connect('{found.url}', token=...) and {user}'s token (`catalog tokens create --user {user}`).",
        )
    return cat


_latest: Catalog | None = None


def latest_connection() -> Catalog | None:
    """The connection ``connect`` opened most recently in this process, if it is still open
    (``catalog.tracking``'s module-level functions use it, as MLflow's use the tracking URI)."""
    if _latest is not None and not _latest.closed:
        return _latest
    return None
