"""Policy files: export the live grants, read them with plain casbin, plan and apply edits."""

from __future__ import annotations

import casbin
import pytest

import catalog
from catalog.authz.casbin_model import model_path

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client


def _grants(cat, on="SCHEMA main.ml"):
    frame = cat.sql(f"SHOW GRANTS ON {on}")
    return sorted(map(tuple, frame[["principal", "action_type", "object_key"]].values.tolist()))


def _body(text: str) -> list[str]:
    """Policy lines without the comment header (which carries a timestamp)."""
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_export_lists_grants_owners_and_groups(world):
    text = world["admin"].policy.export()
    lines = _body(text)
    for expected in (
        "p, admin, metastore, OWN",
        "p, admin, catalog:main, OWN",
        "p, analysts, catalog:main, USE CATALOG",
        "p, analysts, schema:main.ml, USE SCHEMA",
        "p, analysts, schema:main.ml, SELECT",
        "p, admin, table:main.ml.churn_features, OWN",
        "g, alice, analysts",
        "g, bob, account users",
        "g2, table:main.ml.churn_features, schema:main.ml",
        "g2, catalog:main, metastore",
    ):
        assert expected in lines


@pytest.mark.embedded_only  # compares with the engine's own authorizer
def test_exported_file_is_a_casbin_policy_that_decides_like_the_engine(world, tmp_path):
    admin = world["admin"]
    admin.sql("CREATE TABLE main.ml.secret AS SELECT 1 AS x")
    admin.sql("GRANT MODIFY ON TABLE main.ml.secret TO bob")
    path = tmp_path / "grants.csv"
    path.write_text(admin.policy.export())
    enforcer = casbin.Enforcer(str(model_path()), str(path))
    snapshot, authorizer = admin.session.engine.state()
    from catalog.securables import GRANTABLE, Privilege

    checked = 0
    for user in ("admin", "alice", "bob"):
        for securable in snapshot.by_id.values():
            for privilege in sorted(GRANTABLE[securable.type] | {Privilege.MANAGE}):
                expected = authorizer.decide(user, securable, privilege).allowed
                assert enforcer.enforce(user, securable.policy_key, privilege.value) == expected
                checked += 1
    assert checked > 100


def test_plan_of_the_export_is_empty(world):
    admin = world["admin"]
    assert admin.policy.plan(admin.policy.export()) == []


def test_plan_and_apply_an_edit(world):
    admin, alice, bob = world["admin"], world["alice"], world["bob"]
    text = admin.policy.export()
    edited = (
        text.replace("p, analysts, schema:main.ml, SELECT\n", "")
        .replace("g, alice, analysts\n", "g, alice, analysts\ng, bob, analysts\n")
        .replace("p, admin, table:main.ml.churn_features, OWN", "p, alice, table:main.ml.churn_features, OWN")
        + "p, bob, table:main.ml.churn_features, SELECT\n"
    )
    planned = admin.policy.plan(edited)
    assert planned == [
        "ALTER GROUP analysts ADD USER bob",
        "GRANT SELECT ON TABLE main.ml.churn_features TO bob",
        "ALTER TABLE main.ml.churn_features OWNER TO alice",
        "REVOKE SELECT ON SCHEMA main.ml FROM analysts",
    ]
    assert admin.policy.apply(edited) == planned
    assert admin.policy.plan(edited) == []
    assert bob.sql("SELECT count(*) AS n FROM main.ml.churn_features")["n"].tolist() == [4]
    assert alice.sql("SELECT count(*) AS n FROM main.ml.churn_features")["n"].tolist() == [4]  # as owner
    admin.sql("CREATE TABLE main.ml.other AS SELECT 1 AS x")
    with pytest.raises(catalog.PermissionDenied):
        alice.sql("SELECT * FROM main.ml.other")  # the schema-wide SELECT is gone
    audit = admin.sql("SELECT response FROM system.access.audit WHERE action_name = 'applyPolicy'")
    assert "GRANT SELECT ON TABLE main.ml.churn_features TO bob" in audit["response"][0]["result"]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("p, nobody, catalog:main, SELECT", "unknown principal 'nobody'"),
        ("p, analysts, catalog:nope, SELECT", "unknown securable 'catalog:nope'"),
        ("p, analysts, catalog:main, SELEC", "unknown privilege 'SELEC'"),
        ("p, analysts, table:main.ml.churn_features, USE CATALOG", "cannot be granted on a table"),
        ("p, analysts, catalog:main", "non-empty fields"),
        ("q, a, b, c", "unknown line type 'q'"),
        ("g, alice, bob", "'bob' is a user, not a group"),
        ("g2, table:main.ml.nope, schema:main.ml", "unknown securable"),
    ],
)
def test_bad_lines_are_refused_with_their_number_and_nothing_changes(world, line, problem):
    admin = world["admin"]
    before = _body(admin.policy.export())
    text = admin.policy.export() + line + "\n"
    number = len(text.splitlines())
    with pytest.raises(catalog.PolicyError) as error:
        admin.policy.apply(text)
    assert error.value.error_code == "INVALID_POLICY_FILE"
    assert f"line {number}: " in error.value.message and problem in error.value.message
    assert _body(admin.policy.export()) == before


def test_every_bad_line_is_listed(world):
    admin = world["admin"]
    text = "p, nobody, catalog:main, SELECT\n# fine\np, analysts, catalog:main, NOPE\n"
    with pytest.raises(catalog.PolicyError) as error:
        admin.policy.plan(text)
    assert "line 1:" in error.value.message and "line 3:" in error.value.message


def test_apply_is_all_or_nothing(world):
    """A statement that fails while applying (a group cycle) rolls back the whole file."""
    admin = world["admin"]
    admin.sql("CREATE GROUP g1")
    admin.sql("CREATE GROUP g2")
    before = _body(admin.policy.export())
    text = admin.policy.export() + "g, g1, g2\ng, g2, g1\np, bob, catalog:main, USE CATALOG\n"
    with pytest.raises(catalog.InvalidRequest) as error:
        admin.policy.apply(text)
    assert error.value.error_code == "GROUP_CYCLE"
    assert _body(admin.policy.export()) == before


def test_only_admins_handle_policy_files(world):
    alice = world["alice"]
    for call in (alice.policy.export, lambda: alice.policy.plan(""), lambda: alice.policy.apply("")):
        with pytest.raises(catalog.PermissionDenied):
            call()


def test_metastore_admin_cannot_change_through_a_file(world):
    admin = world["admin"]
    text = admin.policy.export().replace("p, admin, metastore, OWN", "p, alice, metastore, OWN")
    with pytest.raises(catalog.PolicyError):
        admin.policy.plan(text)
