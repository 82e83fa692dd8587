"""Which connection the Python clients (tracking, registry, features, model loading) act on."""

from __future__ import annotations

from catalog.api import Catalog


def connection(cat: Catalog | None = None) -> Catalog:
    """``cat``, or the connection ``catalog.connect`` opened last (a new one from
    ``$CATALOG_HOME`` / ``$CATALOG_USER`` when there is none), embedded or remote alike."""
    if cat is not None:
        return cat
    import catalog

    found = catalog.latest_connection()
    return found if found is not None else catalog.connect()
