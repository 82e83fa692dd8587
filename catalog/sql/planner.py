"""Plan a query: resolve every name, authorize every read, and rewrite to physical DuckDB SQL.

Views are expanded in place. Their references are authorized against the view's owner (Unity
Catalog's rule: the reader needs SELECT on the view, the owner needs it on what the view reads),
while current_user() and is_account_group_member() inside them evaluate for the reader.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
from sqlglot import exp

from catalog.authz.authorizer import AccessDenied
from catalog.errors import NotFound, SqlError
from catalog.names import FullName
from catalog.securables import Securable, SecurableType
from catalog.services import system_tables
from catalog.services.context import Context
from catalog.sql import rewrite, sandbox
from catalog.sql.parse import parse
from catalog.sql.resolve import TableReference, catalog_references
from catalog.store.database import fetch_frame

MAX_VIEW_DEPTH = 16


@dataclass
class Plan:
    tree: exp.Expr
    reads: list[Securable] = field(default_factory=list)  # everything read, views' bases included
    sources: list[Securable] = field(default_factory=list)  # what the statement itself names
    uses_system_tables: bool = False

    @cached_property
    def sql(self) -> str:
        """The DuckDB SQL to run. Generating consumes ``tree`` (no defensive copy: it is the
        statement's own), so it happens once."""
        return rewrite.to_duckdb(self.tree, consume=True)


def check(tree: exp.Expr) -> None:
    """Statement-level checks on user SQL, before anything is resolved."""
    rewrite.check_reserved_identifiers(tree)
    sandbox.check(tree)


def plan(
    ctx: Context,
    tree: exp.Expr,
    *,
    exclude: tuple[exp.Expr, ...] = (),
    reader: str | None = None,
    depth: int = 0,
) -> Plan:
    """Rewrite ``tree`` in place so that it reads only physical tables and spliced subqueries.

    ``exclude`` holds statement targets (INSERT INTO t ...) that the caller handles itself.
    ``reader`` is whose privileges the reads are checked against (a view's owner); by default
    the acting principal's.
    """
    rewrite.name_projections(tree)
    rewrite.substitute_session_functions(
        tree,
        principal=ctx.principal,
        is_member=lambda group: group in ctx.authz.index.principals_of(ctx.principal)[1:],
        current_catalog=ctx.current_catalog,
        current_schema=ctx.current_schema,
    )
    references = catalog_references(tree, ctx.current_catalog, ctx.current_schema, exclude=exclude)
    resolved = {id(r.node) for r in references} | {id(node) for node in exclude}
    cte_references = [
        t for t in tree.find_all(exp.Table) if isinstance(t.this, exp.Identifier) and id(t) not in resolved
    ]
    rewrite.rename_ctes(tree, cte_references)
    aliases = _aliases(references)
    result = Plan(tree)
    for reference in references:
        securable = ctx.lookup_relation(reference.name, as_principal=reader)
        ctx.require("read", securable, as_principal=reader)
        result.reads.append(securable)
        result.sources.append(securable)
        alias = aliases[reference.name]
        if securable.is_system:
            if system_tables.reads_audit_log(securable.full_name):
                ctx.see_audit_log()
            rewrite.replace_with_subquery(reference.node, system_tables.query(securable.full_name), alias)
            result.uses_system_tables = True
        elif securable.type is SecurableType.VIEW:
            body = _expand_view(ctx, securable, depth)
            result.reads.extend(body.reads)
            result.uses_system_tables |= body.uses_system_tables
            rewrite.replace_with_subquery(reference.node, body.tree, alias)
        else:
            point_at_storage(ctx, reference.node, securable, alias=alias)
    rewrite.strip_qualifiers(tree, aliases)
    return result


def _aliases(references: list[TableReference]) -> dict[FullName, str]:
    """The alias each referenced table gets when it has none: its name, or, when two different
    tables share that name (main.a.t and main.b.t), schema_name so that both stay addressable
    as schema.table."""
    names_by_last: dict[str, set[FullName]] = defaultdict(set)
    for reference in references:
        names_by_last[reference.name.name].add(reference.name)
    return {
        r.name: r.name.name if len(names_by_last[r.name.name]) == 1 else f"{r.name.schema}_{r.name.name}"
        for r in references
    }


def point_at_storage(ctx: Context, node: exp.Table, table: Securable, *, alias: str | None) -> None:
    ctx.physical_names[table.storage_name.split(".")[1]] = str(table.full_name)
    rewrite.point_at_physical(node, table.storage_name, alias)


def _expand_view(ctx: Context, view: Securable, depth: int) -> Plan:
    if depth >= MAX_VIEW_DEPTH:
        raise SqlError(
            f"View '{view.full_name}' nests views more than {MAX_VIEW_DEPTH} deep (or refers to itself).",
            error_code="RECURSIVE_VIEW",
        )
    (body,) = parse(view.definition)
    check(body)
    try:
        return plan(ctx, body, reader=view.owner, depth=depth + 1)
    except (NotFound, AccessDenied) as problem:
        # The reader learns which view failed; its owner and admins also learn why (the reader
        # may not be allowed to know what the view reads).
        insider = ctx.principal == view.owner or ctx.is_admin()
        cause = problem.message if insider else "ask its owner or a metastore admin to check it"
        message = f"View '{view.full_name}' (owner {view.owner}) cannot be read: {cause}"
        if isinstance(problem, AccessDenied):
            raise AccessDenied(message, problem.decisions) from None
        raise NotFound(message, error_code=problem.error_code) from None


def qualify_names(ctx: Context, tree: exp.Expr) -> exp.Expr:
    """A copy of ``tree`` with every catalog reference written as catalog.schema.name.

    This is the text stored for a view, so that it means the same whatever the reader's
    current catalog and schema.
    """
    copy = tree.copy()
    for reference in catalog_references(copy, ctx.current_catalog, ctx.current_schema):
        catalog, schema, name = reference.name.parts
        reference.node.set("catalog", exp.to_identifier(catalog))
        reference.node.set("db", exp.to_identifier(schema))
        reference.node.set("this", exp.to_identifier(name))
    return copy


def run(ctx: Context, planned: Plan) -> pd.DataFrame:
    """Execute a planned query and return its rows."""
    return execute(ctx, planned, lambda sql: fetch_frame(ctx.cursor, sql))


def execute(ctx: Context, planned: Plan, action):
    """Run ``action(sql)`` with the per-reader relations registered when system tables are read."""
    sql = planned.sql
    if not planned.uses_system_tables:
        return action(sql)
    with system_tables.relations(ctx.cursor, visible_for(ctx), ctx.authz.index.principals_of(ctx.principal)):
        return action(sql)


def visible_for(ctx: Context) -> dict[str, bool]:
    """Securable id -> whether the reader may manage it, for every securable they may see."""
    snapshot, authz = ctx.snapshot, ctx.authz
    if authz.is_admin(ctx.principal):
        return dict.fromkeys(snapshot.by_id, True)
    return {sid: authz.can_manage(ctx.principal, snapshot.get(sid)) for sid in authz.visible_ids(ctx.principal)}
