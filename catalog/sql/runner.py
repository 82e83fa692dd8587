"""Run SQL text for a session: parse, check, classify, then each statement in its own transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from catalog.errors import CatalogError, SqlError
from catalog.sql import planner
from catalog.sql.dialect import CatalogDialect
from catalog.sql.parse import DIALECT, Params, parse
from catalog.sql.statements import classify

if TYPE_CHECKING:
    from catalog.engine import Session
    from catalog.services.context import Context

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
    result: pd.DataFrame | None = None
    for tree, statement in zip(trees, statements, strict=True):
        command = text if len(trees) == 1 else tree.sql(dialect=CatalogDialect)
        result = session.run(
            statement.action,
            lambda ctx, tree=tree, statement=statement: statement.handler(ctx, tree),
            writes=statement.writes,
            request_params={"commandText": command},
            result_summary=lambda frame: f"{len(frame)} row(s)",
            lineage="SQL" if statement.writes_data else None,
        )
    assert result is not None  # parse() refuses text without statements
    return result


def execute_in(ctx: Context, text: str) -> pd.DataFrame:
    """Run statements inside an existing context (and its transaction), e.g. a policy apply."""
    result = pd.DataFrame()
    for tree in parse(text):
        planner.check(tree)
        result = classify(tree).handler(ctx, tree)
    return result


def split_statements(text: str) -> list[str]:
    """Split a script at its top-level semicolons, keeping each statement's original text."""
    try:
        tokens = DIALECT.tokenize(text)
    except TokenError as exc:
        raise SqlError(f"Syntax error: {exc}", error_code="PARSE_SYNTAX_ERROR") from None
    statements, start = [], 0
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            statements.append(text[start : token.start])
            start = token.end + 1
    statements.append(text[start:])
    return [s.strip() for s in statements if s.strip()]
