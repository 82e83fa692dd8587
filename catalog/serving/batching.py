"""Request batching: concurrent invocations of one model scored together in one predict call.

A model answers 50 one-row requests much faster as one 50-row predict than as 50 calls, and
CPU-bound models gain nothing from running side by side. So a :class:`Batcher` keeps one predict
in flight: requests that arrive while it runs queue up and form the next batch. Under concurrent
load (the last batch held several requests, or several are queued) an idle batcher waits at most
``max_wait_ms`` after the first request for more (or until ``max_batch_rows`` are queued); a lone
request with no sign of company is scored at once, so a quiet endpoint pays no batching delay.
Only requests with the same columns, dtypes and params are scored together, so a batched answer
is the answer the request would have got alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from catalog.errors import InvalidRequest
from catalog.serving.inputs import to_predictions

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class _Request:
    data: Any
    params: dict[str, Any] | None
    rows: int
    key: Hashable
    future: asyncio.Future[list[Any]]
    queued_at: float


class Batcher:
    """Scores submitted frames through ``predict``, gathering concurrent ones into batches.

    Args:
        predict: the model's predict, ``predict(data)`` or ``predict(data, params)`` when a
            request has params; it runs in ``executor``, never on the event loop.
        max_batch_rows: the most rows in one batch; a larger request runs alone. 1 turns
            batching off.
        max_wait_ms: how long an idle batcher waits for company after the first request; 0 turns
            batching off (each request is predicted alone).
        executor: where predict runs; the running loop's default thread pool when None.

    Attributes:
        requests: frames submitted so far.
        batches: predict calls made so far (a batch that fell back adds one per request).
        fallbacks: batches whose combined predict failed and were scored request by request.

    The batcher binds to no event loop when built: it attaches to the loop of the first
    ``submit`` (and to a new loop once the old one is idle or closed).

    Raises:
        InvalidRequest: ``INVALID_PARAMETER_VALUE`` for ``max_batch_rows`` < 1 or ``max_wait_ms`` < 0.
    """

    def __init__(
        self,
        predict: Callable[..., Any],
        *,
        max_batch_rows: int = 64,
        max_wait_ms: float = 2.0,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        check_batch_settings(max_batch_rows, max_wait_ms)
        self.max_batch_rows = max_batch_rows
        self.max_wait_ms = max_wait_ms
        self.requests = 0
        self.batches = 0
        self.fallbacks = 0
        self._last_batch_requests = 0  # how many requests the latest batch held: a sign of concurrent load
        self._predict = predict
        self._executor = executor
        self._batching = max_batch_rows > 1 and max_wait_ms > 0
        self._queue: deque[_Request] = deque()
        self._queued_rows = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task[None] | None = None
        self._full: asyncio.Event | None = None

    async def submit(self, frame: pd.DataFrame | np.ndarray, params: dict[str, Any] | None = None) -> list[Any]:
        """This frame's predictions, as :func:`~catalog.serving.inputs.to_predictions` gives them.

        Raises:
            Exception: whatever ``predict`` raised for this frame (scored alone, when its batch failed).
        """
        loop = asyncio.get_running_loop()
        full = self._attach(loop)
        request = _Request(
            data=frame,
            params=params or None,
            rows=len(frame),
            key=_batch_key(frame, params or None),
            future=loop.create_future(),
            queued_at=loop.time(),
        )
        self.requests += 1
        self._queue.append(request)
        self._queued_rows += request.rows
        if self._worker is None:
            self._worker = loop.create_task(self._work())
        elif self._queued_rows >= self.max_batch_rows:
            full.set()
        return await request.future

    def _attach(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event:
        if self._loop is not loop or self._full is None:
            old = self._loop
            if old is not None and not old.is_closed() and self._worker is not None and not self._worker.done():
                raise RuntimeError("This Batcher is busy on another event loop; use one batcher per loop.")
            # Anything queued on a closed loop has no one waiting for it any more.
            self._queue.clear()
            self._queued_rows = 0
            self._worker = None
            self._loop = loop
            self._full = asyncio.Event()
        return self._full

    async def _work(self) -> None:
        try:
            while self._queue:
                await self._wait_for_company()
                batch = self._take_batch()
                if batch:
                    self._last_batch_requests = len(batch)
                    await self._run(batch)
        finally:
            self._worker = None
            # Left over only when the loop cancels this task (shutdown): release the waiters.
            for request in self._queue:
                request.future.cancel()
            self._queue.clear()
            self._queued_rows = 0

    async def _wait_for_company(self) -> None:
        if not self._batching or self._full is None:
            return
        if self._last_batch_requests <= 1 and len(self._queue) == 1:
            return  # no sign of concurrent callers: a lone request is answered at once
        loop = asyncio.get_running_loop()
        deadline = self._queue[0].queued_at + self.max_wait_ms / 1000
        while self._queued_rows < self.max_batch_rows:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._full.clear()
            try:
                await asyncio.wait_for(self._full.wait(), remaining)
            except TimeoutError:
                return

    def _take_batch(self) -> list[_Request]:
        """The oldest request plus the next ones that share its key and fit; the rest stay queued in order."""
        batch: list[_Request] = []
        rows = 0
        passed_over: list[_Request] = []
        while self._queue:
            request = self._queue.popleft()
            if request.future.done():  # its caller went away
                self._queued_rows -= request.rows
                continue
            if batch and (request.key != batch[0].key or rows + request.rows > self.max_batch_rows):
                passed_over.append(request)
                continue
            batch.append(request)
            rows += request.rows
            self._queued_rows -= request.rows
            if not self._batching or rows >= self.max_batch_rows:
                break
        self._queue.extendleft(reversed(passed_over))
        return batch

    async def _run(self, batch: list[_Request]) -> None:
        try:
            if len(batch) > 1:
                self.batches += 1
                try:
                    parts = await self._in_thread(self._score_together, batch)
                except Exception as failure:
                    # One bad request must not fail its neighbours: each is scored alone below,
                    # and a request that fails again gets its own error.
                    logger.debug("a batch of %d requests failed (%r); scoring them one by one", len(batch), failure)
                    self.fallbacks += 1
                else:
                    for request, part in zip(batch, parts, strict=True):
                        _resolve(request.future, part)
                    return
            for request in batch:
                if request.future.done():
                    continue
                self.batches += 1
                try:
                    result = await self._in_thread(self._score_alone, request)
                except Exception as exc:  # handed to this request's caller
                    if not request.future.done():
                        request.future.set_exception(exc)
                else:
                    _resolve(request.future, result)
        except BaseException:
            for request in batch:
                request.future.cancel()
            raise

    async def _in_thread(self, function: Callable[[Any], Any], argument: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, argument)

    def _score_alone(self, request: _Request) -> list[Any]:
        return to_predictions(self._call(request.data, request.params))

    def _score_together(self, batch: list[_Request]) -> list[list[Any]]:
        first = batch[0].data
        parts = [request.data for request in batch]
        data = pd.concat(parts, ignore_index=True) if isinstance(first, pd.DataFrame) else np.concatenate(parts)
        predictions = to_predictions(self._call(data, batch[0].params))
        total = sum(request.rows for request in batch)
        if len(predictions) != total:
            raise ValueError(f"the model returned {len(predictions)} predictions for {total} rows")
        split, start = [], 0
        for request in batch:
            split.append(predictions[start : start + request.rows])
            start += request.rows
        return split

    def _call(self, data: Any, params: dict[str, Any] | None) -> Any:
        return self._predict(data) if params is None else self._predict(data, params)


def check_batch_settings(max_batch_rows: int, max_wait_ms: float) -> None:
    """Refuse batching settings a :class:`Batcher` cannot work with.

    Raises:
        InvalidRequest: ``INVALID_PARAMETER_VALUE`` for ``max_batch_rows`` < 1 or ``max_wait_ms`` < 0.
    """
    if not isinstance(max_batch_rows, int) or isinstance(max_batch_rows, bool) or max_batch_rows < 1:
        raise InvalidRequest(
            f"max_batch_rows must be a whole number of at least 1; got {max_batch_rows!r}.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    if isinstance(max_wait_ms, bool) or not isinstance(max_wait_ms, int | float) or not 0 <= max_wait_ms < float("inf"):
        raise InvalidRequest(
            f"max_wait_ms must be a number of milliseconds, 0 or more; got {max_wait_ms!r}.",
            error_code="INVALID_PARAMETER_VALUE",
        )


def _batch_key(data: Any, params: dict[str, Any] | None) -> Hashable:
    """Requests with equal keys can be concatenated without changing any column's dtype."""
    settings = None if params is None else json.dumps(params, sort_keys=True, default=repr)
    if isinstance(data, pd.DataFrame):
        return ("frame", tuple(data.columns), tuple(str(dtype) for dtype in data.dtypes), settings)
    if isinstance(data, np.ndarray) and data.ndim >= 1:
        return ("array", data.shape[1:], data.dtype.str, settings)
    return object()  # anything else is scored alone


def _resolve(future: asyncio.Future[list[Any]], result: list[Any]) -> None:
    if not future.done():
        future.set_result(result)
