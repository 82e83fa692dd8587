"""create_table / read_table / write_table from pandas."""

from __future__ import annotations

import pandas as pd
import pytest

import catalog

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client


@pytest.fixture
def grants_modify(world):
    world["admin"].sql("GRANT MODIFY ON SCHEMA main.ml TO analysts")
    world["admin"].sql("GRANT CREATE TABLE ON SCHEMA main.ml TO analysts")
    return world


def test_round_trip_keeps_values_and_types(admin):
    admin.sql("CREATE CATALOG main")
    frame = pd.DataFrame(
        {
            "i": [1, 2],
            "f": [0.5, 1.5],
            "s": ["a", "b"],
            "b": [True, False],
            "d": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        }
    )
    assert admin.create_table("main.default.t", frame, comment="typed") == "main.default.t"
    back = admin.read_table("main.default.t")
    assert back.attrs["catalog_source"] == "main.default.t"
    assert back["i"].tolist() == [1, 2] and back["s"].tolist() == ["a", "b"] and back["b"].tolist() == [True, False]
    types = dict(admin.sql("DESCRIBE TABLE main.default.t")[["col_name", "data_type"]].values.tolist())
    assert types == {"i": "bigint", "f": "double", "s": "string", "b": "boolean", "d": "timestamp_ntz"}


def test_create_modes(world):
    admin, alice = world["admin"], world["alice"]
    frame = pd.DataFrame({"x": [1]})
    with pytest.raises(catalog.AlreadyExists) as error:
        admin.create_table("main.ml.churn_features", frame)
    assert error.value.error_code == "TABLE_OR_VIEW_ALREADY_EXISTS"
    admin.create_table("main.ml.churn_features", frame, mode="ignore")
    assert len(admin.read_table("main.ml.churn_features")) == 4
    admin.create_table("main.ml.churn_features", frame, mode="overwrite")
    assert alice.read_table("main.ml.churn_features")["x"].tolist() == [1]  # grants kept
    with pytest.raises(catalog.InvalidRequest):
        admin.create_table("main.ml.t2", frame, mode="replace")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (pd.DataFrame(), "INVALID_PARAMETER_VALUE"),
        (pd.DataFrame({"a": [1], "A": [2]}), "COLUMN_ALREADY_EXISTS"),
        (pd.DataFrame({0: [1]}), "INVALID_COLUMN_NAME"),
        ([1, 2], "INVALID_PARAMETER_VALUE"),
    ],
)
def test_bad_frames_are_refused(world, frame, code):
    with pytest.raises(catalog.InvalidRequest) as error:
        world["admin"].create_table("main.ml.bad", frame)
    assert error.value.error_code == code
    assert "bad" not in world["admin"].sql("SHOW TABLES IN main.ml")["tableName"].tolist()


def test_write_append_and_overwrite(grants_modify):
    alice = grants_modify["alice"]
    more = pd.DataFrame({"customer_id": [5], "churned": [0]})
    assert alice.write_table("main.ml.churn_features", more) == 1
    rows = alice.read_table("main.ml.churn_features")
    assert len(rows) == 5 and rows["tenure_months"].isna().sum() == 1  # missing columns are NULL
    assert alice.write_table("main.ml.churn_features", more, mode="overwrite") == 1
    assert alice.read_table("main.ml.churn_features")["customer_id"].tolist() == [5]


def test_write_refusals_change_nothing(grants_modify):
    alice, bob = grants_modify["alice"], grants_modify["bob"]
    with pytest.raises(catalog.InvalidRequest) as error:
        alice.write_table("main.ml.churn_features", pd.DataFrame({"nope": [1]}), mode="overwrite")
    assert error.value.error_code == "SCHEMA_MISMATCH" and "nope" in error.value.message
    with pytest.raises(catalog.SqlError) as error:
        alice.write_table("main.ml.churn_features", pd.DataFrame({"customer_id": ["not a number"]}), mode="overwrite")
    assert error.value.error_code == "CAST_INVALID_INPUT"
    with pytest.raises(catalog.PermissionDenied):
        bob.write_table("main.ml.churn_features", pd.DataFrame({"customer_id": [9]}))
    with pytest.raises(catalog.InvalidRequest):
        alice.write_table("main.ml.churn_features", pd.DataFrame({"customer_id": [9]}), mode="upsert")
    assert len(alice.read_table("main.ml.churn_features")) == 4


def test_views_are_read_not_written(world):
    admin = world["admin"]
    admin.sql("CREATE VIEW main.ml.v AS SELECT customer_id FROM main.ml.churn_features")
    assert world["alice"].read_table("main.ml.v")["customer_id"].tolist() == [1, 2, 3, 4]
    with pytest.raises(catalog.InvalidRequest) as error:
        admin.write_table("main.ml.v", pd.DataFrame({"customer_id": [1]}))
    assert error.value.error_code == "EXPECT_TABLE_NOT_VIEW"


def test_names_are_completed_with_the_current_catalog_and_schema(grants_modify):
    alice = grants_modify["alice"]
    alice.sql("USE CATALOG main")
    alice.sql("USE SCHEMA ml")
    assert alice.create_table("scratch", pd.DataFrame({"x": [1]})) == "main.ml.scratch"
    assert alice.read_table("ml.scratch")["x"].tolist() == [1]
    assert alice.read_table("`Main`.ML.Scratch")["x"].tolist() == [1]


def test_create_needs_create_table(world):
    with pytest.raises(catalog.PermissionDenied) as error:
        world["alice"].create_table("main.ml.mine", pd.DataFrame({"x": [1]}))
    assert "CREATE TABLE" in error.value.message


def test_missing_objects(world):
    alice = world["alice"]
    with pytest.raises(catalog.NotFound) as error:
        alice.read_table("main.ml.nope")
    assert error.value.error_code == "TABLE_OR_VIEW_NOT_FOUND" and "main.ml.nope" in error.value.message
    with pytest.raises(catalog.InvalidName):
        alice.read_table("a.b.c.d")
