"""The model registry operations: registered models, versions, tags, aliases, stages, loading.

Action names are those Databricks' audit log has for Unity Catalog models
(``createModelVersion``, ``setRegisteredModelAlias``, ...); authorization is
:mod:`catalog.services.registry`'s. :class:`catalog.tracking.Client` is built on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from catalog.models.transfer import ModelFiles, read_model
from catalog.operations import operation
from catalog.registry.entities import ModelVersion, RegisteredModel
from catalog.services import registry as service
from catalog.services.context import Context
from catalog.tracking.client import PagedList
from catalog.tracking.operations import home

AREA = "registry"


# -- registered models ---------------------------------------------------------------------------
@operation(AREA, "createRegisteredModel", writes=True, audit=("name",))
def create_registered_model(
    ctx: Context, name: str, tags: dict[str, str] | None = None, description: str | None = None
) -> RegisteredModel:
    service.create_registered_model(ctx, name, description=description, tags=tags)
    return service.get_registered_model(ctx, name)


@operation(AREA, "getRegisteredModel", writes=False, audit=("name",))
def get_registered_model(ctx: Context, name: str) -> RegisteredModel:
    return service.get_registered_model(ctx, name)


@operation(AREA, "updateRegisteredModel", writes=True, audit=("name",))
def update_registered_model(ctx: Context, name: str, description: str | None = None) -> RegisteredModel:
    return service.update_registered_model(ctx, name, description)


@operation(AREA, "deleteRegisteredModel", writes=True, audit=("name",))
def delete_registered_model(ctx: Context, name: str) -> None:
    service.delete_registered_model(ctx, home(ctx), name)


def _search_filter(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {"filter": arguments["filter_string"]}


@operation(AREA, "searchRegisteredModels", writes=False, audit=_search_filter)
def search_registered_models(
    ctx: Context,
    filter_string: str | None = None,
    max_results: int = 100,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> PagedList:
    return PagedList(*service.search_registered_models(ctx, filter_string, max_results, order_by, page_token))


@operation(AREA, "setRegisteredModelTag", writes=True, audit=("name", "key"))
def set_registered_model_tag(ctx: Context, name: str, key: str, value: str) -> None:
    service.set_registered_model_tag(ctx, name, key, value)


@operation(AREA, "deleteRegisteredModelTag", writes=True, audit=("name", "key"))
def delete_registered_model_tag(ctx: Context, name: str, key: str) -> None:
    service.delete_registered_model_tag(ctx, name, key)


# -- versions ------------------------------------------------------------------------------------
@operation(AREA, "createModelVersion", writes=True, lineage="PYTHON", audit=("name", "source"))
def create_model_version(
    ctx: Context,
    name: str,
    source: str,
    run_id: str | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    create_model: bool = False,
) -> ModelVersion:
    return service.create_model_version(
        ctx,
        home(ctx),
        name,
        source,
        run_id=run_id,
        tags=tags,
        description=description,
        create_model=create_model,
    )


@operation(AREA, "getModelVersion", writes=False, audit=("name", "version"))
def get_model_version(ctx: Context, name: str, version: int | str) -> ModelVersion:
    return service.get_model_version(ctx, name, version)


@operation(AREA, "updateModelVersion", writes=True, audit=("name", "version"))
def update_model_version(ctx: Context, name: str, version: int | str, description: str | None = None) -> ModelVersion:
    return service.update_model_version(ctx, name, version, description)


@operation(AREA, "deleteModelVersion", writes=True, audit=("name", "version"))
def delete_model_version(ctx: Context, name: str, version: int | str) -> None:
    service.delete_model_version(ctx, home(ctx), name, version)


@operation(AREA, "searchModelVersions", writes=False, audit=_search_filter)
def search_model_versions(
    ctx: Context,
    filter_string: str | None = None,
    max_results: int = 1000,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> PagedList:
    return PagedList(*service.search_model_versions(ctx, filter_string, max_results, order_by, page_token))


@operation(AREA, "getLatestVersions", writes=False, audit=("name",))
def get_latest_versions(ctx: Context, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
    return service.get_latest_versions(ctx, name, stages)


@operation(AREA, "transitionModelVersionStage", writes=True, audit=("name", "version", "stage"))
def transition_model_version_stage(
    ctx: Context, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
) -> ModelVersion:
    return service.transition_model_version_stage(ctx, name, version, stage, archive_existing_versions)


@operation(AREA, "setModelVersionTag", writes=True, audit=("name", "version", "key"))
def set_model_version_tag(ctx: Context, name: str, version: int | str, key: str, value: str) -> None:
    service.set_model_version_tag(ctx, name, version, key, value)


@operation(AREA, "deleteModelVersionTag", writes=True, audit=("name", "version", "key"))
def delete_model_version_tag(ctx: Context, name: str, version: int | str, key: str) -> None:
    service.delete_model_version_tag(ctx, name, version, key)


# -- aliases -------------------------------------------------------------------------------------
@operation(AREA, "setRegisteredModelAlias", writes=True, audit=("name", "alias", "version"))
def set_registered_model_alias(ctx: Context, name: str, alias: str, version: int | str) -> ModelVersion:
    return service.set_registered_model_alias(ctx, name, alias, version)


@operation(AREA, "deleteRegisteredModelAlias", writes=True, audit=("name", "alias"))
def delete_registered_model_alias(ctx: Context, name: str, alias: str) -> None:
    service.delete_registered_model_alias(ctx, name, alias)


@operation(AREA, "getModelVersionByAlias", writes=False, audit=("name", "alias"))
def get_model_version_by_alias(ctx: Context, name: str, alias: str) -> ModelVersion:
    return service.get_model_version_by_alias(ctx, name, alias)


# -- files ---------------------------------------------------------------------------------------
@operation(AREA, "getModelVersionDownloadUri", writes=False, audit=("name", "version", "alias", "stage"))
def get_model_version_files(
    ctx: Context,
    name: str,
    version: int | str | None = None,
    alias: str | None = None,
    stage: str | None = None,
) -> ModelFiles:
    """The files of a version named by exactly one of version, alias or stage, with the digest
    the registry recorded for them; needs EXECUTE on the model."""
    folder, found = service.locate(ctx, home(ctx), name, version=version, alias=alias, stage=stage)
    return read_model(folder, found.model_uri, digest=found.digest, version=found.version)
