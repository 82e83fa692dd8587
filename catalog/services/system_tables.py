"""System tables: securables backed by the SQL files in ``sql/system/``.

Each ``sql/system/<schema>/<table>.sql`` becomes ``system.<schema>.<table>``. A statement that
names one gets the file's query spliced in, reading the metastore through the per-reader
relations ``__visible``, ``__principals`` and ``__grantable`` (see sql/system/README.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import duckdb
import pyarrow as pa
from sqlglot import exp, parse_one

from catalog import audit
from catalog.names import FullName
from catalog.resources import resource_dir
from catalog.securables import GRANTABLE, SYSTEM_CATALOG, Privilege, SecurableType
from catalog.services import columns
from catalog.store.database import registered
from catalog.store.metastore import Metastore
from catalog.store.snapshot import ACCOUNT_USERS

VISIBLE, PRINCIPALS, GRANTABLE_RELATION = "__visible", "__principals", "__grantable"

# What a new home grants to every user: the information schema, filtered per reader.
DEFAULT_GRANTS = (
    ("system", SecurableType.CATALOG, Privilege.USE_CATALOG),
    ("system.information_schema", SecurableType.SCHEMA, Privilege.USE_SCHEMA),
    ("system.information_schema", SecurableType.SCHEMA, Privilege.SELECT),
)


@dataclass(frozen=True)
class SystemTable:
    name: FullName
    sql: str


@cache
def definitions() -> dict[str, SystemTable]:
    root = resource_dir("sql") / "system"
    found = {}
    for path in sorted(root.glob("*/*.sql")):
        if path.parent.name.startswith("_"):
            continue
        name = FullName.of(SYSTEM_CATALOG, path.parent.name, path.stem)
        found[str(name)] = SystemTable(name, path.read_text(encoding="utf-8"))
    return found


@cache
def _fragments() -> dict[str, str]:
    root = resource_dir("sql") / "system" / "_fragments"
    return {f"__{p.stem}": p.read_text(encoding="utf-8") for p in root.glob("*.sql")}


@cache
def _parsed(name: str) -> exp.Query:
    query = parse_one(definitions()[name].sql, read="duckdb")
    used = {t.name for t in query.find_all(exp.Table)}
    for fragment, text in sorted(_fragments().items()):
        if fragment in used:
            query = query.with_(fragment, as_=parse_one(text, read="duckdb"))
    return query


def query(name: FullName) -> exp.Query:
    """A fresh copy of the system table's query, ready to splice into a statement."""
    return _parsed(str(name)).copy()


@cache
def reads_audit_log(name: FullName) -> bool:
    """Whether the system table reads the audit log (whose newest rows may still be journaled)."""
    schema, table = audit.TABLE.split(".")
    return any(t.db == schema and t.name == table for t in _parsed(str(name)).find_all(exp.Table))


def is_system(name: FullName) -> bool:
    return name.catalog == SYSTEM_CATALOG


def ensure(metastore: Metastore, admin: str, *, first_time: bool) -> bool:
    """Create the securables of the system catalog that do not exist yet; True if any were made."""
    made = False
    existing = {str(s.full_name): s for s in metastore.securables() if s.full_name}
    root = next(s for s in metastore.securables() if s.type is SecurableType.METASTORE)

    def node(name: FullName, kind: SecurableType, parent_id: str, comment: str | None = None) -> str:
        nonlocal made
        if str(name) in existing:
            return existing[str(name)].id
        made = True
        created = metastore.insert_securable(kind, name, parent_id, admin, comment=comment, properties={"system": True})
        existing[str(name)] = created
        return created.id

    catalog_id = node(
        FullName.of(SYSTEM_CATALOG), SecurableType.CATALOG, root.id, "System tables: audit, lineage, information schema"
    )
    with empty_relations(metastore.cursor):
        for table in definitions().values():
            schema_id = node(table.name.parent, SecurableType.SCHEMA, catalog_id)
            if str(table.name) not in existing:
                table_id = node(table.name, SecurableType.VIEW, schema_id)
                sql = query(table.name).sql(dialect="duckdb")
                metastore.set_columns(table_id, columns.describe(metastore.cursor, sql))
    if first_time:
        for name, _kind, privilege in DEFAULT_GRANTS:
            metastore.insert_grant(existing[name].id, ACCOUNT_USERS, privilege.value, admin)
    return made


def _grantable_table() -> pa.Table:
    pairs = [(t.value, p.value) for t, privileges in GRANTABLE.items() for p in sorted(privileges)]
    return pa.table({"securable_type": [t for t, _ in pairs], "privilege": [p for _, p in pairs]})


@contextmanager
def relations(
    cursor: duckdb.DuckDBPyConnection,
    visible: dict[str, bool],
    principals: tuple[str, ...],
) -> Iterator[None]:
    """Register the per-reader relations on ``cursor`` for the duration of one statement."""
    tables = {
        VISIBLE: pa.table(
            {"id": pa.array(list(visible), pa.string()), "can_manage": pa.array(list(visible.values()), pa.bool_())}
        ),
        PRINCIPALS: pa.table({"name": pa.array(list(principals), pa.string())}),
        GRANTABLE_RELATION: _grantable_table(),
    }
    with registered(cursor, tables):
        yield


def empty_relations(cursor: duckdb.DuckDBPyConnection):
    return relations(cursor, {}, ())
