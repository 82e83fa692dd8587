"""Point-in-time feature joins in DuckDB: training sets as of each label row, and latest values for serving.

This module is the engine only: it reads relations it is given (already resolved and authorized
by the caller) over one DuckDB connection, and computes everything in SQL. Identifiers are always
quoted; values (defaults, lookback windows, key values) are always bound as parameters.

Semantics of :func:`point_in_time_join`, per lookup and label row:

* **As of the label row.** With a timestamp lookup key, the label row gets the feature row with the
  same key(s) and the latest feature timestamp *at or before* the label timestamp (an equal
  timestamp counts); never a row from after it. No such row: nulls (or the defaults).
* **Lookback.** With a ``lookback`` window, a feature row older than ``label_ts - lookback`` is not
  used (a row exactly at ``label_ts - lookback`` is); the label gets nulls (or the defaults).
* **No timestamp lookup key.** A plain key join to one row per key: the latest row of the key when
  the feature table has a timestamp column (what :func:`latest_values` serves), else the key's row.
* **Ties.** Two feature rows with the same key(s) and the same timestamp (or, without a
  timestamp, the same key(s)) should not exist in a feature table; when they do, the row stored
  last (the highest DuckDB ``rowid``, i.e. the last one appended) wins, every time. When the
  table's PRIMARY KEY already rules ties out, that step (a window over the table) is skipped.
* **Nulls.** A label row with a null key or a null timestamp gets nulls (or the defaults). Feature
  rows with a null key or a null timestamp are never used.
* **Defaults.** ``defaults`` (by feature name) replace a null output value, whatever its reason: no
  matching row, outside the lookback window, a null label key or timestamp, or a null stored in
  the matched row. A default is cast to the feature column's type; one that cannot be is refused.
* **Output.** Exactly the label rows, in their order (duplicates included: a left join that never
  multiplies rows), with a fresh ``RangeIndex``; the label columns in order, then each lookup's
  outputs in order, less ``exclude_columns``.

Timestamps: each side may be ``DATE``, ``TIMESTAMP`` (also ``TIMESTAMP_S``/``_MS``/``_NS``) or
``TIMESTAMP WITH TIME ZONE``. Two columns of the same type compare as stored. Otherwise both are
read as microsecond timestamps: a ``DATE`` is its midnight, a ``TIMESTAMP_NS`` is floored to the
microsecond, and when either side has a time zone a naive value is read as UTC (never in the
session's ``TimeZone``). Flooring is exact for a nanosecond *label* column; a nanosecond *feature*
column compared with a coarser label column may match a row less than 1 µs after the label.
Lookback boundaries are computed at microsecond precision, in elapsed time (a day is 24 hours).
Any other type is refused with ``DATATYPE_MISMATCH``, as are key columns of different kinds
(numbers match numbers, strings match strings, any other type only itself).

Relations are DuckDB *tables* named by dot-separated parts (``managed.t_abc``): ``rowid`` orders
ties, so a view is refused by DuckDB.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from catalog.errors import InvalidRequest, NotFound
from catalog.store.database import fetch_frame, registered

TIMESTAMP_TZ = "TIMESTAMP WITH TIME ZONE"
TIME_TYPES = frozenset({"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", TIMESTAMP_TZ})
_NUMBERS = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
_LABELS = "__pit_l"  # the label relation's alias in the training query


def _names(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class ResolvedLookup:
    """One feature lookup, resolved against its table by the caller (names checked, access granted).

    Attributes:
        relation: the DuckDB table holding the features, as dot-separated parts (``managed.t_abc``).
        keys: the table's primary key columns (without the timestamp column).
        timestamp: the table's timestamp key column, or ``None`` for a table without one.
        lookup_key: the label frame's columns matched to ``keys``, position by position.
        timestamp_lookup_key: the label frame's timestamp column, or ``None`` for a key-only join.
        features: the table's columns to look up.
        output_names: the output column of each feature (``rename_outputs`` applied).
        defaults: by feature name (as in ``features``), the value that replaces a null output.
        lookback: the oldest a feature row may be, relative to the label row; ``None`` for no limit.
        name: the table's catalog name, used in error messages (defaults to ``relation``).
    """

    relation: str
    keys: tuple[str, ...]
    timestamp: str | None
    lookup_key: tuple[str, ...]
    timestamp_lookup_key: str | None
    features: tuple[str, ...]
    output_names: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    lookback: timedelta | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        for name in ("keys", "lookup_key", "features", "output_names"):  # any sequence of names; stored as tuples
            object.__setattr__(self, name, _names(getattr(self, name)))
        shown = self.display_name
        if not self.keys:
            raise InvalidRequest(f"The feature table '{shown}' has no primary key columns to look up by.")
        if len(self.lookup_key) != len(self.keys):
            raise InvalidRequest(
                f"lookup_key {list(self.lookup_key)} names {len(self.lookup_key)} column(s), but the feature "
                f"table '{shown}' has {len(self.keys)} primary key column(s) {list(self.keys)}; give one "
                "label column per key column, in the same order."
            )
        if len(self.output_names) != len(self.features):
            raise InvalidRequest(
                f"{len(self.features)} feature(s) of '{shown}' but {len(self.output_names)} output name(s)."
            )
        unknown = sorted(k for k in self.defaults if k.lower() not in {f.lower() for f in self.features})
        if unknown:
            raise InvalidRequest(
                f"default_values names {unknown}, which are not features looked up from '{shown}' "
                f"({list(self.features)})."
            )
        if self.timestamp_lookup_key is not None and self.timestamp is None:
            raise InvalidRequest(
                f"timestamp_lookup_key '{self.timestamp_lookup_key}' is given, but the feature table "
                f"'{shown}' has no timestamp key; drop timestamp_lookup_key for a plain key lookup."
            )
        if self.lookback is not None:
            if self.timestamp_lookup_key is None:
                raise InvalidRequest(f"lookback_window needs a timestamp_lookup_key (lookup on '{shown}' has none).")
            if not isinstance(self.lookback, timedelta) or self.lookback < timedelta(0):
                raise InvalidRequest(f"lookback_window must be a timedelta of zero or more, not {self.lookback!r}.")

    @property
    def display_name(self) -> str:
        return self.name or self.relation

    @property
    def as_of(self) -> bool:
        """Whether this lookup joins as of the label's timestamp (else one row per key)."""
        return self.timestamp_lookup_key is not None


# -- training sets -------------------------------------------------------------------------------
def point_in_time_join(
    connection: duckdb.DuckDBPyConnection,
    labels: pd.DataFrame,
    lookups: Sequence[ResolvedLookup],
    *,
    exclude_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Join each label row with its features as of the row's timestamp, in one DuckDB statement.

    Args:
        connection: the DuckDB connection (or cursor) the feature tables are read on.
        labels: the label rows; registered on ``connection`` under a unique name while the query runs.
        lookups: the feature lookups, in output order.
        exclude_columns: output columns (label columns or feature outputs) to leave out.

    Returns:
        One row per label row, in the label frame's order: its columns, then every lookup's outputs.

    Raises:
        InvalidRequest: ``UNRESOLVED_COLUMN`` for a column that is not there,
            ``DATATYPE_MISMATCH`` for key or timestamp columns that cannot be compared,
            ``COLUMN_ALREADY_EXISTS`` for two output columns of the same name, and
            ``INVALID_PARAMETER_VALUE`` for a default the feature's type cannot hold.
        NotFound: a lookup's relation does not exist.
    """
    _check_label_frame(labels)
    row_number = f"__pit_row_{uuid.uuid4().hex}"
    view = f"__pit_labels_{uuid.uuid4().hex}"
    framed = labels.assign(**{row_number: np.arange(len(labels), dtype=np.int64)})
    with registered(connection, {view: framed}):
        label_columns = _describe(connection, quote(view), "the label DataFrame")
        joins = [_LookupSql(connection, i, lookup, label_columns) for i, lookup in enumerate(lookups)]
        outputs = _outputs(list(labels.columns), joins, exclude_columns)
        if not outputs:
            return pd.DataFrame(index=pd.RangeIndex(len(labels)))
        label_names = {c.lower() for c in labels.columns}
        features = [(name, sql) for name, sql in outputs if name.lower() not in label_names]
        sql, params = _training_sql(view, row_number, features, joins)
        joined = fetch_frame(connection, sql, params)
    return _in_label_order(labels, joined, row_number, [name for name, _ in outputs])


def _in_label_order(labels: pd.DataFrame, joined: pd.DataFrame, row_number: str, columns: list[str]) -> pd.DataFrame:
    """The label columns as given, beside the joined feature columns put back in label order.

    DuckDB's ASOF join returns rows in its own order; an ORDER BY the label row number costs a
    second sort of every row, where placing each row at its number is one pass (a permutation).
    """
    positions = joined.pop(row_number).to_numpy()
    order = np.empty(len(positions), dtype=np.int64)
    order[positions] = np.arange(len(positions), dtype=np.int64)
    features = joined.take(order).reset_index(drop=True)
    kept = [c for c in labels.columns if c in columns]
    result = pd.concat([labels[kept].reset_index(drop=True), features], axis=1)
    return result[columns] if list(result.columns) != columns else result


def _check_label_frame(labels: pd.DataFrame) -> None:
    if not isinstance(labels, pd.DataFrame):
        raise InvalidRequest(f"The label rows must be a pandas DataFrame, not {type(labels).__name__}.")
    if any(not isinstance(c, str) for c in labels.columns):
        raise InvalidRequest("Every column of the label DataFrame must have a string name.")
    names = [c.lower() for c in labels.columns]
    if len(set(names)) != len(names):
        duplicates = sorted({c for c in labels.columns if names.count(c.lower()) > 1})
        raise InvalidRequest(
            f"The label DataFrame has duplicate columns {duplicates} (names are case-insensitive).",
            error_code="COLUMN_ALREADY_EXISTS",
        )


class _LookupSql:
    """The SQL pieces of one lookup: its feature CTE, its join, its output expressions, its parameters."""

    def __init__(
        self, connection: duckdb.DuckDBPyConnection, index: int, lookup: ResolvedLookup, labels: dict[str, Column]
    ) -> None:
        self.lookup = lookup
        self.index = index
        self.alias = f"__pit_f{index}"
        self.params: dict[str, Any] = {}
        if lookup.lookback is not None:
            self.params[f"lookback{index}"] = lookup.lookback // timedelta(microseconds=1)
        name = lookup.display_name
        table = _describe(connection, quote_relation(lookup.relation), f"the feature table '{name}'", missing=NotFound)
        keys = [_column(table, k, f"the feature table '{name}'") for k in lookup.keys]
        label_keys = [_column(labels, k, "the label DataFrame (lookup_key)") for k in lookup.lookup_key]
        for key, label_key in zip(keys, label_keys, strict=True):
            if _key_kind(key.type) != _key_kind(label_key.type):
                raise InvalidRequest(
                    f"The label column '{label_key.name}' ({label_key.type}) cannot be matched with the key "
                    f"'{key.name}' ({key.type}) of '{name}'; cast one of them so both are numbers, strings, "
                    "or the same type.",
                    error_code="DATATYPE_MISMATCH",
                )
        self.features = [_column(table, f, f"the feature table '{name}'") for f in lookup.features]
        given = {k.lower(): v for k, v in lookup.defaults.items()}  # by the table's spelling of each feature
        self.defaults = {f.name: given[f.name.lower()] for f in self.features if f.name.lower() in given}
        self.label_keys = label_keys
        self.time = _column(table, lookup.timestamp, f"the feature table '{name}'") if lookup.timestamp else None
        self.label_time: Column | None = None
        if lookup.timestamp_lookup_key is not None:
            assert self.time is not None  # ResolvedLookup refuses a timestamp lookup key without one
            self.label_time = _column(labels, lookup.timestamp_lookup_key, "the label DataFrame (timestamp_lookup_key)")
            for column, side in ((self.label_time, "label column"), (self.time, f"timestamp key of '{name}'")):
                if column.type not in TIME_TYPES:
                    raise InvalidRequest(
                        f"The {side} '{column.name}' is {column.type}; a point-in-time lookup needs DATE, "
                        "TIMESTAMP or TIMESTAMP WITH TIME ZONE.",
                        error_code="DATATYPE_MISMATCH",
                    )
        # A PRIMARY KEY within the columns a row is picked by already rules ties out.
        primary_key = {c.name.lower() for c in table.values() if c.primary_key}
        picked_by = {k.lower() for k in lookup.keys} | ({lookup.timestamp.lower()} if lookup.as_of else set())
        self.unique = bool(primary_key) and primary_key <= picked_by
        self._check_defaults(connection, name)

    def _check_defaults(self, connection: duckdb.DuckDBPyConnection, name: str) -> None:
        relation = quote_relation(self.lookup.relation)
        for j, feature in enumerate(self.features):
            if feature.name not in self.defaults:
                continue
            value = self.defaults[feature.name]
            try:
                connection.execute(
                    f"SELECT cast_to_type($value, (SELECT {quote(feature.name)} FROM {relation} LIMIT 0))",
                    {"value": value},
                ).fetchall()
            except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
                raise InvalidRequest(
                    f"The default {value!r} for feature '{feature.name}' of '{name}' cannot be a {feature.type}: "
                    f"{error}"
                ) from error
            self.params[f"default{self.index}_{j}"] = value

    def cte(self) -> str:
        relation = quote_relation(self.lookup.relation)
        keys = [quote(c) for c in self.lookup.keys]
        columns = [f"{k} AS {quote(f'__k{i}')}" for i, k in enumerate(keys)]
        not_null = [f"{k} IS NOT NULL" for k in keys]
        partition, order = list(keys), ["rowid DESC"]
        if self.time is not None:
            time = quote(self.time.name)
            not_null.append(f"{time} IS NOT NULL")
            if self.label_time is not None:
                columns.append(f"{_comparable(time, self.time.type, self.label_time.type)} AS {quote('__t')}")
                partition.append(time)
            else:
                order.insert(0, f"{time} DESC")
        columns += [f"{quote(f.name)} AS {quote(f'__v{j}')}" for j, f in enumerate(self.features)]
        sql = f"SELECT {', '.join(columns)} FROM {relation} WHERE {' AND '.join(not_null)}"
        if not self.unique:
            sql += f" QUALIFY row_number() OVER (PARTITION BY {', '.join(partition)} ORDER BY {', '.join(order)}) = 1"
        return f"{quote(self.alias)} AS ({sql})"

    def join(self) -> str:
        f = quote(self.alias)
        on = [f"{_LABELS}.{quote(k.name)} = {f}.{quote(f'__k{i}')}" for i, k in enumerate(self.label_keys)]
        if self.label_time is None:
            return f"LEFT JOIN {f} ON {' AND '.join(on)}"
        on.append(f"{f}.{quote('__t')} <= {self._label_time_sql()}")
        return f"ASOF LEFT JOIN {f} ON {' AND '.join(on)}"

    def _label_time_sql(self) -> str:
        assert self.label_time is not None and self.time is not None
        return _comparable(f"{_LABELS}.{quote(self.label_time.name)}", self.label_time.type, self.time.type)

    def outputs(self) -> list[tuple[str, str]]:
        """(output name, SQL expression) per feature."""
        f = quote(self.alias)
        result = []
        for j, (feature, output) in enumerate(zip(self.features, self.lookup.output_names, strict=True)):
            value = f"{f}.{quote(f'__v{j}')}"
            if self.lookup.lookback is not None:
                window_start = f"{self._label_time_sql()} - to_microseconds($lookback{self.index})"
                value = f"CASE WHEN {f}.{quote('__t')} >= {window_start} THEN {value} END"
            if feature.name in self.defaults:
                value = f"COALESCE({value}, cast_to_type($default{self.index}_{j}, {f}.{quote(f'__v{j}')}))"
            result.append((output, value))
        return result


def _outputs(
    label_columns: list[str], joins: list[_LookupSql], exclude_columns: Sequence[str]
) -> list[tuple[str, str]]:
    """The output columns, (name, SQL), less the excluded ones; refuses duplicates and unknown exclusions."""
    outputs = [(c, f"{_LABELS}.{quote(c)}") for c in label_columns]
    for join in joins:
        outputs += join.outputs()
    seen: dict[str, str] = {}
    for name, _ in outputs:
        if name.lower() in seen:
            raise InvalidRequest(
                f"Two output columns are named '{name}' (names are case-insensitive); rename a feature with "
                "rename_outputs, or exclude the label column.",
                error_code="COLUMN_ALREADY_EXISTS",
            )
        seen[name.lower()] = name
    exclude_columns = _names(exclude_columns)
    excluded = {c.lower() for c in exclude_columns}
    unknown = sorted(c for c in exclude_columns if c.lower() not in seen)
    if unknown:
        raise InvalidRequest(
            f"exclude_columns names {unknown}, which are not output columns ({list(seen.values())}).",
            error_code="UNRESOLVED_COLUMN",
        )
    return [(name, sql) for name, sql in outputs if name.lower() not in excluded]


def _training_sql(
    view: str, row_number: str, outputs: list[tuple[str, str]], joins: list[_LookupSql]
) -> tuple[str, dict[str, Any]]:
    selected = ", ".join([f"{_LABELS}.{quote(row_number)}"] + [f"{sql} AS {quote(name)}" for name, sql in outputs])
    ctes = [j.cte() for j in joins if j.features]
    sql = f"WITH {', '.join(ctes)} " if ctes else ""
    sql += f"SELECT {selected} FROM {quote(view)} AS {_LABELS} "
    sql += " ".join(j.join() for j in joins if j.features)
    params: dict[str, Any] = {}
    for join in joins:
        params.update(join.params)
    return sql, params


# -- serving -------------------------------------------------------------------------------------
def latest_values(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    keys: Sequence[str],
    timestamp: str | None,
    features: Sequence[str],
    key_values: Sequence[tuple[Any, ...]],
) -> pd.DataFrame:
    """The latest row of each requested key (what online serving returns), one output row per request.

    The latest row has the greatest ``timestamp`` (rows with a null timestamp are never served);
    ties, and every row of a table without a timestamp, go to the row stored last. A key that has no
    row gets nulls. One key is one indexed lookup when the table has an ART index on its single key
    column (see :func:`create_key_index`); otherwise DuckDB scans the key column.

    Args:
        connection: the DuckDB connection (or cursor) the table is read on.
        relation: the DuckDB table, as dot-separated parts.
        keys: the table's primary key columns (without the timestamp column).
        timestamp: the table's timestamp key column, or ``None``.
        features: the columns to return.
        key_values: one tuple of key values per request, in the order of ``keys``.

    Returns:
        The key columns (the requested values, in the table's types), the timestamp column (if
        any), then ``features``; one row per request, in request order.

    Raises:
        InvalidRequest: a key tuple of the wrong length (``INVALID_PARAMETER_VALUE``), a column that
            is not there (``UNRESOLVED_COLUMN``), or key values of the wrong type.
        NotFound: the relation does not exist.
    """
    if not keys:
        raise InvalidRequest(f"The feature table '{relation}' has no primary key columns to look up by.")
    for values in key_values:
        if len(values) != len(keys):
            raise InvalidRequest(
                f"Key value {tuple(values)!r} has {len(values)} part(s); {list(keys)} needs {len(keys)}."
            )
    output = [*keys, *([timestamp] if timestamp else []), *features]
    try:
        if len(key_values) == 1:
            found = fetch_frame(connection, *_one_key_sql(relation, keys, timestamp, features, key_values[0]))
            if len(found):
                return found
            # A key without rows: the general query gives its row of nulls, typed as usual.
        return fetch_frame(connection, *_many_keys_sql(relation, keys, timestamp, features, key_values))
    except (duckdb.BinderException, duckdb.CatalogException, duckdb.ConversionException) as error:
        # Explain the failure precisely when the cause is ours to name; otherwise DuckDB's error stands.
        table = _describe(connection, quote_relation(relation), f"the feature table '{relation}'", missing=NotFound)
        for column in output:
            _column(table, column, f"the feature table '{relation}'")
        raise InvalidRequest(
            f"Cannot look up {list(keys)} = {list(key_values)[:3]!r}... in '{relation}': {error}"
        ) from error


def latest_rows(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    keys: Sequence[str],
    timestamp: str | None,
    features: Sequence[str],
) -> pd.DataFrame:
    """The latest row of every key (same rule as :func:`latest_values`), for an online cache:
    the key columns, the timestamp column (if any), then ``features``."""
    columns = [*keys, *([timestamp] if timestamp else []), *features]
    where = [f"{quote(k)} IS NOT NULL" for k in keys] + ([f"{quote(timestamp)} IS NOT NULL"] if timestamp else [])
    partition = ", ".join(quote(k) for k in keys)
    sql = (
        f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote_relation(relation)} "
        f"WHERE {' AND '.join(where)} "
        f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {_latest_first(timestamp)}) = 1"
    )
    return fetch_frame(connection, sql)


def _latest_first(timestamp: str | None, alias: str = "") -> str:
    """The order that puts a key's latest row first: its timestamp, then its position in storage."""
    order = f"{alias}rowid DESC"
    return f"{alias}{quote(timestamp)} DESC, {order}" if timestamp else order


def _one_key_sql(
    relation: str, keys: Sequence[str], timestamp: str | None, features: Sequence[str], values: tuple[Any, ...]
) -> tuple[str, dict[str, Any]]:
    # Equality filters only, and no aggregate: DuckDB answers a single-column key from its ART
    # index, and the query stays one pipeline. A key without rows returns no row at all.
    params = {f"k{i}": value for i, value in enumerate(values)}
    where = [f"{quote(k)} = $k{i}" for i, k in enumerate(keys)]
    if timestamp:
        where.append(f"{quote(timestamp)} IS NOT NULL")
    selected = ", ".join(quote(c) for c in [*keys, *([timestamp] if timestamp else []), *features])
    sql = (
        f"SELECT {selected} FROM {quote_relation(relation)} WHERE {' AND '.join(where)} "
        f"QUALIFY row_number() OVER (ORDER BY {_latest_first(timestamp)}) = 1"
    )
    return sql, params


def _many_keys_sql(
    relation: str,
    keys: Sequence[str],
    timestamp: str | None,
    features: Sequence[str],
    key_values: Sequence[tuple[Any, ...]],
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"pos": list(range(len(key_values)))}
    params |= {f"k{i}": [values[i] for values in key_values] for i in range(len(keys))}
    request = ", ".join(["unnest($pos) AS __pos", *(f"unnest($k{i}) AS __k{i}" for i in range(len(keys)))])
    f = "__pit_f."
    matched = " AND ".join(f"{f}{quote(k)} = __req.__k{i}" for i, k in enumerate(keys))
    values = [*([timestamp] if timestamp else []), *features]
    latest = [f"{f}{quote(k)} AS __k{i}" for i, k in enumerate(keys)]
    latest += [f"{f}{quote(c)} AS __v{j}" for j, c in enumerate(values)]
    where = f"WHERE {f}{quote(timestamp)} IS NOT NULL " if timestamp else ""
    partition = ", ".join(f"{f}{quote(k)}" for k in keys)
    selected = [f"cast_to_type(__req.__k{i}, __latest.__k{i}) AS {quote(k)}" for i, k in enumerate(keys)]
    selected += [f"__latest.__v{j} AS {quote(c)}" for j, c in enumerate(values)]
    joined = " AND ".join(f"__req.__k{i} = __latest.__k{i}" for i in range(len(keys)))
    sql = (
        f"WITH __req AS (SELECT {request}), "
        f"__latest AS (SELECT {', '.join(latest)} FROM {quote_relation(relation)} AS __pit_f "
        f"SEMI JOIN __req ON {matched} {where}"
        f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {_latest_first(timestamp, f)}) = 1) "
        f"SELECT {', '.join(selected)} FROM __req LEFT JOIN __latest ON {joined} ORDER BY __req.__pos"
    )
    return sql, params


def create_key_index(connection: duckdb.DuckDBPyConnection, relation: str, key: str) -> str:
    """Create an ART index on a feature table's single key column, so one-key lookups skip the scan.

    DuckDB answers ``key = value`` from such an index; it does not use one for composite keys or for
    several keys at once. The index lives as long as the table (a replaced table needs a new one).

    Returns:
        The index name (in the table's schema).
    """
    parts = _relation_parts(relation)
    index = f"__pit_key_{uuid.uuid4().hex[:12]}"
    connection.execute(f"CREATE INDEX {quote(index)} ON {quote_relation(relation)} ({quote(key)})")
    return ".".join([*parts[:-1], index])


# -- names, columns, types -----------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str  # as the relation spells it
    type: str  # DuckDB's type name
    primary_key: bool = False


def quote(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier (quotes inside doubled)."""
    return '"' + identifier.replace('"', '""') + '"'


def _relation_parts(relation: str) -> list[str]:
    parts = relation.split(".")
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise InvalidRequest(f"'{relation}' is not a table name of one to three dot-separated parts.")
    return parts


def quote_relation(relation: str) -> str:
    """A dot-separated table name with every part quoted."""
    return ".".join(quote(p) for p in _relation_parts(relation))


def _describe(
    connection: duckdb.DuckDBPyConnection, relation_sql: str, shown: str, missing: type[Exception] = InvalidRequest
) -> dict[str, Column]:
    """The columns of a relation, by lower-cased name (DuckDB resolves names case-insensitively)."""
    try:
        rows = connection.execute(f"DESCRIBE {relation_sql}").fetchall()
    except duckdb.CatalogException as error:
        raise missing(f"{shown.capitalize()} does not exist: {error}", error_code="RESOURCE_DOES_NOT_EXIST") from error
    return {name.lower(): Column(name, kind, key == "PRI") for name, kind, _, key, *_ in rows}


def _column(columns: dict[str, Column], name: str, shown: str) -> Column:
    found = columns.get(name.lower())
    if found is None:
        raise InvalidRequest(
            f"Column '{name}' is not in {shown}; it has {[c.name for c in columns.values() if not c.name.startswith('__pit_')]}.",
            error_code="UNRESOLVED_COLUMN",
        )
    return found


def _key_kind(duckdb_type: str) -> str:
    if duckdb_type in _NUMBERS or duckdb_type.startswith("DECIMAL"):
        return "number"
    if duckdb_type == "VARCHAR" or duckdb_type.startswith("ENUM"):
        return "string"
    return duckdb_type


def _comparable(sql: str, own: str, other: str) -> str:
    """``sql`` (a column of type ``own``) as the type it is compared in against a column of type ``other``."""
    if own == other:
        return sql
    if own == TIMESTAMP_TZ:
        return sql
    if own == "TIMESTAMP_NS":
        # floor to the microsecond: a cast would round, and could move a label later than it is
        ns = f"epoch_ns({sql})"
        micro = f"make_timestamp(({ns} - ({ns} % 1000 + 1000) % 1000) // 1000)"
    else:
        micro = f"CAST({sql} AS TIMESTAMP)"
    return f"timezone('UTC', {micro})" if other == TIMESTAMP_TZ else micro
