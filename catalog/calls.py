"""What the Python clients built on a connection share: finding the connection, and making one
audited engine call with request parameters as the audit log records them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from catalog.api import Catalog
from catalog.errors import InvalidRequest
from catalog.services.context import Context

T = TypeVar("T")


def embedded_connection(cat: Catalog | None, what: str) -> Catalog:
    """``cat``, or the connection ``catalog.connect`` opened last; it must be an embedded one."""
    if cat is None:
        from catalog.tracking import current_connection

        cat = current_connection()
    if not hasattr(cat, "session"):
        raise InvalidRequest(
            f"{what} needs a catalog connection from catalog.connect(home); remote connections come with "
            "the catalog server.",
            error_code="UNSUPPORTED_OPERATION",
        )
    return cat


def call(
    cat: Catalog,
    action: str,
    work: Callable[[Context], T],
    *,
    writes: bool,
    lineage: str | None = None,
    **params: Any,
) -> T:
    """Run ``work`` as one authorized, audited request named ``action`` (params left out when None)."""
    return cat.session.run(
        action,
        work,
        writes=writes,
        request_params={k: str(v) for k, v in params.items() if v is not None},
        lineage=lineage,
    )
