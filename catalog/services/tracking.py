"""Experiment tracking services: experiments, runs, their params, metrics, tags and artifacts.

An experiment is a securable (type EXPERIMENT, under the metastore, named by its path): its
securables row, made with it in one transaction, holds its owner and carries its grants. Every
call asks the authorizer for the experiment's permission level it needs, as Databricks does:

- CAN READ: read the experiment, its runs, metrics and artifacts, search its runs;
- CAN EDIT: create runs, log params, metrics, tags, inputs and artifacts, delete and restore runs;
- CAN MANAGE: delete the experiment, grant and revoke on it, change its owner.

Each level includes the ones before it; the owner (a user, or a group the user belongs to) and
metastore admins hold all three. A refusal is an AccessDenied naming the GRANT to ask for, and
is audited with its decision like every other.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from catalog.errors import AlreadyExists, InvalidRequest, NotFound
from catalog.securables import Securable, SecurableType
from catalog.services.context import Context
from catalog.tracking import artifacts, search
from catalog.tracking.store import (
    MAX_PARAM_VALUE,
    MAX_TAG_VALUE,
    RUN_DATA,
    RUN_STATUSES,
    DatasetInput,
    Experiment,
    Metric,
    Run,
    RunData,
    RunInfo,
    TrackingStore,
    now_ms,
    runs_from_rows,
)

ACTIVE, DELETED = "active", "deleted"
MAX_NAME = 500


def _store(ctx: Context) -> TrackingStore:
    return TrackingStore(ctx.cursor)


def _authorize(ctx: Context, experiment: Experiment, action: str) -> Securable:
    """Require ``action`` (read_experiment, edit_experiment, manage) on the experiment's securable."""
    securable = ctx.lookup_experiment(experiment.name)
    ctx.require(action, securable)
    return securable


class _Known:
    """Facts of a home that never change once committed, so that run calls and searches find
    the securable carrying an experiment's grants without a query: the name of an experiment id
    and the experiment of a run id. There is no rename, no move and no hard delete (deleting is
    a stage). A fact enters only after the transaction that read or wrote it has committed, so
    nothing rolled back (an experiment whose id then goes to another) is remembered.

    Facts are kept per metastore id and shared by every connection of the process (the server
    opens one per request). A copy of a home shares its metastore id but may give an id to
    another experiment afterwards: an experiment's name is used only while the home's snapshot
    still holds, under that name, the securable it was remembered with."""

    MAX_ENTRIES = 100_000  # past this, a kind of fact is forgotten whole (and read again)

    def __init__(self) -> None:
        self.experiments: dict[tuple[str, str], tuple[str, str]] = {}  # -> (name, securable id)
        self.runs: dict[tuple[str, str], str] = {}  # -> experiment id

    def experiment(self, ctx: Context, experiment_id: str) -> Securable | None:
        found = self.experiments.get((ctx.snapshot.metastore.id, experiment_id))
        if found is None:
            return None
        securable = ctx.snapshot.experiment(found[0])
        return securable if securable is not None and securable.id == found[1] else None

    def run(self, ctx: Context, run_id: str) -> str | None:
        return self.runs.get((ctx.snapshot.metastore.id, run_id))

    def remember_experiment(self, ctx: Context, experiment_id: str, securable: Securable) -> None:
        assert securable.path is not None, "an experiment's securable has its path"
        key, fact = (ctx.snapshot.metastore.id, experiment_id), (securable.path, securable.id)
        ctx.after_commit.append(functools.partial(self._enter, self.experiments, key, fact))

    def remember_run(self, ctx: Context, run_id: str, experiment_id: str) -> None:
        key = (ctx.snapshot.metastore.id, run_id)
        if key not in self.runs:
            ctx.after_commit.append(functools.partial(self._enter, self.runs, key, experiment_id))

    def _enter(self, facts: dict, key: tuple[str, str], fact: object) -> None:
        if len(facts) >= self.MAX_ENTRIES:
            facts.clear()
        facts[key] = fact


_KNOWN = _Known()


def _authorize_experiment(ctx: Context, experiment_id: str, action: str) -> None:
    """Require ``action`` on the experiment with this id (NotFound when there is none)."""
    securable = _KNOWN.experiment(ctx, experiment_id)
    if securable is None:
        name = _store(ctx).experiment_name(experiment_id)
        if name is None:
            raise NotFound(f"Experiment id {experiment_id} does not exist.", error_code="RESOURCE_DOES_NOT_EXIST")
        securable = ctx.lookup_experiment(name)
        _KNOWN.remember_experiment(ctx, experiment_id, securable)
    ctx.require(action, securable)


def _authorized(ctx: Context, experiment: Experiment, action: str) -> Experiment:
    """The experiment, once ``action`` is allowed on it, with the owner its securable holds (the
    securable is where ownership lives; see sql/metastore/0004_experiment_securables.sql)."""
    return dataclasses.replace(experiment, owner=_authorize(ctx, experiment, action).owner)


def _existing(ctx: Context, *, experiment_id: str | None = None, name: str | None = None) -> Experiment:
    found = _store(ctx).experiment(experiment_id=experiment_id, name=name)
    if found is None:
        what = f"id {experiment_id}" if experiment_id is not None else f"'{name}'"
        raise NotFound(f"Experiment {what} does not exist.", error_code="RESOURCE_DOES_NOT_EXIST")
    return found


# -- experiments ---------------------------------------------------------------------------------
def check_experiment_name(name: object) -> str:
    """Refuse names that could not be a securable's path: besides being empty or too long, a
    comma (it separates the fields of a policy line), a backtick (it quotes the path in SQL),
    control characters and whitespace at either end (a policy file's fields are trimmed)."""
    example = "e.g. '/Shared/churn' or '/Users/alice/churn model'"
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise InvalidRequest(
            f"Experiment name {name!r} must be a non-empty string of at most {MAX_NAME} characters, {example}."
        )
    bad = sorted({c for c in name if c in ",`" or unicodedata.category(c) in ("Cc", "Cf")})
    if bad or name != name.strip():
        what = f"contains {', '.join(repr(c) for c in bad)}" if bad else "starts or ends with whitespace"
        raise InvalidRequest(
            f"Experiment name {name!r} {what}. Names may not contain commas, backticks or control "
            f"characters, nor start or end with whitespace ({example}).",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return name


def create_experiment(ctx: Context, home: Path, name: str, tags: Mapping[str, str] | None = None) -> Experiment:
    """Create an experiment owned by the caller, with its securable, in one transaction."""
    check_experiment_name(name)
    store = _store(ctx)
    if store.experiment(name=name) is not None or ctx.snapshot.experiment(name) is not None:
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
    ctx.metastore.insert_securable(SecurableType.EXPERIMENT, None, ctx.snapshot.metastore.id, ctx.principal, path=name)
    ctx.changed()
    ctx.touched.append(f"experiment:{name}")
    return experiment


def get_experiment(ctx: Context, *, experiment_id: str | None = None, name: str | None = None) -> Experiment:
    """The experiment with this id (or name); needs CAN READ."""
    return _authorized(ctx, _existing(ctx, experiment_id=experiment_id, name=name), "read_experiment")


def find_experiment(ctx: Context, name: str) -> Experiment | None:
    """The experiment called ``name``, or None when there is none (MLflow's get_experiment_by_name)."""
    found = _store(ctx).experiment(name=name)
    return _authorized(ctx, found, "read_experiment") if found is not None else None


def search_experiments(ctx: Context, max_results: int = 1000) -> list[Experiment]:
    """The active experiments the caller may read (CAN READ or more), by name."""
    readable = []
    for experiment in sorted(_store(ctx).experiments(), key=lambda e: e.name):
        securable = ctx.snapshot.experiment(experiment.name)
        if (
            experiment.lifecycle_stage == ACTIVE
            and securable is not None
            and ctx.authz.can_see(ctx.principal, securable)
        ):
            readable.append(experiment)
    return readable[:max_results]


def delete_experiment(ctx: Context, experiment_id: str) -> None:
    """Mark the experiment and its runs deleted; needs CAN MANAGE."""
    _authorize(ctx, _existing(ctx, experiment_id=experiment_id), "manage")
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
    experiment = _authorized(ctx, _existing(ctx, experiment_id=experiment_id), "edit_experiment")
    if experiment.lifecycle_stage != ACTIVE:
        raise InvalidRequest(
            f"Experiment '{experiment.name}' is deleted; restore it or use another.", error_code="INVALID_STATE"
        )
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
    all_tags = {
        "mlflow.runName": name,
        "mlflow.user": ctx.principal,
        **{str(k): str(v) for k, v in (tags or {}).items()},
    }
    if parent_run_id is not None:
        all_tags["mlflow.parentRunId"] = parent_run_id
    _check_tags(all_tags)
    _store(ctx).insert_run(info, parent_run_id, all_tags)
    _KNOWN.remember_run(ctx, run_id, str(experiment_id))
    return Run(info, RunData(metrics={}, params={}, tags=all_tags))  # all it holds yet: no reading back


def get_run_info(ctx: Context, run_id: str, *, write: bool = False) -> RunInfo:
    info = _store(ctx).run_info(str(run_id))
    if info is None:
        raise NotFound(f"Run '{run_id}' does not exist.", error_code="RESOURCE_DOES_NOT_EXIST")
    _authorize_run(ctx, info.run_id, info.experiment_id, write=write)
    return info


def _authorize_run(ctx: Context, run_id: str, experiment_id: str, *, write: bool) -> None:
    """Require CAN EDIT (``write``) or CAN READ on the run's experiment."""
    _authorize_experiment(ctx, experiment_id, "edit_experiment" if write else "read_experiment")
    ctx.touched.append(f"run:{run_id}")
    _KNOWN.remember_run(ctx, run_id, experiment_id)


def get_run(ctx: Context, run_id: str) -> Run:
    found = _store(ctx).runs([str(run_id)])
    if not found:
        raise NotFound(f"Run '{run_id}' does not exist.", error_code="RESOURCE_DOES_NOT_EXIST")
    _authorize_run(ctx, found[0].info.run_id, found[0].info.experiment_id, write=False)
    return found[0]


def runs(ctx: Context, run_ids: Sequence[str]) -> list[Run]:
    return _store(ctx).runs(run_ids)


def _writable(ctx: Context, run_id: str) -> RunInfo:
    info = get_run_info(ctx, run_id, write=True)
    _require_active(run_id, info.lifecycle_stage)
    return info


def _require_active(run_id: str, stage: str) -> None:
    if stage != ACTIVE:
        raise InvalidRequest(f"Run '{run_id}' is deleted; restore it before logging to it.", error_code="INVALID_STATE")


def log_batch(
    ctx: Context,
    run_id: str,
    *,
    metrics: Sequence[Metric] = (),
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, object] | None = None,
) -> None:
    """Params, metrics and tags in one go (MLflow's log_batch); params may not change value.

    The checks and their order are those of every run call: the run exists, the caller may edit
    its experiment, it is not deleted, then the values. A run this cursor knows needs no query
    for the first two (a run keeps its experiment); its stage comes back from the statement that
    patches its document, after the writes, which a deleted run then rolls back. When a value is
    refused, the stage is read first, so that a deleted run still says so before anything else.
    """
    run_id = str(run_id)
    store = _store(ctx)
    experiment_id = _KNOWN.run(ctx, run_id)
    if experiment_id is None:
        _writable(ctx, run_id)
    else:
        _authorize_run(ctx, run_id, experiment_id, write=True)
    try:
        new_params, points, new_tags = _batch(store, run_id, metrics, params, tags)
    except InvalidRequest:
        if experiment_id is not None:
            _require_active(run_id, _stage(store, run_id))
        raise
    stage = store.log(run_id, params=new_params, metrics=points, tags=new_tags)
    if experiment_id is not None:
        _require_active(run_id, stage if stage is not None else _stage(store, run_id))


def _stage(store: TrackingStore, run_id: str) -> str:
    stage = store.run_stage(run_id)
    if stage is None:
        raise NotFound(f"Run '{run_id}' does not exist.", error_code="RESOURCE_DOES_NOT_EXIST")
    return stage


def _batch(
    store: TrackingStore,
    run_id: str,
    metrics: Sequence[Metric],
    params: Mapping[str, object] | None,
    tags: Mapping[str, object] | None,
) -> tuple[dict[str, str], list[Metric], dict[str, str]]:
    """A batch's new params, metric points and tags, checked (params may not change value)."""
    new_params: dict[str, str] = {}
    if params:
        values = {str(k): _text(v) for k, v in params.items()}
        for key, value in values.items():
            _check_key(key, "param")
            if len(value) > MAX_PARAM_VALUE:
                raise InvalidRequest(f"Param '{key}' is longer than {MAX_PARAM_VALUE} characters.")
        existing = store.params(run_id, list(values))
        changed = {k: (existing[k], v) for k, v in values.items() if k in existing and existing[k] != v}
        if changed:
            key, (old, new) = next(iter(changed.items()))
            raise InvalidRequest(
                f"Param '{key}' of run {run_id} was already logged as {old!r}; params cannot change "
                f"(tried {new!r}). Log it under another key or start a new run.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        new_params = {k: v for k, v in values.items() if k not in existing}
    points = _points(metrics) if metrics else []
    new_tags = {str(k): _text(v) for k, v in (tags or {}).items()}
    _check_tags(new_tags)
    return new_params, points, new_tags


def _points(metrics: Sequence[Metric]) -> list[Metric]:
    """The metrics as stored: each key checked (once), values floats, timestamps and steps ints.
    A metric already in that shape is passed on as it is: batches are often thousands long."""
    checked: set[str] = set()
    points: list[Metric] = []
    for metric in metrics:
        key, value, timestamp, step = metric.key, metric.value, metric.timestamp, metric.step
        if key not in checked:
            _check_key(key, "metric")
            checked.add(key)
        if type(value) is float and type(timestamp) is int and type(step) is int:
            points.append(metric)
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy numbers too
            raise InvalidRequest(f"Metric '{key}' must be a number, not {value!r}.")
        points.append(Metric(key, float(value), int(timestamp), int(step)))
    return points


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
    info = _store(ctx).update_run(run_id, status=status, end_time=end_time, run_name=run_name)
    assert info is not None, "checked above, under the write lock"
    return info


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
        _authorize_experiment(ctx, experiment_id, "read_experiment")
    compiled = search.compile_search(
        ids,
        filter_string or "",
        order_by=order_by,
        max_results=max_results,
        run_view=run_view,
        page_token=page_token,
        columns=("run_id", RUN_DATA),
    )
    page = compiled.run(ctx.cursor)  # the page comes with the runs' data: one query in all
    return runs_from_rows(page.rows), page.next_page_token


def metric_history(ctx: Context, run_id: str, key: str) -> list[Metric]:
    get_run_info(ctx, run_id)
    return _store(ctx).metric_history(run_id, key)


# -- artifacts -----------------------------------------------------------------------------------
def artifact_root(ctx: Context, home: Path, run_id: str, *, write: bool) -> Path:
    info = _writable(ctx, run_id) if write else get_run_info(ctx, run_id)
    return artifacts.run_root(home, info.experiment_id, info.run_id)
