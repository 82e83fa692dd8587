"""Feature engineering against a real home: feature tables with enforced keys, grants, the
information schema, point-in-time training sets, models logged with their feature spec,
score_batch, online lookups, and lineage from feature table to scored table.

The point-in-time join itself is checked against a brute-force reference in test_feature_pit.py."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from catalog import tracking
from catalog.errors import AlreadyExists, InvalidRequest, PermissionDenied, SqlError
from catalog.features import FeatureEngineeringClient, FeatureLookup

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client

TABLE = "main.ml.customer_features"


pytestmark = pytest.mark.usefixtures("tracking_state")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def customer_features() -> pd.DataFrame:
    """Customers 1 and 2, each with values at two points in time."""
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2],
            "ts": [ts("2026-01-01"), ts("2026-02-01"), ts("2026-01-01"), ts("2026-03-01")],
            "tenure_months": [1, 2, 10, 12],
            "avg_session_minutes": [5.0, 6.0, 30.0, 31.0],
        }
    )


@pytest.fixture
def fe(world) -> FeatureEngineeringClient:
    """alice (analysts) may create tables in main.ml and read them."""
    world["admin"].sql("GRANT CREATE TABLE, MODIFY, CREATE MODEL ON SCHEMA main.ml TO analysts")
    client = FeatureEngineeringClient(world["alice"])
    client.create_table(
        name=TABLE,
        primary_keys=["customer_id"],
        timestamp_keys=["ts"],
        df=customer_features(),
        description="Per-customer features",
        tags={"team": "growth"},
    )
    return client


def labels() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3, 2],
            "ts": [ts("2026-01-15"), ts("2026-02-01"), ts("2025-12-31"), ts("2026-02-01"), ts("2026-06-01")],
            "churned": [0, 1, 1, 0, 1],
        }
    )


# -- feature tables -------------------------------------------------------------------------------
def test_create_and_describe_a_feature_table(fe):
    table = fe.get_table(TABLE)
    assert table.primary_keys == ["customer_id"] and table.timestamp_keys == ["ts"]
    assert table.features == ["tenure_months", "avg_session_minutes"]
    assert table.description == "Per-customer features" and table.tags == {"team": "growth"}
    assert table.owner == "alice"
    assert len(fe.read_table(TABLE)) == 4


def test_feature_tables_answer_to_sql_and_show_their_keys(world, fe):
    cat = world["alice"]
    assert cat.sql(f"SELECT count(*) AS n FROM {TABLE}")["n"][0] == 4
    constraints = cat.sql(
        "SELECT constraint_name, constraint_type, enforced FROM system.information_schema.table_constraints "
        "WHERE table_name = 'customer_features'"
    )
    assert constraints.to_dict("records") == [
        {"constraint_name": "customer_features_pk", "constraint_type": "PRIMARY KEY", "enforced": "YES"}
    ]
    keys = cat.sql(
        "SELECT column_name, ordinal_position FROM system.information_schema.key_column_usage "
        "WHERE table_name = 'customer_features' ORDER BY ordinal_position"
    )
    assert keys.values.tolist() == [["customer_id", 1], ["ts", 2]]
    nullable = cat.sql(
        "SELECT column_name, is_nullable FROM system.information_schema.columns "
        "WHERE table_name = 'customer_features' ORDER BY ordinal_position"
    )
    assert nullable["is_nullable"].tolist() == ["NO", "NO", "YES", "YES"]
    assert world["bob"].sql("SELECT * FROM system.information_schema.table_constraints").empty


def test_merge_upserts_by_key_and_overwrite_replaces(fe):
    fe.write_table(
        name=TABLE,
        df=pd.DataFrame(
            {
                "customer_id": [1, 3],
                "ts": [ts("2026-02-01"), ts("2026-01-01")],
                "tenure_months": [3, 1],
                "avg_session_minutes": [7.0, 1.0],
            }
        ),
        mode="merge",
    )
    rows = fe.read_table(TABLE).sort_values(["customer_id", "ts"])
    assert len(rows) == 5
    assert rows[(rows.customer_id == 1) & (rows.ts == ts("2026-02-01"))]["tenure_months"].tolist() == [3]
    fe.write_table(name=TABLE, df=customer_features().head(1), mode="overwrite")
    assert len(fe.read_table(TABLE)) == 1


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (
            pd.DataFrame({"customer_id": [5, 5], "ts": [ts("2026-01-01")] * 2, "tenure_months": [1, 2]}),
            "appears 2 times",
        ),
        (pd.DataFrame({"customer_id": [None, 6], "ts": [ts("2026-01-01")] * 2, "tenure_months": [1, 2]}), "null"),
        (pd.DataFrame({"customer_id": [7], "tenure_months": [1]}), "missing"),
    ],
)
def test_a_write_that_breaks_the_key_is_refused_whole(fe, frame, match):
    before = fe.read_table(TABLE)
    for mode in ("merge", "overwrite"):
        with pytest.raises(InvalidRequest, match=match) as raised:
            fe.write_table(name=TABLE, df=frame, mode=mode)
        assert raised.value.error_code == "PRIMARY_KEY_VIOLATION"
    pd.testing.assert_frame_equal(fe.read_table(TABLE), before)


def test_sql_writes_cannot_break_the_key_either(world, fe):
    with pytest.raises(SqlError) as raised:
        world["alice"].sql(f"INSERT INTO {TABLE} VALUES (1, TIMESTAMP '2026-01-01', 9, 9.0)")
    assert raised.value.error_code == "CONSTRAINT_VIOLATION"
    with pytest.raises(InvalidRequest, match="appears 2 times"):
        world["alice"].write_table(TABLE, customer_features().head(1).pipe(lambda f: pd.concat([f, f])))
    assert len(world["alice"].read_table(TABLE)) == 4


def test_creating_needs_a_clean_key_and_create_table(world, fe):
    bad = customer_features().assign(customer_id=1)  # four rows, two share (1, 2026-01-01)
    with pytest.raises(InvalidRequest, match="appears 2 times"):
        fe.create_table(name="main.ml.bad", primary_keys=["customer_id"], timestamp_keys=["ts"], df=bad)
    assert "bad" not in world["admin"].sql("SHOW TABLES IN main.ml")["tableName"].tolist()
    with pytest.raises(AlreadyExists):
        fe.create_table(name=TABLE, primary_keys=["customer_id"], df=customer_features())
    with pytest.raises(InvalidRequest, match="at most one timestamp key"):
        fe.create_table(name="main.ml.x", primary_keys=["customer_id"], timestamp_keys=["ts", "t2"], df=bad)
    with pytest.raises(InvalidRequest, match="primary_keys"):
        fe.create_table(name="main.ml.x", primary_keys=[], df=bad)
    bob = FeatureEngineeringClient(world["bob"])
    with pytest.raises(PermissionDenied):
        bob.create_table(name="main.ml.bobs", primary_keys=["customer_id"], df=customer_features())


def test_create_from_a_schema(fe):
    made = fe.create_table(
        name="main.ml.empty_features",
        primary_keys="customer_id",
        schema={"customer_id": "BIGINT", "score": "DOUBLE", "segment": "STRING"},
    )
    assert made.features == ["score", "segment"] and fe.read_table("main.ml.empty_features").empty
    with pytest.raises(InvalidRequest, match="not a SQL type"):
        fe.create_table(name="main.ml.e2", primary_keys="k", schema={"k": "NOT A TYPE("})


def test_writing_needs_modify(world, fe):
    world["admin"].sql("GRANT USE CATALOG ON CATALOG main TO bob")
    world["admin"].sql("GRANT USE SCHEMA ON SCHEMA main.ml TO bob")
    world["admin"].sql(f"GRANT SELECT ON TABLE {TABLE} TO bob")
    bob = FeatureEngineeringClient(world["bob"])
    assert bob.get_table(TABLE).primary_keys == ["customer_id"]
    with pytest.raises(PermissionDenied, match="MODIFY"):
        bob.write_table(name=TABLE, df=customer_features(), mode="merge")


def test_a_plain_table_is_not_a_feature_table(world, fe):
    with pytest.raises(InvalidRequest) as raised:
        fe.get_table("main.ml.churn_features")
    assert raised.value.error_code == "NOT_A_FEATURE_TABLE"
    with pytest.raises(InvalidRequest, match="no primary key"):
        world["alice"].write_table("main.ml.churn_features", pd.DataFrame({"customer_id": [9]}), mode="merge")


def test_drop_table(world, fe):
    fe.drop_table(TABLE)
    assert world["alice"].sql("SELECT * FROM system.information_schema.key_column_usage").empty


# -- training sets ---------------------------------------------------------------------------------
def test_training_set_is_point_in_time(fe):
    training_set = fe.create_training_set(
        df=labels(),
        feature_lookups=[
            FeatureLookup(
                table_name=TABLE,
                feature_names=["tenure_months", "avg_session_minutes"],
                lookup_key="customer_id",
                timestamp_lookup_key="ts",
            )
        ],
        label="churned",
        exclude_columns=["ts"],
    )
    frame = training_set.load_df()
    assert list(frame.columns) == ["customer_id", "churned", "tenure_months", "avg_session_minutes"]
    # 1@01-15 -> the 01-01 row; 1@02-01 -> the 02-01 row (equal counts); 2@2025-12-31 -> nothing yet;
    # 3 -> no such customer; 2@06-01 -> the 03-01 row
    assert frame["tenure_months"].tolist()[:2] == [1, 2]
    assert pd.isna(frame["tenure_months"][2]) and pd.isna(frame["tenure_months"][3])
    assert frame["tenure_months"][4] == 12
    assert training_set.spec.table_digests[TABLE].startswith("4:")


def test_lookback_defaults_and_renames(fe):
    frame = fe.create_training_set(
        df=labels(),
        feature_lookups=[
            FeatureLookup(
                table_name=TABLE,
                feature_names="tenure_months",
                lookup_key="customer_id",
                timestamp_lookup_key="ts",
                lookback_window=timedelta(days=30),
                rename_outputs={"tenure_months": "tenure"},
                default_values={"tenure_months": -1},
            )
        ],
        label="churned",
    ).load_df()
    # 2@06-01: the 03-01 row is older than 30 days -> default
    assert frame["tenure"].tolist() == [1, 2, -1, -1, -1]


def test_training_sets_need_select_on_the_feature_tables(world, fe):
    world["admin"].sql("GRANT USE CATALOG ON CATALOG main TO bob")
    world["admin"].sql("GRANT USE SCHEMA ON SCHEMA main.ml TO bob")
    bob = FeatureEngineeringClient(world["bob"])
    lookup = FeatureLookup(table_name=TABLE, lookup_key="customer_id", timestamp_lookup_key="ts")
    with pytest.raises(PermissionDenied, match="SELECT"):
        bob.create_training_set(df=labels(), feature_lookups=[lookup], label="churned").load_df()


def test_bad_lookups_are_clear(fe):
    for lookup, match in [
        (FeatureLookup(table_name=TABLE, lookup_key="customer_id", feature_names=["nope"]), "no feature"),
        (FeatureLookup(table_name=TABLE, lookup_key=[]), "lookup_key"),
    ]:
        with pytest.raises(InvalidRequest, match=match):
            fe.create_training_set(df=labels(), feature_lookups=[lookup], label="churned").load_df()
    with pytest.raises(InvalidRequest, match="label column 'nope'"):
        fe.create_training_set(df=labels(), feature_lookups=[], label="nope")


# -- models, scoring, lineage ------------------------------------------------------------------------
def test_log_model_score_batch_and_lineage(world, fe, tmp_path, connect):
    admin = world["admin"]
    cat = connect("alice")
    fe = FeatureEngineeringClient(cat)
    lookup = FeatureLookup(
        table_name=TABLE,
        feature_names=["tenure_months", "avg_session_minutes"],
        lookup_key="customer_id",
        timestamp_lookup_key="ts",
        default_values={"tenure_months": 0, "avg_session_minutes": 0.0},
    )
    training_set = fe.create_training_set(
        df=labels(), feature_lookups=[lookup], label="churned", exclude_columns=["customer_id", "ts"]
    )
    train = training_set.load_df()
    X, y = train.drop(columns=["churned"]), train["churned"]
    tracking.set_experiment("/Shared/features")
    with tracking.start_run() as run:
        model = LogisticRegression().fit(X, y)
        info = fe.log_model(
            model=model,
            artifact_path="model",
            flavor="sklearn",
            training_set=training_set,
            registered_model_name="main.ml.churn_model",
            input_example=X.head(2),
        )
    assert info.registered_model_version == 1
    assert {i.name for i in tracking.Client(cat).get_run(run.info.run_id).inputs} == {TABLE}
    client = tracking.Client(cat)
    client.set_registered_model_alias("main.ml.churn_model", "champion", 1)
    ids = pd.DataFrame({"customer_id": [1, 2, 9], "ts": [ts("2026-02-15")] * 3})
    scored = fe.score_batch(model_uri="models:/main.ml.churn_model@champion", df=ids)
    assert list(scored.columns) == ["customer_id", "ts", "prediction"]
    expected = model.predict(pd.DataFrame({"tenure_months": [2, 10, 0], "avg_session_minutes": [6.0, 30.0, 0.0]}))
    np.testing.assert_array_equal(scored["prediction"], expected)
    cat.create_table("main.ml.churn_scored", scored)
    admin.sql("GRANT USE SCHEMA, SELECT ON SCHEMA system.access TO analysts")
    edges = set(
        map(
            tuple,
            cat.sql(
                "SELECT source_table_full_name, target_table_full_name FROM system.access.table_lineage"
            ).values.tolist(),
        )
    )
    assert {(TABLE, "main.ml.churn_model"), ("main.ml.churn_model", "main.ml.churn_scored")} <= edges
    upstream = set(cat.lineage.upstream("main.ml.churn_scored").nodes_table["name"])
    assert {TABLE, "main.ml.churn_model", "main.ml.churn_scored"} <= upstream


def test_score_batch_refuses_a_model_without_a_feature_spec(world, fe, tmp_path):
    from catalog.models import save_model

    X = pd.DataFrame({"tenure_months": [1, 2]})
    save_model(LogisticRegression().fit(X, [0, 1]), tmp_path / "plain")
    with pytest.raises(InvalidRequest, match="no feature spec"):
        fe.score_batch(model_uri=str(tmp_path / "plain"), df=pd.DataFrame({"customer_id": [1]}))


def test_score_batch_in_batches_matches_one_batch(world, fe, tmp_path, connect):
    training_set = fe.create_training_set(
        df=labels(),
        feature_lookups=[
            FeatureLookup(
                table_name=TABLE,
                lookup_key="customer_id",
                timestamp_lookup_key="ts",
                default_values={"tenure_months": 0, "avg_session_minutes": 0.0},
            )
        ],
        label="churned",
        exclude_columns=["customer_id", "ts"],
    )
    train = training_set.load_df()
    connect("alice")
    tracking.set_experiment("/Shared/features")
    with tracking.start_run():
        info = fe.log_model(
            model=LogisticRegression().fit(train.drop(columns="churned"), train["churned"]),
            artifact_path="model",
            training_set=training_set,
        )
    ids = pd.DataFrame({"customer_id": [1, 2, 3, 1, 2] * 20, "ts": [ts("2026-04-01")] * 100})
    whole = fe.score_batch(model_uri=info.model_uri, df=ids)
    pieces = fe.score_batch(model_uri=info.model_uri, df=ids, batch_size=7)
    pd.testing.assert_frame_equal(whole, pieces)


# -- online lookups -------------------------------------------------------------------------------------
def test_lookup_features_gives_the_latest_values(world, fe):
    found = fe.lookup_features(TABLE, [2, 1, 99])
    assert found["customer_id"].tolist() == [2, 1, 99]
    assert found["tenure_months"].tolist()[:2] == [12, 2] and pd.isna(found["tenure_months"][2])
    bob = FeatureEngineeringClient(world["bob"])
    with pytest.raises(PermissionDenied):
        bob.lookup_features(TABLE, [1])


def test_lookups_see_every_committed_write(world, fe):
    assert fe.lookup_features(TABLE, [1])["tenure_months"].tolist() == [2]
    newer = pd.DataFrame(
        {"customer_id": [1], "ts": [ts("2026-05-01")], "tenure_months": [5], "avg_session_minutes": [9.0]}
    )
    fe.write_table(name=TABLE, df=newer, mode="merge")
    assert fe.lookup_features(TABLE, [1])["tenure_months"].tolist() == [5]
    world["alice"].sql(f"UPDATE {TABLE} SET tenure_months = 6 WHERE customer_id = 1 AND ts = TIMESTAMP '2026-05-01'")
    assert fe.lookup_features(TABLE, [1])["tenure_months"].tolist() == [6]


def test_cached_lookups_match_a_pandas_reference(fe):
    rng = np.random.default_rng(3)
    rows = pd.DataFrame(
        {
            "region": rng.choice(["eu", "us"], 400),
            "customer_id": rng.integers(0, 50, 400),
            "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 10_000, 400), unit="min"),
            "score": rng.random(400),
        }
    ).drop_duplicates(["region", "customer_id", "ts"])
    fe.create_table(name="main.ml.scores", primary_keys=["region", "customer_id"], timestamp_keys=["ts"], df=rows)
    keys = [(r, int(c)) for r, c in zip(rng.choice(["eu", "us", "apac"], 60), rng.integers(0, 60, 60), strict=True)]
    cached = fe.lookup_features("main.ml.scores", keys)
    # the reference: the latest row of each key, computed with pandas
    reference = rows.sort_values("ts").groupby(["region", "customer_id"]).tail(1).set_index(["region", "customer_id"])
    expected = reference.reindex(pd.MultiIndex.from_tuples(keys, names=["region", "customer_id"])).reset_index()
    pd.testing.assert_frame_equal(cached.reset_index(drop=True), expected, check_dtype=False)
    with pytest.raises(InvalidRequest, match="keyed by"):
        fe.lookup_features("main.ml.scores", [1])
