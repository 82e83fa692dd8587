"""Text to trees: parse with the catalog dialect, bind parameters, explain syntax errors.

Parameters are bound into the tree as literals (never pasted into text), so they work in any
statement, GRANT included, and cannot change its shape.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import logging
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from catalog.errors import SqlError
from catalog.sql.dialect import CatalogDialect

# sqlglot logs a warning when it falls back to Command; we raise a clear error instead.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

DIALECT = CatalogDialect()
_SQLGLOT_CLASS = re.compile(r" for <class '[\w.]*\.(\w+)'>")

Params = Sequence[Any] | Mapping[str, Any] | None


@lru_cache(maxsize=512)
def _parse_cached(text: str) -> tuple[exp.Expr, ...]:
    try:
        tokens = DIALECT.tokenize(text)
        _refuse_empty_list_items(text, tokens)
        trees = DIALECT.parser().parse(tokens, text)
    except ParseError as exc:
        raise _syntax_error(text, exc) from None
    except TokenError as exc:
        raise _token_error(text, exc) from None
    # A comment after the last ';' parses as a bare Semicolon holding it: not a statement.
    return tuple(t for t in trees if t is not None and not isinstance(t, exp.Semicolon))


def _refuse_empty_list_items(text: str, tokens: list[Token]) -> None:
    """``SELECT 1,, 2``: sqlglot skips the empty item; Databricks calls it a syntax error."""
    for previous, token in itertools.pairwise(tokens):
        if previous.token_type is TokenType.COMMA and token.token_type is TokenType.COMMA:
            raise ParseError.new(
                "Expected an expression between the commas", line=token.line, col=token.col, highlight=","
            )


def _token_error(text: str, exc: TokenError) -> SqlError:
    """sqlglot's tokenizer errors carry no position; find it from the text they quote."""
    quoted = re.search(r"Error tokenizing '(.*)'", str(exc), re.DOTALL)
    offset = text.find(quoted.group(1)) + len(quoted.group(1)) if quoted and quoted.group(1) in text else len(text)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1)
    return SqlError(
        f"Syntax error at line {line}, column {column}: unterminated string, identifier or comment.",
        error_code="PARSE_SYNTAX_ERROR",
        details={"line": line, "column": column, "statement": text},
    )


def parse(text: str, params: Params = None) -> list[exp.Expr]:
    """Parse one or more ``;``-separated statements and bind ``params`` into them.

    Returns fresh trees the caller may change. Raises SqlError (PARSE_SYNTAX_ERROR) with the
    line and column of the first error, or UNSUPPORTED_STATEMENT for statements the catalog
    does not run.
    """
    if not isinstance(text, str) or not text.strip():
        raise SqlError(
            "The SQL text is empty; pass a statement such as 'SHOW CATALOGS'.", error_code="PARSE_EMPTY_STATEMENT"
        )
    trees = [tree.copy() for tree in _parse_cached(text)]
    if not trees:
        raise SqlError("The SQL text holds no statement.", error_code="PARSE_EMPTY_STATEMENT")
    for tree in trees:
        if isinstance(tree, exp.Command):
            raise SqlError(
                f"{tree.name.upper()} statements of this form are not supported by the catalog. See the "
                "README for the statements it runs.",
                error_code="UNSUPPORTED_STATEMENT",
            )
    _bind(trees, params)
    return trees


def _syntax_error(text: str, exc: ParseError) -> SqlError:
    first = exc.errors[0] if exc.errors else {}
    line, column = first.get("line"), first.get("col")
    description = str(first.get("description") or exc).split("\n")[0]
    if "<Token" in description:  # sqlglot prints the token object; name the text instead
        description = description.split(" but got <Token")[0] + f" but got '{first.get('highlight', '')}'"
    description = _SQLGLOT_CLASS.sub(r" in \1", description)
    near = first.get("highlight")
    where = f" at line {line}, column {column}" if line else ""
    near_text = f" near '{near}'" if near else ""
    return SqlError(
        f"Syntax error{where}{near_text}: {description}.",
        error_code="PARSE_SYNTAX_ERROR",
        details={"line": line, "column": column, "statement": text},
    )


def _in_text_order(tree: exp.Expr) -> list[exp.Placeholder]:
    """The markers of one statement in the order they appear in its text (the parser records
    each ? marker's offset; a walk of the tree alone puts a CTE's or a LIMIT's marker out of place)."""
    found = list(tree.find_all(exp.Placeholder))
    return sorted(found, key=lambda marker: marker.meta.get("offset", 0))


def _bind(trees: list[exp.Expr], params: Params) -> None:
    placeholders = [p for tree in trees for p in _in_text_order(tree)]
    if not placeholders:
        if params:
            raise SqlError(
                "Parameters were given but the statement has no ? or :name markers.", error_code="UNBOUND_SQL_PARAMETER"
            )
        return
    if isinstance(params, str | bytes):
        raise SqlError(
            "Parameters must be a list (for ?) or a dict (for :name), not a string.", error_code="UNBOUND_SQL_PARAMETER"
        )
    if params is None:
        raise SqlError(
            "The statement has parameter markers but no parameters were given.", error_code="UNBOUND_SQL_PARAMETER"
        )
    named = isinstance(params, Mapping)
    positional = iter(params) if not named else None
    used: set[str] = set()
    for marker in placeholders:
        name = "" if marker.name in ("", "?") else marker.name
        if named:
            if not name:
                raise SqlError(
                    "Use :name markers with a dict of parameters, or ? with a list.", error_code="UNBOUND_SQL_PARAMETER"
                )
            if name not in params:
                raise SqlError(f"No value was given for parameter :{name}.", error_code="UNBOUND_SQL_PARAMETER")
            value = params[name]
            used.add(name)
        else:
            if name:
                raise SqlError(f"Parameter :{name} needs a dict of parameters.", error_code="UNBOUND_SQL_PARAMETER")
            try:
                value = next(positional)
            except StopIteration:
                raise SqlError(
                    "There are more ? markers than parameters.", error_code="UNBOUND_SQL_PARAMETER"
                ) from None
        marker.replace(literal(value))
    if not named and next(positional, _END) is not _END:
        raise SqlError("There are more parameters than ? markers.", error_code="UNBOUND_SQL_PARAMETER")


_END = object()


def literal(value: Any) -> exp.Expr:
    """A SQL literal for a Python value (strings, numbers, booleans, None, dates)."""
    if value is None or isinstance(value, bool | int | float | str | decimal.Decimal):
        return exp.convert(value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    raise SqlError(
        f"Parameters of type {type(value).__name__} are not supported; pass str, "
        "int, float, bool, None, date or datetime.",
        error_code="UNBOUND_SQL_PARAMETER",
    )
