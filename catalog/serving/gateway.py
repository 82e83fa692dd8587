"""The serving gateway: invocations answered by N worker processes that never open the metastore.

    catalog --uri http://catalog-host:8080 --token $GATEWAY_TOKEN serving-gateway --workers 4 --port 8081

DuckDB lets one process hold a catalog home, and one Python process scores on one core at a
time. The gateway runs ``POST /serving-endpoints/{name}/invocations`` in N uvicorn workers; each
asks the catalog server (through :class:`RemoteBackend`) for what it needs:

- the caller's rights: the caller's own token is sent to the server (``authorizeServingQuery``),
  which checks QUERY and audits a refusal; an answer is remembered for ``auth_ttl_s`` seconds
  (default 5) per token and endpoint, so a revoked grant or token stops working within that time;
- each endpoint's configuration (``getServingPlan``, asked again every ``plan_ttl_s`` seconds, so
  a config update reaches the workers within that time; the old configuration answers until the
  new one's models are loaded, as in the server);
- the models' files (``getServedModelFiles``, once per version: cached locally by digest and
  verified before loading) and feature lookups (``lookupFeatures``);
- where to record requests: usage rows (``recordServingRequests``) and inference table rows
  (``write_table``), sent in batches off the request path.

The gateway's own token must belong to the endpoints' owner or to a principal with MANAGE on
them (and MODIFY on their inference tables); the server checks the owner's EXECUTE when it
hands out model files, since an endpoint scores as its owner.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request, Response

from catalog import __version__
from catalog.errors import NotFound, Unauthenticated
from catalog.lineage.capture import SOURCE_ATTR
from catalog.models import transfer
from catalog.models.checksums import DESCRIPTOR
from catalog.serving import http, recording
from catalog.serving.backends import EndpointRef, Plan, PlannedEntity
from catalog.serving.config import EndpointConfig, ServedEntity
from catalog.serving.runtime import Caller, ServingRuntime
from catalog.serving.store import EndpointRow, RequestRow, ResolvedEntity

URI_ENV = "CATALOG_URI"
TOKEN_ENV = "CATALOG_GATEWAY_TOKEN"
AUTH_TTL_ENV = "CATALOG_GATEWAY_AUTH_TTL_S"
PLAN_TTL_ENV = "CATALOG_GATEWAY_PLAN_TTL_S"


class RemoteBackend:
    """Answers a gateway worker's questions through the catalog server at ``uri``."""

    blocking = True

    def __init__(self, uri: str, token: str, *, auth_ttl_s: float = 5.0, plan_ttl_s: float = 2.0) -> None:
        import catalog

        self.uri = uri.rstrip("/")
        self.cat = catalog.connect(self.uri, token=token)  # the gateway's own principal
        self.auth_ttl_s = auth_ttl_s
        self.plan_ttl_s = plan_ttl_s
        self._lock = threading.Lock()
        self._allowed: dict[tuple[str, str], tuple[float, EndpointRef, str]] = {}
        self._deleted: set[str] = set()
        self._callers: dict[str, Any] = {}  # token digest -> that caller's connection

    def version(self) -> int:
        return int(time.monotonic() / self.plan_ttl_s)

    def authorize(self, caller: Caller, name: str) -> tuple[EndpointRef, str]:
        if not caller.token:
            raise Unauthenticated("This request carries no token.", error_code="UNAUTHENTICATED")
        key = (hashlib.sha256(caller.token.encode()).hexdigest(), name)
        now = time.monotonic()
        with self._lock:
            cached = self._allowed.get(key)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        answer = self._as_caller(key[0], caller.token).invoke("authorizeServingQuery", name=name)
        endpoint = EndpointRef(answer["endpoint_id"], answer["name"])
        with self._lock:
            if len(self._allowed) > 100_000:
                self._allowed.clear()
            self._allowed[key] = (now + self.auth_ttl_s, endpoint, answer["principal"])
        return endpoint, answer["principal"]

    def _as_caller(self, digest: str, token: str) -> Any:
        import catalog

        with self._lock:
            found = self._callers.get(digest)
        if found is None:
            found = catalog.connect(self.uri, token=token)
            with self._lock:
                if len(self._callers) > 10_000:
                    self._callers.clear()
                self._callers[digest] = found
        return found

    def plan(self, endpoint: EndpointRef) -> Plan | None:
        try:
            answer = self.cat.invoke("getServingPlan", name=endpoint.name)
        except NotFound:
            with self._lock:
                self._deleted.add(endpoint.id)
            return None
        row = EndpointRow(
            endpoint_id=answer["endpoint_id"],
            config_version=answer["config_version"],
            config=EndpointConfig.model_validate(answer["config"]),
            ready=answer["ready"],
            config_update=answer["config_update"],
            update_message=None,
            created_by=answer["created_by"],
            created_at=answer["created_at"],
            updated_by=answer["updated_by"],
            updated_at=answer["updated_at"],
        )
        entities = {}
        for name, found in answer["entities"].items():
            folder = transfer.cache_root() / found["digest"]
            if not (folder / DESCRIPTOR).is_file():  # fetched once per version, then cached by digest
                files = self.cat.invoke("getServedModelFiles", name=endpoint.name, served_entity=name)
                folder = transfer.materialize(files)
            resolved = ResolvedEntity(name, found["model_id"], found["digest"])
            entities[name] = PlannedEntity(resolved, found["served_entity_id"], folder)
        return Plan(row, entities)

    def load(self, endpoint: EndpointRef, entity: ServedEntity, planned: PlannedEntity) -> Any:
        from catalog.models import load_model

        return load_model(planned.folder, expected_digest=planned.resolved.digest)

    def lookup(self, endpoint: EndpointRef, table: str, keys: list[Any]) -> pd.DataFrame:
        return self.cat.invoke("lookupFeatures", name=table, keys=keys)

    def exists(self, endpoint_id: str) -> bool:
        with self._lock:
            return endpoint_id not in self._deleted

    def write_usage(self, rows: Sequence[RequestRow]) -> None:
        by_endpoint: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            fields = asdict(row)
            by_endpoint[fields.pop("endpoint_name")].append({k: v for k, v in fields.items() if k != "endpoint_id"})
        for name, requests in by_endpoint.items():
            self.cat.invoke("recordServingRequests", name=name, requests=requests)

    def write_payloads(self, rows: Sequence[recording.PayloadRow]) -> None:
        by_table: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_table[(row.table, row.endpoint_name)].append(dict(row.values))
        for (table, endpoint_name), values in by_table.items():
            frame = pd.DataFrame(values)
            frame.attrs[SOURCE_ATTR] = [endpoint_name]
            self.cat.write_table(table, frame)

    def close(self) -> None:
        for connection in [*self._callers.values(), self.cat]:
            connection.close()


def create_gateway_app(uri: str, token: str, *, auth_ttl_s: float = 5.0, plan_ttl_s: float = 2.0) -> FastAPI:
    """A gateway worker's app: invocations, ``/health``, and ``/metrics`` for the gateway's own token."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend = RemoteBackend(uri, token, auth_ttl_s=auth_ttl_s, plan_ttl_s=plan_ttl_s)
        runtime = ServingRuntime(backend)
        app.state.runtime = runtime
        try:
            yield
        finally:
            runtime.close()  # records what was answered before the worker goes
            backend.close()

    app = FastAPI(title="catalog serving gateway", version=__version__, lifespan=lifespan)

    @app.get("/health", tags=["gateway"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__, "worker": str(os.getpid())}

    @app.post("/serving-endpoints/{name}/invocations", tags=["gateway"])
    async def invocations(name: str, request: Request) -> Response:
        from catalog.server.auth import bearer_token

        caller = http.caller_of(request, token=bearer_token(request))
        return await http.invoke(request.app.state.runtime, request, name, caller)

    @app.get("/metrics", tags=["gateway"])
    def metrics(request: Request) -> Response:
        from catalog.server.auth import bearer_token

        given = bearer_token(request) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Unauthenticated("The gateway's /metrics takes the gateway's own token.", error_code="UNAUTHENTICATED")
        body, content_type = request.app.state.runtime.metrics.render()
        return Response(body, media_type=content_type)

    from catalog.server.app import install_error_handlers

    install_error_handlers(app)
    return app


def app_from_environment() -> FastAPI:
    """The app of one worker, configured by the environment (uvicorn starts workers by import)."""
    uri, token = os.environ.get(URI_ENV), os.environ.get(TOKEN_ENV)
    if not uri or not token:
        raise RuntimeError(f"A gateway worker needs ${URI_ENV} and ${TOKEN_ENV}.")
    return create_gateway_app(
        uri,
        token,
        auth_ttl_s=float(os.environ.get(AUTH_TTL_ENV, "5")),
        plan_ttl_s=float(os.environ.get(PLAN_TTL_ENV, "2")),
    )


def serve_gateway(
    uri: str,
    token: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8081,
    workers: int = 2,
    auth_ttl_s: float = 5.0,
    plan_ttl_s: float = 2.0,
    log_level: str = "info",
) -> None:
    """Run the gateway in ``workers`` processes until interrupted."""
    import uvicorn

    os.environ.update({URI_ENV: uri, TOKEN_ENV: token, AUTH_TTL_ENV: str(auth_ttl_s), PLAN_TTL_ENV: str(plan_ttl_s)})
    uvicorn.run(
        "catalog.serving.gateway:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


__all__ = ["RemoteBackend", "create_gateway_app", "serve_gateway"]
