"""The point-in-time join and the latest-value lookup, against a brute-force reference in plain Python.

The reference (``reference_join``, ``reference_latest``) walks the feature rows one by one in the
order they were written and keeps, per label row, the row the contract asks for; it shares no code
with ``catalog.features.pit``. Randomized data (hypothesis, and larger seeded tables) covers many
timestamps per key, label timestamps equal to feature timestamps, labels before any feature row,
missing and null keys and timestamps, ties, lookback windows, defaults, renames, composite keys,
key-only lookups and duplicate label rows; the tests after it pin each rule and each error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.errors import CatalogError, InvalidRequest, NotFound
from catalog.features.pit import ResolvedLookup, create_key_index, latest_values, point_in_time_join

DAY0 = datetime(2024, 1, 1)


def at(half_days: int) -> datetime:
    return DAY0 + timedelta(hours=12 * half_days)


# -- the reference ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    """A feature table as the reference sees it: its rows in the order they were written."""

    relation: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    keys: tuple[str, ...]
    timestamp: str | None
    rows: tuple[tuple[Any, ...], ...]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def instant(value: Any) -> datetime:
    """A time value as an aware UTC datetime: a date is its midnight, a naive time is read as UTC."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def rows_by_key(table: Table) -> dict[tuple[Any, ...], list[tuple[int, dict[str, Any]]]]:
    """The usable rows (no null key or timestamp) of each key, with their write positions, in order."""
    grouped: dict[tuple[Any, ...], list[tuple[int, dict[str, Any]]]] = {}
    for position, row in enumerate(table.records()):
        if any(missing(row[k]) for k in table.keys):
            continue
        if table.timestamp is not None and missing(row[table.timestamp]):
            continue
        grouped.setdefault(tuple(row[k] for k in table.keys), []).append((position, row))
    return grouped


def chosen_row(table: Table, grouped: dict, key: tuple[Any, ...], as_of: datetime | None) -> dict[str, Any] | None:
    """The row of ``key`` that is latest (at or before ``as_of`` when given); the last written on ties."""
    best, best_rank = None, None
    for position, row in grouped.get(key, []):
        if as_of is not None and instant(row[table.timestamp]) > as_of:
            continue
        rank = (instant(row[table.timestamp]), position) if table.timestamp else (position,)
        if best_rank is None or rank > best_rank:
            best, best_rank = row, rank
    return best


def reference_join(
    labels: pd.DataFrame, lookups: list[tuple[ResolvedLookup, Table]], exclude: tuple[str, ...] = ()
) -> tuple[list[str], list[dict[str, Any]]]:
    columns = [c for c in labels.columns if c not in exclude]
    columns += [o for lookup, _ in lookups for o in lookup.output_names if o not in exclude]
    grouped = [rows_by_key(table) for _, table in lookups]
    result = []
    for label in labels.to_dict("records"):
        out = {c: label[c] for c in labels.columns}
        for (lookup, table), rows in zip(lookups, grouped, strict=True):
            key = tuple(label[c] for c in lookup.lookup_key)
            label_time = label[lookup.timestamp_lookup_key] if lookup.timestamp_lookup_key else None
            row = None
            if not any(missing(k) for k in key) and not (lookup.timestamp_lookup_key and missing(label_time)):
                as_of = instant(label_time) if lookup.timestamp_lookup_key else None
                row = chosen_row(table, rows, key, as_of)
                if row is not None and lookup.lookback is not None:
                    assert as_of is not None
                    if instant(row[table.timestamp]) < as_of - lookup.lookback:
                        row = None
            for feature, output in zip(lookup.features, lookup.output_names, strict=True):
                value = None if row is None else row[feature]
                if missing(value) and feature in lookup.defaults:
                    value = lookup.defaults[feature]
                out[output] = value
        result.append({c: out[c] for c in columns})
    return columns, result


def normal(value: Any) -> Any:
    """One spelling per value: None for every kind of null, plain Python numbers."""
    if missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{c: normal(v) for c, v in row.items()} for row in frame.to_dict("records")]


def assert_same(frame: pd.DataFrame, expected: tuple[list[str], list[dict[str, Any]]]) -> None:
    columns, rows = expected
    assert list(frame.columns) == columns
    assert list(frame.index) == list(range(len(rows)))
    got = records(frame)
    assert len(got) == len(rows)
    for i, (mine, theirs) in enumerate(zip(got, rows, strict=True)):
        assert mine == {c: normal(v) for c, v in theirs.items()}, f"label row {i}"


def store(db: duckdb.DuckDBPyConnection, table: Table, *, primary_key: bool = False) -> None:
    """Write the table's rows in order, and check that DuckDB's rowid order is that order."""
    columns = ", ".join(f'"{c}" {t}' for c, t in zip(table.columns, table.types, strict=True))
    if primary_key:
        columns += ", PRIMARY KEY (" + ", ".join(f'"{c}"' for c in (*table.keys, table.timestamp) if c) + ")"
    db.execute(f"CREATE TABLE {table.relation} ({columns})")
    if table.rows:  # one statement, rows in order
        marks = ", ".join(["(" + ", ".join("?" for _ in table.columns) + ")"] * len(table.rows))
        db.execute(f"INSERT INTO {table.relation} VALUES {marks}", [v for row in table.rows for v in row])
    stored = db.execute(f"SELECT * FROM {table.relation} ORDER BY rowid").fetchall()
    assert [tuple(normal(v) for v in r) for r in stored] == [tuple(normal(v) for v in r) for r in table.rows]


def store_fast(db: duckdb.DuckDBPyConnection, table: Table, frame: pd.DataFrame) -> None:
    """Write many rows in one statement; the rowid order must still be the frame's order."""
    db.register("frame", frame)
    db.execute(f"CREATE TABLE {table.relation} AS SELECT * FROM frame")
    db.unregister("frame")
    stored = db.execute(f"SELECT * FROM {table.relation} ORDER BY rowid").fetchall()
    assert [tuple(normal(v) for v in r) for r in stored] == [tuple(normal(v) for v in r) for r in table.rows]


@pytest.fixture
def db():
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA fs")
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def shared():
    """One connection for the examples of a hypothesis test (each starts with ``fresh``)."""
    connection = duckdb.connect()
    yield connection
    connection.close()


def fresh(db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    db.execute("DROP SCHEMA IF EXISTS fs CASCADE")
    db.execute("CREATE SCHEMA fs")
    return db


# -- randomized: hypothesis ----------------------------------------------------------------------
def maybe(strategy: st.SearchStrategy, null_share: int = 6) -> st.SearchStrategy:
    """``strategy``, or None about one time in ``null_share``."""
    return st.integers(0, null_share - 1).flatmap(lambda n: st.none() if n == 0 else strategy)


NUMBER = st.integers(-50, 50).map(float)
A_ROWS = st.lists(
    st.tuples(maybe(st.integers(0, 4)), maybe(st.integers(0, 8).map(at)), maybe(NUMBER), maybe(st.integers(0, 3))),
    max_size=30,
)
B_ROWS = st.lists(
    st.tuples(
        maybe(st.integers(0, 3)), maybe(st.sampled_from(["a", "b"])), maybe(st.integers(0, 8).map(at)), maybe(NUMBER)
    ),
    max_size=20,
)
C_ROWS = st.lists(st.tuples(maybe(st.integers(0, 4)), maybe(st.sampled_from(["x", "y", "z"]))), max_size=8)
LABEL_ROWS = st.lists(
    st.tuples(maybe(st.integers(0, 5)), maybe(st.sampled_from(["a", "b", "c"])), maybe(st.integers(-2, 10).map(at))),
    max_size=30,
)


def tables(a_rows: list, b_rows: list, c_rows: list) -> tuple[Table, Table, Table]:
    a = Table(
        "fs.a", ("k", "ts", "f1", "f2"), ("INTEGER", "TIMESTAMP", "DOUBLE", "INTEGER"), ("k",), "ts", tuple(a_rows)
    )
    b = Table(
        "fs.b", ("k", "s", "ts", "g"), ("INTEGER", "VARCHAR", "TIMESTAMP", "DOUBLE"), ("k", "s"), "ts", tuple(b_rows)
    )
    c = Table("fs.c", ("k", "h"), ("INTEGER", "VARCHAR"), ("k",), None, tuple(c_rows))
    return a, b, c


def label_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": pd.Series([r[0] for r in rows], dtype="float64"),
            "segment": pd.array([r[1] for r in rows], dtype="string"),
            "event_ts": pd.Series([r[2] for r in rows], dtype="datetime64[us]"),
            "y": np.arange(len(rows)),
        }
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    a_rows=A_ROWS,
    b_rows=B_ROWS,
    c_rows=C_ROWS,
    label_rows=LABEL_ROWS,
    lookback=maybe(st.integers(0, 4).map(lambda n: timedelta(hours=12 * n)), 2),
    a_default=maybe(NUMBER, 2),
    c_default=maybe(st.sampled_from(["none", "it's"]), 2),
    exclude=st.lists(st.sampled_from(["y", "a_f2", "segment"]), unique=True, max_size=2),
)
def test_the_join_is_the_reference_on_random_tables(
    shared, a_rows, b_rows, c_rows, label_rows, lookback, a_default, c_default, exclude
):
    a, b, c = tables(a_rows, b_rows, c_rows)
    labels = label_frame(label_rows + label_rows[:3])  # some label rows twice
    lookups = [
        ResolvedLookup(
            "fs.a",
            ("k",),
            "ts",
            ("customer",),
            "event_ts",
            ("f1", "f2"),
            ("a_f1", "a_f2"),
            {} if a_default is None else {"f1": a_default},
            lookback,
        ),
        ResolvedLookup("fs.b", ("k", "s"), "ts", ("customer", "segment"), "event_ts", ("g",), ("g",)),
        ResolvedLookup(
            "fs.c", ("k",), None, ("customer",), None, ("h",), ("h",), {} if c_default is None else {"h": c_default}
        ),
        ResolvedLookup("fs.a", ("k",), "ts", ("customer",), None, ("f1",), ("a_latest",)),
    ]
    db = fresh(shared)
    for table in (a, b, c):
        store(db, table)
    frame = point_in_time_join(db, labels, lookups, exclude_columns=exclude)
    assert db.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone() == (0,)
    expected = reference_join(
        labels, [(lookups[0], a), (lookups[1], b), (lookups[2], c), (lookups[3], a)], tuple(exclude)
    )
    assert_same(frame, expected)


@settings(max_examples=100, deadline=None)
@given(a_rows=A_ROWS, requests=st.lists(maybe(st.integers(0, 5)), max_size=6), indexed=st.booleans())
def test_latest_values_are_the_reference_on_random_tables(shared, a_rows, requests, indexed):
    a, _, _ = tables(a_rows, [], [])
    db = fresh(shared)
    store(db, a)
    if indexed:
        create_key_index(db, "fs.a", "k")
    frame = latest_values(db, "fs.a", ["k"], "ts", ["f1", "f2"], [(k,) for k in requests])
    expected = []
    for k in requests:
        row = None if k is None else chosen_row(a, rows_by_key(a), (k,), None)
        expected.append({"k": k, "ts": row and row["ts"], "f1": row and row["f1"], "f2": row and row["f2"]})
    assert list(frame.columns) == ["k", "ts", "f1", "f2"]
    assert records(frame) == [{c: normal(v) for c, v in e.items()} for e in expected]


# -- randomized: larger seeded tables (several DuckDB vectors and threads) ---------------------------
@pytest.mark.parametrize("seed", range(4))
def test_the_join_is_the_reference_on_larger_tables(db, seed):
    rng = np.random.default_rng(seed)
    n_keys, n_rows, n_labels = 300, 3_000, 5_000

    def times(n: int, low: int, high: int) -> list[datetime]:
        return [at(int(h)) for h in rng.integers(low, high, n)]

    # ~10 rows per key over 40 half-days, so ties happen; 1% null keys, 1% null timestamps
    ks = [None if rng.random() < 0.01 else int(k) for k in rng.integers(0, n_keys, n_rows)]
    ts = [None if rng.random() < 0.01 else t for t in times(n_rows, 0, 40)]
    values = [float(v) for v in rng.integers(-1000, 1000, n_rows)]
    a = Table(
        "fs.a",
        ("k", "ts", "f1"),
        ("BIGINT", "TIMESTAMP", "DOUBLE"),
        ("k",),
        "ts",
        tuple(zip(ks, ts, values, strict=True)),
    )
    composite = [
        (int(k), "ab"[int(s)], t, float(v))
        for k, s, t, v in zip(
            rng.integers(0, n_keys, n_rows),
            rng.integers(0, 2, n_rows),
            times(n_rows, 0, 40),
            rng.integers(0, 99, n_rows),
            strict=True,
        )
    ]
    b = Table(
        "fs.b", ("k", "s", "ts", "g"), ("BIGINT", "VARCHAR", "TIMESTAMP", "DOUBLE"), ("k", "s"), "ts", tuple(composite)
    )
    # One row per (k, ts): the same answers must come from a table whose PRIMARY KEY skips the tie-break.
    unique = {(k, t): (k, t, v) for k, t, v in a.rows if k is not None and t is not None}
    assert len(unique) < sum(k is not None and t is not None for k, t, _ in a.rows)  # the data has ties
    a_pk = Table("fs.a_pk", a.columns, a.types, a.keys, a.timestamp, tuple(unique.values()))
    for table in (a, b):
        frame = pd.DataFrame(list(table.rows), columns=list(table.columns))
        store_fast(db, table, frame.astype({"k": "Int64", "ts": "datetime64[us]"}))
    store(db, a_pk, primary_key=True)
    labels = pd.DataFrame(
        {
            "customer": pd.Series(
                [None if rng.random() < 0.01 else int(k) for k in rng.integers(0, n_keys + 20, n_labels)], dtype="Int64"
            ),
            "segment": rng.choice(["a", "b"], n_labels),
            "event_ts": pd.Series(times(n_labels, -2, 44), dtype="datetime64[us]"),
        }
    )
    lookups = [
        ResolvedLookup("fs.a", ("k",), "ts", ("customer",), "event_ts", ("f1",), ("f1",), lookback=timedelta(days=3)),
        ResolvedLookup("fs.b", ("k", "s"), "ts", ("customer", "segment"), "event_ts", ("g",), ("g",), {"g": -1.0}),
        ResolvedLookup("fs.a_pk", ("k",), "ts", ("customer",), "event_ts", ("f1",), ("f1_pk",)),
    ]
    frame = point_in_time_join(db, labels, lookups)
    expected = reference_join(labels, [(lookups[0], a), (lookups[1], b), (lookups[2], a_pk)])
    assert_same(frame, expected)
    assert frame["f1"].notna().sum() > n_labels // 2  # the data exercises matches, not only nulls


# -- each rule, pinned -----------------------------------------------------------------------------
def prices(
    db: duckdb.DuckDBPyConnection, rows: list[tuple], *, ts_type: str = "TIMESTAMP", primary_key: bool = False
) -> Table:
    table = Table("fs.prices", ("item", "ts", "price"), ("INTEGER", ts_type, "DOUBLE"), ("item",), "ts", tuple(rows))
    store(db, table, primary_key=primary_key)
    return table


def price_lookup(**changes: Any) -> ResolvedLookup:
    fields = {
        "relation": "fs.prices",
        "keys": ("item",),
        "timestamp": "ts",
        "lookup_key": ("item",),
        "timestamp_lookup_key": "at",
        "features": ("price",),
        "output_names": ("price",),
    }
    return ResolvedLookup(**(fields | changes))


def asked(*rows: tuple[Any, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": pd.Series([r[0] for r in rows], dtype="Int64"),
            "at": pd.Series([r[1] for r in rows], dtype="datetime64[us]"),
        }
    )


def prices_at(db, labels: pd.DataFrame, **changes: Any) -> list[Any]:
    return [normal(v) for v in point_in_time_join(db, labels, [price_lookup(**changes)])["price"]]


def test_a_label_gets_the_latest_row_at_or_before_it_never_one_after(db):
    prices(db, [(1, at(0), 10.0), (1, at(2), 12.0), (1, at(4), 14.0)])
    labels = asked((1, at(-1)), (1, at(0)), (1, at(1)), (1, at(2)), (1, at(3)), (1, at(4)), (1, at(9)))
    assert prices_at(db, labels) == [None, 10.0, 10.0, 12.0, 12.0, 14.0, 14.0]


def test_missing_keys_null_keys_and_null_timestamps_get_nulls_or_the_default(db):
    prices(db, [(1, at(0), 10.0), (None, at(0), 99.0), (2, None, 98.0), (2, at(3), None)])
    labels = asked((3, at(5)), (None, at(5)), (1, None), (2, at(2)), (2, at(3)), (1, at(1)))
    assert prices_at(db, labels) == [None, None, None, None, None, 10.0]
    # the default replaces every null: no row, null key, null timestamp, too early, a stored null
    assert prices_at(db, labels, defaults={"price": -1}) == [-1.0, -1.0, -1.0, -1.0, -1.0, 10.0]


def test_ties_go_to_the_row_written_last_every_time(db):
    db.execute("CREATE TABLE fs.prices (item INTEGER, ts TIMESTAMP, price DOUBLE)")
    for batch in range(3):  # three writes of the same (item, ts), each its own statement
        db.execute(
            "INSERT INTO fs.prices SELECT i % 500, TIMESTAMP '2024-01-01', ? FROM range(5000) r(i)", [float(batch)]
        )
    labels = asked(*[(i % 500, at(1)) for i in range(20_000)])
    for _ in range(5):  # DuckDB's own ASOF would pick any of the tied rows, differently from run to run
        assert set(prices_at(db, labels)) == {2.0}
        assert set(prices_at(db, labels, timestamp_lookup_key=None)) == {2.0}
    assert set(latest_values(db, "fs.prices", ["item"], "ts", ["price"], [(7,), (8,)])["price"]) == {2.0}
    assert list(latest_values(db, "fs.prices", ["item"], "ts", ["price"], [(7,)])["price"]) == [2.0]


def test_a_primary_key_table_gives_the_same_answers_without_the_tie_break(db):
    rows = [(i % 7, at(i % 5), float(i)) for i in range(35)]
    plain = prices(db, rows)
    db.execute("ALTER TABLE fs.prices RENAME TO plain")
    prices(db, rows, primary_key=True)
    labels = asked(*[(i % 9, at(i % 7 - 1)) for i in range(60)])
    expected = reference_join(labels, [(price_lookup(), plain)])
    assert_same(point_in_time_join(db, labels, [price_lookup(relation="fs.plain")]), expected)
    assert_same(point_in_time_join(db, labels, [price_lookup()]), expected)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (timedelta(0), [None, 12.0, None]),  # exact matches only
        (timedelta(hours=12), [10.0, 12.0, 12.0]),  # a row exactly at label - window counts
        (timedelta(hours=11, minutes=59), [None, 12.0, None]),
        (timedelta(days=30), [10.0, 12.0, 12.0]),
    ],
)
def test_the_lookback_window_drops_rows_older_than_label_minus_window(db, window, expected):
    prices(db, [(1, at(0), 10.0), (1, at(2), 12.0)])
    assert prices_at(db, asked((1, at(1)), (1, at(2)), (1, at(3))), lookback=window) == expected


def test_label_order_and_count_are_kept_with_duplicate_label_rows(db):
    prices(db, [(k, at(t), float(10 * k + t)) for k in range(3) for t in range(3)])
    labels = asked((2, at(2)), (0, at(0)), (2, at(2)), (1, at(1)), (0, at(0)), (9, at(1)), (2, at(2)))
    labels.index = [70, 10, 60, 20, 50, 30, 40]  # the label frame's index is not the output's
    frame = point_in_time_join(db, labels, [price_lookup()])
    assert list(frame.index) == list(range(7))
    assert records(frame) == [
        {"item": 2, "at": at(2), "price": 22.0},
        {"item": 0, "at": at(0), "price": 0.0},
        {"item": 2, "at": at(2), "price": 22.0},
        {"item": 1, "at": at(1), "price": 11.0},
        {"item": 0, "at": at(0), "price": 0.0},
        {"item": 9, "at": at(1), "price": None},
        {"item": 2, "at": at(2), "price": 22.0},
    ]


def test_columns_are_the_labels_then_each_lookups_outputs_less_the_excluded(db):
    prices(db, [(1, at(0), 10.0)])
    store(
        db,
        Table("fs.stock", ("item", "qty", "loc"), ("INTEGER", "INTEGER", "VARCHAR"), ("item",), None, ((1, 5, "b"),)),
    )
    labels = asked((1, at(1))).assign(label=[1])
    stock = ResolvedLookup("fs.stock", ["item"], None, ["item"], None, ["loc", "qty"], ["where", "how_many"])
    frame = point_in_time_join(
        db, labels, [stock, price_lookup(output_names=("p",))], exclude_columns=["at", "how_many"]
    )
    assert list(frame.columns) == ["item", "label", "where", "p"]
    assert records(frame) == [{"item": 1, "label": 1, "where": "b", "p": 10.0}]
    assert list(point_in_time_join(db, labels, []).columns) == ["item", "at", "label"]
    assert point_in_time_join(db, labels, [], exclude_columns=["item", "at", "label"]).shape == (1, 0)


def test_a_lookup_without_timestamp_key_gets_the_latest_row_of_its_key(db):
    prices(db, [(1, at(4), 14.0), (1, at(0), 10.0), (1, None, 99.0), (2, at(1), 21.0)])
    labels = asked((1, at(0)), (2, None), (3, at(0)))
    assert prices_at(db, labels, timestamp_lookup_key=None) == [14.0, 21.0, None]


def test_an_empty_label_frame_gives_an_empty_frame_with_the_columns(db):
    prices(db, [(1, at(0), 10.0)])
    frame = point_in_time_join(db, asked(), [price_lookup()])
    assert list(frame.columns) == ["item", "at", "price"] and len(frame) == 0


def test_identifiers_are_quoted_and_values_bound(db):
    db.execute('CREATE SCHEMA "odd schema"')
    db.execute('CREATE TABLE "odd schema"."t""1" ("select" INTEGER, "from ts" TIMESTAMP, "a ""b""" VARCHAR)')
    db.execute("""INSERT INTO "odd schema"."t""1" VALUES (1, '2024-01-01', 'x'), (2, '2024-01-01', NULL)""")
    labels = pd.DataFrame({"where": [1, 2, 3], "order": pd.Series([at(1)] * 3, dtype="datetime64[us]")})
    lookup = ResolvedLookup(
        'odd schema.t"1',
        ["select"],
        "from ts",
        ["where"],
        "order",
        ['a "b"'],
        ["drop table x; --"],
        {'a "b"': "it's '; DROP TABLE t"},
    )
    frame = point_in_time_join(db, labels, [lookup])
    assert list(frame["drop table x; --"]) == ["x", "it's '; DROP TABLE t", "it's '; DROP TABLE t"]
    served = latest_values(db, 'odd schema.t"1', ["select"], "from ts", ['a "b"'], [(1,), (3,)])
    assert [normal(v) for v in served['a "b"']] == ["x", None]


def test_names_match_case_insensitively_as_in_databricks(db):
    prices(db, [(1, at(0), 10.0)])
    labels = asked((1, at(1))).rename(columns={"item": "ITEM"})
    lookup = price_lookup(
        keys=("Item",), lookup_key=("item",), timestamp_lookup_key="AT", features=("PRICE",), defaults={"Price": 0}
    )
    assert list(point_in_time_join(db, labels, [lookup])["price"]) == [10.0]


# -- time types ------------------------------------------------------------------------------------
def test_a_date_label_is_its_midnight(db):
    prices(db, [(1, datetime(2024, 1, 1), 1.0), (1, datetime(2024, 1, 2, 9), 2.0)])
    labels = pd.DataFrame({"item": [1, 1], "at": [date(2024, 1, 2), date(2024, 1, 3)]})
    assert prices_at(db, labels) == [1.0, 2.0]  # 09:00 on Jan 2 is after Jan 2's midnight


def test_date_feature_timestamps_against_timestamp_labels(db):
    prices(db, [(1, date(2024, 1, 2), 2.0)], ts_type="DATE")
    assert prices_at(db, asked((1, datetime(2024, 1, 1, 23, 59)), (1, datetime(2024, 1, 2)))) == [None, 2.0]


@pytest.mark.parametrize("session_zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_naive_times_against_zoned_ones_are_read_as_utc_whatever_the_session_zone(db, session_zone):
    db.execute(f"SET TimeZone = '{session_zone}'")
    utc = [
        (1, datetime(2024, 3, 10, 6, tzinfo=UTC), 1.0),
        (1, datetime(2024, 3, 10, 12, tzinfo=UTC), 2.0),
        (2, datetime(2024, 3, 10, 6, tzinfo=UTC), 3.0),
    ]
    prices(db, utc, ts_type="TIMESTAMPTZ")
    naive = asked((1, datetime(2024, 3, 10, 5, 59)), (1, datetime(2024, 3, 10, 6)), (1, datetime(2024, 3, 10, 11, 59)))
    assert prices_at(db, naive) == [None, 1.0, 1.0]
    paris = pd.DataFrame(
        {"item": [1, 1], "at": pd.to_datetime(["2024-03-10 07:00", "2024-03-10 13:00"]).tz_localize("Europe/Paris")}
    )
    assert prices_at(db, paris) == [1.0, 2.0]  # 06:00 UTC and 12:00 UTC exactly
    days = pd.DataFrame({"item": [1, 1], "at": [date(2024, 3, 10), date(2024, 3, 11)]})
    assert prices_at(db, days) == [None, 2.0]
    # a one-day window is 24 hours, even across the New York DST change on 2024-03-10
    assert prices_at(
        db, asked((2, datetime(2024, 3, 11, 6)), (2, datetime(2024, 3, 11, 6, 0, 1))), lookback=timedelta(days=1)
    ) == [3.0, None]


def test_nanosecond_labels_are_never_matched_with_a_later_feature_row(db):
    prices(db, [(1, datetime(2024, 1, 1, 0, 0, 0, 1), 1.0)])  # one microsecond after midnight
    labels = pd.DataFrame(
        {
            "item": [1, 1, 1],
            "at": np.array(
                ["2024-01-01T00:00:00.000000900", "2024-01-01T00:00:00.000001000", "1960-01-01T00:00:00.000000900"],
                dtype="datetime64[ns]",
            ),
        }
    )
    assert prices_at(db, labels) == [None, 1.0, None]  # a cast would round .0000009 up to the feature's microsecond


def test_two_nanosecond_columns_compare_exactly(db):
    frame = pd.DataFrame(
        {"item": [1], "ts": np.array(["2024-01-01T00:00:00.000000500"], dtype="datetime64[ns]"), "price": [1.0]}
    )
    db.register("frame", frame)
    db.execute("CREATE TABLE fs.prices AS SELECT * FROM frame")
    labels = pd.DataFrame(
        {
            "item": [1, 1],
            "at": np.array(["2024-01-01T00:00:00.000000499", "2024-01-01T00:00:00.000000500"], dtype="datetime64[ns]"),
        }
    )
    assert prices_at(db, labels) == [None, 1.0]


# -- serving ---------------------------------------------------------------------------------------
def test_latest_values_of_composite_keys_and_of_a_table_without_timestamps(db):
    store(
        db,
        Table(
            "fs.b",
            ("k", "s", "ts", "g"),
            ("INTEGER", "VARCHAR", "TIMESTAMP", "DOUBLE"),
            ("k", "s"),
            "ts",
            ((1, "a", at(1), 1.0), (1, "b", at(2), 2.0), (1, "a", at(3), 3.0), (1, "a", at(0), 0.0)),
        ),
    )
    store(db, Table("fs.c", ("k", "h"), ("INTEGER", "VARCHAR"), ("k",), None, ((1, "old"), (2, "two"), (1, "new"))))
    both = latest_values(db, "fs.b", ["k", "s"], "ts", ["g"], [(1, "a"), (1, "c"), (1, "b")])
    assert records(both) == [
        {"k": 1, "s": "a", "ts": at(3), "g": 3.0},
        {"k": 1, "s": "c", "ts": None, "g": None},
        {"k": 1, "s": "b", "ts": at(2), "g": 2.0},
    ]
    assert records(latest_values(db, "fs.b", ["k", "s"], "ts", ["g"], [(1, "a")])) == [
        {"k": 1, "s": "a", "ts": at(3), "g": 3.0}
    ]
    assert records(latest_values(db, "fs.c", ["k"], None, ["h"], [(1,), (2,), (5,)])) == [
        {"k": 1, "h": "new"},
        {"k": 2, "h": "two"},
        {"k": 5, "h": None},
    ]
    assert records(latest_values(db, "fs.c", ["k"], None, ["h"], [(5,)])) == [{"k": 5, "h": None}]
    assert list(latest_values(db, "fs.c", ["k"], None, ["h"], []).columns) == ["k", "h"]


@pytest.mark.parametrize(
    ("call", "error", "code"),
    [
        (
            lambda db: latest_values(db, "fs.prices", ["item"], "ts", ["price"], [(1, 2)]),
            InvalidRequest,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            lambda db: latest_values(db, "fs.prices", ["item"], "ts", ["cost"], [(1,)]),
            InvalidRequest,
            "UNRESOLVED_COLUMN",
        ),
        (
            lambda db: latest_values(db, "fs.prices", ["item"], "ts", ["cost"], [(1,), (2,)]),
            InvalidRequest,
            "UNRESOLVED_COLUMN",
        ),
        (
            lambda db: latest_values(db, "fs.nothing", ["item"], "ts", ["price"], [(1,)]),
            NotFound,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            lambda db: latest_values(db, "fs.prices", [], "ts", ["price"], [()]),
            InvalidRequest,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            lambda db: latest_values(db, "fs.prices", ["item"], "ts", ["price"], [("one",)]),
            InvalidRequest,
            "INVALID_PARAMETER_VALUE",
        ),
    ],
)
def test_latest_values_errors(db, call, error, code):
    prices(db, [(1, at(0), 10.0)])
    with pytest.raises(error) as raised:
        call(db)
    assert raised.value.error_code == code


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "code", "says"),
    [
        ({"lookup_key": ("sku",)}, "UNRESOLVED_COLUMN", "Column 'sku' is not in the label DataFrame"),
        ({"timestamp_lookup_key": "when"}, "UNRESOLVED_COLUMN", "Column 'when' is not in the label DataFrame"),
        ({"features": ("cost",)}, "UNRESOLVED_COLUMN", "Column 'cost' is not in the feature table 'fs.prices'"),
        (
            {"keys": ("sku",), "name": "main.fs.prices"},
            "UNRESOLVED_COLUMN",
            "not in the feature table 'main.fs.prices'",
        ),
        ({"timestamp": "price"}, "DATATYPE_MISMATCH", "timestamp key of 'fs.prices' 'price' is DOUBLE"),
        ({"timestamp_lookup_key": "item"}, "DATATYPE_MISMATCH", "label column 'item' is BIGINT"),
        (
            {"lookup_key": ("name",)},
            "DATATYPE_MISMATCH",
            "'name' (VARCHAR) cannot be matched with the key 'item' (INTEGER)",
        ),
        ({"lookup_key": ("at",)}, "DATATYPE_MISMATCH", "cannot be matched"),
        ({"defaults": {"price": "cheap"}}, "INVALID_PARAMETER_VALUE", "The default 'cheap' for feature 'price'"),
        ({"output_names": ("name",)}, "COLUMN_ALREADY_EXISTS", "Two output columns are named 'name'"),
        ({"output_names": ("ITEM",)}, "COLUMN_ALREADY_EXISTS", "Two output columns are named 'ITEM'"),
        ({"relation": "fs.nothing"}, "RESOURCE_DOES_NOT_EXIST", "does not exist"),
        ({"relation": "a.b.c.d"}, "INVALID_PARAMETER_VALUE", "one to three dot-separated parts"),
        ({"relation": "fs..prices"}, "INVALID_PARAMETER_VALUE", "one to three dot-separated parts"),
    ],
)
def test_a_lookup_that_cannot_be_joined_is_refused_with_a_clear_error(db, changes, code, says):
    prices(db, [(1, at(0), 10.0)])
    labels = pd.DataFrame({"item": [1], "at": [at(1)], "name": ["x"]})
    with pytest.raises(CatalogError) as raised:
        point_in_time_join(db, labels, [price_lookup(**changes)])
    assert raised.value.error_code == code
    assert says in raised.value.message
    assert db.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone() == (0,)  # unregistered


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"lookup_key": ("item", "at")}, "names 2 column(s), but the feature table 'fs.prices' has 1"),
        ({"keys": ()}, "no primary key columns"),
        ({"output_names": ()}, "1 feature(s) of 'fs.prices' but 0 output name(s)"),
        ({"defaults": {"cost": 1}}, "default_values names ['cost']"),
        ({"timestamp": None}, "has no timestamp key"),
        ({"timestamp_lookup_key": None, "lookback": timedelta(days=1)}, "lookback_window needs a timestamp_lookup_key"),
        ({"lookback": timedelta(days=-1)}, "lookback_window must be a timedelta of zero or more"),
        ({"lookback": 3600}, "lookback_window must be a timedelta"),
    ],
)
def test_a_malformed_lookup_cannot_be_made(changes, says):
    with pytest.raises(InvalidRequest) as raised:
        price_lookup(**changes)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert says in raised.value.message


@pytest.mark.parametrize(
    ("labels", "exclude", "code", "says"),
    [
        (pd.DataFrame({"item": [1], "at": [at(1)], 3: [0]}), (), "INVALID_PARAMETER_VALUE", "string name"),
        (
            pd.DataFrame([[1, at(1), 2]], columns=["item", "at", "ITEM"]),
            (),
            "COLUMN_ALREADY_EXISTS",
            "duplicate columns ['ITEM', 'item']",
        ),
        (pd.DataFrame({"item": [1], "at": [at(1)]}), ("nope",), "UNRESOLVED_COLUMN", "exclude_columns names ['nope']"),
        ([{"item": 1}], (), "INVALID_PARAMETER_VALUE", "must be a pandas DataFrame"),
    ],
)
def test_label_frames_and_exclusions_that_cannot_be_used_are_refused(db, labels, exclude, code, says):
    prices(db, [(1, at(0), 10.0)])
    with pytest.raises(InvalidRequest) as raised:
        point_in_time_join(db, labels, [price_lookup()], exclude_columns=exclude)
    assert raised.value.error_code == code
    assert says in raised.value.message
