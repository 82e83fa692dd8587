"""End to end on an embedded catalog: tables, users and groups, grants, denials, audit, lineage,
policy files, experiment tracking with autolog, the governed model registry, feature tables,
batch scoring, and a serving endpoint queried over HTTP (A/B routes, an inference table).

Run it from the repository root (the README's first command does):

    .venv/bin/python examples/end_to_end.py [HOME]

HOME defaults to ./demo-home; an earlier demo home there is replaced.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import catalog
from catalog.cli.output import print_frame

HOME_ENTRIES = {"catalog.duckdb", "catalog.duckdb.wal", "artifacts", "models"}  # what a demo home holds


def step(title: str) -> None:
    print(f"\n== {title}")


def fresh_home(path: Path) -> Path:
    if path.exists():
        if not path.is_dir() or not {p.name for p in path.iterdir()} <= HOME_ENTRIES:
            sys.exit(f"{path} exists and is not a demo catalog home; pass another folder.")
        shutil.rmtree(path)
    return path


def churn_data(rows: int = 1_000, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic customers and per-customer features, with churn depending on both."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, rows + 1)
    tenure = rng.integers(1, 72, rows)
    charges = rng.normal(70, 20, rows).round(2)
    sessions = rng.gamma(2.0, 15.0, rows).round(1)
    risk = 1.5 - 0.04 * tenure + 0.01 * (charges - 70) - 0.02 * sessions
    churned = (rng.random(rows) < 1 / (1 + np.exp(-risk))).astype(int)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "tenure_months": tenure,
            "monthly_charges": charges,
            "email": [f"customer{i}@example.com" for i in ids],
            "churned": churned,
        }
    )
    features = pd.DataFrame({"customer_id": ids, "avg_session_minutes": sessions})
    return customers, features


def main() -> None:
    home = fresh_home(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-home"))
    customers, features = churn_data()

    step(f"A new catalog home at {home}: 'admin' creates it and becomes metastore admin")
    admin = catalog.connect(home, user="admin")
    admin.sql("CREATE CATALOG main COMMENT 'Production data'")
    admin.sql("CREATE SCHEMA main.raw COMMENT 'Landed as is'")
    admin.sql("CREATE SCHEMA main.ml COMMENT 'churn work'")
    admin.create_table("main.raw.customers", customers, comment="One row per customer")
    admin.create_table("main.ml.customer_features", features, comment="Per-customer features")
    admin.sql("""
        CREATE TABLE main.ml.churn_training AS
        SELECT c.customer_id, c.tenure_months, c.monthly_charges, f.avg_session_minutes, c.churned
        FROM main.raw.customers c JOIN main.ml.customer_features f USING (customer_id)
    """)
    print_frame(admin.sql("SHOW TABLES IN main.ml"))

    step("Users, a group, and grants on a schema (they reach current and future tables)")
    for statement in (
        "CREATE USER alice",
        "CREATE USER bob",
        "CREATE GROUP analysts",
        "ALTER GROUP analysts ADD USER alice",
        "GRANT USE CATALOG ON CATALOG main TO analysts",
        "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO analysts",
    ):
        print(f"  {statement}")
        admin.sql(statement)

    step("alice reads through her group")
    alice = catalog.connect(home, user="alice")
    print_frame(
        alice.sql(
            "SELECT churned, count(*) AS customers, round(avg(tenure_months), 1) AS avg_tenure "
            "FROM main.ml.churn_training GROUP BY churned ORDER BY churned"
        )
    )

    step("bob is refused, and the refusal is audited")
    bob = catalog.connect(home, user="bob")
    try:
        bob.sql("SELECT * FROM main.ml.churn_training")
    except catalog.PermissionDenied as denied:
        print(f"  {denied}")

    step("A dynamic view: emails only for the analysts group; everyone else sees a mask")
    admin.sql("""
        CREATE VIEW main.ml.customers_masked AS
        SELECT customer_id,
               CASE WHEN is_account_group_member('analysts') THEN email ELSE '***' END AS email
        FROM main.raw.customers
    """)
    admin.sql("GRANT USE CATALOG ON CATALOG main TO bob")
    admin.sql("GRANT USE SCHEMA ON SCHEMA main.ml TO bob")
    admin.sql("GRANT SELECT ON VIEW main.ml.customers_masked TO bob")
    for who, cat in (("alice", alice), ("bob", bob)):
        print(f"  as {who}:")
        print_frame(cat.sql("SELECT * FROM main.ml.customers_masked ORDER BY customer_id LIMIT 2"))
    print("  (neither can read main.raw.customers itself: the view reads it with its owner's rights)")

    step("SHOW GRANTS, as alice sees them")
    print_frame(alice.sql("SHOW GRANTS ON SCHEMA main.ml"))

    step("The audit log: every decision, allowed or denied (metastore admins only)")
    print_frame(
        admin.sql("""
        SELECT user_identity.email AS who, action_name, response.status_code AS status,
               request_params['commandText'] AS statement
        FROM system.access.audit
        WHERE user_identity.email IN ('alice', 'bob')
        ORDER BY event_time
    """)
    )

    step("Lineage: every write recorded what fed it (SQL, with columns; pandas too)")
    high_risk = alice.read_table("main.ml.churn_training")
    high_risk = high_risk[high_risk.tenure_months < 6]
    admin.create_table("main.ml.high_risk", high_risk)  # read, filter, write: still lineage
    graph = admin.lineage.upstream("main.ml.high_risk")
    print_frame(graph.nodes_frame())
    print_frame(
        admin.sql("""
        SELECT source_table_full_name AS source, source_column_name AS source_column,
               target_column_name AS target_column
        FROM system.access.column_lineage
        WHERE target_table_full_name = 'main.ml.churn_training'
        ORDER BY target_column, source
    """)
    )

    step("Grants as a casbin policy file a reviewer can read (catalog policy export)")
    policy = admin.policy.export()
    print("\n".join(line for line in policy.splitlines() if line.startswith(("p, analysts", "p, bob", "g, alice"))))
    edited = policy + "p, bob, table:main.ml.churn_training, SELECT\n"
    print("  planned after adding a line:", admin.policy.plan(edited))
    admin.policy.apply(edited)
    print(f"  bob now reads {len(bob.read_table('main.ml.churn_training'))} training rows")

    train_and_register(home, admin, alice, bob)
    features_and_scoring(home, admin, customers)
    serving(home, admin)

    for cat in (bob, alice, admin):
        cat.close()
    print(f'\nDone. Explore it yourself:  catalog --home {home} --user alice sql "SHOW GRANTS ON SCHEMA main.ml"')


def train_and_register(home: Path, admin: catalog.Catalog, alice: catalog.Catalog, bob: catalog.Catalog) -> None:
    """Experiment tracking, autolog and the governed model registry, as alice."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    from catalog import tracking

    step("alice trains with autolog: params, training metrics, the model and the table it read")
    admin.sql("GRANT CREATE MODEL ON SCHEMA main.ml TO analysts")
    scientist = catalog.connect(home, user="alice")  # the module-level tracking calls act as alice
    frame = scientist.read_table("main.ml.churn_training")
    X = frame[["tenure_months", "monthly_charges", "avg_session_minutes"]]
    X_train, X_test, y_train, y_test = train_test_split(X, frame["churned"], test_size=0.25, random_state=0)
    tracking.set_experiment("/Shared/churn")
    tracking.autolog()
    runs = []
    for depth in (8, 3):
        with tracking.start_run(run_name=f"rf-depth-{depth}") as run:
            model = RandomForestClassifier(n_estimators=50, max_depth=depth, random_state=0).fit(X_train, y_train)
            tracking.log_metric("test_accuracy", float(model.score(X_test, y_test)))
        runs.append(run.info.run_id)
    tracking.autolog(disable=True)
    best = tracking.search_runs(
        experiment_names=["/Shared/churn"],
        filter_string="metrics.test_accuracy > 0.5",
        order_by=["metrics.test_accuracy DESC"],
    )
    print_frame(best[["run_id", "params.max_depth", "metrics.training_accuracy_score", "metrics.test_accuracy"]])

    step("The best run's model becomes version 1 of main.ml.churn_model, alias 'champion'")
    version = tracking.register_model(f"runs:/{best['run_id'].iloc[0]}/model", "main.ml.churn_model")
    client = tracking.Client()
    client.set_registered_model_alias("main.ml.churn_model", "champion", version.version)
    champion = catalog.models.load_model("models:/main.ml.churn_model@champion")  # checksums verified
    print(f"  version {version.version} predicts {champion.predict(X_test.head(5)).tolist()} for 5 customers")
    print_frame(
        alice.sql("SELECT full_name, owner, latest_version, aliases FROM system.information_schema.registered_models")
    )

    step("Lineage runs from the tables to the model; bob needs EXECUTE to load it")
    print_frame(
        admin.sql("""
        SELECT source_table_full_name AS source, target_table_full_name AS target, target_type
        FROM system.access.table_lineage WHERE target_type = 'MODEL'
    """)
    )
    try:
        catalog.models.load_model("models:/main.ml.churn_model@champion", cat=bob)
    except catalog.PermissionDenied as denied:
        print(f"  {denied}")
    admin.sql("GRANT EXECUTE ON MODEL main.ml.churn_model TO bob")
    print(f"  after GRANT EXECUTE: bob loads version {version.version}")
    catalog.models.load_model("models:/main.ml.churn_model@champion", cat=bob)
    scientist.close()


def features_and_scoring(home: Path, admin: catalog.Catalog, customers: pd.DataFrame) -> None:
    """A feature table over time, a point-in-time training set, a model that carries its feature
    spec, and batch scoring from keys alone, as alice."""
    from sklearn.ensemble import RandomForestClassifier

    from catalog import tracking
    from catalog.features import FeatureEngineeringClient, FeatureLookup

    step("Feature tables: a primary key and a timestamp key; training sets join point in time")
    admin.sql("GRANT CREATE TABLE, MODIFY ON SCHEMA main.ml TO analysts")
    scientist = catalog.connect(home, user="alice")
    fe = FeatureEngineeringClient(scientist)
    rng = np.random.default_rng(11)
    months = pd.date_range("2026-01-01", periods=6, freq="MS")
    history = pd.DataFrame(
        [
            {"customer_id": cid, "ts": month, "sessions": float(rng.poisson(8 if churned else 15))}
            for cid, churned in zip(customers.customer_id, customers.churned, strict=True)
            for month in months
        ]
    )
    fe.create_table(
        name="main.ml.customer_activity",
        primary_keys=["customer_id"],
        timestamp_keys=["ts"],
        df=history,
        description="Monthly sessions per customer",
    )
    events = customers[["customer_id", "churned"]].assign(ts=pd.Timestamp("2026-04-15"))
    training_set = fe.create_training_set(
        df=events,
        feature_lookups=[
            FeatureLookup(table_name="main.ml.customer_activity", lookup_key="customer_id", timestamp_lookup_key="ts")
        ],
        label="churned",
        exclude_columns=["customer_id", "ts"],
    )
    train = training_set.load_df()  # each event gets the April 1 values: nothing from after April 15
    print(f"  training set: {len(train)} rows, columns {list(train.columns)}")
    with tracking.start_run(run_name="activity-rf"):
        model = RandomForestClassifier(n_estimators=50, max_depth=4, random_state=0)
        model.fit(train[["sessions"]], train["churned"])
        info = fe.log_model(
            model=model,
            artifact_path="model",
            flavor="sklearn",
            training_set=training_set,
            registered_model_name="main.ml.activity_model",
        )

    step("score_batch: keys in, features looked up, predictions out; the scored table has lineage")
    ids = customers[["customer_id"]].assign(ts=pd.Timestamp("2026-06-30"))
    scored = fe.score_batch(model_uri=f"models:/main.ml.activity_model/{info.registered_model_version}", df=ids)
    scientist.create_table("main.ml.churn_scored", scored)
    print_frame(
        scientist.sql("SELECT prediction, count(*) AS customers FROM main.ml.churn_scored GROUP BY 1 ORDER BY 1")
    )
    graph = admin.lineage.upstream("main.ml.churn_scored")
    print_frame(graph.nodes_frame())
    print(f"  online lookup: {fe.lookup_features('main.ml.customer_activity', [1, 2]).to_dict('records')}")
    scientist.close()


def serving(home: Path, admin: catalog.Catalog) -> None:
    """A serving endpoint with two versions behind a 80/20 split, queried over HTTP by an
    application that holds QUERY on it and nothing else."""
    import threading
    import time

    import requests
    import uvicorn

    from catalog import tracking
    from catalog.server import create_app

    step("A serving endpoint: versions 1 and 2 behind an 80/20 split, requests captured in a table")
    client = tracking.Client(admin)
    experiment = client.get_experiment_by_name("/Shared/churn")
    other = client.search_runs([experiment.experiment_id], order_by=["metrics.test_accuracy ASC"])[0]
    second = client.create_model_version(
        "main.ml.churn_model", f"runs:/{other.info.run_id}/model", run_id=other.info.run_id
    )
    admin.serving.create_endpoint(
        "main.ml.churn_endpoint",
        {
            "served_entities": [
                {"entity_name": "main.ml.churn_model", "entity_version": "1", "name": "champion"},
                {"entity_name": "main.ml.churn_model", "entity_version": second.version, "name": "challenger"},
            ],
            "traffic_config": {
                "routes": [
                    {"served_model_name": "champion", "traffic_percentage": 80},
                    {"served_model_name": "challenger", "traffic_percentage": 20},
                ]
            },
            "auto_capture_config": {"catalog_name": "main", "schema_name": "ml", "table_name_prefix": "churn"},
        },
    )
    admin.sql("CREATE USER `churn-app`")
    admin.sql("GRANT QUERY ON ENDPOINT main.ml.churn_endpoint TO `churn-app`")
    token = admin.tokens.create("churn-app", comment="the churn web app").token

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(home), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/serving-endpoints/main.ml.churn_endpoint/invocations"
    headers = {"Authorization": f"Bearer {token}"}
    customers = admin.read_table("main.ml.churn_training")[["tenure_months", "monthly_charges", "avg_session_minutes"]]
    answered: dict[str, int] = {}
    with requests.Session() as http:
        for start in range(0, 200, 2):
            rows = customers.iloc[start : start + 2].to_dict("records")
            response = http.post(url, json={"dataframe_records": rows}, headers=headers, timeout=30)
            response.raise_for_status()
            entity = response.headers["X-Served-Entity"]
            answered[entity] = answered.get(entity, 0) + 1
        print(f"  POST /serving-endpoints/main.ml.churn_endpoint/invocations -> {response.json()}")
        print(f"  100 requests answered by: {answered}")
        refused = http.post(url, json={"dataframe_records": [{"tenure_months": 3}]}, headers=headers, timeout=30)
        print(f"  a request without monthly_charges: {refused.status_code} {refused.json()['message'][:90]}...")
    server.should_exit = True
    thread.join(timeout=30)

    step("Every request is in system.serving.endpoint_usage and the inference table main.ml.churn_payload")
    admin.serving.flush()
    print_frame(admin.serving.usage("main.ml.churn_endpoint"))
    print_frame(
        admin.sql(
            "SELECT served_entity_name, status_code, requester, left(request, 60) AS request "
            "FROM main.ml.churn_payload ORDER BY timestamp_ms DESC LIMIT 3"
        )
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
