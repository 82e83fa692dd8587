"""casbin itself: load ``policies/model.conf`` and evaluate requests with casbin's Enforcer.

The engine answers decisions from :class:`catalog.authz.index.GrantIndex`; this module builds a
plain casbin Enforcer over the same policy, so the two can be compared (tests, benchmarks) and
so that an operator can run every decision through casbin (``CATALOG_AUTHZ=casbin``).
"""

from __future__ import annotations

from pathlib import Path

import casbin
from casbin.persist import Adapter
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


class PolicyAdapter(Adapter):
    """casbin's adapter interface over a :class:`Policy` held in memory.

    Lines go into the model the way casbin's own file adapter puts them there. (Adding them
    through ``Enforcer.add_policies`` checks each against every line before it, which is
    quadratic: minutes for a metastore of 100k objects.)
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def load_policy(self, model) -> None:
        sections = model.model
        sections["p"]["p"].policy.extend([r.principal, r.object_key, r.privilege] for r in sorted(self.policy.rules))
        sections["g"]["g"].policy.extend([m.member, m.group] for m in sorted(self.policy.memberships))
        sections["g"]["g2"].policy.extend([child, parent] for child, parent in sorted(self.policy.hierarchy))


def build_enforcer(policy: Policy) -> casbin.Enforcer:
    """A casbin Enforcer for model.conf holding exactly ``policy``'s lines."""
    enforcer = casbin.Enforcer(str(model_path()))
    enforcer.set_named_role_manager("g", RoleManager(MAX_HIERARCHY))
    enforcer.set_named_role_manager("g2", RoleManager(MAX_HIERARCHY))
    enforcer.set_adapter(PolicyAdapter(policy))
    enforcer.load_policy()  # also builds the role links
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
