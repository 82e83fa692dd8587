"""Shared fixtures: real catalog homes on disk (DuckDB files), real users, real grants."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from servers import ThreadServer

import catalog
from catalog.api import Catalog


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh, not yet created, catalog home folder."""
    return tmp_path / "home"


# Modules whose tests must hold for both kinds of connection set ``BOTH_BACKENDS = True``: each
# of their tests that connects runs once embedded and once through a real server.
BACKENDS = ("embedded", "remote")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (
        getattr(metafunc.module, "BOTH_BACKENDS", False)
        and "backend" in metafunc.fixturenames
        and metafunc.definition.get_closest_marker("embedded_only") is None
    ):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """How ``connect`` reaches the home: in process, or through a real server over HTTP."""
    return getattr(request, "param", "embedded")


@pytest.fixture
def connect(home: Path, backend: str) -> Iterator[Callable[[str], Catalog]]:
    """Open connections to ``home`` as any user; all are closed at the end of the test.

    With the ``remote`` backend, the first connection starts a catalog server on the home (its
    user becomes the metastore admin of a new home) and each user connects with a token."""
    opened: list[Catalog] = []
    servers: list[ThreadServer] = []

    def open_as(user: str) -> Catalog:
        if backend == "embedded":
            cat = catalog.connect(home, user=user)
        else:
            if not servers:
                servers.append(ThreadServer(home, admin=user))
            cat = catalog.connect(servers[0].url, token=servers[0].token(user))
        opened.append(cat)
        return cat

    yield open_as
    for cat in reversed(opened):
        cat.close()
    for server in servers:
        server.stop()


@pytest.fixture
def tracking_state(connect: Callable[[str], Catalog]) -> Iterator[None]:
    """No active experiment or run before or after a test (tracking state is per thread). Depends
    on ``connect`` so that runs a test leaves active are ended while their connection is open.
    Modules that track use it with ``pytestmark = pytest.mark.usefixtures("tracking_state")``."""
    from catalog import tracking

    tracking._state.runs.clear()
    tracking._state.experiment_id = None
    yield
    while tracking.active_run() is not None:
        tracking.end_run()
    tracking._state.experiment_id = None


@pytest.fixture
def admin(connect: Callable[[str], Catalog]) -> Catalog:
    """The metastore admin of a new home (the user who creates it)."""
    return connect("admin")


def churn_features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "tenure_months": [3, 14, 40, 7],
            "avg_session_minutes": [12.5, 30.0, 8.25, 55.0],
            "churned": [1, 0, 0, 1],
        }
    )


@pytest.fixture
def world(admin: Catalog, connect: Callable[[str], Catalog]) -> dict[str, Catalog]:
    """The issue's story: catalog main, schema main.ml with a table, alice in analysts, bob outside.

    analysts hold USE CATALOG on main and USE SCHEMA + SELECT on main.ml.
    """
    admin.sql("CREATE CATALOG main")
    admin.sql("CREATE SCHEMA main.ml COMMENT 'churn work'")
    admin.create_table("main.ml.churn_features", churn_features())
    for statement in (
        "CREATE USER alice",
        "CREATE USER bob",
        "CREATE GROUP analysts",
        "ALTER GROUP analysts ADD USER alice",
        "GRANT USE CATALOG ON CATALOG main TO analysts",
        "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO analysts",
    ):
        admin.sql(statement)
    return {"admin": admin, "alice": connect("alice"), "bob": connect("bob")}


def build_home(folder: Path, statements: Iterable[str]) -> Path:
    """A home at ``folder/home`` made by running ``statements`` as its admin: a template that
    session-scoped fixtures build once and tests copy (``copy_home``)."""
    path = folder / "home"
    builder = catalog.connect(path, user="admin")
    try:
        for statement in statements:
            builder.sql(statement)
    finally:
        builder.close()
    return path


def copy_home(template: Path, tmp_path: Path) -> Path:
    """A fresh, private copy of a template home for one test."""
    path = tmp_path / "home"
    shutil.copytree(template, path)
    return path
