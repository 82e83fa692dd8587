"""``FeatureEngineeringClient``: Databricks' feature engineering calls on a catalog connection.

    fe = FeatureEngineeringClient()              # the connection catalog.connect opened last
    fe.create_table(name="main.ml.customer_features", primary_keys=["customer_id"],
                    timestamp_keys=["ts"], df=features_df, description="Per-customer features")
    fe.write_table(name="main.ml.customer_features", df=new_rows, mode="merge")
    training_set = fe.create_training_set(df=labels_df, feature_lookups=[...], label="churned")
    train_df = training_set.load_df()

Every call is one authorized, audited engine request: feature tables obey the grants of tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from catalog.api import Catalog
from catalog.connection import connection
from catalog.errors import InvalidRequest
from catalog.features.entities import FeatureLookup, FeatureSpec, FeatureTable
from catalog.lineage.capture import SOURCE_ATTR
from catalog.names import FullName


@dataclass
class TrainingSet:
    """Label rows and the feature lookups to join to them; ``load_df()`` computes the frame."""

    cat: Catalog
    df: pd.DataFrame
    feature_lookups: list[FeatureLookup]
    label: str | None
    exclude_columns: list[str] = field(default_factory=list)
    spec: FeatureSpec | None = None  # filled by load_df: the tables and their versions used

    def load_df(self) -> pd.DataFrame:
        """The training frame: each label row with its features as of its own timestamp (never a
        value from after it), computed inside DuckDB. Needs SELECT on every feature table."""
        loaded = self.cat.invoke(
            "createTrainingSet",
            df=self.df,
            feature_lookups=self.feature_lookups,
            label=self.label,
            exclude_columns=self.exclude_columns,
        )
        self.spec = loaded.spec
        frame = loaded.df
        for listener in list(getattr(self.cat, "read_listeners", ())):
            for name in frame.attrs[SOURCE_ATTR]:
                listener(name, frame)
        return frame


class FeatureEngineeringClient:
    """Databricks' ``FeatureEngineeringClient`` over a catalog connection."""

    def __init__(self, cat: Catalog | None = None) -> None:
        self.cat = connection(cat)

    # -- feature tables ------------------------------------------------------------------------
    def create_table(
        self,
        name: str,
        primary_keys: str | Sequence[str],
        df: pd.DataFrame | None = None,
        *,
        timestamp_keys: str | Sequence[str] | None = None,
        schema: Mapping[str, str] | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> FeatureTable:
        """Create a feature table from ``df`` (or an empty one from ``schema``, column -> SQL
        type). Needs CREATE TABLE on the schema. The key (primary keys, then the timestamp key)
        must be non-null and unique, or nothing is created."""
        return self.cat.invoke(
            "createFeatureTable",
            name=name,
            primary_keys=primary_keys,
            df=df,
            timestamp_keys=timestamp_keys,
            column_types=dict(schema) if schema is not None else None,
            description=description,
            tags={str(k): str(v) for k, v in tags.items()} if tags is not None else None,
        )

    def get_table(self, name: str) -> FeatureTable:
        return self.cat.invoke("getFeatureTable", name=name)

    def write_table(self, name: str, df: pd.DataFrame, mode: str = "merge") -> int:
        """``merge`` upserts rows by key; ``overwrite`` replaces every row. Needs MODIFY."""
        return self.cat.invoke("writeFeatureTable", name=name, df=df, mode=mode)

    def read_table(self, name: str) -> pd.DataFrame:
        return self.cat.read_table(name)

    def drop_table(self, name: str) -> None:
        """Drop a feature table (owner or MANAGE), as DROP TABLE does."""
        self.cat.sql(f"DROP TABLE {FullName.parse(name).quoted()}")

    # -- training and serving ------------------------------------------------------------------
    def create_training_set(
        self,
        df: pd.DataFrame,
        feature_lookups: Sequence[FeatureLookup],
        label: str | None,
        exclude_columns: Sequence[str] | None = None,
    ) -> TrainingSet:
        """Label rows plus feature lookups; nothing is read until ``load_df()``."""
        if not isinstance(df, pd.DataFrame):
            raise InvalidRequest(f"create_training_set needs a pandas DataFrame, got {type(df).__name__}.")
        if label is not None and label not in df.columns:
            raise InvalidRequest(
                f"The label column '{label}' is not in the DataFrame (columns: {', '.join(map(str, df.columns))}).",
                error_code="UNRESOLVED_COLUMN",
            )
        return TrainingSet(self.cat, df, list(feature_lookups), label, list(exclude_columns or []))

    def lookup_features(self, name: str, keys: Sequence[Any]) -> pd.DataFrame:
        """The latest feature values for each key (one value per key column, or tuples for a
        composite key), in request order: the online path serving uses. Needs SELECT."""
        return self.cat.invoke("lookupFeatures", name=name, keys=keys)

    # -- models --------------------------------------------------------------------------------
    def log_model(
        self,
        model: Any,
        artifact_path: str,
        *,
        training_set: TrainingSet,
        flavor: str | None = None,
        registered_model_name: str | None = None,
        **kwargs: Any,
    ):
        """``catalog.models.log_model`` plus the training set's feature spec, stored in the model
        (``extra_files/feature_spec.json``, checksummed like every file) so that ``score_batch``
        looks the same features up. ``flavor`` takes Databricks' "sklearn" spelling too."""
        import json
        import tempfile
        from pathlib import Path

        from catalog.models import log_model

        if not isinstance(training_set, TrainingSet) or training_set.spec is None:
            raise InvalidRequest(
                "log_model needs the training set the model was trained on, after training_set.load_df().",
                error_code="INVALID_PARAMETER_VALUE",
            )
        # The run trained on the feature tables: record them as its inputs first, so that the
        # registration below draws lineage from them to the model.
        from catalog import tracking

        run = tracking.active_run() or tracking.start_run()
        tracking.Client(self.cat).log_inputs(
            run.info.run_id,
            [
                tracking.DatasetInput(name, digest, None, "training")
                for name, digest in training_set.spec.table_digests.items()
            ],
        )
        with tempfile.TemporaryDirectory(prefix="feature-spec-") as folder:
            spec_file = Path(folder) / FEATURE_SPEC_FILE
            spec_file.write_text(json.dumps(_spec_json(training_set.spec), indent=2, default=str), encoding="utf-8")
            extra = [*(kwargs.pop("extra_files", None) or []), spec_file]
            return log_model(
                model,
                artifact_path,
                flavor=_flavor(flavor),
                extra_files=extra,
                registered_model_name=registered_model_name,
                **kwargs,
            )

    def score_batch(self, model_uri: str, df: pd.DataFrame, *, batch_size: int = 50_000) -> pd.DataFrame:
        """Score rows that hold only the lookup keys (and timestamps): the features are looked up
        as the model's feature spec says, the model predicts, and the frame comes back with a
        ``prediction`` column. Needs EXECUTE on a registered model and SELECT on the feature
        tables. Shows a progress bar on inputs larger than one batch."""
        from catalog.models import load_model

        model = load_model(model_uri, cat=self.cat)
        spec = read_feature_spec(model)
        labels = df.drop(columns=[spec["label"]], errors="ignore") if spec.get("label") else df
        lookups = [_lookup_from_record(record) for record in spec["lookups"]]
        training = TrainingSet(self.cat, labels, lookups, None, list(spec.get("exclude_columns", [])))
        features = training.load_df()
        # The model takes what it was trained on: its signature's columns when it has one, else
        # the training set's columns (exclude_columns already left out).
        wanted = _model_inputs(model)
        inputs = features[[c for c in features.columns if c in wanted]] if wanted else features
        predictions = _predict_in_batches(model, inputs, batch_size)
        scored = df.copy()
        scored["prediction"] = predictions
        scored.attrs[SOURCE_ATTR] = [*features.attrs.get(SOURCE_ATTR, []), *_model_source(model_uri)]
        return scored


FEATURE_SPEC_FILE = "feature_spec.json"


def _flavor(flavor: Any) -> str | None:
    """Databricks passes a module (mlflow.sklearn); we take its last name or a string."""
    if flavor is None or isinstance(flavor, str):
        return flavor
    return str(getattr(flavor, "__name__", flavor)).rsplit(".", 1)[-1]


def _spec_json(spec: FeatureSpec) -> dict[str, Any]:
    return {
        "lookups": spec.lookups,
        "label": spec.label,
        "exclude_columns": spec.exclude_columns,
        "table_digests": spec.table_digests,
    }


def read_feature_spec(model) -> dict[str, Any]:
    """The feature spec stored with a model by ``FeatureEngineeringClient.log_model``,
    read through the model's checksums."""
    import json

    from catalog.models.checksums import read_verified

    name = f"extra_files/{FEATURE_SPEC_FILE}"
    if name not in model.metadata.files:
        raise InvalidRequest(
            f"The model at '{model.path}' has no feature spec: it was not logged with "
            "FeatureEngineeringClient.log_model(..., training_set=...). Score it with its own inputs "
            "(model.predict(df)) instead.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return json.loads(read_verified(model.path, name, model.metadata.files))


def _lookup_from_record(record: Mapping[str, Any]) -> FeatureLookup:
    from datetime import timedelta

    renames = dict(zip(record["features"], record["output_names"], strict=True))
    return FeatureLookup(
        table_name=record["table_name"],
        lookup_key=record["lookup_key"],
        feature_names=record["features"],
        timestamp_lookup_key=record.get("timestamp_lookup_key"),
        lookback_window=timedelta(seconds=record["lookback_seconds"]) if record.get("lookback_seconds") else None,
        rename_outputs={k: v for k, v in renames.items() if k != v} or None,
        default_values=record.get("default_values") or None,
    )


def _model_inputs(model) -> set[str]:
    schema = model.metadata.get_input_schema()
    return set(schema.input_names()) if schema is not None else set()


def _predict_in_batches(model, inputs: pd.DataFrame, batch_size: int) -> list[Any]:
    import numpy as np
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise InvalidRequest(f"batch_size must be at least 1, not {batch_size}.", error_code="INVALID_PARAMETER_VALUE")
    starts = range(0, len(inputs), batch_size)
    progress = tqdm(starts, desc="score_batch", unit="batch", disable=len(inputs) <= batch_size, leave=False)
    parts = [np.asarray(model.predict(inputs.iloc[start : start + batch_size])) for start in progress]
    return list(np.concatenate(parts)) if parts else []


def _model_source(model_uri: str) -> list[str]:
    from catalog.models.uris import ModelUri, parse_model_uri

    parsed = parse_model_uri(model_uri)
    return [parsed.name] if isinstance(parsed, ModelUri) else []
