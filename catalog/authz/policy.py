"""Policy files: the live grants as casbin policy lines, and the way back from a file to SQL.

A policy file is casbin's CSV policy format for ``policies/model.conf``. ``export`` writes the
current state; ``parse`` reads a file strictly (casbin's own loader skips lines it does not
understand, which would fail open); ``plan`` turns the difference between a file and the live
state into GRANT / REVOKE / ALTER ... OWNER TO / ALTER GROUP statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from catalog.errors import CatalogError, PolicyError
from catalog.names import normalize_principal, quote_part
from catalog.securables import (
    GRANTABLE,
    OWN,
    RELATION_TYPES,
    Privilege,
    Securable,
    SecurableType,
)
from catalog.store.snapshot import ACCOUNT_USERS, Snapshot

DERIVED_HEADER = "# Derived from the namespace and the user list; `policy apply` does not change these."


@dataclass(frozen=True, order=True)
class Rule:
    """``p, principal, object, privilege``: a grant, or ownership when privilege is OWN."""

    principal: str
    object_key: str
    privilege: str


@dataclass(frozen=True, order=True)
class Membership:
    """``g, member, group``."""

    member: str
    group: str


@dataclass
class Policy:
    rules: set[Rule] = field(default_factory=set)
    memberships: set[Membership] = field(default_factory=set)
    hierarchy: set[tuple[str, str]] = field(default_factory=set)  # g2: child, parent


def policy_of(snapshot: Snapshot) -> Policy:
    """The live state as policy lines."""
    policy = Policy()
    for securable in snapshot.by_id.values():
        policy.rules.add(Rule(securable.owner, securable.policy_key, OWN))
        parent = snapshot.parent(securable)
        if parent is not None:
            policy.hierarchy.add((securable.policy_key, parent.policy_key))
    for grant in snapshot.grants:
        policy.rules.add(Rule(grant.principal, snapshot.get(grant.securable_id).policy_key, grant.privilege))
    for group, members in snapshot.members.items():
        policy.memberships.update(Membership(m, group) for m in members)
    for name, kind in snapshot.principals.items():
        if kind == "USER":
            policy.memberships.add(Membership(name, ACCOUNT_USERS))
    return policy


def export(snapshot: Snapshot, *, exported_by: str, source: str) -> str:
    """Render the live state as a policy file a reviewer can read in a pull request."""
    policy = policy_of(snapshot)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    order = {
        t: i
        for i, t in enumerate(
            ("metastore", "catalog", "schema", "table", "model", "function", "endpoint", "experiment")
        )
    }

    def rule_key(rule: Rule) -> tuple:
        kind = rule.object_key.split(":", 1)[0]
        return (order.get(kind, 9), rule.object_key, rule.privilege != OWN, rule.privilege, rule.principal)

    lines = [
        "# Catalog policy: grants, ownership and group membership.",
        f"# Metastore {snapshot.metastore.id} at {source}, exported by {exported_by} at {stamp}.",
        "# Model: policies/model.conf. Edit, review, then `catalog policy plan FILE` and",
        "# `catalog policy apply FILE`: the live grants become exactly the p and g lines below.",
        "#",
        "# p, <principal>, <securable>, <privilege | OWN>",
    ]
    lines += [f"p, {r.principal}, {r.object_key}, {r.privilege}" for r in sorted(policy.rules, key=rule_key)]
    lines += ["", "# g, <member>, <group>"]
    explicit = sorted(m for m in policy.memberships if m.group != ACCOUNT_USERS)
    lines += [f"g, {m.member}, {m.group}" for m in explicit]
    lines += ["", DERIVED_HEADER, "# g, <user>, account users   (every user)"]
    lines += [f"g, {m.member}, {m.group}" for m in sorted(policy.memberships) if m.group == ACCOUNT_USERS]
    lines += ["# g2, <securable>, <parent>"]
    lines += [f"g2, {child}, {parent}" for child, parent in sorted(policy.hierarchy, key=lambda h: (h[1], h[0]))]
    return "\n".join(lines) + "\n"


def resolve_key(snapshot: Snapshot, key: str) -> Securable | None:
    """Find the securable named by a policy key such as ``table:main.ml.churn`` or
    ``experiment:/Shared/churn`` (an experiment's path is case-sensitive, as its name)."""
    if key == "metastore":
        return snapshot.metastore
    kind, sep, name = key.partition(":")
    if not sep:
        return None
    if kind.strip().lower() == SecurableType.EXPERIMENT.label:
        return snapshot.experiment(name.strip())
    securable = snapshot.by_name.get(name.strip().lower())
    if securable is None:
        return None
    expected = {securable.type.label}
    if securable.type in RELATION_TYPES:
        expected = {"table", "view"}
    return securable if kind.strip().lower() in expected else None


def parse(text: str, snapshot: Snapshot, *, source: str = "policy file") -> Policy:
    """Read a policy file strictly; raise PolicyError listing every bad line, changing nothing."""
    policy = Policy()
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        kind = fields[0]
        expected = {"p": 4, "g": 3, "g2": 3}.get(kind)
        if expected is None:
            problems.append(f"line {number}: unknown line type '{kind}'; use p, g or g2")
            continue
        if len(fields) != expected or any(not f for f in fields):
            problems.append(f"line {number}: '{kind}' lines have {expected - 1} non-empty fields separated by commas")
            continue
        try:
            if kind == "p":
                policy.rules.add(_parse_rule(fields[1:], snapshot))
            elif kind == "g":
                member, group = (normalize_principal(f) for f in fields[1:])
                for name in (member, group):
                    if not snapshot.principal_exists(name):
                        raise ValueError(f"unknown principal '{name}'")
                if not snapshot.is_group(group):
                    raise ValueError(f"'{group}' is a user, not a group")
                policy.memberships.add(Membership(member, group))
            else:
                child, parent = fields[1:]
                for key in (child, parent):
                    if resolve_key(snapshot, key) is None:
                        raise ValueError(f"unknown securable '{key}'")
                policy.hierarchy.add((child, parent))
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
        except CatalogError as exc:  # an invalid principal name
            problems.append(f"line {number}: {exc.message}")
    if problems:
        raise PolicyError(
            f"{source} was refused and nothing changed:\n  " + "\n  ".join(problems),
            details={"problems": problems},
        )
    return policy


def _parse_rule(fields: list[str], snapshot: Snapshot) -> Rule:
    principal = normalize_principal(fields[0])
    if not snapshot.principal_exists(principal):
        raise ValueError(f"unknown principal '{fields[0]}'; create it with CREATE USER or CREATE GROUP first")
    securable = resolve_key(snapshot, fields[1])
    if securable is None:
        raise ValueError(
            f"unknown securable '{fields[1]}'; write metastore, catalog:NAME, schema:CAT.SCHEMA, "
            "table:CAT.SCHEMA.NAME or experiment:/PATH"
        )
    privilege = " ".join(fields[2].upper().split())
    if privilege != OWN:
        try:
            privilege = Privilege(privilege).value
        except ValueError:
            raise ValueError(f"unknown privilege '{fields[2]}'") from None
        if privilege not in GRANTABLE[securable.type]:
            raise ValueError(f"{privilege} cannot be granted on {securable.type.a_label}")
    return Rule(principal, securable.policy_key, privilege)


def plan(snapshot: Snapshot, desired: Policy) -> list[str]:
    """SQL statements that make the live grants, owners and memberships equal ``desired``."""
    live = policy_of(snapshot)
    problems = []
    owners_wanted: dict[str, set[str]] = {}
    for rule in desired.rules:
        if rule.privilege == OWN:
            owners_wanted.setdefault(rule.object_key, set()).add(rule.principal)
    for key, owners in owners_wanted.items():
        if len(owners) > 1:
            problems.append(f"{key} has {len(owners)} OWN lines ({', '.join(sorted(owners))}); an object has one owner")
    if f"{snapshot.admin}" not in owners_wanted.get("metastore", {snapshot.admin}):
        problems.append("the metastore owner (metastore admin) cannot be changed by a policy file")
    if problems:
        raise PolicyError("The policy file was refused and nothing changed:\n  " + "\n  ".join(problems))

    statements: list[str] = []
    live_members = {m for m in live.memberships if m.group != ACCOUNT_USERS}
    wanted_members = {m for m in desired.memberships if m.group != ACCOUNT_USERS}
    for m in sorted(wanted_members - live_members):
        statements.append(_membership_sql(snapshot, m, "ADD"))
    live_grants = {r for r in live.rules if r.privilege != OWN}
    wanted_grants = {r for r in desired.rules if r.privilege != OWN}
    for r in sorted(wanted_grants - live_grants):
        statements.append(
            f"GRANT {r.privilege} ON {_securable_sql(snapshot, r.object_key)} TO {quote_part(r.principal)}"
        )
    for key, owners in sorted(owners_wanted.items()):
        securable = resolve_key(snapshot, key)
        (owner,) = owners
        if securable is not None and securable.owner != owner and securable.type is not SecurableType.METASTORE:
            statements.append(f"ALTER {_securable_sql(snapshot, key)} OWNER TO {quote_part(owner)}")
    for r in sorted(live_grants - wanted_grants):
        statements.append(
            f"REVOKE {r.privilege} ON {_securable_sql(snapshot, r.object_key)} FROM {quote_part(r.principal)}"
        )
    for m in sorted(live_members - wanted_members):
        statements.append(_membership_sql(snapshot, m, "REMOVE"))
    return statements


def _securable_sql(snapshot: Snapshot, key: str) -> str:
    securable = resolve_key(snapshot, key)
    assert securable is not None
    return securable.sql_name


def _membership_sql(snapshot: Snapshot, membership: Membership, verb: str) -> str:
    kind = "GROUP" if snapshot.is_group(membership.member) else "USER"
    return f"ALTER GROUP {quote_part(membership.group)} {verb} {kind} {quote_part(membership.member)}"
