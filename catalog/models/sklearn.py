"""The ``sklearn`` flavor: a fitted scikit-learn estimator pickled (protocol 5) as ``model.pkl``.

This is the loader module ``MLmodel`` names for scikit-learn models (``catalog.models.sklearn``).
scikit-learn is imported only when a model is saved or loaded.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

from catalog.errors import InvalidRequest
from catalog.models.checksums import read_verified
from catalog.models.descriptor import ModelMetadata
from catalog.models.flavors import SKLEARN, version_of

MODEL_FILE = "model.pkl"
PICKLE_PROTOCOL = 5
REQUIREMENTS = ["scikit-learn", "numpy", "scipy", "pandas"]
_FORMATS = ("pickle", "cloudpickle")  # cloudpickle output is read by pickle.loads too


def save(model: Any, model_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write ``model.pkl``; returns the ``sklearn`` flavor settings and the ``python_function`` extras.

    Raises:
        InvalidRequest: ``MODEL_NOT_FITTED`` for an unfitted estimator, ``MODEL_NOT_SERIALIZABLE``
            when it holds something pickle cannot write (a lambda, a local class).
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    name = type(model).__qualname__
    try:
        check_is_fitted(model)
    except NotFittedError as exc:
        raise InvalidRequest(
            f"The {name} is not fitted; call fit(...) before saving it.", error_code="MODEL_NOT_FITTED"
        ) from exc
    try:
        data = pickle.dumps(model, protocol=PICKLE_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise InvalidRequest(
            f"The {name} cannot be pickled ({exc}). Replace lambdas and locally defined functions or classes in it "
            "with module-level ones, or wrap the model in a catalog.models.PythonModel (saved with cloudpickle).",
            error_code="MODEL_NOT_SERIALIZABLE",
        ) from exc
    (model_dir / MODEL_FILE).write_bytes(data)
    flavor = {
        "sklearn_version": version_of("scikit-learn"),
        "pickled_model": MODEL_FILE,
        "serialization_format": "pickle",
        "pickle_protocol": PICKLE_PROTOCOL,
        "code": None,
    }
    return flavor, {"model_path": MODEL_FILE, "predict_fn": "predict"}


def load_native(model_dir: Path, meta: ModelMetadata) -> Any:
    """Unpickle the estimator; call only after the directory was verified."""
    conf = meta.flavors.get(SKLEARN)
    if conf is None:
        raise InvalidRequest(
            f"Model '{model_dir}' has no '{SKLEARN}' flavor (it has {sorted(meta.flavors)}); load it with load_model.",
            error_code="FLAVOR_MISMATCH",
        )
    if conf.get("serialization_format") not in _FORMATS:
        raise InvalidRequest(
            f"Model '{model_dir}' uses serialization format {conf.get('serialization_format')!r}; supported are {_FORMATS}.",
            error_code="UNSUPPORTED_MODEL",
        )
    data = read_verified(model_dir, conf.get("pickled_model"), meta.files)
    saved = conf.get("sklearn_version")
    installed = version_of("scikit-learn")
    if saved != installed:
        warnings.warn(
            f"Model '{model_dir}' was saved with scikit-learn {saved}, but {installed} is installed; "
            "predictions may differ. Install the versions in its requirements.txt.",
            stacklevel=3,
        )
    return pickle.loads(data)


class SklearnPredictor:
    """``predict`` for the pyfunc wrapper."""

    def __init__(self, estimator: Any) -> None:
        self.raw = estimator

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        if params:
            raise InvalidRequest(
                f"scikit-learn models take no inference parameters; got {sorted(params)}.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return self.raw.predict(data)


def load_pyfunc(model_dir: Path, meta: ModelMetadata) -> SklearnPredictor:
    return SklearnPredictor(load_native(model_dir, meta))
