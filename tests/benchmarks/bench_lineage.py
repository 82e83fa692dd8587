"""Lineage: the upstream closure of a table in a large graph, and what lineage capture adds to a write.

Closure: a chain of catalog tables ``root <- chain_01 <- ... <- chain_NN`` where every table on
the chain is also fed by ``fan_in`` outside datasets (``ext.src.n123``), plus noise the closure
must not reach (an unrelated graph, and links out of the closure's nodes). At full size that is
1M links in the closure and 1.25M in the metastore, loaded straight into ``meta.lineage_links``
and ``meta.lineage_edges`` with DuckDB SQL. Timed: ``cat.lineage.upstream(root)`` (whole
closure) and ``depth=5``, as admin; split into the level-by-level link queries, the edge details
query and the rest (building and masking the graph, the audited transaction). Baselines on the
same database: one recursive CTE counting the closure's nodes, and the same CTE also fetching
every link of the closure with its details (what the graph returns, as tuples).

Capture: a CTAS over a 3-table join (100k rows) and a narrow INSERT ... SELECT (10 rows), each
run through ``cat.sql`` with lineage capture and without it (the session's ``run`` called with
``lineage=None``, as for a statement that writes no data), interleaved. Also timed alone: the
lineage work of the statement (column lineage, ``capture.record_write`` and
``capture.store_completed``) in a transaction that is rolled back.

    python tests/benchmarks/bench_lineage.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlglot import exp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Timing, human, print_table

import catalog
from catalog.lineage import capture
from catalog.lineage import sql as lineage_sql
from catalog.lineage.events import WriteRun
from catalog.lineage.store import LineageStore
from catalog.names import FullName
from catalog.services.context import Context
from catalog.sql import planner
from catalog.sql.parse import parse


@dataclass(frozen=True)
class Size:
    depth: int  # tables on the chain above the root
    fan_in: int  # outside datasets feeding each table on the chain
    noise: int  # links of an unrelated graph
    closure_repeats: int
    rows: int  # rows of the CTAS's fact table
    write_repeats: int


FULL = Size(depth=50, fan_in=20_000, noise=200_000, closure_repeats=5, rows=100_000, write_repeats=30)
QUICK = Size(depth=6, fan_in=300, noise=2_000, closure_repeats=2, rows=3_000, write_repeats=3)

ROOT = "main.bench.root"
NEAR_DEPTH = 5


def percentile(timing: Timing, share: float) -> float:
    ordered = sorted(timing.samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# -- the upstream closure ------------------------------------------------------------------------
def chain_name(level: int) -> str:
    return ROOT if level == 0 else f"main.bench.chain_{level:02d}"


def load_graph(cat: catalog.Catalog, size: Size) -> tuple[int, int, float]:
    """Create the chain's tables, then load the links and edges in SQL; (links, edges, seconds)."""
    cat.sql("CREATE CATALOG main")
    cat.sql("CREATE SCHEMA main.bench")
    for level in range(size.depth + 1):
        cat.sql(f"CREATE TABLE {chain_name(level)} (id INT)")
    db = cat.session.engine.db.cursor()
    start = time.perf_counter()
    db.execute("BEGIN")
    db.execute(
        """
        CREATE TEMP TABLE bench_links AS
        WITH chain AS (
            SELECT k, CASE WHEN k = 0 THEN $root ELSE 'main.bench.chain_' || lpad(k::VARCHAR, 2, '0') END AS name
            FROM range(0, $depth + 1) r(k)
        )
        -- the chain itself: chain_(k+1) feeds chain_k
        SELECT up.name AS source_name, down.name AS target_name FROM chain down JOIN chain up ON up.k = down.k + 1
        -- the fan-in: fan_in outside datasets into every table below the top of the chain
        UNION ALL
        SELECT 'ext.src.n' || (c.k * $fan_in + i)::VARCHAR, c.name FROM chain c, range($fan_in) r(i) WHERE c.k < $depth
        -- noise: an unrelated graph, and links out of the closure (which upstream must not follow)
        UNION ALL
        SELECT 'ext.noise.n' || i::VARCHAR, 'ext.noise.t' || (i % 1000)::VARCHAR FROM range($noise) r(i)
        UNION ALL
        SELECT 'ext.src.n' || i::VARCHAR, 'ext.down.t' || (i % 97)::VARCHAR
        FROM range(0, $depth * $fan_in, 20) r(i)
        """,
        {"root": ROOT, "depth": size.depth, "fan_in": size.fan_in, "noise": size.noise},
    )
    db.execute("INSERT INTO meta.lineage_links SELECT source_name, target_name FROM bench_links")
    # One table-level edge per link, a second run for every 7th, and a column-level edge for
    # every 5th (which the edge details leave out).
    db.execute(
        """
        INSERT INTO meta.lineage_edges
        SELECT md5(source_name || target_name || run), 'event-' || run, 'SQL', 'sql.createTable', 'run-' || run,
               source_name, 'TABLE', col, target_name, 'TABLE', col, 'admin',
               TIMESTAMPTZ '2026-11-01 00:00:00+00' + to_seconds(hash(source_name || run) % 2000000)
        FROM (
            SELECT source_name, target_name, (hash(target_name) % 500)::VARCHAR AS run, NULL AS col FROM bench_links
            UNION ALL
            SELECT source_name, target_name, 'again-' || (hash(source_name) % 500)::VARCHAR, NULL
            FROM bench_links WHERE hash(source_name) % 7 = 0
            UNION ALL
            SELECT source_name, target_name, (hash(target_name) % 500)::VARCHAR, 'id'
            FROM bench_links WHERE hash(source_name) % 5 = 0
        )
        """
    )
    db.execute("DROP TABLE bench_links")
    db.execute("COMMIT")
    seconds = time.perf_counter() - start
    (links,) = db.execute("SELECT count(*) FROM meta.lineage_links").fetchone()
    (edges,) = db.execute("SELECT count(*) FROM meta.lineage_edges").fetchone()
    db.close()
    return links, edges, seconds


CTE_NODES = """
    WITH RECURSIVE up(name) AS (
        SELECT ? UNION SELECT l.source_name FROM meta.lineage_links l JOIN up ON l.target_name = up.name
    )
    SELECT count(*) FROM up"""
CTE_NODES_NEAR = """
    WITH RECURSIVE up(name, d) AS (
        SELECT ?, 0
        UNION
        SELECT l.source_name, up.d + 1 FROM meta.lineage_links l JOIN up ON l.target_name = up.name WHERE up.d < ?
    )
    SELECT count(DISTINCT name) FROM up"""
# The closure's links with their details (what the graph returns), fetched as tuples.
CTE_EDGES = """
    WITH RECURSIVE up(name, d) AS (
        SELECT ?, 0
        UNION
        SELECT l.source_name, up.d + 1 FROM meta.lineage_links l JOIN up ON l.target_name = up.name WHERE up.d < ?
    ),
    near AS (SELECT name FROM up GROUP BY name HAVING min(d) < ?)
    SELECT l.source_name, l.target_name, arg_max(e.source_type, e.event_time), arg_max(e.target_type, e.event_time),
           max(e.event_time), count(DISTINCT e.entity_run_id)
    FROM meta.lineage_links l
    JOIN near ON l.target_name = near.name
    LEFT JOIN meta.lineage_edges e
        ON e.source_name = l.source_name AND e.target_name = l.target_name AND e.source_column IS NULL
    GROUP BY l.source_name, l.target_name"""


@dataclass(frozen=True)
class ClosureResult:
    name: str
    depth: int | None
    catalog: Timing
    cte_nodes: Timing
    cte_edges: Timing
    store: float  # median seconds in LineageStore.closure (the walk's queries) per walk
    catalog_nodes: int
    cte_node_count: int
    catalog_edges: int
    cte_edge_count: int

    @property
    def agree(self) -> bool:
        return self.catalog_nodes == self.cte_node_count and self.catalog_edges == self.cte_edge_count


@contextmanager
def store_clock() -> Iterator[dict[str, float]]:
    """Seconds spent in the lineage store's two queries while the block runs."""
    spent = {"closure": 0.0}
    originals = {name: getattr(LineageStore, name) for name in spent}

    def timed(name: str, method: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start

        return wrapper

    for name, method in originals.items():
        setattr(LineageStore, name, timed(name, method))
    try:
        yield spent
    finally:
        for name, method in originals.items():
            setattr(LineageStore, name, method)


def measure_closure(cat: catalog.Catalog, name: str, depth: int | None, repeats: int) -> ClosureResult:
    db = cat.session.engine.db.cursor()
    limit = depth if depth is not None else 1_000_000
    if depth is None:
        cte_nodes = lambda: db.execute(CTE_NODES, [ROOT]).fetchone()[0]  # noqa: E731
    else:
        cte_nodes = lambda: db.execute(CTE_NODES_NEAR, [ROOT, depth]).fetchone()[0]  # noqa: E731
    cte_edges = lambda: db.execute(CTE_EDGES, [ROOT, limit, limit]).fetchall()  # noqa: E731
    samples: dict[str, list[float]] = {"catalog": [], "nodes": [], "edges": [], "store": []}
    graph = None
    node_count = edge_rows = 0
    for _ in range(repeats):  # interleaved, so that drift on a noisy machine hits all alike
        with store_clock() as spent:
            start = time.perf_counter()
            graph = cat.lineage.upstream(ROOT, depth=depth)
            samples["catalog"].append(time.perf_counter() - start)
        samples["store"].append(spent["closure"])
        start = time.perf_counter()
        node_count = cte_nodes()
        samples["nodes"].append(time.perf_counter() - start)
        start = time.perf_counter()
        edge_rows = len(cte_edges())
        samples["edges"].append(time.perf_counter() - start)
    db.close()
    assert graph is not None
    return ClosureResult(
        name=name,
        depth=depth,
        catalog=Timing("catalog", tuple(samples["catalog"])),
        cte_nodes=Timing("cte nodes", tuple(samples["nodes"])),
        cte_edges=Timing("cte edges", tuple(samples["edges"])),
        store=Timing("store", tuple(samples["store"])).median,
        catalog_nodes=len(graph.nodes_table),
        cte_node_count=node_count,
        catalog_edges=len(graph.edges_table),
        cte_edge_count=edge_rows,
    )


# -- what capture adds to a write ----------------------------------------------------------------
WRITES = {
    "CTAS, 3-table join": """
        CREATE OR REPLACE TABLE main.bench.order_facts AS
        SELECT o.order_id, c.region, p.category, o.quantity * p.price AS amount
        FROM main.bench.orders o
        JOIN main.bench.customers c ON o.customer_id = c.customer_id
        JOIN main.bench.products p ON o.product_id = p.product_id""",
    "INSERT ... SELECT, 10 rows": """
        INSERT INTO main.bench.order_sample
        SELECT o.order_id, c.region, p.category, o.quantity * p.price AS amount
        FROM main.bench.orders o
        JOIN main.bench.customers c ON o.customer_id = c.customer_id
        JOIN main.bench.products p ON o.product_id = p.product_id
        WHERE o.order_id < 10""",
}
TARGETS = {"CTAS, 3-table join": "main.bench.order_facts", "INSERT ... SELECT, 10 rows": "main.bench.order_sample"}


def write_frames(size: Size) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(23)
    customers = max(size.rows // 10, 10)
    return {
        "products": pd.DataFrame(
            {
                "product_id": np.arange(1000),
                "category": rng.choice(["tools", "food", "books", "toys"], 1000),
                "price": rng.gamma(2.0, 10.0, 1000).round(2),
            }
        ),
        "customers": pd.DataFrame(
            {
                "customer_id": np.arange(customers),
                "region": rng.choice(["emea", "amer", "apac"], customers),
            }
        ),
        "orders": pd.DataFrame(
            {
                "order_id": np.arange(size.rows),
                "customer_id": rng.integers(0, customers, size.rows),
                "product_id": rng.integers(0, 1000, size.rows),
                "quantity": rng.integers(1, 10, size.rows),
            }
        ),
    }


@contextmanager
def lineage_off(cat: catalog.Catalog) -> Iterator[None]:
    """Statements run as if they wrote no data: the session's ``run`` gets ``lineage=None``."""
    session = cat.session
    original = session.run

    def run(*args, lineage: str | None = None, **kwargs):
        return original(*args, **kwargs)

    session.run = run  # type: ignore[method-assign]
    try:
        yield
    finally:
        del session.run


def lineage_work(cat: catalog.Catalog, text: str, target_name: str) -> Callable[[], float]:
    """The statement's lineage work alone (column lineage, record_write, store_completed), timed
    inside a transaction that is rolled back; planning and the write itself are left out."""
    session = cat.session
    snapshot, authz = session.engine.state()

    def context() -> Context:
        return Context(session.principal, snapshot, authz, session.cursor, "main", "default")

    target = context().lookup(FullName.parse(target_name))
    (tree,) = parse(text)
    if isinstance(tree, exp.Insert):
        sources = planner.plan(context(), tree, exclude=(tree.this,)).sources
    else:
        sources = planner.plan(context(), tree.expression).sources
    names = [c.name for c in context().metastore.columns(target.id)]

    def once() -> float:
        (tree,) = parse(text)
        ctx = context()
        ctx.lineage = WriteRun("SQL", "benchmarkWrite", session.principal, session.engine.lineage_namespace, sql=text)
        session.cursor.execute("BEGIN")
        try:
            start = time.perf_counter()
            if isinstance(tree, exp.Insert):  # as statements.insert and _create_table do
                columns_of = lineage_sql.of_query(planner.qualify_names(ctx, tree).expression, names)
            else:
                columns_of = lineage_sql.of_query(planner.qualify_names(ctx, tree.expression))
            capture.record_write(ctx, target, sources, columns=columns_of)
            capture.store_completed(ctx, ctx.lineage)
            return time.perf_counter() - start
        finally:
            session.cursor.execute("ROLLBACK")

    return once


@dataclass(frozen=True)
class WriteResult:
    name: str
    with_lineage: Timing
    without_lineage: Timing
    lineage_alone: Timing
    same_rows: bool
    runs_recorded: int  # lineage runs the timed statements stored: one per statement with capture on

    @property
    def ratio(self) -> float:
        return self.with_lineage.median / self.without_lineage.median

    @property
    def ratio_by_parts(self) -> float:
        return self.with_lineage.median / (self.with_lineage.median - self.lineage_alone.median)


def set_up_writes(cat: catalog.Catalog, size: Size) -> None:
    cat.sql("CREATE CATALOG IF NOT EXISTS main")
    cat.sql("CREATE SCHEMA IF NOT EXISTS main.bench")
    for name, frame in write_frames(size).items():
        cat.create_table(f"main.bench.{name}", frame)
    cat.sql("CREATE TABLE main.bench.order_sample (order_id BIGINT, region STRING, category STRING, amount DOUBLE)")


def lineage_runs(cat: catalog.Catalog) -> int:
    db = cat.session.engine.db.cursor()
    try:
        return db.execute("SELECT count(DISTINCT run_id) FROM meta.lineage_events").fetchone()[0]
    finally:
        db.close()


def measure_write(cat: catalog.Catalog, name: str, size: Size) -> WriteResult:
    text, target = WRITES[name], TARGETS[name]
    check = f"SELECT * FROM {target} ORDER BY ALL"
    inserts = name.startswith("INSERT")
    cat.sql(text)  # warm up
    with lineage_off(cat):
        if inserts:
            cat.sql(f"DELETE FROM {target}")
        cat.sql(text)
        without = cat.sql(check)
    with_lineage, without_lineage = [], []
    runs_before = lineage_runs(cat)
    for _ in range(size.write_repeats):  # interleaved
        start = time.perf_counter()
        cat.sql(text)
        with_lineage.append(time.perf_counter() - start)
        with lineage_off(cat):
            start = time.perf_counter()
            cat.sql(text)
            without_lineage.append(time.perf_counter() - start)
    runs_recorded = lineage_runs(cat) - runs_before
    if inserts:
        cat.sql(f"DELETE FROM {target}")
    cat.sql(text)
    with_rows = cat.sql(check)
    once = lineage_work(cat, text, target)
    alone = [once() for _ in range(max(size.write_repeats, 20))]
    return WriteResult(
        name=name,
        with_lineage=Timing("with lineage", tuple(with_lineage)),
        without_lineage=Timing("without lineage", tuple(without_lineage)),
        lineage_alone=Timing("lineage alone", tuple(alone)),
        same_rows=with_rows.reset_index(drop=True).equals(without.reset_index(drop=True)),
        runs_recorded=runs_recorded,
    )


# -- running and reporting -------------------------------------------------------------------------
@dataclass(frozen=True)
class Results:
    links: int
    edges: int
    load_seconds: float
    closures: list[ClosureResult]
    writes: list[WriteResult]


def run(size: Size, *, progress: bool = True) -> Results:
    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp:
        with catalog.connect(Path(tmp) / "graph", user="admin") as cat:
            if progress:
                print(f"  lineage: loading a graph of {size.depth * size.fan_in:,} closure links ...", flush=True)
            links, edges, load_seconds = load_graph(cat, size)
            closures = []
            for name, depth in (("whole closure", None), (f"depth={NEAR_DEPTH}", NEAR_DEPTH)):
                if progress:
                    print(f"  lineage: upstream, {name} ...", flush=True)
                closures.append(measure_closure(cat, name, depth, size.closure_repeats))
        with catalog.connect(Path(tmp) / "writes", user="admin") as cat:
            set_up_writes(cat, size)
            writes = []
            for name in WRITES:
                if progress:
                    print(f"  lineage: {name} ...", flush=True)
                writes.append(measure_write(cat, name, size))
    return Results(links, edges, load_seconds, closures, writes)


def report(size: Size, results: Results) -> None:
    print(
        f"\nGraph: {results.links:,} links, {results.edges:,} edge rows; chain of {size.depth}, "
        f"{size.fan_in:,} sources into each table on it; loaded in {human(results.load_seconds)}"
    )
    print_table(
        "Upstream closure of the root, as admin; medians (p90)",
        [
            *["walk", "nodes", "edges", "catalog", "CTE, count", "catalog / CTE", "CTE + edges", "catalog / that"],
            *["store queries", "agree"],
        ],
        [
            [
                r.name,
                f"{r.catalog_nodes:,}",
                f"{r.catalog_edges:,}",
                f"{human(r.catalog.median)} ({human(percentile(r.catalog, 0.9))})",
                f"{human(r.cte_nodes.median)} ({human(percentile(r.cte_nodes, 0.9))})",
                f"{r.catalog.median / r.cte_nodes.median:.1f}x",
                human(r.cte_edges.median),
                f"{r.catalog.median / r.cte_edges.median:.1f}x",
                human(r.store),
                "yes" if r.agree else f"NO ({r.cte_node_count:,} nodes, {r.cte_edge_count:,} edges by SQL)",
            ]
            for r in results.closures
        ],
    )
    print(
        "\n'CTE, count' is one recursive CTE counting the closure's nodes; 'CTE + edges' also fetches"
        "\nevery link of the closure with its details as tuples. 'store queries' is the time inside"
        "\nLineageStore.closure (the recursive walk and the edge details, as DataFrames); the rest"
        "\nmasks and orders the graph."
    )
    print_table(
        f"What lineage capture adds to a write ({size.rows:,} orders); medians",
        ["statement", "with lineage", "without", "ratio", "lineage work alone", "ratio by parts", "same rows"],
        [
            [
                r.name,
                human(r.with_lineage.median),
                human(r.without_lineage.median),
                f"{r.ratio:.2f}x",
                human(r.lineage_alone.median),
                f"{r.ratio_by_parts:.2f}x",
                "yes" if r.same_rows else "NO",
            ]
            for r in results.writes
        ],
    )
    print(
        "\n'without' runs the same statement with capture off; 'lineage work alone' is column lineage,"
        "\nrecord_write and store_completed in a rolled-back transaction; ratio by parts = a / (a - b)."
    )


def passed(size: Size, results: Results) -> bool:
    return (
        all(r.agree for r in results.closures)
        and all(r.same_rows for r in results.writes)
        and all(r.runs_recorded == size.write_repeats for r in results.writes)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small graph and tables, for a smoke run")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    results = run(size)
    report(size, results)
    return 0 if passed(size, results) else 1


if __name__ == "__main__":
    sys.exit(main())
