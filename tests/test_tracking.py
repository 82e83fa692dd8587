"""Experiment tracking with MLflow's names and semantics, on real homes (DuckDB files on disk).

Every test gets a copy of one prepared home, conftest's world: catalog ``main`` with
``main.ml.churn_features``, alice in analysts (which may read main.ml), bob outside, and the
metastore admin. ``scientist`` is alice's
connection, opened last, so the module-level functions (``tracking.start_run`` ...) act as her:
they use the connection ``catalog.connect`` opened most recently in the process, and keep the
active experiment and the stack of active runs per thread (``tracking._state``), which
``tracking_state`` empties around every test.
"""

from __future__ import annotations

import errno
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import threading
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pytest
import yaml
from conftest import build_home, copy_home

import catalog
from catalog import tracking
from catalog.api import Catalog
from catalog.tracking import Client, reproducibility
from catalog.tracking.store import Metric

WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.ml COMMENT 'churn work'",
    "CREATE TABLE main.ml.churn_features (customer_id BIGINT, tenure_months BIGINT, avg_session_minutes DOUBLE, "
    "churned BIGINT)",
    "INSERT INTO main.ml.churn_features VALUES (1, 3, 12.5, 1), (2, 14, 30.0, 0), (3, 40, 8.25, 0), (4, 7, 55.0, 1)",
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE GROUP analysts",
    "ALTER GROUP analysts ADD USER alice",
    "GRANT USE CATALOG ON CATALOG main TO analysts",
    "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO analysts",
)

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_home(tmp_path_factory.mktemp("tracking"), WORLD)


@pytest.fixture
def home(tmp_path: Path, world_template: Path) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared world for every test."""
    return copy_home(world_template, tmp_path)


@pytest.fixture
def world(connect: Callable[[str], Catalog]) -> dict[str, Catalog]:
    """Overrides conftest's ``world`` (same story, copied rather than rebuilt)."""
    return {user: connect(user) for user in ("admin", "alice", "bob")}


pytestmark = pytest.mark.usefixtures("tracking_state")


@pytest.fixture
def scientist(world: dict[str, Catalog], connect: Callable[[str], Catalog]) -> Catalog:
    """alice, connected last: the module-level functions act as her."""
    return connect("alice")


@pytest.fixture
def client(scientist: Catalog) -> Client:
    return Client(scientist)


def folder_of(uri: str) -> Path:
    """The local folder behind a file:// artifact URI."""
    parsed = urlparse(uri)
    assert parsed.scheme == "file"
    return Path(url2pathname(parsed.path))


def audited(admin: Catalog, action: str) -> list[tuple[str, int, dict[str, str]]]:
    """(user, HTTP status, request_params) of every audit row of ``action``, oldest first."""
    frame = admin.sql(
        "SELECT user_identity.email AS who, response.status_code AS status, request_params AS params "
        "FROM system.access.audit WHERE action_name = ? ORDER BY event_time",
        [action],
    )
    return [(who, int(status), dict(params)) for who, status, params in frame.itertuples(index=False)]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository with one committed script, train.py."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    git(path, "config", "user.email", "alice@example.com")
    git(path, "config", "user.name", "alice")
    (path / "train.py").write_text("print('train')\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "first")
    return path


def run_from(monkeypatch: pytest.MonkeyPatch, script: Path) -> None:
    """Make ``script`` this process's entry point, as ``python script`` would."""
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(script), raising=False)
    monkeypatch.setattr(sys, "argv", [str(script)])


# -- experiments -----------------------------------------------------------------------------------
def test_set_experiment_creates_by_name_then_reuses_it(scientist, client, home):
    churn = tracking.set_experiment("/Shared/churn")
    assert tracking.set_experiment("/Shared/churn").experiment_id == churn.experiment_id
    other = tracking.set_experiment("/Shared/other")
    assert churn.experiment_id.isdigit() and other.experiment_id.isdigit()
    assert churn.experiment_id != other.experiment_id
    assert (churn.name, churn.owner, churn.lifecycle_stage) == ("/Shared/churn", "alice", "active")
    assert churn.creation_time == churn.last_update_time > 0
    artifacts = folder_of(churn.artifact_location)
    assert artifacts == home.resolve() / "artifacts" / churn.experiment_id
    assert tracking.get_experiment_by_name("/Shared/churn") == client.get_experiment(churn.experiment_id)
    assert tracking.get_experiment_by_name("/Shared/nothing") is None
    # by id: the active experiment switches back
    assert tracking.set_experiment(experiment_id=churn.experiment_id).name == "/Shared/churn"
    with tracking.start_run() as run:
        pass
    assert run.info.experiment_id == churn.experiment_id
    with pytest.raises(catalog.InvalidRequest):
        tracking.set_experiment()
    with pytest.raises(catalog.NotFound) as unknown:
        tracking.set_experiment(experiment_id="999")
    assert unknown.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_experiment_names_are_unique_and_checked(client):
    experiment_id = client.create_experiment("/Shared/a", tags={"team": "churn"})
    assert client.get_experiment(experiment_id).tags == {"team": "churn"}
    with pytest.raises(catalog.AlreadyExists) as taken:
        client.create_experiment("/Shared/a")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.create_experiment("x" * 500)  # the longest name allowed
    for bad in ("", "   ", "x" * 501):
        with pytest.raises(catalog.InvalidRequest):
            client.create_experiment(bad)
    assert client.get_experiment_by_name("") is None


def test_a_deleted_experiment_takes_no_runs_and_its_runs_go_with_it(client):
    experiment_id = client.create_experiment("/Shared/old")
    run = client.create_run(experiment_id)
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    with pytest.raises(catalog.InvalidRequest) as refused:
        client.create_run(experiment_id)
    assert refused.value.error_code == "INVALID_STATE"
    with pytest.raises(catalog.InvalidRequest) as inactive:
        tracking.set_experiment("/Shared/old")
    assert inactive.value.error_code == "INVALID_STATE"
    # as MLflow: deleting an experiment deletes its runs, which then refuse logging
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(catalog.InvalidRequest) as logging:
        client.log_metric(run.info.run_id, "loss", 0.1)
    assert logging.value.error_code == "INVALID_STATE"
    with pytest.raises(catalog.AlreadyExists):  # the name stays taken, as in MLflow
        client.create_experiment("/Shared/old")


# -- runs ------------------------------------------------------------------------------------------
def test_a_run_is_shaped_like_mlflows_and_ends_finished(scientist, client):
    experiment = tracking.set_experiment("/Shared/churn")
    with tracking.start_run(run_name="rf-baseline", tags={"team": "churn"}) as run:
        assert tracking.active_run() is run
        tracking.log_param("max_depth", 8)
        tracking.log_metric("accuracy", 0.91)
        live = client.get_run(run.info.run_id)
        assert (live.info.status, live.info.end_time) == ("RUNNING", None)
    assert tracking.active_run() is None
    got = client.get_run(run.info.run_id)
    info = got.info
    assert len(info.run_id) == 32 and int(info.run_id, 16) >= 0 and info.run_uuid == info.run_id
    assert (info.run_name, info.experiment_id, info.user_id) == ("rf-baseline", experiment.experiment_id, "alice")
    assert (info.status, info.lifecycle_stage) == ("FINISHED", "active")
    assert 0 < info.start_time <= info.end_time
    assert folder_of(info.artifact_uri) == folder_of(experiment.artifact_location) / info.run_id
    assert got.data.params == {"max_depth": "8"}
    assert got.data.metrics == {"accuracy": 0.91}
    assert got.data.tags["mlflow.runName"] == "rf-baseline"
    assert got.data.tags["mlflow.user"] == "alice"
    assert got.data.tags["team"] == "churn"
    assert "mlflow.parentRunId" not in got.data.tags
    assert got.inputs == ()
    assert run.data.params == {"max_depth": "8"}  # ActiveRun.data reads the run afresh


def test_a_run_whose_block_raises_ends_failed_and_the_error_propagates(client):
    tracking.set_experiment("/Shared/churn")
    error = ValueError("bad data")
    with pytest.raises(ValueError) as raised, tracking.start_run() as run:
        raise error
    assert raised.value is error
    assert tracking.active_run() is None
    info = client.get_run(run.info.run_id).info
    assert info.status == "FAILED" and info.end_time is not None


def test_one_active_run_per_thread_unless_nested(client):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as parent:
        with pytest.raises(catalog.InvalidRequest) as busy:
            tracking.start_run()
        assert busy.value.error_code == "INVALID_STATE" and parent.info.run_id in busy.value.message
        with tracking.start_run(nested=True, run_name="fold-1") as child:
            assert tracking.active_run() is child
            with tracking.start_run(nested=True) as grandchild:
                pass
        assert tracking.active_run() is parent
        # ending a nested run inside its block leaves the parent active (MLflow's __exit__)
        with tracking.start_run(nested=True) as ended_early:
            tracking.end_run("KILLED")
            assert tracking.active_run() is parent
        assert tracking.active_run() is parent
    assert tracking.active_run() is None
    runs = {r: client.get_run(r.info.run_id) for r in (parent, child, grandchild, ended_early)}
    assert runs[child].data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert runs[grandchild].data.tags["mlflow.parentRunId"] == child.info.run_id
    assert "mlflow.parentRunId" not in runs[parent].data.tags
    assert runs[ended_early].info.status == "KILLED"
    assert {r.info.status for r in (runs[parent], runs[child], runs[grandchild])} == {"FINISHED"}


def test_end_run_and_active_run(client):
    tracking.set_experiment("/Shared/churn")
    assert tracking.active_run() is None
    tracking.end_run()  # nothing active: nothing to do
    run = tracking.start_run()
    assert tracking.active_run() is run
    with pytest.raises(catalog.InvalidRequest):
        tracking.end_run("DONE")
    assert tracking.active_run() is run  # a refused status leaves the run active
    tracking.end_run("KILLED")
    assert tracking.active_run() is None
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def test_a_run_can_be_resumed_by_id(client):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run(run_name="long") as run:
        tracking.log_metric("loss", 1.0, step=0)
    first_end = client.get_run(run.info.run_id).info.end_time
    with tracking.start_run(run_id=run.info.run_id, tags={"resumed": "yes"}) as resumed:
        assert resumed.info.run_id == run.info.run_id
        assert resumed.info.status == "RUNNING"
        assert client.get_run(run.info.run_id).info.status == "RUNNING"
        tracking.log_metric("loss", 0.5, step=1)
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.end_time >= first_end
    assert got.data.metrics == {"loss": 0.5}
    assert got.data.tags["resumed"] == "yes" and got.data.tags["mlflow.runName"] == "long"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [1.0, 0.5]
    with pytest.raises(catalog.NotFound):
        tracking.start_run(run_id="0" * 32)
    assert tracking.active_run() is None


def test_without_an_experiment_runs_go_to_default(client):
    with tracking.start_run() as first:
        pass
    with tracking.start_run() as second:
        pass
    default = tracking.get_experiment_by_name("Default")
    assert default is not None and default.owner == "alice"
    assert first.info.experiment_id == second.info.experiment_id == default.experiment_id


def test_a_run_in_an_experiment_named_at_start(client):
    tracking.set_experiment("/Shared/active")
    elsewhere = client.create_experiment("/Shared/elsewhere")
    with tracking.start_run(experiment_id=elsewhere) as run:
        pass
    assert client.get_run(run.info.run_id).info.experiment_id == elsewhere


def test_logging_without_an_active_run_starts_one(client):
    tracking.set_experiment("/Shared/churn")
    tracking.log_param("alpha", 0.5)
    run = tracking.active_run()
    assert run is not None
    tracking.end_run()
    assert client.get_run(run.info.run_id).data.params == {"alpha": "0.5"}


# -- params ----------------------------------------------------------------------------------------
def test_params_are_strings_and_cannot_change(client):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        assert tracking.log_param("max_depth", 8) == 8
        tracking.log_param("max_depth", "8")  # the same value again is fine
        tracking.log_params({"lr": 0.1, "layers": [64, 32], "seed": None, "name": "rf"})
        with pytest.raises(catalog.InvalidRequest) as changed:
            tracking.log_param("max_depth", 9)
        with pytest.raises(catalog.InvalidRequest):
            tracking.log_params({"lr": 0.2})
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "'8'" in changed.value.message and "'9'" in changed.value.message
    params = client.get_run(run.info.run_id).data.params
    assert params == {"max_depth": "8", "lr": "0.1", "layers": "[64, 32]", "seed": "None", "name": "rf"}


def test_a_refused_batch_records_nothing(client):
    experiment_id = client.create_experiment("/Shared/batch")
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "depth", 8)
    with pytest.raises(catalog.InvalidRequest):
        client.log_batch(run_id, metrics=[Metric("loss", 0.5, 1, 0)], params={"depth": 9}, tags={"t": "v"})
    with pytest.raises(catalog.InvalidRequest):
        client.log_batch(run_id, metrics=[Metric("loss", 0.5, 1, 0), Metric("acc", "high", 1, 0)])
    got = client.get_run(run_id)
    assert got.data.metrics == {} and got.data.params == {"depth": "8"} and "t" not in got.data.tags
    assert client.get_metric_history(run_id, "loss") == []


def test_param_values_have_mlflows_length_limit(client):
    experiment_id = client.create_experiment("/Shared/long")
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "ok", "x" * 6000)
    with pytest.raises(catalog.InvalidRequest):
        client.log_param(run_id, "too_long", "x" * 6001)
    assert client.get_run(run_id).data.params == {"ok": "x" * 6000}


# -- metrics ---------------------------------------------------------------------------------------
def test_metric_history_keeps_every_point_in_order(client):
    experiment_id = client.create_experiment("/Shared/history")
    run_id = client.create_run(experiment_id).info.run_id
    points = [(0.9, 1000, 0), (0.7, 2000, 1), (0.5, 3000, 2), (0.6, 4000, 1), (0.4, 4000, 2)]
    for value, timestamp, step in points:
        client.log_metric(run_id, "loss", value, timestamp=timestamp, step=step)
    history = client.get_metric_history(run_id, "loss")
    assert [(m.key, m.value, m.timestamp, m.step) for m in history] == [("loss", *p) for p in points]
    assert client.get_metric_history(run_id, "never_logged") == []


@pytest.mark.parametrize("one_batch", [False, True], ids=["point-by-point", "one-batch"])
@pytest.mark.parametrize(
    ("points", "latest"),
    [
        # (value, timestamp, step): the highest step wins, even against a later timestamp
        ([(0.5, 1000, 5), (0.1, 9000, 4)], 0.5),
        ([(0.1, 9000, 4), (0.5, 1000, 5)], 0.5),
        # same step: the latest timestamp wins
        ([(0.3, 2000, 1), (0.2, 1000, 1)], 0.3),
        ([(0.2, 1000, 1), (0.3, 2000, 1)], 0.3),
        # same step and timestamp: the largest value wins
        ([(0.2, 1000, 1), (0.8, 1000, 1), (0.4, 1000, 1)], 0.8),
        # negative steps are steps too
        ([(0.7, 5000, -1), (0.6, 1000, 0)], 0.6),
    ],
)
def test_the_latest_value_follows_mlflows_rule(client, points, latest, one_batch):
    experiment_id = client.create_experiment("/Shared/latest")
    run_id = client.create_run(experiment_id).info.run_id
    metrics = [Metric("loss", v, t, s) for v, t, s in points]
    if one_batch:
        client.log_batch(run_id, metrics=metrics)
    else:
        for metric in metrics:
            client.log_batch(run_id, metrics=[metric])
    assert client.get_run(run_id).data.metrics == {"loss": latest}
    assert len(client.get_metric_history(run_id, "loss")) == len(points)


def test_a_large_batch_keeps_order_and_the_latest_point(client):
    experiment_id = client.create_experiment("/Shared/large")
    run_id = client.create_run(experiment_id).info.run_id
    values = [math.sin(i) for i in range(1000)]
    client.log_batch(run_id, metrics=[Metric("curve", v, 1000 + i, 999 - i) for i, v in enumerate(values)])
    history = client.get_metric_history(run_id, "curve")
    assert [m.value for m in history] == values
    assert client.get_run(run_id).data.metrics == {"curve": values[0]}  # step 999 is the first point


def test_log_metrics_logs_several_at_one_step(client):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        tracking.log_metrics({"precision": 0.8, "recall": 0.7}, step=3, timestamp=12345)
        tracking.log_metrics({"precision": 0.85, "recall": 0.75}, step=4)
    got = client.get_run(run.info.run_id)
    assert got.data.metrics == {"precision": 0.85, "recall": 0.75}
    (first, second) = client.get_metric_history(run.info.run_id, "recall")
    assert (first.step, first.timestamp, second.step) == (3, 12345, 4)
    assert second.timestamp >= run.info.start_time


@pytest.mark.parametrize("bad", ["0.5", None, True, [1.0], {"v": 1}, 1 + 2j], ids=repr)
def test_metric_values_must_be_numbers(client, bad):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run, pytest.raises(catalog.InvalidRequest) as refused:
        tracking.log_metric("loss", bad)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_metric_history(run.info.run_id, "loss") == []


def test_numpy_numbers_nan_and_infinity_are_metrics(client):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        tracking.log_metric("f32", np.float32(0.5))
        tracking.log_metric("i64", np.int64(3))
        tracking.log_metric("f64", np.float64(0.25))
        tracking.log_metric("nan", float("nan"))
        tracking.log_metric("inf", float("inf"), step=0)
        tracking.log_metric("inf", -float("inf"), step=1)
    metrics = client.get_run(run.info.run_id).data.metrics
    assert (metrics["f32"], metrics["i64"], metrics["f64"]) == (0.5, 3.0, 0.25)
    assert math.isnan(metrics["nan"]) and metrics["inf"] == -math.inf
    assert math.isnan(client.get_metric_history(run.info.run_id, "nan")[0].value)


# -- tags and keys ---------------------------------------------------------------------------------
def test_tags_are_set_overwritten_and_deleted(client):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        tracking.set_tag("stage", "dev")
        tracking.set_tag("stage", "prod")  # tags, unlike params, may change
        tracking.set_tags({"owner": "alice", "priority": 1})
    run_id = run.info.run_id
    tags = client.get_run(run_id).data.tags
    assert (tags["stage"], tags["owner"], tags["priority"]) == ("prod", "alice", "1")
    client.delete_tag(run_id, "stage")
    assert "stage" not in client.get_run(run_id).data.tags
    with pytest.raises(catalog.NotFound) as missing:
        client.delete_tag(run_id, "stage")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.set_tag(run_id, "stage", "again")  # a finished run still takes tags
    assert client.get_run(run_id).data.tags["stage"] == "again"


BAD_KEYS = ["", "/leading", "a/../b", "..", "semi;colon", "quote'", "tab\tkey", "new\nline", "x" * 251]


@pytest.mark.parametrize("kind", ["param", "metric", "tag"])
@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_bad_keys_are_refused(client, kind, key):
    experiment_id = client.create_experiment("/Shared/keys")
    run_id = client.create_run(experiment_id).info.run_id
    log = {"param": client.log_param, "metric": client.log_metric, "tag": client.set_tag}[kind]
    with pytest.raises(catalog.InvalidRequest):
        log(run_id, key, 1)
    got = client.get_run(run_id).data
    assert got.params == {} and got.metrics == {} and key not in got.tags


def test_good_keys_are_kept_as_given(client):
    experiment_id = client.create_experiment("/Shared/keys")
    run_id = client.create_run(experiment_id).info.run_id
    key = "eval/val-loss_v2.mean: fold 1"
    client.log_param(run_id, key, 1)
    client.log_metric(run_id, key, 1.0)
    client.set_tag(run_id, key, "1")
    client.log_param(run_id, "x" * 250, 1)
    got = client.get_run(run_id).data
    assert got.params == {key: "1", "x" * 250: "1"} and got.metrics == {key: 1.0} and got.tags[key] == "1"


# -- what a run records without being asked -------------------------------------------------------
def test_source_python_and_package_tags(client, tmp_path, monkeypatch):
    script = tmp_path / "scripts" / "train.py"
    script.parent.mkdir()
    script.write_text("print('train')\n")
    run_from(monkeypatch, script)
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        pass
    tags = client.get_run(run.info.run_id).data.tags
    assert tags["mlflow.source.name"] == str(script.resolve())
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["catalog.python_version"] == platform.python_version()
    packages = json.loads(tags["catalog.packages"])
    for name in ("scikit-learn", "pandas", "numpy", "duckdb", "pyarrow"):
        assert packages[name] == metadata.version(name)


def test_an_interactive_entry_point_is_named_as_such(monkeypatch):
    monkeypatch.delattr(sys.modules["__main__"], "__file__", raising=False)
    monkeypatch.setattr(sys, "argv", ["-c"])
    assert reproducibility.entry_point() == "-c"
    assert reproducibility.source_tags()["mlflow.source.name"] == "-c"


def test_git_state_gives_the_commit_and_dirty_flag(repo, tmp_path):
    head = git(repo, "rev-parse", "HEAD")
    assert len(head) == 40
    assert reproducibility.git_state(repo / "train.py") == (head, False)
    assert reproducibility.git_state(repo) == (head, False)
    (repo / "notes.txt").write_text("untracked files do not make the tree dirty")
    assert reproducibility.git_state(repo / "train.py") == (head, False)
    (repo / "train.py").write_text("print('changed')\n")
    assert reproducibility.git_state(repo / "train.py") == (head, True)
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    assert reproducibility.git_state(outside) is None


def test_a_run_started_from_a_repository_records_its_commit(client, repo, monkeypatch):
    head = git(repo, "rev-parse", "HEAD")
    run_from(monkeypatch, repo / "train.py")
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as clean:
        pass
    (repo / "train.py").write_text("print('edited, not committed')\n")
    with tracking.start_run() as dirty:
        pass
    clean_tags = client.get_run(clean.info.run_id).data.tags
    dirty_tags = client.get_run(dirty.info.run_id).data.tags
    assert clean_tags["mlflow.source.name"] == str((repo / "train.py").resolve())
    assert (clean_tags["mlflow.source.git.commit"], clean_tags["catalog.source.git.dirty"]) == (head, "false")
    assert (dirty_tags["mlflow.source.git.commit"], dirty_tags["catalog.source.git.dirty"]) == (head, "true")
    # source_tags alone says the same
    assert reproducibility.source_tags()["mlflow.source.git.commit"] == head


# -- the catalog tables a run read ---------------------------------------------------------------
def test_tables_read_during_a_run_become_its_inputs(scientist, client, world):
    tracking.set_experiment("/Shared/churn")
    before = scientist.read_table("main.ml.churn_features")  # no run yet: not recorded
    with tracking.start_run() as first:
        scientist.read_table("main.ml.churn_features")
        scientist.read_table("main.ml.churn_features")  # the same data twice: one input
    after = scientist.read_table("main.ml.churn_features")  # the run ended: not recorded
    assert len(before) == len(after) == 4
    with tracking.start_run() as same:
        scientist.read_table("main.ml.churn_features")
    world["admin"].sql("UPDATE main.ml.churn_features SET tenure_months = 99 WHERE customer_id = 1")
    with tracking.start_run() as changed:
        scientist.read_table("main.ml.churn_features")
    (seen,) = client.get_run(first.info.run_id).inputs
    assert (seen.name, seen.num_rows, seen.context) == ("main.ml.churn_features", 4, "training")
    assert len(seen.digest) == 32 and int(seen.digest, 16) >= 0
    (again,) = client.get_run(same.info.run_id).inputs
    (other,) = client.get_run(changed.info.run_id).inputs
    assert again.digest == seen.digest  # same rows, same digest
    assert other.digest != seen.digest  # changed rows, another digest
    assert other.num_rows == 4


def test_a_table_with_list_columns_can_be_read_during_a_run(scientist, client, world):
    admin = world["admin"]
    admin.sql("CREATE TABLE main.ml.sequences (id INT, events INT[])")
    admin.sql("INSERT INTO main.ml.sequences VALUES (1, [1, 2]), (2, [3])")
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as first:
        frame = scientist.read_table("main.ml.sequences")
    admin.sql("UPDATE main.ml.sequences SET events = [4] WHERE id = 2")
    with tracking.start_run() as second:
        scientist.read_table("main.ml.sequences")
    assert list(frame["events"][0]) == [1, 2]
    (a,) = client.get_run(first.info.run_id).inputs
    (b,) = client.get_run(second.info.run_id).inputs
    assert (a.name, a.num_rows) == ("main.ml.sequences", 2)
    assert a.digest != b.digest


# -- artifacts -------------------------------------------------------------------------------------
def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_artifacts_round_trip(scientist, client, tmp_path):
    local = tmp_path / "local"
    (local / "plots" / "deep").mkdir(parents=True)
    (local / "report.csv").write_text("a,b\n1,2\n")
    (local / "plots" / "roc.txt").write_text("roc")
    (local / "plots" / "deep" / "pr.bin").write_bytes(bytes(range(256)))
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        tracking.log_artifact(local / "report.csv")
        tracking.log_artifact(local / "report.csv", "data/raw")
        tracking.log_artifacts(local / "plots", "plots")
        tracking.log_artifacts(local)  # the whole tree at the top
        tracking.log_text("hello ✓", "notes/readme.txt")
        tracking.log_dict({"depth": 8, "features": ["a", "b"]}, "config.json")
        tracking.log_dict({"depth": 8, "features": ["a", "b"]}, "config.yaml")
        tracking.log_dict({"depth": 8}, "config.yml")
    run_id = run.info.run_id
    top = {(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id)}
    sizes = {name: len(data) for name, data in tree(folder_of(run.info.artifact_uri)).items()}
    assert top == {
        ("config.json", False, sizes["config.json"]),
        ("config.yaml", False, sizes["config.yaml"]),
        ("config.yml", False, sizes["config.yml"]),
        ("data", True, None),
        ("notes", True, None),
        ("plots", True, None),
        ("report.csv", False, 8),
    }
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id, "plots")] == [
        ("plots/deep", True),
        ("plots/roc.txt", False),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "data/raw")] == ["data/raw/report.csv"]
    assert client.list_artifacts(run_id, "nothing/here") == []
    # download a file, a folder, and the whole run: the same bytes come back
    out = tmp_path / "out"
    one = Path(client.download_artifacts(run_id, "data/raw/report.csv", out))
    assert one == out / "report.csv" and one.read_text() == "a,b\n1,2\n"
    folder = Path(client.download_artifacts(run_id, "plots", out))
    assert tree(folder) == tree(local / "plots")
    everything = Path(client.download_artifacts(run_id))
    stored = tree(everything)
    assert stored["notes/readme.txt"].decode() == "hello ✓"
    assert json.loads(stored["config.json"]) == {"depth": 8, "features": ["a", "b"]}
    assert yaml.safe_load(stored["config.yaml"]) == {"depth": 8, "features": ["a", "b"]}
    assert yaml.safe_load(stored["config.yml"]) == {"depth": 8}
    assert stored == tree(folder_of(run.info.artifact_uri))
    with pytest.raises(catalog.NotFound):
        client.download_artifacts(run_id, "missing.txt", out)


def test_missing_local_files_are_reported(client, tmp_path):
    run_id = client.create_run(client.create_experiment("/Shared/missing")).info.run_id
    with pytest.raises(catalog.NotFound):
        client.log_artifact(run_id, tmp_path / "nope.txt")
    with pytest.raises(catalog.NotFound):
        client.log_artifacts(run_id, tmp_path / "nope")
    assert client.list_artifacts(run_id) == []


class FakeFigure:
    """Anything with matplotlib's ``savefig(file, format=...)`` is a figure to log_figure."""

    def savefig(self, file, format: str) -> None:
        file.write(f"figure as {format}".encode())


def test_log_figure(client):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        with pytest.raises(catalog.InvalidRequest):
            tracking.log_figure(object(), "plot.png")
        tracking.log_figure(FakeFigure(), "plots/roc.svg")
        if importlib.util.find_spec("matplotlib") is not None:
            import matplotlib

            matplotlib.use("Agg")
            from matplotlib import pyplot

            figure, axes = pyplot.subplots()
            axes.plot([0, 1], [0, 1])
            tracking.log_figure(figure, "plots/real.png")
            pyplot.close(figure)
    run_id = run.info.run_id
    files = tree(folder_of(run.info.artifact_uri))
    assert files.pop("plots/roc.svg") == b"figure as svg"
    if "plots/real.png" in files:
        assert files.pop("plots/real.png").startswith(b"\x89PNG")
    assert files == {}
    assert "plots/roc.svg" in {f.path for f in client.list_artifacts(run_id, "plots")}


ESCAPES = ["../escape", "a/../../escape", "/tmp/escape", "a\\..\\..\\escape", "~/escape", "a/\x00/escape"]


@pytest.mark.parametrize("path", ESCAPES, ids=repr)
def test_artifact_paths_cannot_leave_the_run(scientist, client, tmp_path, path, home):
    source = tmp_path / "escape"
    source.write_text("x")
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "escape").write_text("x")
    before = {p for p in tmp_path.rglob("*")}
    run_id = client.create_run(client.create_experiment("/Shared/paths")).info.run_id
    calls = [
        lambda: client.log_artifact(run_id, source, path),
        lambda: client.log_artifacts(run_id, tmp_path / "local", path),
        lambda: client.log_bytes(run_id, b"x", path),
        lambda: client.list_artifacts(run_id, path),
        lambda: client.download_artifacts(run_id, path, tmp_path / "out"),
    ]
    for call in calls:
        with pytest.raises(catalog.InvalidRequest) as refused:
            call()
        assert refused.value.error_code == "INVALID_PATH"
    with tracking.start_run(run_id=run_id), pytest.raises(catalog.InvalidRequest):
        tracking.log_text("x", path)
    new = {p for p in tmp_path.rglob("*")} - before
    home = home.resolve()
    assert all(home in p.resolve().parents for p in new)  # nothing written outside the home
    assert not any(p.name == "escape" for p in new)
    assert not Path("/tmp/escape").exists()
    assert client.list_artifacts(run_id) == []


def test_an_artifact_file_needs_a_name(client):
    run_id = client.create_run(client.create_experiment("/Shared/names")).info.run_id
    for empty in ("", "."):
        with pytest.raises(catalog.InvalidRequest) as refused:
            client.log_bytes(run_id, b"x", empty)
        assert refused.value.error_code == "INVALID_PATH"


def test_links_inside_the_run_folder_are_not_followed(client, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    run = client.create_run(client.create_experiment("/Shared/links"))
    run_id = run.info.run_id
    client.log_bytes(run_id, b"ok", "sub/ok.txt")
    root = folder_of(run.info.artifact_uri)
    (root / "sub" / "link").symlink_to(outside, target_is_directory=True)
    (root / "file-link").symlink_to(outside / "secret.txt")
    assert [f.path for f in client.list_artifacts(run_id)] == ["sub"]
    assert [f.path for f in client.list_artifacts(run_id, "sub")] == ["sub/ok.txt"]
    for through in ("sub/link", "sub/link/secret.txt", "file-link"):
        with pytest.raises(catalog.InvalidRequest) as refused:
            client.download_artifacts(run_id, through, tmp_path / "out")
        assert refused.value.error_code == "INVALID_PATH"
        with pytest.raises(catalog.InvalidRequest):
            client.list_artifacts(run_id, through)
    with pytest.raises(catalog.InvalidRequest):
        client.log_bytes(run_id, b"overwritten", "sub/link/secret.txt")
    with pytest.raises(catalog.InvalidRequest):
        client.log_bytes(run_id, b"planted", "sub/link/new.txt")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret"
    # downloading the folder or the whole run copies the files, never what links point at
    assert tree(Path(client.download_artifacts(run_id, "sub", tmp_path / "sub-copy"))) == {"ok.txt": b"ok"}
    assert tree(Path(client.download_artifacts(run_id, "", tmp_path / "all"))) == {"sub/ok.txt": b"ok"}


@pytest.mark.embedded_only  # a full disk on the server is a 500 over HTTP, not the OSError
def test_a_failed_upload_leaves_no_partial_file(world, client, tmp_path, monkeypatch):
    run = client.create_run(client.create_experiment("/Shared/uploads"))
    run_id = run.info.run_id
    root = folder_of(run.info.artifact_uri)
    client.log_bytes(run_id, b"version 1", "model/weights.bin")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # several copy chunks

    real_fsync = os.fsync

    def disk_full(fd: int) -> None:  # the upload's file only: the audit journal still syncs
        if ".upload-" not in os.readlink(f"/proc/self/fd/{fd}"):
            return real_fsync(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", disk_full)  # fails after the data went to the temporary file
        with pytest.raises(OSError):
            client.log_bytes(run_id, b"version 2", "model/weights.bin")
        with pytest.raises(OSError):
            client.log_artifact(run_id, big, "model")
    assert (root / "model" / "weights.bin").read_bytes() == b"version 1"  # the old file is intact
    assert sorted(p.name for p in (root / "model").iterdir()) == ["weights.bin"]  # no .upload-* left
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "model")] == [("model/weights.bin", 9)]
    failures = [
        status for who, status, params in audited(world["admin"], "logArtifact") if params.get("run_id") == run_id
    ]
    assert failures == [200, 500, 500]
    client.log_artifact(run_id, big, "model")  # once the disk has room again, the upload works
    assert (root / "model" / "big.bin").read_bytes() == big.read_bytes()


def test_an_upload_in_progress_is_not_listed_or_downloaded(client, tmp_path):
    run = client.create_run(client.create_experiment("/Shared/in-progress"))
    client.log_bytes(run.info.run_id, b"done", "a.txt")
    (folder_of(run.info.artifact_uri) / ".upload-abc123").write_bytes(b"half")
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["a.txt"]
    assert tree(Path(client.download_artifacts(run.info.run_id, "", tmp_path / "out"))) == {"a.txt": b"done"}


# -- lifecycle -------------------------------------------------------------------------------------
def test_a_deleted_run_refuses_writes_until_restored(client, tmp_path):
    source = tmp_path / "f.txt"
    source.write_text("x")
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        tracking.set_tag("keep", "1")
    run_id = run.info.run_id
    client.delete_run(run_id)
    got = client.get_run(run_id)
    assert got.info.lifecycle_stage == "deleted" and got.data.tags["keep"] == "1"  # soft: still readable
    writes = [
        lambda: client.log_metric(run_id, "x", 1.0),
        lambda: client.log_param(run_id, "p", 1),
        lambda: client.set_tag(run_id, "t", "v"),
        lambda: client.delete_tag(run_id, "keep"),
        lambda: client.log_artifact(run_id, source),
        lambda: client.set_terminated(run_id, "KILLED"),
        lambda: tracking.start_run(run_id=run_id),
    ]
    for write in writes:
        with pytest.raises(catalog.InvalidRequest) as refused:
            write()
        assert refused.value.error_code == "INVALID_STATE"
    assert tracking.active_run() is None
    assert client.list_artifacts(run_id) == []
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    client.log_metric(run_id, "x", 1.0)
    client.log_artifact(run_id, source)
    got = client.get_run(run_id)
    assert got.data.metrics == {"x": 1.0} and got.info.status == "FINISHED"
    assert [f.path for f in client.list_artifacts(run_id)] == ["f.txt"]


@pytest.mark.parametrize(
    ("status", "ends"),
    [("FINISHED", True), ("FAILED", True), ("KILLED", True), ("RUNNING", False), ("SCHEDULED", False)],
)
def test_set_terminated_with_each_status(client, status, ends):
    run = client.create_run(client.create_experiment("/Shared/status"), run_name="manual")
    assert run.info.status == "RUNNING" and run.info.end_time is None
    info = client.set_terminated(run.info.run_id, status)
    assert info.status == status == client.get_run(run.info.run_id).info.status
    assert (info.end_time is not None) == ends
    if ends:
        assert info.end_time >= run.info.start_time
    info = client.set_terminated(run.info.run_id, status, end_time=run.info.start_time + 5)
    assert info.end_time == run.info.start_time + 5


def test_update_run_renames_and_checks_statuses(client):
    experiment_id = client.create_experiment("/Shared/status")
    run = client.create_run(experiment_id, start_time=1_000, tags={"team": "churn"}, run_name="first")
    assert run.info.start_time == 1_000 and run.data.tags["team"] == "churn"
    for bad in ("DONE", "finished", ""):
        with pytest.raises(catalog.InvalidRequest):
            client.update_run(run.info.run_id, status=bad)
        with pytest.raises(catalog.InvalidRequest):
            client.set_terminated(run.info.run_id, bad)
    assert client.get_run(run.info.run_id).info.status == "RUNNING"
    info = client.update_run(run.info.run_id, name="renamed")
    assert info.run_name == "renamed" and info.status == "RUNNING"
    assert client.get_run(run.info.run_id).data.tags["mlflow.runName"] == "renamed"
    with pytest.raises(catalog.NotFound) as unknown:
        client.update_run("f" * 32, status="FINISHED")
    assert unknown.value.error_code == "RESOURCE_DOES_NOT_EXIST"


# -- authorization and audit -----------------------------------------------------------------------
@pytest.fixture
def alices_run(client, tmp_path):
    """alice's experiment /Shared/churn and a run in it with a metric, a tag and an artifact."""
    experiment_id = client.create_experiment("/Shared/churn")
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "acc", 0.9)
    client.set_tag(run_id, "stage", "dev")
    client.log_bytes(run_id, b"model", "model.bin")
    return experiment_id, run_id


BOB_TRIES = {
    "getExperiment": lambda c, e, r, p: c.get_experiment(e),
    "getExperimentByName": lambda c, e, r, p: c.get_experiment_by_name("/Shared/churn"),
    "deleteExperiment": lambda c, e, r, p: c.delete_experiment(e),
    "createRun": lambda c, e, r, p: c.create_run(e),
    "getRun": lambda c, e, r, p: c.get_run(r),
    "logBatch": lambda c, e, r, p: c.log_metric(r, "acc", 0.1),
    "deleteTag": lambda c, e, r, p: c.delete_tag(r, "stage"),
    "getMetricHistory": lambda c, e, r, p: c.get_metric_history(r, "acc"),
    "updateRun": lambda c, e, r, p: c.set_terminated(r, "KILLED"),
    "deleteRun": lambda c, e, r, p: c.delete_run(r),
    "restoreRun": lambda c, e, r, p: c.restore_run(r),
    "logArtifact": lambda c, e, r, p: c.log_bytes(r, b"bob", "bob.txt"),
    "logArtifacts": lambda c, e, r, p: c.log_artifacts(r, p),
    "listArtifacts": lambda c, e, r, p: c.list_artifacts(r),
    "downloadArtifacts": lambda c, e, r, p: c.download_artifacts(r, "model.bin", p / "bob-out"),
}


@pytest.mark.parametrize("action", list(BOB_TRIES))
def test_another_user_can_neither_read_nor_write_and_is_audited(world, client, alices_run, tmp_path, action):
    experiment_id, run_id = alices_run
    before = client.get_run(run_id)
    (tmp_path / "bob-files").mkdir()
    (tmp_path / "bob-files" / "b.txt").write_text("bob")
    bob = Client(world["bob"])
    with pytest.raises(catalog.PermissionDenied) as denied:
        BOB_TRIES[action](bob, experiment_id, run_id, tmp_path / "bob-files")
    assert "bob" in denied.value.message and "/Shared/churn" in denied.value.message
    assert ("bob", 403) in {(who, status) for who, status, _ in audited(world["admin"], action)}
    after = client.get_run(run_id)
    assert (after.info, after.data) == (before.info, before.data)  # nothing changed
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"
    assert [f.path for f in client.list_artifacts(run_id)] == ["model.bin"]
    assert not (tmp_path / "bob-files" / "bob-out").exists()


def test_bobs_fluent_calls_on_alices_experiment_are_refused(client, alices_run, connect):
    _, run_id = alices_run
    connect("bob")  # the module-level functions now act as bob
    with pytest.raises(catalog.PermissionDenied):
        tracking.set_experiment("/Shared/churn")
    with pytest.raises(catalog.PermissionDenied):
        tracking.start_run(run_id=run_id)
    assert tracking.active_run() is None
    assert client.get_run(run_id).info.status == "RUNNING"  # not resumed, not ended


def test_the_metastore_admin_reads_and_writes_every_experiment(world, client, alices_run, tmp_path):
    experiment_id, run_id = alices_run
    admin = Client(world["admin"])
    assert admin.get_experiment(experiment_id).owner == "alice"
    assert admin.get_experiment_by_name("/Shared/churn").experiment_id == experiment_id
    assert admin.get_run(run_id).data.metrics == {"acc": 0.9}
    assert [m.value for m in admin.get_metric_history(run_id, "acc")] == [0.9]
    assert [f.path for f in admin.list_artifacts(run_id)] == ["model.bin"]
    assert Path(admin.download_artifacts(run_id, "model.bin", tmp_path / "admin")).read_bytes() == b"model"
    admin.set_tag(run_id, "reviewed", "yes")
    admin_run = admin.create_run(experiment_id)
    assert admin_run.info.user_id == "admin" and admin_run.data.tags["mlflow.user"] == "admin"
    assert client.get_run(run_id).data.tags["reviewed"] == "yes"


def test_every_call_is_audited_with_its_action(world, scientist, client, tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "a.txt").write_text("a")
    experiment = tracking.set_experiment("/Shared/audited")
    with tracking.start_run() as run:
        tracking.log_param("p", 1)
        tracking.log_metric("m", 1.0)
        tracking.log_artifact(local / "a.txt")
        tracking.log_artifacts(local, "tree")
        scientist.read_table("main.ml.churn_features")
    run_id = run.info.run_id
    client.get_run(run_id)
    client.get_metric_history(run_id, "m")
    client.list_artifacts(run_id)
    client.download_artifacts(run_id, "a.txt", tmp_path / "out")
    client.update_run(run_id, name="renamed")
    client.set_tag(run_id, "t", "v")
    client.delete_tag(run_id, "t")
    client.delete_run(run_id)
    client.restore_run(run_id)
    client.delete_experiment(experiment.experiment_id)
    admin = world["admin"]
    for action in (
        "createExperiment",
        "getExperimentByName",
        "getExperiment",
        "createRun",
        "logBatch",
        "logArtifact",
        "logArtifacts",
        "logInputs",
        "updateRun",
        "getRun",
        "getMetricHistory",
        "listArtifacts",
        "downloadArtifacts",
        "deleteTag",
        "deleteRun",
        "restoreRun",
        "deleteExperiment",
    ):
        rows = audited(admin, action)
        assert rows and all((who, status) == ("alice", 200) for who, status, _ in rows), action
    log_batches = [params for _, _, params in audited(admin, "logBatch")]
    assert {p["run_id"] for p in log_batches} == {run_id}
    assert any(p.get("params") == "1" for p in log_batches) and any(p.get("metrics") == "1" for p in log_batches)
    created = audited(admin, "createExperiment")
    assert created[0][2]["name"] == "/Shared/audited"
    assert "experiment:/Shared/audited" in created[0][2]["full_name_arg"]
    (update_ended, update_renamed) = audited(admin, "updateRun")
    assert update_ended[2]["status"] == "FINISHED" and update_renamed[2]["run_id"] == run_id


def test_the_module_functions_use_the_latest_connection(world, connect):
    bob = connect("bob")
    assert catalog.latest_connection() is bob
    experiment = tracking.set_experiment("/Users/bob/churn")
    assert experiment.owner == "bob"
    with tracking.start_run() as run:
        pass
    assert Client().get_run(run.info.run_id).info.user_id == "bob"  # Client() takes the latest too
    alice = connect("alice")
    assert Client().cat is alice
    with pytest.raises(catalog.PermissionDenied):
        tracking.get_experiment_by_name("/Users/bob/churn")


def test_two_users_track_side_by_side(world):
    clients = {user: Client(world[user]) for user in ("alice", "bob")}
    made: dict[str, list[tuple[str, str]]] = {user: [] for user in clients}
    errors: list[BaseException] = []
    active_in_thread: list[object] = []

    def work(user: str) -> None:
        active_in_thread.append(tracking.active_run())  # a new thread has no active run
        client = clients[user]
        try:
            for i in range(5):
                experiment_id = client.create_experiment(f"/Users/{user}/e{i}")
                run_id = client.create_run(experiment_id).info.run_id
                client.log_batch(run_id, metrics=[Metric("loss", 1.0 / (s + 1), 1000 + s, s) for s in range(10)])
                client.log_param(run_id, "user", user)
                made[user].append((experiment_id, run_id))
        except BaseException as error:  # reported below, on the test's thread
            errors.append(error)

    tracking.set_experiment("/Shared/main-thread")
    with tracking.start_run():
        threads = [threading.Thread(target=work, args=(user,)) for user in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == [] and active_in_thread == [None, None]
    experiment_ids = [e for runs in made.values() for e, _ in runs]
    assert len(set(experiment_ids)) == len(experiment_ids) == 10
    for user, other in (("alice", "bob"), ("bob", "alice")):
        for experiment_id, run_id in made[user]:
            got = clients[user].get_run(run_id)
            assert got.data.params == {"user": user} and got.data.metrics == {"loss": 0.1}
            assert clients[user].get_experiment(experiment_id).owner == user
            with pytest.raises(catalog.PermissionDenied):
                clients[other].get_run(run_id)
