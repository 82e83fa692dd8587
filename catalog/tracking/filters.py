"""MLflow's search_runs grammar, compiled to one parameterized DuckDB query.

    metrics.test_accuracy > 0.8 and params.max_depth = '8' and tags.`mlflow.runName` LIKE 'rf%'

Clauses are joined with AND (MLflow has no OR). The left side is ``metrics.<key>``,
``params.<key>``, ``tags.<key>`` or ``attributes.<name>`` (prefix aliases ``metric``, ``param``,
``tag``, ``attribute``, ``attr``, ``run``); a key with spaces or dashes is quoted with backticks
or double quotes. Metrics compare their latest value with a number; params and tags compare
strings (``=``, ``!=``, ``LIKE``, ``ILIKE``, ``IN``, ``NOT IN``); a run without the key does not
match. ``IS NULL`` / ``IS NOT NULL`` test for the key. Every key and value is bound as a
parameter, never written into the SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from catalog.errors import InvalidRequest

_PREFIXES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "parameters": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
_ATTRIBUTES = {
    "run_id": ("r.run_id", "string"),
    "run_name": ("r.run_name", "string"),
    "status": ("r.status", "string"),
    "user_id": ("r.user_id", "string"),
    "artifact_uri": ("r.artifact_uri", "string"),
    "lifecycle_stage": ("r.lifecycle_stage", "string"),
    "start_time": ("r.start_time", "number"),
    "end_time": ("r.end_time", "number"),
    "created": ("r.start_time", "number"),
    "experiment_id": ("r.experiment_id", "string"),
}
_TABLES = {"metric": "meta.run_latest_metrics", "param": "meta.run_params", "tag": "meta.run_tags"}
_NUMERIC_OPS = {"=", "!=", "<", "<=", ">", ">="}
_STRING_OPS = {"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}
MAX_RESULTS = 50_000

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])
      | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<quoted>`[^`]*`)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),.])
      | (?P<word>[A-Za-z_][\w\-/:]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


@dataclass
class CompiledSearch:
    where: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    order_params: list = field(default_factory=list)


def _error(text: str, position: int, problem: str) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid filter {text!r} at character {position + 1}: {problem}. Write clauses such as "
        "metrics.acc > 0.8 AND params.depth = '8' AND tags.team IN ('a', 'b').",
        error_code="INVALID_PARAMETER_VALUE",
    )


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _error(text, position, f"unexpected {text[position : position + 10]!r}")
        kind = match.lastgroup
        start = match.start(kind)
        tokens.append(Token(kind, match.group(kind), start))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, what: str) -> Token:
        token = self.peek()
        if token is None:
            raise _error(self.text, len(self.text), f"expected {what} at the end")
        self.at += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.upper() in words:
            self.at += 1
            return True
        return False

    def identifier(self) -> tuple[str, str, int]:
        """(kind, key, position) of ``prefix.key``."""
        token = self.take("metrics.<key>, params.<key>, tags.<key> or attributes.<name>")
        if token.kind != "word":
            raise _error(self.text, token.position, f"expected an identifier such as metrics.acc, not {token.text!r}")
        head, _, rest = token.text.partition(".")
        kind = _PREFIXES.get(head.lower())
        if kind is None:
            raise _error(
                self.text,
                token.position,
                f"unknown prefix {head!r}; use metrics., params., tags. or attributes.",
            )
        if rest:
            key = rest
        else:
            dot = self.take("'.' after the prefix")
            if dot.text != ".":
                raise _error(self.text, dot.position, "expected '.' after the prefix")
            part = self.take("a key")
            if part.kind == "quoted":
                key = part.text[1:-1]
            elif part.kind == "string" and part.text.startswith('"'):
                key = part.text[1:-1].replace('""', '"')
            elif part.kind == "word":
                key = part.text
            else:
                raise _error(self.text, part.position, f"expected a key, not {part.text!r}")
            while (nxt := self.peek()) is not None and nxt.text == "." and part.kind == "word":
                self.at += 1
                more = self.take("a key part")
                key += "." + more.text
        if not key:
            raise _error(self.text, token.position, "the key is empty")
        if kind == "attribute" and key not in _ATTRIBUTES:
            raise _error(
                self.text, token.position, f"unknown attribute {key!r}; searchable: {', '.join(sorted(_ATTRIBUTES))}"
            )
        return kind, key, token.position

    def value(self) -> tuple[str, object, int]:
        token = self.take("a value")
        if token.kind == "number":
            return "number", float(token.text), token.position
        if token.kind == "string":
            quote = token.text[0]
            return "string", token.text[1:-1].replace(quote * 2, quote), token.position
        raise _error(self.text, token.position, f"expected a number or a quoted string, not {token.text!r}")

    def values(self) -> list[tuple[str, object, int]]:
        opening = self.take("'(' and a list of values")
        if opening.text != "(":
            raise _error(self.text, opening.position, "IN takes a list in parentheses: IN ('a', 'b')")
        found = [self.value()]
        while (token := self.take("')' or ','")).text == ",":
            found.append(self.value())
        if token.text != ")":
            raise _error(self.text, token.position, "expected ',' or ')'")
        return found


def compile_filter(text: str | None) -> CompiledSearch:
    """WHERE conditions on ``meta.runs r`` for an MLflow filter string."""
    compiled = CompiledSearch()
    if text is None or not text.strip():
        return compiled
    parser = _Parser(text)
    while True:
        kind, key, position = parser.identifier()
        compiled.where.append(_clause(parser, kind, key, position, compiled.params))
        if parser.peek() is None:
            return compiled
        if parser.keyword("OR"):
            raise _error(text, parser.tokens[parser.at - 1].position, "OR is not supported (as in MLflow); use AND")
        if not parser.keyword("AND"):
            token = parser.peek()
            raise _error(text, token.position, f"expected AND between clauses, not {token.text!r}")


def _clause(parser: _Parser, kind: str, key: str, position: int, params: list) -> str:
    text = parser.text
    if parser.keyword("IS"):
        negated = parser.keyword("NOT")
        if not parser.keyword("NULL"):
            raise _error(text, position, "expected IS NULL or IS NOT NULL")
        if kind == "attribute":
            column, _ = _ATTRIBUTES[key]
            return f"{column} IS {'NOT ' if negated else ''}NULL"
        params.append(key)
        exists = f"EXISTS (SELECT 1 FROM {_TABLES[kind]} x WHERE x.run_id = r.run_id AND x.key = ?)"
        return exists if negated else f"NOT {exists}"
    operator = _operator(parser)
    if kind == "metric" or (kind == "attribute" and _ATTRIBUTES[key][1] == "number"):
        if operator not in _NUMERIC_OPS:
            raise _error(text, position, f"{operator} does not apply to numbers; use =, !=, <, <=, > or >=")
        value_kind, value, at = parser.value()
        if value_kind != "number":
            raise _error(text, at, f"{kind} {key!r} compares with a number, not a string")
        if kind == "attribute":
            params.append(value)
            return f"{_ATTRIBUTES[key][0]} {operator} ?"
        params.extend([key, value])
        return (
            f"EXISTS (SELECT 1 FROM meta.run_latest_metrics x WHERE x.run_id = r.run_id AND x.key = ? "
            f"AND x.value {operator} ?)"
        )
    if operator not in _STRING_OPS:
        raise _error(text, position, f"{operator} does not apply to {kind}s; use =, !=, LIKE, ILIKE, IN or NOT IN")
    if operator in ("IN", "NOT IN"):
        items = parser.values()
        for value_kind, _, at in items:
            if value_kind != "string":
                raise _error(text, at, f"{kind} values are strings: quote them")
        marks = ", ".join("?" * len(items))
        comparison, values = f"{operator} ({marks})", [v for _, v, _ in items]
    else:
        value_kind, value, at = parser.value()
        if value_kind != "string":
            raise _error(text, at, f"{kind} {key!r} compares with a quoted string (params are strings in MLflow)")
        comparison, values = f"{operator} ?", [value]
    if kind == "attribute":
        params.extend(values)
        return f"{_ATTRIBUTES[key][0]} {comparison}"
    params.append(key)
    params.extend(values)
    return f"EXISTS (SELECT 1 FROM {_TABLES[kind]} x WHERE x.run_id = r.run_id AND x.key = ? AND x.value {comparison})"


def _operator(parser: _Parser) -> str:
    token = parser.take("a comparison such as =, >, LIKE or IN")
    if token.kind == "op":
        return "!=" if token.text == "<>" else token.text
    if token.kind == "word":
        word = token.text.upper()
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        if word == "NOT" and parser.keyword("IN"):
            return "NOT IN"
    raise _error(
        parser.text, token.position, f"expected a comparison (=, !=, <, >, LIKE, ILIKE, IN), not {token.text!r}"
    )


def compile_order(order_by: Sequence[str] | None, compiled: CompiledSearch) -> None:
    """ORDER BY terms for ``order_by`` entries like ``metrics.acc DESC``; runs missing the key
    sort last; ties fall back to start_time DESC, run_id ASC (MLflow's default order)."""
    for entry in order_by or ():
        parser = _Parser(entry)
        kind, key, _ = parser.identifier()
        direction = "DESC" if parser.keyword("DESC") else "ASC"
        parser.keyword("ASC")
        if parser.peek() is not None:
            token = parser.peek()
            raise _error(entry, token.position, f"unexpected {token.text!r} after the direction")
        if kind == "attribute":
            compiled.order.append(f"{_ATTRIBUTES[key][0]} {direction} NULLS LAST")
        else:
            compiled.order.append(
                f"(SELECT x.value FROM {_TABLES[kind]} x WHERE x.run_id = r.run_id AND x.key = ?) {direction} NULLS LAST"
            )
            compiled.order_params.append(key)
    compiled.order += ["r.start_time DESC", "r.run_id ASC"]


def search_sql(
    experiment_ids: Sequence[str],
    filter_string: str | None,
    order_by: Sequence[str] | None,
    max_results: int,
    run_view: str,
) -> tuple[str, list]:
    """The query returning matching run ids in order, and its parameters."""
    if not isinstance(max_results, int) or isinstance(max_results, bool) or not 0 < max_results <= MAX_RESULTS:
        raise InvalidRequest(f"max_results must be between 1 and {MAX_RESULTS}, not {max_results!r}.")
    stages = {"ACTIVE_ONLY": ["active"], "DELETED_ONLY": ["deleted"], "ALL": ["active", "deleted"]}.get(run_view)
    if stages is None:
        raise InvalidRequest(f"run_view_type must be ACTIVE_ONLY, DELETED_ONLY or ALL, not {run_view!r}.")
    compiled = compile_filter(filter_string)
    compile_order(order_by, compiled)
    where = ["r.experiment_id IN (SELECT unnest(?))", "r.lifecycle_stage IN (SELECT unnest(?))", *compiled.where]
    sql = f"SELECT r.run_id FROM meta.runs r WHERE {' AND '.join(where)} ORDER BY {', '.join(compiled.order)} LIMIT ?"
    return sql, [list(experiment_ids), stages, *compiled.params, *compiled.order_params, max_results]
