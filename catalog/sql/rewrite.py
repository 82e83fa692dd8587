"""Tree-to-tree passes that turn a resolved Databricks statement into safe DuckDB SQL.

Each function is one pass: substitute session functions, rename CTEs, point catalog names at
physical tables or subqueries, and finally print DuckDB SQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from sqlglot import exp

from catalog.errors import SqlError
from catalog.names import FullName, normalize_part
from catalog.sql.resolve import bound_cte


def substitute_session_functions(
    tree: exp.Expr,
    *,
    principal: str,
    is_member: Callable[[str], bool],
    current_catalog: str | None,
    current_schema: str | None,
) -> None:
    """Evaluate current_user(), is_account_group_member('g'), ... for the querying principal.

    This is what makes dynamic views work: the view text is the same for everyone, the
    literals differ per reader.
    """
    for node in list(tree.find_all(exp.Func)):
        name = node.sql_name().upper() if not isinstance(node, exp.Anonymous) else node.name.upper()
        if isinstance(node, exp.CurrentUser) or name in ("CURRENT_USER", "SESSION_USER", "USER"):
            node.replace(exp.Literal.string(principal))
        elif name in ("IS_ACCOUNT_GROUP_MEMBER", "IS_MEMBER"):
            args = node.expressions if isinstance(node, exp.Anonymous) else [node.this]
            if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
                raise SqlError(
                    f"{name.lower()}() takes one string literal, the group name.", error_code="INVALID_PARAMETER_VALUE"
                )
            node.replace(exp.Boolean(this=is_member(args[0].name.strip().lower())))
        elif isinstance(node, exp.CurrentCatalog) or name == "CURRENT_CATALOG":
            node.replace(exp.Literal.string(current_catalog) if current_catalog else exp.null())
        elif isinstance(node, exp.CurrentSchema | exp.CurrentDatabase) or name in (
            "CURRENT_SCHEMA",
            "CURRENT_DATABASE",
        ):
            node.replace(exp.Literal.string(current_schema) if current_schema else exp.null())


def check_reserved_identifiers(tree: exp.Expr) -> None:
    """Names starting with '__' belong to the engine's own relations; users may not write them."""
    for identifier in tree.find_all(exp.Identifier):
        if identifier.name.startswith("__"):
            raise SqlError(
                f"The name '{identifier.name}' is reserved: names starting with '__' are internal.",
                error_code="INVALID_IDENTIFIER",
            )


_counter = itertools.count()


def rename_ctes(tree: exp.Expr, cte_references: list[exp.Table]) -> None:
    """Give every CTE a unique internal name and point its references at it.

    A reference the resolver took for a CTE can then only ever reach that CTE in DuckDB, never
    an object of DuckDB's own catalog that happens to share its name.
    """
    ctes = list(tree.find_all(exp.CTE))
    renames = {id(cte): f"__cte{next(_counter)}_{normalize_part(cte.alias)}" for cte in ctes}
    for table in cte_references:
        cte = bound_cte(table, normalize_part(table.name))
        if cte is None:
            continue
        alias = table.alias or table.name
        table.set("this", exp.to_identifier(renames[id(cte)]))
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    for cte in ctes:
        cte.args["alias"].set("this", exp.to_identifier(renames[id(cte)]))


def name_projections(tree: exp.Expr) -> None:
    """Alias every unnamed computed column with its own text, as Databricks names it.

    Without this DuckDB would name the column after the rewritten SQL, which shows physical
    table names and the text of views and system tables.
    """
    for select in tree.find_all(exp.Select):
        named = []
        for projection in select.expressions:
            if not isinstance(projection, exp.Alias | exp.Column | exp.Star):
                text = projection.sql(dialect="databricks", normalize_functions="lower")
                projection = exp.alias_(projection, text, quoted=True)
            named.append(projection)
        select.set("expressions", named)


def point_at_physical(table: exp.Table, storage_name: str, alias: str) -> None:
    """Replace a catalog name with its managed table, keeping the name usable as a qualifier."""
    schema, _, name = storage_name.partition(".")
    table.set("catalog", None)
    table.set("db", exp.to_identifier(schema))
    table.set("this", exp.to_identifier(name, quoted=True))
    if not table.alias:
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))


def replace_with_subquery(table: exp.Table, query: exp.Query, alias: str) -> None:
    """Replace a view or system table reference with its (already rewritten) query."""
    subquery = exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(table.alias or alias)))
    if table.args.get("joins") or table.args.get("laterals"):
        raise SqlError(f"Unexpected clauses on {table.sql()}.", error_code="UNSUPPORTED_FEATURE")
    table.replace(subquery)


def strip_qualifiers(tree: exp.Expr, aliases: dict[FullName, str]) -> None:
    """Turn ``ml.t.col`` / ``main.ml.t.col`` into ``alias.col`` for the tables the statement reads.

    Other dotted column paths (struct fields such as ``response.status_code``) are left alone.
    """
    by_suffix = {}
    for name, alias in aliases.items():
        by_suffix[name.parts] = alias
        by_suffix[name.parts[1:]] = alias
    for column in tree.find_all(exp.Column):
        if not column.args.get("db"):
            continue
        parts = tuple(
            p.name.lower()
            for p in (column.args.get("catalog"), column.args.get("db"), column.args.get("table"))
            if p is not None
        )
        if parts in by_suffix:
            column.set("db", None)
            column.set("catalog", None)
            column.set("table", exp.to_identifier(by_suffix[parts]))


def unqualify_assignments(tree: exp.Expr) -> None:
    """``UPDATE SET t.v = ...`` to ``SET v = ...``: DuckDB takes only bare column names there."""
    for update in tree.find_all(exp.Update):
        for assignment in update.expressions:
            target = assignment.this if isinstance(assignment, exp.EQ) else None
            if isinstance(target, exp.Column) and target.args.get("table"):
                for part in ("table", "db", "catalog"):
                    target.set(part, None)


def to_duckdb(tree: exp.Expr, *, consume: bool = False) -> str:
    """DuckDB SQL for ``tree``; with ``consume`` sqlglot may change the tree while generating."""
    return tree.sql(dialect="duckdb", copy=not consume)
