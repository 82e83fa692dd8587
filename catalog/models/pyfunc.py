"""``PyFuncModel``: one ``predict`` for every flavor, with the signature enforced."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from catalog.errors import InvalidRequest
from catalog.models.descriptor import ModelMetadata
from catalog.models.enforcement import as_model_input, enforce_schema


class Predictor(Protocol):
    raw: Any

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any: ...


class PyFuncModel:
    """A loaded, verified model. Build it with :func:`catalog.models.load_model`.

    Attributes:
        metadata: the parsed ``MLmodel`` (flavors, signature, run_id, model_uuid, digest, ...).
        path: the model directory it was loaded from.
    """

    def __init__(self, path: Path, metadata: ModelMetadata, predictor: Predictor, input_example: Any = None) -> None:
        self.path = path
        self.metadata = metadata
        self._predictor = predictor
        self._input_example = input_example

    @property
    def flavor(self) -> str:
        """The native flavor: ``sklearn`` or ``python_model``."""
        return next(name for name in self.metadata.flavors if name != "python_function")

    @property
    def input_example(self) -> Any:
        """The input example saved with the model (DataFrame or array), or None."""
        return self._input_example

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predictions for ``data``: a DataFrame, a list of row dicts, a dict of columns or a numpy array.

        With an input signature, required columns must be present, extra ones are dropped and
        types are cast where no information is lost.

        Returns:
            What the model returns: a numpy array for scikit-learn, anything for a PythonModel.

        Raises:
            InvalidRequest: ``SCHEMA_MISMATCH`` naming the missing column or mismatched type.
        """
        schema = self.metadata.get_input_schema()
        prepared = enforce_schema(data, schema, model=str(self.path)) if schema else as_model_input(data)
        return self._predictor.predict(prepared, params)

    def unwrap_python_model(self) -> Any:
        """The user's :class:`PythonModel` instance (custom models only)."""
        if self.flavor != "python_model":
            raise InvalidRequest(
                f"Model '{self.path}' is a {self.flavor} model, not a PythonModel; use get_raw_model() instead.",
                error_code="FLAVOR_MISMATCH",
            )
        return self._predictor.raw

    def get_raw_model(self) -> Any:
        """The native object: the scikit-learn estimator, or the PythonModel instance."""
        return self._predictor.raw

    unwrap = get_raw_model

    def __repr__(self) -> str:
        return f"PyFuncModel(path='{self.path}', flavor='{self.flavor}', model_uuid='{self.metadata.model_uuid}')"
