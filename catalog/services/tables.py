"""Managed tables and views: create, replace, drop, rename, and write DataFrames into tables.

A managed table's rows live in a DuckDB table ``managed.t_<hex>`` (its storage name). Replacing
a table builds the new storage first and drops the old one after, in the same transaction, so
``CREATE OR REPLACE TABLE t AS SELECT ... FROM t`` reads the old rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import pandas as pd

from catalog.errors import AlreadyExists, InvalidRequest
from catalog.lineage.store import LineageStore
from catalog.names import FullName
from catalog.securables import RELATION_TYPES, Securable, SecurableType
from catalog.services import columns
from catalog.services.context import Context, wrong_type
from catalog.services.namespace import SCHEMA, drop_storage, refuse_system
from catalog.store.database import quote_identifier, registered
from catalog.store.metastore import Column, new_id

CreateMode = Literal["error", "ignore", "replace"]
TABLE = frozenset({SecurableType.TABLE})
VIEW = frozenset({SecurableType.VIEW})
FRAME = "__frame"


def new_storage_name() -> str:
    return f"managed.t_{new_id()}"


def _prepare(ctx: Context, name: FullName, kind: SecurableType, mode: CreateMode) -> Securable | None:
    """Authorize creating ``name`` and return the object it replaces, if any."""
    refuse_system(name, "create")
    schema = ctx.lookup(name.parent, SCHEMA)
    ctx.require("create_table", schema)
    existing = ctx.find(name)
    if existing is None:
        return None
    if mode == "error":
        verb = "CREATE OR REPLACE" if kind is SecurableType.TABLE else "CREATE OR REPLACE VIEW"
        raise AlreadyExists(
            f"{existing.type.label.capitalize()} '{name}' already exists. Drop it first, or use "
            f"{verb} (mode='overwrite' from Python) to replace it.",
            error_code="TABLE_OR_VIEW_ALREADY_EXISTS",
        )
    if existing.type is not kind:
        raise wrong_type(existing, frozenset({kind}))
    ctx.require("manage", existing)
    return existing


def create_table(
    ctx: Context,
    name: FullName,
    build: Callable[[str], None],
    *,
    comment: str | None = None,
    column_comments: dict[str, str | None] | None = None,
    mode: CreateMode = "error",
) -> Securable:
    """Create (or replace) a managed table whose storage ``build(storage_name)`` fills."""
    existing = _prepare(ctx, name, SecurableType.TABLE, mode)
    if existing is not None and mode == "ignore":
        return existing
    storage = new_storage_name()
    ctx.physical_names[storage.split(".")[1]] = str(name)
    build(storage)
    table_columns = columns.merge_comments(columns.describe(ctx.cursor, storage), column_comments or {})
    if existing is not None:
        drop_storage(ctx, existing)
    return _save(ctx, name, SecurableType.TABLE, existing, table_columns, comment, storage_name=storage)


def create_view(
    ctx: Context,
    name: FullName,
    definition: str,
    view_columns: list[Column],
    *,
    comment: str | None = None,
    mode: CreateMode = "error",
) -> Securable:
    existing = _prepare(ctx, name, SecurableType.VIEW, mode)
    if existing is not None and mode == "ignore":
        return existing
    return _save(ctx, name, SecurableType.VIEW, existing, view_columns, comment, definition=definition)


def _save(
    ctx: Context,
    name: FullName,
    kind: SecurableType,
    existing: Securable | None,
    relation_columns: list[Column],
    comment: str | None,
    **fields: str,
) -> Securable:
    """Record a new relation, or the new storage/definition of the one it replaces (keeping
    its id, owner and grants)."""
    store = ctx.metastore
    if existing is not None:
        changes = dict(fields) if comment is None else {**fields, "comment": comment}
        store.update_securable(existing.id, ctx.principal, **changes)
        securable_id = existing.id
    else:
        schema = ctx.find(name.parent)
        securable_id = store.insert_securable(kind, name, schema.id, ctx.principal, comment=comment, **fields).id
    store.set_columns(securable_id, relation_columns)
    ctx.changed()
    return ctx.snapshot.by_id[securable_id]


def drop_relation(ctx: Context, name: FullName, kind: SecurableType, *, if_exists: bool = False) -> bool:
    if if_exists and ctx.find(name) is None:
        return False
    relation = ctx.lookup(name, frozenset({kind}))
    refuse_system(relation, "drop")
    ctx.require("manage", relation)
    drop_storage(ctx, relation)
    ctx.metastore.delete_securables([relation.id])
    ctx.changed()
    return True


def rename_relation(ctx: Context, relation: Securable, new_name: FullName) -> Securable:
    """ALTER TABLE|VIEW ... RENAME TO: within its schema. The storage does not move."""
    refuse_system(relation, "rename")
    ctx.require("manage", relation)
    if new_name.parent != relation.full_name.parent:
        raise InvalidRequest(
            f"'{relation.full_name}' can only be renamed within schema {relation.full_name.parent}; to "
            f"move it, CREATE TABLE {new_name.quoted()} AS SELECT * FROM {relation.full_name.quoted()}.",
            error_code="CANNOT_MOVE_ACROSS_SCHEMAS",
        )
    if ctx.find(new_name) is not None:
        raise AlreadyExists(
            f"'{new_name}' already exists; choose another name.", error_code="TABLE_OR_VIEW_ALREADY_EXISTS"
        )
    ctx.metastore.update_securable(relation.id, ctx.principal, full_name=str(new_name), name=new_name.name)
    LineageStore(ctx.cursor).rename(str(relation.full_name), str(new_name))
    ctx.changed()
    return relation


def check_frame(df: pd.DataFrame, what: str) -> None:
    """A DataFrame we can store: string column names, unique ignoring case."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidRequest(
            f"{what} needs a pandas DataFrame, got {type(df).__name__}.", error_code="INVALID_PARAMETER_VALUE"
        )
    if len(df.columns) == 0:
        raise InvalidRequest(f"{what}: the DataFrame has no columns.", error_code="INVALID_PARAMETER_VALUE")
    seen: dict[str, str] = {}
    for column in df.columns:
        if not isinstance(column, str) or not column.strip():
            raise InvalidRequest(
                f"{what}: column names must be non-empty strings, got {column!r}.", error_code="INVALID_COLUMN_NAME"
            )
        if column.lower() in seen:
            raise InvalidRequest(
                f"{what}: columns '{seen[column.lower()]}' and '{column}' differ only "
                "in case; catalog column names ignore case.",
                error_code="COLUMN_ALREADY_EXISTS",
            )
        seen[column.lower()] = column


def frame_builder(ctx: Context, df: pd.DataFrame) -> Callable[[str], None]:
    def build(storage: str) -> None:
        with registered(ctx.cursor, {FRAME: df}):
            ctx.cursor.execute(f"CREATE TABLE {storage} AS SELECT * FROM {FRAME}")

    return build


def write_frame(ctx: Context, table: Securable, df: pd.DataFrame, mode: str) -> int:
    """Append, overwrite or merge rows of a managed table from a DataFrame, matching columns by
    name. ``merge`` upserts by the table's primary key (feature tables have one); every mode
    refuses a frame that would break the key (null or repeated keys), before writing anything."""
    if mode not in ("append", "overwrite", "merge"):
        raise InvalidRequest(
            f"write_table mode must be 'append', 'overwrite' or 'merge', not {mode!r}.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    if table.type is not SecurableType.TABLE:
        raise wrong_type(table, TABLE)
    refuse_system(table, "write to")
    ctx.require("write", table)
    check_frame(df, f"write_table('{table.full_name}')")
    known = {c.name.lower() for c in ctx.metastore.columns(table.id)}
    unknown = [c for c in df.columns if c.lower() not in known]
    if unknown:
        raise InvalidRequest(
            f"Table '{table.full_name}' has no column(s) {', '.join(unknown)}. Its columns: "
            f"{', '.join(c.name for c in ctx.metastore.columns(table.id))}. Rename the DataFrame's "
            "columns, or recreate the table with create_table(..., mode='overwrite').",
            error_code="SCHEMA_MISMATCH",
        )
    ctx.physical_names[table.storage_name.split(".")[1]] = str(table.full_name)
    key = ctx.metastore.primary_key(table.id)
    if mode == "merge" and key is None:
        raise InvalidRequest(
            f"Table '{table.full_name}' has no primary key, so there is nothing to merge on. Use mode "
            "'append' or 'overwrite', or create it as a feature table with primary_keys.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    with registered(ctx.cursor, {FRAME: df}):
        if key is not None:
            check_key(ctx, FRAME, key.all_columns, f"write_table('{table.full_name}')", present=df.columns)
        if mode == "overwrite":
            ctx.cursor.execute(f"DELETE FROM {table.storage_name}")
        verb = "INSERT OR REPLACE" if mode == "merge" else "INSERT"
        ctx.cursor.execute(f"{verb} INTO {table.storage_name} BY NAME SELECT * FROM {FRAME}")
    return len(df)


def check_key_columns(key: Sequence[str], what: str, *, present: Sequence[str]) -> None:
    missing = [k for k in key if k not in set(present)]
    if missing:
        raise InvalidRequest(
            f"{what}: the primary key column(s) {', '.join(missing)} are missing (columns: {', '.join(present)}).",
            error_code="PRIMARY_KEY_VIOLATION",
        )


def check_key(ctx: Context, relation: str, key: Sequence[str], what: str, *, present: Sequence[str]) -> None:
    """Refuse rows of ``relation`` (a registered frame) that lack a key column, or whose key is
    null or repeated: one such row and the whole write is refused, naming an offending key."""
    check_key_columns(key, what, present=present)
    columns = ", ".join(quote_identifier(k) for k in key)
    null_test = " OR ".join(f"{quote_identifier(k)} IS NULL" for k in key)
    nulls = ctx.cursor.execute(f"SELECT count(*) FROM {relation} WHERE {null_test}").fetchall()[0][0]
    if nulls:
        raise InvalidRequest(
            f"{what}: {nulls} row(s) have a null in the primary key ({', '.join(key)}); every key column "
            "needs a value. Nothing was written.",
            error_code="PRIMARY_KEY_VIOLATION",
        )
    repeated = ctx.cursor.execute(
        f"SELECT {columns}, count(*) AS n FROM {relation} GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    ).fetchall()
    if repeated:
        *values, count = repeated[0]
        shown = ", ".join(f"{k}={v!r}" for k, v in zip(key, values, strict=True))
        raise InvalidRequest(
            f"{what}: the key ({shown}) appears {count} times; a primary key must be unique within one "
            "write. Deduplicate the DataFrame first. Nothing was written.",
            error_code="PRIMARY_KEY_VIOLATION",
        )


def is_relation(securable: Securable) -> bool:
    return securable.type in RELATION_TYPES
