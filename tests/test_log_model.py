"""log_model into a tracking run and loading it back by URI, on real homes with real models.

Every test gets a copy of test_tracking.py's prepared home (catalog ``main`` with schema
``main.ml``, alice in analysts, bob outside, the metastore admin) plus a 60-row training table
``main.ml.training``; ``scientist`` is alice's connection, opened last, so the module-level
functions (``tracking.start_run``, ``log_model``, ``load_model`` of a runs:/ URI) act as her.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import test_model_format
import test_tracking
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import catalog
from catalog import tracking
from catalog.models import (
    LocalUri,
    ModelIntegrityError,
    ModelUri,
    RunUri,
    load_model,
    load_sklearn,
    log_model,
    parse_model_uri,
    save_model,
)
from catalog.models.logging import HISTORY_TAG

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client

# Reused, not copied: test_tracking.py's prepared home and its connections; conftest's
# tracking_state empties the thread's tracking state around every test.
pytestmark = pytest.mark.usefixtures("tracking_state")
world_template, home, world = test_tracking.world_template, test_tracking.home, test_tracking.world
scientist, client = test_tracking.scientist, test_tracking.client
audited = test_tracking.audited

TABLE = "main.ml.training"
RUN_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def training(world) -> str:
    """``main.ml.training``: test_model_format's churn features and their label, 60 rows."""
    frame, label = test_model_format.churn_frame()
    world["admin"].create_table(TABLE, frame.assign(churned=label))
    return TABLE


def features(cat: catalog.Catalog) -> tuple[pd.DataFrame, pd.Series]:
    """X and y read from the training table (X keeps read_table's mark of where it came from)."""
    frame = cat.read_table(TABLE)
    return frame.drop(columns=["churned"]), frame["churned"]


@pytest.fixture
def logged(scientist, training):
    """A small forest trained on the table and logged by alice to /Shared/churn as ``model``."""
    X, y = features(scientist)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        info = log_model(forest, "model", input_example=X.head(5))
    return forest, X, info, run.info.run_id


def test_log_model_returns_a_runs_uri_that_loads_the_same_model(logged, client, world):
    forest, X, info, run_id = logged
    assert info.model_uri == f"runs:/{run_id}/model"
    assert (info.run_id, info.artifact_path) == (run_id, "model")
    assert [f.path for f in client.list_artifacts(run_id)] == ["model"]
    assert {f.path for f in client.list_artifacts(run_id, "model")} >= {"model/MLmodel", "model/model.pkl"}
    assert Path(info.path, "MLmodel").is_file()

    loaded = load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(X), forest.predict(X))
    assert (loaded.metadata.run_id, loaded.metadata.artifact_path) == (run_id, "model")
    assert (loaded.metadata.digest, loaded.metadata.model_uuid) == (info.digest, info.model_uuid)
    assert [c.name for c in loaded.metadata.signature.inputs.inputs] == list(X.columns)
    assert loaded.metadata.signature == info.signature
    pd.testing.assert_frame_equal(loaded.input_example.reset_index(drop=True), X.head(5).reset_index(drop=True))
    np.testing.assert_array_equal(load_sklearn(info.model_uri).predict(X), forest.predict(X))

    (entry,) = json.loads(client.get_run(run_id).data.tags[HISTORY_TAG])
    assert (entry["run_id"], entry["artifact_path"], entry["model_uuid"]) == (run_id, "model", info.model_uuid)
    assert (entry["digest"], entry["utc_time_created"]) == (info.digest, info.utc_time_created)
    assert set(entry["flavors"]) == {"python_function", "sklearn"}
    loads = audited(world["admin"], "loadModel")
    assert [(who, status) for who, status, _ in loads] == [("alice", 200), ("alice", 200)]
    assert loads[0][2]["run_id"] == run_id and loads[0][2]["path"] == "model"


def test_without_an_active_run_log_model_starts_one_and_leaves_it_active(scientist, training, client):
    X, _ = features(scientist)
    y = X["monthly_charges"]
    regression = LinearRegression().fit(X[["tenure_months", "support_calls"]], y)
    tracking.set_experiment("/Shared/churn")
    info = log_model(regression, "regression")
    active = tracking.active_run()
    assert active is not None and active.info.run_id == info.run_id
    assert client.get_run(info.run_id).info.status == "RUNNING"
    assert info.signature is None  # neither given nor inferable without an example
    np.testing.assert_allclose(
        load_model(info.model_uri).predict(X[["tenure_months", "support_calls"]]),
        regression.predict(X[["tenure_months", "support_calls"]]),
    )


def test_two_models_in_one_run_and_taken_or_bad_paths(scientist, training, client):
    X, y = features(scientist)
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X.astype("float64"), y)
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        first = log_model(pipeline, "candidates/pipeline", input_example=X.astype("float64").head(5))
        second = log_model(forest, "candidates/forest")
        with pytest.raises(catalog.AlreadyExists) as taken:
            log_model(forest, "candidates/forest")
        with pytest.raises(catalog.InvalidRequest) as escaping:
            log_model(forest, "../outside")
    run_id = run.info.run_id
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS" and "candidates/forest" in taken.value.message
    assert escaping.value.error_code == "INVALID_PATH"
    history = json.loads(client.get_run(run_id).data.tags[HISTORY_TAG])
    assert [(e["artifact_path"], e["model_uuid"]) for e in history] == [
        ("candidates/pipeline", first.model_uuid),
        ("candidates/forest", second.model_uuid),
    ]
    assert [f.path for f in client.list_artifacts(run_id)] == ["candidates"]
    assert isinstance(load_sklearn(first.model_uri), Pipeline)
    np.testing.assert_array_equal(load_model(second.model_uri).predict(X), forest.predict(X))


def test_a_user_who_cannot_read_the_experiment_cannot_load_its_model(logged, world, connect):
    forest, X, info, _ = logged
    with pytest.raises(catalog.PermissionDenied) as denied:
        load_model(info.model_uri, cat=world["bob"])
    assert "bob" in denied.value.message and "/Shared/churn" in denied.value.message
    connect("bob")  # the module-level connection is now bob's
    with pytest.raises(catalog.PermissionDenied):
        load_sklearn(info.model_uri)
    np.testing.assert_array_equal(load_model(info.model_uri, cat=world["admin"]).predict(X), forest.predict(X))
    statuses = [(who, status) for who, status, _ in audited(world["admin"], "loadModel")]
    assert statuses == [("bob", 403), ("bob", 403), ("admin", 200)]


def test_a_tampered_logged_model_is_refused(logged):
    _, _, info, _ = logged
    pickled = Path(info.path, "model.pkl")
    pickled.write_bytes(pickled.read_bytes() + b"\x00")
    for load in (load_model, load_sklearn):
        with pytest.raises(ModelIntegrityError) as refused:
            load(info.model_uri)
        assert refused.value.details == {
            "file": "model.pkl",
            "problem": "changed",
            "expected_sha256": info.files["model.pkl"],
            "actual_sha256": refused.value.details["actual_sha256"],
        }


def test_a_digest_pinned_by_the_caller_is_checked_for_runs_uris(logged):
    _, _, info, _ = logged
    assert load_model(info.model_uri, expected_digest=info.digest).metadata.digest == info.digest
    with pytest.raises(ModelIntegrityError):
        load_model(info.model_uri, expected_digest="0" * 64)


def test_unknown_runs_and_paths_are_not_found(logged):
    _, _, _, run_id = logged
    with pytest.raises(catalog.NotFound) as no_run:
        load_model(f"runs:/{RUN_ID}/model")
    assert RUN_ID in no_run.value.message
    with pytest.raises(catalog.NotFound) as no_model:
        load_model(f"runs:/{run_id}/elsewhere")
    assert no_model.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_file_uris_and_paths_load_local_models(logged, tmp_path):
    forest, X, _, _ = logged
    saved = save_model(forest, tmp_path / "forest")
    for uri in (saved.path, Path(saved.path), Path(saved.path).as_uri()):
        np.testing.assert_array_equal(load_model(uri).predict(X), forest.predict(X))


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"runs:/{RUN_ID}/model", RunUri(RUN_ID, "model")),
        (f"runs:/{RUN_ID}/candidates/forest/", RunUri(RUN_ID, "candidates/forest")),
        (f"runs:/{RUN_ID}", RunUri(RUN_ID, "")),
        ("models:/main.ml.churn_model/3", ModelUri("main.ml.churn_model", version=3)),
        ("models:/main.ml.churn_model@champion", ModelUri("main.ml.churn_model", alias="champion")),
        ("models:/main.ml.churn_model/Production", ModelUri("main.ml.churn_model", stage="Production")),
        ("file:///srv/models/churn", LocalUri(Path("/srv/models/churn"))),
        ("file://localhost/srv/models/churn%20v2", LocalUri(Path("/srv/models/churn v2"))),
        ("models/churn", LocalUri(Path("models/churn"))),
        ("./my:model", LocalUri(Path("my:model"))),
        (Path("/srv/models/churn"), LocalUri(Path("/srv/models/churn"))),
    ],
)
def test_model_uris_parse_into_typed_values(uri, expected):
    assert parse_model_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("s3://bucket/churn", "scheme 's3:'"),
        ("dbfs:/models/churn", "scheme 'dbfs:'"),
        ("runs:/not-a-run/model", "not a run id"),
        (f"runs:/{RUN_ID}/../other-run/model", "stay inside the run"),
        ("models:/main.ml.churn_model", "name a version"),
        ("models:/", "name a version"),
        ("models:/main.ml.churn_model@", "models:/<name>@<alias>"),
        ("models:/main.ml.churn_model/latest", "'latest' is not supported"),
        ("file://otherhost/srv/model", "local path"),
        ("", "empty"),
    ],
)
def test_bad_uris_get_an_error_naming_the_uri_and_the_accepted_forms(uri, problem):
    for load in (load_model, load_sklearn):
        with pytest.raises(catalog.InvalidRequest) as bad:
            load(uri)
        assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
        assert repr(uri) in bad.value.message and problem in bad.value.message
        assert "runs:/<run_id>/<path>" in bad.value.message and "models:/<name>@<alias>" in bad.value.message
