"""Answer authorization decisions from a dictionary of grants, equivalent to the casbin matcher.

``policies/model.conf`` defines the rules. Evaluating that matcher with casbin's plain Enforcer
scans every policy line per request (milliseconds at 10k grants), so decisions are answered here
by walking the principal's groups times the securable's ancestors and looking each pair up in
a dictionary: a few dozen lookups whatever the number of grants. ``tests/test_authz_equivalence``
checks this index against ``casbin.Enforcer.enforce`` on random policies.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from catalog.securables import GRANTABLE, OWN, Privilege, Securable, implies
from catalog.store.snapshot import Snapshot


@dataclass(frozen=True)
class Decision:
    """One privilege check, with the grant (or the absence of one) that decided it."""

    allowed: bool
    principal: str
    privilege: str
    securable: Securable
    reason: str

    def __str__(self) -> str:
        verdict = "allowed" if self.allowed else "denied"
        return f"{verdict} {self.privilege} on {self.securable.describe()}: {self.reason}"


class GrantIndex:
    """Decisions for one snapshot of the metastore. Immutable; build a new one per snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        held: dict[tuple[str, str], set[str]] = defaultdict(set)
        for grant in snapshot.grants:
            held[(grant.principal, grant.securable_id)].add(grant.privilege)
        for securable in snapshot.by_id.values():
            held[(securable.owner, securable.id)].add(OWN)
        self._held = dict(held)  # never changed after this point
        by_principal: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
        for (principal, securable_id), privileges in self._held.items():
            by_principal[principal].append((securable_id, privileges))
        self._by_principal = dict(by_principal)
        self._closures: dict[str, tuple[str, ...]] = {}
        self._visible: dict[str, frozenset[str]] = {}

    def principals_of(self, principal: str) -> tuple[str, ...]:
        """The principal followed by every group it belongs to, directly or through nesting."""
        cached = self._closures.get(principal)
        if cached is not None:
            return cached
        seen = {principal: None}
        queue = deque([principal])
        while queue:
            for group in sorted(self.snapshot.direct_groups(queue.popleft())):
                if group not in seen:
                    seen[group] = None
                    queue.append(group)
        closure = tuple(seen)
        self._closures[principal] = closure
        return closure

    def is_admin(self, principal: str) -> bool:
        return self.snapshot.admin in self.principals_of(principal)

    def decide(self, principal: str, securable: Securable, privilege: Privilege) -> Decision:
        """Evaluate the model.conf matcher for one request."""
        root_id = self.snapshot.metastore.id
        ancestors = list(self.snapshot.ancestors(securable))
        for holder in self.principals_of(principal):
            for ancestor in ancestors:
                held = self._held.get((holder, ancestor.id))
                if not held:
                    continue
                if OWN in held and (
                    ancestor.id == securable.id or privilege is Privilege.MANAGE or ancestor.id == root_id
                ):
                    what = "metastore admin" if ancestor.id == root_id else "owner"
                    via = "" if holder == principal else f" through group {holder}"
                    return self._allow(principal, securable, privilege, f"{what} of {ancestor.describe()}{via}")
                for name in sorted(held):
                    if name != OWN and implies(name, privilege):
                        return self._allow(
                            principal, securable, privilege, f"{name} on {ancestor.describe()} granted to {holder}"
                        )
        return Decision(
            False,
            principal,
            privilege.value,
            securable,
            f"no grant of {privilege.value} on {securable.describe()} or its parents to {principal} or their groups",
        )

    @staticmethod
    def _allow(principal: str, securable: Securable, privilege: Privilege, reason: str) -> Decision:
        return Decision(True, principal, privilege.value, securable, reason)

    def visible_ids(self, principal: str) -> frozenset[str]:
        """Ids of every securable whose metadata ``principal`` may see.

        An object is visible to whoever holds any privilege on it (directly, or through a grant
        on a container that reaches its type), owns or manages it or a container of it, or holds
        BROWSE on its catalog; the containers of a visible object are visible too.
        """
        cached = self._visible.get(principal)
        if cached is not None:
            return cached
        snapshot = self.snapshot
        if self.is_admin(principal):
            result = frozenset(snapshot.by_id)
        else:
            visible: set[str] = set()
            for holder in self.principals_of(principal):
                for securable_id, privileges in self._by_principal.get(holder, ()):
                    securable = snapshot.get(securable_id)
                    visible.add(securable_id)
                    reaches_all = bool({OWN, Privilege.MANAGE, Privilege.BROWSE} & privileges)
                    for child in snapshot.descendants(securable):
                        if reaches_all or _reaches(privileges, child):
                            visible.add(child.id)
            for securable_id in list(visible):
                visible.update(a.id for a in snapshot.ancestors(snapshot.get(securable_id)))
            result = frozenset(visible)
        self._visible[principal] = result
        return result

    def can_see(self, principal: str, securable: Securable) -> bool:
        return securable.id in self.visible_ids(principal)


def _reaches(privileges: set[str], child: Securable) -> bool:
    applicable = GRANTABLE[child.type]
    return any(p in applicable for p in privileges)
