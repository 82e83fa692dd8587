"""Column lineage of SQL writes: which expression feeds which target column, per statement kind.

Each function takes the statement as the user wrote it, with catalog references fully
qualified (``planner.qualify_names``), and returns the ``columns`` callback that
:func:`catalog.lineage.capture.record_write` runs once the schemas are known.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlglot import exp

from catalog.lineage import columns
from catalog.lineage.columns import ColumnEdge, SchemaMap

ColumnsOf = Callable[[SchemaMap], list[ColumnEdge]]


def of_query(query: exp.Expr | None, targets: Sequence[str] | None = None) -> ColumnsOf | None:
    """CTAS, CREATE VIEW (targets None: same names) and INSERT ... SELECT (targets by position)."""
    if not isinstance(query, exp.Query):
        return None  # VALUES: no source columns
    return lambda schema: columns.of_query(query, schema, targets)


def of_update(statement: exp.Update) -> ColumnsOf:
    pairs = [_assignment(eq) for eq in statement.expressions if isinstance(eq, exp.EQ)]
    return lambda schema: columns.of_assignments(statement.this, pairs, schema)


def of_merge(statement: exp.Merge, target_columns: Sequence[str]) -> ColumnsOf:
    """SET and INSERT clauses of every WHEN branch, ``SET *`` and ``INSERT *`` by column name."""
    source = statement.args["using"]
    source_alias = source.alias_or_name
    pairs: list[tuple[str, exp.Expr]] = []
    whens = statement.args.get("whens")
    for when in whens.expressions if whens else ():
        then = when.args.get("then")
        if isinstance(then, exp.Update):
            if any(isinstance(e, exp.Star) for e in then.expressions):
                pairs += [(c, exp.column(c, table=source_alias)) for c in target_columns]
            else:
                pairs += [_assignment(eq) for eq in then.expressions if isinstance(eq, exp.EQ)]
        elif isinstance(then, exp.Insert):
            if isinstance(then.this, exp.Star):
                pairs += [(c, exp.column(c, table=source_alias)) for c in target_columns]
            elif isinstance(then.this, exp.Tuple) and isinstance(then.expression, exp.Tuple):
                names = [c.name for c in then.this.expressions]
                pairs += list(zip(names, then.expression.expressions, strict=False))
    return lambda schema: columns.of_assignments(
        statement.this, pairs, schema, source=source, on=statement.args.get("on")
    )


def _assignment(eq: exp.EQ) -> tuple[str, exp.Expr]:
    return eq.this.name, eq.expression
