"""Catalog homes: creation, reopening, users, several connections and threads at once."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

import catalog


def test_whoever_creates_a_home_is_its_metastore_admin(home):
    with catalog.connect(home, user="Dana") as cat:
        assert cat.user == "dana"
        cat.sql("CREATE CATALOG main")
        grants = cat.sql("SHOW GRANTS ON METASTORE")
    assert grants.values.tolist() == [["dana", "OWN", "METASTORE", ""]]


def test_default_user_is_the_admin_then_the_environment(home, monkeypatch):
    with catalog.connect(home, user="admin") as cat:
        cat.sql("CREATE USER alice")
    with catalog.connect(home) as cat:
        assert cat.user == "admin"
    monkeypatch.setenv("CATALOG_USER", "alice")
    with catalog.connect(home) as cat:
        assert cat.user == "alice"


def test_home_defaults_to_the_environment_variable(home, monkeypatch):
    monkeypatch.setenv("CATALOG_HOME", str(home))
    with catalog.connect(user="admin") as cat:
        cat.sql("CREATE CATALOG envcat")
    with catalog.connect(home) as cat:
        assert "envcat" in cat.sql("SHOW CATALOGS")["catalog"].tolist()


def test_a_new_home_without_a_user_gets_admin(home):
    with catalog.connect(home) as cat:
        assert cat.user == "admin"


def test_unknown_user_is_refused(home):
    catalog.connect(home, user="admin").close()
    with pytest.raises(catalog.NotFound) as error:
        catalog.connect(home, user="mallory")
    assert error.value.error_code == "PRINCIPAL_DOES_NOT_EXIST"
    assert "CREATE USER `mallory`" in error.value.message


def test_everything_survives_a_reopen(home):
    with catalog.connect(home, user="admin") as cat:
        cat.sql("CREATE CATALOG main")
        cat.create_table("main.default.t", pd.DataFrame({"x": [1, 2]}), comment="kept")
        cat.sql("CREATE USER alice")
        cat.sql("GRANT USE CATALOG ON CATALOG main TO alice")
        cat.sql("GRANT USE SCHEMA, SELECT ON SCHEMA main.default TO alice")
    with catalog.connect(home, user="alice") as cat:
        assert cat.read_table("main.default.t")["x"].tolist() == [1, 2]
    with catalog.connect(home, user="admin") as cat:
        actions = cat.sql("SELECT action_name FROM system.access.audit")["action_name"].tolist()
        assert actions.count("updatePermissions") == 2 and "createTable" in actions
        comment = cat.sql("SELECT comment FROM system.information_schema.tables WHERE table_name = 't'")
        assert comment["comment"].tolist() == ["kept"]


def test_connections_as_different_users_side_by_side(world):
    admin, alice, bob = world["admin"], world["alice"], world["bob"]
    admin.sql("CREATE TABLE main.ml.fresh AS SELECT 42 AS answer")
    assert alice.sql("SELECT answer FROM main.ml.fresh")["answer"].tolist() == [42]
    admin.sql("REVOKE SELECT ON SCHEMA main.ml FROM analysts")
    with pytest.raises(catalog.PermissionDenied):
        alice.sql("SELECT answer FROM main.ml.fresh")
    with pytest.raises(catalog.PermissionDenied):
        bob.sql("SELECT answer FROM main.ml.fresh")


def test_threads_write_and_read_concurrently(world, home):
    admin = world["admin"]
    admin.sql("CREATE TABLE main.ml.events (worker INT, n INT)")
    admin.sql("GRANT MODIFY ON TABLE main.ml.events TO analysts")
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            with catalog.connect(home, user="alice") as cat:
                for n in range(10):
                    cat.sql("INSERT INTO main.ml.events VALUES (?, ?)", [worker, n])
                    cat.sql("SELECT count(*) FROM main.ml.events")
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    counts = admin.sql("SELECT worker, count(*) AS n FROM main.ml.events GROUP BY worker ORDER BY worker")
    assert counts["n"].tolist() == [10] * 8


def test_closed_connection_refuses_work(home):
    cat = catalog.connect(home, user="admin")
    cat.close()
    cat.close()  # closing twice is harmless
    with pytest.raises(catalog.CatalogError) as error:
        cat.sql("SHOW CATALOGS")
    assert error.value.error_code == "CONNECTION_CLOSED"


def test_a_url_is_a_server_and_needs_a_token(tmp_path, monkeypatch):
    monkeypatch.delenv("CATALOG_TOKEN", raising=False)
    with pytest.raises(catalog.Unauthenticated, match="needs a token"):
        catalog.connect("http://127.0.0.1:8080")


def test_a_url_nobody_answers_says_so(tmp_path):
    from servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(catalog.ServerUnavailable, match="catalog server"):
        catalog.connect(url, token="cat_x")


def test_other_url_schemes_are_refused(tmp_path):
    with pytest.raises(catalog.InvalidRequest, match="not a catalog server URL"):
        catalog.connect("ftp://example.com/home", token="cat_x")


def test_a_file_is_not_a_home(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(catalog.InvalidRequest):
        catalog.connect(path, user="admin")
