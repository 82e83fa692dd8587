"""The serving runtime of one engine: answers invocations of every endpoint in a catalog home.

It lives beside the engine (one per home and process) and runs on an event loop of its own,
in a thread, so that the server's request handlers and embedded ``cat.serving.query`` calls use
it alike. Per request: the caller's QUERY on the endpoint is decided from the engine's current
snapshot (no transaction; a denial is audited at once), a served entity is picked by the
traffic routes, the input is checked against its model's signature and completed with looked-up
features, and scored through the entity's batcher. What happened is recorded without delaying
the answer: one row per request in ``system.serving.endpoint_usage``, the request and response
in the endpoint's inference table when auto capture is on, and Prometheus metrics.

Configuration changes reach the runtime through the snapshot: when an endpoint's config version
changes, the new configuration's models load in the background while the old one keeps
answering, and requests switch over once all of them are loaded.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from catalog.authz.authorizer import AccessDenied
from catalog.errors import CatalogError, InvalidRequest, NotFound, ServerUnavailable
from catalog.names import FullName
from catalog.securables import Securable, SecurableType
from catalog.serving import recording
from catalog.serving.capture import BackgroundWriter
from catalog.serving.config import ServedEntity
from catalog.serving.inputs import parse_request
from catalog.serving.live import LiveEndpoint, LiveEntity, build_entities
from catalog.serving.metrics import ServingMetrics
from catalog.serving.routing import TrafficRouter
from catalog.serving.store import RequestRow, ServingStore

if TYPE_CHECKING:
    from catalog.engine import Engine

logger = logging.getLogger(__name__)

ACTION = "queryServingEndpoint"
MAX_ROWS = 10_000
SERVED_ENTITY_HEADER = "X-Served-Entity"  # which served entity answered (A/B routes)
REQUEST_ID_HEADER = "X-Request-Id"


@dataclass(frozen=True)
class Invocation:
    """An answered request: the predictions and which served entity gave them."""

    predictions: list[Any]
    served_entity: str
    request_id: str

    def to_json(self) -> dict[str, Any]:
        return {"predictions": self.predictions}


@dataclass(frozen=True)
class Caller:
    principal: str
    source_ip_address: str | None = None
    user_agent: str | None = None
    client_request_id: str | None = None


class ServingRuntime:
    """Answers invocations for the endpoints of ``engine``'s home. Thread-safe; see the module."""

    def __init__(self, engine: Engine, *, max_rows: int = MAX_ROWS, reap_interval_s: float = 0.5) -> None:
        self.engine = engine
        self.max_rows = max_rows
        self.metrics = ServingMetrics()
        self._live: dict[str, LiveEndpoint] = {}  # endpoint id -> the configuration answering now
        self._pending: dict[str, LiveEndpoint] = {}  # endpoint id -> a configuration being readied
        self._failed: dict[str, str] = {}  # endpoint id -> why readying its new configuration failed
        self._locks: dict[str, asyncio.Lock] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="catalog-serving", daemon=True)
        self._thread.start()
        self._usage = BackgroundWriter(self._write_usage, name="serving-usage")
        self._capture = BackgroundWriter(self._write_payloads, name="serving-capture")
        self._closed = False
        self._reaper = asyncio.run_coroutine_threadsafe(self._reap(reap_interval_s), self._loop)

    # -- answering ---------------------------------------------------------------------------
    def invoke(self, caller: Caller, name: str, body: Any, raw: str | None = None) -> Invocation:
        """Answer one request (from any thread but the runtime's own)."""
        return self._submit(self._invoke(caller, name, body, raw)).result()

    async def ainvoke(self, caller: Caller, name: str, body: Any, raw: str | None = None) -> Invocation:
        """Answer one request from another event loop (the server's)."""
        return await asyncio.wrap_future(self._submit(self._invoke(caller, name, body, raw)))

    def _submit(self, work: Any) -> Future[Any]:
        if self._closed:
            work.close()
            raise ServerUnavailable("The serving runtime is shut down; the server is stopping.")
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    async def _invoke(self, caller: Caller, name: str, body: Any, raw: str | None) -> Invocation:
        started, at = time.perf_counter(), datetime.now(UTC)
        request_id = uuid.uuid4().hex
        endpoint = self._authorize(caller, name)
        live = await self._endpoint(endpoint)
        entity: LiveEntity | None = None
        rows, status, error, predictions = 0, 200, None, None
        try:
            parsed = parse_request(body, max_rows=self.max_rows)
            rows = parsed.rows
            entity = live.entities[live.router.choose()]
            data = parsed.data
            if entity.feature_spec is not None:  # lookups read the metastore: not on the loop
                data = await asyncio.to_thread(entity.prepare, data, live.name, self._lookup(live))
            else:
                data = entity.prepare(data, live.name, self._lookup(live))
            was_loaded = entity.served.state == "READY"
            predictions = await entity.served.predict(data, parsed.params)
            if not was_loaded and entity.served.cold_starts:
                self.metrics.observe_cold_start(live.name, entity.name)
            return Invocation(predictions, entity.name, request_id)
        except CatalogError as exc:
            status, error = exc.http_status, exc
            raise
        except Exception as exc:
            # The model raised on input that passed its signature: answered like MLflow's
            # scoring server, as a bad request naming the model's error.
            logger.warning("the model behind %s failed on a request", live.name, exc_info=True)
            failure = InvalidRequest(
                f"The model behind endpoint '{live.name}' failed on this request ({type(exc).__name__}: {exc}).",
                error_code="MODEL_ERROR",
            )
            status, error = failure.http_status, failure
            raise failure from exc
        finally:
            seconds = time.perf_counter() - started
            entity_name = entity.name if entity is not None else None
            self.metrics.observe_request(live.name, entity_name or "", status, seconds)
            self._record(live, entity, caller, request_id, at, seconds, status, error, rows, body, raw, predictions)

    def _authorize(self, caller: Caller, name: str) -> Securable:
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
        return endpoint

    def _lookup(self, live: LiveEndpoint) -> Callable[[str, list[Any]], pd.DataFrame]:
        return lambda table, keys: recording.as_owner(
            self.engine, live.securable.id, "lookupFeatures", {"name": table, "keys": keys}
        )

    # -- configurations ----------------------------------------------------------------------
    async def _endpoint(self, endpoint: Securable) -> LiveEndpoint:
        """The configuration answering for ``endpoint`` now (building it on first use)."""
        version = self.engine.state()[0].version
        live = self._live.get(endpoint.id)
        if live is not None and live.built_for == version:
            return live
        lock = self._locks.setdefault(endpoint.id, asyncio.Lock())
        async with lock:
            live = self._live.get(endpoint.id)
            if live is not None and live.built_for == version:
                return live
            row = await asyncio.to_thread(self._read_row, endpoint.id)
            if row is None:  # deleted since the snapshot was taken
                raise NotFound(
                    f"Serving endpoint '{endpoint.full_name}' was deleted.", error_code="RESOURCE_DOES_NOT_EXIST"
                )
            if live is not None and live.config_version == row.config_version:
                live.securable, live.built_for = endpoint, version
                return live
            pending = self._pending.get(endpoint.id)
            if live is not None and pending is not None and pending.config_version == row.config_version:
                live.built_for = version  # already being readied
                return live
            fresh = await asyncio.to_thread(self._build, endpoint, row, live)
            fresh.built_for = version
            if live is None:
                self._live[endpoint.id] = fresh
                return fresh
            # The old configuration keeps answering until the new one's models are loaded.
            self._pending[endpoint.id] = fresh
            self._failed.pop(endpoint.id, None)
            live.built_for = version
            asyncio.get_running_loop().create_task(self._ready(endpoint.id, fresh))
            return live

    def _read_row(self, endpoint_id: str):
        with closing(self.engine.db.cursor()) as cursor:
            return ServingStore(cursor).endpoint(endpoint_id)

    def _build(self, endpoint: Securable, row: Any, previous: LiveEndpoint | None) -> LiveEndpoint:
        with closing(self.engine.db.cursor()) as cursor:
            store = ServingStore(cursor)
            resolved = store.served_digests(endpoint.id, row.config_version)
            ids = store.served_entity_ids(endpoint.id, row.config_version)
        entities = build_entities(
            self.engine.home,
            row,
            resolved,
            ids,
            lambda entity: self._loader(endpoint, entity),
            previous.entities if previous is not None else {},
        )
        return LiveEndpoint(endpoint, row, entities, TrafficRouter(row.config.percentages()))

    def _loader(self, endpoint: Securable, entity: ServedEntity) -> Callable[[], Any]:
        uri = f"models:/{entity.entity_name}/{entity.entity_version}"
        return lambda: recording.load_as_owner(self.engine, endpoint.id, uri)

    async def _ready(self, endpoint_id: str, fresh: LiveEndpoint) -> None:
        try:
            await asyncio.gather(*(e.served.warm() for e in fresh.entities.values()))
        except Exception as exc:
            logger.warning("readying config %s of %s failed", fresh.config_version, fresh.name, exc_info=True)
            if self._pending.get(endpoint_id) is fresh:
                del self._pending[endpoint_id]
                self._failed[endpoint_id] = f"{type(exc).__name__}: {exc}"
            return
        if self._pending.get(endpoint_id) is fresh:
            del self._pending[endpoint_id]
            self._live[endpoint_id] = fresh

    async def _reap(self, interval: float) -> None:
        """Unload idle scale-to-zero models; forget deleted endpoints."""
        while True:
            await asyncio.sleep(interval)
            try:
                snapshot = self.engine.state()[0]
                for endpoint_id in [i for i in self._live if snapshot.by_id.get(i) is None]:
                    gone = self._live.pop(endpoint_id)
                    self._pending.pop(endpoint_id, None)
                    self.metrics.forget_endpoint(gone.name)
                for live in list(self._live.values()):
                    for entity in live.entities.values():
                        if await entity.served.unload_if_idle():
                            self.metrics.set_loaded(live.name, entity.name, False)
                        elif entity.served.state == "READY":
                            self.metrics.set_loaded(live.name, entity.name, True)
            except Exception:  # the reaper must outlive a bad moment (a closing engine)
                logger.debug("serving reaper pass failed", exc_info=True)

    # -- state -------------------------------------------------------------------------------
    def describe(self, endpoint_id: str) -> dict[str, Any] | None:
        """What this process knows of an endpoint: its entities' states and any config being readied."""
        live = self._live.get(endpoint_id)
        if live is None:
            return None
        pending = self._pending.get(endpoint_id)
        return {
            "config_version": live.config_version,
            "pending_config_version": pending.config_version if pending else None,
            "update_failed": self._failed.get(endpoint_id),
            "entities": {name: e.served.describe() for name, e in live.entities.items()},
        }

    # -- recording ---------------------------------------------------------------------------
    def _record(
        self,
        live: LiveEndpoint,
        entity: LiveEntity | None,
        caller: Caller,
        request_id: str,
        at: datetime,
        seconds: float,
        status: int,
        error: BaseException | None,
        rows: int,
        body: Any,
        raw: str | None,
        predictions: list[Any] | None,
    ) -> None:
        if self._closed:  # the runtime closed while this request was answered
            return
        self._usage.put(
            RequestRow(
                request_id=request_id,
                client_request_id=caller.client_request_id,
                endpoint_id=live.securable.id,
                endpoint_name=live.name,
                served_entity_id=entity.served_entity_id if entity else None,
                served_entity_name=entity.name if entity else None,
                requester=caller.principal,
                status_code=status,
                error_code=getattr(error, "error_code", None) if error is not None else None,
                request_time=at,
                duration_ms=seconds * 1000,
                input_rows=rows,
            )
        )
        capture = live.config.auto_capture_config
        if capture is None or not capture.enabled:
            return
        response = (
            {"predictions": predictions}
            if error is None
            else error.to_dict()
            if isinstance(error, CatalogError)
            else {"error_code": "INTERNAL_ERROR"}
        )
        self._capture.put(
            recording.PayloadRow(
                endpoint_id=live.securable.id,
                table=capture.payload_table,
                endpoint_name=live.name,
                values={
                    "databricks_request_id": request_id,
                    "client_request_id": caller.client_request_id,
                    "date": at.date(),
                    "timestamp_ms": int(at.timestamp() * 1000),
                    "status_code": status,
                    "execution_time_ms": seconds * 1000,
                    "served_entity_name": entity.name if entity else None,
                    "model_name": entity.config.entity_name if entity else None,
                    "model_version": entity.config.entity_version if entity else None,
                    "requester": caller.principal,
                    "request": raw if raw is not None else _json(body),
                    "response": _json(response),
                },
            )
        )

    def _write_usage(self, rows: list[RequestRow]) -> None:
        recording.write_usage(self.engine, rows)

    def _write_payloads(self, rows: list[recording.PayloadRow]) -> None:
        recording.write_payloads(self.engine, rows)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every request answered so far is recorded (usage rows and inference tables)."""
        return self._usage.flush(timeout) and self._capture.flush(timeout)

    async def _cancel_tasks(self) -> None:
        """Stop the reaper and any configuration still being readied, and let them finish."""
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with suppress(Exception):  # the loop may already be gone at interpreter exit
            asyncio.run_coroutine_threadsafe(self._cancel_tasks(), self._loop).result(timeout=5)
        self._usage.close()
        self._capture.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        with suppress(RuntimeError):
            self._loop.close()


def _json(value: Any) -> str:
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return json.dumps(str(value))


# -- one runtime per engine ----------------------------------------------------------------------
_RUNTIMES: dict[Path, ServingRuntime] = {}
_RUNTIMES_LOCK = threading.Lock()


def runtime_for(engine: Engine) -> ServingRuntime:
    """The serving runtime of ``engine``'s home in this process (started on first use, closed
    with the engine)."""
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.get(engine.home)
        if runtime is None or runtime.engine is not engine:
            runtime = ServingRuntime(engine)
            _RUNTIMES[engine.home] = runtime
            engine.on_close(lambda: _discard(engine.home, runtime))
            if len(_RUNTIMES) == 1:
                atexit.register(_close_all)
        return runtime


def running_runtime(home: Path | None) -> ServingRuntime | None:
    """The runtime of ``home`` if this process started one (for live state in descriptions)."""
    return _RUNTIMES.get(home) if home is not None else None


def _close_all() -> None:
    """At interpreter exit: record what was answered, and stop the runtimes' threads before
    the engines' connections go."""
    for runtime in list(_RUNTIMES.values()):
        runtime.close()


def _discard(home: Path, runtime: ServingRuntime) -> None:
    with _RUNTIMES_LOCK:
        if _RUNTIMES.get(home) is runtime:
            del _RUNTIMES[home]
    runtime.close()


def response_headers(invocation: Invocation) -> Mapping[str, str]:
    return {SERVED_ENTITY_HEADER: invocation.served_entity, REQUEST_ID_HEADER: invocation.request_id}
