"""GRANT, REVOKE and SHOW GRANTS on any securable."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.errors import InvalidRequest
from catalog.names import normalize_principal
from catalog.securables import GRANTABLE, OWN, Privilege, Securable, SecurableType, parse_privilege
from catalog.services.context import Context

SHOW_GRANTS_COLUMNS = ["principal", "action_type", "object_type", "object_key"]


@dataclass(frozen=True)
class GrantRow:
    principal: str
    action_type: str
    object_type: str
    object_key: str


def _checked(
    ctx: Context, securable: Securable, privileges: list[str], principals: list[str]
) -> tuple[list[Privilege], list[str]]:
    parsed = []
    for text in privileges:
        privilege = parse_privilege(text)
        if privilege not in GRANTABLE[securable.type]:
            allowed = ", ".join(sorted(p.value for p in GRANTABLE[securable.type]))
            raise InvalidRequest(
                f"{privilege.value} cannot be granted on {securable.type.a_label} "
                f"({securable.key or 'METASTORE'}). Privileges for {securable.type.a_label}: {allowed}.",
                error_code="INVALID_PRIVILEGE",
            )
        parsed.append(privilege)
    names = [ctx.snapshot.require_principal(normalize_principal(p)) for p in principals]
    if securable.type is SecurableType.METASTORE:
        ctx.require_admin("grant privileges on the metastore")
    else:
        ctx.require("manage", securable)
    return parsed, names


def grant(ctx: Context, securable: Securable, privileges: list[str], principals: list[str]) -> list[str]:
    """Grant each privilege to each principal; already-held grants are left as they are."""
    parsed, names = _checked(ctx, securable, privileges, principals)
    held = {(g.principal, g.privilege) for g in ctx.snapshot.grants if g.securable_id == securable.id}
    changes = []
    for name in names:
        for privilege in parsed:
            if (name, privilege.value) in held:
                continue
            ctx.metastore.insert_grant(securable.id, name, privilege.value, ctx.principal)
            held.add((name, privilege.value))
            changes.append(f"granted {privilege.value} on {securable.describe()} to {name}")
    if changes:
        ctx.changed()
    return changes


def revoke(ctx: Context, securable: Securable, privileges: list[str], principals: list[str]) -> list[str]:
    """Revoke grants made on this very securable (inherited ones are revoked where they were made)."""
    parsed, names = _checked(ctx, securable, privileges, principals)
    held = {(g.principal, g.privilege) for g in ctx.snapshot.grants if g.securable_id == securable.id}
    changes = []
    for name in names:
        for privilege in parsed:
            if (name, privilege.value) not in held:
                continue
            ctx.metastore.delete_grant(securable.id, name, privilege.value)
            changes.append(f"revoked {privilege.value} on {securable.describe()} from {name}")
    if changes:
        ctx.changed()
    return changes


def show(ctx: Context, securable: Securable, principal: str | None = None) -> list[GrantRow]:
    """Grants on a securable and those it inherits from its containers, plus its owner (OWN).

    Whoever may manage the object sees every row; others see the rows that apply to them.
    """
    if securable.type is not SecurableType.METASTORE:
        ctx.require_visible(securable)
    snapshot = ctx.snapshot
    can_manage = ctx.authz.can_manage(ctx.principal, securable)
    wanted: set[str] | None = None
    if principal is not None:
        name = snapshot.require_principal(normalize_principal(principal))
        wanted = set(ctx.authz.index.principals_of(name))
    if not can_manage:
        mine = set(ctx.authz.index.principals_of(ctx.principal))
        wanted = mine if wanted is None else wanted & mine
    # Inherited rows: privileges that reach this type, and the USE privileges needed to reach it.
    applicable = GRANTABLE[securable.type] | {Privilege.USE_CATALOG, Privilege.USE_SCHEMA}
    ancestors = list(snapshot.ancestors(securable))
    rows = [GrantRow(securable.owner, OWN, securable.type.value, securable.key)]
    for depth, holder in enumerate(ancestors):
        on_holder = sorted((g.principal, g.privilege) for g in snapshot.grants if g.securable_id == holder.id)
        for grantee, privilege in on_holder:
            if depth and privilege not in applicable:
                continue  # e.g. CREATE SCHEMA on the catalog says nothing about a table
            rows.append(GrantRow(grantee, privilege, holder.type.value, holder.key))
    return [r for r in rows if wanted is None or r.principal in wanted]
