"""Random sequences of GRANT / REVOKE / ALTER GROUP / CREATE / DROP / OWNER TO, run as SQL on a
real home, against a small independent model of Unity Catalog's rules.

After every step, every (user, securable, privilege) decision of the engine must equal the
model's, and a sample of real reads must succeed or be refused accordingly.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import catalog
from catalog.securables import Privilege

USERS = ["u1", "u2", "u3"]
GROUPS = ["g1", "g2"]
ALL = "ALL PRIVILEGES"

# Which privileges each type accepts, written out here independently of catalog/securables.py.
APPLIES = {
    "METASTORE": {"CREATE CATALOG"},
    "CATALOG": {
        ALL,
        "BROWSE",
        "CREATE FUNCTION",
        "CREATE MODEL",
        "CREATE SCHEMA",
        "CREATE TABLE",
        "EXECUTE",
        "MANAGE",
        "MODIFY",
        "SELECT",
        "USE CATALOG",
        "USE SCHEMA",
    },
    "SCHEMA": {
        ALL,
        "CREATE FUNCTION",
        "CREATE MODEL",
        "CREATE TABLE",
        "EXECUTE",
        "MANAGE",
        "MODIFY",
        "SELECT",
        "USE SCHEMA",
    },
    "TABLE": {ALL, "MANAGE", "MODIFY", "SELECT"},
}


@dataclass
class Model:
    """The rules, stated plainly: groups nest, grants reach descendants, owners and admins."""

    admin: str = "admin"
    users: set[str] = field(default_factory=lambda: {"admin"})
    groups: set[str] = field(default_factory=set)
    members: dict[str, set[str]] = field(default_factory=dict)
    parent: dict[str, str] = field(default_factory=dict)  # object -> container ("" = metastore)
    kind: dict[str, str] = field(default_factory=lambda: {"": "METASTORE"})
    owner: dict[str, str] = field(default_factory=lambda: {"": "admin"})
    grants: set[tuple[str, str, str]] = field(default_factory=set)  # (principal, object, privilege)

    def memberships(self, principal: str) -> set[str]:
        found = {principal, "account users"}
        changed = True
        while changed:
            changed = False
            for group, members in self.members.items():
                if group not in found and members & found:
                    found.add(group)
                    changed = True
        return found

    def chain(self, obj: str) -> list[str]:
        chain = [obj]
        while chain[-1] != "":
            chain.append(self.parent[chain[-1]])
        return chain

    def allowed(self, user: str, obj: str, privilege: str) -> bool:
        mine = self.memberships(user)
        if self.owner[""] in mine:
            return True
        for holder in self.chain(obj):
            if self.owner[holder] in mine and (holder == obj or privilege == "MANAGE"):
                return True
            for principal in mine:
                if (principal, holder, privilege) in self.grants:
                    return True
                if privilege != "MANAGE" and (principal, holder, ALL) in self.grants:
                    return True
        return False

    def descendants(self, obj: str) -> list[str]:
        return [o for o in self.parent if obj in self.chain(o)[1:]]


class CatalogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.admin = catalog.connect(self.dir / "home", user="admin")
        self.model = Model()
        self.counter = 0

    def teardown(self) -> None:
        self.admin.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------
    def sql(self, statement: str) -> None:
        self.admin.sql(statement)

    def objects(self, *kinds: str) -> list[str]:
        return sorted(o for o, k in self.model.kind.items() if k in kinds and o)

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # -- principals ------------------------------------------------------------------------
    @rule(name=st.sampled_from(USERS + GROUPS))
    def create_principal(self, name: str) -> None:
        if name in self.model.users | self.model.groups:
            return
        kind = "USER" if name in USERS else "GROUP"
        self.sql(f"CREATE {kind} {name}")
        (self.model.users if kind == "USER" else self.model.groups).add(name)
        if kind == "GROUP":
            self.model.members[name] = set()

    @rule(data=st.data(), add=st.booleans())
    def alter_group(self, data: st.DataObject, add: bool) -> None:
        if not self.model.groups:
            return
        group = data.draw(st.sampled_from(sorted(self.model.groups)))
        candidates = sorted((self.model.users - {"admin"}) | self.model.groups)
        member = data.draw(st.sampled_from(candidates))
        kind = "GROUP" if member in self.model.groups else "USER"
        statement = f"ALTER GROUP {group} {'ADD' if add else 'REMOVE'} {kind} {member}"
        cycle = kind == "GROUP" and (member == group or member in self.model.memberships(group))
        if add and cycle:
            with pytest.raises(catalog.InvalidRequest):
                self.sql(statement)
            return
        self.sql(statement)
        if add:
            self.model.members[group].add(member)
        else:
            self.model.members[group].discard(member)

    # -- namespace -------------------------------------------------------------------------
    @rule()
    def create_catalog(self) -> None:
        name = self.fresh("c")
        self.sql(f"CREATE CATALOG {name}")
        for obj, container, kind in ((name, "", "CATALOG"), (f"{name}.default", name, "SCHEMA")):
            self.model.parent[obj], self.model.kind[obj], self.model.owner[obj] = container, kind, "admin"

    @precondition(lambda self: self.objects("CATALOG"))
    @rule(data=st.data())
    def create_schema(self, data: st.DataObject) -> None:
        container = data.draw(st.sampled_from(self.objects("CATALOG")))
        name = f"{container}.{self.fresh('s')}"
        self.sql(f"CREATE SCHEMA {name}")
        self.model.parent[name], self.model.kind[name], self.model.owner[name] = container, "SCHEMA", "admin"

    @precondition(lambda self: self.objects("SCHEMA"))
    @rule(data=st.data())
    def create_table(self, data: st.DataObject) -> None:
        container = data.draw(st.sampled_from(self.objects("SCHEMA")))
        name = f"{container}.{self.fresh('t')}"
        self.sql(f"CREATE TABLE {name} AS SELECT 1 AS x")
        self.model.parent[name], self.model.kind[name], self.model.owner[name] = container, "TABLE", "admin"

    @precondition(lambda self: self.objects("TABLE", "SCHEMA"))
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        obj = data.draw(st.sampled_from(self.objects("TABLE", "SCHEMA")))
        kind = self.model.kind[obj]
        self.sql(f"DROP {kind} {obj}{' CASCADE' if kind == 'SCHEMA' else ''}")
        for gone in [obj, *self.model.descendants(obj)]:
            del self.model.parent[gone], self.model.kind[gone], self.model.owner[gone]
            self.model.grants = {g for g in self.model.grants if g[1] != gone}

    @precondition(lambda self: self.objects("TABLE", "SCHEMA", "CATALOG"))
    @rule(data=st.data())
    def change_owner(self, data: st.DataObject) -> None:
        obj = data.draw(st.sampled_from(self.objects("TABLE", "SCHEMA", "CATALOG")))
        owner = data.draw(st.sampled_from(sorted(self.model.users | self.model.groups)))
        self.sql(f"ALTER {self.model.kind[obj]} {obj} OWNER TO {owner}")
        self.model.owner[obj] = owner

    # -- grants ----------------------------------------------------------------------------
    @precondition(lambda self: self.model.users - {"admin"} or self.model.groups)
    @rule(data=st.data(), revoke=st.booleans())
    def grant_or_revoke(self, data: st.DataObject, revoke: bool) -> None:
        obj = data.draw(st.sampled_from(["", *self.objects("TABLE", "SCHEMA", "CATALOG")]))
        kind = self.model.kind[obj]
        privilege = data.draw(st.sampled_from(sorted(APPLIES[kind])))
        principal = data.draw(st.sampled_from(sorted((self.model.users - {"admin"}) | self.model.groups)))
        target = "METASTORE" if kind == "METASTORE" else f"{kind} {obj}"
        if revoke:
            self.sql(f"REVOKE {privilege} ON {target} FROM {principal}")
            self.model.grants.discard((principal, obj, privilege))
        else:
            self.sql(f"GRANT {privilege} ON {target} TO {principal}")
            self.model.grants.add((principal, obj, privilege))

    @precondition(lambda self: self.objects("TABLE"))
    @rule(data=st.data())
    def inapplicable_grant_is_refused(self, data: st.DataObject) -> None:
        obj = data.draw(st.sampled_from(self.objects("TABLE")))
        with pytest.raises(catalog.InvalidRequest) as error:
            self.sql(f"GRANT USE CATALOG ON TABLE {obj} TO `account users`")
        assert error.value.error_code == "INVALID_PRIVILEGE"

    # -- the check -------------------------------------------------------------------------
    @invariant()
    def decisions_match_the_model(self) -> None:
        snapshot, authorizer = self.admin.session.engine.state()
        for user in sorted(self.model.users):
            for obj, kind in self.model.kind.items():
                securable = snapshot.metastore if obj == "" else snapshot.by_name[obj]
                for privilege in sorted(APPLIES[kind] | {"MANAGE"}):
                    expected = self.model.allowed(user, obj, privilege)
                    actual = authorizer.decide(user, securable, Privilege(privilege)).allowed
                    assert actual == expected, (user, obj, privilege)

    @invariant()
    def reads_follow_the_decisions(self) -> None:
        tables = self.objects("TABLE")
        if not tables:
            return
        table = tables[-1]
        catalog_name, schema_name = table.split(".")[0], ".".join(table.split(".")[:2])
        for user in sorted(self.model.users - {"admin"}):
            expected = (
                self.model.allowed(user, catalog_name, "USE CATALOG")
                and self.model.allowed(user, schema_name, "USE SCHEMA")
                and self.model.allowed(user, table, "SELECT")
            )
            with catalog.connect(self.dir / "home", user=user) as cat:
                if expected:
                    assert cat.sql(f"SELECT x FROM {table}")["x"].tolist() == [1]
                else:
                    with pytest.raises(catalog.PermissionDenied):
                        cat.sql(f"SELECT x FROM {table}")


CatalogMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestGrantsAgainstModel = CatalogMachine.TestCase
