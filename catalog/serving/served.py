"""One served entity: its model's lifecycle (load on first use, scale to zero) and its batcher.

States: ``NOT_LOADED`` (never loaded), ``LOADING``, ``READY``, and ``SCALED_TO_ZERO`` (was loaded,
unloaded for idleness; the next request loads it again, a cold start).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from catalog.errors import InvalidRequest
from catalog.serving.batching import Batcher, check_batch_settings

NOT_LOADED = "NOT_LOADED"
LOADING = "LOADING"
READY = "READY"
SCALED_TO_ZERO = "SCALED_TO_ZERO"


class ServedModel:
    """A model behind an endpoint, loaded once on first use and scored through a :class:`Batcher`.

    Args:
        name: the served entity's name (for errors and status pages).
        load: returns the loaded model, an object with ``predict(data[, params])`` (a
            ``PyFuncModel`` in production). It may take seconds; it runs in a thread.
        scale_to_zero: whether :meth:`unload_if_idle` may unload the model.
        idle_seconds: how long without requests before the model may be unloaded.
        max_batch_rows, max_wait_ms: the batcher's settings (see :class:`Batcher`).
        clock: seconds on a monotonic clock; idleness is measured with it.

    Attributes:
        cold_starts: loads after the first successful one (each follows a scale to zero).
        requests: predictions asked of this entity so far.
    """

    def __init__(
        self,
        name: str,
        load: Callable[[], Any],
        *,
        scale_to_zero: bool = False,
        idle_seconds: float = 300.0,
        max_batch_rows: int = 64,
        max_wait_ms: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if idle_seconds < 0:
            raise InvalidRequest(
                f"idle_seconds of served entity '{name}' must be 0 or more; got {idle_seconds!r}.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        check_batch_settings(max_batch_rows, max_wait_ms)
        self.name = name
        self.scale_to_zero = scale_to_zero
        self.idle_seconds = idle_seconds
        self.max_batch_rows = max_batch_rows
        self.max_wait_ms = max_wait_ms
        self.cold_starts = 0
        self.requests = 0
        self._load = load
        self._clock = clock
        self._model: Any = None
        self._batcher: Batcher | None = None
        self._loading: asyncio.Task[Batcher] | None = None
        self._ever_loaded = False
        self._in_flight = 0
        self._retired_batches = 0
        self._last_used = clock()
        self._loaded_at: float | None = None  # wall clock, for status pages
        self._last_used_at: float | None = None

    @property
    def state(self) -> str:
        """``NOT_LOADED``, ``LOADING``, ``READY`` or ``SCALED_TO_ZERO``."""
        if self._model is not None:
            return READY
        if self._loading is not None:
            return LOADING
        return SCALED_TO_ZERO if self._ever_loaded else NOT_LOADED

    @property
    def model(self) -> Any:
        """The loaded model (for its signature), or None when not loaded."""
        return self._model

    @property
    def batches(self) -> int:
        """Predict calls made so far, across loads."""
        return self._retired_batches + (self._batcher.batches if self._batcher else 0)

    async def predict(self, frame: pd.DataFrame | np.ndarray, params: dict[str, Any] | None = None) -> list[Any]:
        """Predictions for ``frame``, loading the model first when it is not loaded.

        Concurrent first requests share one load. While the model loads, the caller waits.

        Raises:
            Exception: the loader's exception when loading fails (the next request tries again),
                or what the model's predict raised for this frame.
        """
        self.requests += 1
        self._in_flight += 1
        self._touch()
        try:
            batcher = self._batcher or await self._loaded()
            return await batcher.submit(frame, params)
        finally:
            self._in_flight -= 1
            self._touch()

    async def warm(self) -> None:
        """Load the model now unless it is loaded (so a new config is ready before it takes traffic).

        Raises:
            Exception: the loader's exception; the state stays as it was.
        """
        if self._batcher is None:
            await self._loaded()

    async def unload_if_idle(self) -> bool:
        """Unload the model when scale to zero is on, it has been idle longer than ``idle_seconds``
        and no request is in flight.

        Returns:
            True when it was unloaded (the state is now ``SCALED_TO_ZERO``).
        """
        idle = self._clock() - self._last_used
        if not self.scale_to_zero or self._model is None or self._in_flight or idle <= self.idle_seconds:
            return False
        if self._batcher is not None:
            self._retired_batches += self._batcher.batches
        self._model = None
        self._batcher = None
        self._loaded_at = None
        return True

    def describe(self) -> dict[str, Any]:
        """The entity's status: name, state, loaded_at and last_used_at (Unix epoch milliseconds or
        None), cold_starts, requests and batches."""
        return {
            "name": self.name,
            "state": self.state,
            "loaded_at": _epoch_ms(self._loaded_at),
            "last_used_at": _epoch_ms(self._last_used_at),
            "cold_starts": self.cold_starts,
            "requests": self.requests,
            "batches": self.batches,
        }

    async def _loaded(self) -> Batcher:
        if self._loading is None:
            self._loading = asyncio.get_running_loop().create_task(self._load_in_thread())
        # Shielded: a caller that goes away must not abort the load the others wait for.
        return await asyncio.shield(self._loading)

    async def _load_in_thread(self) -> Batcher:
        try:
            model = await asyncio.get_running_loop().run_in_executor(None, self._load)
        finally:
            self._loading = None
        if self._ever_loaded:
            self.cold_starts += 1
        self._ever_loaded = True
        self._model = model
        self._batcher = Batcher(model.predict, max_batch_rows=self.max_batch_rows, max_wait_ms=self.max_wait_ms)
        self._loaded_at = time.time()
        self._last_used = self._clock()  # the idle timer starts with the load, not with the last request
        return self._batcher

    def _touch(self) -> None:
        self._last_used = self._clock()
        self._last_used_at = time.time()

    def __repr__(self) -> str:
        return f"ServedModel(name='{self.name}', state='{self.state}')"


def _epoch_ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)
