"""casbin itself: load ``policies/model.conf`` and evaluate requests with casbin's Enforcer.

The engine answers decisions from :class:`catalog.authz.index.GrantIndex`; this module builds a
plain casbin Enforcer over the same policy, so the two can be compared (tests, benchmarks) and
so that an operator can run every decision through casbin (``CATALOG_AUTHZ=casbin``).
"""

from __future__ import annotations

from pathlib import Path

import casbin
from casbin.rbac.default_role_manager import RoleManager

from catalog.authz.index import Decision
from catalog.authz.policy import Policy, policy_of
from catalog.resources import resource_dir
from catalog.securables import Privilege, Securable
from catalog.store.snapshot import Snapshot

# casbin's default role manager stops following links after 10 levels; groups may nest deeper.
MAX_HIERARCHY = 64


def model_path() -> Path:
    return resource_dir("policies") / "model.conf"


def build_enforcer(policy: Policy) -> casbin.Enforcer:
    """A casbin Enforcer for model.conf holding exactly ``policy``'s lines."""
    enforcer = casbin.Enforcer(str(model_path()))
    enforcer.set_named_role_manager("g", RoleManager(MAX_HIERARCHY))
    enforcer.set_named_role_manager("g2", RoleManager(MAX_HIERARCHY))
    if policy.rules:
        enforcer.add_policies([[r.principal, r.object_key, r.privilege] for r in policy.rules])
    if policy.memberships:
        enforcer.add_named_grouping_policies("g", [[m.member, m.group] for m in policy.memberships])
    if policy.hierarchy:
        enforcer.add_named_grouping_policies("g2", [list(h) for h in policy.hierarchy])
    enforcer.build_role_links()
    return enforcer


class CasbinDecider:
    """Answers decisions by calling ``casbin.Enforcer.enforce_ex`` (slow; exact)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.enforcer = build_enforcer(policy_of(snapshot))

    def decide(self, principal: str, securable: Securable, privilege: Privilege) -> Decision:
        allowed, explain = self.enforcer.enforce_ex(principal, securable.policy_key, privilege.value)
        reason = f"casbin matched p, {', '.join(explain)}" if allowed else "no casbin policy line matched"
        return Decision(allowed, principal, privilege.value, securable, reason)
