"""Which flavor a model object gets, and which loader module a saved model may name.

``MLmodel`` names its loader in ``python_function.loader_module``. Loading imports only modules
from :data:`LOADERS`; a descriptor naming any other module is refused, so a crafted ``MLmodel``
cannot make ``load_model`` import arbitrary code.
"""

from __future__ import annotations

import importlib
from importlib import metadata as importlib_metadata
from types import ModuleType
from typing import Any

from catalog.errors import InvalidRequest

SKLEARN = "sklearn"
PYTHON_MODEL = "python_model"
FLAVORS = (SKLEARN, PYTHON_MODEL)

#: loader module (as written in MLmodel) -> native flavor it loads
LOADERS = {"catalog.models.sklearn": SKLEARN, "catalog.models.python_model": PYTHON_MODEL}
_MODULE_OF = {flavor: module for module, flavor in LOADERS.items()}

_SUPPORTED = (
    "scikit-learn estimators with fit and predict (including Pipeline and GridSearchCV) and instances of "
    "catalog.models.PythonModel; wrap any other model in a PythonModel subclass"
)


def detect_flavor(model: Any, requested: str | None = None) -> str:
    """The flavor ``model`` is saved with; ``requested`` (if given) must agree.

    Raises:
        InvalidRequest: ``UNSUPPORTED_MODEL`` naming the type and what is supported.
    """
    from catalog.models.python_model import PythonModel

    type_name = f"{type(model).__module__}.{type(model).__qualname__}"
    if requested is not None and requested not in FLAVORS:
        raise InvalidRequest(
            f"Flavor {requested!r} is not supported; use one of {', '.join(FLAVORS)} or leave flavor=None.",
            error_code="UNSUPPORTED_MODEL",
        )
    if isinstance(model, PythonModel):
        detected = PYTHON_MODEL
    elif _is_sklearn_estimator(model):
        detected = SKLEARN
    else:
        raise InvalidRequest(
            f"Cannot save a model of type '{type_name}'. Supported are {_SUPPORTED}.", error_code="UNSUPPORTED_MODEL"
        )
    if requested is not None and requested != detected:
        raise InvalidRequest(
            f"flavor={requested!r} was asked for, but a '{type_name}' is saved with the '{detected}' flavor. "
            "Leave flavor=None or pass a matching model.",
            error_code="UNSUPPORTED_MODEL",
        )
    return detected


def _is_sklearn_estimator(model: Any) -> bool:
    if not any(cls.__module__.split(".")[0] == "sklearn" for cls in type(model).__mro__):
        return False
    from sklearn.base import BaseEstimator

    return isinstance(model, BaseEstimator) and hasattr(model, "fit") and hasattr(model, "predict")


def loader_module(flavor: str) -> str:
    return _MODULE_OF[flavor]


def import_loader(name: str, where: str) -> ModuleType:
    """The flavor module ``name`` from the allowlist; never anything else."""
    check_loader(name, where)
    return importlib.import_module(name)


def check_loader(name: str, where: str) -> None:
    if name not in LOADERS:
        raise InvalidRequest(
            f"Model '{where}' names loader module {name!r}, which is not one of {sorted(LOADERS)}. It was not "
            "saved by catalog.models.save_model; re-save it with save_model.",
            error_code="UNSUPPORTED_MODEL",
        )


def pinned_requirements(distributions: list[str]) -> list[str]:
    """``name==version`` for each installed distribution (the versions the model was saved with)."""
    lines = []
    for name in distributions:
        try:
            lines.append(f"{name}=={importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            continue
    return lines


def version_of(distribution: str) -> str | None:
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return None
