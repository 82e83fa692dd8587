"""Drift between training data and served requests: PSI, KS and the per-feature table."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from catalog.errors import InvalidRequest
from catalog.serving.drift import PSI_EPSILON, drift_table, ks_test, population_stability_index


def psi_by_hand(expected: list[float], actual: list[float]) -> float:
    """The textbook formula over proportions given bucket by bucket, with the same epsilon floor."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, PSI_EPSILON), max(a, PSI_EPSILON)
        total += (a - e) * math.log(a / e)
    return total


@pytest.fixture(autouse=True)
def no_warnings():
    """Nothing here may warn: constant columns, empty bins and nulls included."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- PSI against a hand computation ---------------------------------------------------------------

TEN = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


@pytest.mark.parametrize(
    ("expected", "actual", "bins", "proportions"),
    [
        # Quartile edges of 1..10 are 3.25, 5.5, 7.75 (outer bins open): buckets <=3.25, <=5.5, <=7.75, >7.75.
        # 11 and 12 lie above the training range and count in the last bin.
        (TEN, [1, 1, 2, 4, 6, 8, 9, 10, 11, 12], 4, ([0.3, 0.2, 0.2, 0.3], [0.3, 0.1, 0.1, 0.5])),
        # -5 lies below the training range: first bin. One bin empty in actual: floored at epsilon.
        (TEN, [-5, 1, 2, 3, 8, 9, 10, 10, 10, 10], 4, ([0.3, 0.2, 0.2, 0.3], [0.4, 0.0, 0.0, 0.6])),
        # A null is a bucket of its own: training has none.
        (TEN, [1, 2, 3, 4, 5, 6, 7, 8, None, None], 4, ([0.3, 0.2, 0.2, 0.3, 0.0], [0.3, 0.2, 0.2, 0.1, 0.2])),
        # At most `bins` distinct values: one bucket per value, plus one for values training never had.
        ([0, 0, 0, 1], [0, 1, 1, 1, 2], 10, ([0.75, 0.25, 0.0], [0.2, 0.6, 0.2])),
        # Categories: one bucket each; those seen only when serving ("d", "e") share one bucket.
        (list("aabbbc"), list("abdde"), 10, ([2 / 6, 3 / 6, 1 / 6, 0.0], [1 / 5, 1 / 5, 0.0, 3 / 5])),
        # Nulls in categorical columns: None and NaN are one bucket.
        (["x", "y", None, "x"], ["x", np.nan, None, "y"], 10, ([0.5, 0.25, 0.25], [0.25, 0.25, 0.5])),
    ],
    ids=["quartiles", "out-of-range-and-empty-bin", "numeric-nulls", "few-distinct", "categories", "category-nulls"],
)
def test_psi_matches_hand_computation(expected, actual, bins, proportions):
    psi = population_stability_index(pd.Series(expected), pd.Series(actual), bins=bins)
    assert psi == pytest.approx(psi_by_hand(*proportions), rel=1e-12)


def test_psi_quartile_case_written_out():
    # The first case above without the helper: 2 x (0.1 - 0.2) ln(0.1 / 0.2) + (0.5 - 0.3) ln(0.5 / 0.3).
    psi = population_stability_index(pd.Series(TEN), pd.Series([1, 1, 2, 4, 6, 8, 9, 10, 11, 12]), bins=4)
    assert psi == pytest.approx(0.2407945608651872)


# -- behaviour on realistic data ------------------------------------------------------------------


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_identical_distributions_are_stable(rng):
    x = pd.Series(rng.normal(size=5_000))
    cats = pd.Series(rng.choice(["red", "green", "blue"], size=5_000))
    assert population_stability_index(x, x) == pytest.approx(0.0, abs=1e-12)
    assert population_stability_index(cats, cats) == pytest.approx(0.0, abs=1e-12)

    table = drift_table(pd.DataFrame({"x": x, "c": cats}), pd.DataFrame({"x": x, "c": cats}))
    assert table["psi"].abs().max() < 1e-12
    assert not table["drifted"].any()


def test_two_samples_of_one_distribution_are_stable(rng):
    train = pd.DataFrame({"x": rng.normal(size=5_000)})
    serve = pd.DataFrame({"x": rng.normal(size=5_000)})
    row = drift_table(train, serve).iloc[0]
    assert row["psi"] < 0.1
    assert not row["drifted"]


def test_shifted_normal_is_flagged_by_psi_and_ks(rng):
    train = pd.DataFrame({"x": rng.normal(0, 1, size=5_000)})
    serve = pd.DataFrame({"x": rng.normal(1, 1, size=5_000)})  # mean + 1 sd
    row = drift_table(train, serve).iloc[0]
    assert row["kind"] == "numeric"
    assert row["psi"] > 0.25
    assert row["ks_pvalue"] < 0.01
    assert row["drifted"]


def test_categorical_shift(rng):
    train = pd.Series(rng.choice(["a", "b", "c"], p=[0.6, 0.3, 0.1], size=5_000))
    same = pd.Series(rng.choice(["a", "b", "c"], p=[0.6, 0.3, 0.1], size=5_000))
    moved = pd.Series(rng.choice(["a", "b", "c"], p=[0.2, 0.3, 0.5], size=5_000))
    assert population_stability_index(train, same) < 0.1
    assert population_stability_index(train, moved) > 0.25
    assert ks_test(train, moved) == pytest.approx((math.nan, math.nan), nan_ok=True)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["a", "b"] * 50, dtype="category"),
        pd.Series([True, False] * 50),
        pd.Series([True, False, None] * 50, dtype="boolean"),
        pd.Series(["a", "b"] * 50, dtype="string"),
    ],
    ids=["category", "bool", "nullable-bool", "string"],
)
def test_non_numeric_dtypes_are_categorical(values):
    table = drift_table(pd.DataFrame({"f": values}), pd.DataFrame({"f": values}))
    assert table.loc[0, "kind"] == "categorical"
    assert table.loc[0, "psi"] == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(table.loc[0, "ks_pvalue"])


def test_numbers_in_object_columns_are_numeric():
    # JSON-decoded requests can give object columns of plain numbers.
    served = pd.Series([1, 2.5, None, 4], dtype=object)
    train = pd.Series([1.0, 2.5, 3.0, 4.0])
    table = drift_table(pd.DataFrame({"f": train}), pd.DataFrame({"f": served}))
    assert table.loc[0, "kind"] == "numeric"
    assert ks_test(train, served) == pytest.approx(stats.ks_2samp([1.0, 2.5, 3.0, 4.0], [1.0, 2.5, 4.0])[:2])


def test_nulls_appearing_in_serving_are_drift(rng):
    train = pd.Series(rng.normal(size=2_000))
    serve = train.copy()
    serve[: len(serve) // 2] = np.nan
    assert population_stability_index(train, serve) > 0.25
    # KS sees only the non-null values, which still look alike.
    assert ks_test(train, serve)[1] > 0.01


@pytest.mark.parametrize(
    ("train", "serve", "psi_above", "drifted"),
    [
        ([3.0] * 100, [3.0] * 100, None, False),
        ([3.0] * 100, [4.0] * 100, 5.0, True),
        ([3.0] * 100, [2.0] * 100, 5.0, True),  # a shift down is seen as well as up
        (["k"] * 100, ["k"] * 100, None, False),
        (["k"] * 100, ["j"] * 100, 5.0, True),
        ([None] * 100, [None] * 100, None, False),
    ],
)
def test_constant_columns(train, serve, psi_above, drifted):
    row = drift_table(pd.DataFrame({"f": train}), pd.DataFrame({"f": serve})).iloc[0]
    if psi_above is None:
        assert row["psi"] == pytest.approx(0.0, abs=1e-12)
    else:
        assert row["psi"] > psi_above
    assert bool(row["drifted"]) is drifted


def test_unhashable_values_are_compared_by_text():
    same = pd.Series([[1, 2], [3]] * 5)
    assert population_stability_index(same, same) == pytest.approx(0.0, abs=1e-12)
    assert population_stability_index(same, pd.Series([[9]] * 10)) > 0.25


# -- KS -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ([1.0, 2.0, 3.0, 4.0], [2.5, 3.5, 4.5]),
        ([1, 2, None, 4, 5], [1, 1, 2, np.nan]),
        (list(range(200)), [x * 1.1 for x in range(150)]),
        ([5.0] * 20, [5.0] * 30),
    ],
)
def test_ks_equals_scipy(expected, actual):
    e, a = pd.Series(expected, dtype="float64"), pd.Series(actual, dtype="float64")
    want = stats.ks_2samp(e.dropna(), a.dropna())
    assert ks_test(e, a) == pytest.approx((want.statistic, want.pvalue))


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (["a", "b"], ["a", "a"]),
        ([True, False], [True, True]),
        ([1.0, 2.0], ["1", "2"]),  # numbers served as text: not a numeric comparison
        ([None, None], [1.0, 2.0]),  # no value on one side
    ],
)
def test_ks_does_not_apply(expected, actual):
    statistic, pvalue = ks_test(pd.Series(expected), pd.Series(actual))
    assert math.isnan(statistic) and math.isnan(pvalue)


# -- the table ------------------------------------------------------------------------------------


def test_table_shape_order_and_defaults(rng):
    n = 3_000
    train = pd.DataFrame(
        {
            "stable": rng.normal(size=n),
            "id": np.arange(n),  # only in training
            "moved": rng.normal(size=n),
            "colour": rng.choice(["r", "g"], size=n),
        }
    )
    serve = pd.DataFrame(
        {
            "colour": rng.choice(["r", "g"], size=n // 2),
            "moved": rng.normal(3, 1, size=n // 2),
            "stable": rng.normal(size=n // 2),
            "extra": 1,  # only in serving
        }
    )
    table = drift_table(train, serve)
    assert list(table.columns) == [
        "feature",
        "kind",
        "training_rows",
        "serving_rows",
        "psi",
        "ks_statistic",
        "ks_pvalue",
        "drifted",
    ]
    assert set(table["feature"]) == {"stable", "moved", "colour"}
    assert table["feature"].iloc[0] == "moved"
    assert list(table["psi"]) == sorted(table["psi"], reverse=True)
    assert dict(zip(table["feature"], table["kind"], strict=True)) == {
        "stable": "numeric",
        "moved": "numeric",
        "colour": "categorical",
    }
    assert set(table["training_rows"]) == {n} and set(table["serving_rows"]) == {n // 2}
    assert dict(zip(table["feature"], table["drifted"], strict=True)) == {
        "moved": True,
        "stable": False,
        "colour": False,
    }

    only = drift_table(train, serve, features=["stable", "colour"])
    assert set(only["feature"]) == {"stable", "colour"}


def test_ties_keep_training_order():
    frame = pd.DataFrame({"b": [1.0] * 5, "a": ["x"] * 5, "c": [2.0] * 5})
    assert list(drift_table(frame, frame)["feature"]) == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("psi_threshold", "p_threshold", "drifted"),
    [(0.25, 0.01, True), (100.0, 0.0, False), (100.0, 0.5, True), (0.0, 0.0, True)],
)
def test_thresholds(rng, psi_threshold, p_threshold, drifted):
    train = pd.DataFrame({"x": rng.normal(size=2_000)})
    serve = pd.DataFrame({"x": rng.normal(0.5, 1, size=2_000)})
    row = drift_table(train, serve, psi_threshold=psi_threshold, p_threshold=p_threshold).iloc[0]
    assert bool(row["drifted"]) is drifted


# -- errors ---------------------------------------------------------------------------------------

FRAME = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})


@pytest.mark.parametrize(
    ("training", "serving", "kwargs", "mentions"),
    [
        (FRAME.iloc[0:0], FRAME, {}, "training frame has no rows"),
        (FRAME, FRAME.iloc[0:0], {}, "serving frame has no rows"),
        (FRAME, FRAME[["a"]], {"features": ["a", "b"]}, "'b' not in the serving frame"),
        (FRAME[["b"]], FRAME, {"features": ["a"]}, "'a' not in the training frame"),
        (FRAME[["a"]], FRAME[["b"]], {}, "no column in common"),
        (FRAME, FRAME, {"features": []}, "features is empty"),
        (FRAME, FRAME, {"bins": 1}, "bins must be an integer of 2 or more"),
        (FRAME, FRAME, {"p_threshold": 2.0}, "p_threshold between 0 and 1"),
    ],
    ids=[
        "empty-training",
        "empty-serving",
        "missing-serving",
        "missing-training",
        "no-common",
        "no-features",
        "bins",
        "p-threshold",
    ],
)
def test_table_errors(training, serving, kwargs, mentions):
    with pytest.raises(InvalidRequest, match=mentions) as caught:
        drift_table(training, serving, **kwargs)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert caught.value.http_status == 400


def test_single_feature_name_as_string():
    assert list(drift_table(FRAME, FRAME, features="a")["feature"]) == ["a"]


@pytest.mark.parametrize(
    ("expected", "actual", "bins"),
    [([], [1.0], 10), ([1.0], [], 10), ([1.0], [1.0], 1)],
)
def test_psi_errors(expected, actual, bins):
    with pytest.raises(InvalidRequest) as caught:
        population_stability_index(pd.Series(expected, dtype="float64"), pd.Series(actual, dtype="float64"), bins=bins)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
