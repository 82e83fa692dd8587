"""The registry half of :class:`catalog.tracking.Client`, with MLflow's ``MlflowClient`` names.

Each call is one named operation of :mod:`catalog.registry.operations` (action names as
Databricks' audit log has them for Unity Catalog models: ``createModelVersion``,
``setRegisteredModelAlias``, ...), authorized by :mod:`catalog.services.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.registry.entities import ModelVersion, RegisteredModel

if TYPE_CHECKING:
    from catalog.api import Catalog
    from catalog.tracking.client import PagedList


class RegistryMethods:
    """Mixed into ``Client``, which provides the connection ``cat``."""

    cat: Catalog

    # -- registered models -------------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: Mapping[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return self.cat.invoke("createRegisteredModel", name=name, tags=strings(tags), description=description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.cat.invoke("getRegisteredModel", name=name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self.cat.invoke("updateRegisteredModel", name=name, description=description)

    def delete_registered_model(self, name: str) -> None:
        self.cat.invoke("deleteRegisteredModel", name=name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Registered models the caller may see, filtered with ``name LIKE 'main.ml.%'``,
        ``tags.key = 'value'``, ... (see :mod:`catalog.registry.filters`)."""
        return self.cat.invoke(
            "searchRegisteredModels",
            filter_string=filter_string,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.cat.invoke("setRegisteredModelTag", name=name, key=key, value=str(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.cat.invoke("deleteRegisteredModelTag", name=name, key=key)

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
        return self.cat.invoke(
            "createModelVersion",
            name=name,
            source=source,
            run_id=run_id,
            tags=strings(tags),
            description=description,
            create_model=create_model,
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.cat.invoke("getModelVersion", name=name, version=version)

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        return self.cat.invoke("updateModelVersion", name=name, version=version, description=description)

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version; refused while an alias points to it."""
        self.cat.invoke("deleteModelVersion", name=name, version=version)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Versions of the models the caller may see: ``name = 'main.ml.churn_model'``,
        ``run_id = '...'``, ``version_number > 2``, ``tags.key = 'v'`` ... joined with AND."""
        return self.cat.invoke(
            "searchModelVersions",
            filter_string=filter_string,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        return self.cat.invoke("getLatestVersions", name=name, stages=stages)

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return self.cat.invoke(
            "transitionModelVersionStage",
            name=name,
            version=version,
            stage=stage,
            archive_existing_versions=archive_existing_versions,
        )

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self.cat.invoke("setModelVersionTag", name=name, version=version, key=key, value=str(value))

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self.cat.invoke("deleteModelVersionTag", name=name, version=version, key=key)

    # -- aliases -----------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self.cat.invoke("setRegisteredModelAlias", name=name, alias=alias, version=version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.cat.invoke("deleteRegisteredModelAlias", name=name, alias=alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.cat.invoke("getModelVersionByAlias", name=name, alias=alias)

    # -- files -------------------------------------------------------------------------------
    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """A ``file://`` URI of a local copy of the version's files (needs EXECUTE; audited as
        ``getModelVersionDownloadUri``)."""
        from catalog.models import transfer

        found = self.cat.invoke("getModelVersionDownloadUri", name=name, version=version)
        return transfer.materialize(found).resolve().as_uri()

    def download_model_version(self, name: str, version: int | str, dst_path: str | Path) -> Path:
        """Write a version's files into ``dst_path/<version>`` (needs EXECUTE); returns that folder."""
        from catalog.models import transfer

        found = self.cat.invoke("getModelVersionDownloadUri", name=name, version=version)
        target = Path(dst_path) / str(found.version)
        transfer.write_files(found, target)
        return target


def strings(values: Mapping[Any, object] | None) -> dict[str, str] | None:
    """Tag and param values as the catalog stores them: text (``True`` becomes ``"True"``)."""
    if values is None:
        return None
    return {str(k): v if isinstance(v, str) else str(v) for k, v in values.items()}
