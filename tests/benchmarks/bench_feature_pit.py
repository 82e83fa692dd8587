"""Feature lookups: a point-in-time training set, and the latest values of one key for serving.

Training set: ``label_rows`` labels (a random key, a random timestamp spread from before the first
feature row to after the last, one in ten exactly on a feature timestamp, and a label) joined with
a feature table of ``keys`` keys x ``timestamps`` daily timestamps and 5 DOUBLE features, written
time-major (one batch of every key per timestamp, as batch feature jobs write them), in an
in-memory DuckDB. Timed, interleaved: ``catalog.features.pit.point_in_time_join`` on that table,
and on the same rows in a table whose PRIMARY KEY (key, ts) rules ties out (so the join skips its
tie-break); a hand-written DuckDB ``ASOF LEFT JOIN`` over the same registered label frame (rows in
DuckDB's order, and again ``ORDER BY`` the label order, which ours returns); and pandas
``merge_asof`` (both frames sorted by timestamp first, as it needs; the sort is timed with it).
Every variant's rows are checked against ours (reordered to the label order where needed).

Serving: ``catalog.features.pit.latest_values`` of one random key, ``lookups`` times, on the table
without an index and after ``create_key_index``; beside the hand-written query it runs (one
equality filter, the latest row by timestamp then rowid), fetched as one tuple.

    python tests/benchmarks/bench_feature_pit.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Timing, human, print_table

from catalog.features.online import LatestValueCache
from catalog.features.pit import ResolvedLookup, create_key_index, latest_rows, latest_values, point_in_time_join


@dataclass(frozen=True)
class Size:
    keys: int
    timestamps: int
    label_rows: int
    repeats: int  # of each training-set variant, interleaved
    lookups: int  # one-key serving lookups per variant


FULL = Size(keys=100_000, timestamps=10, label_rows=1_000_000, repeats=5, lookups=2_000)
QUICK = Size(keys=2_000, timestamps=10, label_rows=20_000, repeats=2, lookups=100)

FEATURES = ("f1", "f2", "f3", "f4", "f5")
START = np.datetime64("2024-01-01T00:00:00", "us")
DAY = np.timedelta64(1, "D")


def percentile(timing: Timing, share: float) -> float:
    ordered = sorted(timing.samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# -- data ----------------------------------------------------------------------------------------
def load_features(db: duckdb.DuckDBPyConnection, size: Size) -> None:
    """``feat`` (plain) and ``feat_pk`` (PRIMARY KEY (k, ts)): the same rows, time-major."""
    db.execute(
        """
        CREATE TABLE feat AS
        SELECT i % $keys AS k, TIMESTAMP '2024-01-01' + to_days((i // $keys)::INTEGER) AS ts,
               random() AS f1, random() AS f2, random() AS f3, random() AS f4, random() AS f5
        FROM range($keys * $timestamps) r(i)
        """,
        {"keys": size.keys, "timestamps": size.timestamps},
    )
    db.execute(
        "CREATE TABLE feat_pk (k BIGINT, ts TIMESTAMP, f1 DOUBLE, f2 DOUBLE, f3 DOUBLE, f4 DOUBLE, f5 DOUBLE, "
        "PRIMARY KEY (k, ts))"
    )
    db.execute("INSERT INTO feat_pk SELECT * FROM feat ORDER BY rowid")


def label_frame(size: Size) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = size.label_rows
    span = (size.timestamps + 1) * 24 * 3600  # from a day before the first feature row to a day after the last
    seconds = rng.integers(0, span, n) - 24 * 3600
    on_feature = rng.random(n) < 0.1  # exactly on a feature timestamp
    seconds[on_feature] = rng.integers(0, size.timestamps, on_feature.sum()) * 24 * 3600
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, size.keys + size.keys // 50, n),  # 2% of keys have no features
            "event_ts": START + seconds.astype("timedelta64[s]"),
            "label": rng.random(n),
        }
    )


def lookup(relation: str) -> ResolvedLookup:
    return ResolvedLookup(
        relation=relation,
        keys=("k",),
        timestamp="ts",
        lookup_key=("customer_id",),
        timestamp_lookup_key="event_ts",
        features=FEATURES,
        output_names=FEATURES,
    )


# The hand-written join: the label frame carries its row number (so that its rows can be put back
# in label order to compare them, and so that the ordered variant can sort by it).
RAW = """
    SELECT l.row_number, l.customer_id, l.event_ts, l.label, f.f1, f.f2, f.f3, f.f4, f.f5
    FROM labels l ASOF LEFT JOIN feat f ON l.customer_id = f.k AND f.ts <= l.event_ts"""
RAW_ORDERED = RAW + " ORDER BY l.row_number"


def raw_then_numpy_order(db: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The raw join, put back in label order by a permutation in numpy instead of ORDER BY in DuckDB."""
    frame = db.execute(RAW).df()
    row_number = frame["row_number"].to_numpy()
    order = np.empty(len(row_number), dtype=np.int64)
    order[row_number] = np.arange(len(row_number))
    return frame.take(order).reset_index(drop=True)


def pandas_asof(labels: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    left = labels.sort_values("event_ts", kind="stable")
    right = features.sort_values("ts", kind="stable")
    return pd.merge_asof(left, right, left_on="event_ts", right_on="ts", left_by="customer_id", right_by="k")


# -- training set --------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingResult:
    rows: int
    ours: Timing
    ours_pk: Timing
    raw: Timing
    raw_ordered: Timing
    raw_numpy_ordered: Timing
    pandas: Timing
    matched_share: float  # label rows that found a feature row
    raw_agrees: bool
    pk_agrees: bool
    pandas_agrees: bool

    @property
    def agree(self) -> bool:
        return self.raw_agrees and self.pk_agrees and self.pandas_agrees


def same_rows(ours: pd.DataFrame, other: pd.DataFrame) -> bool:
    columns = ["customer_id", "event_ts", "label", *FEATURES]
    return ours[columns].reset_index(drop=True).equals(other[columns].reset_index(drop=True))


def measure_training(db: duckdb.DuckDBPyConnection, size: Size, progress: bool) -> TrainingResult:
    labels = label_frame(size)
    features = db.execute("SELECT k, ts, f1, f2, f3, f4, f5 FROM feat").df()
    numbered = labels.assign(row_number=np.arange(len(labels)))
    db.register("labels", numbered)
    variants = {
        "ours": lambda: point_in_time_join(db, labels, [lookup("feat")]),
        "ours_pk": lambda: point_in_time_join(db, labels, [lookup("feat_pk")]),
        "raw": lambda: db.execute(RAW).df(),
        "raw_ordered": lambda: db.execute(RAW_ORDERED).df(),
        "raw_numpy_ordered": lambda: raw_then_numpy_order(db),
        "pandas": lambda: pandas_asof(numbered, features),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    results: dict[str, pd.DataFrame] = {}
    for repeat in range(size.repeats):  # interleaved, so that drift on a noisy machine hits all alike
        if progress:
            print(f"  feature_pit: training set, round {repeat + 1} of {size.repeats} ...", flush=True)
        for name, run_once in variants.items():
            start = time.perf_counter()
            results[name] = run_once()
            samples[name].append(time.perf_counter() - start)
    db.unregister("labels")
    ours = results["ours"]
    # The table has no ties, so every variant is deterministic here and must give our rows.
    raw_rows = results["raw"].sort_values("row_number")
    pandas_rows = results["pandas"].sort_values("row_number")
    return TrainingResult(
        rows=len(ours),
        ours=Timing("ours", tuple(samples["ours"])),
        ours_pk=Timing("ours, PK table", tuple(samples["ours_pk"])),
        raw=Timing("raw", tuple(samples["raw"])),
        raw_ordered=Timing("raw ordered", tuple(samples["raw_ordered"])),
        raw_numpy_ordered=Timing("raw, numpy order", tuple(samples["raw_numpy_ordered"])),
        pandas=Timing("pandas", tuple(samples["pandas"])),
        matched_share=float(ours["f1"].notna().mean()),
        raw_agrees=all(same_rows(ours, r) for r in (raw_rows, results["raw_ordered"], results["raw_numpy_ordered"])),
        pk_agrees=same_rows(ours, results["ours_pk"]),
        pandas_agrees=same_rows(ours, pandas_rows),
    )


# -- serving -------------------------------------------------------------------------------------
ONE_KEY = """
    SELECT k, ts, f1, f2, f3, f4, f5 FROM feat WHERE k = $1 AND ts IS NOT NULL
    QUALIFY row_number() OVER (ORDER BY ts DESC, rowid DESC) = 1"""


@dataclass(frozen=True)
class ServingResult:
    name: str
    ours: Timing
    raw: Timing
    agree: bool  # our values are those of the hand-written query, key by key


def query_lookup(db: duckdb.DuckDBPyConnection) -> Callable[[int], pd.DataFrame]:
    """One key through ``latest_values``: a DuckDB query per lookup."""
    return lambda key: latest_values(db, "feat", ["k"], "ts", list(FEATURES), [(key,)])


def cached_lookup(db: duckdb.DuckDBPyConnection) -> Callable[[int], pd.DataFrame]:
    """One key through the in-memory cache that ``FeatureEngineeringClient.lookup_features``
    uses (loaded once, at the first lookup: the warm-up)."""
    cache = LatestValueCache()
    load = lambda: latest_rows(db, "feat", ["k"], "ts", list(FEATURES))  # noqa: E731
    return lambda key: cache.lookup("bench", "feat", 0, ["k"], [(key,)], load)


def measure_serving(
    db: duckdb.DuckDBPyConnection, size: Size, name: str, lookup_one: Callable[[int], pd.DataFrame]
) -> ServingResult:
    rng = np.random.default_rng(11)
    keys = [int(k) for k in rng.integers(0, size.keys, size.lookups)]
    ours, raw, agree = [], [], True
    lookup_one(keys[0])  # warm up
    for key in keys:  # interleaved
        start = time.perf_counter()
        frame = lookup_one(key)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        row = db.execute(ONE_KEY, [key]).fetchone()
        raw.append(time.perf_counter() - start)
        assert row is not None
        agree &= tuple(frame.iloc[0]) == (row[0], pd.Timestamp(row[1]), *row[2:])
    return ServingResult(name, Timing("ours", tuple(ours)), Timing("raw", tuple(raw)), agree)


# -- running and reporting -------------------------------------------------------------------------
@dataclass(frozen=True)
class Results:
    training: TrainingResult
    serving: list[ServingResult]


def run(size: Size, *, progress: bool = True) -> Results:
    db = duckdb.connect()
    try:
        if progress:
            print(f"  feature_pit: loading {size.keys:,} keys x {size.timestamps} timestamps ...", flush=True)
        load_features(db, size)
        training = measure_training(db, size, progress)
        if progress:
            print(f"  feature_pit: {size.lookups:,} one-key lookups, without and with an index ...", flush=True)
        serving = [measure_serving(db, size, "no index (scan)", query_lookup(db))]
        create_key_index(db, "feat", "k")
        serving.append(measure_serving(db, size, "ART index on k", query_lookup(db)))
        serving.append(measure_serving(db, size, "in-memory latest rows (lookup_features)", cached_lookup(db)))
    finally:
        db.close()
    return Results(training, serving)


def report(size: Size, results: Results) -> None:
    t = results.training
    base = t.raw.median
    print(
        f"\nTraining set: {t.rows:,} label rows x {size.keys:,} keys x {size.timestamps} timestamps, "
        f"5 features; {t.matched_share:.0%} of the labels found a feature row"
    )
    print_table(
        f"Point-in-time join, medians of {size.repeats} (p90 where it differs)",
        ["variant", "median", "p90", "/ raw DuckDB", "rows agree with ours"],
        [
            [
                name,
                human(timing.median),
                human(percentile(timing, 0.9)),
                f"{timing.median / base:.2f}x",
                agrees,
            ]
            for name, timing, agrees in (
                ("ours (point_in_time_join)", t.ours, "-"),
                ("ours, table with PRIMARY KEY (k, ts)", t.ours_pk, "yes" if t.pk_agrees else "NO"),
                ("raw DuckDB ASOF LEFT JOIN", t.raw, "yes" if t.raw_agrees else "NO"),
                ("raw DuckDB ASOF, ORDER BY label order", t.raw_ordered, "yes" if t.raw_agrees else "NO"),
                ("raw DuckDB ASOF, label order by numpy", t.raw_numpy_ordered, "yes" if t.raw_agrees else "NO"),
                ("pandas merge_asof (with its sorts)", t.pandas, "yes" if t.pandas_agrees else "NO"),
            )
        ],
    )
    print(
        "\n'raw' returns the rows in DuckDB's order; ours returns them in label order: DuckDB returns"
        "\nonly the feature columns with the label row number, placed back by one permutation, beside"
        "\nthe label frame's own columns. Ours breaks ties (same key and timestamp) by the row stored"
        "\nlast, and drops null keys and timestamps first; on a table whose PRIMARY KEY rules ties out"
        "\n(every feature table: what load_df reads) it skips the tie-break. 'label order by numpy'"
        "\nfetches every raw column with the row number and permutes them all in numpy."
    )
    print_table(
        f"Latest values of one key (serving), {size.lookups:,} lookups each",
        ["table", "ours median", "ours p99", "hand-written median", "hand-written p99", "agree"],
        [
            [
                r.name,
                human(r.ours.median),
                human(r.ours.p99),
                human(r.raw.median),
                human(r.raw.p99),
                "yes" if r.agree else "NO",
            ]
            for r in results.serving
        ],
    )
    print("\n'hand-written' is the same SQL fetched as one tuple; ours also builds the DataFrame.")


def passed(results: Results) -> bool:
    return results.training.agree and all(r.agree for r in results.serving)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small tables, for a smoke run")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    results = run(size)
    report(size, results)
    return 0 if passed(results) else 1


if __name__ == "__main__":
    sys.exit(main())
