"""The catalog server's cost: requests/s and latency over HTTP, beside the same calls in process.

A catalog home gets a ``small`` table (1,000 rows) and a ``big`` one (1M rows: ints, floats,
strings, a timestamp), which the user ``alice`` reads through a group grant; the same rows go
into a plain DuckDB file. The home is then copied: ``catalog server`` runs on the original as a
separate process (DuckDB lets one process open a home), and the embedded client opens the copy.

Two workloads, each at concurrency 1 and 16 (16 threads of this process, each with its own
connection, started together):

- small SELECT: ``SELECT id, name FROM main.bench.small WHERE id = ?`` with a random id, for a
  fixed time per round;
- read_table: every row of ``main.bench.big``, a fixed number of calls per thread and round.

Clients: the server (``catalog.connect(url, token=...)``: HTTP, token check, a session, the
audited query, the frame as Arrow IPC both ways), the embedded client on the copy, and DuckDB
directly on the plain file (``.df()`` as the catalog fetches, and ``.to_arrow_table()``). Rounds
interleave the cases so that drift on a noisy machine hits all alike; requests/s is the median
over rounds, p50 and p99 are over all calls of a case. Where the time goes: the HTTP floor
(``GET /health``, no token), a token-checked call that touches no table (``GET /api/v1/me``),
the Arrow encode and decode of each result timed alone, and for read_table the wait for the
response headers (the server's work) apart from the body's transfer. CPU seconds per call of
the server process (Linux) and of this process, the load generator, say which side saturates
the machine.

    python tests/benchmarks/bench_server.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _homes import build_reader_home, raw_database
from _report import Timing, human, print_table, sample

import catalog
from catalog import wire

SMALL_SELECT = "SELECT id, name FROM main.bench.small WHERE id = ?"
BIG = "main.bench.big"
CONCURRENCY = (1, 16)


@dataclass(frozen=True)
class Size:
    small_rows: int
    big_rows: int
    rounds: int  # each case runs once per round, rounds interleave the cases
    select_seconds: float  # of small SELECTs per case and round
    reads: int  # read_table calls per thread and round, at concurrency 1
    parallel_reads: int  # read_table calls per thread and round, at concurrency 16
    piece_repeats: int  # of each 1M-row piece timed alone (x20 for the small ones)


FULL = Size(1_000, 1_000_000, rounds=3, select_seconds=3.0, reads=4, parallel_reads=1, piece_repeats=5)
QUICK = Size(1_000, 20_000, rounds=1, select_seconds=0.3, reads=2, parallel_reads=1, piece_repeats=2)


# -- data ---------------------------------------------------------------------------------------
def frames(size: Size) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    small = pd.DataFrame({"id": np.arange(size.small_rows), "name": [f"name-{i:04d}" for i in range(size.small_rows)]})
    n = size.big_rows
    big = pd.DataFrame(
        {
            "id": np.arange(n),
            "customer_id": rng.integers(0, 100_000, n),
            "amount": rng.gamma(2.0, 30.0, n).round(2),
            "score": rng.random(n),
            "customer": [f"customer-{i:06d}" for i in rng.integers(0, 100_000, n)],
            "category": rng.choice([f"category-{i:02d}" for i in range(20)], n),
            "ts": np.datetime64("2026-01-01T00:00:00", "us")
            + rng.integers(0, 365 * 86_400, n) * np.timedelta64(1, "s"),
        }
    )
    return {"small": small, "big": big}


def set_up(home: Path, data: dict[str, pd.DataFrame]) -> str:
    """Create the home, its tables and a reader; return a token for the reader."""
    build_reader_home(home, data)
    with catalog.connect(home, user="admin") as admin:
        return admin.tokens.create("alice", comment="bench_server").token


# -- the server as a child process --------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(home: Path, log: Path) -> Iterator[tuple[str, int]]:
    """``catalog --home HOME server`` on a free port until the block ends; its URL and pid."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "catalog.cli.main", "--home", str(home), "server"]
    command += ["--port", str(port), "--log-level", "warning"]
    with open(log, "wb") as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}: {log.read_text()[-2000:]}")
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no server answered at {url}")
            time.sleep(0.05)
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGINT)  # as Ctrl-C: a clean shutdown
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int | None = None) -> float | None:
    """CPU time (user + system) of ``pid`` (Linux /proc), or of this process when None."""
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- load ---------------------------------------------------------------------------------------
Call = Callable[[Any, random.Random], object]


@dataclass
class Case:
    """One workload on one client at one concurrency, over all rounds."""

    workload: str
    client: str
    concurrency: int
    rates: list[float] = field(default_factory=list)  # calls/s, one per round
    latencies: list[float] = field(default_factory=list)
    calls: int = 0
    server_cpu: float | None = 0.0  # seconds, summed over rounds
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def timing(self) -> Timing:
        return Timing(self.client, tuple(self.latencies))

    def cpu_per_call(self, seconds: float | None) -> float | None:
        return None if seconds is None else seconds / self.calls


def drive(
    case: Case,
    connections: list[Any],
    call: Call,
    *,
    seconds: float | None = None,
    calls: int | None = None,
    server_pid: int | None = None,
) -> None:
    """One round: ``call`` on each connection in a thread of its own, all started together, for
    ``seconds`` or ``calls`` calls per thread; adds the round's rate, latencies and CPU to ``case``."""
    assert len(connections) == case.concurrency
    latencies: list[list[float]] = [[] for _ in connections]
    failures: list[BaseException] = []
    start_line = threading.Barrier(len(connections) + 1)
    deadline = 0.0

    def worker(index: int, connection: Any) -> None:
        rng = random.Random(index)
        mine = latencies[index]
        start_line.wait()
        try:
            while (seconds is not None and time.perf_counter() < deadline) or (calls is not None and len(mine) < calls):
                began = time.perf_counter()
                call(connection, rng)
                mine.append(time.perf_counter() - began)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i, c), daemon=True) for i, c in enumerate(connections)]
    for thread in threads:
        thread.start()
    server_before, client_before = cpu_seconds(server_pid) if server_pid else None, cpu_seconds()
    began = time.perf_counter()
    deadline = began + (seconds or 0.0)
    start_line.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if failures:
        raise failures[0]
    done = [x for mine in latencies for x in mine]
    case.rates.append(len(done) / wall)
    case.latencies.extend(done)
    case.calls += len(done)
    case.client_cpu += cpu_seconds() - client_before
    server_after = cpu_seconds(server_pid) if server_pid else None
    if server_before is None or server_after is None or case.server_cpu is None:
        case.server_cpu = None
    else:
        case.server_cpu += server_after - server_before


# -- the run ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Phases:
    """Pieces of a server call, timed alone (medians, seconds)."""

    health: float  # GET /health: HTTP, uvicorn, FastAPI; no token, no engine
    whoami: float  # GET /api/v1/me: that plus the token check and a session
    row_encode: float  # the small SELECT's one-row frame as Arrow IPC (wire.frame_to_arrow)
    row_decode: float  # and back into pandas (wire.arrow_to_frame)
    big_encode: float  # the big table's frame, on the server
    big_decode: float  # on the client
    first_byte: float  # GET .../rows until the response headers arrive: token, read_table, encode
    body: float  # from there until the whole body is in (requests' Response.content)
    payload_bytes: int


@dataclass(frozen=True)
class Results:
    cases: list[Case]
    phases: Phases
    select_agrees: bool  # the server, the embedded client and DuckDB return the same row
    read_agrees: bool  # and the same big table


def run(size: Size, *, progress: bool = True) -> Results:
    data = frames(size)
    small_ids = size.small_rows

    def say(text: str) -> None:
        if progress:
            print(f"  server: {text}", flush=True)

    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp, ExitStack() as stack:
        tmp_path = Path(tmp)
        say(f"loading {size.big_rows:,} + {size.small_rows:,} rows into a catalog home and a plain DuckDB file ...")
        token = set_up(tmp_path / "home", data)
        shutil.copytree(tmp_path / "home", tmp_path / "embedded-home")
        raw = raw_database(tmp_path / "raw.duckdb", data)
        stack.callback(raw.close)
        url, pid = stack.enter_context(server(tmp_path / "home", tmp_path / "server.log"))
        most = max(CONCURRENCY)
        remote = [stack.enter_context(catalog.connect(url, token=token)) for _ in range(most)]
        embedded = [stack.enter_context(catalog.connect(tmp_path / "embedded-home", user="alice")) for _ in range(most)]
        cursors = [raw.cursor() for _ in range(most)]
        for cursor in cursors:
            stack.callback(cursor.close)

        def select_id(cat: Any, key: int) -> pd.DataFrame:
            return cat.sql(SMALL_SELECT, [key])

        def raw_select_id(cursor: duckdb.DuckDBPyConnection, key: int) -> pd.DataFrame:
            return cursor.execute("SELECT id, name FROM small WHERE id = ?", [key]).df()

        def select(cat: Any, rng: random.Random) -> object:
            return select_id(cat, rng.randrange(small_ids))

        def raw_select(cursor: duckdb.DuckDBPyConnection, rng: random.Random) -> object:
            return raw_select_id(cursor, rng.randrange(small_ids))

        def read(cat: Any, rng: random.Random | None = None) -> pd.DataFrame:
            return cat.read_table(BIG)

        def raw_df(cursor: duckdb.DuckDBPyConnection, rng: random.Random | None = None) -> pd.DataFrame:
            return cursor.execute("SELECT * FROM big").df()

        def raw_arrow(cursor: duckdb.DuckDBPyConnection, rng: random.Random) -> object:
            return cursor.sql("SELECT * FROM big").to_arrow_table()

        say("checking that every client returns the same rows ...")
        key = small_ids // 2
        one_row = data["small"].iloc[[key]]
        select_agrees = all(
            same_frame(got, one_row)
            for got in (select_id(remote[0], key), select_id(embedded[0], key), raw_select_id(cursors[0], key))
        )
        served = read(embedded[0])  # the frame the server encodes: what DuckDB's .df() makes of the rows
        read_agrees = all(same_frame(got, data["big"]) for got in (read(remote[0]), served, raw_df(cursors[0])))

        plan: list[tuple[Case, list[Any], Call, dict[str, Any]]] = []
        for n in CONCURRENCY:
            timed = {"seconds": size.select_seconds}
            plan.append((Case("small SELECT", "server", n), remote[:n], select, timed | {"server_pid": pid}))
            plan.append((Case("small SELECT", "embedded", n), embedded[:n], select, timed))
            plan.append((Case("small SELECT", "DuckDB .df()", n), cursors[:n], raw_select, timed))
        for n in CONCURRENCY:
            counted = {"calls": size.reads if n == 1 else size.parallel_reads}
            plan.append((Case("read_table", "server", n), remote[:n], read, counted | {"server_pid": pid}))
            if n == 1:
                plan.append((Case("read_table", "embedded", n), embedded[:n], read, counted))
                plan.append((Case("read_table", "DuckDB .df()", n), cursors[:n], raw_df, counted))
                plan.append((Case("read_table", "DuckDB Arrow", n), cursors[:n], raw_arrow, counted))
        say("warming up every connection ...")
        for connection in [*remote, *embedded]:
            select(connection, random.Random(0))
        for round_number in range(1, size.rounds + 1):
            say(f"round {round_number} of {size.rounds} ...")
            for case, connections, call, options in plan:
                drive(case, connections, call, **options)

        say("timing the pieces of a call ...")
        phases = time_phases(url, token, one_row, served, size.piece_repeats)
        return Results([case for case, *_ in plan], phases, select_agrees, read_agrees)


def same_frame(got: pd.DataFrame, expected: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False, check_exact=True
        )
    except AssertionError:
        return False
    return True


def time_phases(url: str, token: str, row: pd.DataFrame, big: pd.DataFrame, repeats: int) -> Phases:
    first_byte, body = [], []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        health = sample("health", lambda: http.get(url + "/health").raise_for_status(), repeats * 20)
        whoami = sample("me", lambda: http.get(url + "/api/v1/me").raise_for_status(), repeats * 20)
        for _ in range(repeats):
            began = time.perf_counter()
            with http.get(f"{url}/api/v1/tables/{BIG}/rows", stream=True) as response:
                response.raise_for_status()
                headers_in = time.perf_counter()
                _ = response.content
            first_byte.append(headers_in - began)
            body.append(time.perf_counter() - headers_in)
    row_payload, payload = wire.frame_to_arrow(row), wire.frame_to_arrow(big)
    return Phases(
        health=health.median,
        whoami=whoami.median,
        row_encode=sample("encode", lambda: wire.frame_to_arrow(row), repeats * 20).median,
        row_decode=sample("decode", lambda: wire.arrow_to_frame(row_payload), repeats * 20).median,
        big_encode=sample("encode", lambda: wire.frame_to_arrow(big), repeats).median,
        big_decode=sample("decode", lambda: wire.arrow_to_frame(payload), repeats).median,
        first_byte=statistics.median(first_byte),
        body=statistics.median(body),
        payload_bytes=len(payload),
    )


# -- report -------------------------------------------------------------------------------------
def report(size: Size, results: Results) -> None:
    by_key = {(c.workload, c.client, c.concurrency): c for c in results.cases}

    def versus(case: Case, client: str) -> str:
        base = by_key.get((case.workload, client, case.concurrency))
        if base is None or base is case or case.client.startswith("DuckDB"):
            return ""
        return f"{case.timing.median / base.timing.median:.2f}x"

    rows = []
    for case in results.cases:
        timing = case.timing
        server_cpu = case.cpu_per_call(case.server_cpu)
        rows.append(
            [
                case.workload,
                str(case.concurrency),
                case.client,
                f"{case.rate:,.1f}",
                human(timing.median),
                human(timing.p99),
                versus(case, "embedded"),
                versus(case, "DuckDB .df()"),
                human(server_cpu) if server_cpu is not None and case.client == "server" else "",
                human(case.client_cpu / case.calls),
                f"{case.calls:,}",
            ]
        )
    print_table(
        f"Catalog server: small SELECT over {size.small_rows:,} rows, read_table of {size.big_rows:,} rows; "
        f"{size.rounds} round(s), requests/s the median round",
        [
            "workload",
            "threads",
            "client",
            "requests/s",
            "p50",
            "p99",
            "p50 ÷ embedded",
            "p50 ÷ DuckDB .df()",
            "server CPU/call",
            "client CPU/call",
            "calls",
        ],
        rows,
    )
    p = results.phases
    select_server = by_key[("small SELECT", "server", 1)].timing.median
    select_embedded = by_key[("small SELECT", "embedded", 1)].timing.median
    read_server = by_key[("read_table", "server", 1)].timing.median
    read_embedded = by_key[("read_table", "embedded", 1)].timing.median
    read_duckdb = by_key[("read_table", "DuckDB .df()", 1)].timing.median
    print_table(
        "Where a server call's time goes (medians, one call at a time)",
        ["call", "piece", "time"],
        [
            ["small SELECT", "GET /health: HTTP, uvicorn, FastAPI (no token)", human(p.health)],
            ["", "GET /api/v1/me: that + token check + session", human(p.whoami)],
            ["", "embedded small SELECT: parse, plan, audited txn, DuckDB", human(select_embedded)],
            ["", "Arrow encode + decode of the 1-row result", human(p.row_encode + p.row_decode)],
            ["", "server, end to end", human(select_server)],
            ["", "server - embedded", human(select_server - select_embedded)],
            ["read_table", "DuckDB SELECT * .df()", human(read_duckdb)],
            ["", "embedded read_table: that + plan + audited txn", human(read_embedded)],
            ["", f"Arrow IPC encode on the server ({p.payload_bytes / 1e6:.1f} MB)", human(p.big_encode)],
            ["", "server: request sent -> response headers in", human(p.first_byte)],
            ["", "-> whole body in (requests' Response.content)", human(p.body)],
            ["", "Arrow IPC decode into pandas on the client", human(p.big_decode)],
            ["", "server, end to end", human(read_server)],
        ],
    )
    print(
        f"\nSame rows from every client: small SELECT {'yes' if results.select_agrees else 'NO'}, "
        f"read_table {'yes' if results.read_agrees else 'NO'}. CPU per call: the server process's, "
        "and this process's (the client threads)."
    )


def passed(results: Results) -> bool:
    return results.select_agrees and results.read_agrees


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small tables and short rounds, for a smoke run")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    results = run(size)
    report(size, results)
    return 0 if passed(results) else 1


if __name__ == "__main__":
    sys.exit(main())
