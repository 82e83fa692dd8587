"""Fuzzing the server through its own OpenAPI description (schemathesis): whatever a client
sends, with the admin's token or with none, the answer is never a 5xx. Every error a client can
cause is a 4xx JSON body; a 500 is a bug in the server.

Each operation gets a bounded, derandomized set of examples, so the run is repeatable and short.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from conftest import build_home
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from servers import ThreadServer

from catalog.server import create_app

WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.ml",
    "CREATE TABLE main.ml.events (id INT, v INT)",
    "INSERT INTO main.ml.events VALUES (1, 10), (2, 20)",
    "CREATE TABLE main.ml.daily AS SELECT id, v FROM main.ml.events",
    "CREATE USER alice",
    "GRANT USE CATALOG ON CATALOG main TO alice",
)

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    home: Path = build_home(tmp_path_factory.mktemp("fuzz"), WORLD)
    server = ThreadServer(home)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin_headers(fuzzed_server: ThreadServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {fuzzed_server.token('admin')}"}


# The description the server serves at /openapi.json (checked below), read from the app itself:
# schemathesis.pytest.from_fixture, which would load it from the running server, fails under
# pytest 9 (it sets Node._nodeid, which pytest 9 no longer has).
schema = schemathesis.openapi.from_dict(create_app(Path("unused-home")).openapi())


def test_the_fuzzed_description_is_the_served_one(fuzzed_server):
    served = requests.get(fuzzed_server.url + "/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == schema.raw_schema


@schema.parametrize()
@FUZZ
def test_no_request_as_the_admin_gets_a_server_error(case, fuzzed_server, admin_headers):
    case.call_and_validate(base_url=fuzzed_server.url, headers=admin_headers, checks=[not_a_server_error])


@schema.parametrize()
@FUZZ
def test_no_request_without_a_token_gets_a_server_error(case, fuzzed_server):
    case.call_and_validate(base_url=fuzzed_server.url, checks=[not_a_server_error])
