"""Column lineage with sqlglot: which source columns each written column is computed from.

Statements are analysed as the user wrote them, with every catalog reference spelled
catalog.schema.name, against the columns the metastore records for the relations they read.
A view is a source in its own right (its own lineage was recorded when it was created).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.scope import build_scope

log = logging.getLogger("catalog.lineage")

# catalog -> schema -> table -> column -> type, as sqlglot's MappingSchema takes it
SchemaMap = dict[str, dict[str, dict[str, dict[str, str]]]]

IDENTITY, TRANSFORMATION, AGGREGATION = "IDENTITY", "TRANSFORMATION", "AGGREGATION"


@dataclass(frozen=True, order=True)
class ColumnEdge:
    """``target_column`` of the written table is computed from ``source_table.source_column``."""

    target_column: str
    source_table: str
    source_column: str
    transformation: str = TRANSFORMATION


def of_query(query: exp.Expr, schema: SchemaMap, targets: Sequence[str] | None = None) -> list[ColumnEdge]:
    """Edges for a query whose output columns are written to ``targets`` by position
    (INSERT INTO t (a, b) SELECT ...), or to columns of the same names (CTAS, views).

    Pipelines run the same statements over and over, so results are cached by the query's
    text, the targets and the schemas it was analysed against."""
    key = (query.sql(dialect="databricks"), None if targets is None else tuple(targets), _frozen(schema))
    found = _cache.get(key)
    if found is None:
        found = tuple(_analyse(query, schema, targets))
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))  # the oldest entry
        _cache[key] = found
    return list(found)


_CACHE_SIZE = 256
_cache: dict[tuple, tuple[ColumnEdge, ...]] = {}


def _frozen(schema: SchemaMap) -> tuple:
    return tuple(
        (catalog, db, table, tuple(columns.items()))
        for catalog, dbs in sorted(schema.items())
        for db, tables in sorted(dbs.items())
        for table, columns in sorted(tables.items())
    )


def _analyse(query: exp.Expr, schema: SchemaMap, targets: Sequence[str] | None) -> list[ColumnEdge]:
    try:
        scope = build_scope(_qualified(query, schema))
        if scope is None:
            return []
        outputs = list(scope.expression.named_selects) if isinstance(scope.expression, exp.Query) else []
        nodes = lineage(None, scope.expression, schema, dialect="databricks", scope=scope, copy=False)
    except (SqlglotError, KeyError, ValueError, AttributeError) as problem:
        log.warning("column lineage skipped: %s", problem)
        return []
    names = list(targets) if targets is not None else outputs
    edges: list[ColumnEdge] = []
    for output, target in zip(outputs, names, strict=False):
        node = nodes.get(output)
        if node is not None:
            edges.extend(_edges(target, node))
    return sorted(set(edges))


def of_assignments(
    target: exp.Table,
    assignments: Iterable[tuple[str, exp.Expr]],
    schema: SchemaMap,
    *,
    source: exp.Expr | None = None,
    on: exp.Expr | None = None,
) -> list[ColumnEdge]:
    """Edges for ``column = expression`` pairs evaluated over the target table, joined with
    ``source`` when there is one: UPDATE ... SET, and MERGE's SET and INSERT ... VALUES."""
    pairs = list(assignments)
    if not pairs:
        return []
    select = exp.select(*(exp.alias_(value.copy(), f"__c{i}") for i, (_, value) in enumerate(pairs)))
    select = select.from_(target.copy())
    if source is not None:
        select = select.join(source.copy(), on=on.copy() if on is not None else None)
    return of_query(select, schema, [column for column, _ in pairs])


def _qualified(query: exp.Expr, schema: SchemaMap) -> exp.Expr:
    from sqlglot.optimizer.qualify import qualify

    return qualify(
        query.copy(),
        schema=schema,
        dialect="databricks",
        validate_qualify_columns=False,
        identify=False,
    )


def _edges(target: str, node: Node) -> list[ColumnEdge]:
    kind = _transformation(node.expression)
    edges = []
    for leaf in node.walk():
        if leaf.downstream or not isinstance(leaf.source, exp.Table):
            continue
        table = leaf.source
        if not (table.catalog and table.db):
            continue  # a CTE or derived table with no catalog relation behind it
        source_table = f"{table.catalog}.{table.db}.{table.name}".lower()
        # The leaf is named by the column's SQL (``t."a.b"``): parse it, not split it on dots.
        edges.append(ColumnEdge(target.lower(), source_table, exp.to_column(leaf.name).name.lower(), kind))
    return edges


def _transformation(projection: exp.Expr) -> str:
    inner = projection.unalias() if isinstance(projection, exp.Alias) else projection
    if isinstance(inner, exp.Column):
        return IDENTITY
    if inner.find(exp.AggFunc) is not None:
        return AGGREGATION
    return TRANSFORMATION
