"""Forwarding recorded events to an OpenLineage receiver (console, file, HTTP, ...).

Forwarding is on when OpenLineage is configured the way openlineage-python reads it: an
``openlineage.yml`` in the catalog home, or the client's own settings (``OPENLINEAGE_CONFIG``,
``OPENLINEAGE_URL``, ``OPENLINEAGE__TRANSPORT__*``, an ``openlineage.yml`` in the working
directory or ``~/.openlineage``). Events go out from a background thread after the write has
committed, so a slow or unreachable receiver never delays or fails a write; a failed send is
logged and dropped (the event stays in the catalog, queryable).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Sequence
from pathlib import Path

import yaml
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunEvent

from catalog.errors import InvalidRequest

log = logging.getLogger("catalog.lineage")

HOME_CONFIG = "openlineage.yml"
_QUEUE_LIMIT = 10_000
_STOP = object()


def _configured_elsewhere() -> bool:
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OPENLINEAGE_CONFIG") or os.environ.get("OPENLINEAGE_URL"):
        return True
    if any(key.startswith("OPENLINEAGE__TRANSPORT") for key in os.environ):
        return True
    return any(p.is_file() for p in (Path.cwd() / HOME_CONFIG, Path.home() / ".openlineage" / HOME_CONFIG))


class Forwarder:
    """Sends events to ``client`` from a daemon thread, in the order they were recorded."""

    def __init__(self, client: OpenLineageClient) -> None:
        self.client = client
        self._queue: queue.Queue = queue.Queue(_QUEUE_LIMIT)
        self._thread = threading.Thread(target=self._run, name="catalog-lineage-forwarder", daemon=True)
        self._thread.start()

    @classmethod
    def for_home(cls, home: Path) -> Forwarder | None:
        """A forwarder when OpenLineage is configured for this home or process, else None."""
        config_file = home / HOME_CONFIG
        try:
            if config_file.is_file():
                config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
                if not isinstance(config, dict) or not isinstance(config.get("transport"), dict):
                    raise ValueError("it needs a 'transport' section, e.g. transport: {type: console}")
                return cls(OpenLineageClient(config=config))
            if _configured_elsewhere():
                return cls(OpenLineageClient())
        except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, RuntimeError, ImportError) as problem:
            where = config_file if config_file.is_file() else "the OPENLINEAGE_* settings"
            raise InvalidRequest(
                f"The OpenLineage configuration in {where} is not valid: {problem}. Fix it (see "
                "https://openlineage.io/docs/client/python) or remove it to stop forwarding.",
                error_code="INVALID_LINEAGE_CONFIG",
            ) from None
        return None

    def emit(self, events: Sequence[RunEvent]) -> None:
        for event in events:
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                log.warning("OpenLineage forwarding queue full; dropped event for run %s", event.run.runId)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was sent (or failed); False if ``timeout`` ran out."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Give queued events ``timeout`` seconds to go out, then stop (events are in the
        catalog either way; a receiver that is down must not hold up closing)."""
        self.flush(timeout)
        self._queue.put(_STOP)
        self._thread.join(0.1)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                self.client.emit(item)
            except Exception as problem:  # any transport failure: log it, keep forwarding
                log.warning(
                    "could not forward OpenLineage event for run %s to %s: %s",
                    item.run.runId,
                    self.client.transport.kind,
                    problem,
                )
