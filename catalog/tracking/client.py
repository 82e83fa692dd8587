"""``Client``: experiment tracking calls on one catalog connection, named as MLflow's client.

Every call is one named operation (:mod:`catalog.tracking.operations`, the registry's in
:mod:`catalog.registry.operations`) run through ``Catalog.invoke``: one authorized, audited
request as the connection's user, on an embedded connection and a remote one alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from catalog import wire
from catalog.api import Catalog
from catalog.connection import connection
from catalog.errors import InvalidRequest, NotFound
from catalog.lineage.capture import SOURCE_ATTR
from catalog.tracking.artifacts import FileInfo
from catalog.tracking.datasets import frame_digest
from catalog.tracking.registry_client import RegistryMethods, strings
from catalog.tracking.store import DatasetInput, Experiment, Metric, Run, RunData, RunInfo, now_ms

if TYPE_CHECKING:
    import pandas as pd

# The tracking store's entities cross the wire as the calls below take and return them.
for _entity in (Experiment, RunInfo, RunData, DatasetInput, Run, Metric):
    wire.register(_entity)


class PagedList(list):
    """A page of results; ``token`` fetches the next page (None after the last)."""

    def __init__(self, items: Sequence, token: str | None) -> None:
        super().__init__(items)
        self.token = token


wire.register_custom(
    PagedList, lambda page: {"items": list(page), "token": page.token}, lambda f: PagedList(f["items"], f["token"])
)


class Client(RegistryMethods):
    """MLflow's ``MlflowClient`` over a catalog connection (``catalog.connect``'s result)."""

    def __init__(self, cat: Catalog | None = None) -> None:
        self.cat = connection(cat)

    # -- experiments -------------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> str:
        return self.cat.invoke("createExperiment", name=name, tags=strings(tags)).experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.cat.invoke("getExperiment", experiment_id=str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.cat.invoke("getExperimentByName", name=name)

    def search_experiments(self, max_results: int = 1000) -> list[Experiment]:
        """The active experiments you may read (CAN READ or more), by name."""
        return self.cat.invoke("searchExperiments", max_results=max_results)

    def delete_experiment(self, experiment_id: str) -> None:
        self.cat.invoke("deleteExperiment", experiment_id=str(experiment_id))

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
        return self.cat.invoke(
            "createRun",
            experiment_id=str(experiment_id),
            start_time=start_time,
            tags=strings(tags),
            run_name=run_name,
            parent_run_id=parent_run_id,
        )

    def get_run(self, run_id: str) -> Run:
        return self.cat.invoke("getRun", run_id=run_id)

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
        self.cat.invoke("deleteTag", run_id=run_id, key=key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> None:
        self.cat.invoke("logBatch", run_id=run_id, metrics=metrics, params=strings(params), tags=strings(tags))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self.cat.invoke("logInputs", run_id=run_id, datasets=datasets)

    def log_frame_inputs(self, run_id: str, frame: pd.DataFrame, context: str = "training") -> list[DatasetInput]:
        """Record the catalog tables ``frame`` came from as inputs of the run, with the frame's
        digest and row count; return what was recorded.

        ``read_table`` marks its result with the table's name, and pandas keeps the mark through
        most operations (``catalog.lineage.capture.frame_sources``); tables the caller cannot see,
        and tables the run already lists as inputs (read while it was active), are left out."""
        names = frame.attrs.get(SOURCE_ATTR) or []
        names = list(dict.fromkeys(str(n) for n in ([names] if isinstance(names, str) else names)))
        digest, rows = (frame_digest(frame), len(frame)) if names else ("", 0)
        datasets = [DatasetInput(name, digest, rows, context) for name in names]
        return self.cat.invoke("logInputs", run_id=run_id, datasets=datasets, from_frame=True)

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
        return self.cat.invoke(
            "searchRuns",
            experiment_ids=[str(i) for i in experiment_ids],
            filter_string=filter_string,
            run_view_type=run_view_type,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self.cat.invoke("getMetricHistory", run_id=run_id, key=key)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> RunInfo:
        return self.cat.invoke("updateRun", run_id=run_id, status=status, run_name=name)

    def set_terminated(self, run_id: str, status: str = "FINISHED", end_time: int | None = None) -> RunInfo:
        return self.cat.invoke("updateRun", run_id=run_id, status=status, end_time=end_time)

    def delete_run(self, run_id: str) -> None:
        self.cat.invoke("deleteRun", run_id=run_id)

    def restore_run(self, run_id: str) -> None:
        self.cat.invoke("restoreRun", run_id=run_id)

    # -- artifacts ---------------------------------------------------------------------------
    def log_artifact(self, run_id: str, local_path: str | Path, artifact_path: str | None = None) -> str:
        """Upload a local file into the run's folder ``artifact_path`` (the run's root when None)."""
        local_file = Path(local_path)
        if not local_file.is_file():
            raise NotFound(
                f"Local file '{local_file}' does not exist or is not a file.", error_code="RESOURCE_DOES_NOT_EXIST"
            )
        return self.cat.invoke(
            "logArtifact", run_id=run_id, data=local_file.read_bytes(), path=artifact_path, file_name=local_file.name
        )

    def log_artifacts(self, run_id: str, local_dir: str | Path, artifact_path: str | None = None) -> list[str]:
        """Upload every file under a local folder (links are refused), in one request: all or none."""
        folder = Path(local_dir)
        if not folder.is_dir():
            raise NotFound(f"Local folder '{folder}' does not exist.", error_code="RESOURCE_DOES_NOT_EXIST")
        files = {}
        for path in sorted(folder.rglob("*")):
            if path.is_symlink():
                raise InvalidRequest(f"'{path}' is a symbolic link; log the file itself.", error_code="INVALID_PATH")
            if path.is_file():
                files[path.relative_to(folder).as_posix()] = path.read_bytes()
        return self.cat.invoke("logArtifacts", run_id=run_id, files=files, path=artifact_path)

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> str:
        return self.cat.invoke("logArtifact", run_id=run_id, data=data, path=artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self.cat.invoke("listArtifacts", run_id=run_id, path=path)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | Path | None = None) -> str:
        """Copy an artifact (file or folder) of the run into ``dst_path`` (a new temporary folder
        by default); needs read access to the run's experiment. Returns the copy's path."""
        import tempfile

        found = self.cat.invoke("downloadArtifacts", run_id=run_id, path=path)
        destination = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="catalog-artifacts-"))
        target = _inside(destination, found.name)
        if not found.is_dir:
            destination.mkdir(parents=True, exist_ok=True)
            target.write_bytes(found.files[found.name])
            return str(target)
        target.mkdir(parents=True, exist_ok=True)
        for name, data in found.files.items():
            file = _inside(target, name)
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(data)
        return str(target)


def _inside(folder: Path, name: str) -> Path:
    """``folder / name`` for a path the catalog sent, refused when it would leave ``folder``."""
    from catalog.tracking.artifacts import relative

    pure = relative(name)
    if pure == PurePosixPath():
        raise InvalidRequest(f"The catalog sent the artifact path {name!r}.", error_code="INVALID_PATH")
    return folder.joinpath(*pure.parts)
