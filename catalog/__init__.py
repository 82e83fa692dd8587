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
    SqlError,
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
    "SqlError",
    "connect",
]

HOME_ENV = "CATALOG_HOME"
USER_ENV = "CATALOG_USER"
DEFAULT_HOME = ".catalog"


def connect(home: str | os.PathLike[str] | None = None, *, user: str | None = None) -> Catalog:
    """Open the catalog home at ``home`` as ``user``, creating the home if it is new.

    Args:
        home: a folder; defaults to ``$CATALOG_HOME``, then ``./.catalog``.
        user: the acting principal; defaults to ``$CATALOG_USER``, then the home's metastore
            admin. Whoever creates a home becomes its metastore admin.

    Raises:
        NotFound: the user does not exist in this home (PRINCIPAL_DOES_NOT_EXIST).
        HomeLocked: another process holds the home; run ``catalog server`` there instead.
    """
    home = home if home is not None else os.environ.get(HOME_ENV, DEFAULT_HOME)
    text = os.fspath(home)
    if "://" in text:
        raise InvalidRequest(
            f"'{text}' is a URL; this version opens local catalog homes only. Pass a folder path.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    from catalog.embedded import EmbeddedCatalog

    global _latest
    _latest = EmbeddedCatalog(Path(text), user or os.environ.get(USER_ENV) or None)
    return _latest


_latest: Catalog | None = None


def latest_connection() -> Catalog | None:
    """The connection ``connect`` opened most recently in this process, if it is still open
    (``catalog.tracking``'s module-level functions use it, as MLflow's use the tracking URI)."""
    if _latest is not None and not getattr(_latest.session, "closed", False):
        return _latest
    return None
