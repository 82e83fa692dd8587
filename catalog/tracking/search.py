"""MLflow's ``search_runs`` filter and order grammar, compiled to one parameterized DuckDB query.

    compiled = compile_search(["1"], "metrics.test_accuracy > 0.8 and params.max_depth = '8'",
                              order_by=["metrics.test_accuracy DESC"], max_results=10)
    page = compiled.run(cursor)          # page.run_ids, page.rows, page.next_page_token

The grammar, as MLflow's ``SearchUtils`` accepts it (``mlflow/utils/search_utils.py``)::

    filter  := clause (AND clause)*                    AND in any case; OR is refused
    clause  := field op value
    field   := prefix "." key | attribute              a bare name is an attribute
    prefix  := metric(s) | param(s) | parameter(s) | tag(s) | attribute(s) | attr | run
    key     := name("." name)* | `any text` | "any text"
    value   := number | 'text' | "text" | "(" text ("," text)* ")"
    order   := field [ASC | DESC]

Prefixes and attribute names are case sensitive, as in MLflow; keywords are not. Metrics and
the numeric attributes (``start_time``, ``end_time``, ``created``) take ``= != < <= > >=`` and a
number; params, tags and the string attributes (``run_id``, ``run_name``, ``status``,
``user_id``, ``artifact_uri``) take ``= != LIKE ILIKE IN NOT IN`` and quoted text. A run that
lacks the metric, param or tag never matches a clause on it (``!=`` included).

Where this differs from MLflow, on purpose:

- ``IN`` / ``NOT IN`` work on params, tags and every string attribute (MLflow: ``run_id`` only).
- A quote inside a quoted string is written twice (``'it''s'``) and means one quote (MLflow
  keeps both); a backslash is an ordinary character.
- A NaN metric matches only ``!=`` (IEEE, as MLflow's file store; its SQL store stores NaN as 0).

Ordering follows MLflow's SQL store: each ``order_by`` term puts runs without the key last, in
either direction (metrics: numbers, then NaN, then missing); then ``start_time DESC`` (unless
ordered on already) and ``run_id ASC`` break ties. Every key and value from the caller is bound
as a parameter; the SQL text holds only fixed fragments.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.errors import InvalidRequest
from catalog.store.database import execute_parsed

MAX_RESULTS = 50_000  # MLflow's SEARCH_MAX_RESULTS_THRESHOLD

METRIC, PARAM, TAG, ATTRIBUTE = "metric", "param", "tag", "attribute"

_PREFIXES = {
    "metric": METRIC,
    "metrics": METRIC,
    "param": PARAM,
    "params": PARAM,
    "parameter": PARAM,
    "parameters": PARAM,
    "tag": TAG,
    "tags": TAG,
    "attribute": ATTRIBUTE,
    "attributes": ATTRIBUTE,
    "attr": ATTRIBUTE,
    "run": ATTRIBUTE,
}
# Attribute name -> (column of meta.runs, numeric). MLflow's aliases map to the same column.
_ATTRIBUTES = {
    "run_id": ("run_id", False),
    "run_name": ("run_name", False),
    "status": ("status", False),
    "user_id": ("user_id", False),
    "artifact_uri": ("artifact_uri", False),
    "start_time": ("start_time", True),
    "end_time": ("end_time", True),
    "created": ("start_time", True),
    "Created": ("start_time", True),
    "run name": ("run_name", False),
    "Run name": ("run_name", False),
    "Run Name": ("run_name", False),
}
_ORDERABLE = [name for name in _ATTRIBUTES if name.lower() != "run name"]
_TABLES = {METRIC: "meta.run_latest_metrics", PARAM: "meta.run_params", TAG: "meta.run_tags"}
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_RUN_VIEWS = {"ACTIVE_ONLY": ("active",), "DELETED_ONLY": ("deleted",), "ALL": ("active", "deleted")}

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY_PART = re.compile(r"[A-Za-z0-9_]+")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z0-9_.])")
_COLUMN = re.compile(r"[a-z_]+")
_OPERATOR = re.compile(r"<=|>=|!=|<>|==|=|<|>")

_FILTER_HELP = (
    "Write clauses such as metrics.acc > 0.8, params.depth = '8', tags.`my tag` LIKE 'a%' or "
    "attributes.status IN ('FINISHED', 'FAILED'), joined with AND."
)
_ORDER_HELP = "Write entries such as 'metrics.acc DESC', 'params.depth' or 'attributes.start_time ASC'."


@dataclass(frozen=True)
class Field:
    """The left side of a clause: ``kind`` is metric/param/tag/attribute; attribute keys are
    MLflow's names with aliases resolved (``created`` is ``start_time``)."""

    kind: str
    key: str
    position: int

    @property
    def numeric(self) -> bool:
        return self.kind == METRIC or (self.kind == ATTRIBUTE and _ATTRIBUTES[self.key][1])


@dataclass(frozen=True)
class Clause:
    field: Field
    operator: str  # one of _NUMERIC_OPS or _STRING_OPS
    value: float | int | str | tuple[str, ...]


@dataclass(frozen=True)
class OrderTerm:
    field: Field
    ascending: bool


@dataclass(frozen=True)
class SearchPage:
    run_ids: list[str]
    rows: list[tuple]  # the selected columns of meta.runs, run_id first
    next_page_token: str | None


@dataclass(frozen=True)
class CompiledSearch:
    """One query returning the matching runs in order, one page of them.

    Attributes:
        sql: DuckDB SQL with ``?`` placeholders; it selects the requested columns of
            ``meta.runs``, ``run_id`` first.
        params: the values for the placeholders, in order.
        offset: rows skipped (from the page token).
        max_results: the page size (the query's LIMIT).
    """

    sql: str
    params: list[Any]
    offset: int
    max_results: int
    scope: str  # fingerprint of the search, carried in page tokens

    def next_page_token(self, returned: int) -> str | None:
        """The token for the page after one that returned ``returned`` rows; None when it was not
        full (as MLflow, a full last page still yields a token, and the page after it is empty)."""
        if returned < self.max_results:
            return None
        return _encode_token(self.offset + self.max_results, self.scope)

    def run(self, cursor: Any) -> SearchPage:
        """Execute on a DuckDB connection or cursor."""
        rows = execute_parsed(cursor, self.sql, self.params).fetchall()
        return SearchPage([row[0] for row in rows], rows, self.next_page_token(len(rows)))


# -- parsing -------------------------------------------------------------------------------------
class _Parser:
    """A character scanner: every error names the offending text and its column."""

    def __init__(self, text: str, what: str, help_text: str) -> None:
        self.text = text
        self.what = what
        self.help = help_text
        self.pos = 0

    def error(self, position: int, problem: str, allowed: str | None = None) -> InvalidRequest:
        return InvalidRequest(
            f"Invalid {self.what} {self.text!r} at column {position + 1}: {problem}. {allowed or self.help}",
            error_code="INVALID_PARAMETER_VALUE",
            details={self.what: self.text, "position": position, "column": position + 1},
        )

    def near(self, position: int) -> str:
        rest = self.text[position:].split(None, 1)
        return repr(rest[0][:30]) if rest else "the end"

    def skip(self) -> int:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.pos

    def at_end(self) -> bool:
        return self.skip() >= len(self.text)

    def keyword(self, *words: str) -> str | None:
        """Consume the next word when it is one of ``words`` (any case)."""
        match = _WORD.match(self.text, self.skip())
        if match and match.group().upper() in words:
            self.pos = match.end()
            return match.group().upper()
        return None

    def quoted(self, quote: str) -> str:
        """The text of a quoted string or key starting at ``pos``; a doubled quote is one quote."""
        start, chars, i = self.pos, [], self.pos + 1
        while i < len(self.text):
            if self.text[i] == quote:
                if self.text.startswith(quote * 2, i):
                    chars.append(quote)
                    i += 2
                    continue
                self.pos = i + 1
                return "".join(chars)
            chars.append(self.text[i])
            i += 1
        raise self.error(start, f"unterminated quote {quote} (no closing {quote})")

    def part(self, first: bool) -> tuple[str, bool, int]:
        """One dot-separated part of a field: (text, quoted, position)."""
        start = self.pos
        char = self.text[start] if start < len(self.text) else ""
        if char in ("`", '"'):
            return self.quoted(char), True, start
        match = (_WORD if first else _KEY_PART).match(self.text, start)
        if match is None:
            if first:
                problem = f"expected a field such as metrics.<key>, found {self.near(start)}"
            else:
                problem = f"expected a key after '.', found {self.near(start)}"
            raise self.error(start, problem)
        self.pos = match.end()
        return match.group(), False, start

    def field(self, attributes: Collection[str]) -> Field:
        start = self.skip()
        if start >= len(self.text):
            raise self.error(start, "missing field at the end")
        if self.text[start] == "(":
            raise self.error(start, "parentheses around clauses are not supported (MLflow has no grouping)")
        parts = [self.part(first=True)]
        while self.text.startswith(".", self.pos):
            self.pos += 1
            parts.append(self.part(first=False))
        if len(parts) == 1:
            name, quoted, _ = parts[0]
            if not quoted and name in _PREFIXES:
                raise self.error(start, f"expected '.' and a key after {name!r}, e.g. {name}.<key>")
            return self._attribute(name, start, attributes)
        (prefix, _, _), keys = parts[0], parts[1:]
        # MLflow lets a prefix be written in backticks, not in double quotes.
        kind = None if self.text[start] == '"' else _PREFIXES.get(prefix)
        if kind is None:
            hint = " (prefixes are lower case)" if prefix.lower() in _PREFIXES else ""
            raise self.error(
                start,
                f"unknown prefix {prefix!r}{hint}",
                "Use metrics.<key>, params.<key>, tags.<key> or attributes.<name> (also metric, param, "
                "parameter(s), tag, attribute, attr, run).",
            )
        if len(keys) > 1 and any(quoted for _, quoted, _ in keys):
            raise self.error(keys[0][2], "quote the whole key, dots included, e.g. tags.`mlflow.runName`")
        key = ".".join(text for text, _, _ in keys)
        if not key:
            raise self.error(keys[0][2], "the key is empty")
        if kind == ATTRIBUTE:
            return self._attribute(key, start, attributes)
        return Field(kind, key, start)

    def _attribute(self, name: str, position: int, attributes: Collection[str]) -> Field:
        if name not in attributes:
            raise self.error(
                position,
                f"unknown attribute {name!r}",
                f"Attributes: {', '.join(n for n in attributes if _ATTRIBUTES[n][0] == n)} (created is "
                "start_time); metrics, params and tags take a prefix (metrics.<key>).",
            )
        return Field(ATTRIBUTE, _ATTRIBUTES[name][0], position)

    def operator(self, field: Field) -> str:
        start = self.skip()
        allowed = _NUMERIC_OPS if field.numeric else _STRING_OPS
        allowed_text = f"{_describe(field)} takes {', '.join(allowed)}."
        match = _OPERATOR.match(self.text, start)
        if match:
            op = match.group()
            if op in ("<>", "==") or self.text[match.end() : match.end() + 1] in ("<", ">", "=", "!"):
                bad = re.match(r"[<>=!]+", self.text[start:]).group()
                raise self.error(start, f"unknown operator {bad!r}", allowed_text)
            self.pos = match.end()
        else:
            word = _WORD.match(self.text, start)
            op = word.group().upper() if word else ""
            if op in ("LIKE", "ILIKE", "IN"):
                self.pos = word.end()
            elif op == "NOT":
                self.pos = word.end()
                if self.keyword("IN") is None:
                    raise self.error(start, f"NOT must be followed by IN, found {self.near(self.skip())}", allowed_text)
                op = "NOT IN"
            elif op == "IS":
                raise self.error(start, "IS NULL / IS NOT NULL is not supported in run search (as in MLflow)")
            else:
                found = "the end" if start >= len(self.text) else self.near(start)
                hint = ""
                if start > 0 and not self.text[start - 1].isspace() and start < len(self.text):
                    hint = " (quote keys with spaces, dashes or other characters: metrics.`f1-score`)"
                raise self.error(start, f"expected an operator after the field, found {found}{hint}", allowed_text)
        if op not in allowed:
            raise self.error(start, f"operator {op} does not apply to {_describe(field)}", allowed_text)
        return op

    def value(self, field: Field, op: str) -> float | int | str | tuple[str, ...]:
        if op in ("IN", "NOT IN"):
            start = self.skip()
            if not self.text.startswith("(", start):
                raise self.error(
                    start, f"{op} takes a list in parentheses, found {self.near(start)}", "E.g. IN ('a', 'b')."
                )
            self.pos += 1
            items = [self.string(field)]
            while True:
                at = self.skip()
                if self.text.startswith(",", at):
                    self.pos += 1
                    items.append(self.string(field))
                elif self.text.startswith(")", at):
                    self.pos += 1
                    return tuple(items)
                else:
                    raise self.error(at, f"expected ',' or ')' in the list, found {self.near(at)}")
        return self.number(field) if field.numeric else self.string(field)

    def number(self, field: Field) -> float | int:
        start = self.skip()
        match = _NUMBER.match(self.text, start)
        if match is None:
            if start >= len(self.text):
                raise self.error(start, f"missing value: {_describe(field)} compares with a number")
            if self.text[start] in "'\"":
                text = self.quoted(self.text[start])
                raise self.error(start, f"{_describe(field)} compares with a number, not the string {text!r}")
            raise self.error(
                start, f"expected a number, found {self.near(start)}", f"{_describe(field)} compares with a number."
            )
        self.pos = match.end()
        text = match.group()
        if field.kind == ATTRIBUTE and re.fullmatch(r"-?\d+", text):
            return int(text)
        return float(text)

    def string(self, field: Field) -> str:
        start = self.skip()
        char = self.text[start] if start < len(self.text) else ""
        if char in ("'", '"'):
            return self.quoted(char)
        what = f"{_describe(field)} compares with quoted text"
        if not char:
            raise self.error(start, f"missing value: {what}")
        number = _NUMBER.match(self.text, start)
        if number:
            raise self.error(start, f"{what}; quote the number: '{number.group()}'")
        raise self.error(start, f"{what}, found {self.near(start)}")


def _describe(field: Field) -> str:
    if field.kind == ATTRIBUTE:
        return f"{'numeric' if field.numeric else 'string'} attribute {field.key!r}"
    return f"{field.kind} {field.key!r}"


def parse_filter(filter_string: str | None) -> list[Clause]:
    """The clauses of an MLflow filter string (empty for None or blank).

    Raises:
        InvalidRequest: the filter does not follow the grammar; the message gives the column.
    """
    if filter_string is None:
        return []
    if not isinstance(filter_string, str):
        raise InvalidRequest(f"filter_string must be a string, not {type(filter_string).__name__}.")
    parser = _Parser(filter_string, "filter", _FILTER_HELP)
    clauses: list[Clause] = []
    if parser.at_end():
        return clauses
    while True:
        field = parser.field(_ATTRIBUTES)
        op = parser.operator(field)
        clauses.append(Clause(field, op, parser.value(field, op)))
        if parser.at_end():
            return clauses
        at = parser.pos
        word = parser.keyword("AND", "OR")
        if word == "OR":
            raise parser.error(at, "OR is not supported (MLflow's search joins clauses with AND only)")
        if word is None:
            raise parser.error(at, f"expected AND or the end of the filter, found {parser.near(at)}")
        if parser.at_end():
            raise parser.error(parser.pos, "missing clause after AND")


def parse_order_by(entry: str) -> OrderTerm:
    """One ``order_by`` entry: a field and an optional ASC / DESC (ASC when absent)."""
    if not isinstance(entry, str):
        raise InvalidRequest(f"order_by entries must be strings, not {type(entry).__name__}.")
    parser = _Parser(entry, "order_by", _ORDER_HELP)
    field = parser.field(_ORDERABLE)
    direction = "ASC"
    if not parser.at_end():
        at = parser.pos
        direction = parser.keyword("ASC", "DESC") or ""
        if not direction:
            raise parser.error(at, f"expected ASC or DESC, found {parser.near(at)}")
        if not parser.at_end():
            raise parser.error(parser.pos, f"unexpected {parser.near(parser.pos)} after {direction}")
    return OrderTerm(field, direction == "ASC")


# -- compiling -----------------------------------------------------------------------------------
class _Joins:
    """One join of meta.runs to the metric, param or tag table per key the search names.

    A key's row is unique per run (the tables' primary key is (run_id, key)), so the clauses on
    a key become conditions of its join, which is then an inner join: a run without the key
    matches no clause on it (``!=`` included). A key that is only ordered on is a left join, so
    that runs without it stay, ordered last. One join serves every clause and the order term on
    its key: ``metrics.acc > 0.8`` ordered by ``metrics.acc`` reads that metric once.
    """

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], tuple[str, list[str], list[Any]]] = {}
        self._numbers: set[str] = set()  # aliases of metrics filtered to numbers (no NaN, not missing)

    def alias(self, field: Field) -> str:
        found = self._by_key.get((field.kind, field.key))
        if found is None:
            found = self._by_key[(field.kind, field.key)] = (f"k{len(self._by_key) + 1}", [], [])
        return found[0]

    def condition(self, clause: Clause) -> None:
        field, op = clause.field, clause.operator
        values = list(clause.value) if isinstance(clause.value, tuple) else [clause.value]
        marks = f"({', '.join('?' * len(values))})" if op in ("IN", "NOT IN") else "?"
        alias = self.alias(field)
        _, conditions, params = self._by_key[(field.kind, field.key)]
        conditions.append(f"{alias}.value {op} {marks}")
        params.extend(values)
        # IEEE: NaN is unordered, while DuckDB sorts it above every number; keep it out unless !=.
        if field.kind == METRIC and op != "!=":
            conditions.append(f"NOT isnan({alias}.value)")
            self._numbers.add(alias)

    def only_numbers(self, alias: str) -> bool:
        """Whether the join keeps only runs whose value is a number (not NaN, not missing)."""
        return alias in self._numbers

    def sql(self, params: list[Any]) -> str:
        """The JOIN clauses, their parameters appended to ``params`` in text order."""
        joins = []
        for (kind, key), (alias, conditions, values) in self._by_key.items():
            on = " AND ".join([f"{alias}.run_id = r.run_id", f"{alias}.key = ?", *conditions])
            joins.append(f"{'JOIN' if conditions else 'LEFT JOIN'} {_TABLES[kind]} AS {alias} ON {on}")
            params += [key, *values]
        return " ".join(joins)


def _order(terms: Sequence[OrderTerm], joins: _Joins) -> list[str]:
    items: list[str] = []
    for term in terms:
        direction = "ASC" if term.ascending else "DESC"
        field = term.field
        if field.kind == ATTRIBUTE:
            items.append(f"r.{field.key} {direction} NULLS LAST")
            continue
        alias = joins.alias(field)
        if field.kind == METRIC and joins.only_numbers(alias):
            items.append(f"{alias}.value {direction}")  # numbers only: nothing to put last
        elif field.kind == METRIC:
            rank = f"CASE WHEN {alias}.value IS NULL THEN 2 WHEN isnan({alias}.value) THEN 1 ELSE 0 END"
            items += [rank, f"{alias}.value {direction}"]
        else:
            items.append(f"{alias}.value {direction} NULLS LAST")
    if not any(t.field.kind == ATTRIBUTE and t.field.key == "start_time" for t in terms):
        items.append("r.start_time DESC")
    items.append("r.run_id ASC")
    return items


def compile_search(
    experiment_ids: Sequence[str],
    filter_string: str = "",
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    run_view: str = "ACTIVE_ONLY",
    page_token: str | None = None,
    columns: Sequence[str] = ("run_id",),
) -> CompiledSearch:
    """Compile MLflow's search_runs arguments to one query over ``meta.runs``.

    Args:
        experiment_ids: experiments to search (none: the query matches nothing).
        filter_string: MLflow filter, e.g. ``metrics.acc > 0.8 and params.depth = '8'``.
        order_by: entries like ``"metrics.acc DESC"``; ties and the default order are
            ``start_time DESC, run_id ASC``.
        max_results: page size, 1 to 50,000.
        run_view: ACTIVE_ONLY, DELETED_ONLY or ALL (any case).
        page_token: a token from ``CompiledSearch.next_page_token`` of the same search.
        columns: the columns of ``meta.runs`` to select, ``run_id`` first (the caller's
            names, not the user's: they go into the SQL text).

    Returns:
        The SQL, its parameters, and what makes the next page token. The same arguments give
        the same object (a search repeated, or paged, is compiled once): do not change it.

    Raises:
        InvalidRequest: a bad filter, order_by entry, page size, run view or page token.
    """
    key = (experiment_ids, filter_string, order_by, max_results, run_view, page_token, columns)
    if all(_plain(part) for part in key):
        return _compiled(*(tuple(part) if isinstance(part, list) else part for part in key))
    return _compile(*key)


def _plain(argument: object) -> bool:
    """Whether an argument can key the cache of compiled searches: None, a string, an int or a
    list or tuple of strings (anything else is compiled afresh, and refused there if wrong)."""
    if argument is None or type(argument) in (str, int):
        return True
    return type(argument) in (list, tuple) and all(type(item) is str for item in argument)


def _compile(
    experiment_ids: Sequence[str],
    filter_string: str = "",
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    run_view: str = "ACTIVE_ONLY",
    page_token: str | None = None,
    columns: Sequence[str] = ("run_id",),
) -> CompiledSearch:
    """``compile_search``, uncached."""
    if not columns or columns[0] != "run_id" or not all(_COLUMN.fullmatch(c) for c in columns):
        raise ValueError(f"columns must be column names of meta.runs, run_id first, not {columns!r}")
    if isinstance(experiment_ids, str | bytes) or not isinstance(experiment_ids, Sequence):
        raise InvalidRequest("experiment_ids must be a list of experiment ids, e.g. ['1'].")
    ids = []
    for experiment_id in experiment_ids:
        if isinstance(experiment_id, bool) or not isinstance(experiment_id, str | int):
            raise InvalidRequest(f"Experiment ids are strings, not {type(experiment_id).__name__}.")
        ids.append(str(experiment_id))
    if order_by is not None and (isinstance(order_by, str | bytes) or not isinstance(order_by, Sequence)):
        raise InvalidRequest("order_by must be a list of strings, e.g. ['metrics.acc DESC'].")
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS:
        raise InvalidRequest(f"max_results must be an integer from 1 to {MAX_RESULTS}, not {max_results!r}.")
    stages = _RUN_VIEWS.get(run_view.upper()) if isinstance(run_view, str) else None
    if stages is None:
        raise InvalidRequest(f"run_view must be ACTIVE_ONLY, DELETED_ONLY or ALL, not {run_view!r}.")

    clauses = parse_filter(filter_string)
    terms = [parse_order_by(entry) for entry in order_by or ()]
    seen: set[tuple[str, str]] = set()
    for entry, term in zip(order_by or (), terms, strict=True):
        if (term.field.kind, term.field.key) in seen:
            raise InvalidRequest(f"order_by names the same field twice: {entry!r} repeats an earlier entry.")
        seen.add((term.field.kind, term.field.key))

    scope = _scope(ids, filter_string or "", list(order_by or ()), run_view.upper())
    offset = _decode_token(page_token, scope)

    joins = _Joins()
    where = [f"r.experiment_id IN ({', '.join('?' * len(ids))})" if ids else "FALSE"]
    where_params: list[Any] = [*ids]
    where.append(f"r.lifecycle_stage IN ({', '.join('?' * len(stages))})")
    where_params.extend(stages)
    for clause in clauses:
        if clause.field.kind == ATTRIBUTE:
            values = list(clause.value) if isinstance(clause.value, tuple) else [clause.value]
            marks = f"({', '.join('?' * len(values))})" if clause.operator in ("IN", "NOT IN") else "?"
            where.append(f"r.{clause.field.key} {clause.operator} {marks}")
            where_params.extend(values)
        else:
            joins.condition(clause)
    order = _order(terms, joins)
    params: list[Any] = []
    join_sql = joins.sql(params)
    params += [*where_params, max_results, offset]
    sql = (
        f"SELECT {', '.join(f'r.{c}' for c in columns)} FROM meta.runs AS r {join_sql} "
        f"WHERE {' AND '.join(where)} "
        f"ORDER BY {', '.join(order)} LIMIT ? OFFSET ?"
    )
    return CompiledSearch(sql=sql, params=params, offset=offset, max_results=max_results, scope=scope)


_compiled = functools.lru_cache(maxsize=256)(_compile)


# -- page tokens ---------------------------------------------------------------------------------
def _scope(ids: list[str], filter_string: str, order_by: list[str], run_view: str) -> str:
    """A short fingerprint of the search, so that a token is not replayed against another one."""
    blob = json.dumps([ids, filter_string, order_by, run_view], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _encode_token(offset: int, scope: str) -> str:
    """MLflow's shape (base64 of JSON with an offset), plus the search fingerprint."""
    return base64.b64encode(json.dumps({"offset": offset, "search": scope}).encode()).decode()


def _decode_token(token: str | None, scope: str) -> int:
    if token is None or token == "":
        return 0
    problem = None
    try:
        if not isinstance(token, str):
            raise TypeError
        body = json.loads(base64.b64decode(token, validate=True))
    except (TypeError, ValueError, binascii.Error):
        problem = "it is not a token this server issued"
    else:
        offset = body.get("offset") if isinstance(body, dict) else None
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            problem = "it holds no valid offset"
        elif body.get("search") != scope:
            problem = "it belongs to a search with other experiments, filter, order or run view"
    if problem is not None:
        raise InvalidRequest(
            f"Invalid page_token: {problem}. Pass the next_page_token of the previous page of the same "
            "search, or no token for the first page.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return offset
