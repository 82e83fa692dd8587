"""The grant index answers exactly what casbin answers for policies/model.conf.

Random metastores (hierarchy, users, nested groups, owners, grants) are built as snapshots; for
every user, securable and applicable privilege, GrantIndex.decide must equal
casbin.Enforcer.enforce on the exported policy. Experiments (named by paths, with the permission
levels CAN READ < CAN EDIT < CAN MANAGE) hang under the metastore beside the catalogs.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.authz.casbin_model import build_enforcer
from catalog.authz.index import GrantIndex
from catalog.authz.policy import policy_of
from catalog.names import FullName
from catalog.securables import GRANTABLE, Privilege, Securable, SecurableType
from catalog.store.metastore import Grant
from catalog.store.snapshot import Snapshot

USERS = [f"u{i}" for i in range(4)]
GROUPS = [f"g{i}" for i in range(3)]
# Paths as users write them: spaces, dots and colons must not confuse keys or the matcher.
EXPERIMENT_PATHS = ["/Shared/churn", "/Users/u0/churn model", "/Shared/main.ml.t0", "/Shared/a:b"]
LEVELS = frozenset({Privilege.CAN_READ, Privilege.CAN_EDIT, Privilege.CAN_MANAGE})


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    principals = {**dict.fromkeys(USERS, "USER"), **dict.fromkeys(GROUPS, "GROUP")}
    owners = st.sampled_from(USERS + GROUPS)
    root = Securable("m", SecurableType.METASTORE, None, None, draw(owners))
    securables = [root]
    for c in range(draw(st.integers(1, 2))):
        catalog = Securable(f"c{c}", SecurableType.CATALOG, FullName.of(f"c{c}"), "m", draw(owners))
        securables.append(catalog)
        for s in range(draw(st.integers(1, 2))):
            schema_name = catalog.full_name.child(f"s{s}")
            schema = Securable(f"c{c}s{s}", SecurableType.SCHEMA, schema_name, catalog.id, draw(owners))
            securables.append(schema)
            for t in range(draw(st.integers(0, 2))):
                kind = draw(st.sampled_from([SecurableType.TABLE, SecurableType.VIEW]))
                securables.append(
                    Securable(f"{schema.id}t{t}", kind, schema_name.child(f"t{t}"), schema.id, draw(owners))
                )
    for e, path in enumerate(draw(st.lists(st.sampled_from(EXPERIMENT_PATHS), max_size=3, unique=True))):
        securables.append(Securable(f"e{e}", SecurableType.EXPERIMENT, None, "m", draw(owners), path=path))
    # Acyclic nesting: a group may only contain groups with a higher number.
    memberships = [(g, u) for g in GROUPS for u in USERS if draw(st.booleans())]
    memberships += [(GROUPS[i], GROUPS[j]) for i in range(3) for j in range(i + 1, 3) if draw(st.booleans())]
    grant_count = draw(st.integers(0, 14))
    grants = []
    for _ in range(grant_count):
        securable = draw(st.sampled_from(securables))
        privilege = draw(st.sampled_from(sorted(GRANTABLE[securable.type])))
        grantee = draw(st.sampled_from([*USERS, *GROUPS, "account users"]))
        grants.append(Grant(securable.id, grantee, privilege.value, "test"))
    return Snapshot.build(0, securables, principals, memberships, grants)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_index_matches_casbin(snapshot: Snapshot) -> None:
    index = GrantIndex(snapshot)
    enforcer = build_enforcer(policy_of(snapshot))
    for user in USERS:
        for securable in snapshot.by_id.values():
            # Every type is also asked for the experiment levels, so the implications between
            # them are compared where they must not apply too.
            for privilege in sorted(GRANTABLE[securable.type] | {Privilege.MANAGE} | LEVELS):
                ours = index.decide(user, securable, privilege).allowed
                theirs = enforcer.enforce(user, securable.policy_key, privilege.value)
                assert ours == theirs, (user, securable.policy_key, privilege.value)


def test_the_engine_runs_with_casbin_deciding(home, monkeypatch):
    """CATALOG_AUTHZ=casbin: every decision is casbin.Enforcer's, and the story behaves the same."""
    import pandas as pd

    import catalog

    monkeypatch.setenv("CATALOG_AUTHZ", "casbin")
    with catalog.connect(home, user="admin") as admin:
        admin.sql("CREATE CATALOG main")
        admin.create_table("main.default.t", pd.DataFrame({"x": [1, 2]}))
        admin.sql("CREATE USER alice")
        admin.sql("CREATE USER bob")
        admin.sql("CREATE GROUP analysts")
        admin.sql("ALTER GROUP analysts ADD USER alice")
        admin.sql("GRANT USE CATALOG ON CATALOG main TO analysts")
        admin.sql("GRANT USE SCHEMA, SELECT ON SCHEMA main.default TO analysts")
        with catalog.connect(home, user="alice") as alice:
            assert alice.sql("SELECT sum(x) AS s FROM main.default.t")["s"].tolist() == [3]
        with catalog.connect(home, user="bob") as bob, pytest.raises(catalog.PermissionDenied):
            bob.sql("SELECT * FROM main.default.t")
        reasons = admin.sql(
            "SELECT decision_reasons FROM system.access.audit WHERE user_identity.email = 'alice' "
            "AND action_name = 'executeQuery'"
        )["decision_reasons"][0]
        assert any("casbin matched p, analysts, schema:main.default, SELECT" in r for r in reasons)
