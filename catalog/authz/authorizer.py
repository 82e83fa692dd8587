"""The one door: which privileges an action needs on a securable, checked for a principal.

Every engine service calls :meth:`Authorizer.require` before it touches data or metadata. The
decisions (allowed or not, and why) go into the audit record of the request.
"""

from __future__ import annotations

import os

from catalog.authz.index import Decision, GrantIndex
from catalog.errors import PermissionDenied
from catalog.names import quote_part
from catalog.securables import ACTIONS, Action, Privilege, Securable, SecurableType
from catalog.store.snapshot import Snapshot

AUTHZ_ENGINE_ENV = "CATALOG_AUTHZ"


class AccessDenied(PermissionDenied):
    """PermissionDenied that remembers the decisions, for the audit record."""

    def __init__(self, message: str, decisions: list[Decision]) -> None:
        super().__init__(message)
        self.decisions = decisions


class Authorizer:
    """Authorization over one metastore snapshot."""

    def __init__(self, snapshot: Snapshot, *, engine: str | None = None) -> None:
        self.snapshot = snapshot
        self.index = GrantIndex(snapshot)
        engine = engine or os.environ.get(AUTHZ_ENGINE_ENV, "index")
        if engine == "casbin":
            from catalog.authz.casbin_model import CasbinDecider

            self._decide = CasbinDecider(snapshot).decide
        else:
            self._decide = self.index.decide

    def is_admin(self, principal: str) -> bool:
        return self.index.is_admin(principal)

    def decide(self, principal: str, securable: Securable, privilege: Privilege) -> Decision:
        return self._decide(principal, securable, privilege)

    def requirements(self, action: Action, target: Securable) -> list[tuple[Securable, Privilege]]:
        """USE CATALOG / USE SCHEMA on the containers (when the action needs usage), then the
        privilege the action needs on the target's type."""
        needed: list[tuple[Securable, Privilege]] = []
        if action.needs_usage:
            containers = list(self.snapshot.ancestors(target))
            if not action.usage_of_target:
                containers = containers[1:]
            for container in reversed(containers):
                if container.type is SecurableType.CATALOG:
                    needed.append((container, Privilege.USE_CATALOG))
                elif container.type is SecurableType.SCHEMA:
                    needed.append((container, Privilege.USE_SCHEMA))
        privilege = action.privilege_for(target.type)
        if (target, privilege) not in needed:
            needed.append((target, privilege))
        return needed

    def check(self, principal: str, action: str | Action, target: Securable) -> list[Decision]:
        """Decide every requirement in order, stopping at the first denial."""
        action = ACTIONS[action] if isinstance(action, str) else action
        decisions = []
        for securable, privilege in self.requirements(action, target):
            decision = self.decide(principal, securable, privilege)
            decisions.append(decision)
            if not decision.allowed:
                break
        return decisions

    def require(self, principal: str, action: str | Action, target: Securable) -> list[Decision]:
        """Return the allowing decisions, or raise PermissionDenied naming what is missing."""
        decisions = self.check(principal, action, target)
        denied = decisions[-1]
        if not denied.allowed:
            raise AccessDenied(denial_message(principal, denied), decisions)
        return decisions

    def can_manage(self, principal: str, securable: Securable) -> bool:
        """Whether ``principal`` may manage ``securable`` (MANAGE, or CAN MANAGE on an experiment)."""
        return self.decide(principal, securable, ACTIONS["manage"].privilege_for(securable.type)).allowed

    def can_see(self, principal: str, securable: Securable) -> bool:
        return self.index.can_see(principal, securable)

    def visible_ids(self, principal: str) -> frozenset[str]:
        return self.index.visible_ids(principal)


def denial_message(principal: str, decision: Decision) -> str:
    securable = decision.securable
    manager = ACTIONS["manage"].privilege_for(securable.type).value
    return (
        f"User {principal} does not have {decision.privilege} on {securable.describe()}. "
        f"Ask its owner, a principal with {manager} on it, or a metastore admin to run: "
        f"GRANT {decision.privilege} ON {securable.sql_name} TO {quote_part(principal)}"
    )
