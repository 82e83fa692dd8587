"""Checking prediction input against a model's input schema, and the casts that are allowed.

Like MLflow: required columns must be present (extra columns are dropped, columns are put in
signature order), and a column is cast to its declared type only when no information is lost
(int -> long/double, int32 <- int64 when every value fits, float <- double because JSON cannot
say float32, ISO strings -> datetime). Anything else is refused with ``SCHEMA_MISMATCH``.
"""

from __future__ import annotations

from typing import Any

from catalog.errors import InvalidRequest
from catalog.models.signature import ColSpec, DataType, Schema, TensorSpec, to_dataframe


def as_model_input(data: Any) -> Any:
    """Rows given as a list of dicts (or a dict of columns) become a DataFrame; others pass through."""
    if isinstance(data, dict) or (isinstance(data, list) and data and all(isinstance(r, dict) for r in data)):
        return to_dataframe(data)
    return data


def enforce_schema(data: Any, schema: Schema, *, model: str) -> Any:
    """``data`` checked against ``schema`` and cast to it (a new object; the caller's is untouched).

    Raises:
        InvalidRequest: ``SCHEMA_MISMATCH`` naming the missing column or the incompatible type.
    """
    data = as_model_input(data)
    if schema.is_tensor:
        return _enforce_tensor(data, schema.inputs[0], model)
    return _enforce_columns(data, schema, model)


def _enforce_columns(data: Any, schema: Schema, model: str):
    import numpy as np
    import pandas as pd

    specs: list[ColSpec] = list(schema.inputs)  # type: ignore[arg-type]
    if isinstance(data, list):
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        width = data.shape[1] if data.ndim == 2 else 1 if data.ndim == 1 else -1
        if width != len(specs):
            raise _mismatch(model, f"got an array of shape {data.shape}, but the signature has {len(specs)} columns")
        names = schema.input_names() or list(range(len(specs)))
        data = pd.DataFrame(data.reshape(len(data), -1), columns=names)
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise _mismatch(model, f"input of type {type(data).__name__} is not a DataFrame, list of dicts or array")
    if not schema.has_names:
        if data.shape[1] != len(specs):
            raise _mismatch(model, f"got {data.shape[1]} columns, but the signature has {len(specs)}")
        return pd.DataFrame(
            {
                column: _cast(data[column], spec, str(column), model)
                for column, spec in zip(data.columns, specs, strict=True)
            }
        )
    missing = [spec.name for spec in specs if spec.required and spec.name not in data.columns]
    if missing:
        listed = ", ".join(f"'{name}'" for name in missing)
        raise _mismatch(
            model,
            f"input is missing required column(s) {listed}; add them (the signature lists {schema.input_names()})",
        )
    if list(data.columns) == [spec.name for spec in specs] and all(
        _already(dtype, spec) for dtype, spec in zip(data.dtypes, specs, strict=True)
    ):
        return data.copy(deep=False)  # the common case when serving: nothing to check or cast
    return pd.DataFrame(
        {spec.name: _cast(data[spec.name], spec, spec.name, model) for spec in specs if spec.name in data.columns},
        index=data.index,
    )


_NUMERIC = (DataType.integer, DataType.long, DataType.float, DataType.double)


def _already(dtype: Any, spec: ColSpec) -> bool:
    """Whether a column of ``dtype`` already is what ``spec`` asks for: a numpy integer or float
    column of exactly the declared type (integer columns cannot hold missing values; float
    columns may, as the signature allows)."""
    import numpy as np

    return spec.type in _NUMERIC and isinstance(dtype, np.dtype) and dtype == np.dtype(spec.type.numpy_dtype)


def _cast(values: Any, spec: ColSpec, name: str, model: str):
    import numpy as np
    import pandas as pd

    dtype = values.dtype
    target = spec.type

    def refuse(extra: str = "") -> InvalidRequest:
        return _mismatch(model, f"column '{name}' has type {dtype}, but the signature expects {target.value}{extra}")

    if values.isna().any() and target not in (DataType.string, DataType.binary, DataType.double, DataType.float):
        raise _mismatch(model, f"column '{name}' has missing values, but the signature expects {target.value} values")
    if target in (DataType.integer, DataType.long):
        if not pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise refuse("; cast it explicitly if no precision is lost")
        wanted = np.dtype(target.numpy_dtype)
        source = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        if not np.can_cast(source, wanted):
            info = np.iinfo(wanted)
            if len(values) and (values.min() < info.min or values.max() > info.max):
                raise refuse(" and some values do not fit")
        return values.astype(wanted)
    if target in (DataType.float, DataType.double):
        if pd.api.types.is_bool_dtype(dtype) or not (
            pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype)
        ):
            raise refuse()
        return values.astype(np.dtype(target.numpy_dtype))
    if target is DataType.boolean:
        if pd.api.types.is_bool_dtype(dtype):
            return values.astype(bool)
        if pd.api.types.is_object_dtype(dtype) and all(isinstance(v, bool | np.bool_) for v in values):
            return values.astype(bool)
        raise refuse()
    if target is DataType.string:
        present = values.dropna()
        if pd.api.types.is_string_dtype(dtype) and all(isinstance(v, str) for v in present):
            return values
        raise refuse()
    if target is DataType.binary:
        if all(isinstance(v, bytes | bytearray) for v in values.dropna()):
            return values
        raise refuse()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return values
    if pd.api.types.is_string_dtype(dtype):
        try:
            return pd.to_datetime(values, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise refuse(f" and its strings are not ISO 8601 timestamps ({exc})") from exc
    raise refuse()


def _enforce_tensor(data: Any, spec: TensorSpec, model: str):
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame | pd.Series):
        data = data.to_numpy()
    if isinstance(data, list):
        data = np.asarray(data)
    if not isinstance(data, np.ndarray):
        raise _mismatch(model, f"input of type {type(data).__name__} is not an array; the signature expects a tensor")
    wanted = np.dtype(spec.dtype)
    if data.dtype != wanted and not np.can_cast(data.dtype, wanted):
        raise _mismatch(model, f"input has dtype {data.dtype}, which cannot be cast to {wanted} without loss")
    if len(spec.shape) != data.ndim or any(s not in (-1, d) for s, d in zip(spec.shape, data.shape, strict=True)):
        raise _mismatch(model, f"input has shape {data.shape}, but the signature expects {list(spec.shape)}")
    return data.astype(wanted, copy=False)


def _mismatch(model: str, problem: str) -> InvalidRequest:
    return InvalidRequest(
        f"Input does not match the signature of model '{model}': {problem}.", error_code="SCHEMA_MISMATCH"
    )
