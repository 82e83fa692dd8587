"""An immutable in-memory picture of the metastore: names, hierarchy, principals, grants.

Name resolution and authorization read this picture instead of querying DuckDB per decision.
The engine loads a new one after every committed change to metadata, and a statement keeps the
picture it started with, so concurrent readers never see half of a change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from catalog.errors import NotFound
from catalog.names import FullName
from catalog.securables import Securable, SecurableType
from catalog.store.metastore import Grant, Metastore

ACCOUNT_USERS = "account users"  # every user is implicitly a member, as in Databricks


@dataclass(frozen=True)
class Snapshot:
    version: int
    metastore: Securable
    by_id: dict[str, Securable]
    by_name: dict[str, Securable]  # full name -> catalog, schema or object
    children: dict[str, tuple[str, ...]]
    principals: dict[str, str]  # name -> USER | GROUP
    members: dict[str, frozenset[str]]  # group -> direct members
    grants: tuple[Grant, ...]
    _groups_of: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    by_path: dict[str, Securable] = field(default_factory=dict, repr=False)  # experiments

    @classmethod
    def load(cls, metastore: Metastore, version: int) -> Snapshot:
        return cls.build(
            version,
            metastore.securables(),
            metastore.principal_kinds(),
            metastore.memberships(),
            metastore.grants(),
        )

    @classmethod
    def build(
        cls,
        version: int,
        securables: Iterable[Securable],
        principals: dict[str, str],
        memberships: Iterable[tuple[str, str]],
        grants: Iterable[Grant],
    ) -> Snapshot:
        """Assemble a snapshot from rows (the metastore's, or synthetic ones in tests and benchmarks)."""
        securables = list(securables)
        by_id = {s.id: s for s in securables}
        root = next(s for s in securables if s.type is SecurableType.METASTORE)
        children: dict[str, list[str]] = defaultdict(list)
        for s in securables:
            if s.parent_id:
                children[s.parent_id].append(s.id)
        members: dict[str, set[str]] = defaultdict(set)
        groups_of: dict[str, set[str]] = defaultdict(set)
        for group, member in memberships:
            members[group].add(member)
            groups_of[member].add(group)
        for name, kind in principals.items():
            if kind == "USER":
                groups_of[name].add(ACCOUNT_USERS)
        return cls(
            version=version,
            metastore=root,
            by_id=by_id,
            by_name={str(s.full_name): s for s in securables if s.full_name},
            children={k: tuple(v) for k, v in children.items()},
            principals=dict(principals),
            members={k: frozenset(v) for k, v in members.items()},
            grants=tuple(grants),
            _groups_of={k: frozenset(v) for k, v in groups_of.items()},
            by_path={s.path: s for s in securables if s.path is not None},
        )

    # -- principals --------------------------------------------------------------------------
    @property
    def admin(self) -> str:
        return self.metastore.owner

    def is_user(self, name: str) -> bool:
        return self.principals.get(name) == "USER"

    def is_group(self, name: str) -> bool:
        return self.principals.get(name) == "GROUP" or name == ACCOUNT_USERS

    def principal_exists(self, name: str) -> bool:
        return name in self.principals or name == ACCOUNT_USERS

    def direct_groups(self, name: str) -> frozenset[str]:
        return self._groups_of.get(name, frozenset())

    def require_principal(self, name: str) -> str:
        if not self.principal_exists(name):
            raise NotFound(
                f"The principal '{name}' does not exist. Create it first with "
                f"CREATE USER `{name}` or CREATE GROUP `{name}`.",
                error_code="PRINCIPAL_DOES_NOT_EXIST",
            )
        return name

    # -- securables --------------------------------------------------------------------------
    def get(self, securable_id: str) -> Securable:
        return self.by_id[securable_id]

    def find(self, name: FullName) -> Securable | None:
        return self.by_name.get(str(name))

    def experiment(self, path: str) -> Securable | None:
        """The securable of the experiment at ``path`` (paths are case-sensitive, as MLflow's names)."""
        return self.by_path.get(path)

    def parent(self, securable: Securable) -> Securable | None:
        return self.by_id.get(securable.parent_id) if securable.parent_id else None

    def ancestors(self, securable: Securable) -> Iterator[Securable]:
        """The securable itself, then its parents up to the metastore."""
        node: Securable | None = securable
        while node is not None:
            yield node
            node = self.parent(node)

    def children_of(self, securable: Securable) -> list[Securable]:
        return [self.by_id[c] for c in self.children.get(securable.id, ())]

    def descendants(self, securable: Securable) -> Iterator[Securable]:
        """Every object below ``securable`` (not itself), parents before children."""
        stack = list(reversed(self.children_of(securable)))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(self.children_of(node)))

    def catalog_of(self, securable: Securable) -> Securable | None:
        return next((a for a in self.ancestors(securable) if a.type is SecurableType.CATALOG), None)

    def schema_of(self, securable: Securable) -> Securable | None:
        return next((a for a in self.ancestors(securable) if a.type is SecurableType.SCHEMA), None)

    def objects_owned_by(self, principal: str) -> list[Securable]:
        return [s for s in self.by_id.values() if s.owner == principal]
