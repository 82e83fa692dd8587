"""Model serving end to end: real homes (DuckDB files), scikit-learn models registered through
the registry, a real uvicorn server on 127.0.0.1 driven over HTTP with ``requests``.

One home is prepared per module (catalog ``main``, schema ``ml``, users alice, bob and carol,
the training table ``main.ml.train``, two versions of ``main.ml.churn_model`` and a feature
store model ``main.ml.fs_model`` over ``main.ml.customer_features``); every test gets a copy.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
from conftest import build_home, copy_home
from servers import ProcessServer, ThreadServer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import catalog
from catalog import engine as engines
from catalog import tracking
from catalog.api import Catalog
from catalog.errors import AlreadyExists, InvalidName, InvalidRequest, NotFound, PermissionDenied
from catalog.features import FeatureEngineeringClient, FeatureLookup
from catalog.serving.runtime import runtime_for

WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.ml",
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE USER carol",
)
FEATURES = ["tenure_months", "monthly_charges"]
MODEL = "main.ml.churn_model"
FS_MODEL = "main.ml.fs_model"
FS_DEFAULT_MODEL = "main.ml.fs_default_model"
DEFAULTS = {"monthly_charges": 50.0}  # FS_DEFAULT_MODEL looks up monthly_charges only; callers send tenure
FEATURE_TABLE = "main.ml.customer_features"
ENDPOINT = "main.ml.churn_endpoint"


# -- the prepared home -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Trained:
    template: Path
    v1: RandomForestClassifier  # version 1 of MODEL
    v2: LogisticRegression  # version 2 of MODEL
    fs: LogisticRegression  # version 1 of FS_MODEL, trained on looked-up features
    fs_default: LogisticRegression  # version 1 of FS_DEFAULT_MODEL, whose lookup declares defaults
    train: pd.DataFrame
    customers: pd.DataFrame


def training_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"tenure_months": rng.integers(0, 60, n), "monthly_charges": rng.normal(70, 20, n).round(2)})
    return X.assign(churned=((X.tenure_months < 12) | (X.monthly_charges > 95)).astype(int))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    template = build_home(tmp_path_factory.mktemp("serving"), WORLD)
    cat = catalog.connect(template, user="admin")
    try:
        cat.create_table("main.ml.train", training_frame())
        tracking.set_experiment("/Shared/serving")
        fitted = []
        for estimator in (
            RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0),
            LogisticRegression(max_iter=1000),
        ):
            with tracking.start_run():
                frame = cat.read_table("main.ml.train")  # lineage train -> model: drift's baseline
                model = estimator.fit(frame[FEATURES], frame["churned"])
                catalog.models.log_model(
                    model, "model", input_example=frame[FEATURES].head(3), registered_model_name=MODEL
                )
            fitted.append(model)
        customers = training_frame(40, seed=1).drop(columns="churned").assign(customer_id=range(1, 41))
        fe = FeatureEngineeringClient(cat)
        fe.create_table(name=FEATURE_TABLE, primary_keys=["customer_id"], df=customers[["customer_id", *FEATURES]])
        labels = pd.DataFrame({"customer_id": range(1, 41), "churned": [i % 3 == 0 for i in range(40)]}).astype(
            {"churned": int}
        )
        fs_models = []
        for registered, defaults in ((FS_MODEL, None), (FS_DEFAULT_MODEL, DEFAULTS)):
            lookup = FeatureLookup(
                table_name=FEATURE_TABLE,
                feature_names=list(defaults) if defaults else FEATURES,
                lookup_key="customer_id",
                default_values=defaults,
            )
            given = labels.assign(tenure_months=customers["tenure_months"]) if defaults else labels
            training_set = fe.create_training_set(
                df=given, feature_lookups=[lookup], label="churned", exclude_columns=["customer_id"]
            )
            loaded = training_set.load_df()
            with tracking.start_run():
                fs = LogisticRegression(max_iter=1000).fit(loaded[FEATURES], loaded["churned"])
                fe.log_model(
                    model=fs,
                    artifact_path="model",
                    flavor="sklearn",
                    training_set=training_set,
                    registered_model_name=registered,
                    input_example=loaded[FEATURES].head(2),
                )
            fs_models.append(fs)
    finally:
        while tracking.active_run() is not None:
            tracking.end_run()
        tracking._state.experiment_id = None
        cat.close()
    return Trained(template, fitted[0], fitted[1], fs_models[0], fs_models[1], training_frame(), customers)


@pytest.fixture
def home(tmp_path: Path, trained: Trained) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared home."""
    return copy_home(trained.template, tmp_path)


@pytest.fixture
def server(home: Path) -> Iterator[ThreadServer]:
    started = ThreadServer(home)
    yield started
    started.stop()


@pytest.fixture
def users(home: Path) -> Iterator[Callable[[str], Catalog]]:
    """Embedded connections to the home as any user (with a ThreadServer: its engine)."""
    opened: list[Catalog] = []

    def open_as(user: str) -> Catalog:
        cat = catalog.connect(home, user=user)
        opened.append(cat)
        return cat

    yield open_as
    for cat in reversed(opened):
        cat.close()


@pytest.fixture
def admin(users: Callable[[str], Catalog]) -> Catalog:
    return users("admin")


# -- helpers -----------------------------------------------------------------------------------------
def entity(version: int | str, name: str, model: str = MODEL, **settings: Any) -> dict[str, Any]:
    return {"entity_name": model, "entity_version": str(version), "name": name, **settings}


def config(*entities: dict[str, Any], routes: dict[str, int] | None = None, **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"served_entities": list(entities), **more}
    if routes is not None:
        body["traffic_config"] = {
            "routes": [{"served_model_name": n, "traffic_percentage": p} for n, p in routes.items()]
        }
    return body


def capture(prefix: str = "churn") -> dict[str, Any]:
    return {"auto_capture_config": {"catalog_name": "main", "schema_name": "ml", "table_name_prefix": prefix}}


def invoke(
    server: ThreadServer | ProcessServer,
    token: str | None,
    body: Any,
    endpoint: str = ENDPOINT,
    session: requests.Session | None = None,
) -> requests.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    url = f"{server.url}/serving-endpoints/{endpoint}/invocations"
    if isinstance(body, str):
        headers["Content-Type"] = "application/json"
        return (session or requests).post(url, data=body, headers=headers, timeout=60)
    return (session or requests).post(url, json=body, headers=headers, timeout=60)


def rest(server: ThreadServer | ProcessServer, token: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(
        method, server.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=60, **kwargs
    )


def records(frame: pd.DataFrame) -> dict[str, Any]:
    return {"dataframe_records": json.loads(frame[FEATURES].to_json(orient="records"))}


def flush(home: Path) -> None:
    """Wait until the runtime of this process has written every usage and inference table row."""
    engine = engines.acquire(home)
    try:
        assert runtime_for(engine).flush(timeout=30)
    finally:
        engines.release(engine)


def served_entity(description: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in description["config"]["served_entities"] if e["name"] == name)


def audit(admin: Catalog, action: str) -> pd.DataFrame:
    return admin.sql(
        "SELECT user_identity.email AS who, response.status_code AS status FROM system.access.audit "
        "WHERE action_name = ? ORDER BY event_time",
        [action],
    )


def rows(trained: Trained, start: int, count: int) -> pd.DataFrame:
    return trained.train[FEATURES].iloc[start : start + count].reset_index(drop=True)


# -- 1. privileges -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("grants", "missing"),
    [
        (["GRANT CREATE ENDPOINT ON SCHEMA main.ml TO alice", f"GRANT EXECUTE ON MODEL {MODEL} TO alice"], None),
        (["GRANT CREATE ENDPOINT ON SCHEMA main.ml TO alice", "GRANT EXECUTE ON SCHEMA main.ml TO alice"], None),
        ([f"GRANT EXECUTE ON MODEL {MODEL} TO alice"], "CREATE ENDPOINT"),
        (["GRANT CREATE ENDPOINT ON SCHEMA main.ml TO alice"], "EXECUTE"),
    ],
)
def test_create_needs_create_endpoint_and_execute(admin, users, grants, missing):
    for statement in ("GRANT USE CATALOG ON CATALOG main TO alice", "GRANT USE SCHEMA ON SCHEMA main.ml TO alice"):
        admin.sql(statement)
    for statement in grants:
        admin.sql(statement)
    alice = users("alice")
    if missing is None:
        created = alice.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
        assert created["owner"] == "alice" and created["permission_level"] == "CAN_MANAGE"
        assert [e["name"] for e in admin.serving.list_endpoints()] == [ENDPOINT]
        return
    with pytest.raises(PermissionDenied, match=missing) as raised:
        alice.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
    assert raised.value.error_code == "PERMISSION_DENIED"
    assert admin.serving.list_endpoints() == []


def test_create_needs_execute_on_every_served_model(admin, users):
    for statement in (
        "GRANT USE CATALOG ON CATALOG main TO alice",
        "GRANT USE SCHEMA, CREATE ENDPOINT ON SCHEMA main.ml TO alice",
        f"GRANT EXECUTE ON MODEL {MODEL} TO alice",
    ):
        admin.sql(statement)
    two = config(entity(1, "churn"), entity(1, "fs", FS_MODEL), routes={"churn": 50, "fs": 50})
    with pytest.raises(PermissionDenied, match=f"EXECUTE.*{FS_MODEL}|{FS_MODEL}.*EXECUTE"):
        users("alice").serving.create_endpoint(ENDPOINT, two)
    assert admin.serving.list_endpoints() == []


def alice_owns_the_endpoint(admin: catalog.Catalog, users: Callable[[str], catalog.Catalog]) -> None:
    """alice may create endpoints in main.ml and creates ENDPOINT serving v1; alice and bob may
    EXECUTE the model."""
    for statement in (
        "GRANT USE CATALOG ON CATALOG main TO alice",
        "GRANT USE SCHEMA, CREATE ENDPOINT ON SCHEMA main.ml TO alice",
        f"GRANT EXECUTE ON MODEL {MODEL} TO alice",
        f"GRANT EXECUTE ON MODEL {MODEL} TO bob",
    ):
        admin.sql(statement)
    users("alice").serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))


@pytest.mark.parametrize(
    ("grants", "allowed"),
    [
        ([f"GRANT QUERY ON ENDPOINT {ENDPOINT} TO bob"], True),  # no USE CATALOG needed
        (["GRANT QUERY ON SCHEMA main.ml TO bob"], True),
        ([f"GRANT ALL PRIVILEGES ON ENDPOINT {ENDPOINT} TO bob"], True),
        ([], False),
        (["GRANT USE CATALOG ON CATALOG main TO bob", "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO bob"], False),
        ([f"GRANT EXECUTE ON MODEL {MODEL} TO bob"], False),
    ],
)
def test_query_needs_query_on_the_endpoint_only(admin, users, trained, grants, allowed):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
    for statement in grants:
        admin.sql(statement)
    bob = users("bob")
    sample = rows(trained, 0, 4)
    if allowed:
        answer = bob.serving.query(ENDPOINT, records(sample))
        assert answer.predictions == trained.v1.predict(sample).tolist() and answer.served_entity == "v1"
        return
    with pytest.raises(PermissionDenied, match="QUERY") as raised:
        bob.serving.query(ENDPOINT, records(sample))
    assert raised.value.error_code == "PERMISSION_DENIED"
    denials = audit(admin, "queryServingEndpoint")
    assert denials.to_dict("records") == [{"who": "bob", "status": 403}]


def test_show_grants_on_endpoint_lists_query(admin):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
    admin.sql(f"GRANT QUERY ON ENDPOINT {ENDPOINT} TO bob")
    admin.sql(f"GRANT MANAGE ON ENDPOINT {ENDPOINT} TO carol")
    grants = admin.sql(f"SHOW GRANTS ON ENDPOINT {ENDPOINT}")
    pairs = {(row["principal"], row["action_type"]) for row in grants.to_dict("records")}
    assert {("bob", "QUERY"), ("carol", "MANAGE")} <= pairs
    admin.sql(f"REVOKE QUERY ON ENDPOINT {ENDPOINT} FROM bob")
    grants = admin.sql(f"SHOW GRANTS ON ENDPOINT {ENDPOINT}")
    assert ("bob", "QUERY") not in {(r["principal"], r["action_type"]) for r in grants.to_dict("records")}


@pytest.mark.parametrize(
    ("who", "grant", "allowed"),
    [
        ("alice", None, True),  # the owner
        # MANAGE, like every privilege but QUERY, needs the usage of the catalog and schema
        (
            "bob",
            "GRANT USE CATALOG ON CATALOG main TO bob; GRANT USE SCHEMA ON SCHEMA main.ml TO bob; "
            f"GRANT MANAGE ON ENDPOINT {ENDPOINT} TO bob",
            True,
        ),
        ("bob", "GRANT USE CATALOG ON CATALOG main TO bob; GRANT USE SCHEMA ON SCHEMA main.ml TO bob", False),
        ("bob", f"GRANT QUERY ON ENDPOINT {ENDPOINT} TO bob", False),
        ("bob", None, False),
    ],
)
@pytest.mark.parametrize("change", ["update_config", "delete_endpoint"])
def test_update_and_delete_need_manage_or_ownership(admin, users, who, grant, allowed, change):
    alice_owns_the_endpoint(admin, users)
    for statement in (grant or "").split(";"):
        if statement.strip():
            admin.sql(statement)
    actor = users(who)

    def act() -> None:
        if change == "update_config":
            actor.serving.update_config(ENDPOINT, config(entity(2, "v2")))
        else:
            actor.serving.delete_endpoint(ENDPOINT)

    if allowed:
        act()
        if change == "update_config":
            assert admin.serving.get_endpoint(ENDPOINT)["config"]["config_version"] == 2
        else:
            assert admin.serving.list_endpoints() == []
        return
    with pytest.raises(PermissionDenied, match="MANAGE"):
        act()
    described = admin.serving.get_endpoint(ENDPOINT)
    assert described["config"]["config_version"] == 1
    assert [e["name"] for e in described["config"]["served_entities"]] == ["v1"]


def test_the_endpoint_scores_as_its_owner(admin, users, trained):
    alice_owns_the_endpoint(admin, users)
    admin.sql(f"GRANT QUERY ON ENDPOINT {ENDPOINT} TO bob")
    bob = users("bob")
    sample = rows(trained, 10, 3)
    expected = trained.v1.predict(sample).tolist()
    assert bob.serving.query(ENDPOINT, records(sample)).predictions == expected
    admin.sql(f"REVOKE EXECUTE ON MODEL {MODEL} FROM bob")
    assert bob.serving.query(ENDPOINT, records(sample)).predictions == expected
    # bob never held anything the endpoint needed: a user with QUERY alone scores too
    admin.sql(f"GRANT QUERY ON ENDPOINT {ENDPOINT} TO carol")
    assert users("carol").serving.query(ENDPOINT, records(sample)).predictions == expected


# -- 2. request formats and errors over HTTP ---------------------------------------------------------------
@pytest.fixture(scope="module")
def served(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server for the read-only HTTP tests: ENDPOINT serves version 1 to alice (QUERY); bob holds nothing."""
    home = copy_home(trained.template, tmp_path_factory.mktemp("served"))
    server = ThreadServer(home)
    try:
        admin = catalog.connect(home, user="admin")
        try:
            admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
            admin.sql(f"GRANT QUERY ON ENDPOINT {ENDPOINT} TO alice")
        finally:
            admin.close()
        yield {"server": server, "home": home, "tokens": {u: server.token(u) for u in ("admin", "alice", "bob")}}
    finally:
        server.stop()


def split_body(frame: pd.DataFrame) -> dict[str, Any]:
    return {"dataframe_split": json.loads(frame[FEATURES].to_json(orient="split", index=False))}


FORMATS: dict[str, Callable[[pd.DataFrame], dict[str, Any]]] = {
    "dataframe_split": split_body,
    "dataframe_records": records,
    "instances": lambda f: {"instances": records(f)["dataframe_records"]},
    "inputs": lambda f: {"inputs": {c: f[c].tolist() for c in FEATURES}},
}


@pytest.mark.parametrize("form", list(FORMATS))
def test_every_input_format_gives_model_predict(served, trained, form):
    sample = rows(trained, 20, 7)
    response = invoke(served["server"], served["tokens"]["alice"], FORMATS[form](sample))
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": trained.v1.predict(sample).tolist()}
    assert response.headers["X-Served-Entity"] == "v1"
    assert len(response.headers["X-Request-Id"]) == 32


ONE = {"tenure_months": 3, "monthly_charges": 70.5}
TOO_MANY = {"dataframe_split": {"columns": FEATURES, "data": [[1, 2.0]] * 10_001}}


@pytest.mark.parametrize(
    ("user", "body", "endpoint", "status", "code"),
    [
        ("alice", {"dataframe_records": [{"tenure_months": 3}]}, ENDPOINT, 400, "BAD_REQUEST"),
        ("alice", {"dataframe_records": [{**ONE, "plan": "gold"}]}, ENDPOINT, 400, "BAD_REQUEST"),
        ("alice", {"dataframe_records": [{**ONE, "tenure_months": "three"}]}, ENDPOINT, 400, "SCHEMA_MISMATCH"),
        ("alice", {"dataframe_records": []}, ENDPOINT, 400, "BAD_REQUEST"),
        ("alice", {"dataframe_split": {"columns": FEATURES, "data": []}}, ENDPOINT, 400, "BAD_REQUEST"),
        ("alice", TOO_MANY, ENDPOINT, 400, "TOO_MANY_ROWS"),
        ("alice", "{not json", ENDPOINT, 400, "MALFORMED_REQUEST"),
        ("alice", {"records": [ONE]}, ENDPOINT, 400, "BAD_REQUEST"),
        ("alice", {"dataframe_records": [ONE], "instances": [ONE]}, ENDPOINT, 400, "BAD_REQUEST"),
        ("alice", {"dataframe_records": [ONE]}, "main.ml.nope", 404, "RESOURCE_DOES_NOT_EXIST"),
        (None, {"dataframe_records": [ONE]}, ENDPOINT, 401, None),
        ("forged", {"dataframe_records": [ONE]}, ENDPOINT, 401, None),
        ("bob", {"dataframe_records": [ONE]}, ENDPOINT, 403, "PERMISSION_DENIED"),
    ],
    ids=[
        "missing-column",
        "extra-column",
        "wrong-type",
        "no-records",
        "no-split-rows",
        "too-many-rows",
        "not-json",
        "unknown-format",
        "two-formats",
        "unknown-endpoint",
        "no-token",
        "bad-token",
        "no-query",
    ],
)
def test_bad_requests_get_their_status_and_error_code(served, user, body, endpoint, status, code):
    token = {None: None, "forged": "dapi-not-a-token"}.get(user, served["tokens"].get(user or ""))
    response = invoke(served["server"], token, body, endpoint)
    assert response.status_code == status, response.text
    answer = response.json()
    assert "predictions" not in answer and answer["message"]
    if code is not None:
        assert answer["error_code"] == code
    else:
        assert answer["error_code"] == "UNAUTHENTICATED"


# -- 11. /metrics ---------------------------------------------------------------------------------------------
def test_metrics_for_admins_only(served, trained):
    server, tokens = served["server"], served["tokens"]
    assert invoke(server, tokens["alice"], records(rows(trained, 0, 2))).status_code == 200
    scraped = rest(server, tokens["admin"], "GET", "/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    lines = [line for line in scraped.text.splitlines() if line.startswith("catalog_serving_requests_total{")]
    ours = [line for line in lines if f'endpoint="{ENDPOINT}"' in line and 'status="200"' in line]
    assert ours and float(ours[0].rsplit(" ", 1)[1]) >= 1
    refused = rest(server, tokens["alice"], "GET", "/metrics")
    assert refused.status_code == 403 and refused.json()["error_code"] == "PERMISSION_DENIED"


# -- 3. A/B split -------------------------------------------------------------------------------------------
def test_traffic_split_follows_the_routes_and_usage_agrees(server, admin, home, trained):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1"), entity(2, "v2"), routes={"v1": 90, "v2": 10}))
    token = server.token("admin")
    body = records(rows(trained, 0, 1))
    n = 400

    def one(_: int) -> str:
        with requests.Session() as session:
            response = invoke(server, token, body, session=session)
        assert response.status_code == 200, response.text
        return response.headers["X-Served-Entity"]

    with ThreadPoolExecutor(8) as pool:
        counts = Counter(pool.map(one, range(n)))
    assert set(counts) == {"v1", "v2"}
    sd = math.sqrt(n * 0.1 * 0.9)
    assert abs(counts["v2"] - n * 0.1) <= 4 * sd, counts
    flush(home)
    usage = admin.sql(
        "SELECT served_entity_name, count(*) AS n FROM system.serving.endpoint_usage "
        "WHERE endpoint_name = ? AND status_code = 200 GROUP BY ALL",
        [ENDPOINT],
    )
    assert dict(zip(usage["served_entity_name"], usage["n"], strict=True)) == dict(counts)
    summary = admin.serving.usage(ENDPOINT)
    assert dict(zip(summary["served_entity_name"], summary["requests"], strict=True)) == dict(counts)
    usage_json = admin.invoke("getServingEndpointUsage", name=ENDPOINT, minutes=60)  # the UI's charts
    assert {e["name"]: e["requests"] for e in usage_json["served_entities"]} == dict(counts)
    assert sum(m["requests"] for m in usage_json["per_minute"]) == n
    assert all(e["errors"] == 0 and e["p99_ms"] >= e["p50_ms"] > 0 for e in usage_json["served_entities"])


def test_endpoint_usage_is_for_those_who_may_see_the_endpoint(users, admin):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
    with pytest.raises((PermissionDenied, NotFound)):
        users("bob").invoke("getServingEndpointUsage", name=ENDPOINT)
    admin.sql(f"GRANT QUERY ON ENDPOINT {ENDPOINT} TO bob")
    assert users("bob").invoke("getServingEndpointUsage", name=ENDPOINT)["served_entities"] == []
    with pytest.raises(InvalidRequest):
        admin.invoke("getServingEndpointUsage", name=ENDPOINT, minutes=0)


# -- 4. scale to zero ------------------------------------------------------------------------------------------
def test_scale_to_zero_unloads_and_the_next_request_cold_starts(server, admin, trained):
    admin.serving.create_endpoint(
        ENDPOINT, config(entity(1, "v1", scale_to_zero_enabled=True, scale_to_zero_idle_seconds=0.3))
    )
    token = server.token("admin")
    sample = rows(trained, 30, 2)

    def described() -> dict[str, Any]:
        response = rest(server, token, "GET", f"/api/2.0/serving-endpoints/{ENDPOINT}")
        assert response.status_code == 200, response.text
        return served_entity(response.json(), "v1")

    assert invoke(server, token, records(sample)).status_code == 200
    first = described()
    assert first["runtime"]["state"] == "READY" and first["runtime"]["cold_starts"] == 0
    deadline = time.monotonic() + 15
    while (current := described())["runtime"]["state"] != "SCALED_TO_ZERO":
        assert time.monotonic() < deadline, current
        time.sleep(0.1)
    assert "Scaled to zero" in current["state"]["deployment_state_message"]
    response = invoke(server, token, records(sample))
    assert response.status_code == 200 and response.json()["predictions"] == trained.v1.predict(sample).tolist()
    after = described()
    assert after["runtime"]["state"] == "READY" and after["runtime"]["cold_starts"] == 1
    assert after["state"]["deployment_state_message"] == "The model is loaded and serving."


# -- 5. batching -------------------------------------------------------------------------------------------------
def test_concurrent_requests_are_batched_with_unbatched_answers(server, admin, trained):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1", max_batch_size=32, max_batch_wait_ms=20)))
    token = server.token("admin")
    assert invoke(server, token, records(rows(trained, 0, 1))).status_code == 200  # loaded before the burst
    rng = np.random.default_rng(5)
    requests_rows = [
        trained.train[FEATURES].iloc[rng.choice(len(trained.train), rng.integers(1, 6), replace=False)]
        for _ in range(64)
    ]
    barrier = threading.Barrier(64)

    def one(frame: pd.DataFrame) -> list[Any]:
        body = records(frame)
        with requests.Session() as session:
            barrier.wait()
            response = invoke(server, token, body, session=session)
        assert response.status_code == 200, response.text
        return response.json()["predictions"]

    with ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(one, requests_rows))
    for frame, answer in zip(requests_rows, answers, strict=True):
        assert answer == trained.v1.predict(frame.reset_index(drop=True)).tolist()
    runtime = served_entity(admin.serving.get_endpoint(ENDPOINT), "v1")["runtime"]
    assert runtime["requests"] == 65
    assert runtime["batches"] < runtime["requests"]


# -- 6. feature lookup ---------------------------------------------------------------------------------------------
def test_feature_lookup_completes_requests_by_key(server, admin, trained):
    admin.serving.create_endpoint("main.ml.fs_endpoint", config(entity(1, "fs", FS_MODEL)))
    token = server.token("admin")
    keys = [3, 17, 40, 1]
    response = invoke(server, token, {"dataframe_records": [{"customer_id": k} for k in keys]}, "main.ml.fs_endpoint")
    assert response.status_code == 200, response.text
    looked_up = trained.customers.set_index("customer_id").loc[keys, FEATURES].reset_index(drop=True)
    assert response.json()["predictions"] == trained.fs.predict(looked_up).tolist()
    missing = invoke(server, token, {"inputs": {"customer_id": [3, 999]}}, "main.ml.fs_endpoint")
    assert missing.status_code == 400 and missing.json()["error_code"] == "FEATURE_LOOKUP_KEY_NOT_FOUND"
    assert "999" in missing.json()["message"]


def test_feature_lookup_defaults_stand_in_for_unknown_keys(server, admin, trained):
    admin.serving.create_endpoint("main.ml.fs_endpoint", config(entity(1, "fs", FS_DEFAULT_MODEL)))
    body = {"dataframe_records": [{"customer_id": 5, "tenure_months": 7}, {"customer_id": 999, "tenure_months": 30}]}
    response = invoke(server, server.token("admin"), body, "main.ml.fs_endpoint")
    assert response.status_code == 200, response.text
    charges = trained.customers.set_index("customer_id").at[5, "monthly_charges"]
    expected = pd.DataFrame({"tenure_months": [7, 30], "monthly_charges": [charges, DEFAULTS["monthly_charges"]]})
    assert response.json()["predictions"] == trained.fs_default.predict(expected).tolist()


# -- 7. inference table ---------------------------------------------------------------------------------------------
def test_inference_table_captures_requests_and_is_governed(server, admin, users, home, trained):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1"), **capture()))
    admin.sql(f"GRANT QUERY ON ENDPOINT {ENDPOINT} TO alice")
    token = server.token("alice")
    bodies = [records(rows(trained, i * 3, 3)) for i in range(3)]
    answers = []
    for body in bodies:
        response = invoke(server, token, body, session=None)
        assert response.status_code == 200
        answers.append(response.json())
    bad = {"dataframe_records": [{"tenure_months": 3}]}
    assert invoke(server, token, bad).status_code == 400
    flush(home)
    table = admin.sql(
        "SELECT status_code, served_entity_name, model_name, model_version, requester, request, response, "
        "execution_time_ms FROM main.ml.churn_payload ORDER BY timestamp_ms, status_code DESC"
    )
    assert len(table) == 4
    assert sorted(table["status_code"].tolist()) == [200, 200, 200, 400]
    assert set(table["served_entity_name"]) == {"v1"} and set(table["requester"]) == {"alice"}
    assert set(table["model_name"]) == {MODEL} and set(table["model_version"]) == {"1"}
    assert (table["execution_time_ms"] > 0).all()
    ok = table[table.status_code == 200]
    pairs = {(json.dumps(json.loads(r), sort_keys=True), s) for r, s in zip(ok["request"], ok["response"], strict=True)}
    assert {(json.dumps(b, sort_keys=True), json.dumps(a)) for b, a in zip(bodies, answers, strict=True)} == {
        (r, json.dumps(json.loads(s))) for r, s in pairs
    }
    failed = table[table.status_code == 400].iloc[0]
    assert json.loads(failed["request"]) == bad and json.loads(failed["response"])["error_code"] == "BAD_REQUEST"
    for user in ("alice", "bob"):  # QUERY on the endpoint is no SELECT on its inference table
        with pytest.raises(PermissionDenied):
            users(user).sql("SELECT * FROM main.ml.churn_payload")
    lineage = admin.sql(
        "SELECT DISTINCT source_table_full_name AS source, source_type FROM system.access.table_lineage "
        "WHERE target_table_full_name = 'main.ml.churn_payload'"
    )
    assert lineage.to_dict("records") == [{"source": ENDPOINT, "source_type": "ENDPOINT"}]


# -- 8. config update under load ---------------------------------------------------------------------------------
def test_config_update_switches_traffic_without_a_failed_request(server, admin, trained):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
    token = server.token("admin")
    body = records(rows(trained, 0, 2))
    assert invoke(server, token, body).headers["X-Served-Entity"] == "v1"
    stop = threading.Event()
    log: list[tuple[float, float, int, str | None]] = []  # started, finished, status, served entity
    lock = threading.Lock()

    def send() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                started = time.monotonic()
                response = invoke(server, token, body, session=session)
                with lock:
                    log.append(
                        (started, time.monotonic(), response.status_code, response.headers.get("X-Served-Entity"))
                    )

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        updated = rest(
            server, token, "PUT", f"/api/2.0/serving-endpoints/{ENDPOINT}/config", json=config(entity(2, "v2"))
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["config"]["config_version"] == 2
        deadline = time.monotonic() + 20
        while not any(served == "v2" for *_, served in list(log)):
            assert time.monotonic() < deadline, "no request was answered by v2"
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert log and all(status == 200 for _, _, status, _ in log), Counter(s for *_, s, _ in log)
    assert {served for *_, served in log} == {"v1", "v2"}  # requests ran before and after the switch
    switched = min(finished for _, finished, _, served in log if served == "v2")
    assert {served for started, _, _, served in log if started > switched} == {"v2"}
    assert {invoke(server, token, body).headers["X-Served-Entity"] for _ in range(10)} == {"v2"}
    history = admin.sql(
        "SELECT endpoint_config_version AS version, served_entity_name AS name, state FROM "
        "system.serving.served_entities WHERE endpoint_name = ? ORDER BY version",
        [ENDPOINT],
    )
    assert history.to_dict("records") == [
        {"version": 1, "name": "v1", "state": "REPLACED"},
        {"version": 2, "name": "v2", "state": "ACTIVE"},
    ]


# -- 9. restart ------------------------------------------------------------------------------------------------------
def test_endpoints_survive_a_server_restart(home, trained):
    sample = rows(trained, 40, 3)
    server = ProcessServer(home).start()
    try:
        with catalog.connect(home) as admin:  # through <home>/server.json
            created = admin.serving.create_endpoint(ENDPOINT, config(entity(2, "v2")))
            token = admin.tokens.create("admin", comment="restart").token
        assert invoke(server, token, records(sample)).status_code == 200
    finally:
        assert server.stop() == 0
    server.start()
    try:
        with catalog.connect(home) as admin:
            again = admin.serving.get_endpoint(ENDPOINT)
        assert again["config"]["served_entities"][0]["entity_version"] == "2"
        assert {k: again[k] for k in ("name", "id", "creator", "owner", "creation_timestamp")} == {
            k: created[k] for k in ("name", "id", "creator", "owner", "creation_timestamp")
        }
        strip = ("state", "runtime")
        for before, after in zip(created["config"]["served_entities"], again["config"]["served_entities"], strict=True):
            assert {k: v for k, v in before.items() if k not in strip} == {
                k: v for k, v in after.items() if k not in strip
            }
        response = invoke(server, token, records(sample))
        assert response.status_code == 200 and response.headers["X-Served-Entity"] == "v2"
        assert response.json()["predictions"] == trained.v2.predict(sample).tolist()
    finally:
        server.stop()


# -- 10. config validation -------------------------------------------------------------------------------------------
BAD_CONFIGS = [
    (
        "routes-not-100",
        config(entity(1, "a"), entity(2, "b"), routes={"a": 60, "b": 30}),
        InvalidRequest,
        "INVALID_PARAMETER_VALUE",
        "add up to 90",
    ),
    (
        "route-to-unknown",
        config(entity(1, "a"), routes={"zz": 100}),
        InvalidRequest,
        "INVALID_PARAMETER_VALUE",
        "zz",
    ),
    (
        "duplicate-names",
        config(entity(1, "a"), entity(2, "a"), routes={"a": 100}),
        InvalidRequest,
        "INVALID_PARAMETER_VALUE",
        "unique",
    ),
    (
        "unknown-field",
        config(entity(1, "a", scale_to_zero=True)),
        InvalidRequest,
        "INVALID_PARAMETER_VALUE",
        "scale_to_zero",
    ),
    (
        "missing-version",
        config({"entity_name": MODEL, "name": "a"}),
        InvalidRequest,
        "INVALID_PARAMETER_VALUE",
        "entity_version",
    ),
    ("no-entities", config(), InvalidRequest, "INVALID_PARAMETER_VALUE", "served_entities"),
    (
        "two-without-routes",
        config(entity(1, "a"), entity(2, "b")),
        InvalidRequest,
        "INVALID_PARAMETER_VALUE",
        "traffic_config",
    ),
    ("no-such-version", config(entity(99, "a"), **capture("bad")), NotFound, "RESOURCE_DOES_NOT_EXIST", "99"),
    ("no-such-model", config(entity(1, "a", "main.ml.nope")), NotFound, None, "nope"),
]


@pytest.mark.parametrize(("case", "body", "error", "code", "mentions"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configs_are_refused_and_leave_nothing(admin, case, body, error, code, mentions):
    admin.serving.create_endpoint("main.ml.kept", config(entity(1, "v1")))
    before = admin.serving.list_endpoints()
    with pytest.raises(error, match=mentions) as raised:
        admin.serving.create_endpoint(ENDPOINT, body)
    if code is not None:
        assert raised.value.error_code == code
    assert admin.serving.list_endpoints() == before
    assert admin.sql("SHOW TABLES IN main.ml")["tableName"].tolist().count("bad_payload") == 0
    history = admin.sql("SELECT * FROM system.serving.served_entities WHERE endpoint_name = ?", [ENDPOINT])
    assert history.empty
    # the name is free: no securable was left behind
    assert admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))["config"]["config_version"] == 1
    # an update with the same config is refused the same way and changes nothing
    if case not in ("no-such-model",):
        with pytest.raises(error, match=mentions):
            admin.serving.update_config(ENDPOINT, body)
        assert admin.serving.get_endpoint(ENDPOINT)["config"]["config_version"] == 1


@pytest.mark.parametrize(
    ("name", "error", "code"),
    [
        ("main.ml.kept", AlreadyExists, "RESOURCE_ALREADY_EXISTS"),
        ("ml.churn_endpoint", InvalidName, None),
        ("main.ml.train", AlreadyExists, "RESOURCE_ALREADY_EXISTS"),  # a table's name
        ("main.nope.e", NotFound, None),
    ],
)
def test_bad_endpoint_names_are_refused(admin, name, error, code):
    admin.serving.create_endpoint("main.ml.kept", config(entity(1, "v1")))
    before = admin.serving.list_endpoints()
    with pytest.raises(error) as raised:
        admin.serving.create_endpoint(name, config(entity(2, "v2")))
    assert raised.value.http_status == {AlreadyExists: 409, InvalidName: 400, NotFound: 404}[error]
    if code is not None:
        assert raised.value.error_code == code
    assert admin.serving.list_endpoints() == before


def test_bad_config_over_http_is_a_400_with_its_code(server):
    token = server.token("admin")
    response = rest(
        server,
        token,
        "POST",
        "/api/2.0/serving-endpoints",
        json={"name": ENDPOINT, "config": config(entity(1, "a"), entity(2, "b"), routes={"a": 50, "b": 40})},
    )
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    missing = rest(
        server, token, "POST", "/api/2.0/serving-endpoints", json={"name": ENDPOINT, "config": config(entity(7, "a"))}
    )
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert rest(server, token, "GET", "/api/2.0/serving-endpoints").json() == {"endpoints": []}


# -- 12. drift ---------------------------------------------------------------------------------------------------------
def test_drift_report_flags_the_shifted_feature(server, admin, home, trained):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1"), **capture()))
    token = server.token("admin")
    for start in range(0, 200, 40):
        shifted = rows(trained, start, 40).assign(monthly_charges=lambda f: f.monthly_charges + 60)
        assert invoke(server, token, records(shifted)).status_code == 200
    flush(home)
    report = admin.serving.drift_report(ENDPOINT).set_index("feature")
    assert bool(report.loc["monthly_charges", "drifted"]) is True
    assert bool(report.loc["tenure_months", "drifted"]) is False
    assert report.loc["monthly_charges", "serving_rows"] == 200
    assert report.loc["monthly_charges", "psi"] > report.loc["tenure_months", "psi"]


def test_drift_report_needs_an_inference_table(admin):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
    with pytest.raises(InvalidRequest) as raised:
        admin.serving.drift_report(ENDPOINT)
    assert raised.value.error_code == "INVALID_STATE"


# -- 13. delete ---------------------------------------------------------------------------------------------------------
def test_delete_removes_the_endpoint_and_keeps_its_history(server, admin, users, trained):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
    admin.sql(f"GRANT QUERY ON ENDPOINT {ENDPOINT} TO alice")
    token = server.token("alice")
    assert invoke(server, token, records(rows(trained, 0, 1))).status_code == 200
    deleted = rest(server, server.token("admin"), "DELETE", f"/api/2.0/serving-endpoints/{ENDPOINT}")
    assert deleted.status_code == 200, deleted.text
    gone = invoke(server, token, records(rows(trained, 0, 1)))
    assert gone.status_code == 404 and gone.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(NotFound):
        admin.serving.get_endpoint(ENDPOINT)
    assert admin.serving.list_endpoints() == []
    history = admin.sql(
        "SELECT served_entity_name, state, endpoint_delete_time FROM system.serving.served_entities "
        "WHERE endpoint_name = ?",
        [ENDPOINT],
    )
    assert history["served_entity_name"].tolist() == ["v1"] and history["state"].tolist() == ["DELETED"]
    assert history["endpoint_delete_time"].notna().all()
    admin.sql("GRANT USE SCHEMA, SELECT ON SCHEMA system.serving TO alice")
    assert users("alice").sql("SELECT * FROM system.serving.served_entities").empty  # only admins see deleted ones


# -- what an endpoint depends on ---------------------------------------------------------------------
def test_a_served_version_or_model_cannot_be_deleted(admin):
    admin.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
    client = tracking.Client(admin)
    with pytest.raises(InvalidRequest) as refused:
        client.delete_model_version(MODEL, 1)
    assert refused.value.error_code == "INVALID_STATE"
    assert f"serving endpoint '{ENDPOINT}' serves it (served entity 'v1')" in refused.value.message
    with pytest.raises(InvalidRequest) as dropped:
        admin.sql(f"DROP MODEL {MODEL}")
    assert dropped.value.error_code == "INVALID_STATE"
    client.delete_model_version(MODEL, 2)  # a version no endpoint serves goes
    admin.serving.update_config(ENDPOINT, config(entity(1, "v1"), entity(1, "again"), routes={"v1": 50, "again": 50}))
    admin.serving.delete_endpoint(ENDPOINT)
    client.delete_model_version(MODEL, 1)  # nothing serves it any more
    assert [v.version for v in client.search_model_versions(f"name = '{MODEL}'")] == []


def test_an_endpoint_whose_owner_lost_execute_is_not_ready(users, admin):
    admin.sql("GRANT CREATE ENDPOINT, USE SCHEMA ON SCHEMA main.ml TO alice")
    admin.sql("GRANT USE CATALOG ON CATALOG main TO alice")
    admin.sql(f"GRANT EXECUTE ON MODEL {MODEL} TO alice")
    alice = users("alice")
    created = alice.serving.create_endpoint(ENDPOINT, config(entity(1, "v1")))
    assert created["state"]["ready"] == "READY" and "ready_message" not in created["state"]
    admin.sql(f"REVOKE EXECUTE ON MODEL {MODEL} FROM alice")
    state = admin.serving.get_endpoint(ENDPOINT)["state"]
    assert state["ready"] == "NOT_READY"
    assert "the endpoint's owner alice may no longer EXECUTE main.ml.churn_model" in state["ready_message"]
    admin.sql(f"GRANT EXECUTE ON MODEL {MODEL} TO alice")
    assert admin.serving.get_endpoint(ENDPOINT)["state"]["ready"] == "READY"
