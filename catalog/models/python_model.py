"""The ``python_model`` flavor: a user's :class:`PythonModel` saved with cloudpickle, plus artifacts.

This is the loader module ``MLmodel`` names for custom models (``catalog.models.python_model``).
Artifacts (``save_model(..., artifacts={"name": "/local/file"})``) are copied to
``artifacts/<name>/<file name>`` and handed back at load time in ``context.artifacts``.

cloudpickle writes classes defined in ``__main__`` by value. A class defined in some other module
that is not an installed package (a script's helper module, a test module) is written by value
too, so the model loads in a process that cannot import that module.
"""

from __future__ import annotations

import inspect
import shutil
import sys
import sysconfig
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from catalog.errors import InvalidRequest, NotFound
from catalog.models.checksums import ModelIntegrityError, read_verified
from catalog.models.descriptor import ModelMetadata
from catalog.models.flavors import PYTHON_MODEL, version_of
from catalog.models.paths import checked_name, checked_relative, inside

MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"
PICKLE_PROTOCOL = 5
REQUIREMENTS = ["cloudpickle", "numpy", "pandas"]


@dataclass(frozen=True)
class PythonModelContext:
    """What ``load_context`` and ``predict`` receive: ``artifacts`` maps names to local paths."""

    artifacts: dict[str, str] = field(default_factory=dict)


class PythonModel(ABC):
    """Base class of custom models, as in MLflow: implement ``predict`` (and ``load_context``).

    Example::

        class AddN(PythonModel):
            def __init__(self, n):
                self.n = n

            def predict(self, context, model_input, params=None):
                return model_input + self.n
    """

    def load_context(self, context: PythonModelContext) -> None:  # noqa: B027 - optional hook, as in MLflow
        """Called once when the model is loaded, before the first ``predict``; read artifacts here."""

    @abstractmethod
    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Return predictions for ``model_input`` (a DataFrame, or an array for tensor signatures)."""


def save(
    model: PythonModel, model_dir: Path, artifacts: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Copy the artifacts and write ``python_model.pkl``; returns the flavor settings."""
    import cloudpickle

    stored = {name: _copy_artifact(model_dir, name, source) for name, source in (artifacts or {}).items()}
    module = _module_to_pickle_by_value(model)
    try:
        if module is not None:
            cloudpickle.register_pickle_by_value(module)
        try:
            data = cloudpickle.dumps(model, protocol=PICKLE_PROTOCOL)
        finally:
            if module is not None:
                cloudpickle.unregister_pickle_by_value(module)
    except (TypeError, AttributeError) as exc:
        raise InvalidRequest(
            f"The {type(model).__qualname__} cannot be pickled ({exc}); keep open files, locks and connections "
            "out of its attributes and create them in load_context instead.",
            error_code="MODEL_NOT_SERIALIZABLE",
        ) from exc
    (model_dir / MODEL_FILE).write_bytes(data)
    flavor = {"cloudpickle_version": version_of("cloudpickle"), "python_model": MODEL_FILE, "artifacts": stored}
    return flavor, {"model_path": MODEL_FILE}


def _copy_artifact(model_dir: Path, name: str, source: Any) -> str:
    checked_name(name, what="Artifact name")
    source = Path(source)
    if not source.exists():
        raise NotFound(
            f"Artifact '{name}' points at '{source}', which does not exist.", error_code="RESOURCE_DOES_NOT_EXIST"
        )
    rel = f"{ARTIFACTS_DIR}/{name}/{source.resolve().name}"
    target = inside(model_dir, rel, what="Artifact path")
    target.parent.mkdir(parents=True)
    if source.is_dir():
        for path in source.rglob("*"):
            if path.is_symlink():
                raise InvalidRequest(
                    f"Artifact '{name}' contains the symbolic link '{path}'; copy the file it points to instead.",
                    error_code="INVALID_PATH",
                )
            checked_relative(path.relative_to(source).as_posix(), what="Artifact file")
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    return rel


def _module_to_pickle_by_value(model: PythonModel) -> ModuleType | None:
    """The model class's module when it is user code rather than an installed package."""
    module = sys.modules.get(type(model).__module__)
    if module is None or module.__name__ == "__main__" or module.__name__.split(".")[0] == "catalog":
        return None
    file = getattr(module, "__file__", None)
    if file is None:
        return None
    installed = {
        Path(p).resolve()
        for key in ("purelib", "platlib", "stdlib", "platstdlib")
        if (p := sysconfig.get_paths().get(key))
    }
    location = Path(file).resolve()
    return None if any(location.is_relative_to(root) for root in installed) else module


def load_native(model_dir: Path, meta: ModelMetadata) -> tuple[PythonModel, PythonModelContext]:
    """Unpickle the model and run its ``load_context``; call only after the directory was verified."""
    import cloudpickle

    conf = meta.flavors.get(PYTHON_MODEL)
    if conf is None:
        raise InvalidRequest(
            f"Model '{model_dir}' has no '{PYTHON_MODEL}' flavor (it has {sorted(meta.flavors)}).",
            error_code="FLAVOR_MISMATCH",
        )
    stored = conf.get("artifacts") or {}
    if not isinstance(stored, dict):
        raise ModelIntegrityError(
            f"The MLmodel of '{model_dir}' has a malformed artifact table.", details={"file": "MLmodel"}
        )
    artifacts = {}
    for name, rel in stored.items():
        checked_name(name, what="Artifact name")
        path = checked_relative(rel, what="Artifact path").as_posix()
        if path not in meta.files and not any(f.startswith(path + "/") for f in meta.files):
            raise ModelIntegrityError(
                f"Artifact '{name}' of model '{model_dir}' refers to '{path}', which the file table does not list.",
                details={"file": path, "problem": "unlisted"},
            )
        artifacts[name] = str(inside(model_dir, path, what="Artifact path"))
    python_model = cloudpickle.loads(read_verified(model_dir, conf.get("python_model"), meta.files))
    if not isinstance(python_model, PythonModel):
        raise ModelIntegrityError(
            f"'{conf.get('python_model')}' of model '{model_dir}' does not hold a PythonModel.",
            details={"file": conf.get("python_model")},
        )
    context = PythonModelContext(artifacts=artifacts)
    python_model.load_context(context)
    return python_model, context


class PythonModelPredictor:
    """``predict`` for the pyfunc wrapper: ``python_model.predict(context, model_input[, params])``."""

    def __init__(self, python_model: PythonModel, context: PythonModelContext) -> None:
        self.raw = python_model
        self.context = context
        self._takes_params = "params" in inspect.signature(python_model.predict).parameters

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        if self._takes_params:
            return self.raw.predict(self.context, data, params=params)
        if params:
            raise InvalidRequest(
                f"{type(self.raw).__qualname__}.predict takes no params; got {sorted(params)}.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return self.raw.predict(self.context, data)


def load_pyfunc(model_dir: Path, meta: ModelMetadata) -> PythonModelPredictor:
    return PythonModelPredictor(*load_native(model_dir, meta))
