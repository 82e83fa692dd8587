"""The invocation request formats of the MLflow/Databricks scoring protocol, and the answer.

A request body is a JSON object with exactly one of::

    {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}}
    {"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}
    {"instances": [{"a": 1, "b": 2}]}      # or a list of scalars/lists (a tensor), or {"a": [1, 3], ...}
    {"inputs": [[1, 2], [3, 4]]}           # the same forms as "instances"

plus an optional ``"params"`` object. The answer is ``{"predictions": to_predictions(output)}``.
Serving is stricter than MLflow where MLflow guesses: rows with different keys and columns the
signature does not list are refused rather than filled with NaN or dropped.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from catalog.errors import InvalidRequest
from catalog.models.signature import ColSpec, Schema

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_SPLIT_KEYS = ("columns", "data", "index")
_ACCEPTED = ", ".join(FORMATS)


@dataclass(frozen=True)
class ParsedRequest:
    """A decoded invocation: ``data`` is a DataFrame, or a numpy array for tensor input; ``params``
    is None when the request sent none (or an empty object)."""

    data: pd.DataFrame | np.ndarray
    params: dict[str, Any] | None
    rows: int


def parse_request(body: Any, *, max_rows: int = 10_000) -> ParsedRequest:
    """The model input and params an invocation body carries.

    Args:
        body: the already-decoded JSON body.
        max_rows: the most rows one request may hold.

    Returns:
        A :class:`ParsedRequest`; ``data`` is a DataFrame except for ``instances``/``inputs``
        given as a list of scalars or lists, which is a numpy array.

    Raises:
        InvalidRequest: ``BAD_REQUEST`` naming the problem (not an object, no format or more than
            one, unknown keys, ragged rows, no rows, ...); ``TOO_MANY_ROWS`` over ``max_rows``.
    """
    if not isinstance(body, dict):
        raise _bad(f"The request body must be a JSON object; got {_json_kind(body)}. Send one of {_ACCEPTED}.")
    unknown = [key for key in body if key not in FORMATS and key != "params"]
    if unknown:
        raise _bad(
            f"The request has unknown key(s) {_listed(unknown)}; send exactly one of {_ACCEPTED}, "
            "and optionally 'params'."
        )
    present = [key for key in FORMATS if key in body]
    if not present:
        raise _bad(f"The request has none of the input keys; send exactly one of {_ACCEPTED}.")
    if len(present) > 1:
        both = "both " if len(present) == 2 else ""
        raise _bad(f"The request has {both}{_listed(present)}; send exactly one of {_ACCEPTED}.")
    params = body.get("params")
    if params is not None and not isinstance(params, dict):
        raise _bad(f"'params' must be a JSON object of parameter names to values; got {_json_kind(params)}.")
    key = present[0]
    value = body[key]
    if key == "dataframe_split":
        data = _split(value, max_rows)
    elif key == "dataframe_records":
        if not isinstance(value, list):
            raise _bad(f"'dataframe_records' must be a list of row objects; got {_json_kind(value)}.")
        data = _records(value, key, max_rows)
    else:
        data = _instances(value, key, max_rows)
    return ParsedRequest(data=data, params=params or None, rows=len(data))


def _split(value: Any, max_rows: int) -> pd.DataFrame:
    if not isinstance(value, dict):
        raise _bad(f"'dataframe_split' must be an object with 'columns' and 'data'; got {_json_kind(value)}.")
    unknown = [key for key in value if key not in _SPLIT_KEYS]
    if unknown:
        raise _bad(f"'dataframe_split' has unknown key(s) {_listed(unknown)}; it takes 'columns', 'data' and 'index'.")
    rows = value.get("data")
    if not isinstance(rows, list):
        raise _bad(f"'dataframe_split' needs 'data', a list of rows (lists of values); got {_json_kind(rows)}.")
    _check_row_count(len(rows), "dataframe_split", max_rows)
    columns = value.get("columns")
    if columns is None:
        first = rows[0]
        columns = list(range(len(first))) if isinstance(first, list) else []
    elif not isinstance(columns, list) or not all(_is_label(c) for c in columns):
        raise _bad("'columns' of 'dataframe_split' must be a list of column names.")
    if len(set(columns)) != len(columns):
        repeated = sorted({str(c) for c in columns if columns.count(c) > 1})
        raise _bad(f"'columns' of 'dataframe_split' repeats {_listed(repeated)}; name each column once.")
    for number, row in enumerate(rows):
        if not isinstance(row, list):
            raise _bad(f"Row {number} of 'dataframe_split' is {_json_kind(row)}, not a list of values.")
        if len(row) != len(columns):
            raise _bad(
                f"Row {number} of 'dataframe_split' has {len(row)} value(s), but there are {len(columns)} "
                f"column(s) {_listed(columns)}; give every row one value per column."
            )
    index = value.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(rows)):
        raise _bad(f"'index' of 'dataframe_split' must be a list with one label per row ({len(rows)}).")
    return pd.DataFrame(rows, columns=columns, index=index)


def _records(rows: list[Any], key: str, max_rows: int) -> pd.DataFrame:
    _check_row_count(len(rows), key, max_rows)
    keys: list[str] | None = None
    for number, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _bad(f"Row {number} of '{key}' is {_json_kind(row)}, not an object of column names to values.")
        if keys is None:
            keys = list(row)
        elif row.keys() != set(keys):
            # MLflow fills a missing key with NaN: a misspelt key would silently become a missing value.
            raise _bad(
                f"Row {number} of '{key}' has the keys {_listed(sorted(row))}, but row 0 has "
                f"{_listed(sorted(keys))}; give every row the same keys (null for a missing value)."
            )
    return pd.DataFrame({name: [row[name] for row in rows] for name in keys or []}, index=pd.RangeIndex(len(rows)))


def _instances(value: Any, key: str, max_rows: int) -> pd.DataFrame | np.ndarray:
    if isinstance(value, dict):
        return _columns(value, key, max_rows)
    if not isinstance(value, list):
        raise _bad(
            f"'{key}' must be a list of rows (objects, or values for a tensor) or an object of columns; "
            f"got {_json_kind(value)}."
        )
    _check_row_count(len(value), key, max_rows)
    objects = [isinstance(row, dict) for row in value]
    if all(objects):
        return _records(value, key, max_rows)
    if any(objects):
        raise _bad(f"'{key}' mixes row objects with other values; send either objects or a tensor, not both.")
    try:
        return np.asarray(value)
    except ValueError:
        raise _bad(
            f"'{key}' is ragged: its rows differ in length or nesting; a tensor needs the same shape in every row."
        ) from None


def _columns(value: dict[str, Any], key: str, max_rows: int) -> pd.DataFrame:
    if not value:
        raise _bad(f"The request holds no rows: '{key}' is an empty object; send at least one column.")
    is_list = [isinstance(column, list) for column in value.values()]
    if not any(is_list):
        return pd.DataFrame({name: [column] for name, column in value.items()})
    if not all(is_list):
        raise _bad(f"'{key}' mixes columns (lists) with single values; give every column as a list of values.")
    lengths = {name: len(column) for name, column in value.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"'{name}' has {n}" for name, n in lengths.items())
        raise _bad(f"The columns of '{key}' differ in length ({described}); give every column one value per row.")
    _check_row_count(next(iter(lengths.values())), key, max_rows)
    return pd.DataFrame(value)


def _check_row_count(rows: int, key: str, max_rows: int) -> None:
    if rows == 0:
        raise _bad(f"The request holds no rows: '{key}' is empty; send at least one row.")
    if rows > max_rows:
        raise InvalidRequest(
            f"The request holds {rows} rows; the limit is {max_rows} rows per request. Split it into smaller requests.",
            error_code="TOO_MANY_ROWS",
        )


def check_columns(frame: pd.DataFrame, schema: Schema | None, *, endpoint: str) -> None:
    """Refuse a request whose columns are not exactly the signature's named input columns.

    Missing optional columns are fine; types are left to ``enforce_schema``. Tensor and unnamed
    signatures, no signature, and array input are not checked here.

    Raises:
        InvalidRequest: ``BAD_REQUEST`` naming the missing required and the unknown columns.
    """
    if schema is None or schema.is_tensor or not schema.has_names or not isinstance(frame, pd.DataFrame):
        return
    specs = [spec for spec in schema.inputs if isinstance(spec, ColSpec)]
    names = [spec.name for spec in specs]
    present = set(frame.columns)
    missing = [spec.name for spec in specs if spec.required and spec.name not in present]
    extra = [column for column in frame.columns if column not in set(names)]
    if not missing and not extra:
        return
    problems = []
    if missing:
        problems.append(f"lacks the required column(s) {_listed(missing)}")
    if extra:
        # MLflow drops unknown columns; refusing them means a misspelt column never goes unnoticed.
        problems.append(f"has column(s) {_listed(extra)} that the model's signature does not list")
    raise InvalidRequest(
        f"The request to endpoint '{endpoint}' {' and '.join(problems)}; the model takes {_listed(names)}.",
        error_code="BAD_REQUEST",
        details={"missing_columns": [str(c) for c in missing], "unknown_columns": [str(c) for c in extra]},
    )


def to_predictions(output: Any) -> list[Any]:
    """What a model returned, as JSON-ready values: one entry per row where the output has rows.

    numpy arrays become (nested) lists, a Series a list, a DataFrame a list of row objects, a dict
    of columns a list of row objects too; NaN and other missing values become None, numpy scalars
    Python ones, timestamps ISO 8601 strings and bytes base64 text. A single value becomes a
    one-element list.
    """
    if isinstance(output, pd.DataFrame):
        columns = [str(c) for c in output.columns]
        return [dict(zip(columns, map(_value, row), strict=True)) for row in output.itertuples(index=False, name=None)]
    if isinstance(output, pd.Series | pd.Index):
        return [_value(v) for v in output.tolist()]
    if isinstance(output, np.ndarray):
        return _array(output) if output.ndim else [_value(output[()])]
    if isinstance(output, Mapping):
        if any(isinstance(v, list | tuple | np.ndarray | pd.Series) for v in output.values()):
            return to_predictions(pd.DataFrame(dict(output)))
        return [_value(output)]
    if isinstance(output, list | tuple):
        return [_value(v) for v in output]
    return [_value(output)]


def _array(array: np.ndarray) -> list[Any]:
    if array.dtype.kind in "biu":
        return array.tolist()
    if array.dtype.kind in "mM":
        # tolist() turns nanosecond timestamps into bare ints; element by element keeps the unit.
        return [_array(item) if array.ndim > 1 else _value(item) for item in array]
    return _value(array.tolist())


def _value(value: Any) -> Any:
    """One value made JSON-ready (recursively through lists, tuples and dicts)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, Mapping):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, np.datetime64 | np.timedelta64):
        if np.isnat(value):
            return None
        return _value(pd.Timestamp(value) if isinstance(value, np.datetime64) else pd.Timedelta(value))
    if isinstance(value, np.generic):
        return _value(value.item())
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return pd.Timedelta(value).isoformat()
    return value


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(message, error_code="BAD_REQUEST")


def _listed(names: list[Any]) -> str:
    quoted = [f"'{name}'" for name in names]
    if not quoted:
        return "none"
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _is_label(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else kinds.get(type(value), f"a {type(value).__name__}")
