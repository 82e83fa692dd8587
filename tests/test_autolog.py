"""scikit-learn autologging (tracking.autolog) on real homes, real estimators and real fits.

The home, connections and training table are test_log_model.py's (test_tracking.py's prepared
world plus ``main.ml.training``); alice, connected last, is the one whose fits are logged.
"""

from __future__ import annotations

import inspect
import io
import logging
import math

import numpy as np
import pandas as pd
import pytest
import sklearn.model_selection
import test_log_model
from sklearn import metrics
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from catalog import tracking
from catalog.models import load_model, load_sklearn
from catalog.tracking import DatasetInput
from catalog.tracking.datasets import frame_digest

# Reused, not copied: the prepared home, connections and training table.
pytestmark = pytest.mark.usefixtures("tracking_state")
world_template, home, world = test_log_model.world_template, test_log_model.home, test_log_model.world
scientist, client = test_log_model.scientist, test_log_model.client
training, features, TABLE = test_log_model.training, test_log_model.features, test_log_model.TABLE

CLASSIFIER_METRICS = {
    "training_accuracy_score",
    "training_precision_score",
    "training_recall_score",
    "training_f1_score",
    "training_log_loss",
    "training_roc_auc",
    "training_score",
}
REGRESSOR_METRICS = {
    "training_mean_squared_error",
    "training_root_mean_squared_error",
    "training_mean_absolute_error",
    "training_r2_score",
    "training_score",
}


@pytest.fixture
def autologging(scientist, training):
    """Autologging on, into alice's /Shared/autolog; off again after the test."""
    tracking.set_experiment("/Shared/autolog")
    tracking.autolog()
    yield
    tracking.autolog(disable=True)


def runs_of(client, experiment="/Shared/autolog"):
    """Every run of the experiment, oldest first."""
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    return client.search_runs([experiment_id], order_by=["attributes.start_time ASC", "attributes.run_id ASC"])


def test_a_forest_trained_on_a_catalog_table(autologging, scientist, client):
    X, y = features(scientist)  # read before any run: autolog records the table itself
    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0)
    assert forest.fit(X, y) is forest
    assert tracking.active_run() is None  # autolog started a run and ended it
    (run,) = runs_of(client)
    assert run.info.status == "FINISHED" and run.info.end_time is not None
    params = run.data.params
    assert (params["n_estimators"], params["max_depth"], params["random_state"]) == ("5", "4", "0")
    assert params["class_weight"] == "None" and set(params) == set(forest.get_params(deep=True))
    tags = run.data.tags
    assert tags["estimator_name"] == "RandomForestClassifier"
    assert tags["estimator_class"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert tags["mlflow.autologging"] == "sklearn"
    assert set(run.data.metrics) == CLASSIFIER_METRICS
    predicted = forest.predict(X)
    assert run.data.metrics["training_accuracy_score"] == pytest.approx(metrics.accuracy_score(y, predicted))
    assert run.data.metrics["training_f1_score"] == pytest.approx(metrics.f1_score(y, predicted, average="weighted"))
    assert run.data.metrics["training_log_loss"] == pytest.approx(metrics.log_loss(y, forest.predict_proba(X)))
    assert run.inputs == (DatasetInput(TABLE, frame_digest(X), len(X), "training"),)

    model = load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(model.predict(X), predicted)
    assert [c.name for c in model.metadata.signature.inputs.inputs] == list(X.columns)
    pd.testing.assert_frame_equal(model.input_example.reset_index(drop=True), X.head(5).reset_index(drop=True))
    assert model.metadata.run_id == run.info.run_id


def test_a_pipeline_logs_one_run_with_its_params_and_one_model(autologging, scientist, client):
    X, y = features(scientist)
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.5))])
    with tracking.start_run() as active:
        pipeline.fit(X.astype("float64"), y)
    (run,) = runs_of(client)  # the steps' fits made no runs of their own
    assert run.info.run_id == active.info.run_id and run.info.status == "FINISHED"
    params = run.data.params
    assert params["clf__C"] == "0.5" and params["scale__with_mean"] == "True"
    assert params["steps"] == "[('scale', StandardScaler()), ('clf', LogisticRegression(C=0.5))]"
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert set(run.data.metrics) == CLASSIFIER_METRICS
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["model"]
    assert isinstance(load_sklearn(f"runs:/{run.info.run_id}/model"), Pipeline)
    # a run that was active already: logged into, and left to its owner to end
    assert "mlflow.autologging" not in run.data.tags


def test_a_regressor_gets_mlflows_regression_metrics_with_sample_weights(autologging, scientist, client):
    X, _ = features(scientist)
    inputs, target = X[["tenure_months", "support_calls"]], X["monthly_charges"]
    weights = np.linspace(0.5, 2.0, len(X))
    regression = LinearRegression().fit(inputs, target, sample_weight=weights)
    (run,) = runs_of(client)
    found = run.data.metrics
    assert set(found) == REGRESSOR_METRICS
    predicted = regression.predict(inputs)
    mse = metrics.mean_squared_error(target, predicted, sample_weight=weights)
    assert found["training_mean_squared_error"] == pytest.approx(mse)
    assert found["training_mean_squared_error"] != pytest.approx(metrics.mean_squared_error(target, predicted))
    assert found["training_root_mean_squared_error"] == pytest.approx(math.sqrt(mse))
    assert found["training_mean_absolute_error"] == pytest.approx(
        metrics.mean_absolute_error(target, predicted, sample_weight=weights)
    )
    assert found["training_r2_score"] == pytest.approx(found["training_score"])
    assert run.data.params == {k: str(v) for k, v in regression.get_params().items()}
    assert run.data.params["fit_intercept"] == "True" and run.data.tags["estimator_name"] == "LinearRegression"


def test_a_grid_search_logs_a_parent_run_child_runs_and_the_best_estimator(scientist, training, client):
    X, y = features(scientist)
    tracking.set_experiment("/Shared/autolog")
    tracking.autolog(max_tuning_runs=3)
    try:
        grid = {"C": [0.01, 1.0], "fit_intercept": [True, False]}
        search = GridSearchCV(LogisticRegression(max_iter=200), grid, cv=2).fit(X, y)
    finally:
        tracking.autolog(disable=True)
    everything = runs_of(client)
    (parent,) = [r for r in everything if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in everything if r is not parent]
    assert len(children) == 3  # the 3 best of 4 candidates; the candidates' own fits made no runs
    params = parent.data.params
    assert {k: params[k] for k in ("best_C", "best_fit_intercept")} == {
        f"best_{k}": str(v) for k, v in search.best_params_.items()
    }
    assert params["param_grid"] == str(grid) and "C" not in params  # a search's own params, not deep
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert parent.data.tags["estimator_name"] == "GridSearchCV"
    artifacts = {f.path for f in client.list_artifacts(parent.info.run_id)}
    assert artifacts == {"model", "best_estimator", "cv_results.csv"}
    best = load_sklearn(f"runs:/{parent.info.run_id}/best_estimator")
    np.testing.assert_array_equal(best.predict(X), search.best_estimator_.predict(X))
    folder = client.download_artifacts(parent.info.run_id, "cv_results.csv")
    results = pd.read_csv(folder)
    assert len(results) == 4 and list(results["rank_test_score"]) == list(search.cv_results_["rank_test_score"])

    ranked = pd.DataFrame(search.cv_results_).nsmallest(3, "rank_test_score")
    expected = {(str(p["C"]), str(p["fit_intercept"])) for p in ranked["params"]}
    assert {(c.data.params["C"], c.data.params["fit_intercept"]) for c in children} == expected
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["estimator_name"] == "LogisticRegression"
        assert child.info.status == "FINISHED"
        assert child.data.params["max_iter"] == "200"
        assert {"mean_test_score", "std_test_score", "rank_test_score", "mean_fit_time"} <= set(child.data.metrics)
        assert not any(key.startswith(("split", "param")) for key in child.data.metrics)
        assert [d.name for d in child.inputs] == [TABLE]
    best_child = min(children, key=lambda c: c.data.metrics["rank_test_score"])
    assert best_child.data.metrics["mean_test_score"] == pytest.approx(search.best_score_)


def test_disable_restores_the_original_methods(scientist, training, client):
    originals = {
        "forest fit": inspect.getattr_static(RandomForestClassifier, "fit"),
        "regression fit": LinearRegression.__dict__["fit"],
        "pipeline fit_transform": Pipeline.__dict__["fit_transform"].fn,
        "cross_val_score": sklearn.model_selection.cross_val_score,
    }

    def current():
        return {
            "forest fit": inspect.getattr_static(RandomForestClassifier, "fit"),
            "regression fit": LinearRegression.__dict__["fit"],
            "pipeline fit_transform": Pipeline.__dict__["fit_transform"].fn,
            "cross_val_score": sklearn.model_selection.cross_val_score,
        }

    tracking.set_experiment("/Shared/autolog")
    tracking.autolog()
    tracking.autolog(log_models=False)  # again, with other options: patched once
    patched = current()
    tracking.autolog(disable=True)
    assert all(patched[k] is not originals[k] for k in originals)
    assert all(patched[k].__wrapped__ is originals[k] for k in originals)
    assert current() == originals
    assert "fit" not in RandomForestClassifier.__dict__  # the inherited fit again, not an override
    X, y = features(scientist)
    RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y)
    assert runs_of(client) == [] and tracking.active_run() is None


def test_fits_inside_cross_val_score_are_not_logged(autologging, scientist, client):
    X, y = features(scientist)
    scores = sklearn.model_selection.cross_val_score(LogisticRegression(max_iter=200), X, y, cv=2)
    assert len(scores) == 2
    assert runs_of(client) == []


def test_a_failing_fit_ends_the_run_autolog_started_as_failed(autologging, scientist, client):
    X, y = features(scientist)
    broken = X.astype("float64")
    broken.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LinearRegression().fit(broken, y)
    (run,) = runs_of(client)
    assert run.info.status == "FAILED" and tracking.active_run() is None
    assert run.data.params["fit_intercept"] == "True" and run.data.metrics == {}


@pytest.mark.parametrize("silent", [False, True])
def test_a_logging_failure_does_not_break_the_fit(scientist, training, client, silent):
    X, y = features(scientist)
    tracking.set_experiment("/Shared/autolog")
    records = io.StringIO()
    handler = logging.StreamHandler(records)
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("catalog.tracking.autolog")
    logger.addHandler(handler)
    tracking.autolog(silent=silent)
    try:
        with tracking.start_run() as run:
            client.delete_run(run.info.run_id)  # every write to the run is now refused
            forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
            client.restore_run(run.info.run_id)
    finally:
        tracking.autolog(disable=True)
        logger.removeHandler(handler)
    assert len(forest.estimators_) == 3 and forest.predict(X).shape == (len(X),)  # fitted all the same
    warned = records.getvalue()
    if silent:
        assert warned == ""
    else:
        assert "Autologging could not log params and tags for RandomForestClassifier" in warned
        assert "is deleted" in warned and "could not log the model at 'model'" in warned
    logged = client.get_run(run.info.run_id)
    assert logged.data.params == {} and logged.data.metrics == {}
    assert client.list_artifacts(run.info.run_id) == []
