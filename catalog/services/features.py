"""Feature tables: catalog tables with a primary key (and at most one timestamp key).

A feature table is an ordinary managed table, read and written with the same grants (SELECT,
MODIFY, CREATE TABLE on the schema), answering to SQL, whose physical DuckDB table carries the
PRIMARY KEY too, so that no write path can break the key. The key is recorded in
meta.primary_keys and shown in system.information_schema.table_constraints / key_column_usage.
Training sets join features point in time (:mod:`catalog.features.pit`) inside DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlglot import exp
from sqlglot.errors import ParseError

from catalog.errors import InvalidRequest
from catalog.features import online, pit
from catalog.features.entities import FeatureLookup, FeatureTable
from catalog.lineage import capture
from catalog.names import FullName
from catalog.securables import Securable, SecurableType
from catalog.services import columns as column_meta
from catalog.services import tables
from catalog.services.context import Context
from catalog.store.database import quote_identifier
from catalog.store.metastore import PrimaryKey

TABLE = frozenset({SecurableType.TABLE})
TAGS = "tags"  # in the table's properties


def create_feature_table(
    ctx: Context,
    name: FullName,
    *,
    primary_keys: Sequence[str],
    timestamp_keys: Sequence[str] = (),
    df: pd.DataFrame | None = None,
    schema: Mapping[str, str] | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Securable:
    """Create a feature table from a DataFrame (its rows are the first write) or from a schema
    (column name -> SQL type). The key must be non-null and unique; nothing is created otherwise."""
    what = f"create_table('{name}')"
    keys, timestamps = _key_lists(primary_keys, timestamp_keys, what)
    if (df is None) == (schema is None):
        raise InvalidRequest(f"{what}: pass df (a DataFrame) or schema (column -> type), one of them.")
    if df is not None:
        tables.check_frame(df, what)
    fill = tables.frame_builder(ctx, df) if df is not None else _schema_builder(ctx, schema, what)
    key = PrimaryKey(f"{name.name}_pk", keys, timestamps)

    def build(storage: str) -> None:
        # Called once creating the table is authorized: fill it, check the key, declare it.
        fill(storage)
        present = [c.name for c in column_meta.describe(ctx.cursor, storage)]
        tables.check_key(ctx, storage, key.all_columns, what, present=present)
        columns = ", ".join(quote_identifier(c) for c in key.all_columns)
        ctx.cursor.execute(f"ALTER TABLE {storage} ADD PRIMARY KEY ({columns})")

    table = tables.create_table(ctx, name, build, comment=description, mode="error")
    ctx.metastore.set_primary_key(table.id, key)
    if tags:
        ctx.metastore.update_securable(
            table.id, ctx.principal, properties={TAGS: {str(k): str(v) for k, v in tags.items()}}
        )
    if df is not None:
        capture.record_write(ctx, table, capture.frame_sources(ctx, df))
    ctx.changed()
    return table


def _key_lists(
    primary_keys: Sequence[str], timestamp_keys: Sequence[str], what: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    keys = (primary_keys,) if isinstance(primary_keys, str) else tuple(primary_keys or ())
    timestamps = (timestamp_keys,) if isinstance(timestamp_keys, str) else tuple(timestamp_keys or ())
    if not keys or not all(isinstance(k, str) and k for k in (*keys, *timestamps)):
        raise InvalidRequest(
            f"{what}: primary_keys must name one or more columns (e.g. ['customer_id']).",
            error_code="INVALID_PARAMETER_VALUE",
        )
    if len(timestamps) > 1:
        raise InvalidRequest(
            f"{what}: a feature table has at most one timestamp key.", error_code="INVALID_PARAMETER_VALUE"
        )
    overlap = set(keys) & set(timestamps)
    if overlap or len(set(keys)) != len(keys):
        raise InvalidRequest(
            f"{what}: a column may appear once in the key; {sorted(overlap) or keys} repeats.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return keys, timestamps


def _schema_builder(ctx: Context, schema: Mapping[str, str], what: str) -> Callable[[str], None]:
    """Create the physical table from column name -> Databricks SQL type (STRING, DOUBLE, ...)."""
    if not isinstance(schema, Mapping) or not schema:
        raise InvalidRequest(
            f"{what}: schema must map column names to SQL types.", error_code="INVALID_PARAMETER_VALUE"
        )
    definitions = []
    for column, type_name in schema.items():
        try:
            duckdb_type = exp.DataType.build(str(type_name), dialect="databricks").sql(dialect="duckdb")
        except (ParseError, ValueError):
            raise InvalidRequest(
                f"{what}: '{type_name}' (column {column}) is not a SQL type; write e.g. BIGINT, DOUBLE, STRING, "
                "TIMESTAMP.",
                error_code="INVALID_PARAMETER_VALUE",
            ) from None
        definitions.append(f"{quote_identifier(column)} {duckdb_type}")

    def build(storage: str) -> None:
        ctx.cursor.execute(f"CREATE TABLE {storage} ({', '.join(definitions)})")

    return build


def get_feature_table(ctx: Context, name: FullName) -> FeatureTable:
    table = ctx.lookup(name, TABLE)
    ctx.require_visible(table)
    key = ctx.metastore.primary_key(table.id)
    if key is None:
        raise InvalidRequest(
            f"'{name}' is a table without a primary key, not a feature table. Create feature tables with "
            "FeatureEngineeringClient.create_table(name, primary_keys=[...], df=...).",
            error_code="NOT_A_FEATURE_TABLE",
        )
    return _entity(ctx, table, key)


def _entity(ctx: Context, table: Securable, key: PrimaryKey) -> FeatureTable:
    names = [c.name for c in ctx.metastore.columns(table.id)]
    return FeatureTable(
        name=str(table.full_name),
        primary_keys=list(key.columns),
        timestamp_keys=list(key.timeseries),
        features=[c for c in names if c not in key.all_columns],
        description=table.comment,
        tags=dict(table.properties.get(TAGS, {})),
        owner=table.owner,
        table_id=table.id,
    )


# -- lookups -------------------------------------------------------------------------------------
def resolve(ctx: Context, lookup: FeatureLookup) -> tuple[Securable, FeatureTable, pit.ResolvedLookup]:
    """Check the caller may read the lookup's table (SELECT) and resolve names and features."""
    if not isinstance(lookup, FeatureLookup):
        raise InvalidRequest(f"feature_lookups takes FeatureLookup objects, not {type(lookup).__name__}.")
    name = FullName.parse(lookup.table_name)
    table = ctx.lookup(name, TABLE)
    ctx.require("read", table)
    entity = get_feature_table(ctx, name)
    features = lookup.wanted_features or tuple(entity.features)
    unknown = [f for f in features if f not in entity.features]
    if unknown:
        raise InvalidRequest(
            f"Feature table '{name}' has no feature(s) {', '.join(unknown)}; its features: "
            f"{', '.join(entity.features)}.",
            error_code="UNRESOLVED_COLUMN",
        )
    renames = dict(lookup.rename_outputs or {})
    ctx.physical_names[table.storage_name.split(".")[1]] = str(name)
    resolved = pit.ResolvedLookup(
        relation=table.storage_name,
        keys=tuple(entity.primary_keys),
        timestamp=entity.timestamp_keys[0] if entity.timestamp_keys else None,
        lookup_key=lookup.lookup_keys,
        timestamp_lookup_key=lookup.timestamp_lookup_key,
        features=tuple(features),
        output_names=tuple(renames.get(f, f) for f in features),
        defaults=dict(lookup.default_values or {}),
        lookback=lookup.lookback_window,
        name=str(name),
    )
    return table, entity, resolved


def table_digest(ctx: Context, table: Securable) -> str:
    """A content hash of a table's rows, order-independent: its 'version' for a feature spec."""
    count, digest = ctx.cursor.execute(
        f"SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM {table.storage_name} t"
    ).fetchall()[0]
    return f"{count}:{digest:016x}"


def lookup_features(ctx: Context, name: FullName, keys: Sequence[Any] | Sequence[Sequence[Any]]) -> pd.DataFrame:
    """The latest feature values of each key (online serving), from the in-memory cache of the
    table's latest rows (reloaded after any committed write). Needs SELECT on the table."""
    table = ctx.lookup(name, TABLE)
    ctx.require("read", table)
    entity = get_feature_table(ctx, name)
    tuples = [tuple(k) if isinstance(k, list | tuple) else (k,) for k in keys]
    for values in tuples:
        if len(values) != len(entity.primary_keys):
            raise InvalidRequest(
                f"Key {values!r} has {len(values)} part(s); '{name}' is keyed by {entity.primary_keys}.",
                error_code="INVALID_PARAMETER_VALUE",
            )
    timestamp = entity.timestamp_keys[0] if entity.timestamp_keys else None
    return online.CACHE.lookup(
        str(ctx.home),
        table.id,
        ctx.data_generation,
        entity.primary_keys,
        tuples,
        lambda: pit.latest_rows(ctx.cursor, table.storage_name, entity.primary_keys, timestamp, entity.features),
    )
