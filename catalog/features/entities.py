"""Feature tables, lookups and training sets, with the Databricks Feature Engineering names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from catalog import wire
from catalog.errors import InvalidRequest

if TYPE_CHECKING:
    import pandas as pd


@wire.register
@dataclass(frozen=True)
class FeatureTable:
    """Shaped like ``databricks.feature_engineering.entities.FeatureTable``."""

    name: str
    primary_keys: list[str]
    timestamp_keys: list[str]
    features: list[str]  # every column that is not a key
    description: str | None
    tags: dict[str, str]
    owner: str
    table_id: str


@dataclass(frozen=True)
class FeatureLookup:
    """Which features of which feature table to join to each label row, and by which keys.

    Args:
        table_name: the feature table, ``catalog.schema.table``.
        lookup_key: the label frame's column(s) matched, in order, to the table's primary keys.
        feature_names: the features to take (None: every non-key column).
        timestamp_lookup_key: the label frame's timestamp column: each row gets the latest
            feature values at or before it (point in time). Needs a table with a timestamp key.
        lookback_window: ignore feature rows older than the label's timestamp minus this.
        rename_outputs: feature name -> output column name.
        default_values: feature name -> value used when no feature row matches.
    """

    table_name: str
    lookup_key: str | Sequence[str]
    feature_names: str | Sequence[str] | None = None
    timestamp_lookup_key: str | None = None
    lookback_window: timedelta | None = None
    rename_outputs: Mapping[str, str] | None = None
    default_values: Mapping[str, Any] | None = None

    @property
    def lookup_keys(self) -> tuple[str, ...]:
        keys = (self.lookup_key,) if isinstance(self.lookup_key, str) else tuple(self.lookup_key or ())
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise InvalidRequest(
                f"FeatureLookup for '{self.table_name}': lookup_key must name the label column(s) to match "
                f"the table's primary keys, got {self.lookup_key!r}.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return keys

    @property
    def wanted_features(self) -> tuple[str, ...] | None:
        if self.feature_names is None:
            return None
        return (self.feature_names,) if isinstance(self.feature_names, str) else tuple(self.feature_names)


@wire.register
@dataclass(frozen=True)
class FeatureSpec:
    """What a model trained on a training set needs to look its features up again: stored with
    the model (``feature_spec.json``), used by ``score_batch``."""

    lookups: list[dict[str, Any]]  # each: table_name, table_id, lookup_key, timestamp_lookup_key, features, ...
    label: str | None
    exclude_columns: list[str] = field(default_factory=list)
    table_digests: dict[str, str] = field(default_factory=dict)  # table -> content hash when the set was loaded


@wire.register
@dataclass(frozen=True)
class TrainingFrame:
    """A loaded training set, as ``createTrainingSet`` returns it: the frame, and the spec of
    the lookups that made it."""

    df: pd.DataFrame
    spec: FeatureSpec


def _lookup_fields(lookup: FeatureLookup) -> dict[str, Any]:
    window = lookup.lookback_window
    fields = {name: getattr(lookup, name) for name in FeatureLookup.__dataclass_fields__}
    return {**fields, "lookback_window": window.total_seconds() if window is not None else None}


def _lookup_from_fields(fields: dict[str, Any]) -> FeatureLookup:
    seconds = fields.pop("lookback_window", None)
    return FeatureLookup(**fields, lookback_window=timedelta(seconds=seconds) if seconds is not None else None)


# The lookback window (a timedelta) travels as seconds.
wire.register_custom(FeatureLookup, _lookup_fields, _lookup_from_fields)
