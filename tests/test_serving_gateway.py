"""The serving gateway: invocations answered by two uvicorn worker processes that reach the
metastore only through a real catalog server (both started as real processes on 127.0.0.1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from conftest import build_home, copy_home
from servers import ProcessServer, free_port, mint_token, wait_until_healthy
from sklearn.linear_model import LogisticRegression

import catalog
from catalog import tracking

FEATURES = ["tenure_months", "monthly_charges"]
MODEL = "main.ml.churn_model"
ENDPOINT = "main.ml.churn_endpoint"
WORKERS = 2


@dataclass(frozen=True)
class Prepared:
    template: Path
    models: tuple[LogisticRegression, LogisticRegression]  # versions 1 and 2


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"tenure_months": rng.integers(0, 60, n), "monthly_charges": rng.normal(70, 20, n).round(2)})
    return X.assign(churned=(X.tenure_months < 12).astype(int))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    statements = ("CREATE CATALOG main", "CREATE SCHEMA main.ml", "CREATE USER app", "CREATE USER mallory")
    template = build_home(tmp_path_factory.mktemp("gateway"), statements)
    cat = catalog.connect(template, user="admin")
    try:
        cat.create_table("main.ml.train", frame())
        tracking.set_experiment("/Shared/gateway")
        models = []
        for C in (1.0, 0.01):
            with tracking.start_run():
                train = cat.read_table("main.ml.train")
                model = LogisticRegression(C=C).fit(train[FEATURES], train["churned"])
                catalog.models.log_model(
                    model, "model", input_example=train[FEATURES].head(2), registered_model_name=MODEL
                )
            models.append(model)
        cat.serving.create_endpoint(
            ENDPOINT,
            {
                "served_entities": [{"entity_name": MODEL, "entity_version": "1", "name": "v1"}],
                "auto_capture_config": {"catalog_name": "main", "schema_name": "ml", "table_name_prefix": "churn"},
            },
        )
        cat.sql(f"GRANT QUERY ON ENDPOINT {ENDPOINT} TO app")
    finally:
        tracking._state.experiment_id = None
        cat.close()
    return Prepared(template, (models[0], models[1]))


@dataclass
class Gateway:
    url: str
    process: subprocess.Popen

    def invoke(self, token: str | None, rows: list[dict], session: requests.Session | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return (session or requests).post(
            f"{self.url}/serving-endpoints/{ENDPOINT}/invocations",
            json={"dataframe_records": rows},
            headers=headers,
            timeout=60,
        )

    def worker_pids(self) -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in found.split()]


@pytest.fixture
def stack(prepared: Prepared, tmp_path: Path) -> Iterator[tuple[ProcessServer, Gateway, Path]]:
    """A catalog server on a copy of the home, and a gateway with two workers in front of it."""
    home = copy_home(prepared.template, tmp_path)
    gateway_token = mint_token(home, "admin")  # the endpoint's owner
    server = ProcessServer(home).start()
    port = free_port()
    command = [sys.executable, "-m", "catalog.cli.main", "--uri", server.url, "--token", gateway_token]
    command += ["serving-gateway", "--workers", str(WORKERS), "--port", str(port), "--log-level", "warning"]
    command += ["--auth-ttl", "0.5", "--plan-ttl", "0.5"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    gateway = Gateway(f"http://127.0.0.1:{port}", process)
    try:
        wait_until_healthy(gateway.url, process=process)
        yield server, gateway, home
    finally:
        stop(gateway)
        server.stop()


def stop(gateway: Gateway) -> None:
    if gateway.process.poll() is None:
        gateway.process.send_signal(signal.SIGINT)
        gateway.process.wait(timeout=60)


def rows(n: int, seed: int = 3) -> list[dict]:
    return frame(n, seed)[FEATURES].to_dict("records")


def token_for(server: ProcessServer, user: str) -> str:
    with catalog.connect(server.url, token=admin_token(server)) as admin:
        return admin.tokens.create(user).token


def admin_token(server: ProcessServer) -> str:
    import json

    return json.loads((server.home / "server.json").read_text())["token"]


def test_two_workers_answer_without_holding_the_metastore(prepared, stack):
    server, gateway, home = stack
    app = token_for(server, "app")
    sent = rows(64)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda r: gateway.invoke(app, [r]), sent))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200][:3]
    expected = prepared.models[0].predict(pd.DataFrame(sent)).tolist()
    assert [a.json()["predictions"][0] for a in answers] == expected
    assert {a.headers["X-Served-Entity"] for a in answers} == {"v1"}
    workers = Counter(a.headers["X-Serving-Worker"] for a in answers)
    children = gateway.worker_pids()  # the workers (and multiprocessing's resource tracker)
    assert len(workers) == WORKERS and set(workers) <= {str(p) for p in children}, workers  # both answered
    database = str((home / "catalog.duckdb").resolve())
    for pid in [gateway.process.pid, *children]:  # no gateway process has the metastore file open
        held = {os.path.realpath(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        assert not any(path.startswith(database) for path in held)


def test_callers_are_checked_by_the_catalog_server(stack):
    server, gateway, _ = stack
    assert gateway.invoke(None, rows(1)).status_code == 401
    assert gateway.invoke("cat_not-a-token", rows(1)).status_code == 401
    mallory = token_for(server, "mallory")
    refused = gateway.invoke(mallory, rows(1))
    assert refused.status_code == 403 and refused.json()["error_code"] == "PERMISSION_DENIED"
    with catalog.connect(server.url, token=admin_token(server)) as admin:
        audit = admin.sql(
            "SELECT user_identity.email AS who, response.status_code AS status FROM system.access.audit "
            "WHERE action_name = 'authorizeServingQuery' AND response.status_code = 403"
        )
    assert audit["who"].tolist() == ["mallory"]


def test_a_revoked_grant_stops_working_within_the_cache_time(stack):
    server, gateway, _ = stack
    app = token_for(server, "app")
    assert gateway.invoke(app, rows(1)).status_code == 200
    with catalog.connect(server.url, token=admin_token(server)) as admin:
        admin.sql(f"REVOKE QUERY ON ENDPOINT {ENDPOINT} FROM app")
    deadline = time.monotonic() + 20
    statuses = set()
    while time.monotonic() < deadline:  # every worker must notice (each has its own cache)
        statuses = {gateway.invoke(app, rows(1)).status_code for _ in range(6)}
        if statuses == {403}:
            break
        time.sleep(0.2)
    assert statuses == {403}


def test_config_updates_reach_the_workers(prepared, stack):
    server, gateway, _ = stack
    app = token_for(server, "app")
    assert gateway.invoke(app, rows(1)).headers["X-Served-Entity"] == "v1"
    with catalog.connect(server.url, token=admin_token(server)) as admin:
        admin.serving.update_config(
            ENDPOINT, {"served_entities": [{"entity_name": MODEL, "entity_version": "2", "name": "v2"}]}
        )
    deadline = time.monotonic() + 30
    answered: set[str] = set()
    failures = 0
    while time.monotonic() < deadline:
        batch = [gateway.invoke(app, rows(1)) for _ in range(6)]
        failures += sum(r.status_code != 200 for r in batch)
        answered = {r.headers.get("X-Served-Entity", "") for r in batch}
        if answered == {"v2"}:
            break
    assert failures == 0 and answered == {"v2"}
    sent = rows(5)
    assert gateway.invoke(app, sent).json()["predictions"] == prepared.models[1].predict(pd.DataFrame(sent)).tolist()


def test_requests_are_recorded_on_the_catalog_server(stack):
    server, gateway, _ = stack
    app = token_for(server, "app")
    for chunk in range(10):
        assert gateway.invoke(app, rows(2, seed=chunk)).status_code == 200
    assert gateway.invoke(app, [{"tenure_months": 3}]).status_code == 400
    stop(gateway)  # workers record what they answered before they exit
    with catalog.connect(server.url, token=admin_token(server)) as admin:
        usage = admin.sql(
            "SELECT status_code, count(*) AS n, sum(input_rows) AS rows FROM system.serving.endpoint_usage "
            "WHERE requester = 'app' GROUP BY status_code ORDER BY status_code"
        )
        payloads = admin.sql("SELECT status_code, requester FROM main.ml.churn_payload ORDER BY timestamp_ms")
        lineage = admin.sql(
            "SELECT DISTINCT source_table_full_name AS source FROM system.access.table_lineage "
            "WHERE target_table_full_name = 'main.ml.churn_payload'"
        )
    assert usage.to_dict("list") == {"status_code": [200, 400], "n": [10, 1], "rows": [20, 1]}
    assert len(payloads) == 11 and set(payloads["requester"]) == {"app"}
    assert lineage["source"].tolist() == [ENDPOINT]
