"""The filter and order grammar of ``search_registered_models`` / ``search_model_versions``.

MLflow's registry search takes a small SQL-like filter (``name LIKE 'main.ml.%'``,
``run_id = '...'``, ``tags.team = 'growth'``, ``version_number > 2``) joined with AND. We parse it
with sqlglot (Databricks dialect: backquoted keys such as ``tags.`my key``` work) and accept only
AND of ``field op literal`` clauses, so nothing a caller writes ever reaches a database: the
clauses are evaluated in Python over the models the caller may see.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlglot
from sqlglot import exp

from catalog.errors import InvalidRequest
from catalog.registry.entities import ModelVersion, RegisteredModel

TAG_PREFIX = "tags."
Row = Mapping[str, Any]  # field name -> value, with tags under "tags" as a dict


@dataclass(frozen=True)
class Fields:
    """What a search may filter and order on: field name -> numeric?"""

    what: str  # 'registered models' | 'model versions', for messages
    names: Mapping[str, bool]
    orderable: Sequence[str]


MODEL_FIELDS = Fields(
    "registered models",
    {"name": False, "owner": False, "description": False},
    ("name", "creation_timestamp", "last_updated_timestamp"),
)
VERSION_FIELDS = Fields(
    "model versions",
    {
        "name": False,
        "version_number": True,
        "run_id": False,
        "source_path": False,
        "user_id": False,
        "current_stage": False,
        "status": False,
    },
    ("name", "version_number", "creation_timestamp", "last_updated_timestamp"),
)

_OPERATORS: dict[type, str] = {
    exp.EQ: "=",
    exp.NEQ: "!=",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.Like: "LIKE",
    exp.ILike: "ILIKE",
    exp.In: "IN",
}
_NUMERIC_OPS = frozenset({"=", "!=", ">", ">=", "<", "<="})
_STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE", "IN"})


def _error(fields: Fields, text: str, problem: str) -> InvalidRequest:
    known = ", ".join([*fields.names, "tags.<key>"])
    return InvalidRequest(
        f"Invalid filter for {fields.what} {text!r}: {problem}. Write clauses such as name LIKE 'main.ml.%' "
        f"or tags.team = 'growth', joined with AND; fields: {known}.",
        error_code="INVALID_PARAMETER_VALUE",
    )


def compile_filter(text: str | None, fields: Fields) -> Callable[[Row], bool]:
    """A predicate over rows; an empty filter matches everything."""
    if not text or not text.strip():
        return lambda row: True
    try:
        tree = sqlglot.parse_one(text, read="databricks", into=exp.Condition)
    except sqlglot.errors.ParseError as error:
        raise _error(fields, text, str(error).splitlines()[0]) from None
    clauses = (
        [_clause(node, fields, text) for node in tree.flatten()]
        if isinstance(tree, exp.And)
        else [_clause(tree, fields, text)]
    )
    return lambda row: all(clause(row) for clause in clauses)


def _clause(node: exp.Expression, fields: Fields, text: str) -> Callable[[Row], bool]:
    if isinstance(node, exp.Paren):
        node = node.unnest()
    negate = False
    if isinstance(node, exp.Not) and isinstance(node.this, exp.In):  # NOT IN
        node, negate = node.this, True
    operator = _OPERATORS.get(type(node))
    if operator is None:
        raise _error(fields, text, f"'{node.sql(dialect='databricks')}' is not a comparison (OR is not supported)")
    left = node.this
    if not isinstance(left, exp.Column):
        raise _error(fields, text, f"'{left.sql(dialect='databricks')}' is not a field")
    key, numeric = _field(left, fields, text)
    if operator == "IN":
        values = [_literal(v, numeric, fields, text) for v in node.expressions]
        if numeric:
            raise _error(fields, text, f"IN does not apply to the number {key}")
        test = _in(values)
    else:
        value = _literal(node.expression, numeric, fields, text)
        if operator not in (_NUMERIC_OPS if numeric else _STRING_OPS):
            raise _error(fields, text, f"{operator} does not apply to {key}")
        test = _compare(operator, value)

    def clause(row: Row) -> bool:
        actual = row.get("tags", {}).get(key[len(TAG_PREFIX) :]) if key.startswith(TAG_PREFIX) else row.get(key)
        if actual is None:
            return False  # a missing tag or an unset field never matches, != included (as MLflow)
        return test(actual) != negate

    return clause


def _field(column: exp.Column, fields: Fields, text: str) -> tuple[str, bool]:
    parts = [p.name for p in column.parts]
    if len(parts) == 2 and parts[0].lower() == "tags":
        return TAG_PREFIX + parts[1], False
    if len(parts) == 1 and parts[0] in fields.names:
        return parts[0], fields.names[parts[0]]
    raise _error(fields, text, f"unknown field '{'.'.join(parts)}'")


def _literal(node: exp.Expression, numeric: bool, fields: Fields, text: str) -> Any:
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        node = exp.Literal.number(f"-{node.this.name}")
    if not isinstance(node, exp.Literal):
        raise _error(fields, text, f"'{node.sql(dialect='databricks')}' is not a quoted string or a number")
    if numeric:
        try:
            return float(node.name)
        except ValueError:
            raise _error(fields, text, f"'{node.name}' is not a number") from None
    if not node.is_string:
        raise _error(fields, text, f"{node.name} must be quoted, e.g. '{node.name}'")
    return node.name


def _compare(operator: str, value: Any) -> Callable[[Any], bool]:
    if operator in ("LIKE", "ILIKE"):
        pattern = like_pattern(value, case_sensitive=operator == "LIKE")
        return lambda actual: pattern.fullmatch(str(actual)) is not None
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    check = compare[operator]
    return lambda actual: check(actual, value)


def _in(values: list[Any]) -> Callable[[Any], bool]:
    allowed = frozenset(values)
    return lambda actual: actual in allowed


@cache
def like_pattern(pattern: str, *, case_sensitive: bool) -> re.Pattern[str]:
    """SQL LIKE (``%`` any run, ``_`` one character) as a regular expression."""
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def sort_rows(rows: list[Row], order_by: Sequence[str] | None, fields: Fields, default: Sequence[str]) -> list[Row]:
    """Sort by ``order_by`` entries ('name', 'version_number DESC', ...), then by ``default``."""
    terms = [_order_term(entry, fields) for entry in (order_by or [])]
    terms += [_order_term(entry, fields) for entry in default if entry.split()[0] not in {t[0] for t in terms}]
    ordered = list(rows)
    for key, descending in reversed(terms):  # stable sorts, least significant first
        # Rows without the field go last in either direction.
        ordered.sort(
            key=lambda row, k=key, d=descending: (
                (row.get(k) is None) != d,
                row.get(k) if row.get(k) is not None else 0,
            ),
            reverse=descending,
        )
    return ordered


def _order_term(entry: str, fields: Fields) -> tuple[str, bool]:
    words = entry.split() if isinstance(entry, str) else []
    if (
        not words
        or len(words) > 2
        or words[0] not in fields.orderable
        or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC"))
    ):
        raise InvalidRequest(
            f"Invalid order_by entry {entry!r} for {fields.what}: write a field of "
            f"{', '.join(fields.orderable)}, optionally followed by ASC or DESC.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return words[0], len(words) == 2 and words[1].upper() == "DESC"


def model_fields(model: RegisteredModel) -> dict[str, Any]:
    """What a filter or order on registered models sees of one."""
    return {
        "name": model.name,
        "owner": model.owner,
        "description": model.description,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
        "tags": model.tags,
    }


def version_fields(version: ModelVersion) -> dict[str, Any]:
    """What a filter or order on model versions sees of one."""
    return {
        "name": version.name,
        "version_number": float(version.version),
        "run_id": version.run_id,
        "source_path": version.source,
        "user_id": version.user_id,
        "current_stage": version.current_stage,
        "status": version.status,
        "creation_timestamp": version.creation_timestamp,
        "last_updated_timestamp": version.last_updated_timestamp,
        "tags": version.tags,
    }


def check_limit(max_results: int, most: int) -> int:
    if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= most:
        raise InvalidRequest(
            f"max_results must be a whole number from 1 to {most}, not {max_results!r}.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return max_results


def page_of(items: list, limit: int, page_token: str | None) -> tuple[list, str | None]:
    """One page of ``items`` and the token of the next (an offset), None after the last."""
    start = 0
    if page_token:
        try:
            start = int(page_token)
        except ValueError:
            start = -1
        if start < 0:
            raise InvalidRequest(f"Invalid page_token {page_token!r}.", error_code="INVALID_PARAMETER_VALUE")
    page = items[start : start + limit]
    return page, (str(start + limit) if start + limit < len(items) else None)
