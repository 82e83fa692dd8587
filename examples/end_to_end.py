"""End to end on an embedded catalog: tables, users and groups, grants, denials, audit, lineage,
policy files.

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

DATABASE_FILES = {"catalog.duckdb", "catalog.duckdb.wal"}


def step(title: str) -> None:
    print(f"\n== {title}")


def fresh_home(path: Path) -> Path:
    if path.exists():
        if not path.is_dir() or not {p.name for p in path.iterdir()} <= DATABASE_FILES:
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

    for cat in (bob, alice, admin):
        cat.close()
    print(f'\nDone. Explore it yourself:  catalog --home {home} --user alice sql "SHOW GRANTS ON SCHEMA main.ml"')


if __name__ == "__main__":
    main()
