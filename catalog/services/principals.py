"""Users, groups and group membership. Changing them is for metastore admins."""

from __future__ import annotations

from catalog.errors import AlreadyExists, InvalidRequest, NotFound
from catalog.names import normalize_principal
from catalog.services.context import Context
from catalog.store.snapshot import ACCOUNT_USERS

KINDS = ("USER", "GROUP")


def create(ctx: Context, kind: str, name: str, *, if_not_exists: bool = False) -> bool:
    """CREATE USER / CREATE GROUP. Users and groups share one namespace."""
    name = normalize_principal(name)
    ctx.require_admin(f"create a {kind.lower()}")
    if name == ACCOUNT_USERS or ctx.snapshot.principal_exists(name):
        if if_not_exists and ctx.snapshot.principals.get(name) == kind:
            return False
        existing = "group" if ctx.snapshot.is_group(name) else "user"
        raise AlreadyExists(f"A {existing} named '{name}' already exists.", error_code="PRINCIPAL_ALREADY_EXISTS")
    ctx.metastore.insert_principal(name, kind, ctx.principal)
    ctx.changed()
    return True


def drop(ctx: Context, kind: str, name: str, *, if_exists: bool = False) -> bool:
    """DROP USER / DROP GROUP, with its grants and memberships. Owners must hand over first."""
    name = normalize_principal(name)
    ctx.require_admin(f"drop a {kind.lower()}")
    if ctx.snapshot.principals.get(name) != kind:
        if if_exists and not ctx.snapshot.principal_exists(name):
            return False
        if ctx.snapshot.principal_exists(name) and name != ACCOUNT_USERS:
            other = "group" if kind == "USER" else "user"
            raise InvalidRequest(f"'{name}' is a {other}; use DROP {other.upper()}.", error_code="WRONG_PRINCIPAL_TYPE")
        if name == ACCOUNT_USERS:
            raise InvalidRequest("'account users' is built in and cannot be dropped.", error_code="BUILTIN_PRINCIPAL")
        raise NotFound(f"There is no {kind.lower()} named '{name}'.", error_code="PRINCIPAL_DOES_NOT_EXIST")
    owned = ctx.snapshot.objects_owned_by(name)
    if owned:
        names = ", ".join(s.describe() for s in owned[:3]) + (", ..." if len(owned) > 3 else "")
        raise InvalidRequest(
            f"'{name}' owns {len(owned)} object(s) ({names}). Give them another owner first, e.g. "
            f"ALTER {owned[0].sql_name} OWNER TO `new_owner`.",
            error_code="PRINCIPAL_OWNS_OBJECTS",
        )
    ctx.metastore.delete_principal(name)
    ctx.changed()
    return True


def alter_group(ctx: Context, group: str, action: str, members: list[tuple[str, str]]) -> list[str]:
    """ALTER GROUP g ADD|REMOVE USER u | GROUP h, ...; returns what changed, line by line."""
    group = normalize_principal(group)
    ctx.require_admin("change group membership")
    if group == ACCOUNT_USERS:
        raise InvalidRequest(
            "'account users' always holds every user; its membership cannot change.", error_code="BUILTIN_PRINCIPAL"
        )
    if ctx.snapshot.principals.get(group) != "GROUP":
        raise NotFound(
            f"There is no group named '{group}'. Create it with CREATE GROUP `{group}`.",
            error_code="PRINCIPAL_DOES_NOT_EXIST",
        )
    changes = []
    current = set(ctx.snapshot.members.get(group, ()))
    for kind, raw in members:
        member = normalize_principal(raw)
        actual = ctx.snapshot.principals.get(member)
        if actual is None:
            raise NotFound(f"There is no {kind.lower()} named '{member}'.", error_code="PRINCIPAL_DOES_NOT_EXIST")
        if actual != kind:
            raise InvalidRequest(
                f"'{member}' is a {actual.lower()}, not a {kind.lower()}; write {actual} `{member}`.",
                error_code="WRONG_PRINCIPAL_TYPE",
            )
        if action == "ADD":
            if member in current:
                changes.append(f"{member} was already in {group}")
                continue
            if kind == "GROUP" and (member == group or group in _members_closure(ctx, member)):
                raise InvalidRequest(
                    f"Adding group '{member}' to '{group}' would make a cycle: '{group}' is already inside '{member}'.",
                    error_code="GROUP_CYCLE",
                )
            ctx.metastore.add_member(group, member)
            current.add(member)
            changes.append(f"added {kind.lower()} {member} to {group}")
        else:
            if member not in current:
                changes.append(f"{member} was not in {group}")
                continue
            ctx.metastore.remove_member(group, member)
            current.discard(member)
            changes.append(f"removed {kind.lower()} {member} from {group}")
        ctx.changed()
    return changes


def _members_closure(ctx: Context, group: str) -> set[str]:
    """Every user and group inside ``group``, through any depth of nesting."""
    seen: set[str] = set()
    stack = [group]
    while stack:
        for member in ctx.snapshot.members.get(stack.pop(), ()):
            if member not in seen:
                seen.add(member)
                stack.append(member)
    return seen
