"""Where a serving runtime gets its answers from: the engine in this process, or a catalog server.

The runtime (:mod:`catalog.serving.runtime`) decides nothing about the metastore itself; it asks
a backend who may query an endpoint, what the endpoint serves, where each model's files are,
and where to record what happened. :class:`EngineBackend` answers from the engine of a home
this process holds (the catalog server, an embedded connection); the serving gateway's backend
(:mod:`catalog.serving.gateway`) answers through a catalog server, so gateway workers never
open the metastore.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from catalog.authz.authorizer import AccessDenied
from catalog.errors import NotFound
from catalog.names import FullName
from catalog.registry.store import version_dir
from catalog.securables import SecurableType
from catalog.serving import recording
from catalog.serving.config import ServedEntity
from catalog.serving.store import EndpointRow, RequestRow, ResolvedEntity, ServingStore

if TYPE_CHECKING:
    from catalog.engine import Engine
    from catalog.serving.runtime import Caller

ACTION = "queryServingEndpoint"


@dataclass(frozen=True)
class EndpointRef:
    """An endpoint a caller may query: its id and full name."""

    id: str
    name: str


@dataclass(frozen=True)
class PlannedEntity:
    resolved: ResolvedEntity
    served_entity_id: str
    folder: Path  # a local folder holding the version's files (checked against the digest on use)


@dataclass(frozen=True)
class Plan:
    """What building one configuration of an endpoint needs."""

    row: EndpointRow
    entities: dict[str, PlannedEntity]


class ServingBackend(Protocol):
    blocking: bool  # whether authorize may wait on the network (then it runs off the event loop)

    def version(self) -> int:
        """A number that changes whenever what :meth:`authorize` or :meth:`plan` answer may have changed."""

    def authorize(self, caller: Caller, name: str) -> tuple[EndpointRef, str]:
        """The endpoint ``name`` and the caller's principal, if the caller holds QUERY on it
        (NotFound, or AccessDenied audited, otherwise)."""

    def plan(self, endpoint: EndpointRef) -> Plan | None:
        """The endpoint's current configuration (None once it is deleted)."""

    def load(self, endpoint: EndpointRef, entity: ServedEntity, planned: PlannedEntity) -> Any:
        """The served entity's model, loaded with the endpoint owner's rights."""

    def lookup(self, endpoint: EndpointRef, table: str, keys: list[Any]) -> pd.DataFrame:
        """The latest feature rows of ``keys`` in ``table``, read with the owner's rights."""

    def exists(self, endpoint_id: str) -> bool:
        """False once the endpoint is known to be deleted."""

    def write_usage(self, rows: Sequence[RequestRow]) -> None: ...

    def write_payloads(self, rows: Sequence[recording.PayloadRow]) -> None: ...


class EngineBackend:
    """Answers from the engine of a home held by this process: QUERY decided from its snapshot
    (no transaction per request; a denial is audited at once), models loaded as the owner."""

    blocking = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def version(self) -> int:
        return self.engine.state()[0].version

    def authorize(self, caller: Caller, name: str) -> tuple[EndpointRef, str]:
        snapshot, authz = self.engine.state()
        endpoint = snapshot.find(FullName.parse(name))
        if endpoint is None or endpoint.type is not SecurableType.ENDPOINT:
            raise NotFound(
                f"Serving endpoint '{name}' does not exist. Check `catalog serving-endpoints list`.",
                error_code="RESOURCE_DOES_NOT_EXIST",
            )
        try:
            authz.require(caller.principal, "query", endpoint)
        except AccessDenied as denied:
            recording.audit_denial(self.engine, caller, ACTION, {"name": name}, denied)
            raise
        return EndpointRef(endpoint.id, str(endpoint.full_name)), caller.principal

    def plan(self, endpoint: EndpointRef) -> Plan | None:
        with closing(self.engine.db.cursor()) as cursor:
            store = ServingStore(cursor)
            row = store.endpoint(endpoint.id)
            if row is None:
                return None
            resolved = store.served_digests(endpoint.id, row.config_version)
            ids = store.served_entity_ids(endpoint.id, row.config_version)
        entities = {}
        for entity in row.config.served_entities:
            name = str(entity.name)
            folder = version_dir(self.engine.home, resolved[name].model_id, int(entity.entity_version))
            entities[name] = PlannedEntity(resolved[name], ids.get(name, ""), folder)
        return Plan(row, entities)

    def load(self, endpoint: EndpointRef, entity: ServedEntity, planned: PlannedEntity) -> Any:
        uri = f"models:/{entity.entity_name}/{entity.entity_version}"
        return recording.load_as_owner(self.engine, endpoint.id, uri)

    def lookup(self, endpoint: EndpointRef, table: str, keys: list[Any]) -> pd.DataFrame:
        return recording.as_owner(self.engine, endpoint.id, "lookupFeatures", {"name": table, "keys": keys})

    def exists(self, endpoint_id: str) -> bool:
        return self.engine.state()[0].by_id.get(endpoint_id) is not None

    def write_usage(self, rows: Sequence[RequestRow]) -> None:
        recording.write_usage(self.engine, rows)

    def write_payloads(self, rows: Sequence[recording.PayloadRow]) -> None:
        recording.write_payloads(self.engine, rows)
