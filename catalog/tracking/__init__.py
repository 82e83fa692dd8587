"""Experiment tracking with MLflow's names: experiments, runs, params, metrics, tags, artifacts.

    from catalog import tracking
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run(run_name="rf-baseline") as run:
        tracking.log_param("max_depth", 8)
        tracking.log_metric("test_accuracy", 0.91)

``autolog()`` logs scikit-learn fits by themselves (:mod:`catalog.tracking.autolog`).

The module-level functions act on the connection ``catalog.connect`` opened most recently in
this process (or one opened from ``$CATALOG_HOME`` / ``$CATALOG_USER``), and on the active run
of the calling thread. ``Client(cat)`` takes a connection explicitly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from catalog.errors import InvalidRequest, NotFound
from catalog.registry.entities import ModelVersion
from catalog.tracking.autolog import autolog
from catalog.tracking.client import Client, now_ms
from catalog.tracking.datasets import frame_digest
from catalog.tracking.reproducibility import source_tags
from catalog.tracking.store import RUN_STATUSES, DatasetInput, Experiment, Metric, Run, RunData, RunInfo

__all__ = [
    "ActiveRun",
    "Client",
    "DatasetInput",
    "Experiment",
    "Metric",
    "Run",
    "RunData",
    "RunInfo",
    "active_run",
    "autolog",
    "end_run",
    "get_experiment_by_name",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
]


class _State(threading.local):
    def __init__(self) -> None:
        self.experiment_id: str | None = None
        self.runs: list[ActiveRun] = []


_state = _State()


def _client() -> Client:
    """A client on the latest ``catalog.connect`` (else a new one from the environment)."""
    return Client()


class ActiveRun:
    """The run ``start_run`` began; a context manager that ends it (FINISHED, or FAILED when
    the block raises). ``.info`` and ``.data`` as on a Run."""

    def __init__(self, client: Client, run: Run) -> None:
        self.client = client
        self._run = run
        self._listener = self._record_read
        client.cat.read_listeners.append(self._listener)

    @property
    def info(self) -> RunInfo:
        return self._run.info

    @property
    def data(self) -> RunData:
        return self.client.get_run(self.info.run_id).data

    def _record_read(self, name: str, frame) -> None:
        """read_table while this run is active: the table becomes one of the run's inputs."""
        self.client.log_inputs(self.info.run_id, [DatasetInput(name, frame_digest(frame), len(frame), "training")])

    def end(self, status: str = "FINISHED") -> None:
        if self._listener in self.client.cat.read_listeners:
            self.client.cat.read_listeners.remove(self._listener)
        self.client.set_terminated(self.info.run_id, status)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # end_run() inside the block may have ended this run already; then the run below it
        # (a nested run's parent) must stay active, as in MLflow.
        if any(active is self for active in _state.runs):
            end_run("FAILED" if exc_type is not None else "FINISHED")


# -- experiments ---------------------------------------------------------------------------------
def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment the active one, creating it by name if it does not exist (as MLflow)."""
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
    elif experiment_name is not None:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            experiment = client.get_experiment(client.create_experiment(experiment_name))
    else:
        raise InvalidRequest("set_experiment needs experiment_name or experiment_id.")
    if experiment.lifecycle_stage != "active":
        raise InvalidRequest(
            f"Experiment '{experiment.name}' is deleted and cannot be the active experiment; use another.",
            error_code="INVALID_STATE",
        )
    _state.experiment_id = experiment.experiment_id
    return experiment


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


# -- runs ----------------------------------------------------------------------------------------
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, str] | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it the active run of this thread.

    The run records its source without being asked: entry point, git commit and dirty flag,
    Python and package versions (tags ``mlflow.source.*``, ``catalog.*``)."""
    client = _client()
    if _state.runs and not nested:
        raise InvalidRequest(
            f"Run {_state.runs[-1].info.run_id} is already active; end it with end_run(), or pass "
            "nested=True to start a child run.",
            error_code="INVALID_STATE",
        )
    if run_id is not None:
        client.update_run(run_id, status="RUNNING")
        if tags:
            client.log_batch(run_id, tags=tags)
        run = client.get_run(run_id)
    else:
        experiment = experiment_id or _state.experiment_id or _default_experiment(client)
        parent = _state.runs[-1].info.run_id if _state.runs else None
        run = client.create_run(
            experiment,
            run_name=run_name,
            tags={**source_tags(), **(tags or {})},
            parent_run_id=parent,
        )
    active = ActiveRun(client, run)
    _state.runs.append(active)
    return active


def _default_experiment(client: Client) -> str:
    found = client.get_experiment_by_name("Default")
    return found.experiment_id if found is not None else client.create_experiment("Default")


def active_run() -> ActiveRun | None:
    return _state.runs[-1] if _state.runs else None


def end_run(status: str = "FINISHED") -> None:
    if status not in RUN_STATUSES:  # checked before the run leaves the stack, so it stays active
        raise InvalidRequest(f"Run status must be one of {', '.join(RUN_STATUSES)}, not {status!r}.")
    if _state.runs:
        _state.runs.pop().end(status)


def _run() -> ActiveRun:
    return active_run() or start_run()


def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: str = "ACTIVE_ONLY",
    max_results: int = 1000,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    experiment_names: list[str] | None = None,
):
    """MLflow's search_runs: a DataFrame with run_id, experiment_id, status, artifact_uri,
    start_time, end_time, ``metrics.*``, ``params.*`` and ``tags.*`` columns (or a list of runs
    with ``output_format="list"``). Without ids or names, the active experiment's runs."""
    client = _client()
    ids = list(experiment_ids or [])
    for name in experiment_names or ():
        found = client.get_experiment_by_name(name)
        if found is None:
            raise NotFound(f"Experiment '{name}' does not exist.", error_code="RESOURCE_DOES_NOT_EXIST")
        ids.append(found.experiment_id)
    if not ids:
        if _state.experiment_id is None:
            raise InvalidRequest("Pass experiment_ids or experiment_names, or call set_experiment first.")
        ids = [_state.experiment_id]
    runs = client.search_runs(ids, filter_string, run_view_type, max_results, order_by)
    if output_format == "list":
        return runs
    if output_format != "pandas":
        raise InvalidRequest(f"output_format must be 'pandas' or 'list', not {output_format!r}.")
    return runs_frame(runs)


def runs_frame(runs: list[Run]):
    """Runs as MLflow's search_runs DataFrame."""
    import pandas as pd

    rows = []
    for run in runs:
        row = {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "status": run.info.status,
            "artifact_uri": run.info.artifact_uri,
            "start_time": pd.to_datetime(run.info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(run.info.end_time, unit="ms", utc=True) if run.info.end_time else pd.NaT,
        }
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    columns = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    frame = pd.DataFrame(rows, columns=None if rows else columns)
    ordered = columns + sorted(c for c in frame.columns if c not in columns)
    return frame[ordered]


def log_param(key: str, value: object) -> object:
    run = _run()
    run.client.log_param(run.info.run_id, key, value)
    return value


def log_params(params: Mapping[str, object]) -> None:
    run = _run()
    run.client.log_batch(run.info.run_id, params=params)


def log_metric(key: str, value: float, step: int | None = None, timestamp: int | None = None) -> None:
    run = _run()
    run.client.log_metric(run.info.run_id, key, value, timestamp=timestamp, step=step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None) -> None:
    run = _run()
    when = timestamp or now_ms()
    points = [Metric(k, v, when, step or 0) for k, v in metrics.items()]
    run.client.log_batch(run.info.run_id, metrics=points)


def set_tag(key: str, value: object) -> None:
    run = _run()
    run.client.set_tag(run.info.run_id, key, value)


def set_tags(tags: Mapping[str, object]) -> None:
    run = _run()
    run.client.log_batch(run.info.run_id, tags=tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> None:
    run = _run()
    run.client.log_artifact(run.info.run_id, local_path, artifact_path)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> None:
    run = _run()
    run.client.log_artifacts(run.info.run_id, local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    run = _run()
    run.client.log_bytes(run.info.run_id, text.encode("utf-8"), artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    """As JSON, or YAML when ``artifact_file`` ends in .yaml/.yml."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        text = yaml.safe_dump(dict(dictionary), sort_keys=False)
    else:
        text = json.dumps(dictionary, indent=2, default=str)
    log_text(text, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    """A matplotlib figure (matplotlib is optional: install it to use this)."""
    import io

    if not hasattr(figure, "savefig"):
        raise InvalidRequest(f"log_figure takes a matplotlib figure, not {type(figure).__name__}.")
    buffer = io.BytesIO()
    suffix = Path(artifact_file).suffix.lstrip(".") or "png"
    figure.savefig(buffer, format=suffix)
    run = _run()
    run.client.log_bytes(run.info.run_id, buffer.getvalue(), artifact_file)


# -- registry ------------------------------------------------------------------------------------
def register_model(model_uri: str, name: str, tags: Mapping[str, str] | None = None) -> ModelVersion:
    """Register a logged model as the next version of ``name`` (``catalog.schema.model``),
    creating the registered model if needed (MLflow's ``mlflow.register_model``).

    ``model_uri`` is ``runs:/<run_id>/<path>`` (what ``catalog.models.log_model`` returns) or a
    registered version ``models:/<name>/<version>``. Needs CREATE MODEL on the schema for a new
    model, ownership or MANAGE to add a version to an existing one."""
    return _client().create_model_version(name, model_uri, tags=tags, create_model=True)
