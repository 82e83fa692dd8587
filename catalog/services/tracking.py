"""Experiment tracking services: experiments, runs, their params, metrics, tags and artifacts.

Experiments belong to whoever creates them. Until permission levels on experiments arrive
(CAN READ / CAN EDIT / CAN MANAGE, through the casbin model), the owner (a user, or a group the
user belongs to) and metastore admins may read and write an experiment and its runs; anyone
else is refused, and the refusal is audited like every other.
"""

from __future__ import annotations

import numbers
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from catalog.errors import AlreadyExists, InvalidRequest, NotFound, PermissionDenied
from catalog.services.context import Context
from catalog.tracking import artifacts, search
from catalog.tracking.store import DatasetInput, Experiment, Metric, Run, RunInfo, TrackingStore

ACTIVE, DELETED = "active", "deleted"
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
MAX_NAME = 500
MAX_PARAM_VALUE = 6000  # MLflow's limit
MAX_TAG_VALUE = 8000


def now_ms() -> int:
    return int(time.time() * 1000)


def _store(ctx: Context) -> TrackingStore:
    return TrackingStore(ctx.cursor)


def _require(ctx: Context, experiment: Experiment, what: str) -> None:
    if ctx.is_admin() or experiment.owner in ctx.authz.index.principals_of(ctx.principal):
        ctx.touched.append(f"experiment:{experiment.name}")
        return
    raise PermissionDenied(
        f"User {ctx.principal} may not {what} experiment '{experiment.name}' (owner {experiment.owner}). "
        "Ask its owner or a metastore admin.",
    )


# -- experiments ---------------------------------------------------------------------------------
def create_experiment(ctx: Context, home: Path, name: str, tags: Mapping[str, str] | None = None) -> Experiment:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise InvalidRequest(
            f"Experiment name {name!r} must be a non-empty string of at most {MAX_NAME} characters, "
            "e.g. '/Shared/churn'."
        )
    store = _store(ctx)
    if store.experiment(name=name) is not None:
        raise AlreadyExists(f"Experiment '{name}' already exists.", error_code="RESOURCE_ALREADY_EXISTS")
    experiment_id = store.next_experiment_id()
    when = now_ms()
    experiment = Experiment(
        experiment_id=experiment_id,
        name=name,
        artifact_location=(home / artifacts.ARTIFACTS_DIR / experiment_id).resolve().as_uri(),
        lifecycle_stage=ACTIVE,
        owner=ctx.principal,
        creation_time=when,
        last_update_time=when,
        tags={str(k): str(v) for k, v in (tags or {}).items()},
    )
    store.insert_experiment(experiment)
    ctx.touched.append(f"experiment:{name}")
    return experiment


def get_experiment(ctx: Context, *, experiment_id: str | None = None, name: str | None = None) -> Experiment:
    found = _store(ctx).experiment(experiment_id=experiment_id, name=name)
    if found is None:
        what = f"id {experiment_id}" if experiment_id is not None else f"'{name}'"
        raise NotFound(f"Experiment {what} does not exist.", error_code="RESOURCE_DOES_NOT_EXIST")
    _require(ctx, found, "read")
    return found


def find_experiment(ctx: Context, name: str) -> Experiment | None:
    """The experiment called ``name``, or None when there is none (MLflow's get_experiment_by_name)."""
    found = _store(ctx).experiment(name=name)
    if found is not None:
        _require(ctx, found, "read")
    return found


def delete_experiment(ctx: Context, experiment_id: str) -> None:
    experiment = get_experiment(ctx, experiment_id=experiment_id)
    _require(ctx, experiment, "delete")
    _store(ctx).set_experiment_stage(experiment_id, DELETED, now_ms())
    _store(ctx).set_experiment_runs_stage(experiment_id, DELETED)  # as MLflow: its runs go with it


# -- runs ----------------------------------------------------------------------------------------
def create_run(
    ctx: Context,
    home: Path,
    experiment_id: str,
    *,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
    start_time: int | None = None,
) -> Run:
    experiment = get_experiment(ctx, experiment_id=experiment_id)
    if experiment.lifecycle_stage != ACTIVE:
        raise InvalidRequest(
            f"Experiment '{experiment.name}' is deleted; restore it or use another.", error_code="INVALID_STATE"
        )
    _require(ctx, experiment, "write to")
    if parent_run_id is not None:
        get_run_info(ctx, parent_run_id)
    run_id = uuid.uuid4().hex
    name = run_name or f"run-{run_id[:8]}"
    info = RunInfo(
        run_id=run_id,
        run_name=name,
        experiment_id=experiment_id,
        user_id=ctx.principal,
        status="RUNNING",
        start_time=start_time or now_ms(),
        end_time=None,
        artifact_uri=artifacts.artifact_uri(home, experiment_id, run_id),
        lifecycle_stage=ACTIVE,
    )
    store = _store(ctx)
    store.insert_run(info, parent_run_id)
    all_tags = {
        "mlflow.runName": name,
        "mlflow.user": ctx.principal,
        **{str(k): str(v) for k, v in (tags or {}).items()},
    }
    if parent_run_id is not None:
        all_tags["mlflow.parentRunId"] = parent_run_id
    _check_tags(all_tags)
    store.set_tags(run_id, all_tags)
    return store.runs([run_id])[0]


def get_run_info(ctx: Context, run_id: str, *, write: bool = False) -> RunInfo:
    found = _store(ctx).run_and_experiment(str(run_id))
    if found is None:
        raise NotFound(f"Run '{run_id}' does not exist.", error_code="RESOURCE_DOES_NOT_EXIST")
    info, experiment = found
    _require(ctx, experiment, "write to" if write else "read")
    ctx.touched.append(f"run:{run_id}")
    return info


def get_run(ctx: Context, run_id: str) -> Run:
    get_run_info(ctx, run_id)
    return _store(ctx).runs([run_id])[0]


def runs(ctx: Context, run_ids: Sequence[str]) -> list[Run]:
    return _store(ctx).runs(run_ids)


def _writable(ctx: Context, run_id: str) -> RunInfo:
    info = get_run_info(ctx, run_id, write=True)
    if info.lifecycle_stage != ACTIVE:
        raise InvalidRequest(f"Run '{run_id}' is deleted; restore it before logging to it.", error_code="INVALID_STATE")
    return info


def log_batch(
    ctx: Context,
    run_id: str,
    *,
    metrics: Sequence[Metric] = (),
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, object] | None = None,
) -> None:
    """Params, metrics and tags in one go (MLflow's log_batch); params may not change value."""
    _writable(ctx, run_id)
    store = _store(ctx)
    if params:
        values = {str(k): _text(v) for k, v in params.items()}
        for key, value in values.items():
            _check_key(key, "param")
            if len(value) > MAX_PARAM_VALUE:
                raise InvalidRequest(f"Param '{key}' is longer than {MAX_PARAM_VALUE} characters.")
        existing = store.params(run_id)
        changed = {k: (existing[k], v) for k, v in values.items() if k in existing and existing[k] != v}
        if changed:
            key, (old, new) = next(iter(changed.items()))
            raise InvalidRequest(
                f"Param '{key}' of run {run_id} was already logged as {old!r}; params cannot change "
                f"(tried {new!r}). Log it under another key or start a new run.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        store.insert_params(run_id, {k: v for k, v in values.items() if k not in existing})
    for metric in metrics:
        _check_key(metric.key, "metric")
        if isinstance(metric.value, bool) or not isinstance(metric.value, numbers.Real):  # numpy too
            raise InvalidRequest(f"Metric '{metric.key}' must be a number, not {metric.value!r}.")
    if metrics:
        store.insert_metrics(run_id, [Metric(m.key, float(m.value), int(m.timestamp), int(m.step)) for m in metrics])
    if tags:
        values = {str(k): _text(v) for k, v in tags.items()}
        _check_tags(values)
        store.set_tags(run_id, values)


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _check_key(key: str, what: str) -> None:
    if not key or len(key) > 250 or key.startswith("/") or ".." in key.split("/"):
        raise InvalidRequest(
            f"{what.capitalize()} name {key!r} is not valid: use 1 to 250 characters, no leading '/', no '..'."
        )
    if any(not (c.isalnum() or c in "_-. /:") for c in key):
        raise InvalidRequest(
            f"{what.capitalize()} name {key!r} may contain only letters, digits, '_', '-', '.', ' ', '/' and ':'."
        )


def _check_tags(tags: Mapping[str, str]) -> None:
    for key, value in tags.items():
        _check_key(key, "tag")
        if len(value) > MAX_TAG_VALUE:
            raise InvalidRequest(f"Tag '{key}' is longer than {MAX_TAG_VALUE} characters.")


def delete_tag(ctx: Context, run_id: str, key: str) -> None:
    _writable(ctx, run_id)
    if not _store(ctx).delete_tag(run_id, key):
        raise NotFound(f"Run '{run_id}' has no tag '{key}'.", error_code="RESOURCE_DOES_NOT_EXIST")


def update_run(
    ctx: Context, run_id: str, *, status: str | None = None, end_time: int | None = None, run_name: str | None = None
) -> RunInfo:
    _writable(ctx, run_id)
    if status is not None and status not in RUN_STATUSES:
        raise InvalidRequest(f"Run status must be one of {', '.join(RUN_STATUSES)}, not {status!r}.")
    if status in ("FINISHED", "FAILED", "KILLED") and end_time is None:
        end_time = now_ms()
    store = _store(ctx)
    store.update_run(run_id, status=status, end_time=end_time, run_name=run_name)
    if run_name is not None:
        store.set_tags(run_id, {"mlflow.runName": run_name})
    return store.run_info(run_id)


def set_run_stage(ctx: Context, run_id: str, stage: str) -> None:
    """delete_run / restore_run (soft: the run's rows and artifacts stay)."""
    get_run_info(ctx, run_id, write=True)
    _store(ctx).update_run(run_id, lifecycle_stage=stage)


def log_inputs(ctx: Context, run_id: str, inputs: Sequence[DatasetInput]) -> None:
    _writable(ctx, run_id)
    _store(ctx).insert_inputs(run_id, inputs, now_ms())


def search_runs(
    ctx: Context,
    experiment_ids: Sequence[str],
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    run_view: str = "ACTIVE_ONLY",
    page_token: str | None = None,
) -> tuple[list[Run], str | None]:
    """Runs of ``experiment_ids`` matching MLflow's filter grammar, in ``order_by`` order, one
    page of them, and the token of the next page (None after the last)."""
    ids = [str(i) for i in experiment_ids]
    for experiment_id in ids:
        get_experiment(ctx, experiment_id=experiment_id)
    compiled = search.compile_search(
        ids,
        filter_string or "",
        order_by=order_by,
        max_results=max_results,
        run_view=run_view,
        page_token=page_token,
    )
    page = compiled.run(ctx.cursor)
    return _store(ctx).runs(page.run_ids), page.next_page_token


def metric_history(ctx: Context, run_id: str, key: str) -> list[Metric]:
    get_run_info(ctx, run_id)
    return _store(ctx).metric_history(run_id, key)


# -- artifacts -----------------------------------------------------------------------------------
def artifact_root(ctx: Context, home: Path, run_id: str, *, write: bool) -> Path:
    info = _writable(ctx, run_id) if write else get_run_info(ctx, run_id)
    return artifacts.run_root(home, info.experiment_id, info.run_id)
