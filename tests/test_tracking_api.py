"""search_runs end to end (grammar, order, pages, authorization) and the system.mlflow tables.

The grammar itself is tested in depth in test_tracking_search.py; the rest of tracking in
test_tracking.py."""

from __future__ import annotations

import pandas as pd
import pytest

import catalog
from catalog import tracking

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client

pytestmark = pytest.mark.usefixtures("tracking_state")


@pytest.fixture
def scientist(world, connect):
    """alice, last connected: the module-level functions act as her."""
    world["admin"].sql("GRANT CREATE TABLE ON SCHEMA main.ml TO analysts")
    return connect("alice")


def audit_rows(admin, action: str) -> pd.DataFrame:
    return admin.sql(
        "SELECT user_identity.email AS who, response.status_code AS status FROM system.access.audit "
        "WHERE action_name = ? ORDER BY event_time",
        [action],
    )


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
        ("params.x = 8", "quote the number"),
        ("metrics.acc >", "value"),
        ("attributes.nope = 'x'", "attribute"),
        ("params.a = 'x' params.b = 'y'", "AND"),
        ("params.a LIKE", "value"),
        ("tags.t = 'unterminated", "quote"),
        ("params.missing IS NULL", "IS"),
        ("metrics.acc LIKE 1", "LIKE does not apply"),
    ],
)
def test_bad_filters_say_where_and_why(searched, filter_string, named):
    with pytest.raises(catalog.InvalidRequest) as refused:
        tracking.search_runs(filter_string=filter_string)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "at column" in refused.value.message and named in refused.value.message


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


# -- system tables ---------------------------------------------------------------------------------
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
