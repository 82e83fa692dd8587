"""SELECT over tables, views and system tables: joins, CTEs, subqueries, set operations, windows,
qualified columns, struct fields, session functions, dynamic views and view ownership.

Read-only queries share one module-scoped home; tests that change grants or drop tables get a
copy of a prepared home of their own.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

import catalog
from catalog.api import Catalog

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client


def rows(frame: pd.DataFrame) -> list[list]:
    """The frame's rows as plain lists, with missing values as None."""
    return [[None if _missing(v) else v for v in row] for row in frame.astype(object).values.tolist()]


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def refused(cat: Catalog, statement: str, params=None) -> catalog.CatalogError:
    with pytest.raises(catalog.CatalogError) as raised:
        cat.sql(statement, params)
    return raised.value


WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.ml",
    "CREATE SCHEMA main.other",
    "CREATE TABLE main.ml.churn_features AS SELECT * FROM VALUES "
    "(1, 3, 12.5, 1), (2, 14, 30.0, 0), (3, 40, 8.25, 0), (4, 7, 55.0, 1) "
    "AS v(customer_id, tenure_months, avg_session_minutes, churned)",
    "CREATE TABLE main.ml.customers AS SELECT * FROM VALUES "
    "(1, 'ann', 'eu'), (2, 'ben', 'us'), (3, 'cy', 'eu'), (4, 'di', 'us'), (5, 'eve', 'apac') "
    "AS v(customer_id, name, region_id)",
    "CREATE TABLE main.ml.regions AS SELECT * FROM VALUES ('eu', 'Europe'), ('us', 'America') "
    "AS v(region_id, region_name)",
    # The same table name in another schema, with other columns.
    "CREATE TABLE main.other.churn_features AS SELECT * FROM VALUES (1, 0.9), (2, 0.1) AS v(customer_id, score)",
    "CREATE TABLE main.ml.people AS SELECT * FROM VALUES "
    "(1, 'alice', '111-11'), (2, 'bob', '222-22'), (3, 'alice', '333-33'), (4, 'carol', '444-44') "
    "AS v(id, owner_name, ssn)",
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE USER carol",
    "CREATE USER dave",
    "CREATE GROUP analysts",
    "CREATE GROUP data_eng",
    "ALTER GROUP data_eng ADD USER carol",
    "ALTER GROUP analysts ADD USER alice, GROUP data_eng",
    "GRANT USE CATALOG ON CATALOG main TO `account users`",
    "GRANT USE SCHEMA ON SCHEMA main.ml TO `account users`",
    # Dynamic views, Unity Catalog style: the same text, different rows and values per reader.
    "CREATE VIEW main.ml.mine AS SELECT * FROM main.ml.people WHERE owner_name = current_user()",
    "CREATE VIEW main.ml.masked AS SELECT id, owner_name, "
    "CASE WHEN is_account_group_member('analysts') THEN ssn ELSE '***' END AS ssn FROM main.ml.people",
    "CREATE VIEW main.ml.mine_masked AS SELECT m.id, k.ssn FROM main.ml.mine m JOIN main.ml.masked k ON m.id = k.id",
    "CREATE VIEW main.ml.whoami AS SELECT current_user() AS u, is_account_group_member('analysts') AS analyst, "
    "is_account_group_member('data_eng') AS engineer",
    "GRANT SELECT ON VIEW main.ml.mine TO alice, bob, carol",
    "GRANT SELECT ON VIEW main.ml.masked TO alice, bob, carol",
    "GRANT SELECT ON VIEW main.ml.mine_masked TO alice, bob, carol",
    "GRANT SELECT ON VIEW main.ml.whoami TO alice, bob, carol",
    # Plain views and views over views.
    "CREATE VIEW main.ml.churn_summary AS SELECT churned, count(*) AS n FROM main.ml.churn_features GROUP BY churned",
    "CREATE VIEW main.ml.summary_total AS SELECT sum(n) AS total FROM main.ml.churn_summary",
    "CREATE VIEW main.ml.summary_total_twice AS SELECT total * 2 AS twice FROM main.ml.summary_total",
)


@pytest.fixture(scope="session")
def world_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world above, built once; tests read it or copy it."""
    path = tmp_path_factory.mktemp("queries") / "home"
    admin = catalog.connect(path, user="admin")
    try:
        for statement in WORLD:
            admin.sql(statement)
    finally:
        admin.close()
    return path


@pytest.fixture
def home(tmp_path: Path, world_home: Path) -> Path:
    """Overrides conftest's ``home``: a private copy of the world (a real DuckDB file) per test."""
    path = tmp_path / "home"
    shutil.copytree(world_home, path)
    return path


@pytest.fixture(scope="module")
def users(world_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Catalog]]:
    """Read-only connections to one shared copy of the world; admin's works in main.ml."""
    path = tmp_path_factory.mktemp("shared") / "home"
    shutil.copytree(world_home, path)
    opened = {name: catalog.connect(path, user=name) for name in ("admin", "alice", "bob", "carol", "dave")}
    opened["admin"].sql("USE SCHEMA main.ml")
    yield opened
    for cat in opened.values():
        cat.close()


@pytest.fixture
def cat(users: dict[str, Catalog]) -> Catalog:
    return users["admin"]


# -- query features ----------------------------------------------------------------------------

QUERIES = [
    # joins
    (
        "SELECT c.name, r.region_name, f.churned FROM main.ml.customers c "
        "JOIN main.ml.regions r ON c.region_id = r.region_id "
        "JOIN main.ml.churn_features f ON f.customer_id = c.customer_id ORDER BY c.name",
        ["name", "region_name", "churned"],
        [["ann", "Europe", 1], ["ben", "America", 0], ["cy", "Europe", 0], ["di", "America", 1]],
    ),
    (
        "SELECT c.name, r.region_name FROM customers c LEFT JOIN regions r ON c.region_id = r.region_id "
        "WHERE c.customer_id >= 4 ORDER BY c.name",
        ["name", "region_name"],
        [["di", "America"], ["eve", None]],
    ),
    (
        "SELECT name, region_name FROM main.ml.customers JOIN main.ml.regions USING (region_id) "
        "WHERE customer_id <= 2 ORDER BY name",
        ["name", "region_name"],
        [["ann", "Europe"], ["ben", "America"]],
    ),
    (
        "SELECT a.name AS first, b.name AS second FROM customers a JOIN customers b "
        "ON a.region_id = b.region_id AND a.customer_id < b.customer_id ORDER BY 1",
        ["first", "second"],
        [["ann", "cy"], ["ben", "di"]],
    ),
    # CTEs
    ("WITH churn_features AS (SELECT 1 AS x) SELECT * FROM churn_features", ["x"], [[1]]),
    ("SELECT count(*) AS n FROM churn_features", ["n"], [[4]]),
    (
        "WITH churn_features AS (SELECT * FROM churn_features WHERE churned = 1) "
        "SELECT count(*) AS n FROM churn_features",
        ["n"],
        [[2]],
    ),
    (
        "SELECT count(*) AS n FROM churn_features WHERE customer_id IN "
        "(WITH churn_features AS (SELECT 3 AS customer_id) SELECT customer_id FROM churn_features)",
        ["n"],
        [[1]],
    ),
    (
        "WITH churned AS (SELECT customer_id FROM main.ml.churn_features WHERE churned = 1), "
        "named AS (SELECT c.name FROM churned JOIN main.ml.customers c USING (customer_id)) "
        "SELECT name FROM named ORDER BY name",
        ["name"],
        [["ann"], ["di"]],
    ),
    (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT sum(i) AS s FROM n",
        ["s"],
        [[15]],
    ),
    (
        "WITH RECURSIVE months(m) AS (SELECT 0 UNION ALL SELECT m + 12 FROM months WHERE m < 36) "
        "SELECT m, (SELECT count(*) FROM main.ml.churn_features WHERE tenure_months >= m) AS n "
        "FROM months ORDER BY m",
        ["m", "n"],
        [[0, 4], [12, 2], [24, 1], [36, 1]],
    ),
    # subqueries
    (
        "SELECT name FROM main.ml.customers WHERE customer_id IN "
        "(SELECT customer_id FROM main.ml.churn_features WHERE churned = 1) ORDER BY name",
        ["name"],
        [["ann"], ["di"]],
    ),
    (
        "SELECT name FROM main.ml.customers WHERE customer_id NOT IN "
        "(SELECT customer_id FROM main.ml.churn_features) ORDER BY name",
        ["name"],
        [["eve"]],
    ),
    (
        "SELECT c.name, (SELECT f.tenure_months FROM main.ml.churn_features f "
        "WHERE f.customer_id = c.customer_id) AS tenure FROM main.ml.customers c WHERE c.customer_id < 3 ORDER BY 1",
        ["name", "tenure"],
        [["ann", 3], ["ben", 14]],
    ),
    (
        "SELECT customer_id FROM main.ml.churn_features f WHERE EXISTS "
        "(SELECT 1 FROM main.ml.customers c WHERE c.customer_id = f.customer_id AND c.region_id = 'eu') ORDER BY 1",
        ["customer_id"],
        [[1], [3]],
    ),
    (
        "SELECT max(t) AS longest FROM (SELECT tenure_months AS t FROM main.ml.churn_features) AS s",
        ["longest"],
        [[40]],
    ),
    # set operations
    (
        "SELECT customer_id FROM main.ml.churn_features UNION SELECT customer_id FROM main.ml.customers ORDER BY 1",
        ["customer_id"],
        [[1], [2], [3], [4], [5]],
    ),
    (
        "SELECT count(*) AS n FROM (SELECT customer_id FROM main.ml.churn_features "
        "UNION ALL SELECT customer_id FROM main.ml.customers)",
        ["n"],
        [[9]],
    ),
    (
        "SELECT customer_id FROM main.ml.churn_features WHERE churned = 1 "
        "INTERSECT SELECT customer_id FROM main.ml.customers WHERE region_id = 'us'",
        ["customer_id"],
        [[4]],
    ),
    (
        "SELECT customer_id FROM main.ml.customers EXCEPT SELECT customer_id FROM main.ml.churn_features",
        ["customer_id"],
        [[5]],
    ),
    (
        "SELECT customer_id FROM main.ml.churn_features WHERE churned = 0 "
        "UNION SELECT customer_id FROM main.other.churn_features ORDER BY 1",
        ["customer_id"],
        [[1], [2], [3]],
    ),
    # window functions
    (
        "SELECT customer_id, row_number() OVER (ORDER BY tenure_months DESC) AS rn, "
        "sum(churned) OVER (ORDER BY customer_id) AS running FROM main.ml.churn_features ORDER BY customer_id",
        ["customer_id", "rn", "running"],
        [[1, 4, 1], [2, 2, 1], [3, 1, 1], [4, 3, 2]],
    ),
    (
        "SELECT c.name, rank() OVER (PARTITION BY c.region_id ORDER BY f.tenure_months DESC) AS r "
        "FROM main.ml.customers c JOIN main.ml.churn_features f USING (customer_id) ORDER BY c.name",
        ["name", "r"],
        [["ann", 2], ["ben", 1], ["cy", 1], ["di", 2]],
    ),
    (
        "SELECT customer_id, lag(tenure_months) OVER (ORDER BY customer_id) AS previous "
        "FROM main.ml.churn_features ORDER BY customer_id",
        ["customer_id", "previous"],
        [[1, None], [2, 3], [3, 14], [4, 40]],
    ),
    (
        "SELECT customer_id FROM main.ml.churn_features QUALIFY row_number() OVER (ORDER BY tenure_months) = 1",
        ["customer_id"],
        [[1]],
    ),
    # grouping, ordering, limits
    (
        "SELECT region_id, count(*) AS n FROM main.ml.customers GROUP BY region_id HAVING count(*) > 1 "
        "ORDER BY region_id",
        ["region_id", "n"],
        [["eu", 2], ["us", 2]],
    ),
    (
        "SELECT churned, avg(tenure_months) AS t FROM main.ml.churn_features GROUP BY churned ORDER BY t DESC LIMIT 1",
        ["churned", "t"],
        [[0, 27.0]],
    ),
    (
        "SELECT region_id, count(DISTINCT customer_id) AS n FROM main.ml.customers GROUP BY ALL ORDER BY n DESC, 1",
        ["region_id", "n"],
        [["eu", 2], ["us", 2], ["apac", 1]],
    ),
    (
        "SELECT name FROM main.ml.customers ORDER BY name DESC LIMIT 2 OFFSET 1",
        ["name"],
        [["di"], ["cy"]],
    ),
    # qualified column references
    ("SELECT churn_features.customer_id FROM main.ml.churn_features ORDER BY 1 LIMIT 1", ["customer_id"], [[1]]),
    ("SELECT ml.churn_features.customer_id FROM main.ml.churn_features ORDER BY 1 LIMIT 1", ["customer_id"], [[1]]),
    (
        "SELECT main.ml.churn_features.customer_id FROM main.ml.churn_features ORDER BY 1 LIMIT 1",
        ["customer_id"],
        [[1]],
    ),
    ("SELECT ml.churn_features.customer_id FROM churn_features ORDER BY 1 LIMIT 1", ["customer_id"], [[1]]),
    (
        "SELECT main.ml.customers.name, main.ml.regions.region_name FROM main.ml.customers "
        "JOIN main.ml.regions ON main.ml.customers.region_id = main.ml.regions.region_id "
        "WHERE main.ml.customers.customer_id = 1",
        ["name", "region_name"],
        [["ann", "Europe"]],
    ),
    (
        # The same table name in two schemas, told apart by schema.table.column.
        "SELECT ml.churn_features.churned, other.churn_features.score FROM main.ml.churn_features "
        "JOIN main.other.churn_features ON ml.churn_features.customer_id = other.churn_features.customer_id "
        "ORDER BY other.churn_features.score",
        ["churned", "score"],
        [[0, 0.1], [1, 0.9]],
    ),
    # system tables and struct fields
    (
        "SELECT response.status_code AS status, user_identity.email AS email "
        "FROM system.access.audit WHERE action_name = 'createCatalog'",
        ["status", "email"],
        [[200, "admin"]],
    ),
    (
        "SELECT a.response.status_code AS status FROM system.access.audit a "
        "WHERE a.action_name = 'createSchema' ORDER BY a.event_time",
        ["status"],
        [[200], [200]],
    ),
    (
        "SELECT count(*) AS n FROM system.access.audit WHERE response.status_code = 200 "
        "AND action_name = 'createView' AND request_params['commandText'] LIKE 'CREATE VIEW main.ml.mine AS %'",
        ["n"],
        [[1]],
    ),
    (
        "SELECT table_name FROM system.information_schema.tables "
        "WHERE table_schema = 'ml' AND table_type = 'VIEW' ORDER BY 1",
        ["table_name"],
        [
            ["churn_summary"],
            ["masked"],
            ["mine"],
            ["mine_masked"],
            ["summary_total"],
            ["summary_total_twice"],
            ["whoami"],
        ],
    ),
    (
        "SELECT t.table_name, count(c.column_name) AS n FROM system.information_schema.tables t "
        "JOIN system.information_schema.columns c "
        "ON c.table_catalog = t.table_catalog AND c.table_schema = t.table_schema AND c.table_name = t.table_name "
        "WHERE t.table_catalog = 'main' AND t.table_schema = 'other' GROUP BY t.table_name",
        ["table_name", "n"],
        [["churn_features", 2]],
    ),
    # views
    ("SELECT churned, n FROM main.ml.churn_summary ORDER BY churned", ["churned", "n"], [[0, 2], [1, 2]]),
    ("SELECT total FROM main.ml.summary_total", ["total"], [[4]]),
    ("SELECT twice FROM main.ml.summary_total_twice", ["twice"], [[8]]),
    (
        "SELECT s.n, f.customer_id FROM main.ml.churn_summary s JOIN main.ml.churn_features f "
        "ON s.churned = f.churned WHERE f.customer_id = 1",
        ["n", "customer_id"],
        [[2, 1]],
    ),
    # session functions
    ("SELECT current_user() AS u", ["u"], [["admin"]]),
    ("SELECT current_catalog() AS c", ["c"], [["main"]]),
    ("SELECT current_schema() AS s", ["s"], [["ml"]]),
    ("SELECT current_database() AS s", ["s"], [["ml"]]),
]


@pytest.mark.parametrize(("query", "columns", "expected"), QUERIES, ids=[row[0][:90] for row in QUERIES])
def test_query(cat, query, columns, expected):
    frame = cat.sql(query)
    assert list(frame.columns) == columns
    assert rows(frame) == expected


@pytest.mark.parametrize(
    ("query", "params", "expected"),
    [
        (
            "SELECT customer_id FROM main.ml.churn_features WHERE tenure_months > ? AND churned = ? ORDER BY 1",
            [10, 0],
            [[2], [3]],
        ),
        (
            "SELECT customer_id FROM main.ml.churn_features WHERE tenure_months > :t OR customer_id = :t ORDER BY 1",
            {"t": 7},
            [[2], [3]],
        ),
        (
            "SELECT name FROM main.ml.customers WHERE region_id IN (?, ?) ORDER BY 1",
            ("us", "apac"),
            [["ben"], ["di"], ["eve"]],
        ),
        ("SELECT name FROM main.ml.customers ORDER BY name LIMIT ?", [2], [["ann"], ["ben"]]),
        ("SELECT count(*) AS n FROM main.ml.people WHERE ssn = ?", ["111-11' OR '1'='1"], [[0]]),
        (
            "SELECT ? AS d, ? AS flag, ? AS nothing",
            [dt.date(2024, 2, 29), True, None],
            [[pd.Timestamp("2024-02-29"), True, None]],
        ),
        ("SELECT :who AS who FROM main.ml.whoami", {"who": "param"}, [["param"]]),
        # Markers bind in the order they appear in the text, whatever the shape of the tree.
        (
            "SELECT customer_id FROM main.ml.churn_features "
            "WHERE tenure_months > ? AND churned = ? AND customer_id < ? ORDER BY 1",
            [10, 0, 3],
            [[2]],
        ),
        ("WITH c AS (SELECT ? AS a) SELECT a, ? AS b FROM c LIMIT ?", [1, "x", 5], [[1, "x"]]),
        (
            "SELECT CASE WHEN count(*) > ? THEN ? ELSE ? END AS size FROM main.ml.customers "
            "WHERE name IN (SELECT name FROM main.ml.customers WHERE name > ?) HAVING count(*) > ?",
            [1, "many", "few", "a", 0],
            [["many"]],
        ),
    ],
)
def test_query_parameters(cat, query, params, expected):
    assert rows(cat.sql(query, params)) == expected


def test_read_table_names_its_source(cat, users):
    table = cat.read_table("main.ml.churn_features")
    assert table.attrs["catalog_source"] == "main.ml.churn_features"
    assert table["customer_id"].tolist() == [1, 2, 3, 4]

    short = cat.read_table("customers")  # completed with the connection's current catalog and schema
    assert short.attrs["catalog_source"] == "main.ml.customers"
    assert len(short) == 5

    view = users["alice"].read_table("main.ml.mine")
    assert view.attrs["catalog_source"] == "main.ml.mine"
    assert view["id"].tolist() == [1, 3]

    system = cat.read_table("system.information_schema.catalogs")
    assert system.attrs["catalog_source"] == "system.information_schema.catalogs"
    assert sorted(system["catalog_name"]) == ["main", "system"]


# -- dynamic views -----------------------------------------------------------------------------

DYNAMIC = [
    ("alice", "SELECT id, owner_name FROM main.ml.mine ORDER BY id", [[1, "alice"], [3, "alice"]]),
    ("bob", "SELECT id, owner_name FROM main.ml.mine ORDER BY id", [[2, "bob"]]),
    ("carol", "SELECT id, owner_name FROM main.ml.mine ORDER BY id", [[4, "carol"]]),
    ("admin", "SELECT id, owner_name FROM main.ml.mine ORDER BY id", []),
    (
        "alice",
        "SELECT id, ssn FROM main.ml.masked ORDER BY id",
        [[1, "111-11"], [2, "222-22"], [3, "333-33"], [4, "444-44"]],
    ),
    ("bob", "SELECT id, ssn FROM main.ml.masked ORDER BY id", [[1, "***"], [2, "***"], [3, "***"], [4, "***"]]),
    # carol is in analysts through the group data_eng
    ("carol", "SELECT id, ssn FROM main.ml.masked WHERE id = 4", [[4, "444-44"]]),
    ("admin", "SELECT id, ssn FROM main.ml.masked WHERE id = 1", [[1, "***"]]),
    ("alice", "SELECT id, ssn FROM main.ml.mine_masked ORDER BY id", [[1, "111-11"], [3, "333-33"]]),
    ("bob", "SELECT id, ssn FROM main.ml.mine_masked ORDER BY id", [[2, "***"]]),
    ("carol", "SELECT id, ssn FROM main.ml.mine_masked ORDER BY id", [[4, "444-44"]]),
    ("alice", "SELECT * FROM main.ml.whoami", [["alice", True, False]]),
    ("bob", "SELECT * FROM main.ml.whoami", [["bob", False, False]]),
    ("carol", "SELECT * FROM main.ml.whoami", [["carol", True, True]]),
    ("bob", "SELECT count(*) AS n FROM main.ml.mine m JOIN main.ml.masked k ON m.id = k.id", [[1]]),
    ("alice", "WITH x AS (SELECT * FROM main.ml.mine) SELECT count(*) AS n FROM x", [[2]]),
    (
        "bob",
        "SELECT owner_name, count(*) AS n FROM main.ml.masked GROUP BY owner_name ORDER BY 1",
        [["alice", 2], ["bob", 1], ["carol", 1]],
    ),
]


@pytest.mark.parametrize(("user", "query", "expected"), DYNAMIC, ids=[f"{r[0]}: {r[1]}" for r in DYNAMIC])
def test_dynamic_views_show_each_reader_their_own_rows_and_values(users, user, query, expected):
    assert rows(users[user].sql(query)) == expected


@pytest.mark.parametrize(
    ("user", "query", "securable"),
    [
        ("alice", "SELECT * FROM main.ml.people", "main.ml.people"),
        ("bob", "SELECT * FROM main.ml.people WHERE id IN (SELECT id FROM main.ml.mine)", "main.ml.people"),
        ("dave", "SELECT * FROM main.ml.mine", "main.ml.mine"),
        ("dave", "SELECT * FROM main.ml.mine_masked", "main.ml.mine_masked"),
        ("alice", "SELECT * FROM main.ml.churn_summary", "main.ml.churn_summary"),
        ("alice", "SELECT * FROM main.ml.churn_features", "main.ml.churn_features"),
    ],
)
def test_readers_need_select_on_what_they_name(users, user, query, securable):
    error = refused(users[user], query)
    assert error.error_code == "PERMISSION_DENIED"
    assert securable in error.message
    assert user in error.message


# -- view ownership ----------------------------------------------------------------------------


@pytest.fixture
def owned_by_dave(connect: Callable[[str], Catalog]) -> dict[str, Catalog]:
    """dave (SELECT on main.ml.people, CREATE TABLE in main.ml) owns views over it; bob may read them."""
    admin = connect("admin")
    admin.sql("GRANT SELECT, CREATE TABLE ON SCHEMA main.ml TO dave")
    dave = connect("dave")
    dave.sql("CREATE VIEW main.ml.daves AS SELECT id, owner_name FROM main.ml.people")
    dave.sql("CREATE VIEW main.ml.daves_mine AS SELECT id FROM main.ml.people WHERE owner_name = current_user()")
    dave.sql("GRANT SELECT ON VIEW main.ml.daves TO bob")
    dave.sql("GRANT SELECT ON VIEW main.ml.daves_mine TO bob")
    return {"admin": admin, "dave": dave, "bob": connect("bob")}


def test_a_reader_with_select_on_a_view_reads_through_it_with_the_owners_rights(owned_by_dave):
    bob = owned_by_dave["bob"]
    assert bob.sql("SELECT id FROM main.ml.daves ORDER BY id")["id"].tolist() == [1, 2, 3, 4]
    # current_user() inside the owner's view still means the reader.
    assert bob.sql("SELECT id FROM main.ml.daves_mine")["id"].tolist() == [2]
    assert refused(bob, "SELECT * FROM main.ml.people").error_code == "PERMISSION_DENIED"


def test_readers_are_refused_once_the_view_owner_loses_select_on_the_base_table(owned_by_dave):
    admin, bob = owned_by_dave["admin"], owned_by_dave["bob"]
    admin.sql("REVOKE SELECT ON SCHEMA main.ml FROM dave")
    error = refused(bob, "SELECT * FROM main.ml.daves")
    assert error.error_code == "PERMISSION_DENIED"
    assert "main.ml.daves" in error.message and "dave" in error.message
    assert "main.ml.people" not in error.message  # the reader is not told what the view reads
    detail = refused(owned_by_dave["dave"], "SELECT * FROM main.ml.daves")
    assert "main.ml.people" in detail.message  # its owner is
    reasons = admin.sql(
        "SELECT decision_reasons FROM system.access.audit WHERE user_identity.email = 'bob' "
        "AND response.status_code = 403 ORDER BY event_time DESC LIMIT 1"
    )["decision_reasons"][0]
    assert any("SELECT" in r and "main.ml.people" in r for r in reasons)  # the audit says why
    # Granting the owner SELECT again restores the view for its readers.
    admin.sql("GRANT SELECT ON TABLE main.ml.people TO dave")
    assert bob.sql("SELECT count(*) AS n FROM main.ml.daves")["n"].tolist() == [4]


def test_the_refusal_through_a_view_names_the_view_the_reader_queried(owned_by_dave):
    admin, bob = owned_by_dave["admin"], owned_by_dave["bob"]
    admin.sql("REVOKE SELECT ON SCHEMA main.ml FROM dave")
    error = refused(bob, "SELECT * FROM main.ml.daves")
    assert error.error_code == "PERMISSION_DENIED"
    assert "main.ml.daves" in error.message


def test_a_new_view_owner_brings_their_own_rights(owned_by_dave):
    admin, bob = owned_by_dave["admin"], owned_by_dave["bob"]
    admin.sql("REVOKE SELECT ON SCHEMA main.ml FROM dave")
    assert refused(bob, "SELECT * FROM main.ml.daves").error_code == "PERMISSION_DENIED"
    admin.sql("ALTER VIEW main.ml.daves OWNER TO admin")
    assert bob.sql("SELECT count(*) AS n FROM main.ml.daves")["n"].tolist() == [4]


@pytest.mark.parametrize(
    ("change", "missing", "views"),
    [
        (
            "DROP TABLE main.ml.churn_features",
            "main.ml.churn_features",
            ["main.ml.churn_summary", "main.ml.summary_total", "main.ml.summary_total_twice"],
        ),
        (
            "ALTER TABLE main.ml.churn_features RENAME TO features_v2",
            "main.ml.churn_features",
            ["main.ml.churn_summary", "main.ml.summary_total", "main.ml.summary_total_twice"],
        ),
        (
            "DROP VIEW main.ml.churn_summary",
            "main.ml.churn_summary",
            ["main.ml.summary_total", "main.ml.summary_total_twice"],
        ),
    ],
)
def test_a_view_over_a_missing_table_is_not_found_and_names_the_view(connect, change, missing, views):
    admin = connect("admin")
    admin.sql(change)
    for view in views:
        error = refused(admin, f"SELECT * FROM {view}")
        assert error.error_code == "TABLE_OR_VIEW_NOT_FOUND"
        assert view in error.message
        assert missing in error.message
    # Views that do not read the missing object are unaffected.
    assert admin.sql("SELECT count(*) AS n FROM main.ml.masked")["n"].tolist() == [4]


def test_a_view_over_a_replaced_table_reads_the_new_rows(connect):
    admin = connect("admin")
    admin.sql("CREATE OR REPLACE TABLE main.ml.churn_features AS SELECT 9 AS customer_id, 1 AS churned")
    assert rows(admin.sql("SELECT churned, n FROM main.ml.churn_summary")) == [[1, 1]]
    assert admin.sql("SELECT twice FROM main.ml.summary_total_twice")["twice"].tolist() == [2]


def test_views_are_not_writable_through(connect):
    admin = connect("admin")
    error = refused(admin, "INSERT INTO main.ml.mine VALUES (9, 'admin', '999')")
    assert error.error_code == "EXPECT_TABLE_NOT_VIEW"
    assert admin.sql("SELECT count(*) AS n FROM main.ml.people")["n"].tolist() == [4]
