"""The audit query library: the questions an auditor asks, as reviewed SQL files in ``sql/audit/``.

Each file ``sql/audit/<name>.sql`` starts with a comment header, then holds one query over the
``system.access`` tables with ``:name`` parameter markers::

    -- Who read a table                                  <- title
    --
    -- Every principal who read :table_name ...           <- what it answers
    --
    -- :table_name  the table's full name (main.ml.churn_features)
    -- :since       the first day to include (2026-11-16)
    SELECT ...

    from catalog import audit_queries
    audit_queries.run(cat, "who_read_table", table_name="main.ml.churn_features", since="2026-11-16")

A query runs through ``cat.sql`` as the connection's user, so it is authorized (``system.access``
is for metastore admins unless they grant it) and audited like any other statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from catalog.errors import InvalidRequest, NotFound
from catalog.resources import resource_dir

if TYPE_CHECKING:
    import pandas as pd

    from catalog.api import Catalog

FOLDER = "audit"
_PARAMETER = re.compile(r":(\w+)\s+(\S.*)")


@dataclass(frozen=True)
class AuditQuery:
    """One query of the library, as its file's header describes it.

    Attributes:
        name: the file's name without ``.sql``, e.g. ``who_read_table``.
        title: the header's first line.
        description: what the query answers (the header's prose, one paragraph).
        parameters: ``(name, description)`` of every ``:name`` marker the query takes, in the
            header's order; the description ends with an example value in parentheses.
        sql: the whole file, header included (what ``run`` sends to ``cat.sql``).
    """

    name: str
    title: str
    description: str
    parameters: tuple[tuple[str, str], ...]
    sql: str

    @property
    def parameter_names(self) -> list[str]:
        return [name for name, _ in self.parameters]


def parse_query(name: str, text: str) -> AuditQuery:
    """Read the header of one query file.

    Raises:
        ValueError: the file has no title or no query after its header (a packaging bug).
    """
    header: list[str] = []
    lines = text.splitlines()
    for line in lines:
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    body = "\n".join(lines[len(header) :]).strip()
    prose = [line for line in header if not _PARAMETER.fullmatch(line)]
    while prose and not prose[0]:
        prose.pop(0)
    if not prose or not body:
        raise ValueError(f"Audit query '{name}' needs a '-- title' header line and a query after the header.")
    title, rest = prose[0], prose[1:]
    parameters = tuple((m.group(1), m.group(2).strip()) for m in map(_PARAMETER.fullmatch, header) if m)
    return AuditQuery(name, title, " ".join(line for line in rest if line), parameters, text)


@cache
def _load() -> dict[str, AuditQuery]:
    root = resource_dir("sql") / FOLDER
    return {p.stem: parse_query(p.stem, p.read_text(encoding="utf-8")) for p in sorted(root.glob("*.sql"))}


def library() -> dict[str, AuditQuery]:
    """Every query in ``sql/audit/``, by name (sorted)."""
    return dict(_load())


def get(name: str) -> AuditQuery:
    """The query called ``name``.

    Raises:
        NotFound: no such query (AUDIT_QUERY_NOT_FOUND); the message lists the available ones.
    """
    queries = _load()
    if name not in queries:
        raise NotFound(
            f"There is no audit query named '{name}'. Available queries: {', '.join(queries)}.",
            error_code="AUDIT_QUERY_NOT_FOUND",
        )
    return queries[name]


def run(cat: Catalog, name: str, /, **params: object) -> pd.DataFrame:
    """Run the audit query ``name`` as ``cat``'s user, with exactly its declared parameters.

    Args:
        cat: the connection to run it on (reading ``system.access`` needs its grants).
        name: a query of :func:`library`, e.g. ``who_read_table``.
        params: a value (str, int, date, ...) for every parameter the query declares.

    Returns:
        The query's rows.

    Raises:
        NotFound: no query is called ``name`` (AUDIT_QUERY_NOT_FOUND).
        InvalidRequest: a declared parameter is missing or an unknown one is given
            (INVALID_PARAMETER_VALUE); the message lists the expected parameters.
        PermissionDenied: the user may not read the system tables the query reads.
    """
    query = get(name)
    expected = query.parameter_names
    missing = [p for p in expected if p not in params]
    unknown = sorted(p for p in params if p not in expected)
    if missing or unknown:
        problems = [
            f"missing {_markers(missing)}" if missing else "",
            f"unknown {_markers(unknown)}" if unknown else "",
        ]
        takes = f"it takes {_markers(expected)}" if expected else "it takes no parameters"
        raise InvalidRequest(
            f"Audit query '{name}': {'; '.join(p for p in problems if p)}; {takes}.",
            error_code="INVALID_PARAMETER_VALUE",
            details={"expected": expected, "missing": missing, "unknown": unknown},
        )
    return cat.sql(query.sql, params or None)


def _markers(names: list[str]) -> str:
    return ", ".join(f":{n}" for n in names)
