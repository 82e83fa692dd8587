"""Catalogs and schemas: create, drop, describe, list; owners and comments of any securable."""

from __future__ import annotations

import fnmatch
import re
import shutil

from catalog.errors import AlreadyExists, InvalidName, InvalidRequest
from catalog.names import FullName, normalize_principal
from catalog.registry.store import RegistryStore, model_dir
from catalog.securables import SYSTEM_CATALOG, Securable, SecurableType
from catalog.services.context import Context

DEFAULT_SCHEMA = "default"
CATALOG = frozenset({SecurableType.CATALOG})
SCHEMA = frozenset({SecurableType.SCHEMA})


def object_name(name: str, what: str, example: str) -> FullName:
    """Parse the name of an object that always has three parts (a registered model, an endpoint):
    ``what`` names the kind in messages, ``example`` is a full name to show."""
    if not isinstance(name, str):
        raise InvalidName(f"A {what} name must be a string like '{example}', not {name!r}.")
    full = FullName.parse(name)
    if len(full.parts) != 3:
        kind = example.rsplit(".", 1)[-1].split("_")[-1]
        raise InvalidName(
            f"{what.capitalize()} name '{name}' must have three parts, catalog.schema.{kind} (e.g. 'main.ml.{full.name}')."
        )
    return full


def refuse_system(securable_or_name: Securable | FullName, what: str) -> None:
    name = securable_or_name.full_name if isinstance(securable_or_name, Securable) else securable_or_name
    if name is not None and name.catalog == SYSTEM_CATALOG:
        raise InvalidRequest(
            f"The system catalog is read-only: cannot {what} '{name}'.", error_code="SYSTEM_CATALOG_READ_ONLY"
        )


def create_catalog(ctx: Context, name: str, *, comment: str | None = None, if_not_exists: bool = False) -> Securable:
    """Create a catalog (with its ``default`` schema), owned by the caller."""
    full_name = FullName.of(name)
    refuse_system(full_name, "create")
    ctx.require("create_catalog", ctx.snapshot.metastore)
    existing = _existing(ctx, full_name, if_not_exists)
    if existing is not None:
        return existing
    store = ctx.metastore
    catalog = store.insert_securable(
        SecurableType.CATALOG, full_name, ctx.snapshot.metastore.id, ctx.principal, comment=comment
    )
    store.insert_securable(
        SecurableType.SCHEMA, full_name.child(DEFAULT_SCHEMA), catalog.id, ctx.principal, comment="Default schema"
    )
    ctx.changed()
    return catalog


def create_schema(
    ctx: Context, name: FullName, *, comment: str | None = None, if_not_exists: bool = False
) -> Securable:
    refuse_system(name, "create a schema in")
    catalog = ctx.lookup(name.parent, CATALOG)
    ctx.require("create_schema", catalog)
    existing = _existing(ctx, name, if_not_exists)
    if existing is not None:
        return existing
    schema = ctx.metastore.insert_securable(SecurableType.SCHEMA, name, catalog.id, ctx.principal, comment=comment)
    ctx.changed()
    return schema


def _existing(ctx: Context, name: FullName, if_not_exists: bool) -> Securable | None:
    """The container already named ``name``: returned for IF NOT EXISTS, an error otherwise."""
    existing = ctx.find(name)
    if existing is not None and not if_not_exists:
        kind = existing.type.value
        raise AlreadyExists(
            f"{existing.type.label.capitalize()} '{name}' already exists. Use CREATE {kind} IF NOT "
            "EXISTS to ignore this.",
            error_code=f"{kind}_ALREADY_EXISTS",
        )
    return existing


def drop_container(ctx: Context, name: FullName, *, if_exists: bool = False, cascade: bool = False) -> bool:
    """DROP CATALOG / DROP SCHEMA. Without CASCADE the container must be empty."""
    kinds = CATALOG if len(name.parts) == 1 else SCHEMA
    if if_exists and ctx.find(name) is None:
        return False
    container = ctx.lookup(name, kinds)
    refuse_system(container, "drop")
    ctx.require("manage", container)
    contents = list(ctx.snapshot.descendants(container))
    if container.type is SecurableType.CATALOG:
        blocking = [
            s
            for s in contents
            if not (
                s.type is SecurableType.SCHEMA
                and s.full_name.name == DEFAULT_SCHEMA
                and not ctx.snapshot.children.get(s.id)
            )
        ]
    else:
        blocking = contents
    if blocking and not cascade:
        kind = container.type.value
        raise InvalidRequest(
            f"{container.type.label.capitalize()} '{name}' is not empty (it holds "
            f"{', '.join(str(s.full_name) for s in blocking[:3])}{', ...' if len(blocking) > 3 else ''}). "
            f"Drop those first, or use DROP {kind} {name.quoted()} CASCADE.",
            error_code=f"{kind}_NOT_EMPTY",
        )
    for securable in contents:
        drop_storage(ctx, securable)
    ctx.metastore.delete_securables([container.id, *(s.id for s in contents)])
    ctx.changed()
    return True


def drop_storage(ctx: Context, securable: Securable) -> None:
    """Drop what a securable holds besides its metastore row: a managed table's data, or a
    registered model's versions (their files go once the drop has committed)."""
    if securable.storage_name:
        ctx.cursor.execute(f"DROP TABLE IF EXISTS {securable.storage_name}")
    if securable.type is SecurableType.MODEL:
        RegistryStore(ctx.cursor).delete_model(securable.id)
        if ctx.home is not None:
            folder = model_dir(ctx.home, securable.id)
            ctx.after_commit.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    if securable.type is SecurableType.ENDPOINT:
        from catalog.services.serving import drop_endpoint_rows  # serving builds on this module

        drop_endpoint_rows(ctx, securable)


def set_owner(ctx: Context, securable: Securable, owner: str) -> Securable:
    """ALTER ... OWNER TO: needs MANAGE (owners, container owners and admins have it), or
    CAN MANAGE on an experiment."""
    owner = normalize_principal(owner)
    ctx.snapshot.require_principal(owner)
    if securable.type is SecurableType.METASTORE:
        ctx.require_admin("transfer the metastore admin role")
    else:
        refuse_system(securable, "change the owner of")
        ctx.require("manage", securable)
    ctx.metastore.update_securable(securable.id, ctx.principal, owner=owner)
    if securable.type is SecurableType.EXPERIMENT:
        ctx.metastore.set_experiment_owner(securable.path, owner)
    ctx.changed()
    return securable


def set_comment(ctx: Context, securable: Securable, comment: str | None) -> None:
    refuse_system(securable, "comment on")
    ctx.require("manage", securable)
    ctx.metastore.update_securable(securable.id, ctx.principal, comment=comment)
    ctx.changed()


def set_column_comment(ctx: Context, table: Securable, column: str, comment: str | None) -> None:
    refuse_system(table, "comment on")
    ctx.require("manage", table)
    names = {c.name.lower(): c.name for c in ctx.metastore.columns(table.id)}
    if column.lower() not in names:
        raise InvalidRequest(
            f"Table '{table.full_name}' has no column '{column}'. Its columns: {', '.join(names.values())}.",
            error_code="UNRESOLVED_COLUMN",
        )
    ctx.metastore.set_column_comment(table.id, names[column.lower()], comment)
    ctx.changed()


def use(ctx: Context, name: FullName) -> None:
    """USE CATALOG c / USE SCHEMA [c.]s: needs USE CATALOG (and USE SCHEMA)."""
    target = ctx.lookup(name, CATALOG if len(name.parts) == 1 else SCHEMA)
    ctx.require("use" if target.type is SecurableType.CATALOG else "use_schema", target)
    ctx.current_catalog = name.catalog
    ctx.current_schema = name.schema if name.schema else DEFAULT_SCHEMA


def visible_children(
    ctx: Context, parent: Securable, kinds: frozenset[SecurableType], pattern: str | None = None
) -> list[Securable]:
    """Children of ``parent`` of the given kinds that the caller may see, optionally filtered
    with a Databricks SHOW pattern ('sales*|ml_*', case-insensitive)."""
    matcher = _pattern(pattern)
    found = [
        child
        for child in ctx.snapshot.children_of(parent)
        if child.type in kinds
        and ctx.authz.can_see(ctx.principal, child)
        and (matcher is None or matcher.fullmatch(child.full_name.name))
    ]
    return sorted(found, key=lambda s: s.full_name)


def _pattern(pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    alternatives = [fnmatch.translate(p.strip().lower()).removesuffix(r"\Z") for p in pattern.split("|")]
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)
