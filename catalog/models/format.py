"""Saving a model as a self-describing, checksummed directory, and loading it back safely.

A model directory holds ``MLmodel`` (the descriptor, see :mod:`catalog.models.descriptor`),
``requirements.txt``, the pickled model, ``input_example.json`` when one was given, and
``artifacts/`` / ``extra_files/`` when asked. ``save_model`` builds it in a temporary sibling
folder and renames that into place, so a failure leaves nothing at the target path.
``load_model`` verifies every file against the sha256 table in ``MLmodel`` before it unpickles
anything; it takes a local path or a model URI (``runs:/...``, ``models:/...``, see
:mod:`catalog.models.uris`).
"""

from __future__ import annotations

import errno
import os
import platform
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from catalog.errors import AlreadyExists, InvalidRequest, NotFound
from catalog.models import python_model as python_model_flavor
from catalog.models import sklearn as sklearn_flavor
from catalog.models.checksums import (
    DESCRIPTOR,
    ModelIntegrityError,
    hash_tree,
    read_verified,
    sha256_bytes,
    verify_tree,
)
from catalog.models.descriptor import PYFUNC, ModelMetadata, read_descriptor
from catalog.models.enforcement import enforce_schema
from catalog.models.examples import EXAMPLE_FILE, deserialize_example, serialize_example
from catalog.models.flavors import (
    PYTHON_MODEL,
    SKLEARN,
    check_loader,
    detect_flavor,
    import_loader,
    loader_module,
    pinned_requirements,
    version_of,
)
from catalog.models.paths import checked_relative
from catalog.models.pyfunc import PyFuncModel
from catalog.models.signature import ModelSignature, coerce_signature, infer_schema
from catalog.models.uris import resolve_model

if TYPE_CHECKING:
    from catalog.api import Catalog

REQUIREMENTS_FILE = "requirements.txt"
EXTRA_FILES_DIR = "extra_files"
_FLAVOR_MODULES = {SKLEARN: sklearn_flavor, PYTHON_MODEL: python_model_flavor}


@dataclass(frozen=True)
class ModelInfo:
    """What :func:`save_model` wrote.

    Attributes:
        path: the model directory (for a logged model: its folder among the run's artifacts).
        flavors: the ``flavors`` block of ``MLmodel``.
        signature: the model's signature (given or inferred), or None.
        model_uuid: a new random id for this saved model.
        files: relative path -> sha256 of every file but ``MLmodel``.
        digest: sha256 of ``MLmodel``, which pins all of the above; store it to detect a rewritten
            descriptor (``load_model(path, expected_digest=digest)``).
        run_id, artifact_path: the run and path a logged model belongs to (``log_model``).
        model_uri: ``runs:/<run_id>/<artifact_path>`` for a logged model; None for a saved one.
        registered_model_version: the version ``log_model(registered_model_name=...)`` created.
    """

    path: str
    flavors: dict[str, dict[str, Any]]
    signature: ModelSignature | None
    model_uuid: str
    files: dict[str, str]
    digest: str
    utc_time_created: str
    run_id: str | None = None
    artifact_path: str | None = None
    model_uri: str | None = None
    registered_model_version: int | None = None


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    signature: ModelSignature | dict[str, Any] | Literal[False] | None = None,
    input_example: Any = None,
    flavor: str | None = None,
    extra_files: Iterable[str | os.PathLike[str]] | None = None,
    artifacts: dict[str, str | os.PathLike[str]] | None = None,
    extra_pip_requirements: Iterable[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
) -> ModelInfo:
    """Save ``model`` as a model directory at ``path`` (which must not exist, or be empty).

    Args:
        model: a fitted scikit-learn estimator (Pipeline, GridSearchCV, ... included) or a
            :class:`~catalog.models.PythonModel`.
        path: the directory to create.
        signature: the model's signature; inferred from ``input_example`` (inputs, and outputs
            by predicting on it) when None and an example is given; False stores none.
        input_example: a DataFrame, dict of columns, list of row dicts or numpy array.
        flavor: ``"sklearn"`` or ``"python_model"`` to insist on one; detected when None.
        extra_files: local files copied to ``extra_files/<file name>``.
        artifacts: PythonModel only: name -> local file or folder, copied to
            ``artifacts/<name>/`` and given back in ``context.artifacts[name]``.
        extra_pip_requirements: more ``requirements.txt`` lines (packages a PythonModel uses).
        metadata: free-form, YAML-serializable user metadata stored in ``MLmodel``.
        run_id: the tracking run the model belongs to (set by ``log_model``).
        artifact_path: the model's path inside that run (set by ``log_model``).

    Returns:
        A :class:`ModelInfo`.

    Raises:
        AlreadyExists: ``path`` is a file or a non-empty directory.
        InvalidRequest: ``UNSUPPORTED_MODEL``, ``MODEL_NOT_FITTED``, ``MODEL_NOT_SERIALIZABLE``,
            ``INVALID_PATH``, ``INVALID_INPUT_EXAMPLE``, ``SIGNATURE_INFERENCE_FAILED``, ``INVALID_SIGNATURE``.
        NotFound: an artifact or extra file does not exist.
    """
    target = Path(path).absolute()
    _check_target(target)
    flavor_name = _check_arguments(model, flavor, artifacts, extra_pip_requirements)
    infer = signature is None and input_example is not None
    signature = None if signature is False else coerce_signature(signature)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        module = _FLAVOR_MODULES[flavor_name]
        if flavor_name == PYTHON_MODEL:
            flavor_conf, pyfunc_extra = module.save(model, building, artifacts)
        else:
            flavor_conf, pyfunc_extra = module.save(model, building)
        _copy_extra_files(building, extra_files)
        example_info = None
        if input_example is not None:
            example_bytes, example_info = serialize_example(input_example)
            (building / EXAMPLE_FILE).write_bytes(example_bytes)
        (building / REQUIREMENTS_FILE).write_text(_requirements(module.REQUIREMENTS, extra_pip_requirements))
        flavors = {
            PYFUNC: {
                "loader_module": loader_module(flavor_name),
                "python_version": platform.python_version(),
                "env": {"requirements": REQUIREMENTS_FILE},
                **pyfunc_extra,
            },
            flavor_name: flavor_conf,
        }
        meta = ModelMetadata(
            flavors=flavors,
            model_uuid=uuid.uuid4().hex,
            utc_time_created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
            files=hash_tree(building),
            signature=signature,
            run_id=run_id,
            artifact_path=artifact_path,
            saved_input_example_info=example_info,
            metadata=metadata,
            catalog_version=version_of("catalog"),
        )
        if infer:
            meta = _with_inferred_signature(building, meta, input_example)
        descriptor = meta.to_yaml()
        (building / DESCRIPTOR).write_bytes(descriptor)
        _fsync_tree(building)
        _move_into_place(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return ModelInfo(
        path=str(target),
        flavors=meta.flavors,
        signature=meta.signature,
        model_uuid=meta.model_uuid,
        files=meta.files,
        digest=sha256_bytes(descriptor),
        utc_time_created=meta.utc_time_created,
        run_id=run_id,
        artifact_path=artifact_path,
    )


def _check_target(target: Path) -> None:
    if target.is_symlink() or (target.exists() and (not target.is_dir() or any(target.iterdir()))):
        raise AlreadyExists(
            f"Cannot save a model to '{target}': it exists and is not an empty directory. Choose a new path "
            "or remove the old model first.",
            error_code="RESOURCE_ALREADY_EXISTS",
        )


def _check_arguments(model: Any, flavor: str | None, artifacts: Any, extra_pip_requirements: Any) -> str:
    flavor_name = detect_flavor(model, flavor)
    if artifacts and flavor_name != PYTHON_MODEL:
        raise InvalidRequest(
            "artifacts=... is for PythonModel models (handed to load_context); for a scikit-learn model pass "
            "extra_files=... instead.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    if artifacts is not None and not isinstance(artifacts, dict):
        raise InvalidRequest("artifacts must map names to local paths.", error_code="INVALID_PARAMETER_VALUE")
    for line in extra_pip_requirements or ():
        if not isinstance(line, str) or not line.strip() or "\n" in line:
            raise InvalidRequest(
                f"extra_pip_requirements entry {line!r} must be one requirement line, e.g. 'lightgbm==4.5.0'.",
                error_code="INVALID_PARAMETER_VALUE",
            )
    return flavor_name


def _copy_extra_files(building: Path, extra_files: Iterable[str | os.PathLike[str]] | None) -> None:
    for source in map(Path, extra_files or ()):
        if not source.is_file():
            raise NotFound(
                f"Extra file '{source}' does not exist or is not a file.", error_code="RESOURCE_DOES_NOT_EXIST"
            )
        rel = checked_relative(f"{EXTRA_FILES_DIR}/{source.name}", what="Extra file")
        destination = building.joinpath(*rel.parts)
        if destination.exists():
            raise InvalidRequest(
                f"Two extra files are named '{source.name}'; give them different file names.", error_code="INVALID_PATH"
            )
        destination.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, destination)


def _requirements(distributions: list[str], extra: Iterable[str] | None) -> str:
    lines = [f"# Saved with Python {platform.python_version()}; versions pinned to those installed at save time."]
    lines += pinned_requirements(distributions)
    lines += [line.strip() for line in extra or ()]
    return "\n".join(lines) + "\n"


def _with_inferred_signature(building: Path, meta: ModelMetadata, example: Any) -> ModelMetadata:
    """Inputs from the example; outputs from what the saved copy of the model predicts for it."""
    inputs = infer_schema(example, what="input example")
    predictor = import_loader(meta.loader_module, str(building)).load_pyfunc(building, meta)
    try:
        output = predictor.predict(enforce_schema(example, inputs, model=str(building)), None)
    except Exception as exc:
        raise InvalidRequest(
            f"The model failed to predict on its input example ({type(exc).__name__}: {exc}), so its signature "
            "cannot be inferred. Fix the example, or pass signature=... explicitly.",
            error_code="INVALID_INPUT_EXAMPLE",
        ) from exc
    return replace(meta, signature=ModelSignature(inputs=inputs, outputs=infer_schema(output, what="model output")))


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                os.fsync(handle.fileno())


def _move_into_place(building: Path, target: Path) -> None:
    try:
        os.rename(building, target)  # replaces an empty directory; refuses a non-empty one
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise AlreadyExists(
                f"Cannot save a model to '{target}': something was created there while saving. Choose a new path.",
                error_code="RESOURCE_ALREADY_EXISTS",
            ) from exc
        raise


# -- loading ---------------------------------------------------------------------------------


def verify_model(path: str | os.PathLike[str], *, expected_digest: str | None = None) -> ModelMetadata:
    """Read ``MLmodel`` and verify every file of the model; nothing is unpickled.

    Args:
        path: a model directory written by :func:`save_model`.
        expected_digest: the sha256 of ``MLmodel`` recorded when the model was saved or registered
            (``ModelInfo.digest``); when given, a rewritten ``MLmodel`` is refused as well.

    Returns:
        The parsed descriptor (``digest`` filled in).

    Raises:
        NotFound: no model at ``path``.
        ModelIntegrityError: ``MODEL_INTEGRITY_ERROR`` naming the file added, removed or changed.
        InvalidRequest: ``INVALID_PATH`` when ``MLmodel`` names a path outside the directory,
            ``UNSUPPORTED_MODEL`` when it names a loader module that is not ours.
    """
    model_dir = Path(path)
    meta = read_descriptor(model_dir)
    if expected_digest is not None and meta.digest != expected_digest:
        raise ModelIntegrityError(
            f"The MLmodel of '{model_dir}' has sha256 {meta.digest}, not the expected {expected_digest}; the model "
            "was changed after it was registered. Do not load it.",
            details={"file": DESCRIPTOR, "problem": "changed"},
        )
    check_loader(meta.loader_module, str(model_dir))
    verify_tree(model_dir, meta.files)
    return meta


def load_model(
    model_uri: str | os.PathLike[str], *, expected_digest: str | None = None, cat: Catalog | None = None
) -> PyFuncModel:
    """Load a model as a :class:`PyFuncModel`, after verifying every file.

    Args:
        model_uri: a local model directory written by :func:`save_model`, ``file:///...``,
            ``runs:/<run_id>/<artifact_path>`` (a model logged with ``log_model``) or
            ``models:/<name>/<version>`` / ``models:/<name>@<alias>`` (a registered version, whose
            recorded digest is checked as well): the connection sends their files, which are
            cached locally (:mod:`catalog.models.transfer`) and verified before loading.
        expected_digest: see :func:`verify_model`.
        cat: the connection that resolves ``runs:/`` and ``models:/`` URIs; the latest
            ``catalog.connect`` when None.

    Raises:
        InvalidRequest: a malformed URI (``INVALID_PARAMETER_VALUE``); and see :func:`verify_model`.
        PermissionDenied: the connection's user may not read the run's experiment (or use the
            registered model).
        NotFound, ModelIntegrityError: see :func:`verify_model`.
    """
    model_dir, meta = _verified(model_uri, expected_digest, cat)
    _warn_on_python_mismatch(model_dir, meta)
    predictor = import_loader(meta.loader_module, str(model_dir)).load_pyfunc(model_dir, meta)
    example = None
    info = meta.saved_input_example_info
    if info is not None:
        data = read_verified(model_dir, info["artifact_path"], meta.files)
        example = deserialize_example(data, info, meta.get_input_schema())
    return PyFuncModel(model_dir, meta, predictor, example)


def load_sklearn(
    model_uri: str | os.PathLike[str], *, expected_digest: str | None = None, cat: Catalog | None = None
) -> Any:
    """The scikit-learn estimator of a model (path or URI, as :func:`load_model` takes), after
    verifying every file.

    Raises:
        InvalidRequest: ``FLAVOR_MISMATCH`` when the model is not a scikit-learn model; and see
            :func:`load_model`.
    """
    model_dir, meta = _verified(model_uri, expected_digest, cat)
    return sklearn_flavor.load_native(model_dir, meta)


def _verified(
    model_uri: str | os.PathLike[str], expected_digest: str | None, cat: Catalog | None
) -> tuple[Path, ModelMetadata]:
    """Resolve the URI and verify the model; a registered version must also have the digest the
    registry recorded for it."""
    model_dir, registered = resolve_model(model_uri, cat=cat)
    if expected_digest is not None and registered is not None and expected_digest != registered:
        raise ModelIntegrityError(
            f"expected_digest={expected_digest} was asked for, but the registry records {registered} for "
            f"'{model_uri}'; they name different models. Pass the digest of this version, or no digest.",
            details={"file": DESCRIPTOR, "problem": "changed"},
        )
    try:
        return model_dir, verify_model(model_dir, expected_digest=expected_digest or registered)
    except ModelIntegrityError:
        from catalog.models import transfer

        transfer.discard(model_dir)  # a bad cached copy must not outlive a repaired source
        raise


def _warn_on_python_mismatch(model_dir: Path, meta: ModelMetadata) -> None:
    saved = str(meta.flavors[PYFUNC].get("python_version", ""))
    running = platform.python_version()
    if saved.split(".")[:2] != running.split(".")[:2]:
        warnings.warn(
            f"Model '{model_dir}' was saved with Python {saved} and is loaded with {running}; pickled objects "
            "may not load or behave the same.",
            stacklevel=3,
        )
