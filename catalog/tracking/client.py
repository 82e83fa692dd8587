"""``Client``: experiment tracking calls on one catalog connection, named as MLflow's client.

Every call is one audited request through the engine (``Session.run``), authorized for the
connection's user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.api import Catalog
from catalog.calls import call, embedded_connection
from catalog.lineage import capture
from catalog.services import tracking as service
from catalog.services.context import Context
from catalog.tracking import artifacts
from catalog.tracking.artifacts import FileInfo
from catalog.tracking.datasets import frame_digest
from catalog.tracking.registry_client import RegistryMethods
from catalog.tracking.store import DatasetInput, Experiment, Metric, Run, RunInfo, TrackingStore, now_ms

if TYPE_CHECKING:
    import pandas as pd


class PagedList(list):
    """A page of results; ``token`` fetches the next page (None after the last)."""

    def __init__(self, items: Sequence, token: str | None) -> None:
        super().__init__(items)
        self.token = token


class Client(RegistryMethods):
    """MLflow's ``MlflowClient`` over a catalog connection (``catalog.connect``'s result)."""

    def __init__(self, cat: Catalog | None = None) -> None:
        self.cat = embedded_connection(cat, "Tracking")
        self._home: Path = self.cat.home

    def _call(self, action: str, work, *, writes: bool, lineage: str | None = None, **params: Any):
        return call(self.cat, action, work, writes=writes, lineage=lineage, **params)

    # -- experiments -------------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> str:
        def work(ctx: Context) -> str:
            return service.create_experiment(ctx, self._home, name, tags).experiment_id

        return self._call("createExperiment", work, writes=True, name=name)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._call(
            "getExperiment",
            lambda ctx: service.get_experiment(ctx, experiment_id=str(experiment_id)),
            writes=False,
            experiment_id=experiment_id,
        )

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._call(
            "getExperimentByName", lambda ctx: service.find_experiment(ctx, name), writes=False, name=name
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self._call(
            "deleteExperiment",
            lambda ctx: service.delete_experiment(ctx, str(experiment_id)),
            writes=True,
            experiment_id=experiment_id,
        )

    # -- runs --------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        run_name: str | None = None,
        *,
        parent_run_id: str | None = None,
    ) -> Run:
        def work(ctx: Context) -> Run:
            return service.create_run(
                ctx,
                self._home,
                str(experiment_id),
                run_name=run_name,
                tags=tags,
                parent_run_id=parent_run_id,
                start_time=start_time,
            )

        return self._call("createRun", work, writes=True, experiment_id=experiment_id, run_name=run_name)

    def get_run(self, run_id: str) -> Run:
        return self._call("getRun", lambda ctx: service.get_run(ctx, run_id), writes=False, run_id=run_id)

    def log_param(self, run_id: str, key: str, value: object) -> object:
        self.log_batch(run_id, params={key: value})
        return value

    def log_metric(
        self, run_id: str, key: str, value: float, timestamp: int | None = None, step: int | None = None
    ) -> None:
        self.log_batch(run_id, metrics=[Metric(key, value, timestamp or now_ms(), step or 0)])

    def set_tag(self, run_id: str, key: str, value: object) -> None:
        self.log_batch(run_id, tags={key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._call("deleteTag", lambda ctx: service.delete_tag(ctx, run_id, key), writes=True, run_id=run_id, key=key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> None:
        def work(ctx: Context) -> None:
            service.log_batch(ctx, run_id, metrics=metrics, params=params, tags=tags)

        self._call(
            "logBatch",
            work,
            writes=True,
            run_id=run_id,
            metrics=len(metrics) or None,
            params=len(params) if params else None,
            tags=len(tags) if tags else None,
        )

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self._call("logInputs", lambda ctx: service.log_inputs(ctx, run_id, datasets), writes=True, run_id=run_id)

    def log_frame_inputs(self, run_id: str, frame: pd.DataFrame, context: str = "training") -> list[DatasetInput]:
        """Record the catalog tables ``frame`` came from as inputs of the run, with the frame's
        digest and row count; return what was recorded.

        ``read_table`` marks its result with the table's name, and pandas keeps the mark through
        most operations (``catalog.lineage.capture.frame_sources``); tables the caller cannot see,
        and tables the run already lists as inputs (read while it was active), are left out."""
        digest, rows = frame_digest(frame), len(frame)

        def work(ctx: Context) -> list[DatasetInput]:
            service.get_run_info(ctx, run_id, write=True)
            listed = {dataset.name for dataset in TrackingStore(ctx.cursor).inputs(run_id)}
            names = dict.fromkeys(str(s.full_name) for s in capture.frame_sources(ctx, frame))
            found = [DatasetInput(name, digest, rows, context) for name in names if name not in listed]
            if found:
                service.log_inputs(ctx, run_id, found)
            return found

        return self._call("logInputs", work, writes=True, run_id=run_id)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: str = "ACTIVE_ONLY",
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Runs matching MLflow's filter grammar (``catalog.tracking.search``): a list with a
        ``token`` attribute for the next page, as MLflow's PagedList."""

        def work(ctx: Context) -> PagedList:
            runs, token = service.search_runs(
                ctx,
                experiment_ids,
                filter_string=filter_string,
                order_by=order_by,
                max_results=max_results,
                run_view=run_view_type,
                page_token=page_token,
            )
            return PagedList(runs, token)

        return self._call("searchRuns", work, writes=False, filter=filter_string or None)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._call(
            "getMetricHistory", lambda ctx: service.metric_history(ctx, run_id, key), writes=False, run_id=run_id
        )

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> RunInfo:
        return self._call(
            "updateRun",
            lambda ctx: service.update_run(ctx, run_id, status=status, run_name=name),
            writes=True,
            run_id=run_id,
            status=status,
        )

    def set_terminated(self, run_id: str, status: str = "FINISHED", end_time: int | None = None) -> RunInfo:
        return self._call(
            "updateRun",
            lambda ctx: service.update_run(ctx, run_id, status=status, end_time=end_time),
            writes=True,
            run_id=run_id,
            status=status,
        )

    def delete_run(self, run_id: str) -> None:
        self._call(
            "deleteRun", lambda ctx: service.set_run_stage(ctx, run_id, service.DELETED), writes=True, run_id=run_id
        )

    def restore_run(self, run_id: str) -> None:
        self._call(
            "restoreRun", lambda ctx: service.set_run_stage(ctx, run_id, service.ACTIVE), writes=True, run_id=run_id
        )

    # -- artifacts ---------------------------------------------------------------------------
    def _root(self, ctx: Context, run_id: str, *, write: bool) -> Path:
        return service.artifact_root(ctx, self._home, run_id, write=write)

    def log_artifact(self, run_id: str, local_path: str | Path, artifact_path: str | None = None) -> str:
        def work(ctx: Context) -> str:
            return artifacts.store_file(self._root(ctx, run_id, write=True), Path(local_path), artifact_path)

        return self._call("logArtifact", work, writes=True, run_id=run_id, path=artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | Path, artifact_path: str | None = None) -> list[str]:
        def work(ctx: Context) -> list[str]:
            return artifacts.store_tree(self._root(ctx, run_id, write=True), Path(local_dir), artifact_path)

        return self._call("logArtifacts", work, writes=True, run_id=run_id, path=artifact_path)

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> str:
        def work(ctx: Context) -> str:
            return artifacts.store_bytes(self._root(ctx, run_id, write=True), data, artifact_file)

        return self._call("logArtifact", work, writes=True, run_id=run_id, path=artifact_file)

    def logged_model_path(self, run_id: str, artifact_path: str) -> Path:
        """The folder of a model logged to a run, to load in place (needs read access to the
        run's experiment; audited as ``loadModel``)."""

        def work(ctx: Context) -> Path:
            return artifacts.resolve_inside(self._root(ctx, run_id, write=False), artifact_path or None)

        return self._call("loadModel", work, writes=False, run_id=run_id, path=artifact_path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self._call(
            "listArtifacts",
            lambda ctx: artifacts.list_files(self._root(ctx, run_id, write=False), path),
            writes=False,
            run_id=run_id,
            path=path,
        )

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | Path | None = None) -> str:
        """Copy an artifact (file or folder) of the run into ``dst_path`` (a new temporary folder
        by default); needs read access to the run's experiment."""
        import tempfile

        destination = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="catalog-artifacts-"))

        def work(ctx: Context) -> str:
            return str(artifacts.copy_out(self._root(ctx, run_id, write=False), path or None, destination))

        return self._call("downloadArtifacts", work, writes=False, run_id=run_id, path=path)
