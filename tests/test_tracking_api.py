"""Experiment tracking with MLflow's names, on a real home: experiments, runs, params, metrics,
tags, inputs, reproducibility tags, artifacts, lifecycle, authorization and audit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

import catalog
from catalog import tracking
from catalog.tracking import reproducibility
from catalog.tracking.store import Metric


@pytest.fixture(autouse=True)
def no_active_runs():
    """Module-level tracking state is per thread: start and end every test without runs."""
    while tracking.active_run() is not None:
        tracking.end_run()
    tracking._state.experiment_id = None
    yield
    while tracking.active_run() is not None:
        tracking.end_run()
    tracking._state.experiment_id = None


@pytest.fixture
def scientist(world):
    """alice, last connected: the module-level functions act as her."""
    world["admin"].sql("GRANT CREATE TABLE ON SCHEMA main.ml TO analysts")
    return catalog.connect(world["admin"].home, user="alice")


def audit_rows(admin, action: str) -> pd.DataFrame:
    return admin.sql(
        "SELECT user_identity.email AS who, response.status_code AS status FROM system.access.audit "
        "WHERE action_name = ? ORDER BY event_time",
        [action],
    )


# -- experiments -----------------------------------------------------------------------------------
def test_set_experiment_creates_by_name_then_reuses_it(scientist):
    first = tracking.set_experiment("/Shared/churn")
    again = tracking.set_experiment("/Shared/churn")
    assert first.experiment_id == again.experiment_id
    assert first.owner == "alice" and first.lifecycle_stage == "active"
    assert first.artifact_location.startswith("file://") and "/artifacts/" in first.artifact_location
    assert tracking.get_experiment_by_name("/Shared/churn").experiment_id == first.experiment_id
    assert tracking.get_experiment_by_name("/Shared/none") is None


def test_experiment_names_are_checked_and_unique(scientist):
    client = tracking.Client(scientist)
    client.create_experiment("/Shared/a")
    with pytest.raises(catalog.AlreadyExists) as taken:
        client.create_experiment("/Shared/a")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    for bad in ("", "   ", "x" * 501):
        with pytest.raises(catalog.InvalidRequest):
            client.create_experiment(bad)


# -- runs ------------------------------------------------------------------------------------------
def test_a_run_records_params_metrics_tags_and_ends_finished(scientist):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run(run_name="rf-baseline", tags={"team": "churn"}) as run:
        tracking.log_param("max_depth", 8)
        tracking.log_params({"n_estimators": 200, "criterion": "gini"})
        tracking.log_metric("test_accuracy", 0.91)
        tracking.log_metrics({"precision": 0.8, "recall": 0.7}, step=3)
        tracking.set_tag("stage", "dev")
        tracking.set_tags({"owner": "alice"})
        assert tracking.active_run().info.run_id == run.info.run_id
    assert tracking.active_run() is None

    got = tracking.Client(scientist).get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.end_time >= got.info.start_time
    assert got.info.run_name == "rf-baseline" and got.info.user_id == "alice"
    assert got.data.params == {"max_depth": "8", "n_estimators": "200", "criterion": "gini"}
    assert got.data.metrics == {"test_accuracy": 0.91, "precision": 0.8, "recall": 0.7}
    assert {"team": "churn", "stage": "dev", "owner": "alice", "mlflow.runName": "rf-baseline"}.items() <= (
        got.data.tags.items()
    )
    assert got.data.tags["mlflow.user"] == "alice"


def test_a_run_that_raises_ends_failed_and_the_error_propagates(scientist):
    tracking.set_experiment("/Shared/churn")
    with pytest.raises(ZeroDivisionError), tracking.start_run() as run:
        1 / 0  # noqa: B018
    assert tracking.Client(scientist).get_run(run.info.run_id).info.status == "FAILED"


def test_one_active_run_per_thread_unless_nested(scientist):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as parent:
        with pytest.raises(catalog.InvalidRequest) as busy:
            tracking.start_run()
        assert busy.value.error_code == "INVALID_STATE"
        with tracking.start_run(nested=True) as child:
            assert tracking.active_run().info.run_id == child.info.run_id
        assert tracking.active_run().info.run_id == parent.info.run_id
    tags = tracking.Client(scientist).get_run(child.info.run_id).data.tags
    assert tags["mlflow.parentRunId"] == parent.info.run_id


def test_without_an_experiment_runs_go_to_default(scientist):
    with tracking.start_run() as run:
        pass
    default = tracking.get_experiment_by_name("Default")
    assert run.info.experiment_id == default.experiment_id


def test_a_run_can_be_resumed(scientist):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        tracking.log_metric("loss", 1.0, step=0)
    with tracking.start_run(run_id=run.info.run_id):
        tracking.log_metric("loss", 0.5, step=1)
    got = tracking.Client(scientist).get_run(run.info.run_id)
    assert got.data.metrics == {"loss": 0.5} and got.info.status == "FINISHED"


def test_params_cannot_change(scientist):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run():
        tracking.log_param("max_depth", 8)
        tracking.log_param("max_depth", "8")  # the same value again is fine
        with pytest.raises(catalog.InvalidRequest) as changed:
            tracking.log_param("max_depth", 9)
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "'8'" in changed.value.message and "'9'" in changed.value.message


def test_metric_history_and_the_latest_point(scientist):
    client = tracking.Client(scientist)
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("loss", 0.9, 1000, 0), Metric("loss", 0.5, 2000, 2), Metric("loss", 0.7, 3000, 1)],
        )
    history = client.get_metric_history(run_id, "loss")
    assert [(m.value, m.step, m.timestamp) for m in history] == [(0.9, 0, 1000), (0.5, 2, 2000), (0.7, 1, 3000)]
    # MLflow's latest point: the highest step wins over a later timestamp
    assert client.get_run(run_id).data.metrics == {"loss": 0.5}


@pytest.mark.parametrize("bad", ["text", None, True])
def test_metrics_must_be_numbers(scientist, bad):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run(), pytest.raises(catalog.InvalidRequest):
        tracking.log_metric("loss", bad)


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "semi;colon", "x" * 251])
def test_keys_are_checked(scientist, key):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run(), pytest.raises(catalog.InvalidRequest):
        tracking.log_param(key, 1)


def test_tags_can_be_deleted(scientist):
    client = tracking.Client(scientist)
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        tracking.set_tag("temporary", "yes")
    client.delete_tag(run.info.run_id, "temporary")
    assert "temporary" not in client.get_run(run.info.run_id).data.tags
    with pytest.raises(catalog.NotFound):
        client.delete_tag(run.info.run_id, "temporary")


# -- what a run records without being asked -------------------------------------------------------
def test_source_and_environment_tags(scientist):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        pass
    tags = tracking.Client(scientist).get_run(run.info.run_id).data.tags
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.source.name"]
    packages = json.loads(tags["catalog.packages"])
    from importlib import metadata

    assert packages["scikit-learn"] == metadata.version("scikit-learn")
    assert packages["pandas"] == metadata.version("pandas")
    assert tags["catalog.python_version"].count(".") == 2


def test_git_commit_and_dirty_flag(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    run = lambda *args: subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)  # noqa: E731
    run("init", "-q")
    run("config", "user.email", "t@example.com")
    run("config", "user.name", "t")
    (repo / "train.py").write_text("print('train')\n")
    run("add", "train.py")
    run("commit", "-q", "-m", "first")
    head = run("rev-parse", "HEAD").stdout.strip()
    assert reproducibility.git_state(repo / "train.py") == (head, False)
    (repo / "train.py").write_text("print('changed')\n")
    assert reproducibility.git_state(repo / "train.py") == (head, True)
    assert reproducibility.git_state(tmp_path) is None  # not a repository


def test_tables_read_during_a_run_become_its_inputs(scientist, world):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        scientist.read_table("main.ml.churn_features")
    after = scientist.read_table("main.ml.churn_features")  # after the run: not recorded
    assert len(after) == 4
    with tracking.start_run() as second:
        scientist.read_table("main.ml.churn_features")
    world["admin"].sql("UPDATE main.ml.churn_features SET tenure_months = 99 WHERE customer_id = 1")
    with tracking.start_run() as third:
        scientist.read_table("main.ml.churn_features")
    client = tracking.Client(scientist)
    (first_input,) = client.get_run(run.info.run_id).inputs
    assert (first_input.name, first_input.num_rows, first_input.context) == ("main.ml.churn_features", 4, "training")
    assert client.get_run(second.info.run_id).inputs[0].digest == first_input.digest  # same rows
    assert client.get_run(third.info.run_id).inputs[0].digest != first_input.digest  # changed rows


# -- artifacts -------------------------------------------------------------------------------------
def test_artifacts_round_trip(scientist, tmp_path):
    local = tmp_path / "local"
    (local / "plots").mkdir(parents=True)
    (local / "report.csv").write_text("a,b\n1,2\n")
    (local / "plots" / "roc.txt").write_text("roc")
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        tracking.log_artifact(local / "report.csv", "data")
        tracking.log_artifacts(local, "everything")
        tracking.log_text("hello", "notes/readme.txt")
        tracking.log_dict({"depth": 8}, "config.json")
        tracking.log_dict({"depth": 8}, "config.yaml")
    client = tracking.Client(scientist)
    run_id = run.info.run_id
    top = {f.path: f.is_dir for f in client.list_artifacts(run_id)}
    assert top == {"config.json": False, "config.yaml": False, "data": True, "everything": True, "notes": True}
    assert [f.path for f in client.list_artifacts(run_id, "everything")] == [
        "everything/plots",
        "everything/report.csv",
    ]
    file_copy = Path(client.download_artifacts(run_id, "data/report.csv", tmp_path / "out"))
    assert file_copy.read_text() == "a,b\n1,2\n"
    folder_copy = Path(client.download_artifacts(run_id, "everything", tmp_path / "out2"))
    assert (folder_copy / "plots" / "roc.txt").read_text() == "roc"
    root = tmp_path / "out3"
    client.download_artifacts(run_id, "config.json", root)
    assert json.loads((root / "config.json").read_text()) == {"depth": 8}
    client.download_artifacts(run_id, "config.yaml", root)
    assert yaml.safe_load((root / "config.yaml").read_text()) == {"depth": 8}


@pytest.mark.parametrize("path", ["../escape", "a/../../escape", "/etc/passwd", "a\\b", "~/x"])
def test_artifact_paths_stay_inside_the_run(scientist, tmp_path, path):
    source = tmp_path / "f.txt"
    source.write_text("x")
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run():
        with pytest.raises(catalog.InvalidRequest) as refused:
            tracking.log_artifact(source, path)
        with pytest.raises(catalog.InvalidRequest):
            tracking.log_text("x", path)
    assert refused.value.error_code == "INVALID_PATH"
    home = scientist.home
    assert not any(p.name == "escape" for p in home.parent.rglob("escape"))


def test_a_link_inside_the_run_is_not_followed(scientist, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        tracking.log_text("x", "ok.txt")
    client = tracking.Client(scientist)
    root = Path(run.info.artifact_uri.removeprefix("file://"))
    (root / "link").symlink_to(outside)
    with pytest.raises(catalog.InvalidRequest):
        client.download_artifacts(run.info.run_id, "link/secret.txt", tmp_path / "out")
    assert "link" not in {f.path for f in client.list_artifacts(run.info.run_id)}


def test_a_failed_upload_leaves_no_half_file(scientist, tmp_path, monkeypatch):
    import shutil

    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * (3 * 1024 * 1024))
    tracking.set_experiment("/Shared/churn")
    real_copy = shutil.copyfileobj

    def failing_copy(src, dst, length=0):
        dst.write(src.read(1024))
        raise OSError("disk full")

    with tracking.start_run() as run:
        monkeypatch.setattr(shutil, "copyfileobj", failing_copy)
        with pytest.raises(OSError):
            tracking.log_artifact(source)
        monkeypatch.setattr(shutil, "copyfileobj", real_copy)
    root = Path(run.info.artifact_uri.removeprefix("file://"))
    assert not root.exists() or list(root.rglob("*")) == []
    assert tracking.Client(scientist).list_artifacts(run.info.run_id) == []


def test_log_figure_needs_a_figure(scientist):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run(), pytest.raises(catalog.InvalidRequest):
        tracking.log_figure(object(), "plot.png")


# -- lifecycle -------------------------------------------------------------------------------------
def test_deleted_runs_refuse_logging_until_restored(scientist):
    client = tracking.Client(scientist)
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        pass
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(catalog.InvalidRequest) as refused:
        client.log_metric(run.info.run_id, "x", 1.0)
    assert refused.value.error_code == "INVALID_STATE"
    client.restore_run(run.info.run_id)
    client.log_metric(run.info.run_id, "x", 1.0)
    assert client.get_run(run.info.run_id).data.metrics == {"x": 1.0}


def test_set_terminated_and_bad_statuses(scientist):
    client = tracking.Client(scientist)
    experiment = client.create_experiment("/Shared/lifecycle")
    run = client.create_run(experiment, run_name="manual")
    assert run.info.status == "RUNNING"
    client.set_terminated(run.info.run_id, "KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"
    with pytest.raises(catalog.InvalidRequest):
        client.set_terminated(run.info.run_id, "DONE")
    client.delete_experiment(experiment)
    with pytest.raises(catalog.InvalidRequest):
        client.create_run(experiment)


# -- authorization and audit -----------------------------------------------------------------------
def test_other_users_cannot_read_or_write_an_experiment_and_are_audited(scientist, world):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run() as run:
        tracking.log_metric("acc", 0.9)
    bob = tracking.Client(world["bob"])
    with pytest.raises(catalog.PermissionDenied) as denied:
        bob.get_run(run.info.run_id)
    assert "bob" in denied.value.message and "/Shared/churn" in denied.value.message
    with pytest.raises(catalog.PermissionDenied):
        bob.log_metric(run.info.run_id, "acc", 0.1)
    with pytest.raises(catalog.PermissionDenied):
        bob.create_run(run.info.experiment_id)
    admin = world["admin"]
    assert tracking.Client(admin).get_run(run.info.run_id).data.metrics == {"acc": 0.9}  # admins read all
    for action in ("getRun", "logBatch", "createRun"):
        rows = audit_rows(admin, action)
        assert ("bob", 403) in set(zip(rows["who"], rows["status"], strict=True)), action
    assert ("alice", 200) in set(zip(*audit_rows(admin, "createExperiment").to_dict("list").values(), strict=True))


def test_mlflow_system_tables_show_what_the_reader_may_read(scientist, world):
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run(run_name="r1"):
        tracking.log_param("depth", 8)
        for step, value in enumerate([0.3, 0.9, 0.6]):
            tracking.log_metric("acc", value, step=step)
    admin = world["admin"]
    runs = admin.sql("SELECT run_name, status, params, aggregated_metrics, created_by FROM system.mlflow.runs_latest")
    assert runs["run_name"].tolist() == ["r1"] and runs["created_by"].tolist() == ["alice"]
    assert dict(runs["params"][0]) == {"depth": "8"}
    (stats,) = runs["aggregated_metrics"][0]
    assert stats == {"metric_name": "acc", "latest_value": 0.6, "max_value": 0.9, "min_value": 0.3}
    history = admin.sql("SELECT metric_step, metric_value FROM system.mlflow.run_metrics_history ORDER BY metric_step")
    assert history["metric_value"].tolist() == [0.3, 0.9, 0.6]
    names = admin.sql("SELECT name FROM system.mlflow.experiments_latest")["name"].tolist()
    assert names == ["/Shared/churn"]
    admin.sql("GRANT USE CATALOG ON CATALOG system TO bob")
    admin.sql("GRANT USE SCHEMA, SELECT ON SCHEMA system.mlflow TO bob")
    bob = world["bob"]
    assert len(bob.sql("SELECT * FROM system.mlflow.runs_latest")) == 0  # not bob's experiment
    assert len(bob.sql("SELECT * FROM system.mlflow.run_metrics_history")) == 0


# -- search_runs -----------------------------------------------------------------------------------
@pytest.fixture
def searched(scientist):
    """Four finished runs in /Shared/churn with accuracy, depth and a team tag."""
    tracking.set_experiment("/Shared/churn")
    for i, (accuracy, depth, team) in enumerate([(0.7, 4, "a"), (0.85, 8, "b"), (0.9, 8, "a"), (0.95, 12, "b")]):
        with tracking.start_run(run_name=f"rf-{i}"):
            tracking.log_param("max_depth", depth)
            tracking.log_metric("test_accuracy", accuracy)
            tracking.set_tag("team", team)
    return scientist


def names(frame: pd.DataFrame) -> list[str]:
    return frame["tags.mlflow.runName"].tolist() if len(frame) else []


def test_the_issues_search(searched):
    found = tracking.search_runs(
        experiment_names=["/Shared/churn"],
        filter_string="metrics.test_accuracy > 0.8 and params.max_depth = '8'",
        order_by=["metrics.test_accuracy DESC"],
    )
    assert names(found) == ["rf-2", "rf-1"]
    assert found["metrics.test_accuracy"].tolist() == [0.9, 0.85]
    assert found["params.max_depth"].tolist() == ["8", "8"]
    assert list(found.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.test_accuracy >= 0.9", ["rf-3", "rf-2"]),
        ("metrics.test_accuracy != 0.7", ["rf-3", "rf-2", "rf-1"]),
        ("metrics.test_accuracy < 0.8 AND tags.team = 'a'", ["rf-0"]),
        ("params.max_depth IN ('4', '12')", ["rf-3", "rf-0"]),
        ("params.max_depth NOT IN ('8')", ["rf-3", "rf-0"]),
        ("tags.`mlflow.runName` LIKE 'rf-%'", ["rf-3", "rf-2", "rf-1", "rf-0"]),
        ("tags.\"mlflow.runName\" ILIKE 'RF-1'", ["rf-1"]),
        ("attributes.run_name = 'rf-2'", ["rf-2"]),
        ("attributes.status = 'FINISHED' and metrics.missing > 0", []),
        ("params.missing IS NULL and tags.team = 'b'", ["rf-3", "rf-1"]),
        ("params.max_depth IS NOT NULL and metrics.test_accuracy > 0.9", ["rf-3"]),
        ("metric.test_accuracy > 0.9", ["rf-3"]),
        ("", ["rf-3", "rf-2", "rf-1", "rf-0"]),  # default order: newest first
    ],
)
def test_filters(searched, filter_string, expected):
    assert names(tracking.search_runs(filter_string=filter_string)) == expected


def test_order_and_limits(searched):
    by_depth = tracking.search_runs(order_by=["params.max_depth DESC", "metrics.test_accuracy ASC"])
    assert names(by_depth) == ["rf-1", "rf-2", "rf-0", "rf-3"]  # params compare as strings, as in MLflow
    assert names(tracking.search_runs(order_by=["metrics.test_accuracy DESC"], max_results=2)) == ["rf-3", "rf-2"]
    runs = tracking.search_runs(output_format="list", filter_string="tags.team = 'a'")
    assert sorted(r.info.run_name for r in runs) == ["rf-0", "rf-2"]
    client = tracking.Client(searched)
    client.delete_run(runs[0].info.run_id)
    assert len(tracking.search_runs()) == 3
    assert len(tracking.search_runs(run_view_type="DELETED_ONLY")) == 1
    assert len(tracking.search_runs(run_view_type="ALL")) == 4


@pytest.mark.parametrize(
    ("filter_string", "named"),
    [
        ("metrics.acc > 'x'", "number"),
        ("foo.bar = 1", "prefix"),
        ("metrics.acc > 1 OR metrics.b > 2", "OR"),
        ("params.x = 8", "quoted string"),
        ("metrics.acc >", "value"),
        ("attributes.nope = 'x'", "attribute"),
        ("params.a = 'x' params.b = 'y'", "AND"),
        ("params.a LIKE", "value"),
        ("tags.t = 'unterminated", "unexpected"),
        ("metrics.acc LIKE 1", "numbers"),
    ],
)
def test_bad_filters_say_where_and_why(searched, filter_string, named):
    with pytest.raises(catalog.InvalidRequest) as refused:
        tracking.search_runs(filter_string=filter_string)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "at character" in refused.value.message and named in refused.value.message


@pytest.mark.parametrize(
    "filter_string",
    ["params.max_depth = '8'') OR 1=1 --'", "tags.`team; DROP TABLE meta.runs` = 'a'", "tags.team = 'a'';'"],
)
def test_keys_and_values_are_bound_not_executed(searched, filter_string):
    assert len(tracking.search_runs(filter_string=filter_string)) == 0
    assert len(tracking.search_runs()) == 4  # nothing was dropped


def test_search_needs_read_access_to_every_experiment(searched, world):
    experiment = tracking.get_experiment_by_name("/Shared/churn").experiment_id
    with pytest.raises(catalog.PermissionDenied):
        tracking.Client(world["bob"]).search_runs([experiment])
    assert len(tracking.Client(world["admin"]).search_runs([experiment])) == 4
