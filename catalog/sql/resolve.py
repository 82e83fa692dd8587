"""Find the catalog tables a statement names, telling them apart from CTEs and table functions.

A pass over the tree, with no side effects: it returns each ``exp.Table`` node that refers to a
catalog object together with its qualified name. Every such node must later be rewritten to a
physical name (rewrite.py); anything left unresolved is an error, never passed to DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from catalog.errors import InvalidName, SqlError
from catalog.names import FullName, normalize_part


@dataclass(frozen=True)
class TableReference:
    node: exp.Table
    name: FullName


def table_name_parts(table: exp.Table) -> list[str]:
    """The parts of a table node's name, outermost first (catalog, schema, table)."""
    parts = [p.name for p in (table.args.get("catalog"), table.args.get("db"), table.this) if p is not None]
    if any(not p for p in parts):
        raise InvalidName(f"'{table.sql()}' has an empty name part.")
    return parts


def qualify(parts: list[str], current_catalog: str | None, current_schema: str | None) -> FullName:
    """Complete a one- or two-part object name with the session's current catalog and schema."""
    if len(parts) > 3:
        raise InvalidName(f"'{'.'.join(parts)}' has more than three parts; use catalog.schema.name.")
    if len(parts) < 3 and current_catalog is None:
        raise SqlError(
            f"'{'.'.join(parts)}' is not fully qualified and no catalog is in use: write "
            "catalog.schema.name or run USE CATALOG first.",
            error_code="NO_CURRENT_CATALOG",
        )
    if len(parts) == 1:
        if current_schema is None:
            raise SqlError(
                f"'{parts[0]}' needs a schema: write schema.name or run USE SCHEMA first.",
                error_code="NO_CURRENT_SCHEMA",
            )
        parts = [current_catalog, current_schema, parts[0]]
    elif len(parts) == 2:
        parts = [current_catalog, *parts]
    return FullName(tuple(normalize_part(p) for p in parts))


def qualify_container(parts: list[str], current_catalog: str | None) -> FullName:
    """Complete a schema name (``ml`` or ``main.ml``) with the current catalog."""
    if len(parts) == 1:
        if current_catalog is None:
            raise SqlError(
                f"'{parts[0]}' needs a catalog: write catalog.schema or run USE CATALOG.",
                error_code="NO_CURRENT_CATALOG",
            )
        parts = [current_catalog, parts[0]]
    if len(parts) != 2:
        raise InvalidName(f"'{'.'.join(parts)}' is not a schema name; write catalog.schema.")
    return FullName(tuple(normalize_part(p) for p in parts))


def catalog_references(
    tree: exp.Expr,
    current_catalog: str | None,
    current_schema: str | None,
    *,
    exclude: tuple[exp.Expr, ...] = (),
) -> list[TableReference]:
    """Every table node in ``tree`` that names a catalog object, qualified.

    Nodes in ``exclude`` (statement targets handled by their own statement) are skipped.
    """
    references = []
    excluded = {id(node) for node in exclude}
    for table in tree.find_all(exp.Table):
        if id(table) in excluded or table.this is None:
            continue
        if not isinstance(table.this, exp.Identifier):
            if isinstance(table.this, exp.Func):
                continue  # a row generator, vetted by the sandbox
            raise InvalidName(f"'{table.sql()}' is not a table name; use catalog.schema.name.")
        parts = table_name_parts(table)
        if len(parts) == 1 and _is_cte_reference(table, normalize_part(parts[0])):
            continue
        references.append(TableReference(table, qualify(parts, current_catalog, current_schema)))
    return references


def _is_cte_reference(table: exp.Table, name: str) -> bool:
    return bound_cte(table, name) is not None


def bound_cte(table: exp.Table, name: str) -> exp.CTE | None:
    """The CTE a one-part name refers to where the table node stands, or None for a catalog name.

    From the main body of a WITH every CTE is visible; from inside a CTE body only the earlier
    ones (and, if RECURSIVE, the CTE itself). Inner WITHs shadow outer ones.
    """
    path: list[exp.Expr] = [table]
    node: exp.Expr | None = table
    while node is not None and node.parent is not None:
        parent = node.parent
        with_ = parent.args.get("with_") if isinstance(parent, exp.Expr) else None
        if isinstance(with_, exp.With):
            ctes = list(with_.expressions)
            if node is with_:
                inside = path[-2] if len(path) >= 2 else None
                position = next((i for i, c in enumerate(ctes) if c is inside), len(ctes))
                visible = ctes[: position + 1] if with_.args.get("recursive") else ctes[:position]
            else:
                visible = ctes
            for cte in reversed(visible):
                if cte.alias and normalize_part(cte.alias) == name:
                    return cte
        path.append(parent)
        node = parent
    return None
