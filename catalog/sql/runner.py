"""Run SQL text for a session: parse, check, classify, then each statement in its own transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from catalog.errors import CatalogError
from catalog.sql import planner
from catalog.sql.dialect import CatalogDialect
from catalog.sql.parse import Params, parse
from catalog.sql.statements import classify

if TYPE_CHECKING:
    from catalog.engine import Session

REFUSED_ACTION = "commandSubmit"


def execute(session: Session, text: str, params: Params = None) -> pd.DataFrame:
    """Run one or more ``;``-separated statements; return the last one's result.

    Each statement commits on its own; a failing statement rolls back alone and stops the
    script. Statements refused before running (syntax, sandbox) are audited too.
    """
    try:
        trees = parse(text, params)
        statements = []
        for tree in trees:
            planner.check(tree)
            statements.append(classify(tree))
    except CatalogError as error:
        session.record_refusal(REFUSED_ACTION, {"commandText": text}, error)
        raise
    result = pd.DataFrame()
    for tree, statement in zip(trees, statements, strict=True):
        command = text if len(trees) == 1 else tree.sql(dialect=CatalogDialect)
        result = session.run(
            statement.action,
            lambda ctx, tree=tree, statement=statement: statement.handler(ctx, tree),
            writes=statement.writes,
            request_params={"commandText": command},
            result_summary=lambda frame: f"{len(frame)} row(s)",
        )
    return result
