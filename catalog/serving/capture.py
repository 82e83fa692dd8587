"""A background batch writer: request handlers hand over rows, a daemon thread writes them in batches.

Used for inference tables and usage rows, where a request must never wait on (or fail because of)
the write. Rows are passed to the sink in the order they were put.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

__all__ = ["BackgroundWriter"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class BackgroundWriter(Generic[T]):
    """Queue items from any thread; a daemon thread passes them to ``sink`` in batches, in order.

    A batch is written as soon as ``max_rows`` items are queued, or ``max_delay_s`` after the oldest
    queued item was put, whichever comes first (and at once on ``flush`` or ``close``).

    ``put`` never blocks: when ``max_queue`` items are waiting, new items are dropped, counted in
    ``dropped`` and logged once per burst of drops. A sink that raises is called again with the same
    batch after ``retry_delay_s``; if it raises again the batch is dropped, the error logged and
    counted in ``failed_batches``, and the writer goes on with the next batch.

    Counters (read them any time): ``written`` items the sink accepted, ``failed_batches`` batches
    given up after the retry, ``dropped`` items refused because the queue was full.

    Args:
        sink: called with a new list of 1 to ``max_rows`` items, from the writer thread only.
        max_rows: largest batch, at least 1.
        max_delay_s: longest time an item waits for its batch to fill, 0 or more.
        max_queue: most items waiting to be written, at least 1.
        name: names the thread and the log messages.
        retry_delay_s: pause before retrying a batch the sink refused.

    Raises:
        ValueError: a size or delay out of range.
    """

    def __init__(
        self,
        sink: Callable[[list[T]], None],
        *,
        max_rows: int = 500,
        max_delay_s: float = 0.5,
        max_queue: int = 100_000,
        name: str = "capture",
        retry_delay_s: float = 0.2,
    ) -> None:
        if max_rows < 1 or max_queue < 1:
            raise ValueError(f"max_rows and max_queue must be 1 or more, got {max_rows} and {max_queue}")
        if max_delay_s < 0 or retry_delay_s < 0:
            raise ValueError(f"max_delay_s and retry_delay_s must be 0 or more, got {max_delay_s} and {retry_delay_s}")
        self.name = name
        self._sink = sink
        self._max_rows = max_rows
        self._max_delay_s = max_delay_s
        self._max_queue = max_queue
        self._retry_delay_s = retry_delay_s

        self._cond = threading.Condition()
        self._queue: deque[tuple[float, T]] = deque()  # (monotonic time put, item)
        self._accepted = 0  # items ever queued
        self._handled = 0  # items ever taken off the queue and passed to the sink (written or failed)
        self._flush_upto = 0  # write at once until _handled reaches this
        self._closing = False
        self._dropping = False  # inside a burst of drops: logged already
        self.written = 0
        self.failed_batches = 0
        self.dropped = 0

        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        """Queue ``item`` for writing; never blocks. Drops it (see ``dropped``) if the queue is full.

        Raises:
            RuntimeError: the writer is closed.
        """
        with self._cond:
            if self._closing:
                raise RuntimeError(f"BackgroundWriter {self.name!r} is closed; no more items can be put")
            burst_starts = False
            if len(self._queue) >= self._max_queue:
                self.dropped += 1
                burst_starts, self._dropping = not self._dropping, True
            else:
                self._dropping = False
                self._queue.append((time.monotonic(), item))
                self._accepted += 1
                # Wake the writer only when its wait could end: a first item starts the clock, a full batch is due.
                if len(self._queue) == 1 or len(self._queue) == self._max_rows:
                    self._cond.notify_all()
        if burst_starts:  # logged outside the lock: a slow log handler must not hold up other producers
            logger.warning(
                "%s: queue full (%d items); dropping items until the writer catches up (the sink is too slow or down)",
                self.name,
                self._max_queue,
            )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every item put so far has been passed to the sink.

        Returns:
            True when they all have (written, or given up after a failing retry), False if
            ``timeout`` seconds passed first.
        """
        with self._cond:
            target = self._accepted
            self._flush_upto = max(self._flush_upto, target)
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._handled >= target, timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Refuse further items, write those queued, and stop the writer thread. Idempotent.

        Returns:
            True when everything was passed to the sink and the thread stopped within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    def __enter__(self) -> BackgroundWriter[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writer thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                batch = self._next_batch()
            if batch is None:
                return
            self._write(batch)
            with self._cond:
                self._handled += len(batch)
                self._cond.notify_all()

    def _next_batch(self) -> list[T] | None:
        """Wait (holding the condition) until a batch is due; None once closed and drained."""
        while True:
            if not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
                continue
            due = self._closing or len(self._queue) >= self._max_rows or self._flush_upto > self._handled
            wait = self._queue[0][0] + self._max_delay_s - time.monotonic()
            if due or wait <= 0:
                count = min(self._max_rows, len(self._queue))
                return [self._queue.popleft()[1] for _ in range(count)]
            self._cond.wait(wait)

    def _write(self, batch: list[T]) -> None:
        try:
            self._sink(list(batch))  # a copy each time: the sink may keep or change its list
        except Exception as exc:
            logger.warning("%s: sink failed on a batch of %d items (%r); retrying once", self.name, len(batch), exc)
            time.sleep(self._retry_delay_s)
            try:
                self._sink(list(batch))
            except Exception as again:  # logged with its traceback and counted: the writer must go on
                logger.exception(
                    "%s: sink failed twice (%r); dropping a batch of %d items", self.name, again, len(batch)
                )
                with self._cond:
                    self.failed_batches += 1
                return
        with self._cond:
            self.written += len(batch)
