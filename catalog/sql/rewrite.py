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
        elif isinstance(node, exp.CurrentSchema) or name in ("CURRENT_SCHEMA", "CURRENT_DATABASE"):
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
    renames: dict[int, str] = {}
    for cte in tree.find_all(exp.CTE):
        renames[id(cte)] = f"__cte{next(_counter)}_{normalize_part(cte.alias)}"
    by_name: dict[str, list[exp.CTE]] = {}
    for cte in tree.find_all(exp.CTE):
        by_name.setdefault(normalize_part(cte.alias), []).append(cte)
    for table in cte_references:
        name = normalize_part(table.name)
        ctes = by_name.get(name)
        if not ctes:
            continue
        cte = _nearest_cte(table, ctes)
        alias = table.alias or table.name
        table.set("this", exp.to_identifier(renames[id(cte)]))
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    for cte in tree.find_all(exp.CTE):
        alias = cte.args["alias"]
        alias.set("this", exp.to_identifier(renames[id(cte)]))


def _nearest_cte(table: exp.Table, candidates: list[exp.CTE]) -> exp.CTE:
    """The CTE of that name defined in the closest enclosing WITH."""
    node: exp.Expr | None = table
    while node is not None:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            for cte in candidates:
                if cte.parent is with_:
                    return cte
        node = node.parent
    return candidates[0]


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


def strip_qualifiers(tree: exp.Expr, tables: set[FullName]) -> None:
    """Turn ``ml.t.col`` / ``main.ml.t.col`` into ``t.col`` for the tables the statement reads.

    Tables are aliased by their last name part, so the shortened qualifier still binds. Other
    dotted column paths (struct fields such as ``response.status_code``) are left alone.
    """
    suffixes = {name.parts[1:] for name in tables} | {name.parts for name in tables}
    for column in tree.find_all(exp.Column):
        if not column.args.get("db"):
            continue
        parts = [
            p.name.lower()
            for p in (column.args.get("catalog"), column.args.get("db"), column.args.get("table"))
            if p is not None
        ]
        if tuple(parts) in suffixes:
            column.set("db", None)
            column.set("catalog", None)


def to_duckdb(tree: exp.Expr) -> str:
    return tree.sql(dialect="duckdb")
