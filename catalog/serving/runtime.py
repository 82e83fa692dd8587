"""The serving runtime: answers invocations of the endpoints a backend describes.

One runtime runs beside each engine (one per home and process: the catalog server, embedded
``cat.serving.query`` calls) and one in each serving gateway worker; it runs on an event loop of
its own, in a thread, so that any caller can use it. Per request: the backend says whether the
caller holds QUERY on the endpoint (a denial is audited at once), a served entity is picked by
the traffic routes, the input is checked against its model's signature and completed with
looked-up features, and scored through the entity's batcher. What happened is recorded without
delaying the answer: one row per request in ``system.serving.endpoint_usage``, the request and
response in the endpoint's inference table when auto capture is on, and Prometheus metrics.

Configuration changes reach the runtime through the backend's version: when an endpoint's
config version changes, the new configuration's models load in the background while the old
one keeps answering, and requests switch over once all of them are loaded.
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
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from catalog.errors import CatalogError, InvalidRequest, NotFound, ServerUnavailable
from catalog.serving import recording
from catalog.serving.backends import EndpointRef, EngineBackend, Plan, ServingBackend
from catalog.serving.capture import BackgroundWriter
from catalog.serving.config import ServedEntity
from catalog.serving.inputs import parse_request
from catalog.serving.live import LiveEndpoint, LiveEntity, build_entities
from catalog.serving.metrics import ServingMetrics
from catalog.serving.routing import TrafficRouter
from catalog.serving.store import RequestRow

if TYPE_CHECKING:
    from catalog.engine import Engine

logger = logging.getLogger(__name__)

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
    """Who sends a request. ``principal`` is known in-process; a gateway knows only the caller's
    ``token``, which its backend sends to the catalog server to learn who it is and what it may do."""

    principal: str
    source_ip_address: str | None = None
    user_agent: str | None = None
    client_request_id: str | None = None
    token: str | None = field(default=None, repr=False)


class ServingRuntime:
    """Answers invocations for the endpoints ``backend`` describes. Thread-safe; see the module."""

    def __init__(self, backend: ServingBackend, *, max_rows: int = MAX_ROWS, reap_interval_s: float = 0.5) -> None:
        self.backend = backend
        self.max_rows = max_rows
        self.metrics = ServingMetrics()
        self._live: dict[str, LiveEndpoint] = {}  # endpoint id -> the configuration answering now
        self._pending: dict[str, LiveEndpoint] = {}  # endpoint id -> a configuration being readied
        self._failed: dict[str, str] = {}  # endpoint id -> why readying its new configuration failed
        self._batches_seen: dict[tuple[str, str, int], int] = {}  # predict calls already counted in /metrics
        self._locks: dict[str, asyncio.Lock] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="catalog-serving", daemon=True)
        self._thread.start()
        self._usage = BackgroundWriter(backend.write_usage, name="serving-usage")
        self._capture = BackgroundWriter(backend.write_payloads, name="serving-capture")
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
        if self.backend.blocking:  # it asks a server: not on the loop
            endpoint, principal = await asyncio.to_thread(self.backend.authorize, caller, name)
        else:
            endpoint, principal = self.backend.authorize(caller, name)
        caller = replace(caller, principal=principal)
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

    def _lookup(self, live: LiveEndpoint) -> Callable[[str, list[Any]], pd.DataFrame]:
        return lambda table, keys: self.backend.lookup(live.ref, table, keys)

    # -- configurations ----------------------------------------------------------------------
    async def _endpoint(self, endpoint: EndpointRef) -> LiveEndpoint:
        """The configuration answering for ``endpoint`` now (building it on first use)."""
        version = self.backend.version()
        live = self._live.get(endpoint.id)
        if live is not None and live.built_for == version:
            return live
        lock = self._locks.setdefault(endpoint.id, asyncio.Lock())
        async with lock:
            live = self._live.get(endpoint.id)
            if live is not None and live.built_for == version:
                return live
            plan = await asyncio.to_thread(self.backend.plan, endpoint)
            if plan is None:  # deleted since it was authorized
                raise NotFound(f"Serving endpoint '{endpoint.name}' was deleted.", error_code="RESOURCE_DOES_NOT_EXIST")
            if live is not None and live.config_version == plan.row.config_version:
                live.ref, live.built_for = endpoint, version
                return live
            pending = self._pending.get(endpoint.id)
            if live is not None and pending is not None and pending.config_version == plan.row.config_version:
                live.built_for = version  # already being readied
                return live
            fresh = await asyncio.to_thread(self._build, endpoint, plan, live)
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

    def _build(self, endpoint: EndpointRef, plan: Plan, previous: LiveEndpoint | None) -> LiveEndpoint:
        def loader(entity: ServedEntity) -> Callable[[], Any]:
            return lambda: self.backend.load(endpoint, entity, plan.entities[str(entity.name)])

        entities = build_entities(plan, loader, previous.entities if previous is not None else {})
        return LiveEndpoint(endpoint, plan.row, entities, TrafficRouter(plan.row.config.percentages()))

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
                for endpoint_id in [i for i in self._live if not self.backend.exists(i)]:
                    gone = self._live.pop(endpoint_id)
                    self._pending.pop(endpoint_id, None)
                    self.metrics.forget_endpoint(gone.name)
                for live in list(self._live.values()):
                    for entity in live.entities.values():
                        self._count_batches(live, entity)
                        if await entity.served.unload_if_idle():
                            self.metrics.set_loaded(live.name, entity.name, False)
                        elif entity.served.state == "READY":
                            self.metrics.set_loaded(live.name, entity.name, True)
            except Exception:  # the reaper must outlive a bad moment (a closing engine, a network blip)
                logger.debug("serving reaper pass failed", exc_info=True)

    def _count_batches(self, live: LiveEndpoint, entity: LiveEntity) -> None:
        """Bring the batch counter of /metrics up to the served model's own count."""
        key = (live.ref.id, entity.name, id(entity.served))
        batches = entity.served.batches
        seen = self._batches_seen.get(key, 0)
        if batches > seen:
            self.metrics.observe_batch(live.name, entity.name, batches - seen)
            self._batches_seen[key] = batches

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
                endpoint_id=live.ref.id,
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
                endpoint_id=live.ref.id,
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
        if runtime is None or runtime.backend.engine is not engine:  # type: ignore[attr-defined]
            runtime = ServingRuntime(EngineBackend(engine))
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
