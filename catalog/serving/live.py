"""One configuration of one endpoint, ready to answer: served entities, their router, and what
each needs to check and complete a request before it reaches the model.

A :class:`LiveEndpoint` is built from the metastore (the endpoint's row and the registered
versions it serves). The models themselves load lazily (or when the configuration is being
readied), as the endpoint's owner: the owner's EXECUTE is checked and audited on each load.
Each served version's descriptor is read when the configuration is built, so requests are
checked against its signature even while its model is scaled to zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from catalog.errors import InvalidRequest
from catalog.models.checksums import read_verified
from catalog.models.descriptor import ModelMetadata
from catalog.models.enforcement import enforce_schema
from catalog.models.format import verify_model
from catalog.serving.config import EndpointConfig, ServedEntity
from catalog.serving.inputs import check_columns
from catalog.serving.routing import TrafficRouter
from catalog.serving.served import ServedModel
from catalog.serving.store import EndpointRow, ResolvedEntity

if TYPE_CHECKING:
    from catalog.serving.backends import EndpointRef, Plan

FEATURE_SPEC = "extra_files/feature_spec.json"

# Looks up the latest feature rows of ``keys`` in a feature table, as the endpoint's owner.
FeatureLookupFn = Callable[[str, list[Any]], pd.DataFrame]


@dataclass
class LiveEntity:
    """A served entity of a live configuration."""

    config: ServedEntity
    resolved: ResolvedEntity
    served_entity_id: str
    metadata: ModelMetadata
    feature_spec: dict[str, Any] | None
    served: ServedModel

    @property
    def name(self) -> str:
        return str(self.config.name)

    def same_model(self, other: LiveEntity) -> bool:
        """Whether ``other`` serves the same version with the same settings (so its loaded model can be kept)."""
        return self.resolved.digest == other.resolved.digest and self.config == other.config

    def prepare(self, data: pd.DataFrame | Any, endpoint: str, lookup: FeatureLookupFn) -> pd.DataFrame | Any:
        """A request's rows checked against the signature and completed with looked-up features."""
        schema = self.metadata.get_input_schema()
        if self.feature_spec is not None and isinstance(data, pd.DataFrame):
            data = self._with_features(data, endpoint, lookup)
        if schema is None:
            return data
        if isinstance(data, pd.DataFrame):
            check_columns(data, schema, endpoint=endpoint)
        return enforce_schema(data, schema, model=f"{self.config.entity_name} version {self.config.entity_version}")

    def _with_features(self, frame: pd.DataFrame, endpoint: str, lookup: FeatureLookupFn) -> pd.DataFrame:
        frame = frame.reset_index(drop=True)
        added: dict[str, pd.Series] = {}
        for record in self.feature_spec["lookups"]:  # type: ignore[index]
            keys = list(record["lookup_key"])
            missing = [k for k in keys if k not in frame.columns]
            if missing:
                raise InvalidRequest(
                    f"The request to endpoint '{endpoint}' lacks the lookup key column(s) {', '.join(missing)}: "
                    f"the model looks up its features in '{record['table_name']}' by {', '.join(keys)}.",
                    error_code="BAD_REQUEST",
                )
            values = [list(row) for row in frame[keys].itertuples(index=False, name=None)]
            found = lookup(record["table_name"], values if len(keys) > 1 else [v[0] for v in values])
            features, outputs = list(record["features"]), list(record["output_names"])
            defaults = record.get("default_values") or {}
            absent = found[features].isna().all(axis=1).to_numpy()
            for feature, output in zip(features, outputs, strict=True):
                if output in frame.columns:  # the caller sent the value: it wins, as in Databricks
                    continue
                column = found[feature].reset_index(drop=True)
                default = defaults.get(output, defaults.get(feature))
                if default is not None:
                    column = column.where(~absent, default)
                    # A missing key made an integer column float (NaN); filled, it is whole again.
                    whole = column.dtype.kind == "f" and column.notna().all() and (column % 1 == 0).all()
                    if isinstance(default, int) and whole:
                        column = column.astype("int64")
                elif absent.any():
                    row = int(absent.argmax())
                    key = ", ".join(f"{k}={frame.at[row, k]!r}" for k in keys)
                    raise InvalidRequest(
                        f"Feature table '{record['table_name']}' has no row for {key} (row {row} of the request "
                        f"to endpoint '{endpoint}'), and feature '{feature}' declares no default. Write the "
                        "key's features first, or send the feature values in the request.",
                        error_code="FEATURE_LOOKUP_KEY_NOT_FOUND",
                    )
                added[output] = column
        completed = frame.assign(**added) if added else frame
        exclude = set(self.feature_spec.get("exclude_columns") or [])  # type: ignore[union-attr]
        return completed.drop(columns=[c for c in completed.columns if c in exclude])


@dataclass
class LiveEndpoint:
    """One configuration version of an endpoint, as the runtime serves it."""

    ref: EndpointRef
    row: EndpointRow
    entities: dict[str, LiveEntity]
    router: TrafficRouter
    ready: bool = False  # every entity that must be warm is loaded (set by the runtime)
    built_for: int = field(default=-1)  # the snapshot version this was last confirmed against

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def config(self) -> EndpointConfig:
        return self.row.config

    @property
    def config_version(self) -> int:
        return self.row.config_version


def build_entities(
    plan: Plan,
    loader: Callable[[ServedEntity], Callable[[], Any]],
    keep: dict[str, LiveEntity],
) -> dict[str, LiveEntity]:
    """The live entities of ``plan``'s config; entities of ``keep`` that serve the same model with
    the same settings are carried over with their loaded model."""
    entities = {}
    for entity in plan.row.config.served_entities:
        name = str(entity.name)
        planned = plan.entities[name]
        metadata = verify_model(planned.folder, expected_digest=planned.resolved.digest)
        spec = (
            json.loads(read_verified(planned.folder, FEATURE_SPEC, metadata.files))
            if FEATURE_SPEC in metadata.files
            else None
        )
        previous = keep.get(name)
        served = (
            previous.served
            if previous is not None
            and previous.resolved.digest == planned.resolved.digest
            and previous.config == entity
            else ServedModel(
                name,
                loader(entity),
                scale_to_zero=entity.scale_to_zero_enabled,
                idle_seconds=entity.scale_to_zero_idle_seconds,
                max_batch_rows=entity.max_batch_size,
                max_wait_ms=entity.max_batch_wait_ms,
            )
        )
        entities[name] = LiveEntity(entity, planned.resolved, planned.served_entity_id, metadata, spec, served)
    return entities
