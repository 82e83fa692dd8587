"""Feature engineering on governed catalog tables, with Databricks' names.

    from catalog.features import FeatureEngineeringClient, FeatureLookup
    fe = FeatureEngineeringClient()
    fe.create_table(name="main.ml.customer_features", primary_keys=["customer_id"],
                    timestamp_keys=["ts"], df=features_df)
    training_set = fe.create_training_set(df=labels_df, feature_lookups=[
        FeatureLookup(table_name="main.ml.customer_features", lookup_key="customer_id",
                      timestamp_lookup_key="ts")], label="churned")
    train_df = training_set.load_df()          # point in time, computed in DuckDB

Feature tables are catalog tables with a primary key; the same grants govern them.
"""

from catalog.features.client import FeatureEngineeringClient, TrainingSet
from catalog.features.entities import FeatureLookup, FeatureSpec, FeatureTable

__all__ = ["FeatureEngineeringClient", "FeatureLookup", "FeatureSpec", "FeatureTable", "TrainingSet"]
