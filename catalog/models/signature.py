"""Model signatures: the columns (or tensor) a model takes and returns, MLflow-compatible.

A column schema is a JSON list like ``[{"name": "x", "type": "double", "required": true}]``; a
tensor schema is ``[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}]``.
``MLmodel`` stores each schema as such a JSON string, exactly as MLflow does, so either tool can
read the other's signature. pandas and numpy are imported only when a signature is inferred.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from catalog.errors import InvalidRequest


class DataType(StrEnum):
    """MLflow's column types, with the numpy dtype each one is held in."""

    boolean = "boolean"
    integer = "integer"
    long = "long"
    float = "float"
    double = "double"
    string = "string"
    binary = "binary"
    datetime = "datetime"

    @property
    def numpy_dtype(self) -> str:
        return _NUMPY[self]


_NUMPY = {
    DataType.boolean: "bool",
    DataType.integer: "int32",
    DataType.long: "int64",
    DataType.float: "float32",
    DataType.double: "float64",
    DataType.string: "object",
    DataType.binary: "object",
    DataType.datetime: "datetime64[ns]",
}


@dataclass(frozen=True)
class ColSpec:
    """One column: its type, its name (``None`` for an unnamed output), whether it is required."""

    type: DataType
    name: str | None = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type.value}
        if self.name is not None:
            body["name"] = self.name
        body["required"] = self.required
        return body


@dataclass(frozen=True)
class TensorSpec:
    """A numpy array input or output: its dtype and shape (``-1`` is any size)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "tensor", "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)}}
        if self.name is not None:
            body["name"] = self.name
        return body


@dataclass(frozen=True)
class Schema:
    """An ordered list of column specs, or of tensor specs (never a mix)."""

    inputs: tuple[ColSpec | TensorSpec, ...]

    def __post_init__(self) -> None:
        if not self.inputs:
            raise _bad_signature("a schema needs at least one column or tensor")
        kinds = {type(spec) for spec in self.inputs}
        if len(kinds) > 1:
            raise _bad_signature("a schema holds either column specs or tensor specs, not both")
        names = [spec.name for spec in self.inputs]
        if any(n is None for n in names) and any(n is not None for n in names):
            raise _bad_signature("either every column of a schema is named or none is")
        named = [n for n in names if n is not None]
        if len(set(named)) != len(named):
            raise _bad_signature(f"column names repeat: {named}")

    @property
    def is_tensor(self) -> bool:
        return isinstance(self.inputs[0], TensorSpec)

    @property
    def has_names(self) -> bool:
        return self.inputs[0].name is not None

    def input_names(self) -> list[str]:
        return [spec.name for spec in self.inputs if spec.name is not None]

    def to_list(self) -> list[dict[str, Any]]:
        return [spec.to_dict() for spec in self.inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_list())

    @classmethod
    def from_json(cls, value: str | list[dict[str, Any]]) -> Schema:
        """Parse MLflow's JSON form (a string or the already decoded list)."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise _bad_signature(f"schema is not valid JSON ({exc.msg})") from exc
        if not isinstance(value, list):
            raise _bad_signature("a schema is a JSON list of column or tensor specs")
        return cls(tuple(_spec_from_dict(item) for item in value))


def _spec_from_dict(item: object) -> ColSpec | TensorSpec:
    if not isinstance(item, dict):
        raise _bad_signature(f"spec {item!r} is not an object")
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise _bad_signature(f"column name {name!r} is not a string")
    kind = item.get("type")
    if kind == "tensor":
        spec = item.get("tensor-spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("dtype"), str):
            raise _bad_signature(f"tensor spec {item!r} needs 'tensor-spec' with 'dtype' and 'shape'")
        shape = spec.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= -1 for d in shape):
            raise _bad_signature(f"tensor shape {shape!r} must be a list of sizes (-1 for any)")
        return TensorSpec(dtype=spec["dtype"], shape=tuple(shape), name=name)
    try:
        data_type = DataType(kind)
    except ValueError:
        supported = ", ".join(t.value for t in DataType)
        raise _bad_signature(f"column type {kind!r} is not supported; use one of {supported} or 'tensor'") from None
    required = item.get("required", True)
    if not isinstance(required, bool):
        raise _bad_signature(f"'required' of column {name!r} must be true or false")
    return ColSpec(type=data_type, name=name, required=required)


@dataclass(frozen=True)
class ModelSignature:
    """What a model takes (``inputs``) and returns (``outputs``); either may be unknown."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: Any = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """The ``signature`` block of ``MLmodel``: each schema as a JSON string, like MLflow."""
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": None,
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> ModelSignature:
        if not isinstance(value, dict):
            raise _bad_signature("a signature is a mapping with 'inputs' and 'outputs'")
        unknown = set(value) - {"inputs", "outputs", "params"}
        if unknown:
            raise _bad_signature(f"unknown signature keys {sorted(unknown)}")
        if value.get("params") is not None:
            raise _bad_signature("inference parameters in signatures are not supported yet")
        inputs, outputs = value.get("inputs"), value.get("outputs")
        return cls(
            inputs=Schema.from_json(inputs) if inputs is not None else None,
            outputs=Schema.from_json(outputs) if outputs is not None else None,
        )


def coerce_signature(value: ModelSignature | dict[str, Any] | None) -> ModelSignature | None:
    """A :class:`ModelSignature` from itself or its dict form (as in ``MLmodel``)."""
    if value is None or isinstance(value, ModelSignature):
        return value
    return ModelSignature.from_dict(value)


def _bad_signature(problem: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid model signature: {problem}.", error_code="INVALID_SIGNATURE")


# -- inference -------------------------------------------------------------------------------


def infer_signature(model_input: Any, model_output: Any = None) -> ModelSignature:
    """Infer a signature from example input (and optionally output) data, like MLflow.

    Args:
        model_input: a pandas DataFrame, a dict of columns, a list of row dicts, or a numpy
            array (which gives a tensor schema).
        model_output: what the model returns for it (numpy array, Series, DataFrame, list), or None.

    Returns:
        A :class:`ModelSignature`; ``outputs`` is None when no output was given.

    Raises:
        InvalidRequest: ``SIGNATURE_INFERENCE_FAILED`` when a column's type cannot be mapped.
    """
    inputs = infer_schema(model_input, what="model input")
    outputs = infer_schema(model_output, what="model output") if model_output is not None else None
    return ModelSignature(inputs=inputs, outputs=outputs)


def infer_schema(data: Any, *, what: str = "data") -> Schema:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return Schema(tuple(ColSpec(_column_type(data[c], str(c), what), name=str(c)) for c in data.columns))
    if isinstance(data, pd.Series):
        name = data.name if isinstance(data.name, str) else None
        return Schema((ColSpec(_column_type(data, name or "0", what), name=name),))
    if isinstance(data, dict) or (isinstance(data, list) and data and all(isinstance(r, dict) for r in data)):
        return infer_schema(to_dataframe(data), what=what)
    if isinstance(data, list):
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        if data.ndim == 0:
            raise _inference_failed(what, "a scalar has no schema; pass an array or a DataFrame")
        if data.ndim == 1:
            return Schema((ColSpec(_column_type(pd.Series(data), "0", what)),))
        if data.dtype.kind not in "biuf":
            raise _inference_failed(what, f"a {data.ndim}-dimensional array of {data.dtype} cannot be a tensor")
        return Schema((TensorSpec(dtype=str(data.dtype), shape=(-1, *data.shape[1:])),))
    raise _inference_failed(
        what, f"type {type(data).__module__}.{type(data).__qualname__} is not a DataFrame, dict, list or array"
    )


def to_dataframe(data: Any):
    """A dict of columns or a list of row dicts as a DataFrame (a dict of scalars is one row)."""
    import numpy as np
    import pandas as pd

    if isinstance(data, dict) and not any(isinstance(v, list | tuple | np.ndarray | pd.Series) for v in data.values()):
        return pd.DataFrame([data])
    return pd.DataFrame(data)


def _column_type(series: Any, name: str, what: str) -> DataType:
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _column_type(series.astype(dtype.categories.dtype), name, what)
    if pd.api.types.is_bool_dtype(dtype):
        return DataType.boolean
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DataType.datetime
    if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "U"):
        return DataType.string
    if isinstance(dtype, np.dtype) and dtype.kind == "S":
        return DataType.binary
    if pd.api.types.is_integer_dtype(dtype):
        numpy_dtype = np.dtype(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype)
        if np.can_cast(numpy_dtype, np.int32):
            return DataType.integer
        if np.can_cast(numpy_dtype, np.int64):
            return DataType.long
        raise _inference_failed(what, f"column '{name}' is {numpy_dtype}, which does not fit a signed 64-bit long")
    if pd.api.types.is_float_dtype(dtype):
        numpy_dtype = np.dtype(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype)
        return DataType.float if numpy_dtype.itemsize <= 4 else DataType.double
    if pd.api.types.is_object_dtype(dtype):
        values = [v for v in series.tolist() if v is not None and not (isinstance(v, float) and v != v)]
        if values and all(isinstance(v, str) for v in values):
            return DataType.string
        if values and all(isinstance(v, bytes | bytearray) for v in values):
            return DataType.binary
        if values and all(isinstance(v, bool | np.bool_) for v in values):
            return DataType.boolean
        kinds = sorted({type(v).__name__ for v in values}) or ["only missing values"]
        raise _inference_failed(what, f"column '{name}' holds {', '.join(kinds)}; give it one type")
    raise _inference_failed(what, f"column '{name}' has type {dtype}, which has no signature type")


def _inference_failed(what: str, problem: str) -> InvalidRequest:
    return InvalidRequest(
        f"Cannot infer a signature from the {what}: {problem}. Pass signature=... explicitly instead.",
        error_code="SIGNATURE_INFERENCE_FAILED",
    )
