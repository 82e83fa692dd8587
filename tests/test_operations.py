"""Named operations (catalog.operations): their argument models, the wire codec on what they
take and return, refusals of malformed arguments, and the Python clients run through the codec
as a remote connection runs them."""

from __future__ import annotations

import inspect
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from catalog import operations, wire
from catalog.api import Catalog
from catalog.errors import InvalidRequest, NotFound
from catalog.features import FeatureEngineeringClient, FeatureLookup
from catalog.features.entities import FeatureSpec, FeatureTable, TrainingFrame
from catalog.models import load_model, save_model
from catalog.models.transfer import ModelFiles
from catalog.registry.entities import ModelVersion, RegisteredModel
from catalog.tracking import Client
from catalog.tracking.artifacts import ArtifactFiles, FileInfo
from catalog.tracking.client import PagedList
from catalog.tracking.store import DatasetInput, Experiment, Metric, Run, RunData, RunInfo

RUN_ID = "0123456789abcdef0123456789abcdef"


# -- every operation --------------------------------------------------------------------------------
@pytest.mark.parametrize("op", operations.all_operations(), ids=lambda op: op.action)
def test_every_operation_has_an_arguments_model_of_its_signature(op: operations.Operation):
    assert list(op.arguments.model_fields) == list(inspect.signature(op.fn).parameters)[1:]
    assert op.path == f"/api/v1/{op.area}/{op.action}"
    assert operations.find(op.action) is op
    for name, field in op.arguments.model_fields.items():
        if not field.is_required():  # defaults cross the wire too
            assert wire.loads(wire.dumps(field.default)) == (
                list(field.default) if isinstance(field.default, tuple) else field.default
            ), name


def test_the_client_areas_are_registered():
    areas = {op.area for op in operations.all_operations()}
    assert {"tracking", "registry", "features"} <= areas


# -- results and arguments survive the wire ---------------------------------------------------------------
INFO = RunInfo(RUN_ID, "lr", "1", "alice", "FINISHED", 1, 2, "file:///tmp/a", "active")
RUN = Run(INFO, RunData({"acc": 0.5}, {"C": "1"}, {"t": "v"}), (DatasetInput("main.ml.t", "d", 3, "training"),))
VERSION = ModelVersion(
    "main.ml.m", 2, 1, 2, "alice", "None", f"runs:/{RUN_ID}/model", RUN_ID, "READY", None, "ab" * 32, "models/x/2",
    tags={"k": "v"}, aliases=("champion",),
)  # fmt: skip
SPEC = FeatureSpec([{"table_name": "main.ml.f", "lookup_key": ["id"]}], "y", ["ts"], {"main.ml.f": "4:00ff"})

ROUND_TRIPS = [
    Experiment("1", "/Shared/churn", "file:///tmp/a/1", "active", "alice", 1, 2, {"team": "growth"}),
    INFO,
    RUN,
    Metric("loss", 0.25, 1700000000000, 3),
    [Metric("loss", float(i), i, i) for i in range(3)],
    DatasetInput("main.ml.t", "d", None, None),
    FileInfo("model/MLmodel", False, 12),
    ArtifactFiles("plots", True, {"a.png": b"\x89PNG\x00", "sub/b.txt": b"b"}),
    ModelFiles({"MLmodel": b"flavors: {}\n", "model.pkl": bytes(range(256))}, "ab" * 32, 2),
    ModelFiles({"MLmodel": b""}),
    VERSION,
    RegisteredModel("main.ml.m", "alice", 1, 2, "churn", {"k": "v"}, {"champion": 2}, (VERSION,)),
    FeatureTable("main.ml.f", ["id"], ["ts"], ["x"], None, {}, "alice", "t1"),
    FeatureLookup("main.ml.f", ["id"], ["x"], "ts", timedelta(days=2, seconds=3), {"x": "x2"}, {"x": 0.0}),
    FeatureLookup("main.ml.f", "id"),
    SPEC,
]


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=lambda v: type(v).__name__)
def test_values_survive_the_wire(value: Any):
    back = wire.loads(wire.dumps(value))
    assert back == value and type(back) is type(value)


def test_pages_keep_their_token_across_the_wire():
    back = wire.loads(wire.dumps(PagedList([RUN, RUN], "next")))
    assert isinstance(back, PagedList) and back == [RUN, RUN] and back.token == "next"
    assert wire.loads(wire.dumps(PagedList([], None))).token is None


def test_a_training_frame_keeps_its_types_and_sources_across_the_wire():
    frame = pd.DataFrame({"id": [1, 2], "ts": pd.to_datetime(["2026-01-01", "2026-02-01"], utc=True), "x": [0.5, None]})
    frame.attrs["catalog_source"] = ["main.ml.f", "main.ml.labels"]
    back = wire.loads(wire.dumps(TrainingFrame(frame, SPEC)))
    pd.testing.assert_frame_equal(back.df, frame)
    assert back.df.attrs == frame.attrs and back.spec == SPEC


# -- malformed arguments ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "arguments", "named"),
    [
        ("getRun", {"run_id": 5}, "run_id"),  # wrong type
        ("getRun", {"run_id": RUN_ID, "run_uuid": RUN_ID}, "run_uuid"),  # unknown
        ("getRun", {}, "run_id"),  # missing
        ("logBatch", {"run_id": RUN_ID, "metrics": "loss=1"}, "metrics"),
        ("logBatch", {"run_id": RUN_ID, "params": {"C": 1}}, "params.C"),
        ("logArtifact", {"run_id": RUN_ID, "data": 1234, "path": "a.txt"}, "data"),
        ("getModelVersion", {"name": "main.ml.m", "version": [1]}, "version"),
        ("createFeatureTable", {"name": "main.ml.f", "primary_keys": "id", "df": "not a frame"}, "df"),
        ("createTrainingSet", {"df": pd.DataFrame(), "feature_lookups": [3]}, "feature_lookups.0"),
    ],
)
def test_malformed_arguments_are_refused_naming_the_argument_and_audited(admin, action, arguments, named):
    with pytest.raises(InvalidRequest) as refused:
        admin.invoke(action, **arguments)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert named in refused.value.message and action in refused.value.message
    rows = admin.sql(
        "SELECT response.status_code AS status, response.error_message AS error FROM system.access.audit "
        "WHERE action_name = ?",
        [action],
    )
    assert rows["status"].tolist() == [400] and named in rows["error"][0]


def test_an_operation_that_does_not_exist_is_not_found(admin):
    with pytest.raises(NotFound) as missing:
        admin.invoke("dropEverything", really=True)
    assert "dropEverything" in missing.value.message


# -- the clients through the codec ----------------------------------------------------------------------------
class Wired:
    """An embedded connection whose operations cross the wire codec both ways, as a remote
    connection's do; everything else goes to the connection itself."""

    def __init__(self, inner: Catalog) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def invoke(self, action: str, **arguments: Any) -> Any:
        self.calls.append(action)
        sent = wire.loads(wire.dumps(arguments))
        return wire.loads(wire.dumps(self.inner.invoke(action, **sent)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def wired(world) -> Wired:
    world["admin"].sql("GRANT CREATE TABLE, MODIFY, CREATE MODEL ON SCHEMA main.ml TO analysts")
    return Wired(world["alice"])


def test_tracking_and_artifacts_through_the_wire(wired: Wired, tmp_path: Path):
    client = Client(wired)  # type: ignore[arg-type]
    experiment = client.create_experiment("/Shared/wired", tags={"team": 7})
    assert client.get_experiment(experiment).tags == {"team": "7"}
    run_id = client.create_run(experiment, run_name="first", tags={"stage": "dev"}).info.run_id
    client.log_batch(run_id, [Metric("loss", np.float64(0.5), 1, 0), Metric("loss", 0.25, 2, 1)], {"C": 1.0}, {"x": 1})
    frame = wired.read_table("main.ml.churn_features")
    assert [d.name for d in client.log_frame_inputs(run_id, frame)] == ["main.ml.churn_features"]
    assert client.log_frame_inputs(run_id, frame) == []  # listed already
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "a.txt").write_bytes(b"a")
    (local / "sub" / "b.bin").write_bytes(bytes(range(256)))
    assert client.log_artifacts(run_id, local, "folder") == ["folder/a.txt", "folder/sub/b.bin"]
    assert client.log_artifact(run_id, local / "a.txt") == "a.txt"
    assert client.log_bytes(run_id, b"{}", "conf/c.json") == "conf/c.json"
    assert [f.path for f in client.list_artifacts(run_id)] == ["a.txt", "conf", "folder"]
    copied = Path(client.download_artifacts(run_id, "folder", tmp_path / "out"))
    assert (copied / "sub" / "b.bin").read_bytes() == bytes(range(256))
    assert Path(client.download_artifacts(run_id, "conf/c.json", tmp_path / "one")).read_bytes() == b"{}"
    client.set_terminated(run_id)

    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params == {"C": "1.0"} and run.data.metrics == {"loss": 0.25}
    assert [d.name for d in run.inputs] == ["main.ml.churn_features"]
    assert [m.value for m in client.get_metric_history(run_id, "loss")] == [0.5, 0.25]
    page = client.search_runs([experiment], "metrics.loss < 1", max_results=1)
    assert [r.info.run_id for r in page] == [run_id] and page.token is not None
    assert client.search_runs([experiment], "metrics.loss < 1", page_token=page.token) == []
    assert set(wired.calls) >= {"createExperiment", "createRun", "logBatch", "logInputs", "logArtifacts", "searchRuns"}


def test_registering_and_loading_models_through_the_wire(wired: Wired, tmp_path: Path):
    client = Client(wired)  # type: ignore[arg-type]
    frame = wired.read_table("main.ml.churn_features")
    X, y = frame[["tenure_months", "avg_session_minutes"]], frame["churned"]
    model = LogisticRegression().fit(X, y)
    run_id = client.create_run(client.create_experiment("/Shared/models")).info.run_id
    save_model(model, tmp_path / "saved", input_example=X.head(2))
    client.log_artifacts(run_id, tmp_path / "saved", "model")
    version = client.create_model_version("main.ml.churn", f"runs:/{run_id}/model", create_model=True)
    client.set_registered_model_alias("main.ml.churn", "champion", version.version)
    for uri in (f"runs:/{run_id}/model", "models:/main.ml.churn/1", "models:/main.ml.churn@champion"):
        loaded = load_model(uri, cat=wired)  # type: ignore[arg-type]
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert client.get_registered_model("main.ml.churn").aliases == {"champion": 1}
    assert [v.version for v in client.search_model_versions("name = 'main.ml.churn'")] == [1]
    assert "loadModel" in wired.calls and "getModelVersionDownloadUri" in wired.calls


def test_features_through_the_wire(wired: Wired):
    fe = FeatureEngineeringClient(wired)  # type: ignore[arg-type]
    features = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "ts": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-01"]),
            "tenure": [1, 2, 10],
        }
    )
    table = fe.create_table(
        name="main.ml.tenure", primary_keys=["customer_id"], timestamp_keys="ts", df=features, tags={"v": 1}
    )
    assert table.features == ["tenure"] and table.tags == {"v": "1"}
    assert fe.write_table("main.ml.tenure", features.assign(tenure=[1, 3, 10]), mode="merge") == 3
    labels = pd.DataFrame({"customer_id": [1, 2], "ts": pd.to_datetime(["2026-01-15", "2026-03-01"]), "y": [0, 1]})
    lookup = FeatureLookup(
        "main.ml.tenure", "customer_id", timestamp_lookup_key="ts", lookback_window=timedelta(days=90)
    )
    training = fe.create_training_set(labels, [lookup], label="y")
    loaded = training.load_df()
    assert loaded["tenure"].tolist() == [1, 10]
    assert training.spec is not None and training.spec.lookups[0]["lookback_seconds"] == 90 * 86400
    assert loaded.attrs["catalog_source"] == ["main.ml.tenure"]
    assert fe.lookup_features("main.ml.tenure", [2, 1])["tenure"].tolist() == [10, 3]
