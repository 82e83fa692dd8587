"""The model registry: registered models as MODEL securables in ``catalog.schema.model``.

Who may do what (Unity Catalog's rules, through the same authorizer as everything else):

- create a registered model: ``CREATE MODEL`` on the schema (with USE CATALOG / USE SCHEMA);
- add a version, set aliases, tags, descriptions and stages, delete: owner or ``MANAGE``;
- load or download a version: ``EXECUTE`` on the model (owners hold it);
- read metadata (get, search): any privilege on the model, or BROWSE on its catalog.

A version is registered from a logged model (``runs:/<run_id>/<path>``, which needs read access
to the run's experiment) or from another version (``models:/...``, which needs EXECUTE on it).
Its files are copied under the home (``models/<model id>/<version>/``), verified, and their
descriptor digest recorded, so a version never changes and a tampered copy is refused on load.
Registration records lineage from the tables the run read to the model.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from catalog.errors import AlreadyExists, InvalidName, InvalidRequest, NotFound
from catalog.lineage import capture
from catalog.names import FullName
from catalog.registry import filters, reading
from catalog.registry.entities import STAGES, ModelVersion, RegisteredModel, normalize_stage
from catalog.registry.store import RegistryStore, VersionRow, version_dir
from catalog.securables import RELATION_TYPES, Securable, SecurableType
from catalog.services import namespace
from catalog.services.context import Context
from catalog.services.tracking import artifact_root, now_ms
from catalog.tracking import artifacts
from catalog.tracking.store import TrackingStore

MODEL = frozenset({SecurableType.MODEL})
READY = "READY"
MAX_SEARCH_RESULTS = 1000
_ALIAS = re.compile(r"[a-z_][a-z0-9_-]{0,254}\Z")


# -- names -----------------------------------------------------------------------------------------
def model_name(name: str) -> FullName:
    """Parse a registered model name, which always has three parts."""
    return namespace.object_name(name, "registered model", "main.ml.churn_model")


def find_model(ctx: Context, name: str) -> Securable:
    return ctx.lookup(model_name(name), MODEL)


def parse_version(version: int | str) -> int:
    try:
        number = int(str(version).strip())
    except ValueError:
        number = 0
    if number < 1 or isinstance(version, bool):
        raise InvalidRequest(
            f"Model version {version!r} must be a positive whole number such as 1.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return number


# -- registered models -------------------------------------------------------------------------------
def create_registered_model(
    ctx: Context, name: str, *, description: str | None = None, tags: Mapping[str, str] | None = None
) -> Securable:
    full = model_name(name)
    namespace.refuse_system(full, "create a model in")
    schema = ctx.lookup(full.parent, namespace.SCHEMA)
    ctx.require("create_model", schema)
    existing = ctx.find(full)
    if existing is not None:
        if existing.type is SecurableType.MODEL:
            message = (
                f"Registered model '{full}' already exists. Add a version with "
                f"register_model(model_uri, '{full}') or create_model_version."
            )
        else:
            message = f"'{full}' is already the name of a {existing.type.label}; choose another model name."
        raise AlreadyExists(message, error_code="RESOURCE_ALREADY_EXISTS")
    model = ctx.metastore.insert_securable(SecurableType.MODEL, full, schema.id, ctx.principal, comment=description)
    RegistryStore(ctx.cursor).set_model_tags(model.id, _strings(tags))
    ctx.changed()
    return model


def get_registered_model(ctx: Context, name: str) -> RegisteredModel:
    model = find_model(ctx, name)
    ctx.require_visible(model)
    return reading.registered_models(ctx.cursor, [model])[0]


def update_registered_model(ctx: Context, name: str, description: str | None) -> RegisteredModel:
    model = find_model(ctx, name)
    ctx.require("manage", model)
    ctx.metastore.update_securable(model.id, ctx.principal, comment=description)
    ctx.changed()
    return reading.registered_models(ctx.cursor, [ctx.snapshot.get(model.id)])[0]


def delete_registered_model(ctx: Context, home: Path, name: str | FullName) -> None:
    """Delete a model with all its versions (their files go once the deletion has committed)."""
    model = ctx.lookup(name if isinstance(name, FullName) else model_name(name), MODEL)
    namespace.refuse_system(model, "drop")
    ctx.require("manage", model)
    _refuse_if_served(ctx, model, None)
    namespace.drop_storage(ctx, model)
    ctx.metastore.delete_securables([model.id])
    ctx.changed()


def _refuse_if_served(ctx: Context, model: Securable, version: int | None) -> None:
    """A model (version) a serving endpoint serves cannot go: the endpoint would fail."""
    from catalog.serving.store import ServingStore

    served = ServingStore(ctx.cursor).serving(model.id, version)
    if served:
        endpoint, entity, number = served[0]
        what = f"Version {number} of registered model" if version is not None else "Registered model"
        raise InvalidRequest(
            f"{what} '{model.full_name}' cannot be deleted: serving endpoint '{endpoint}' serves it "
            f"(served entity '{entity}'{f' and {len(served) - 1} more' if len(served) > 1 else ''}). Update the "
            "endpoint's config to serve another version, or delete the endpoint, first.",
            error_code="INVALID_STATE",
        )


def set_registered_model_tag(ctx: Context, name: str, key: str, value: str) -> None:
    model = _managed(ctx, name)
    RegistryStore(ctx.cursor).set_model_tags(model.id, _strings({key: value}))


def delete_registered_model_tag(ctx: Context, name: str, key: str) -> None:
    model = _managed(ctx, name)
    if not RegistryStore(ctx.cursor).delete_model_tag(model.id, key):
        raise NotFound(
            f"Registered model '{model.full_name}' has no tag '{key}'.", error_code="RESOURCE_DOES_NOT_EXIST"
        )


def search_registered_models(
    ctx: Context, filter_string: str | None, max_results: int, order_by: Sequence[str] | None, page_token: str | None
) -> tuple[list[RegisteredModel], str | None]:
    predicate = filters.compile_filter(filter_string, filters.MODEL_FIELDS)
    limit = filters.check_limit(max_results, MAX_SEARCH_RESULTS)
    models = _visible_models(ctx)
    found = [m for m in reading.registered_models(ctx.cursor, models) if predicate(filters.model_fields(m))]
    rows = filters.sort_rows(
        [filters.model_fields(m) | {"_entity": m} for m in found], order_by, filters.MODEL_FIELDS, ["name"]
    )
    return filters.page_of([r["_entity"] for r in rows], limit, page_token)


# -- versions ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Source:
    folder: Path
    run_id: str | None


def create_model_version(
    ctx: Context,
    home: Path,
    name: str,
    source: str,
    *,
    run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    create_model: bool = False,
) -> ModelVersion:
    """Register ``source`` as the next version of ``name`` (creating the model when
    ``create_model`` and it does not exist yet: MLflow's ``register_model``)."""
    full = model_name(name)
    if create_model and ctx.find(full) is None:
        model = create_registered_model(ctx, name)
    else:
        model = ctx.lookup(full, MODEL)
        ctx.require("manage", model)
    found = _source(ctx, home, source)
    if run_id is not None and found.run_id is not None and run_id != found.run_id:
        raise InvalidRequest(
            f"run_id {run_id} does not match the run of the source '{source}'.", error_code="INVALID_PARAMETER_VALUE"
        )
    run_id = run_id or found.run_id
    store = RegistryStore(ctx.cursor)
    version = store.next_version(model.id)
    target = version_dir(home, model.id, version)
    # Should the transaction not commit, the copied folder stays without a row; the next
    # registration of that number (the counter rolls back too) replaces it.
    digest = _copy_verified(found.folder, target)
    when = now_ms()
    store.insert_version(
        VersionRow(
            model_id=model.id,
            version=version,
            source=source,
            run_id=run_id,
            storage_location=target.relative_to(home).as_posix(),
            digest=digest,
            status=READY,
            current_stage="None",
            description=description,
            created_by=ctx.principal,
            creation_timestamp=when,
            last_updated_by=ctx.principal,
            last_updated_timestamp=when,
        )
    )
    store.set_version_tags(model.id, version, _strings(tags))
    capture.record_write(ctx, model, _tables_read_by(ctx, run_id))
    return _version(ctx, model, version)


def get_model_version(ctx: Context, name: str, version: int | str) -> ModelVersion:
    model = find_model(ctx, name)
    ctx.require_visible(model)
    return _version(ctx, model, parse_version(version))


def get_model_version_by_alias(ctx: Context, name: str, alias: str) -> ModelVersion:
    model = find_model(ctx, name)
    ctx.require_visible(model)
    return _version(ctx, model, _aliased(ctx, model, alias))


def update_model_version(ctx: Context, name: str, version: int | str, description: str | None) -> ModelVersion:
    model = _managed(ctx, name)
    number = _existing_version(ctx, model, version)
    RegistryStore(ctx.cursor).update_version(model.id, number, ctx.principal, now_ms(), description=description)
    return _version(ctx, model, number)


def delete_model_version(ctx: Context, home: Path, name: str, version: int | str) -> None:
    model = _managed(ctx, name)
    number = _existing_version(ctx, model, version)
    store = RegistryStore(ctx.cursor)
    pointing = sorted(a for a, v in store.aliases([model.id]).get(model.id, {}).items() if v == number)
    if pointing:
        names = ", ".join(f"'{a}'" for a in pointing)
        raise InvalidRequest(
            f"Version {number} of registered model '{model.full_name}' cannot be deleted: alias {names} points to "
            f"it. Move the alias to another version with set_registered_model_alias, or remove it with "
            f"delete_registered_model_alias('{model.full_name}', {pointing[0]!r}), then delete the version.",
            error_code="INVALID_STATE",
        )
    _refuse_if_served(ctx, model, number)
    store.delete_version(model.id, number)
    folder = version_dir(home, model.id, number)
    ctx.after_commit.append(lambda: shutil.rmtree(folder, ignore_errors=True))


def transition_model_version_stage(
    ctx: Context, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
) -> ModelVersion:
    """MLflow's legacy stages. With ``archive_existing_versions``, the other versions in the
    target stage (Staging or Production) move to Archived."""
    model = _managed(ctx, name)
    number = _existing_version(ctx, model, version)
    stage = normalize_stage(stage)
    store = RegistryStore(ctx.cursor)
    when = now_ms()
    if archive_existing_versions and stage in ("Staging", "Production"):
        for row in store.versions([model.id]):
            if row.version != number and row.current_stage == stage:
                store.update_version(model.id, row.version, ctx.principal, when, current_stage="Archived")
    store.update_version(model.id, number, ctx.principal, when, current_stage=stage)
    return _version(ctx, model, number)


def model_versions(ctx: Context, name: str) -> list[ModelVersion]:
    """Every version of a model, newest first."""
    model = find_model(ctx, name)
    ctx.require_visible(model)
    return reading.versions_of(ctx.cursor, [model])[model.id]


def get_latest_versions(ctx: Context, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
    """The newest version in each stage (each of ``stages``, or every stage that has one)."""
    model = find_model(ctx, name)
    ctx.require_visible(model)
    wanted = [normalize_stage(s) for s in stages] if stages else list(STAGES)
    return [v for v in reading.registered_models(ctx.cursor, [model])[0].latest_versions if v.current_stage in wanted]


def search_model_versions(
    ctx: Context, filter_string: str | None, max_results: int, order_by: Sequence[str] | None, page_token: str | None
) -> tuple[list[ModelVersion], str | None]:
    predicate = filters.compile_filter(filter_string, filters.VERSION_FIELDS)
    limit = filters.check_limit(max_results, MAX_SEARCH_RESULTS)
    versions = [v for versions in reading.versions_of(ctx.cursor, _visible_models(ctx)).values() for v in versions]
    rows = [filters.version_fields(v) | {"_entity": v} for v in versions if predicate(filters.version_fields(v))]
    ordered = filters.sort_rows(rows, order_by, filters.VERSION_FIELDS, ["name", "version_number DESC"])
    return filters.page_of([r["_entity"] for r in ordered], limit, page_token)


def set_model_version_tag(ctx: Context, name: str, version: int | str, key: str, value: str) -> None:
    model = _managed(ctx, name)
    RegistryStore(ctx.cursor).set_version_tags(model.id, _existing_version(ctx, model, version), _strings({key: value}))


def delete_model_version_tag(ctx: Context, name: str, version: int | str, key: str) -> None:
    model = _managed(ctx, name)
    number = _existing_version(ctx, model, version)
    if not RegistryStore(ctx.cursor).delete_version_tag(model.id, number, key):
        raise NotFound(
            f"Version {number} of registered model '{model.full_name}' has no tag '{key}'.",
            error_code="RESOURCE_DOES_NOT_EXIST",
        )


# -- aliases -------------------------------------------------------------------------------------------
def set_registered_model_alias(ctx: Context, name: str, alias: str, version: int | str) -> ModelVersion:
    model = _managed(ctx, name)
    alias = check_alias(alias)
    number = _existing_version(ctx, model, version)
    RegistryStore(ctx.cursor).set_alias(model.id, alias, number)
    return _version(ctx, model, number)


def delete_registered_model_alias(ctx: Context, name: str, alias: str) -> None:
    model = _managed(ctx, name)
    if not RegistryStore(ctx.cursor).delete_alias(model.id, str(alias).lower()):
        raise NotFound(
            f"Registered model '{model.full_name}' has no alias '{alias}'.", error_code="RESOURCE_DOES_NOT_EXIST"
        )


def check_alias(alias: str) -> str:
    """MLflow's alias rules: a lower-case identifier (letters, digits, _ and -), not 'latest' nor
    a version-like 'v1'."""
    text = alias.lower() if isinstance(alias, str) else ""
    if not _ALIAS.match(text) or text == "latest" or re.fullmatch(r"v\d+", text):
        raise InvalidRequest(
            f"Alias {alias!r} is not valid: use letters, digits, '_' and '-', starting with a letter or '_' "
            "(e.g. 'champion'); 'latest' and 'v<number>' are reserved.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return text


# -- loading ---------------------------------------------------------------------------------------------
def locate(
    ctx: Context,
    home: Path,
    name: str,
    *,
    version: int | str | None = None,
    alias: str | None = None,
    stage: str | None = None,
) -> tuple[Path, ModelVersion]:
    """The files of a version to load or download, after checking EXECUTE on the model.

    Exactly one of ``version``, ``alias``, ``stage`` (the newest version in that stage) names it."""
    if sum(x is not None for x in (version, alias, stage)) != 1:
        raise InvalidRequest("Name a model version by exactly one of version, alias or stage.")
    model = find_model(ctx, name)
    ctx.require("execute", model)
    if alias is not None:
        number = _aliased(ctx, model, alias)
    elif stage is not None:
        wanted = normalize_stage(stage)
        latest = [
            v for v in reading.registered_models(ctx.cursor, [model])[0].latest_versions if v.current_stage == wanted
        ]
        if not latest:
            raise NotFound(
                f"Registered model '{model.full_name}' has no version in stage {wanted}.",
                error_code="RESOURCE_DOES_NOT_EXIST",
            )
        number = latest[0].version
    else:
        number = _existing_version(ctx, model, version)
    found = _version(ctx, model, number)
    ctx.touched.append(f"{model.full_name}/{number}")
    return home / found.storage_location, found


# -- helpers -----------------------------------------------------------------------------------------------
def _managed(ctx: Context, name: str) -> Securable:
    model = find_model(ctx, name)
    ctx.require("manage", model)
    return model


def _existing_version(ctx: Context, model: Securable, version: int | str | None) -> int:
    number = parse_version(version)  # type: ignore[arg-type]
    if RegistryStore(ctx.cursor).version(model.id, number) is None:
        raise NotFound(
            f"Registered model '{model.full_name}' has no version {number}. List its versions with "
            f"search_model_versions(\"name = '{model.full_name}'\").",
            error_code="RESOURCE_DOES_NOT_EXIST",
        )
    return number


def _aliased(ctx: Context, model: Securable, alias: str) -> int:
    number = RegistryStore(ctx.cursor).aliases([model.id]).get(model.id, {}).get(str(alias).lower())
    if number is None:
        raise NotFound(
            f"Registered model '{model.full_name}' has no alias '{alias}'. Set one with "
            f"set_registered_model_alias('{model.full_name}', '{alias}', version).",
            error_code="RESOURCE_DOES_NOT_EXIST",
        )
    return number


def _source(ctx: Context, home: Path, source: str) -> _Source:
    """The folder holding the model to register, after checking the caller may read it."""
    from catalog.models.uris import ModelUri, RunUri, parse_model_uri

    uri = parse_model_uri(source)
    if isinstance(uri, RunUri):
        root = artifact_root(ctx, home, uri.run_id, write=False)  # read access to the run's experiment
        return _Source(artifacts.resolve_inside(root, uri.path or None), uri.run_id)
    if isinstance(uri, ModelUri):
        folder, version = locate(ctx, home, uri.name, version=uri.version, alias=uri.alias, stage=uri.stage)
        return _Source(folder, version.run_id)
    raise InvalidRequest(
        f"Cannot register '{source}': register a model logged to a run (runs:/<run_id>/<path>, as "
        "catalog.models.log_model returns) or another registered version (models:/<name>/<version>).",
        error_code="INVALID_PARAMETER_VALUE",
    )


def _copy_verified(source: Path, target: Path) -> str:
    """Copy a model folder to ``target`` through a staging folder; verify the copy; return its
    descriptor digest."""
    from catalog.models.format import verify_model

    if not source.is_dir():
        raise NotFound(f"No model was logged at '{source.name}' of that run.", error_code="RESOURCE_DOES_NOT_EXIST")
    staging = target.parent / f".staging-{uuid.uuid4().hex}"
    try:
        artifacts.copy_out(source.parent, source.name, staging)
        meta = verify_model(staging / source.name)  # a tampered logged model is not registered
        if target.exists():  # left by a registration whose transaction did not commit
            shutil.rmtree(target)
        (staging / source.name).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return meta.digest


def _tables_read_by(ctx: Context, run_id: str | None) -> list[Securable]:
    if run_id is None:
        return []
    runs = TrackingStore(ctx.cursor).runs([run_id])
    found = []
    for dataset in runs[0].inputs if runs else ():
        try:
            securable = ctx.find(FullName.parse(dataset.name))
        except InvalidName:
            continue
        if securable is not None and securable.type in RELATION_TYPES and ctx.authz.can_see(ctx.principal, securable):
            found.append(securable)
    return found


def _strings(tags: Mapping[str, object] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (tags or {}).items()}


def _visible_models(ctx: Context) -> list[Securable]:
    visible = ctx.authz.visible_ids(ctx.principal)
    return [s for s in ctx.snapshot.by_id.values() if s.type is SecurableType.MODEL and s.id in visible]


def _version(ctx: Context, model: Securable, version: int) -> ModelVersion:
    for found in reading.versions_of(ctx.cursor, [model])[model.id]:
        if found.version == version:
            return found
    raise NotFound(
        f"Registered model '{model.full_name}' has no version {version}.", error_code="RESOURCE_DOES_NOT_EXIST"
    )
