"""Two users sharing one catalog through `catalog server`.

The admin starts a server on a new home and hands out tokens; alice (a data engineer) and bob
(an analyst) connect with `catalog.connect(URL, token=...)` from their own processes. Alice
writes a table; bob is refused until the admin grants him access; the audit log shows who did
what from where; the server restarts with everything intact.

    .venv/bin/python examples/two_users_server.py [HOME]

HOME defaults to ./team-home; an earlier home there made by this example is replaced.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import requests

import catalog
from catalog.cli.output import print_frame

HOME_ENTRIES = {"catalog.duckdb", "catalog.duckdb.wal", "artifacts", "models", "server.json"}


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def cli(home: Path, *args: str) -> str:
    """Run the `catalog` command (as an admin on the server's machine would) and return its output."""
    result = subprocess.run(
        [sys.executable, "-m", "catalog.cli.main", "--home", str(home), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"catalog {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "catalog.cli.main", "--home", str(home), "server", "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning"], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if server.poll() is not None:
            sys.exit(f"the server exited with status {server.returncode}")
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                return server
        except requests.ConnectionError:
            time.sleep(0.05)
    server.kill()
    sys.exit("the server did not start")


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGINT)  # as Ctrl-C: a clean shutdown
    server.wait(timeout=60)


def main(home: Path) -> None:
    if home.exists():
        if not home.is_dir() or not {p.name for p in home.iterdir()} <= HOME_ENTRIES:
            sys.exit(f"{home} exists and is not a catalog home made by this example; pass another folder.")
        shutil.rmtree(home)
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    step(f"The admin creates users, then serves the home on {url}")
    cli(home, "sql", "CREATE USER alice; CREATE USER bob; CREATE GROUP analysts; ALTER GROUP analysts ADD USER bob")
    cli(home, "sql", "CREATE CATALOG main; CREATE SCHEMA main.sales")
    cli(
        home,
        "sql",
        "GRANT USE CATALOG ON CATALOG main TO alice; GRANT USE SCHEMA, CREATE TABLE ON SCHEMA main.sales TO alice",
    )
    server = start_server(home, port)
    try:
        step("Tokens are created while the server runs (the CLI reaches it through <home>/server.json)")
        alice_token = cli(home, "tokens", "create", "--user", "alice", "--comment", "alice laptop").splitlines()[-1]
        bob_token = cli(home, "tokens", "create", "--user", "bob", "--lifetime-days", "30").splitlines()[-1]
        print(cli(home, "tokens", "list"))

        step("alice connects and writes a table")
        alice = catalog.connect(url, token=alice_token)
        orders = pd.DataFrame(
            {"order_id": [1, 2, 3, 4], "region": ["emea", "amer", "emea", "apac"], "amount": [120.0, 75.5, 33.0, 410.0]}
        )
        print(alice.create_table("main.sales.orders", orders, comment="one row per order"))
        alice.sql(
            "CREATE TABLE main.sales.by_region AS SELECT region, sum(amount) AS total FROM main.sales.orders GROUP BY region"
        )

        step("bob connects and is refused: no grant yet")
        bob = catalog.connect(url, token=bob_token)
        try:
            bob.read_table("main.sales.by_region")
        except catalog.PermissionDenied as denied:
            print(f"refused: [{denied.error_code}] {denied.message}")

        step("alice grants SELECT on her tables, the admin lets analysts into the schema; bob reads")
        alice.sql("GRANT SELECT ON TABLE main.sales.by_region TO analysts")
        alice.sql("GRANT SELECT ON TABLE main.sales.orders TO analysts")
        admin = catalog.connect(home)  # the server holds the home: this goes through it, as admin
        admin.sql("GRANT USE CATALOG ON CATALOG main TO analysts")
        admin.sql("GRANT USE SCHEMA ON SCHEMA main.sales TO analysts")
        print_frame(bob.sql("SELECT * FROM main.sales.by_region ORDER BY total DESC"))

        step("Lineage, as bob may see it")
        print(bob.lineage.upstream("main.sales.by_region").names())

        step("The audit log: who did what, from where")
        print_frame(
            admin.sql(
                "SELECT user_identity.email AS principal, action_name, response.status_code AS status, "
                "source_ip_address FROM system.access.audit "
                "WHERE user_identity.email IN ('alice', 'bob') ORDER BY event_time"
            )
        )
        for connection in (alice, bob, admin):
            connection.close()
    finally:
        stop_server(server)

    step("The server restarts with grants, tokens and lineage intact")
    server = start_server(home, port)
    try:
        bob = catalog.connect(url, token=bob_token)
        print_frame(bob.sql("SHOW GRANTS ON TABLE main.sales.orders"))
        print(f"bob still reads {len(bob.read_table('main.sales.orders'))} orders")
        bob.close()
    finally:
        stop_server(server)
    print("\nDone.")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("team-home"))
