"""Authorization decision latency: the engine's grant index beside a plain casbin Enforcer.

A synthetic metastore in Unity Catalog's shape: catalogs > schemas > tables (a 3-level
hierarchy), 10k users in 200 groups (some groups nested), owners spread over a few hundred
principals, and 1k / 10k / 100k grants at every level. For each grant count the same random
requests go to ``GrantIndex.decide`` (what the engine calls) and to ``casbin.Enforcer.enforce``
built from the exported policy with ``policies/model.conf``; every casbin answer is compared
with the index's.

    python tests/benchmarks/bench_authz.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Timing, human, print_table

from catalog.authz.casbin_model import build_enforcer
from catalog.authz.index import GrantIndex
from catalog.authz.policy import policy_of
from catalog.names import FullName
from catalog.securables import Privilege, Securable, SecurableType
from catalog.store.metastore import Grant
from catalog.store.snapshot import Snapshot


@dataclass(frozen=True)
class Shape:
    catalogs: int
    schemas_per_catalog: int
    tables_per_schema: int
    users: int
    groups: int
    grant_counts: tuple[int, ...]
    index_requests: int
    casbin_requests: int
    casbin_budget_s: float  # stop sampling casbin after this long per grant count

    @property
    def securables(self) -> int:
        schemas = self.catalogs * self.schemas_per_catalog
        return 1 + self.catalogs + schemas + schemas * self.tables_per_schema


FULL = Shape(20, 50, 100, 10_000, 200, (1_000, 10_000, 100_000), 20_000, 100, 30.0)
QUICK = Shape(4, 5, 10, 300, 20, (100, 1_000), 2_000, 50, 10.0)

GRANTS_BY_LEVEL = {
    SecurableType.CATALOG: [Privilege.USE_CATALOG, Privilege.BROWSE, Privilege.SELECT, Privilege.USE_SCHEMA],
    SecurableType.SCHEMA: [Privilege.USE_SCHEMA, Privilege.SELECT, Privilege.MODIFY, Privilege.CREATE_TABLE],
    SecurableType.TABLE: [Privilege.SELECT, Privilege.MODIFY, Privilege.ALL_PRIVILEGES],
}


@dataclass
class Namespace:
    securables: list[Securable]
    catalogs: list[Securable]
    schemas: list[Securable]
    tables: list[Securable]
    principals: dict[str, str]
    memberships: list[tuple[str, str]]

    def snapshot(self, grants: list[Grant]) -> Snapshot:
        return Snapshot.build(0, self.securables, self.principals, self.memberships, grants)


def build_namespace(shape: Shape, rng: random.Random) -> Namespace:
    users = [f"user{i:05d}" for i in range(shape.users)]
    groups = [f"group{i:03d}" for i in range(shape.groups)]
    principals = {"admin": "USER", **dict.fromkeys(users, "USER"), **dict.fromkeys(groups, "GROUP")}
    memberships = [(group, user) for user in users for group in rng.sample(groups, rng.randint(1, 3))]
    # A fifth of the groups sit inside a group with a higher number: nesting without cycles.
    for i in range(0, shape.groups - 1, 5):
        memberships.append((groups[rng.randrange(i + 1, shape.groups)], groups[i]))
    owners = users[:200] + groups[:20]
    root = Securable("m", SecurableType.METASTORE, None, None, "admin")
    catalogs, schemas, tables = [], [], []
    for c in range(shape.catalogs):
        catalog = Securable(f"c{c}", SecurableType.CATALOG, FullName.of(f"cat{c}"), root.id, rng.choice(owners))
        catalogs.append(catalog)
        for s in range(shape.schemas_per_catalog):
            name = catalog.full_name.child(f"schema{s}")
            schema = Securable(f"{catalog.id}s{s}", SecurableType.SCHEMA, name, catalog.id, rng.choice(owners))
            schemas.append(schema)
            for t in range(shape.tables_per_schema):
                tables.append(
                    Securable(
                        f"{schema.id}t{t}", SecurableType.TABLE, name.child(f"table{t}"), schema.id, rng.choice(owners)
                    )
                )
    return Namespace([root, *catalogs, *schemas, *tables], catalogs, schemas, tables, principals, memberships)


def random_grants(namespace: Namespace, count: int, rng: random.Random) -> list[Grant]:
    """``count`` distinct grants: 10% on catalogs, 30% on schemas, 60% on tables; 70% to groups."""
    users = [p for p, kind in namespace.principals.items() if kind == "USER"]
    groups = [p for p, kind in namespace.principals.items() if kind == "GROUP"]
    levels = [(namespace.catalogs, 0.1), (namespace.schemas, 0.3), (namespace.tables, 0.6)]
    seen: set[tuple[str, str, str]] = set()
    while len(seen) < count:
        pool = rng.choices([p for p, _ in levels], weights=[w for _, w in levels])[0]
        securable = rng.choice(pool)
        privilege = rng.choice(GRANTS_BY_LEVEL[securable.type])
        grantee = rng.choice(groups) if rng.random() < 0.7 else rng.choice(users)
        seen.add((securable.id, grantee, privilege.value))
    return [Grant(sid, principal, privilege, "admin") for sid, principal, privilege in sorted(seen)]


def random_requests(namespace: Namespace, count: int, rng: random.Random) -> list[tuple[str, Securable, Privilege]]:
    """Requests as the engine makes them: mostly SELECT/MODIFY on tables, some USE on containers."""
    users = [p for p, kind in namespace.principals.items() if kind == "USER" and p != "admin"]
    requests = []
    for _ in range(count):
        user = rng.choice(users)
        roll = rng.random()
        if roll < 0.7:
            requests.append((user, rng.choice(namespace.tables), rng.choice([Privilege.SELECT, Privilege.MODIFY])))
        elif roll < 0.85:
            requests.append((user, rng.choice(namespace.schemas), Privilege.USE_SCHEMA))
        else:
            requests.append((user, rng.choice(namespace.catalogs), Privilege.USE_CATALOG))
    return requests


@dataclass(frozen=True)
class ScaleResult:
    grants: int
    index_build: float
    index: Timing
    casbin_build: float
    casbin: Timing
    compared: int
    mismatches: int
    allowed_share: float


def measure(namespace: Namespace, grant_count: int, shape: Shape, rng: random.Random) -> ScaleResult:
    snapshot = namespace.snapshot(random_grants(namespace, grant_count, rng))
    started = time.perf_counter()
    index = GrantIndex(snapshot)
    index_build = time.perf_counter() - started
    requests = random_requests(namespace, shape.index_requests, rng)
    for user, _, _ in requests:  # steady state: the engine keeps an index per snapshot
        index.principals_of(user)
    samples, allowed = [], 0
    for user, securable, privilege in requests:
        start = time.perf_counter()
        decision = index.decide(user, securable, privilege)
        samples.append(time.perf_counter() - start)
        allowed += decision.allowed

    started = time.perf_counter()
    enforcer = build_enforcer(policy_of(snapshot))
    casbin_build = time.perf_counter() - started
    casbin_samples, mismatches = [], 0
    deadline = time.perf_counter() + shape.casbin_budget_s
    for user, securable, privilege in requests[: shape.casbin_requests]:
        start = time.perf_counter()
        theirs = enforcer.enforce(user, securable.policy_key, privilege.value)
        casbin_samples.append(time.perf_counter() - start)
        mismatches += theirs != index.decide(user, securable, privilege).allowed
        if time.perf_counter() > deadline:
            break
    return ScaleResult(
        grant_count,
        index_build,
        Timing("index", tuple(samples)),
        casbin_build,
        Timing("casbin", tuple(casbin_samples)),
        len(casbin_samples),
        mismatches,
        allowed / len(requests),
    )


def run(shape: Shape, *, seed: int = 7, progress: bool = True) -> list[ScaleResult]:
    rng = random.Random(seed)
    namespace = build_namespace(shape, rng)
    results = []
    for count in shape.grant_counts:
        if progress:
            print(f"  authz: {count:,} grants over {shape.securables:,} securables ...", flush=True)
        results.append(measure(namespace, count, shape, rng))
    return results


def report(shape: Shape, results: list[ScaleResult]) -> None:
    rows = [
        [
            f"{r.grants:,}",
            human(r.index.median),
            human(r.index.p99),
            human(r.casbin.median),
            human(r.casbin.p99),
            f"{r.casbin.median / r.index.median:,.0f}x",
            f"{r.compared}",
            f"{r.mismatches}",
            f"{r.allowed_share:.0%}",
            human(r.index_build),
            human(r.casbin_build),
        ]
        for r in results
    ]
    print_table(
        f"Authorization decisions: {shape.users:,} users in {shape.groups} groups, "
        f"{shape.securables:,} securables (catalog > schema > table)",
        [
            "grants",
            "index median",
            "index p99",
            "casbin median",
            "casbin p99",
            "casbin/index",
            "compared",
            "mismatches",
            "allowed",
            "index build",
            "casbin build",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small metastore, for a smoke run")
    args = parser.parse_args(argv)
    shape = QUICK if args.quick else FULL
    results = run(shape)
    report(shape, results)
    return 1 if any(r.mismatches for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
