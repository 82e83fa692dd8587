"""The SQL front end's overhead: a catalog query beside the same query run directly on DuckDB.

Three tables (1M events, 100k customers, 20 plans) are created through the catalog and, with
the same rows, in a plain DuckDB file. A user who reads them through a group grant runs a
3-table join; the same join runs on the plain file. Reported: the end-to-end times and their
ratio, and what the catalog adds split into its parts: parse, resolve + authorize + rewrite
(plan), and the audited transaction (BEGIN, COMMIT, and the audit row synced to the audit
journal before the call returns).

    python tests/benchmarks/bench_sql_frontend.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _homes import build_reader_home, raw_database
from _report import Timing, human, print_table, sample

import catalog
from catalog.services.context import Context
from catalog.sql import planner
from catalog.sql.parse import _parse_cached, parse
from catalog.sql.statements import classify
from catalog.store.database import fetch_frame

QUERIES = {
    "3-table join, aggregate over all events": """
        SELECT p.plan_name, count(*) AS events, avg(e.minutes) AS avg_minutes
        FROM main.bench.events e
        JOIN main.bench.customers c ON e.customer_id = c.customer_id
        JOIN main.bench.plans p ON c.plan_id = p.plan_id
        WHERE e.minutes > 5
        GROUP BY p.plan_name
        ORDER BY p.plan_name""",
    "3-table join, one customer's events": """
        SELECT e.event_id, e.minutes, c.region, p.plan_name
        FROM main.bench.events e
        JOIN main.bench.customers c ON e.customer_id = c.customer_id
        JOIN main.bench.plans p ON c.plan_id = p.plan_id
        WHERE c.customer_id = 4242
        ORDER BY e.event_id""",
}


@dataclass(frozen=True)
class Size:
    events: int
    customers: int
    repeats: int


FULL = Size(1_000_000, 100_000, 40)
QUICK = Size(20_000, 5_000, 5)


def frames(size: Size) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(11)
    plans = pd.DataFrame({"plan_id": np.arange(20), "plan_name": [f"plan-{i:02d}" for i in range(20)]})
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(size.customers),
            "plan_id": rng.integers(0, 20, size.customers),
            "region": rng.choice(["emea", "amer", "apac"], size.customers),
        }
    )
    events = pd.DataFrame(
        {
            "event_id": np.arange(size.events),
            "customer_id": rng.integers(0, size.customers, size.events),
            "minutes": rng.gamma(2.0, 6.0, size.events).round(2),
        }
    )
    return {"plans": plans, "customers": customers, "events": events}


def set_up(home: Path, data: dict[str, pd.DataFrame]) -> catalog.Catalog:
    build_reader_home(home, data)
    return catalog.connect(home, user="alice")


@dataclass(frozen=True)
class QueryResult:
    name: str
    raw: Timing
    catalog: Timing
    parse_cold: Timing
    parse_cached: Timing
    plan: Timing
    audited_txn: Timing
    same_rows: bool

    @property
    def added(self) -> float:
        return self.catalog.median - self.raw.median


def front_end(cat: catalog.Catalog, text: str) -> str:
    """Parse, check, classify, resolve, authorize and rewrite, as a statement does; the DuckDB SQL."""
    (tree,) = parse(text)
    planner.check(tree)
    classify(tree)
    session = cat.session
    snapshot, authz = session.engine.state()
    ctx = Context(session.principal, snapshot, authz, session.cursor, "main", "default")
    return planner.plan(ctx, tree).sql


def same_rows(expected: pd.DataFrame, got: pd.DataFrame) -> bool:
    """Equal frames, floats to 1e-9 relative: DuckDB sums in parallel, in no fixed order, so an
    average over a million rows may differ in its last bits from one run to the next."""
    try:
        pd.testing.assert_frame_equal(expected.reset_index(drop=True), got.reset_index(drop=True), rtol=1e-9)
    except AssertionError:
        return False
    return True


def measure(cat: catalog.Catalog, raw: duckdb.DuckDBPyConnection, name: str, text: str, repeats: int) -> QueryResult:
    raw_text = text.replace("main.bench.", "")
    expected = fetch_frame(raw, raw_text)
    got = cat.sql(text)
    same = same_rows(expected, got)
    raw_samples, catalog_samples = [], []
    for _ in range(repeats):  # interleaved, so that drift on a noisy machine hits both alike
        raw_samples.extend(sample("raw", lambda: fetch_frame(raw, raw_text), 1).samples)
        catalog_samples.extend(sample("catalog", lambda: cat.sql(text), 1).samples)
    light = max(repeats * 5, 50)
    session = cat.session
    return QueryResult(
        name=name,
        raw=Timing("raw", tuple(raw_samples)),
        catalog=Timing("catalog", tuple(catalog_samples)),
        parse_cold=sample("parse", lambda: parse(text), light, setup=_parse_cached.cache_clear),
        parse_cached=sample("parse cached", lambda: parse(text), light),
        plan=sample("plan", lambda: front_end(cat, text), light),
        audited_txn=sample("txn", lambda: session.run("benchmarkNoop", lambda ctx: None, writes=False), light),
        same_rows=same,
    )


def run(size: Size, *, progress: bool = True) -> list[QueryResult]:
    data = frames(size)
    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp:
        if progress:
            print(f"  sql: loading {size.events:,} events into a catalog home and a plain DuckDB file ...", flush=True)
        cat = set_up(Path(tmp) / "home", data)
        raw = raw_database(Path(tmp) / "raw.duckdb", data)
        try:
            results = []
            for name, text in QUERIES.items():
                if progress:
                    print(f"  sql: {name} ...", flush=True)
                results.append(measure(cat, raw, name, text, size.repeats))
            return results
        finally:
            raw.close()
            cat.close()


def report(size: Size, results: list[QueryResult]) -> None:
    print_table(
        f"SQL front end: {size.events:,} events, {size.customers:,} customers, 20 plans; medians",
        ["query", "DuckDB", "catalog", "ratio", "added", "parse (cold/cached)", "plan", "audited txn", "same rows"],
        [
            [
                r.name,
                human(r.raw.median),
                human(r.catalog.median),
                f"{r.catalog.median / r.raw.median:.2f}x",
                human(r.added),
                f"{human(r.parse_cold.median)} / {human(r.parse_cached.median)}",
                human(r.plan.median),
                human(r.audited_txn.median),
                "yes" if r.same_rows else "NO",
            ]
            for r in results
        ],
    )
    print(
        "\n'plan' includes a cached parse plus resolve, authorize and rewrite; 'audited txn' is BEGIN,"
        "\nCOMMIT and the audit row, synced to the audit journal (durable, written whatever the query)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small tables, for a smoke run")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    results = run(size)
    report(size, results)
    return 0 if all(r.same_rows for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
