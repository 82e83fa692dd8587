"""Experiment tracking beside OSS MLflow (SQLite backend), in the same run.

Three workloads: 100,000 metric points logged in batches of 1,000; 2,000 metrics logged one
call each; ``search_runs`` with the issue's filter and order over 2,000 runs. MLflow is a
benchmark-only extra (``pip install -e '.[bench]'``); without it, only our side runs.

    python tests/benchmarks/bench_tracking.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Timing, human, print_table, sample

import catalog
from catalog.tracking import Client
from catalog.tracking.store import Metric

FILTER = "metrics.test_accuracy > 0.8 and params.max_depth = '8'"
ORDER = ["metrics.test_accuracy DESC"]


@dataclass(frozen=True)
class Size:
    batch_points: int
    batch_size: int
    single_calls: int
    runs: int
    search_repeats: int


FULL = Size(100_000, 1_000, 2_000, 2_000, 15)
QUICK = Size(2_000, 500, 50, 40, 3)


def settled() -> float:
    """Collect garbage, then read the clock: the start of a timed workload, on either side.

    The first full collection after the imports walks every object they made (tens of ms here);
    left to chance it lands inside whichever timed loop crosses the threshold. Collections the
    workload's own allocations trigger still count.
    """
    gc.collect()
    return time.perf_counter()


def accuracy(i: int) -> float:
    return 0.5 + (i * 37 % 50) / 100


def depth(i: int) -> str:
    return str((4, 8, 12)[i % 3])


def expected_matches(size: Size) -> int:
    return sum(1 for i in range(size.runs) if accuracy(i) > 0.8 and depth(i) == "8")


def as_asked(runs: list) -> bool:
    """The runs a search returned match the filter, carry their data, and come in the order asked."""
    values = [run.data.metrics["test_accuracy"] for run in runs]
    matching = all(v > 0.8 and run.data.params["max_depth"] == "8" for v, run in zip(values, runs, strict=True))
    return matching and values == sorted(values, reverse=True)


@dataclass(frozen=True)
class SideResult:
    batches: float
    singles: float
    search: Timing
    matched: int
    as_asked: bool
    stored_points: int | None = None  # the batched metric's history, read back (our side)
    latest_loss: float | None = None  # its latest point, read back (our side)


def stored_as_logged(size: Size, result: SideResult) -> bool:
    """Our side read back every batched point, and the last step's value as the latest."""
    return result.stored_points == size.batch_points and result.latest_loss == 1.0 / size.batch_points


@dataclass(frozen=True)
class Timed:
    run_id: str  # the run that took the batches and the single calls
    batches: float
    singles: float
    search: Timing
    matched: int
    as_asked: bool


def timed_workloads(
    size: Size,
    client: Any,
    metric: Callable[[str, float, int, int], Any],
    new_experiment: Callable[[str], str],
    params: Callable[[int], Any],
) -> Timed:
    """The three workloads through an MLflow-shaped client (ours or MlflowClient): the sides
    differ only in their Metric class, how an experiment is made and how params are passed."""
    run_id = client.create_run(new_experiment("bench")).info.run_id
    start = settled()
    for offset in range(0, size.batch_points, size.batch_size):
        client.log_batch(
            run_id,
            metrics=[
                metric("loss", 1.0 / (s + 1), 1_700_000_000_000 + s, s) for s in range(offset, offset + size.batch_size)
            ],
        )
    batches = time.perf_counter() - start
    start = settled()
    for i in range(size.single_calls):
        client.log_metric(run_id, f"m{i}", float(i), step=0)
    singles = time.perf_counter() - start
    search_experiment = new_experiment("bench-search")
    for i in range(size.runs):
        run = client.create_run(search_experiment, run_name=f"r{i}")
        client.log_batch(run.info.run_id, metrics=[metric("test_accuracy", accuracy(i), 0, 0)], params=params(i))
    found: list = []
    search = sample(
        "search",
        lambda: found.append(client.search_runs([search_experiment], FILTER, order_by=ORDER, max_results=size.runs)),
        size.search_repeats,
    )
    return Timed(run_id, batches, singles, search, len(found[-1]), as_asked(found[-1]))


def ours(size: Size, folder: Path) -> SideResult:
    with catalog.connect(folder / "home", user="admin") as cat:
        client = Client(cat)
        timed = timed_workloads(
            size,
            client,
            Metric,
            lambda name: client.create_experiment(f"/{name}"),
            lambda i: {"max_depth": depth(i)},
        )
        stored_points = len(client.get_metric_history(timed.run_id, "loss"))
        latest_loss = client.get_run(timed.run_id).data.metrics["loss"]
        return SideResult(
            timed.batches, timed.singles, timed.search, timed.matched, timed.as_asked, stored_points, latest_loss
        )


def mlflows(size: Size, folder: Path) -> SideResult | None:
    try:
        import mlflow
        from mlflow.entities import Metric as MlflowMetric
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient
    except ImportError:
        return None
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    timed = timed_workloads(
        size,
        client,
        MlflowMetric,
        lambda name: client.create_experiment(name, artifact_location=(folder / f"mlruns-{name}").as_uri()),
        lambda i: [Param("max_depth", depth(i))],
    )
    return SideResult(timed.batches, timed.singles, timed.search, timed.matched, timed.as_asked)


def run(size: Size, *, progress: bool = True) -> tuple[SideResult, SideResult | None]:
    with tempfile.TemporaryDirectory(prefix="catalog-bench-tracking-") as tmp:
        if progress:
            print("  tracking: the catalog ...", flush=True)
        mine = ours(size, Path(tmp))
        if progress:
            print("  tracking: MLflow (SQLite) ...", flush=True)
        theirs = mlflows(size, Path(tmp))
    return mine, theirs


def report(size: Size, mine: SideResult, theirs: SideResult | None) -> None:
    def ratio(a: float, b: float | None) -> str:
        return "-" if b is None else f"{b / a:.1f}x"

    rows = [
        [
            f"{size.batch_points:,} points in batches of {size.batch_size:,}",
            human(mine.batches),
            human(theirs.batches) if theirs else "not installed",
            ratio(mine.batches, theirs.batches if theirs else None),
        ],
        [
            f"{size.single_calls:,} metrics, one call each",
            human(mine.singles),
            human(theirs.singles) if theirs else "not installed",
            ratio(mine.singles, theirs.singles if theirs else None),
        ],
        [
            f"search_runs over {size.runs:,} runs (median)",
            human(mine.search.median),
            human(theirs.search.median) if theirs else "not installed",
            ratio(mine.search.median, theirs.search.median if theirs else None),
        ],
    ]
    print_table(
        "Experiment tracking: the catalog beside MLflow (SQLite)",
        ["workload", "catalog", "MLflow", "MLflow / catalog"],
        rows,
    )
    per_call = f"one call: catalog {human(mine.singles / size.single_calls)}"
    if theirs:
        per_call += f", MLflow {human(theirs.singles / size.single_calls)}"
    print(
        f"\n{per_call}\nsearch matched {mine.matched} runs (expected {expected_matches(size)})"
        + (f"; MLflow {theirs.matched}" if theirs else "")
        + f"\nread back {mine.stored_points:,} batched points (logged {size.batch_points:,})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    mine, theirs = run(size)
    report(size, mine, theirs)
    agree = mine.matched == expected_matches(size) and (theirs is None or theirs.matched == mine.matched)
    agree = agree and stored_as_logged(size, mine) and mine.as_asked and (theirs is None or theirs.as_asked)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
