"""Model serving beside ``mlflow models serve``: requests/s and latency over HTTP, in the same run.

One scikit-learn model, a ``RandomForestClassifier`` (100 trees, depth 8) fitted on 10 float
features, is served twice from separate processes on this machine:

- ours: registered as ``main.ml.rf`` version 1 in a catalog home and served by the endpoint
  ``main.ml.rf_endpoint`` (``max_batch_size`` 64, ``max_batch_wait_ms`` 2) of
  ``catalog --home HOME server``; queried with a token of the user ``scorer``, who holds QUERY on
  the endpoint and nothing else;
- MLflow's: the same fitted object saved with ``mlflow.sklearn.save_model`` (with a signature)
  and served by ``mlflow models serve -m DIR --env-manager local`` with its default workers (one
  uvicorn process; ``--mlflow-workers N`` passes ``--workers N``).

Both get the same bytes: ``{"dataframe_split": {"columns": [...], "data": [[...]]}}`` bodies
encoded once, from a pool of held-out rows. The load generator is this process: one thread per
client, each with its own persistent ``http.client`` connection, sending its next request when
the last one is answered, for a fixed time after a warm-up. Workloads: one-row requests at
concurrency 1, 8 and 32, and 100-row requests at concurrency 8. Two more cases of our side, at
one row and 32 threads, say what batching and auto capture are worth: an endpoint with batching
off (``max_batch_wait_ms`` 0) and one with an inference table. Rounds interleave the cases and
the servers (which goes first alternates) so that drift on a noisy machine hits both; requests/s
is the median over rounds, p50 and p99 are over every request of a case. CPU seconds per request
of each server's processes (Linux /proc) and of this process say who saturates the machine; our
endpoint's own counters give the requests per predict call.

Checked once: both servers return the same predictions as the model in this process, for the
same 200 rows. Where the time goes: the HTTP floor of each server (``GET /health``, ``GET /ping``),
the model's ``predict`` alone at several batch sizes, and MLflow's pyfunc wrapper around it.

    python tests/benchmarks/bench_serving.py [--quick] [--mlflow-workers N]

MLflow is a benchmark-only extra (``pip install -e '.[bench]'``); without it only our side runs.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Timing, human, print_table, sample
from bench_server import cpu_seconds, free_port, server

import catalog
from catalog import tracking

FEATURES = [f"f{i}" for i in range(10)]
MODEL = "main.ml.rf"
ENDPOINT = "main.ml.rf_endpoint"
NO_BATCHING = "main.ml.rf_unbatched"
CAPTURED = "main.ml.rf_captured"
BATCH_SIZE, BATCH_WAIT_MS = 64, 2
WORKLOADS = (("1 row", 1, 1), ("1 row", 1, 8), ("1 row", 1, 32), ("100 rows", 100, 8))  # name, rows, threads
VARIANTS = (("ours, batching off", NO_BATCHING), ("ours, inference table", CAPTURED))  # at 1 row, 32 threads
OURS, MLFLOW = "ours", "MLflow"
GATEWAY = "gateway"  # the serving gateway's workers in front of the catalog server (ENDPOINT, 1 row, 32 threads)


@dataclass(frozen=True)
class Size:
    rounds: int  # each case runs once per round; rounds interleave cases and servers
    seconds: float  # measured, per case and round
    warm_up: float  # before each measured window, on the same connections
    piece_repeats: int  # of each piece timed alone


FULL = Size(rounds=3, seconds=5.0, warm_up=1.0, piece_repeats=200)
QUICK = Size(rounds=1, seconds=2.0, warm_up=0.5, piece_repeats=20)


# -- the model ----------------------------------------------------------------------------------
def fitted_model() -> tuple[Any, pd.DataFrame]:
    """The forest, fitted on 5,000 rows, and 1,000 held-out rows to send."""
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(7)
    rows = pd.DataFrame(rng.normal(size=(6_000, len(FEATURES))), columns=FEATURES)
    label = ((rows.f0 + rows.f1 * rows.f2 - 0.5 * rows.f3) > 0).astype(int)
    model = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0)
    model.fit(rows.iloc[:5_000], label.iloc[:5_000])
    return model, rows.iloc[5_000:].reset_index(drop=True)


def body(rows: pd.DataFrame) -> bytes:
    return json.dumps({"dataframe_split": {"columns": FEATURES, "data": rows.to_numpy().tolist()}}).encode()


def set_up_home(home: Path, model: Any, example: pd.DataFrame) -> tuple[str, str]:
    """Register ``model``, create the endpoints and a scorer who may query them; return the
    scorer's token and an admin token (to read the endpoint's counters)."""
    entity = {"entity_name": MODEL, "entity_version": "1", "max_batch_size": BATCH_SIZE}
    with catalog.connect(home, user="admin") as admin:
        admin.sql("CREATE CATALOG main")
        admin.sql("CREATE SCHEMA main.ml")
        tracking.set_experiment("/Shared/bench_serving")
        with tracking.start_run():
            catalog.models.log_model(model, "model", input_example=example, registered_model_name=MODEL)
        admin.serving.create_endpoint(ENDPOINT, {"served_entities": [entity | {"max_batch_wait_ms": BATCH_WAIT_MS}]})
        admin.serving.create_endpoint(NO_BATCHING, {"served_entities": [entity | {"max_batch_wait_ms": 0}]})
        capture = {"catalog_name": "main", "schema_name": "ml", "table_name_prefix": "rf"}
        admin.serving.create_endpoint(
            CAPTURED,
            {"served_entities": [entity | {"max_batch_wait_ms": BATCH_WAIT_MS}], "auto_capture_config": capture},
        )
        admin.sql("CREATE USER scorer")
        for name in (ENDPOINT, NO_BATCHING, CAPTURED):
            admin.sql(f"GRANT QUERY ON ENDPOINT {name} TO scorer")
        return admin.tokens.create("scorer", comment="bench_serving").token, admin.tokens.create("admin").token


# -- MLflow's server ----------------------------------------------------------------------------
def mlflow_installed() -> bool:
    return importlib.util.find_spec("mlflow") is not None


def save_for_mlflow(model: Any, example: pd.DataFrame, folder: Path) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    signature = infer_signature(example, model.predict(example))
    # skops is MLflow's default format; it refuses a forest's Tree objects unless they are trusted.
    mlflow.sklearn.save_model(model, str(folder), signature=signature, skops_trusted_types=["sklearn.tree._tree.Tree"])


@contextmanager
def mlflow_server(model_dir: Path, log: Path, workers: int | None) -> Iterator[tuple[str, int]]:
    """``mlflow models serve`` on a free port until the block ends; its URL and pid (the CLI,
    whose child is uvicorn)."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", str(model_dir)]
    command += ["-p", str(port), "--env-manager", "local"]
    if workers is not None:
        command += ["--workers", str(workers)]
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # it runs `uvicorn`
    with serving_process(command, port, "/ping", log, env) as started:
        yield started


@contextmanager
def gateway(catalog_url: str, token: str, workers: int, log: Path) -> Iterator[tuple[str, int]]:
    """``catalog serving-gateway --workers N`` in front of the catalog server; its URL and pid."""
    port = free_port()
    command = [sys.executable, "-m", "catalog.cli.main", "--uri", catalog_url, "--token", token]
    command += ["serving-gateway", "--workers", str(workers), "--port", str(port), "--log-level", "warning"]
    with serving_process(command, port, "/health", log, dict(os.environ)) as started:
        yield started


@contextmanager
def serving_process(
    command: list[str], port: int, health: str, log: Path, env: dict[str, str]
) -> Iterator[tuple[str, int]]:
    """``command`` in a session of its own, its output in ``log``, until the block ends (then
    interrupted as Ctrl-C would, killed if it lingers); its URL once ``health`` answers, and pid."""
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as err:
        process = subprocess.Popen(command, stdout=err, stderr=err, env=env, start_new_session=True)
    try:
        wait_for(url + health, process, log)
        yield url, process.pid
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no server answered at {url}")
        time.sleep(0.1)


def tree_cpu(pid: int) -> float | None:
    """CPU seconds of ``pid`` and its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        seconds = cpu_seconds(current)
        if seconds is None:
            if current == pid:
                return None
            continue
        total += seconds
        todo.extend(children.get(current, []))
    return total


# -- load ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A server to load: where invocations go, with which headers, and whose CPU to count."""

    side: str
    url: str
    path: str
    headers: dict[str, str]
    pid: int

    def connection(self) -> http.client.HTTPConnection:
        host, port = self.url.removeprefix("http://").split(":")
        return http.client.HTTPConnection(host, int(port), timeout=60)

    def post(self, connection: http.client.HTTPConnection, payload: bytes) -> bytes:
        connection.request("POST", self.path, body=payload, headers=self.headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"{self.side}: HTTP {response.status}: {answer[:500]!r}")
        return answer


@dataclass
class Case:
    """One workload on one server, over all rounds."""

    workload: str
    side: str
    threads: int
    rows: int
    rates: list[float] = field(default_factory=list)  # requests/s, one per round
    latencies: list[float] = field(default_factory=list)
    requests: int = 0
    server_cpu: float | None = 0.0
    client_cpu: float = 0.0
    served: int = 0  # requests our endpoint answered during the rounds, warm-ups included
    predicts: int = 0  # and the predict calls its batcher made for them

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def timing(self) -> Timing:
        return Timing(self.side, tuple(self.latencies))


def drive(case: Case, target: Target, bodies: list[bytes], size: Size) -> None:
    """One round: ``case.threads`` clients post ``bodies`` (picked at random) to ``target`` for
    ``size.warm_up`` + ``size.seconds``; requests that start in the measured window count."""
    latencies: list[list[float]] = [[] for _ in range(case.threads)]
    failures: list[BaseException] = []
    start_line = threading.Barrier(case.threads + 1)
    window = [0.0, 0.0]  # measured from, until

    def client(index: int) -> None:
        rng = random.Random(index)
        mine = latencies[index]
        connection = target.connection()
        try:
            start_line.wait()
            while True:
                began = time.perf_counter()
                if began >= window[1]:
                    break
                target.post(connection, rng.choice(bodies))
                if began >= window[0]:
                    mine.append(time.perf_counter() - began)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(case.threads)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    window[:] = [now + size.warm_up, now + size.warm_up + size.seconds]
    start_line.wait()
    time.sleep(max(0.0, window[0] - time.perf_counter()))
    server_before, client_before = tree_cpu(target.pid), cpu_seconds()
    for thread in threads:
        thread.join()
    server_after, client_after = tree_cpu(target.pid), cpu_seconds()
    if failures:
        raise failures[0]
    done = [x for mine in latencies for x in mine]
    # The last requests of the window finish after it: the rate is over the time they took.
    elapsed = max(size.seconds, time.perf_counter() - window[0])
    case.rates.append(len(done) / elapsed)
    case.latencies.extend(done)
    case.requests += len(done)
    case.client_cpu += client_after - client_before
    if server_before is None or server_after is None or case.server_cpu is None:
        case.server_cpu = None
    else:
        case.server_cpu += server_after - server_before


def counters(url: str, admin_token: str, endpoint: str) -> tuple[int, int]:
    """The requests our endpoint's served entity has answered so far, and its predict calls."""
    answer = requests.get(
        f"{url}/api/2.0/serving-endpoints/{endpoint}", headers={"Authorization": f"Bearer {admin_token}"}, timeout=30
    )
    answer.raise_for_status()
    runtime = answer.json()["config"]["served_entities"][0].get("runtime", {})
    return runtime.get("requests", 0), runtime.get("batches", 0)


# -- the run ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pieces:
    """Parts of a request, timed alone (medians, seconds)."""

    our_floor: float  # GET /health on our server: HTTP, uvicorn, FastAPI, no token
    mlflow_floor: float | None  # GET /ping on MLflow's
    predict: dict[int, float]  # the forest's predict in this process, by rows
    pyfunc_predict: float | None  # MLflow's pyfunc wrapper (schema enforcement) on one row


@dataclass(frozen=True)
class Results:
    cases: list[Case]
    pieces: Pieces
    mlflow_workers: str | None  # what MLflow's server ran with, from its log
    agrees: bool  # both servers and the model in this process give the same predictions


def run(size: Size, *, mlflow_workers: int | None = None, gateway_workers: int = 0, progress: bool = True) -> Results:
    def say(text: str) -> None:
        if progress:
            print(f"  serving: {text}", flush=True)

    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp, ExitStack() as stack:
        tmp_path = Path(tmp)
        say("fitting the forest (100 trees, depth 8, 10 features) ...")
        model, held_out = fitted_model()
        say("registering it in a catalog home and creating the endpoints ...")
        token, admin_token = set_up_home(tmp_path / "home", model, held_out.head(5))
        url, pid = stack.enter_context(server(tmp_path / "home", tmp_path / "server.log"))
        ours = {
            name: Target(OURS, url, f"/serving-endpoints/{name}/invocations", auth(token), pid)
            for name in (ENDPOINT, NO_BATCHING, CAPTURED)
        }
        variants = list(VARIANTS)
        if gateway_workers:
            say(f"starting the serving gateway with {gateway_workers} workers ...")
            gateway_url, gateway_pid = stack.enter_context(
                gateway(url, admin_token, gateway_workers, tmp_path / "gateway.log")
            )
            label = f"ours, gateway ×{gateway_workers}"
            path = f"/serving-endpoints/{ENDPOINT}/invocations"
            ours[GATEWAY] = Target(label, gateway_url, path, auth(token), gateway_pid)
            variants.append((label, GATEWAY))
        theirs: Target | None = None
        mlflow_log = tmp_path / "mlflow.log"
        if mlflow_installed():
            say("saving it for MLflow and starting `mlflow models serve` ...")
            save_for_mlflow(model, held_out.head(5), tmp_path / "mlflow-model")
            mlflow_url, mlflow_pid = stack.enter_context(
                mlflow_server(tmp_path / "mlflow-model", mlflow_log, mlflow_workers)
            )
            theirs = Target(MLFLOW, mlflow_url, "/invocations", {"Content-Type": "application/json"}, mlflow_pid)
        else:
            say("MLflow is not installed (pip install -e '.[bench]'): only our side runs")

        say("checking that both servers give the model's predictions ...")
        check = held_out.head(200)
        expected = [int(p) for p in model.predict(check)]
        agrees = True
        for target in [*ours.values(), *([theirs] if theirs else [])]:
            connection = target.connection()
            got = json.loads(target.post(connection, body(check)))["predictions"]
            connection.close()
            agrees &= got == expected

        one_row = [body(held_out.iloc[[i]]) for i in range(256)]
        hundred = [body(held_out.iloc[i : i + 100]) for i in range(0, 900, 50)]
        plan: list[tuple[Case, Case | None, str]] = []
        for workload, rows, threads in WORKLOADS:
            mine = Case(workload, OURS, threads, rows)
            plan.append((mine, Case(workload, MLFLOW, threads, rows) if theirs else None, ENDPOINT))
        for label, endpoint in variants:
            plan.append((Case("1 row", label, 32, 1), None, endpoint))
        for round_number in range(1, size.rounds + 1):
            say(f"round {round_number} of {size.rounds} ...")
            for mine, other, endpoint in plan:
                bodies = one_row if mine.rows == 1 else hundred
                pairs = [(mine, ours[endpoint])] + ([(other, theirs)] if other is not None and theirs else [])
                if round_number % 2 == 0:
                    pairs.reverse()
                for case, target in pairs:
                    counted = case is mine and endpoint != GATEWAY  # gateway workers keep their own counts
                    before = counters(url, admin_token, endpoint) if counted else (0, 0)
                    drive(case, target, bodies, size)
                    if counted:
                        after = counters(url, admin_token, endpoint)
                        case.served += after[0] - before[0]
                        case.predicts += after[1] - before[1]

        say("timing the pieces of a request ...")
        pieces = time_pieces(size, model, held_out, url, theirs, tmp_path / "mlflow-model")
        cases = [case for mine, other, _ in plan for case in (mine, other) if case is not None]
        return Results(cases, pieces, workers_used(mlflow_log) if theirs else None, agrees)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def workers_used(log: Path) -> str | None:
    """The ``--workers`` MLflow passed to uvicorn, from the command it logs."""
    for line in log.read_text(errors="replace").splitlines():
        if "Running command" in line and "--workers" in line:
            return line.split("--workers", 1)[1].split()[0]
    return None


def time_pieces(size: Size, model: Any, rows: pd.DataFrame, url: str, theirs: Target | None, folder: Path) -> Pieces:
    repeats = size.piece_repeats
    with requests.Session() as http_session:
        our_floor = sample("health", lambda: http_session.get(url + "/health").raise_for_status(), repeats).median
        mlflow_floor = None
        if theirs is not None:
            ping = theirs.url + "/ping"
            mlflow_floor = sample("ping", lambda: http_session.get(ping).raise_for_status(), repeats).median
    predict = {
        n: sample(f"predict {n}", lambda n=n: model.predict(rows.head(n)), repeats).median for n in (1, 32, 64, 100)
    }
    pyfunc_predict = None
    if theirs is not None:
        import mlflow.pyfunc

        pyfunc = mlflow.pyfunc.load_model(str(folder))
        pyfunc_predict = sample("pyfunc", lambda: pyfunc.predict(rows.head(1)), repeats).median
    return Pieces(our_floor, mlflow_floor, predict, pyfunc_predict)


# -- report -------------------------------------------------------------------------------------
def report(size: Size, results: Results) -> None:
    baseline = {(c.workload, c.threads): c for c in results.cases if c.side == MLFLOW}
    rows = []
    for case in results.cases:
        timing, base = case.timing, baseline.get((case.workload, case.threads))
        compared = base is not None and case.side != MLFLOW
        rows.append(
            [
                case.workload,
                str(case.threads),
                case.side,
                f"{case.rate:,.1f}",
                human(timing.median),
                human(timing.p99),
                f"{case.rate / base.rate:.2f}x" if compared else "",
                f"{timing.p99 / base.timing.p99:.2f}x" if compared else "",
                human(case.server_cpu / case.requests) if case.server_cpu is not None else "",
                human(case.client_cpu / case.requests),
                f"{case.served / case.predicts:.1f}" if case.predicts else "",
                f"{case.requests:,}",
            ]
        )
    print_table(
        f"Model serving: RandomForestClassifier (100 trees, depth 8, 10 features); {size.rounds} round(s) of "
        f"{size.seconds:g} s per case after {size.warm_up:g} s of warm-up; requests/s the median round",
        [
            "workload",
            "threads",
            "server",
            "requests/s",
            "p50",
            "p99",
            "req/s ÷ MLflow",
            "p99 ÷ MLflow",
            "server CPU/req",
            "client CPU/req",
            "requests/predict",
            "requests",
        ],
        rows,
    )
    p = results.pieces
    pieces = [
        ["GET /health on our server (HTTP, uvicorn, FastAPI; no token)", human(p.our_floor)],
        ["GET /ping on MLflow's", human(p.mlflow_floor) if p.mlflow_floor is not None else "-"],
    ]
    pieces += [[f"the forest's predict in process, {n} row(s)", human(t)] for n, t in p.predict.items()]
    if p.pyfunc_predict is not None:
        pieces.append(["MLflow's pyfunc predict in process, 1 row (schema check + predict)", human(p.pyfunc_predict)])
    print_table("Where a request's time goes (medians, one call at a time)", ["piece", "time"], pieces)
    ours = next((c for c in results.cases if c.side == OURS and c.workload == "1 row" and c.threads == 32), None)
    base = baseline.get(("1 row", 32))
    if ours is not None and base is not None:
        ratio, p99 = ours.rate / base.rate, ours.timing.p99 / base.timing.p99
        met = "met" if ratio >= 3 and p99 < 1 else "NOT met"
        print(
            f"\nTarget (at least 3x MLflow's requests/s at 32 threads, one row, with a lower p99): {met} "
            f"({ratio:.2f}x the requests/s, p99 {p99:.2f}x MLflow's)."
        )
    if results.mlflow_workers is not None:
        print(f"MLflow's server ran `uvicorn --workers {results.mlflow_workers}` (`mlflow models serve --workers`).")
    print(
        f"Same predictions from both servers and the model in process: {'yes' if results.agrees else 'NO'}. "
        "CPU per request: the server's processes, and this process (the client threads)."
    )


def passed(results: Results) -> bool:
    return results.agrees


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round, for a smoke run")
    parser.add_argument(
        "--mlflow-workers", type=int, default=None, help="pass --workers N to mlflow models serve (default: its own)"
    )
    parser.add_argument(
        "--gateway-workers",
        type=int,
        default=2,
        help="also serve through `catalog serving-gateway --workers N` (1 row, 32 threads; 0: skip; default 2)",
    )
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    results = run(size, mlflow_workers=args.mlflow_workers, gateway_workers=args.gateway_workers)
    report(size, results)
    return 0 if passed(results) else 1


if __name__ == "__main__":
    sys.exit(main())
