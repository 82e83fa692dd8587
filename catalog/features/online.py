"""Online feature lookups: the latest row of every key of a feature table, held in memory.

Serving looks features up once per request, where a DuckDB query (~2 ms here) is too slow.
The first lookup of a table loads the latest row of every key in one query and indexes it by
key; later lookups are a pandas ``reindex`` (tens of microseconds). An entry is valid for the
engine's data generation it was loaded at: any committed write bumps the generation, so the
next lookup reloads — never a stale value, at the cost of reloading after unrelated writes.
Authorization stays with the caller (SELECT on the table is checked on every lookup).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class _Entry:
    generation: int
    keys: tuple[str, ...]
    frame: pd.DataFrame  # indexed by the key column(s); the key columns are the index


class LatestValueCache:
    """Latest rows per key, per table, per data generation. Thread-safe; one per process."""

    def __init__(self, max_tables: int = 64) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()
        self._max_tables = max_tables

    def lookup(
        self,
        scope: str,
        table_id: str,
        generation: int,
        keys: Sequence[str],
        key_values: Sequence[tuple[Any, ...]],
        load: Callable[[], pd.DataFrame],
    ) -> pd.DataFrame:
        """One row per requested key, in request order: the key columns, then the rest of the
        loaded columns (nulls for a key without rows). ``load`` runs when the entry is missing
        or from an older generation; ``scope`` separates homes."""
        entry = self._entries.get((scope, table_id))
        if entry is None or entry.generation != generation or entry.keys != tuple(keys):
            entry = _Entry(generation, tuple(keys), _indexed(load(), keys))
            with self._lock:
                if len(self._entries) >= self._max_tables:
                    self._entries.pop(next(iter(self._entries)))
                self._entries[(scope, table_id)] = entry
        if len(keys) == 1:
            wanted = pd.Index([values[0] for values in key_values], name=keys[0])
        else:
            wanted = pd.MultiIndex.from_tuples([tuple(v) for v in key_values], names=list(keys))
        return entry.frame.reindex(wanted).reset_index()


def _indexed(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    return frame.set_index(list(keys)).sort_index()


CACHE = LatestValueCache()
