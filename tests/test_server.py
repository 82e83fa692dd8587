"""The catalog server against real uvicorn on 127.0.0.1, driven over HTTP with ``requests`` and
with the remote client: tokens, every error status, the REST resources, Arrow frames,
concurrent writers, restarts, kill -9 and the local server file.

Every test gets a copy of one prepared home (real DuckDB files): catalog ``main`` with schema
``ml`` (table events, table daily made from events by CTAS, table counter) and ``secret`` (table
payroll). alice belongs to analysts (USE CATALOG on main, USE SCHEMA + SELECT on main.ml); bob
holds nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
import requests
from conftest import build_home, copy_home
from servers import ProcessServer, ThreadServer

import catalog
from catalog.api import Catalog
from catalog.errors import (
    AlreadyExists,
    CatalogError,
    HomeLocked,
    InvalidName,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PolicyError,
    RequestTooLarge,
    ServerUnavailable,
    SqlError,
    Unauthenticated,
)
from catalog.remote import RemoteCatalog
from catalog.server import local
from catalog.store.database import DATABASE_FILE

WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.ml",
    "CREATE SCHEMA main.secret",
    "CREATE TABLE main.ml.events (id INT, v INT)",
    "INSERT INTO main.ml.events VALUES (1, 10), (2, 20)",
    "CREATE TABLE main.ml.daily AS SELECT id, v FROM main.ml.events",
    "CREATE TABLE main.ml.counter (n BIGINT)",
    "INSERT INTO main.ml.counter VALUES (0)",
    "CREATE TABLE main.ml.log (writer INT, i INT)",
    "CREATE TABLE main.secret.payroll (id INT, salary INT)",
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE GROUP analysts",
    "ALTER GROUP analysts ADD USER alice",
    "GRANT USE CATALOG ON CATALOG main TO analysts",
    "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO analysts",
)

ARROW_STREAM = "application/vnd.apache.arrow.stream"
USER_AGENT = "server-tests/1.0"


@pytest.fixture(scope="session")
def server_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_home(tmp_path_factory.mktemp("server"), WORLD)


@pytest.fixture
def home(tmp_path: Path, server_template: Path) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared world for every test."""
    return copy_home(server_template, tmp_path)


@pytest.fixture
def server(home: Path) -> Iterator[ThreadServer]:
    started = ThreadServer(home)
    yield started
    started.stop()


@pytest.fixture
def tokens(server: ThreadServer) -> dict[str, str]:
    return {user: server.token(user) for user in ("admin", "alice", "bob")}


@pytest.fixture
def remote(server: ThreadServer, tokens: dict[str, str]) -> Iterator[Callable[[str], RemoteCatalog]]:
    """Remote connections as any of the world's users; closed at the end of the test."""
    opened: list[RemoteCatalog] = []

    def open_as(user: str) -> RemoteCatalog:
        cat = catalog.connect(server.url, token=tokens[user])
        assert isinstance(cat, RemoteCatalog)
        opened.append(cat)
        return cat

    yield open_as
    for cat in opened:
        cat.close()


@pytest.fixture
def embedded(server: ThreadServer, home: Path) -> Iterator[Callable[[str], Catalog]]:
    """Embedded connections to the served home, in this process (they share the server's engine)."""
    opened: list[Catalog] = []

    def open_as(user: str) -> Catalog:
        cat = catalog.connect(home, user=user)
        opened.append(cat)
        return cat

    yield open_as
    for cat in opened:
        cat.close()


# -- helpers -----------------------------------------------------------------------------------


def call(
    server: ThreadServer | ProcessServer, method: str, path: str, token: str | None = None, **kwargs: Any
) -> requests.Response:
    headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, server.url + path, headers=headers, timeout=60, **kwargs)


def assert_error(response: requests.Response, status: int, error_code: str | None = None) -> dict[str, Any]:
    """``response`` is the JSON error body of ``status`` (and ``error_code``, when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert {"error_code", "message", "error_type"} <= set(body)
    assert isinstance(body["message"], str) and body["message"]
    if error_code is not None:
        assert body["error_code"] == error_code
    return body


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, SQL NULL (NaN/NaT in pandas) as None."""
    plain = frame.astype(object)
    return plain.where(pd.notna(plain), None).to_dict("records")


def audit_rows(admin: Catalog, where: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return records(
        admin.sql(
            "SELECT user_identity.email AS email, action_name, response.status_code AS status_code, "
            "source_ip_address, user_agent, request_params FROM system.access.audit "
            f"WHERE {where} ORDER BY event_time",
            params,
        )
    )


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def lineage_event(output: str) -> dict[str, Any]:
    """A COMPLETE OpenLineage event of an Airflow job that wrote ``output`` from an S3 path."""
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T12:00:00Z",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow", "name": "load"},
        "inputs": [{"namespace": "s3://bucket", "name": "raw/events"}],
        "outputs": [{"namespace": "catalog", "name": output}],
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/1.0.0",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``catalog ARGS`` in a fresh interpreter, without the CATALOG_* environment of this one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    command = [sys.executable, "-m", "catalog.cli.main", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)


# -- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer    ", "cat_notabearer", "Bearer cat_unknown", "Bearer x" * 100],
    ids=["none", "basic", "empty-bearer", "blank-bearer", "no-scheme", "unknown", "oversized"],
)
def test_a_request_without_a_valid_token_is_401_and_audited_as_anonymous(server, tokens, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    response = call(server, "GET", "/api/v1/catalogs", headers=headers)

    assert_error(response, 401, "UNAUTHENTICATED")
    with catalog.connect(server.url, token=tokens["admin"]) as admin:
        [row] = audit_rows(admin, "user_identity.email = 'anonymous'")
    assert row["action_name"] == "authenticate"
    assert row["status_code"] == 401
    assert row["source_ip_address"] == "127.0.0.1"
    assert row["user_agent"] == USER_AGENT
    assert dict(row["request_params"]) == {"method": "GET", "path": "/api/v1/catalogs"}


def test_the_remote_client_needs_a_valid_token(server, tokens):
    with pytest.raises(Unauthenticated):
        catalog.connect(server.url)
    with pytest.raises(Unauthenticated) as refused:
        catalog.connect(server.url, token="cat_" + "x" * 43)
    assert refused.value.error_code == "UNAUTHENTICATED"


def test_a_revoked_token_is_refused_from_the_next_request_on(server, remote, tokens):
    admin = remote("admin")
    created = admin.tokens.create("alice", comment="laptop")
    alice = catalog.connect(server.url, token=created.token)
    assert alice.user == "alice"
    assert call(server, "GET", "/api/v1/me", created.token).json()["user"] == "alice"  # now known to the server

    revoked = admin.tokens.revoke(created.info.token_id)

    assert revoked.revoked_by == "admin" and revoked.revoked_at is not None
    assert_error(call(server, "GET", "/api/v1/me", created.token), 401, "UNAUTHENTICATED")
    with pytest.raises(Unauthenticated):
        alice.sql("SELECT 1")
    alice.close()
    assert call(server, "GET", "/api/v1/me", tokens["alice"]).status_code == 200  # only that token


def test_a_user_revokes_their_own_token_but_not_others(server, remote, tokens):
    alice = remote("alice")
    mine = alice.tokens.create(comment="script")
    with pytest.raises(NotFound):  # someone else's token is not even visible
        alice.tokens.revoke(remote("admin").tokens.list("bob")[0].token_id)

    alice.tokens.revoke(mine.info.token_id)

    assert_error(call(server, "GET", "/api/v1/me", mine.token), 401)
    assert call(server, "GET", "/api/v1/me", tokens["bob"]).status_code == 200


def test_an_expired_token_is_refused(server):
    minted = time.monotonic()
    token = server.token("alice", lifetime_seconds=1)
    first = call(server, "GET", "/api/v1/me", token)
    if time.monotonic() - minted < 0.9:  # (a slow machine may take the whole second to get here)
        assert first.status_code == 200

    wait_for(lambda: call(server, "GET", "/api/v1/me", token).status_code == 401, what="the token to expire")

    assert_error(call(server, "GET", "/api/v1/me", token), 401, "UNAUTHENTICATED")


def test_the_token_of_a_dropped_user_is_refused(server, remote, tokens):
    assert call(server, "GET", "/api/v1/me", tokens["bob"]).status_code == 200

    remote("admin").sql("DROP USER bob")

    assert_error(call(server, "GET", "/api/v1/me", tokens["bob"]), 401, "UNAUTHENTICATED")


def test_a_403_is_audited_with_the_user_their_address_and_user_agent(server, remote, tokens):
    response = call(server, "GET", "/api/v1/tables/main.secret.payroll/rows", tokens["alice"])

    body = assert_error(response, 403, "PERMISSION_DENIED")
    assert body["error_type"] == "PermissionDenied"
    [row] = audit_rows(remote("admin"), "response.status_code = 403")
    assert row["email"] == "alice"
    assert row["source_ip_address"] == "127.0.0.1"
    assert row["user_agent"] == USER_AGENT


def test_tokens_are_stored_only_as_digests(home, server, remote):
    admin = remote("admin")
    created = [admin.tokens.create(user, comment=f"for {user}") for user in ("admin", "alice", "bob")]
    alice_own = remote("alice").tokens.create()
    secrets = [c.token for c in [*created, alice_own]]
    server.stop()

    with closing(duckdb.connect(str(home / DATABASE_FILE), read_only=True)) as db:
        rows = db.execute("SELECT * FROM meta.tokens").fetchall()
        hashes = {r[0] for r in db.execute("SELECT token_hash FROM meta.tokens").fetchall()}
    stored = json.dumps(rows, default=str)
    assert all(secret not in stored for secret in secrets)
    assert {hashlib.sha256(s.encode()).hexdigest() for s in secrets} <= hashes
    for name in (DATABASE_FILE, DATABASE_FILE + ".wal"):  # nor anywhere in the files
        path = home / name
        if path.exists():
            data = path.read_bytes()
            assert all(secret.encode() not in data for secret in secrets)


def test_users_create_tokens_for_themselves_but_not_for_others(server, remote, tokens):
    response = call(server, "POST", "/api/v1/tokens/createToken", tokens["alice"], json={"user": "bob"})
    assert_error(response, 403, "PERMISSION_DENIED")
    alice = remote("alice")
    with pytest.raises(PermissionDenied):
        alice.tokens.create("bob")

    created = alice.tokens.create(comment="notebook")

    assert created.info.principal == "alice" and created.info.created_by == "alice"
    assert call(server, "GET", "/api/v1/me", created.token).json()["user"] == "alice"
    response = call(server, "POST", "/api/v1/tokens/createToken", tokens["alice"], json={"user": "alice"})
    assert response.status_code == 200
    assert response.json()["result"]["info"]["principal"] == "alice"


def test_token_listings_show_no_secrets(server, remote, tokens):
    admin = remote("admin")
    secret = admin.tokens.create("alice", comment="for alice").token

    for user in ("admin", "alice"):
        response = call(server, "POST", "/api/v1/tokens/listTokens", tokens[user], json={})
        assert response.status_code == 200
        for token in tokens.values():
            assert token not in response.text and hashlib.sha256(token.encode()).hexdigest() not in response.text
        assert secret not in response.text
        assert all("token_hash" not in item and "token" not in item for item in response.json()["result"])
    assert {t.principal for t in admin.tokens.list()} == {"admin", "alice", "bob"}
    assert {t.principal for t in remote("alice").tokens.list()} == {"alice"}
    with pytest.raises(PermissionDenied):
        remote("alice").tokens.list("bob")


# -- error statuses ----------------------------------------------------------------------------


def arrow_stream(table: pa.Table, metadata: dict[bytes, bytes] | None = None) -> bytes:
    if metadata is not None:
        table = table.replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def arrow_body(table: pa.Table, metadata: dict[bytes, bytes] | None = None) -> dict[str, Any]:
    return {"data": arrow_stream(table, metadata), "headers": {"Content-Type": ARROW_STREAM}}


JSON = {"Content-Type": "application/json"}
UNION = pa.UnionArray.from_sparse(pa.array([0, 1], pa.int8()), [pa.array([1, 2]), pa.array(["a", "b"])])

# (user, method, path, request keyword arguments, status, error_code); None: no token.
# fmt: off
ERRORS = [
    ("admin", "POST", "/api/v1/sql", {"json": {"statement": "SELEC 1"}}, 400, "PARSE_SYNTAX_ERROR"),
    ("admin", "POST", "/api/v1/sql", {"json": {"statement": "SELECT * FROM main.ml.nope"}}, 404, None),
    ("admin", "POST", "/api/v1/sql", {"data": b"{not json", "headers": JSON}, 400, "INVALID_PARAMETER_VALUE"),
    ("admin", "POST", "/api/v1/sql", {"json": {"statement": 42}}, 400, "INVALID_PARAMETER_VALUE"),
    ("admin", "POST", "/api/v1/sql", {"json": ["SELECT 1"]}, 400, "INVALID_PARAMETER_VALUE"),
    ("admin", "POST", "/api/v1/tokens/listTokens", {"data": b"{oops"}, 400, "MALFORMED_REQUEST"),
    ("admin", "POST", "/api/v1/tokens/listTokens", {"json": [1, 2]}, 400, "MALFORMED_REQUEST"),
    ("admin", "POST", "/api/v1/tokens/listTokens", {"json": {"$type": "Nope"}}, 400, "MALFORMED_REQUEST"),
    ("admin", "POST", "/api/v1/tokens/createToken", {"json": {"lifetime_seconds": "soon"}}, 400, "INVALID_PARAMETER_VALUE"),
    ("admin", "POST", "/api/v1/tokens/createToken", {"json": {"lifetime_seconds": -1}}, 400, "INVALID_PARAMETER_VALUE"),
    ("admin", "POST", "/api/v1/tokens/createToken", {"json": {"colour": "red"}}, 400, "INVALID_PARAMETER_VALUE"),
    ("admin", "POST", "/api/v1/tokens/revokeToken", {"json": {}}, 400, "INVALID_PARAMETER_VALUE"),
    ("admin", "POST", "/api/v1/catalogs", {"json": {"name": "bad name!"}}, 400, "INVALID_IDENTIFIER"),
    ("admin", "POST", "/api/v1/catalogs", {"json": {"name": "a.b"}}, 400, "INVALID_IDENTIFIER"),
    ("admin", "GET", "/api/v1/tables/main.ml", {}, 400, "INVALID_IDENTIFIER"),
    ("admin", "GET", "/api/v1/permissions/galaxy/main", {}, 400, "INVALID_PARAMETER_VALUE"),
    ("admin", "GET", "/api/v1/lineage/main.ml.events", {"params": {"depth": 0}}, 400, "INVALID_PARAMETER_VALUE"),
    ("admin", "PUT", "/api/v1/tables/main.ml.new", {"data": b"not arrow"}, 400, "MALFORMED_REQUEST"),
    ("admin", "PUT", "/api/v1/tables/main.ml.new", {"data": b"x", "headers": {"Content-Type": ARROW_STREAM}}, 400, "MALFORMED_REQUEST"),
    # bodies that once made 500s: nesting deeper than Python recurses, lone surrogates, Arrow pandas cannot hold
    ("admin", "POST", "/api/v1/tokens/listTokens", {"data": b"[" * 50_000}, 400, "MALFORMED_REQUEST"),
    ("admin", "POST", "/api/v1/tokens/listTokens", {"data": b'{"a":' * 500 + b"1" + b"}" * 500}, 400, "MALFORMED_REQUEST"),
    ("admin", "POST", "/api/v1/lineage", {"data": b"[" * 50_000}, 400, "MALFORMED_REQUEST"),
    ("admin", "POST", "/api/v1/tokens/createToken", {"data": b'{"comment": "\\ud800"}'}, 400, "MALFORMED_REQUEST"),
    ("admin", "POST", "/api/v1/sql", {"data": b'{"statement": "SELECT \'\\ud800\'"}', "headers": JSON}, 400, "MALFORMED_REQUEST"),
    ("admin", "POST", "/api/v1/sql", {"json": {"statement": "SELECT ?", "parameters": ["\ud800"]}}, 400, "MALFORMED_REQUEST"),
    ("admin", "PUT", "/api/v1/tables/main.ml.new", arrow_body(pa.table({"u": UNION})), 400, "MALFORMED_REQUEST"),
    ("admin", "POST", "/api/v1/tables/main.ml.events/rows", arrow_body(pa.table({"id": [3]}), {b"catalog.attrs": b"[1]"}), 400, "MALFORMED_REQUEST"),
    ("admin", "POST", "/api/v1/tables/main.ml.events/rows", arrow_body(pa.table({"id": [3]}), {b"pandas": b"{oops"}), 400, "MALFORMED_REQUEST"),
    (None, "GET", "/api/v1/catalogs", {}, 401, "UNAUTHENTICATED"),
    ("alice", "POST", "/api/v1/catalogs", {"json": {"name": "mine"}}, 403, "PERMISSION_DENIED"),
    ("alice", "GET", "/api/v1/tables/main.secret.payroll/rows", {}, 403, "PERMISSION_DENIED"),
    ("bob", "POST", "/api/v1/tokens/listTokens", {"json": {"user": "alice"}}, 403, "PERMISSION_DENIED"),
    ("admin", "GET", "/api/v1/tables/main.ml.nope", {}, 404, "TABLE_OR_VIEW_NOT_FOUND"),
    ("admin", "GET", "/api/v1/tables/main.ml.nope/rows", {}, 404, "TABLE_OR_VIEW_NOT_FOUND"),
    ("admin", "GET", "/api/v1/catalogs/nope", {}, 404, "CATALOG_NOT_FOUND"),
    ("admin", "GET", "/api/v1/nope", {}, 404, "ENDPOINT_NOT_FOUND"),
    (None, "GET", "/nope", {}, 404, "ENDPOINT_NOT_FOUND"),
    ("admin", "POST", "/api/v1/tokens/noSuchOperation", {"json": {}}, 404, "ENDPOINT_NOT_FOUND"),
    ("admin", "POST", "/api/v1/tracking/createToken", {"json": {}}, 404, "ENDPOINT_NOT_FOUND"),
    ("admin", "POST", "/api/v1/tokens/revokeToken", {"json": {"token_id": "nope"}}, 404, "TOKEN_NOT_FOUND"),
    ("admin", "POST", "/api/v1/tokens/createToken", {"json": {"user": "nobody"}}, 404, "PRINCIPAL_DOES_NOT_EXIST"),
    ("admin", "PUT", "/api/v1/catalogs", {}, 405, None),
    ("admin", "POST", "/api/v1/catalogs", {"json": {"name": "main"}}, 409, "CATALOG_ALREADY_EXISTS"),
    ("admin", "POST", "/api/v1/sql", {"json": {"statement": "CREATE CATALOG main"}}, 409, "CATALOG_ALREADY_EXISTS"),
    ("admin", "POST", "/api/v1/schemas", {"json": {"catalog_name": "main", "name": "ml"}}, 409, "SCHEMA_ALREADY_EXISTS"),
]
# fmt: on


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory, server_template: Path) -> Iterator[ThreadServer]:
    """One server for tests that change nothing (every request in them fails)."""
    started = ThreadServer(copy_home(server_template, tmp_path_factory.mktemp("shared")))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def shared_tokens(shared_server: ThreadServer) -> dict[str | None, str | None]:
    return {None: None} | {user: shared_server.token(user) for user in ("admin", "alice", "bob")}


@pytest.mark.parametrize(
    ("user", "method", "path", "kwargs", "status", "error_code"),
    ERRORS,
    ids=[f"{status}-{method}-{path}-{i}" for i, (_, method, path, _, status, _) in enumerate(ERRORS)],
)
def test_every_client_error_is_json_with_its_status(
    shared_server, shared_tokens, user, method, path, kwargs, status, error_code
):
    response = call(shared_server, method, path, shared_tokens[user], **kwargs)

    assert_error(response, status, error_code)


def test_a_body_over_the_limit_is_413_before_it_reaches_the_engine(home):
    server = ThreadServer(home, max_body_bytes=4096)
    try:
        token = server.token("admin")
        padded = {"statement": "CREATE CATALOG big", "parameters": None}
        small = json.dumps(padded).encode()
        large = json.dumps({**padded, "padding": "x" * 8000}).encode()
        json_type = {"Content-Type": "application/json"}

        declared = call(server, "POST", "/api/v1/sql", token, data=large, headers=json_type)
        assert_error(declared, 413, "REQUEST_TOO_LARGE")

        def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked, growing past the limit
            for start in range(0, len(large), 1000):
                yield large[start : start + 1000]

        streamed = call(server, "POST", "/api/v1/sql", token, data=chunks(), headers=json_type)
        assert_error(streamed, 413, "REQUEST_TOO_LARGE")
        for path in ("/api/v1/lineage", "/api/v1/tokens/listTokens", "/api/v1/policy/plan", "/api/v1/catalogs"):
            assert_error(call(server, "POST", path, token, data=chunks(), headers=json_type), 413)

        with catalog.connect(server.url, token=token) as admin:
            assert "big" not in admin.sql("SHOW CATALOGS")["catalog"].tolist()
            with pytest.raises(RequestTooLarge) as refused:
                admin.create_table("main.ml.wide", pd.DataFrame({"text": ["y" * 10_000]}))
            assert refused.value.error_code == "REQUEST_TOO_LARGE"

            assert call(server, "POST", "/api/v1/sql", token, data=small, headers=json_type).status_code == 200
            assert "big" in admin.sql("SHOW CATALOGS")["catalog"].tolist()
    finally:
        server.stop()


# (user, what the connection does, the class both raise)
SAME_ERRORS: list[tuple[str, Callable[[Catalog], Any], type[CatalogError]]] = [
    ("alice", lambda c: c.sql("SELECT * FROM main.secret.payroll"), PermissionDenied),
    ("alice", lambda c: c.read_table("main.secret.payroll"), PermissionDenied),
    ("alice", lambda c: c.write_table("main.ml.events", pd.DataFrame({"id": [3], "v": [30]})), PermissionDenied),
    ("alice", lambda c: c.sql("CREATE CATALOG mine"), PermissionDenied),
    ("alice", lambda c: c.tokens.create("bob"), PermissionDenied),
    ("alice", lambda c: c.policy.export(), PermissionDenied),
    ("admin", lambda c: c.sql("SELECT * FROM main.ml.nope"), NotFound),
    ("admin", lambda c: c.read_table("main.ml.nope"), NotFound),
    ("admin", lambda c: c.lineage.upstream("main.ml.nope"), NotFound),
    ("admin", lambda c: c.tokens.revoke("nope"), NotFound),
    ("admin", lambda c: c.tokens.create("nobody"), NotFound),
    ("admin", lambda c: c.invoke("noSuchOperation"), NotFound),
    ("admin", lambda c: c.sql("CREATE CATALOG main"), AlreadyExists),
    ("admin", lambda c: c.create_table("main.ml.events", pd.DataFrame({"id": [1]})), AlreadyExists),
    ("admin", lambda c: c.sql("SELEC 1"), SqlError),
    ("admin", lambda c: c.sql("SELECT nope FROM main.ml.events"), SqlError),
    ("admin", lambda c: c.sql("SELECT ?", [1, 2]), SqlError),
    ("admin", lambda c: c.read_table("main.ml.events.extra"), InvalidName),
    ("admin", lambda c: c.sql("CREATE CATALOG `bad name`"), InvalidName),
    ("admin", lambda c: c.tokens.create(lifetime_seconds=0), InvalidRequest),
    ("admin", lambda c: c.invoke("createToken", colour="red"), InvalidRequest),
    ("admin", lambda c: c.policy.apply("p, nobody, galaxy:far, FLY\n"), PolicyError),
    ("admin", lambda c: c.lineage.ingest("{not json"), InvalidRequest),
]


def test_the_remote_client_raises_what_the_embedded_one_raises(remote, embedded):
    for user, action, expected in SAME_ERRORS:
        with pytest.raises(CatalogError) as in_process:
            action(embedded(user))
        with pytest.raises(CatalogError) as over_http:
            action(remote(user))
        assert isinstance(in_process.value, expected), in_process.value
        assert type(over_http.value) is expected, (over_http.value, expected)
        assert over_http.value.error_code == in_process.value.error_code
        assert over_http.value.message == in_process.value.message
        assert over_http.value.http_status == in_process.value.http_status


# -- REST resources ----------------------------------------------------------------------------


def test_catalogs_schemas_and_tables_as_resources(server, tokens):
    admin = tokens["admin"]

    assert call(server, "POST", "/api/v1/catalogs", admin, json={"name": "Sales", "comment": "it's ours"}).json() == {
        "name": "sales"
    }
    assert {"catalog": "sales"} in call(server, "GET", "/api/v1/catalogs", admin).json()["catalogs"]
    properties = call(server, "GET", "/api/v1/catalogs/sales", admin).json()["properties"]
    assert {"info_name": "Comment", "info_value": "it's ours"} in properties
    assert {"info_name": "Owner", "info_value": "admin"} in properties

    response = call(server, "POST", "/api/v1/schemas", admin, json={"catalog_name": "sales", "name": "q1"})
    assert response.status_code == 201 and response.json() == {"full_name": "sales.q1"}
    schemas = call(server, "GET", "/api/v1/schemas", admin, params={"catalog_name": "sales"}).json()["schemas"]
    assert [s["databaseName"] for s in schemas] == ["default", "q1"]
    assert {"info_name": "Schema Name", "info_value": "sales.q1"} in call(
        server, "GET", "/api/v1/schemas/sales.q1", admin
    ).json()["properties"]

    with catalog.connect(server.url, token=admin) as cat:
        assert cat.create_table("sales.q1.orders", pd.DataFrame({"id": [1, 2], "amount": [9.5, 3.25]})) == (
            "sales.q1.orders"
        )
    tables = call(server, "GET", "/api/v1/tables", admin, params={"catalog_name": "sales", "schema_name": "q1"})
    assert [t["tableName"] for t in tables.json()["tables"]] == ["orders"]
    columns = call(server, "GET", "/api/v1/tables/sales.q1.orders", admin).json()["columns"]
    assert [(c["col_name"], c["data_type"]) for c in columns[:2]] == [("id", "bigint"), ("amount", "double")]

    assert call(server, "DELETE", "/api/v1/tables/sales.q1.orders", admin).status_code == 204
    assert_error(call(server, "GET", "/api/v1/tables/sales.q1.orders", admin), 404)
    assert_error(call(server, "DELETE", "/api/v1/schemas/sales.q1", tokens["bob"]), 403)
    assert call(server, "DELETE", "/api/v1/schemas/sales.q1", admin).status_code == 204
    assert call(server, "DELETE", "/api/v1/catalogs/sales", admin).status_code == 204
    assert_error(call(server, "GET", "/api/v1/catalogs/sales", admin), 404)
    assert {"catalog": "sales"} not in call(server, "GET", "/api/v1/catalogs", admin).json()["catalogs"]


def test_a_catalog_with_contents_drops_only_with_cascade(server, tokens):
    admin = tokens["admin"]
    assert_error(call(server, "DELETE", "/api/v1/catalogs/main", admin), 400)
    assert call(server, "GET", "/api/v1/tables/main.ml.events", admin).status_code == 200

    assert call(server, "DELETE", "/api/v1/catalogs/main", admin, params={"cascade": "true"}).status_code == 204

    assert_error(call(server, "GET", "/api/v1/tables/main.ml.events", admin), 404)


def assignments(server: ThreadServer, token: str, path: str) -> set[tuple[str, str, str]]:
    response = call(server, "GET", f"/api/v1/permissions/{path}", token)
    assert response.status_code == 200, response.text
    return {(a["principal"], a["action_type"], a["object_key"]) for a in response.json()["privilege_assignments"]}


def test_permissions_are_read_and_changed_as_resources(server, tokens, remote):
    admin = tokens["admin"]
    before = assignments(server, admin, "table/main.ml.events")
    assert ("analysts", "SELECT", "main.ml") in before

    response = call(
        server,
        "PATCH",
        "/api/v1/permissions/table/main.ml.events",
        admin,
        json={
            "changes": [{"principal": "bob", "add": ["SELECT", "MODIFY"]}, {"principal": "analysts", "add": ["MODIFY"]}]
        },
    )

    assert response.status_code == 200
    after = {(a["principal"], a["action_type"], a["object_key"]) for a in response.json()["privilege_assignments"]}
    assert after == assignments(server, admin, "table/main.ml.events")
    assert after - before == {
        ("bob", "SELECT", "main.ml.events"),
        ("bob", "MODIFY", "main.ml.events"),
        ("analysts", "MODIFY", "main.ml.events"),
    }
    grants = remote("admin").sql("SHOW GRANTS ON TABLE main.ml.events")
    assert {"bob"} <= set(grants["principal"])

    removed = call(
        server,
        "PATCH",
        "/api/v1/permissions/table/main.ml.events",
        admin,
        json={"changes": [{"principal": "bob", "remove": ["MODIFY"]}, {"principal": "analysts", "remove": ["MODIFY"]}]},
    )
    assert removed.status_code == 200
    assert assignments(server, admin, "table/main.ml.events") - before == {("bob", "SELECT", "main.ml.events")}
    [audited] = audit_rows(
        remote("admin"), "action_name = 'updatePermissions' AND request_params['commandText'] LIKE '%REVOKE MODIFY%'"
    )
    assert audited["email"] == "admin" and audited["status_code"] == 200


@pytest.mark.parametrize(
    ("bad_change", "status"),
    [
        ({"principal": "bob", "add": ["FLY"]}, 400),  # not a privilege
        ({"principal": "nobody", "add": ["SELECT"]}, 404),  # no such principal
        ({"principal": "bob", "add": ["CREATE CATALOG"]}, 400),  # not grantable on a table
        ({"principal": "bob", "add": ["SELECT"], "remove": 7}, 400),  # malformed
        ({"principal": "bob;DROP", "add": ["SELECT"]}, 404),
    ],
    ids=["unknown-privilege", "unknown-principal", "wrong-securable", "malformed", "odd-principal"],
)
def test_a_permissions_patch_with_one_bad_change_changes_nothing(server, tokens, bad_change, status):
    admin = tokens["admin"]
    before = assignments(server, admin, "table/main.ml.events")
    good = [{"principal": "bob", "add": ["SELECT"]}, {"principal": "analysts", "remove": ["SELECT"]}]

    response = call(
        server, "PATCH", "/api/v1/permissions/table/main.ml.events", admin, json={"changes": [*good, bad_change]}
    )

    assert_error(response, status)
    assert assignments(server, admin, "table/main.ml.events") == before
    assert_error(
        call(server, "PATCH", "/api/v1/permissions/table/main.ml.events", tokens["alice"], json={"changes": good}),
        403,
    )
    assert assignments(server, admin, "table/main.ml.events") == before


def test_policy_files_export_plan_and_apply(server, tokens, remote):
    admin = tokens["admin"]
    exported = call(server, "GET", "/api/v1/policy", admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    text = exported.text
    assert "p, analysts, schema:main.ml, SELECT" in text
    text_type = {"Content-Type": "text/plain; charset=utf-8"}

    unchanged = call(server, "POST", "/api/v1/policy/plan", admin, data=text.encode(), headers=text_type)
    assert unchanged.json() == {"statements": []}

    edited = text + "p, bob, table:main.ml.events, SELECT\n"
    planned = call(server, "POST", "/api/v1/policy/plan", admin, data=edited.encode(), headers=text_type).json()
    assert planned == {"statements": ["GRANT SELECT ON TABLE main.ml.events TO bob"]}
    assert "bob" not in set(remote("admin").sql("SHOW GRANTS ON TABLE main.ml.events")["principal"])

    applied = call(server, "POST", "/api/v1/policy/apply", admin, data=edited.encode(), headers=text_type).json()

    assert applied == planned
    assert ("bob", "SELECT", "main.ml.events") in assignments(server, admin, "table/main.ml.events")
    assert_error(call(server, "POST", "/api/v1/policy/apply", tokens["alice"], data=text.encode()), 403)
    bad = call(server, "POST", "/api/v1/policy/apply", admin, data=b"p, bob, galaxy:far, FLY\n", headers=text_type)
    assert_error(bad, 400, "INVALID_POLICY_FILE")
    assert_error(call(server, "POST", "/api/v1/policy/plan", admin, data=b"\xff\xfe"), 400, "MALFORMED_REQUEST")


def test_the_lineage_graph_of_a_table(server, tokens, remote):
    response = call(server, "GET", "/api/v1/lineage/main.ml.daily", tokens["alice"], params={"depth": 3})

    assert response.status_code == 200
    assert response.json()["root"] == "main.ml.daily"
    graph = remote("alice").lineage.upstream("main.ml.daily")
    assert graph.names() == ["main.ml.events"]
    assert remote("alice").lineage.downstream("main.ml.events").names() == ["main.ml.daily"]
    down = call(server, "GET", "/api/v1/lineage/main.ml.events", tokens["alice"], params={"direction": "downstream"})
    assert down.status_code == 200 and down.json()["direction"] == "downstream"


def test_openlineage_http_transport_posts_events_with_a_catalog_token(server, tokens, remote):
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

    transport = HttpTransport(HttpConfig(url=server.url, auth=ApiKeyTokenProvider({"apiKey": tokens["admin"]})))
    run_id = str(uuid.uuid4())
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=run_id),
        job=Job(namespace="airflow", name="load_events"),
        producer="https://github.com/apache/airflow/tree/providers-openlineage/1.0.0",
        inputs=[InputDataset(namespace="s3://bucket", name="raw/events")],
        outputs=[OutputDataset(namespace="catalog", name="main.ml.events")],
    )

    response = transport.emit(event)

    assert response.status_code == 201
    assert response.json()["edges"] == 1
    edges = records(
        remote("admin").sql(
            "SELECT source_path, target_table_full_name, entity_type, entity_run_id, created_by "
            "FROM system.access.table_lineage WHERE entity_type = 'EXTERNAL'"
        )
    )
    assert edges == [
        {
            "source_path": "s3://bucket/raw/events",
            "target_table_full_name": "main.ml.events",
            "entity_type": "EXTERNAL",
            "entity_run_id": run_id,
            "created_by": "admin",
        }
    ]
    assert remote("alice").lineage.upstream("main.ml.daily").names() == ["main.ml.events", "s3://bucket/raw/events"]

    refused = HttpTransport(
        HttpConfig(url=server.url, auth=ApiKeyTokenProvider({"apiKey": "cat_wrong"}), retry={"total": 0})
    )
    with pytest.raises(requests.HTTPError) as failed:
        refused.emit(event)
    assert failed.value.response.status_code == 401


def test_health_and_api_docs_need_no_token(server):
    assert call(server, "GET", "/health").json() == {"status": "ok", "version": catalog.__version__}
    spec = call(server, "GET", "/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"/api/v1/sql", "/api/v1/catalogs", "/api/v1/lineage", "/api/v1/{area}/{action}"} <= set(paths)
    docs = call(server, "GET", "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    operations = call(server, "GET", "/api/v1/operations")
    assert operations.status_code == 200
    assert "/api/v1/tokens/createToken" in {op["path"] for op in operations.json()["operations"]}


# -- frames as Arrow ---------------------------------------------------------------------------


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": [1, -2, 3, 2**40],
            "f": [1.5, float("nan"), None, -0.25],
            "s": ["a", None, "ünïcødé", ""],
            "ts": pd.to_datetime(
                ["2024-01-01 00:00:00.000", "2024-06-30 12:34:56.789", None, "1999-12-31 23:59:59.000"]
            ).tz_localize("Europe/Paris"),
            "b": [True, False, None, True],
            "d": [date(2024, 1, 1), None, date(1970, 1, 1), date(2038, 1, 19)],
        }
    )


def test_frames_round_trip_as_arrow_equal_to_the_embedded_result(server, tokens, remote, embedded):
    admin_remote, admin_embedded = remote("admin"), embedded("admin")
    admin_remote.create_table("main.ml.mixed_remote", mixed_frame())
    admin_embedded.create_table("main.ml.mixed_embedded", mixed_frame())

    for name in ("main.ml.mixed_remote", "main.ml.mixed_embedded"):
        local_frame = admin_embedded.read_table(name)
        pd.testing.assert_frame_equal(admin_remote.read_table(name), local_frame)
        query = f"SELECT * FROM {name} ORDER BY i"
        pd.testing.assert_frame_equal(admin_remote.sql(query), admin_embedded.sql(query))
    pd.testing.assert_frame_equal(
        admin_embedded.read_table("main.ml.mixed_remote"), admin_embedded.read_table("main.ml.mixed_embedded")
    )
    read = admin_embedded.read_table("main.ml.mixed_remote")
    assert read["i"].tolist() == [1, -2, 3, 2**40]
    assert read["f"].isna().tolist() == [False, True, True, False]
    assert read["s"].tolist()[2] == "ünïcødé"
    assert pd.Timestamp(read["ts"].iloc[1]) == pd.Timestamp("2024-06-30 12:34:56.789", tz="Europe/Paris")
    response = call(server, "GET", "/api/v1/tables/main.ml.mixed_remote/rows", tokens["admin"])
    assert response.headers["content-type"] == ARROW_STREAM
    sql = call(server, "POST", "/api/v1/sql", tokens["admin"], json={"statement": "SELECT 1 AS one"})
    assert sql.headers["content-type"] == ARROW_STREAM

    assert admin_remote.write_table("main.ml.mixed_remote", mixed_frame().head(2)) == 2
    assert len(admin_embedded.read_table("main.ml.mixed_remote")) == 6


# -- concurrency -------------------------------------------------------------------------------

WRITERS = 32
WRITES_EACH = 3


def run_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` in ``count`` threads started together; re-raise the first failure."""
    failures: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            work(i)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    if failures:
        raise failures[0]


def test_concurrent_writers_lose_no_update_and_readers_succeed(server, tokens):
    connections = [catalog.connect(server.url, token=tokens["admin"]) for _ in range(WRITERS)]
    readers = [catalog.connect(server.url, token=tokens["alice"]) for _ in range(2)]
    writing = threading.Event()
    writing.set()
    seen: list[list[int]] = [[] for _ in readers]

    def read(i: int) -> None:
        while writing.is_set():
            seen[i].append(int(readers[i].sql("SELECT count(*) AS n FROM main.ml.log")["n"].iloc[0]))

    reader_threads = [threading.Thread(target=read, args=(i,)) for i in range(len(readers))]
    for thread in reader_threads:
        thread.start()

    def write(w: int) -> None:
        cat = connections[w]
        for i in range(WRITES_EACH):
            cat.sql("INSERT INTO main.ml.log VALUES (?, ?)", [w, i])
            cat.sql("UPDATE main.ml.counter SET n = n + 1")

    try:
        run_threads(WRITERS, write)
    finally:
        writing.clear()
        for thread in reader_threads:
            thread.join(timeout=60)
        for cat in connections + readers:
            cat.close()

    with catalog.connect(server.url, token=tokens["admin"]) as admin:
        rows = admin.sql("SELECT writer, i FROM main.ml.log")
        assert len(rows) == WRITERS * WRITES_EACH
        assert set(zip(rows["writer"], rows["i"], strict=True)) == set(
            itertools.product(range(WRITERS), range(WRITES_EACH))
        )
        assert admin.sql("SELECT n FROM main.ml.counter")["n"].tolist() == [WRITERS * WRITES_EACH]
    for counts in seen:  # every read succeeded, and each reader saw the count only grow
        assert counts and counts == sorted(counts)
        assert counts[-1] <= WRITERS * WRITES_EACH


def test_model_versions_stay_unique_and_contiguous_under_concurrent_registration(server, tokens, tmp_path):
    from sklearn.linear_model import LogisticRegression

    from catalog.models import save_model
    from catalog.tracking import Client

    admin = catalog.connect(server.url, token=tokens["admin"])
    client = Client(admin)
    experiment = client.create_experiment("/Shared/concurrent")
    run = client.create_run(experiment)
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    save_model(LogisticRegression().fit(X, [0, 0, 1, 1]), tmp_path / "model", input_example=X.head(2))
    client.log_artifacts(run.info.run_id, tmp_path / "model", "model")
    client.create_registered_model("main.ml.concurrent")
    source = f"runs:/{run.info.run_id}/model"
    clients = [Client(catalog.connect(server.url, token=tokens["admin"])) for _ in range(16)]
    made: list[int] = []

    def register(i: int) -> None:
        for _ in range(2):
            made.append(int(clients[i].create_model_version("main.ml.concurrent", source).version))

    try:
        run_threads(16, register)
    finally:
        for each in clients:
            each.cat.close()

    assert sorted(made) == list(range(1, 33))
    listed = client.search_model_versions("name = 'main.ml.concurrent'")
    assert sorted(int(v.version) for v in listed) == list(range(1, 33))
    admin.close()


# -- restarts, kill -9 and the local server file -----------------------------------------------


def test_everything_survives_a_restart(home):
    server = ProcessServer(home).start()
    try:
        with catalog.connect(home) as admin:  # through <home>/server.json
            admin.sql("CREATE CATALOG sales")
            admin.sql("CREATE SCHEMA sales.q1")
            admin.sql("CREATE TABLE sales.q1.orders AS SELECT id, v AS amount FROM main.ml.events")
            admin.sql("GRANT USE CATALOG ON CATALOG sales TO bob")
            admin.sql("GRANT USE SCHEMA, SELECT ON SCHEMA sales.q1 TO bob")
            admin.lineage.ingest(lineage_event("sales.q1.orders"))
            bob_token = admin.tokens.create("bob", comment="survives").token
            grants = admin.sql("SHOW GRANTS ON SCHEMA sales.q1")
            lineage = admin.sql("SELECT * EXCLUDE (event_time) FROM system.access.table_lineage ORDER BY ALL")
            audited = set(admin.sql("SELECT event_id FROM system.access.audit")["event_id"])
        first = local.read(home)
        assert first is not None
    finally:
        assert server.stop() == 0
    assert local.read(home) is None  # a clean stop withdraws the file

    server.start()
    try:
        second = local.read(home)
        assert second is not None and second.token != first.token
        assert_error(call(server, "GET", "/api/v1/me", first.token), 401)  # revoked at the clean stop
        with catalog.connect(home) as admin:
            pd.testing.assert_frame_equal(admin.sql("SHOW GRANTS ON SCHEMA sales.q1"), grants)
            pd.testing.assert_frame_equal(
                admin.sql("SELECT * EXCLUDE (event_time) FROM system.access.table_lineage ORDER BY ALL"), lineage
            )
            assert {"main.ml.events", "s3://bucket/raw/events"} <= set(lineage["source_table_full_name"]) | set(
                lineage["source_path"]
            )
            assert audited <= set(admin.sql("SELECT event_id FROM system.access.audit")["event_id"])
        with catalog.connect(server.url, token=bob_token) as bob:
            assert bob.user == "bob"
            assert bob.read_table("sales.q1.orders")["amount"].tolist() == [10, 20]
    finally:
        assert server.stop() == 0


def test_kill_9_loses_no_acknowledged_write(home):
    server = ProcessServer(home).start()
    killed = local.read(home)
    assert killed is not None
    with catalog.connect(server.url, token=killed.token) as admin:
        admin.sql("CREATE TABLE main.ml.acks (id BIGINT)")
        writer_token = admin.tokens.create("admin", comment="writer").token
    acknowledged: list[int] = []
    stopped_by: list[BaseException] = []

    def write() -> None:
        with closing(catalog.connect(server.url, token=writer_token)) as cat:
            for i in itertools.count():
                try:
                    cat.sql("INSERT INTO main.ml.acks VALUES (?)", [i])
                except Exception as exc:  # the kill; asserted below to be ServerUnavailable
                    stopped_by.append(exc)
                    return
                acknowledged.append(i)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for(lambda: len(acknowledged) >= 25, timeout_s=60, what="25 acknowledged writes")
    finally:
        server.kill()
        writer.join(timeout=60)
    assert not writer.is_alive()
    assert len(stopped_by) == 1 and isinstance(stopped_by[0], ServerUnavailable)
    assert local.read(home) == killed  # nothing cleaned up

    server.start()
    try:
        restarted = local.read(home)
        assert restarted is not None
        assert restarted.token_id != killed.token_id and restarted.pid != killed.pid
        assert_error(call(server, "GET", "/api/v1/me", killed.token), 401)  # the killed server's token is revoked
        with catalog.connect(home) as admin:
            stored = set(admin.read_table("main.ml.acks")["id"])
            [revoked] = [t for t in admin.tokens.list("admin") if t.token_id == killed.token_id]
            assert revoked.revoked_at is not None
        assert set(acknowledged) <= stored
        assert stored - set(acknowledged) <= {len(acknowledged)}  # at most the write in flight at the kill
        with catalog.connect(server.url, token=writer_token) as cat:
            assert cat.sql("SELECT count(*) AS n FROM main.ml.acks")["n"].iloc[0] == len(stored)
    finally:
        assert server.stop() == 0


def test_the_local_server_file_lets_local_commands_reach_the_server(home):
    server = ProcessServer(home).start()
    try:
        published = local.read(home)
        assert published is not None and published.url == server.url
        assert (home / local.FILE).stat().st_mode & 0o777 == 0o600

        with catalog.connect(home) as cat:
            assert isinstance(cat, RemoteCatalog)
            assert cat.user == "admin" and cat.url == server.url
            assert "main" in cat.sql("SHOW CATALOGS")["catalog"].tolist()
        with pytest.raises(HomeLocked):
            catalog.connect(home, user="alice")

        created = run_cli("--home", home, "tokens", "create", "--user", "alice", "--comment", "from the shell")
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip().splitlines()[-1]
        assert token.startswith("cat_")

        who = run_cli("--uri", server.url, "--token", token, "--format", "csv", "sql", "SELECT current_user() AS me")
        assert who.returncode == 0, who.stderr
        assert who.stdout.split() == ["me", "alice"]

        listed = run_cli("--home", home, "--format", "csv", "tokens", "list", "--user", "alice")
        assert listed.returncode == 0, listed.stderr
        assert "from the shell" in listed.stdout and token not in listed.stdout
    finally:
        assert server.stop() == 0
    assert not (home / local.FILE).exists()


# -- for browsers: JSON rows, plain lineage, the web UI's files --------------------------------------
def test_sql_answers_json_rows_to_browsers(server, tokens):
    asked = {"statement": "SELECT id, v, current_date() AS d FROM main.ml.events ORDER BY id"}
    answer = call(server, "POST", "/api/v1/sql", tokens["alice"], json=asked, headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert [c["name"] for c in body["columns"]] == ["id", "v", "d"]
    assert [row[:2] for row in body["rows"]] == [[1, 10], [2, 20]]
    assert body["truncated"] is False and body["row_count"] == 2
    first = call(
        server, "POST", "/api/v1/sql?max_rows=1", tokens["alice"], json=asked, headers={"Accept": "application/json"}
    ).json()
    assert len(first["rows"]) == 1 and first["truncated"] is True and first["row_count"] == 2
    too_many = call(
        server, "POST", "/api/v1/sql?max_rows=0", tokens["alice"], json=asked, headers={"Accept": "application/json"}
    )
    assert_error(too_many, 400)
    refused = call(
        server,
        "POST",
        "/api/v1/sql",
        tokens["bob"],
        json={"statement": "SELECT * FROM main.ml.events"},
        headers={"Accept": "application/json"},
    )
    assert_error(refused, 403, "PERMISSION_DENIED")
    arrow = call(server, "POST", "/api/v1/sql", tokens["alice"], json=asked)  # the default stays Arrow
    assert arrow.headers["content-type"] == ARROW_STREAM


def test_lineage_as_plain_json(server, tokens):
    answer = call(server, "GET", "/api/v1/lineage/main.ml.daily?plain=true", tokens["alice"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["root"] == "main.ml.daily" and body["direction"] == "upstream"
    assert {n["name"] for n in body["nodes"]} == {"main.ml.daily", "main.ml.events"}
    assert [(e["source"], e["target"]) for e in body["edges"]] == [("main.ml.events", "main.ml.daily")]


def test_me_says_what_the_caller_may_administer(server, tokens):
    admin = call(server, "GET", "/api/v1/me", tokens["admin"]).json()
    assert admin["user"] == "admin" and admin["metastore_admin"] is True and admin["can_read_audit"] is True
    alice = call(server, "GET", "/api/v1/me", tokens["alice"]).json()
    assert alice["metastore_admin"] is False and alice["can_read_audit"] is False


def test_the_web_ui_is_served_without_a_token_and_holds_no_data(server):
    page = call(server, "GET", "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "main.ml" not in page.text  # the page asks the API for everything, with the user's token
    missing = call(server, "GET", "/ui/static/no-such-file.js")
    assert missing.status_code == 404


def test_experiments_are_listed_as_their_readers_may_see_them(remote, embedded):
    admin = catalog.tracking.Client(remote("admin"))
    admin.create_experiment("/Shared/open")
    admin.create_experiment("/Shared/closed")
    embedded("admin").sql("GRANT CAN READ ON EXPERIMENT `/Shared/open` TO alice")
    assert [e.name for e in admin.search_experiments()] == ["/Shared/closed", "/Shared/open"]
    assert [e.name for e in catalog.tracking.Client(remote("alice")).search_experiments()] == ["/Shared/open"]
    assert catalog.tracking.Client(remote("bob")).search_experiments() == []
