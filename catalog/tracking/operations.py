"""The tracking operations: experiments, runs, their data and artifacts, logged models.

Each is one audited request (action names as MLflow's REST API and Databricks' audit log have
them), run by :func:`catalog.operations.run` for an embedded connection and by the server for a
remote one; :class:`catalog.tracking.Client` is built on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from catalog.lineage import capture
from catalog.models.transfer import ModelFiles, read_model
from catalog.models.uris import runs_uri
from catalog.operations import operation
from catalog.services import tracking as service
from catalog.services.context import Context
from catalog.tracking import artifacts
from catalog.tracking.artifacts import ArtifactFiles, FileInfo
from catalog.tracking.client import PagedList
from catalog.tracking.store import DatasetInput, Experiment, Metric, Run, RunInfo, TrackingStore

AREA = "tracking"


def home(ctx: Context) -> Path:
    """The catalog home, where artifacts and model versions live (every engine context has one)."""
    assert ctx.home is not None, "an engine context always has its home"
    return ctx.home


# -- experiments ---------------------------------------------------------------------------------
@operation(AREA, "createExperiment", writes=True, audit=("name",))
def create_experiment(ctx: Context, name: str, tags: dict[str, str] | None = None) -> Experiment:
    return service.create_experiment(ctx, home(ctx), name, tags)


@operation(AREA, "getExperiment", writes=False, audit=("experiment_id",))
def get_experiment(ctx: Context, experiment_id: str) -> Experiment:
    return service.get_experiment(ctx, experiment_id=experiment_id)


@operation(AREA, "getExperimentByName", writes=False, audit=("name",))
def get_experiment_by_name(ctx: Context, name: str) -> Experiment | None:
    return service.find_experiment(ctx, name)


@operation(AREA, "searchExperiments", writes=False)
def search_experiments(ctx: Context, max_results: int = 1000) -> list[Experiment]:
    """The active experiments the caller may read, by name."""
    return service.search_experiments(ctx, max_results)


@operation(AREA, "deleteExperiment", writes=True, audit=("experiment_id",))
def delete_experiment(ctx: Context, experiment_id: str) -> None:
    service.delete_experiment(ctx, experiment_id)


# -- runs ----------------------------------------------------------------------------------------
@operation(AREA, "createRun", writes=True, audit=("experiment_id", "run_name"))
def create_run(
    ctx: Context,
    experiment_id: str,
    start_time: int | None = None,
    tags: dict[str, str] | None = None,
    run_name: str | None = None,
    parent_run_id: str | None = None,
) -> Run:
    return service.create_run(
        ctx,
        home(ctx),
        experiment_id,
        run_name=run_name,
        tags=tags,
        parent_run_id=parent_run_id,
        start_time=start_time,
    )


@operation(AREA, "getRun", writes=False, audit=("run_id",))
def get_run(ctx: Context, run_id: str) -> Run:
    return service.get_run(ctx, run_id)


def _batch_sizes(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """logBatch records how many metrics, params and tags it got, not their values."""
    return {
        "run_id": arguments["run_id"],
        **{kind: len(arguments[kind]) or None for kind in ("metrics", "params", "tags") if arguments[kind]},
    }


@operation(AREA, "logBatch", writes=True, audit=_batch_sizes)
def log_batch(
    ctx: Context,
    run_id: str,
    metrics: Sequence[Metric] = (),
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    service.log_batch(ctx, run_id, metrics=metrics, params=params, tags=tags)


@operation(AREA, "deleteTag", writes=True, audit=("run_id", "key"))
def delete_tag(ctx: Context, run_id: str, key: str) -> None:
    service.delete_tag(ctx, run_id, key)


@operation(AREA, "logInputs", writes=True, audit=("run_id",))
def log_inputs(
    ctx: Context, run_id: str, datasets: Sequence[DatasetInput], from_frame: bool = False
) -> list[DatasetInput]:
    """Record datasets as inputs of the run; returns what was recorded.

    ``from_frame``: the datasets name the tables a DataFrame came from (``read_table`` marks
    them): tables the caller cannot see, and tables the run lists already, are left out."""
    if not from_frame:
        service.log_inputs(ctx, run_id, datasets)
        return list(datasets)
    service.get_run_info(ctx, run_id, write=True)
    listed = {dataset.name for dataset in TrackingStore(ctx.cursor).inputs(run_id)}
    found: dict[str, DatasetInput] = {}
    for dataset in datasets:
        for source in capture.named_sources(ctx, [dataset.name]):
            name = str(source.full_name)
            if name not in listed and name not in found:
                found[name] = DatasetInput(name, dataset.digest, dataset.num_rows, dataset.context)
    if found:
        service.log_inputs(ctx, run_id, list(found.values()))
    return list(found.values())


def _search_filter(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {"filter": arguments["filter_string"] or None}


@operation(AREA, "searchRuns", writes=False, audit=_search_filter)
def search_runs(
    ctx: Context,
    experiment_ids: Sequence[str],
    filter_string: str | None = "",
    run_view_type: str = "ACTIVE_ONLY",
    max_results: int = 1000,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> PagedList:
    runs, token = service.search_runs(
        ctx,
        experiment_ids,
        filter_string=filter_string or "",  # null, as JSON clients send "no filter"
        order_by=order_by,
        max_results=max_results,
        run_view=run_view_type,
        page_token=page_token,
    )
    return PagedList(runs, token)


@operation(AREA, "getMetricHistory", writes=False, audit=("run_id",))
def get_metric_history(ctx: Context, run_id: str, key: str) -> list[Metric]:
    return service.metric_history(ctx, run_id, key)


@operation(AREA, "updateRun", writes=True, audit=("run_id", "status"))
def update_run(
    ctx: Context, run_id: str, status: str | None = None, end_time: int | None = None, run_name: str | None = None
) -> RunInfo:
    return service.update_run(ctx, run_id, status=status, end_time=end_time, run_name=run_name)


@operation(AREA, "deleteRun", writes=True, audit=("run_id",))
def delete_run(ctx: Context, run_id: str) -> None:
    service.set_run_stage(ctx, run_id, service.DELETED)


@operation(AREA, "restoreRun", writes=True, audit=("run_id",))
def restore_run(ctx: Context, run_id: str) -> None:
    service.set_run_stage(ctx, run_id, service.ACTIVE)


# -- artifacts -----------------------------------------------------------------------------------
def _root(ctx: Context, run_id: str, *, write: bool) -> Path:
    return service.artifact_root(ctx, home(ctx), run_id, write=write)


@operation(AREA, "logArtifact", writes=True, audit=("run_id", "path"))
def log_artifact(ctx: Context, run_id: str, data: bytes, path: str | None = None, file_name: str | None = None) -> str:
    """Store ``data`` as the artifact file ``path``; with ``file_name``, as the file
    ``file_name`` in the folder ``path`` (the run's folder when None). Returns its path."""
    root = _root(ctx, run_id, write=True)
    if file_name is not None:
        path = str(artifacts.relative(path) / file_name) if path else file_name
    return artifacts.store_bytes(root, data, path or "")


@operation(AREA, "logArtifacts", writes=True, audit=("run_id", "path"))
def log_artifacts(ctx: Context, run_id: str, files: dict[str, bytes], path: str | None = None) -> list[str]:
    """Store every file (path inside the folder ``path`` -> content), all or none."""
    return artifacts.store_files(_root(ctx, run_id, write=True), files, path)


@operation(AREA, "listArtifacts", writes=False, audit=("run_id", "path"))
def list_artifacts(ctx: Context, run_id: str, path: str | None = None) -> list[FileInfo]:
    return artifacts.list_files(_root(ctx, run_id, write=False), path)


@operation(AREA, "downloadArtifacts", writes=False, audit=("run_id", "path"))
def download_artifacts(ctx: Context, run_id: str, path: str = "") -> ArtifactFiles:
    return artifacts.read_out(_root(ctx, run_id, write=False), path or None)


@operation(AREA, "loadModel", writes=False, audit=("run_id", "path"))
def load_model(ctx: Context, run_id: str, path: str = "") -> ModelFiles:
    """The files of a model logged to a run (needs read access to the run's experiment)."""
    folder = artifacts.resolve_inside(_root(ctx, run_id, write=False), path or None)
    return read_model(folder, runs_uri(run_id, path))
