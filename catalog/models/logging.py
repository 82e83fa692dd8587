"""``log_model``: save a model into the active tracking run's artifacts, as MLflow does.

    from catalog.models import log_model, load_model
    with tracking.start_run():
        info = log_model(pipeline, "model", input_example=X.head())
    load_model(info.model_uri)          # runs:/<run_id>/model, fetched and verified before loading

The model directory is built by :func:`~catalog.models.save_model` (with the run id and artifact
path in its ``MLmodel``) in a temporary folder and uploaded with ``Client.log_artifacts``, so the
upload is authorized and audited like every artifact. The run's ``mlflow.log-model.history`` tag
lists every model logged to it, as in MLflow.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse
from urllib.request import url2pathname

from catalog.errors import AlreadyExists
from catalog.models.format import ModelInfo, save_model
from catalog.models.paths import checked_relative
from catalog.models.signature import ModelSignature
from catalog.models.uris import runs_uri

if TYPE_CHECKING:
    from catalog.tracking.client import Client

HISTORY_TAG = "mlflow.log-model.history"


def log_model(
    model: Any,
    artifact_path: str,
    *,
    signature: ModelSignature | dict[str, Any] | Literal[False] | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    flavor: str | None = None,
    extra_files: Iterable[str | os.PathLike[str]] | None = None,
    artifacts: dict[str, str | os.PathLike[str]] | None = None,
    extra_pip_requirements: Iterable[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> ModelInfo:
    """Save ``model`` as an artifact folder of the active run (one is started if none is active,
    and left active, as in MLflow).

    Args:
        model: a fitted scikit-learn estimator or a :class:`~catalog.models.PythonModel`; the
            flavor is detected as :func:`~catalog.models.save_model` does.
        artifact_path: the folder inside the run, e.g. ``"model"``; it must not hold artifacts yet.
        signature, input_example, flavor, extra_files, artifacts, extra_pip_requirements, metadata:
            as :func:`~catalog.models.save_model` takes them.
        registered_model_name: also register the logged model as a new version of this model
            (``catalog.tracking.register_model``).

    Returns:
        A :class:`~catalog.models.ModelInfo` whose ``model_uri`` is ``runs:/<run_id>/<artifact_path>``
        and whose ``path`` is the folder among the run's artifacts.

    Raises:
        InvalidRequest: ``INVALID_PATH`` for an artifact path leaving the run; and what
            :func:`~catalog.models.save_model` raises.
        AlreadyExists: the run already has artifacts at ``artifact_path``.
        PermissionDenied: the connection's user may not write to the run's experiment.
    """
    from catalog import tracking

    checked_relative(artifact_path, what="Model artifact path")
    run = tracking.active_run() or tracking.start_run()
    client, run_id = run.client, run.info.run_id
    if client.list_artifacts(run_id, artifact_path):
        # the checksums of a model folder cover every file in it: mixing two models breaks both
        raise AlreadyExists(
            f"Run {run_id} already has artifacts at '{artifact_path}'; log the model under another artifact path.",
            error_code="RESOURCE_ALREADY_EXISTS",
        )
    with tempfile.TemporaryDirectory(prefix="catalog-log-model-") as scratch:
        info = save_model(
            model,
            Path(scratch) / "model",
            signature=signature,
            input_example=input_example,
            flavor=flavor,
            extra_files=extra_files,
            artifacts=artifacts,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            run_id=run_id,
            artifact_path=artifact_path,
        )
        client.log_artifacts(run_id, Path(scratch) / "model", artifact_path)
    _record_history(client, run_id, info)
    run_folder = Path(url2pathname(urlparse(run.info.artifact_uri).path))
    model_uri = runs_uri(run_id, artifact_path)
    info = replace(info, path=str(run_folder.joinpath(*artifact_path.split("/"))), model_uri=model_uri)
    if registered_model_name is not None:
        from catalog.tracking import register_model

        version = register_model(model_uri, registered_model_name)
        info = replace(info, registered_model_version=version.version)
    return info


def _record_history(client: Client, run_id: str, info: ModelInfo) -> None:
    """Append the model to the run's ``mlflow.log-model.history`` tag (MLflow's entry, plus the
    digest); the oldest entries give way when the tag would exceed the tag length limit."""
    from catalog.tracking.store import MAX_TAG_VALUE

    existing = client.get_run(run_id).data.tags.get(HISTORY_TAG)
    history = json.loads(existing) if existing else []
    history.append(
        {
            "run_id": run_id,
            "artifact_path": info.artifact_path,
            "utc_time_created": info.utc_time_created,
            "model_uuid": info.model_uuid,
            "flavors": info.flavors,
            "digest": info.digest,
        }
    )
    value = json.dumps(history)
    while len(value) > MAX_TAG_VALUE and len(history) > 1:
        history.pop(0)
        value = json.dumps(history)
    client.set_tag(run_id, HISTORY_TAG, value)
