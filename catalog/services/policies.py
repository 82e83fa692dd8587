"""Policy files as a service: export the live grants, plan a file against them, apply it.

Applying runs the planned GRANT / REVOKE / ALTER statements through the same SQL handlers as
any user statement, inside one transaction: the file applies whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable

from catalog.authz import policy
from catalog.services.context import Context


def export(ctx: Context, source: str) -> str:
    ctx.require_admin("export the policy")
    return policy.export(ctx.snapshot, exported_by=ctx.principal, source=source)


def plan(ctx: Context, text: str, source: str = "policy file") -> list[str]:
    ctx.require_admin("plan a policy file")
    return policy.plan(ctx.snapshot, policy.parse(text, ctx.snapshot, source=source))


def apply(
    ctx: Context, text: str, run_statement: Callable[[Context, str], object], source: str = "policy file"
) -> list[str]:
    """Plan ``text`` and run every statement in this context's transaction."""
    statements = plan(ctx, text, source)
    for statement in statements:
        run_statement(ctx, statement)
    return statements
