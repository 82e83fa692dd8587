"""What the serving runtime does in the metastore: act as an endpoint's owner, audit denials,
and write request rows and inference tables.

An endpoint scores as its owner: loading a served model and looking up features run as the
owner's own audited requests, so the owner's EXECUTE and SELECT are what count (and a revoked
grant stops the endpoint at its next model load or lookup). Inference table rows are written as
the owner too, through ``write_table``, so they are governed, audited and get lineage from the
endpoint like any write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from catalog import operations
from catalog.authz.authorizer import AccessDenied
from catalog.lineage.capture import SOURCE_ATTR
from catalog.store.database import transaction

if TYPE_CHECKING:
    from catalog.engine import Engine, Session
    from catalog.serving.runtime import Caller
    from catalog.serving.store import RequestRow

USER_AGENT = "catalog-serving"


@dataclass(frozen=True)
class PayloadRow:
    """One request and response for an endpoint's inference table."""

    endpoint_id: str
    endpoint_name: str
    table: str
    values: Mapping[str, Any]


def owner_session(engine: Engine, endpoint_id: str) -> Session:
    """A session as the endpoint's current owner."""
    from catalog.engine import Session
    from catalog.errors import NotFound

    endpoint = engine.state()[0].by_id.get(endpoint_id)
    if endpoint is None:
        raise NotFound("The serving endpoint was deleted.", error_code="RESOURCE_DOES_NOT_EXIST")
    return Session(engine, endpoint.owner, user_agent=USER_AGENT)


def as_owner(engine: Engine, endpoint_id: str, action: str, arguments: Mapping[str, Any]) -> Any:
    """Run a named operation as the endpoint's owner (authorized and audited as theirs)."""
    with closing(owner_session(engine, endpoint_id)) as session:
        return operations.run(session, action, arguments)


def load_as_owner(engine: Engine, endpoint_id: str, uri: str) -> Any:
    """Load the registered model version ``uri`` as the endpoint's owner (needs their EXECUTE)."""
    from catalog.embedded import EmbeddedCatalog
    from catalog.models import load_model

    with closing(owner_session(engine, endpoint_id)) as session:
        return load_model(uri, cat=EmbeddedCatalog.over(session))


def audit_denial(engine: Engine, caller: Caller, action: str, params: dict[str, str], denied: AccessDenied) -> None:
    """Record a refused invocation, with the authorizer's reasons."""
    from catalog.engine import Session

    with closing(
        Session(
            engine,
            caller.principal,
            source_ip_address=caller.source_ip_address,
            user_agent=caller.user_agent or USER_AGENT,
        )
    ) as session:
        session.record_refusal(action, params, denied)


def write_usage(engine: Engine, rows: Sequence[RequestRow]) -> None:
    """Add request rows to meta.serving_requests (system.serving.endpoint_usage) in one transaction."""
    from catalog.serving.store import ServingStore

    cursor = engine.db.cursor()
    # A log, not data any cache depends on: the engine's write counter stays as it is.
    with engine.write_lock, closing(cursor), transaction(cursor):
        ServingStore(cursor).insert_requests(rows)


def write_payloads(engine: Engine, rows: Sequence[PayloadRow]) -> None:
    """Append captured requests to each endpoint's inference table, as the endpoint's owner,
    with lineage endpoint -> table."""
    from catalog.embedded import EmbeddedCatalog

    by_endpoint: dict[tuple[str, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_endpoint[(row.endpoint_id, row.endpoint_name, row.table)].append(row.values)
    for (endpoint_id, endpoint_name, table), values in by_endpoint.items():
        frame = pd.DataFrame(list(values))
        frame.attrs[SOURCE_ATTR] = [endpoint_name]
        with closing(owner_session(engine, endpoint_id)) as session:
            EmbeddedCatalog.over(session).write_table(table, frame)


__all__ = ["PayloadRow", "as_owner", "audit_denial", "load_as_owner", "write_payloads", "write_usage"]
