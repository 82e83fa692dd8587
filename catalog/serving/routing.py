"""Traffic split: each request goes to one served entity, drawn by its percentage."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Mapping

from catalog.errors import InvalidRequest


class TrafficRouter:
    """Picks a route per request, independently, with the given percentages.

    Args:
        routes: route name -> percentage, whole numbers from 0 to 100 adding up to 100. A route
            at 0 is kept (it is configured) but never chosen.
        rng: the random source; a fresh ``random.Random()`` when None.

    Raises:
        InvalidRequest: ``INVALID_PARAMETER_VALUE`` for no routes, a percentage that is not a whole
            number from 0 to 100, or percentages that do not add up to 100.
    """

    def __init__(self, routes: Mapping[str, int], rng: random.Random | None = None) -> None:
        if not routes:
            raise _invalid("A traffic split needs at least one route.")
        for name, percent in routes.items():
            if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
                raise _invalid(
                    f"The traffic percentage of route '{name}' must be a whole number from 0 to 100; got {percent!r}."
                )
        total = sum(routes.values())
        if total != 100:
            shares = ", ".join(f"{name}: {percent}" for name, percent in routes.items())
            raise _invalid(f"Traffic percentages must add up to 100; these add up to {total} ({shares}).")
        self._routes = dict(routes)
        self._rng = rng or random.Random()
        self._names: list[str] = []
        self._bounds: list[int] = []
        for name, percent in routes.items():
            if percent:
                self._names.append(name)
                self._bounds.append((self._bounds[-1] if self._bounds else 0) + percent)

    @property
    def routes(self) -> dict[str, int]:
        """Route name -> percentage, as configured."""
        return dict(self._routes)

    def choose(self) -> str:
        """The route for one request."""
        if len(self._names) == 1:
            return self._names[0]
        return self._names[bisect_right(self._bounds, self._rng.randrange(100))]


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(message, error_code="INVALID_PARAMETER_VALUE")
