"""The registry half of :class:`catalog.tracking.Client`, with MLflow's ``MlflowClient`` names.

Each call is one audited engine request (action names as Databricks' audit log has them for
Unity Catalog models: ``createModelVersion``, ``setRegisteredModelAlias``, ...), authorized by
:mod:`catalog.services.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.registry.entities import ModelVersion, RegisteredModel
from catalog.services import registry as service
from catalog.services.context import Context

if TYPE_CHECKING:
    from catalog.tracking.client import PagedList


class RegistryMethods:
    """Mixed into ``Client``, which provides ``_call`` and ``_home``."""

    _home: Path

    if TYPE_CHECKING:

        def _call(self, action: str, work, *, writes: bool, lineage: str | None = None, **params: Any): ...

    # -- registered models -------------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: Mapping[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        def work(ctx: Context) -> RegisteredModel:
            service.create_registered_model(ctx, name, description=description, tags=tags)
            return service.get_registered_model(ctx, name)

        return self._call("createRegisteredModel", work, writes=True, name=name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._call(
            "getRegisteredModel", lambda ctx: service.get_registered_model(ctx, name), writes=False, name=name
        )

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self._call(
            "updateRegisteredModel",
            lambda ctx: service.update_registered_model(ctx, name, description),
            writes=True,
            name=name,
        )

    def delete_registered_model(self, name: str) -> None:
        self._call(
            "deleteRegisteredModel",
            lambda ctx: service.delete_registered_model(ctx, self._home, name),
            writes=True,
            name=name,
        )

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Registered models the caller may see, filtered with ``name LIKE 'main.ml.%'``,
        ``tags.key = 'value'``, ... (see :mod:`catalog.registry.filters`)."""
        from catalog.tracking.client import PagedList

        def work(ctx: Context) -> PagedList:
            return PagedList(*service.search_registered_models(ctx, filter_string, max_results, order_by, page_token))

        return self._call("searchRegisteredModels", work, writes=False, filter=filter_string)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._call(
            "setRegisteredModelTag",
            lambda ctx: service.set_registered_model_tag(ctx, name, key, value),
            writes=True,
            name=name,
            key=key,
        )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call(
            "deleteRegisteredModelTag",
            lambda ctx: service.delete_registered_model_tag(ctx, name, key),
            writes=True,
            name=name,
            key=key,
        )

    # -- versions ----------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        *,
        create_model: bool = False,
    ) -> ModelVersion:
        """Register ``source`` (``runs:/<run_id>/<path>`` or ``models:/...``) as the next version.
        ``create_model=True`` creates the registered model first when it does not exist."""

        def work(ctx: Context) -> ModelVersion:
            return service.create_model_version(
                ctx,
                self._home,
                name,
                source,
                run_id=run_id,
                tags=tags,
                description=description,
                create_model=create_model,
            )

        return self._call("createModelVersion", work, writes=True, lineage="PYTHON", name=name, source=source)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self._call(
            "getModelVersion",
            lambda ctx: service.get_model_version(ctx, name, version),
            writes=False,
            name=name,
            version=version,
        )

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        return self._call(
            "updateModelVersion",
            lambda ctx: service.update_model_version(ctx, name, version, description),
            writes=True,
            name=name,
            version=version,
        )

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version; refused while an alias points to it."""
        self._call(
            "deleteModelVersion",
            lambda ctx: service.delete_model_version(ctx, self._home, name, version),
            writes=True,
            name=name,
            version=version,
        )

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Versions of the models the caller may see: ``name = 'main.ml.churn_model'``,
        ``run_id = '...'``, ``version_number > 2``, ``tags.key = 'v'`` ... joined with AND."""
        from catalog.tracking.client import PagedList

        def work(ctx: Context) -> PagedList:
            return PagedList(*service.search_model_versions(ctx, filter_string, max_results, order_by, page_token))

        return self._call("searchModelVersions", work, writes=False, filter=filter_string)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        return self._call(
            "getLatestVersions", lambda ctx: service.get_latest_versions(ctx, name, stages), writes=False, name=name
        )

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return self._call(
            "transitionModelVersionStage",
            lambda ctx: service.transition_model_version_stage(ctx, name, version, stage, archive_existing_versions),
            writes=True,
            name=name,
            version=version,
            stage=stage,
        )

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self._call(
            "setModelVersionTag",
            lambda ctx: service.set_model_version_tag(ctx, name, version, key, value),
            writes=True,
            name=name,
            version=version,
            key=key,
        )

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self._call(
            "deleteModelVersionTag",
            lambda ctx: service.delete_model_version_tag(ctx, name, version, key),
            writes=True,
            name=name,
            version=version,
            key=key,
        )

    # -- aliases -----------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self._call(
            "setRegisteredModelAlias",
            lambda ctx: service.set_registered_model_alias(ctx, name, alias, version),
            writes=True,
            name=name,
            alias=alias,
            version=version,
        )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._call(
            "deleteRegisteredModelAlias",
            lambda ctx: service.delete_registered_model_alias(ctx, name, alias),
            writes=True,
            name=name,
            alias=alias,
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._call(
            "getModelVersionByAlias",
            lambda ctx: service.get_model_version_by_alias(ctx, name, alias),
            writes=False,
            name=name,
            alias=alias,
        )

    # -- files -------------------------------------------------------------------------------
    def model_version_location(
        self, name: str, version: int | str | None = None, alias: str | None = None, stage: str | None = None
    ) -> tuple[Path, str]:
        """The folder of a version and the digest its descriptor must have, for loading in
        place; needs EXECUTE on the model (audited as ``getModelVersionDownloadUri``)."""

        def work(ctx: Context) -> tuple[Path, str]:
            folder, found = service.locate(ctx, self._home, name, version=version, alias=alias, stage=stage)
            return folder, found.digest

        return self._call(
            "getModelVersionDownloadUri",
            work,
            writes=False,
            name=name,
            version=version,
            alias=alias,
            stage=stage,
        )

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        return self.model_version_location(name, version=version)[0].resolve().as_uri()

    def download_model_version(self, name: str, version: int | str, dst_path: str | Path) -> Path:
        """Copy a version's files into ``dst_path`` (needs EXECUTE); returns the copied folder."""
        import shutil

        folder, _digest = self.model_version_location(name, version=version)
        target = Path(dst_path) / folder.name
        shutil.copytree(folder, target, dirs_exist_ok=True)
        return target
