"""The feature engineering operations: feature tables, training sets, online lookups.

Feature tables are tables with a primary key, and obey the grants of tables (services in
:mod:`catalog.services.features`); :class:`catalog.features.FeatureEngineeringClient` is built
on these operations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from catalog.errors import InvalidRequest
from catalog.features import pit
from catalog.features.entities import FeatureLookup, FeatureSpec, FeatureTable, TrainingFrame
from catalog.lineage import capture
from catalog.names import FullName
from catalog.operations import operation
from catalog.services import features as service
from catalog.services import tables
from catalog.services.context import Context

AREA = "features"
WRITE_MODES = ("merge", "overwrite")


@operation(AREA, "createFeatureTable", writes=True, lineage="PYTHON", audit=("name",))
def create_feature_table(
    ctx: Context,
    name: str,
    primary_keys: str | Sequence[str],
    df: pd.DataFrame | None = None,
    timestamp_keys: str | Sequence[str] | None = None,
    column_types: dict[str, str] | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
) -> FeatureTable:
    """A feature table from ``df``, or an empty one of ``column_types`` (column -> SQL type)."""
    full = FullName.parse(name)
    service.create_feature_table(
        ctx,
        full,
        primary_keys=primary_keys,
        timestamp_keys=timestamp_keys or (),
        df=df,
        schema=column_types,
        description=description,
        tags=tags,
    )
    return service.get_feature_table(ctx, full)


@operation(AREA, "getFeatureTable", writes=False, audit=("name",))
def get_feature_table(ctx: Context, name: str) -> FeatureTable:
    return service.get_feature_table(ctx, FullName.parse(name))


def check_write_mode(mode: str) -> None:
    if mode not in WRITE_MODES:
        raise InvalidRequest(
            f"Feature table writes take mode 'merge' or 'overwrite', not {mode!r}.",
            error_code="INVALID_PARAMETER_VALUE",
        )


@operation(AREA, "writeFeatureTable", writes=True, lineage="PYTHON", audit=("name", "mode"))
def write_feature_table(ctx: Context, name: str, df: pd.DataFrame, mode: str = "merge") -> int:
    """``merge`` upserts rows by key; ``overwrite`` replaces every row. Needs MODIFY."""
    check_write_mode(mode)
    full = FullName.parse(name)
    service.get_feature_table(ctx, full)  # a feature table, and visible
    table = ctx.lookup(full, service.TABLE)
    count = tables.write_frame(ctx, table, df, mode)
    capture.record_write(ctx, table, capture.frame_sources(ctx, df))
    return count


def _tables_read(arguments: Mapping[str, Any]) -> dict[str, Any]:
    names = [getattr(lookup, "table_name", "?") for lookup in arguments["feature_lookups"]]
    return {"tables": ",".join(names)}


@operation(AREA, "createTrainingSet", writes=False, audit=_tables_read)
def create_training_set(
    ctx: Context,
    df: pd.DataFrame,
    feature_lookups: Sequence[FeatureLookup],
    label: str | None = None,
    exclude_columns: Sequence[str] = (),
) -> TrainingFrame:
    """Each label row with its features as of its own timestamp (never a value from after it),
    computed inside DuckDB; needs SELECT on every feature table."""
    resolved = [service.resolve(ctx, lookup) for lookup in feature_lookups]
    frame = pit.point_in_time_join(ctx.cursor, df, [r for _, _, r in resolved], exclude_columns=list(exclude_columns))
    spec = FeatureSpec(
        lookups=[
            _lookup_record(lookup, entity, r) for lookup, (_, entity, r) in zip(feature_lookups, resolved, strict=True)
        ],
        label=label,
        exclude_columns=list(exclude_columns),
        table_digests={str(t.full_name): service.table_digest(ctx, t) for t, _, _ in resolved},
    )
    # The frame came from the feature tables (and whatever the labels came from): a run or a
    # table written from it records them as its sources.
    label_sources = capture.frame_sources(ctx, df)
    frame.attrs[capture.SOURCE_ATTR] = sorted(
        {str(t.full_name) for t, _, _ in resolved} | {str(s.full_name) for s in label_sources}
    )
    return TrainingFrame(frame, spec)


def _lookup_record(lookup: FeatureLookup, entity: FeatureTable, resolved: pit.ResolvedLookup) -> dict[str, Any]:
    return {
        "table_name": entity.name,
        "table_id": entity.table_id,
        "lookup_key": list(resolved.lookup_key),
        "timestamp_lookup_key": resolved.timestamp_lookup_key,
        "features": list(resolved.features),
        "output_names": list(resolved.output_names),
        "lookback_seconds": lookup.lookback_window.total_seconds() if lookup.lookback_window else None,
        "default_values": dict(resolved.defaults.items()),
    }


def _lookup_count(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": arguments["name"], "keys": len(arguments["keys"])}


@operation(AREA, "lookupFeatures", writes=False, audit=_lookup_count)
def lookup_features(ctx: Context, name: str, keys: Sequence[Any]) -> pd.DataFrame:
    """The latest feature values of each key (a value per key column, or a sequence of values
    for a composite key), in request order: the online path serving uses. Needs SELECT."""
    return service.lookup_features(ctx, FullName.parse(name), keys)
