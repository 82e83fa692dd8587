"""Input examples: ``input_example.json`` beside the model.

A table is stored in pandas ``split`` orient without the index (``{"columns": [...], "data":
[[...], ...]}``), an array as ``{"inputs": [...]}`` — MLflow's two layouts. Values are written
as plain JSON (floats keep every digit, timestamps become ISO 8601, bytes base64, missing values
null); loading casts columns back with the model's signature when there is one.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from catalog.errors import InvalidRequest
from catalog.models.signature import DataType, Schema, to_dataframe

EXAMPLE_FILE = "input_example.json"


def serialize_example(example: Any) -> tuple[bytes, dict[str, Any]]:
    """The JSON bytes of ``example`` and the ``saved_input_example_info`` block for ``MLmodel``."""
    import numpy as np
    import pandas as pd

    if isinstance(example, dict) or (
        isinstance(example, list) and example and all(isinstance(r, dict) for r in example)
    ):
        example = to_dataframe(example)
    if isinstance(example, pd.DataFrame):
        columns = [str(c) for c in example.columns]
        rows = [[_plain(v) for v in row] for row in example.astype(object).itertuples(index=False, name=None)]
        body = {"columns": columns, "data": rows}
        info = {"artifact_path": EXAMPLE_FILE, "type": "dataframe", "pandas_orient": "split"}
    elif isinstance(example, np.ndarray | list):
        body = {"inputs": _plain(np.asarray(example).tolist())}
        info = {"artifact_path": EXAMPLE_FILE, "type": "ndarray", "format": "tf-serving"}
    else:
        raise InvalidRequest(
            f"input_example of type {type(example).__name__} is not supported; pass a pandas DataFrame, a dict "
            "of columns, a list of row dicts or a numpy array.",
            error_code="INVALID_INPUT_EXAMPLE",
        )
    try:
        text = json.dumps(body, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(
            f"input_example cannot be written as JSON ({exc}); use numbers, strings, booleans, bytes or timestamps.",
            error_code="INVALID_INPUT_EXAMPLE",
        ) from exc
    return text.encode(), info


def _plain(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN/NaT as null, timestamps ISO."""
    import numpy as np
    import pandas as pd

    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "isoformat"):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def deserialize_example(data: bytes, info: dict[str, Any], schema: Schema | None) -> Any:
    """The example saved by :func:`serialize_example`, with column types restored from ``schema``."""
    import numpy as np
    import pandas as pd

    body = json.loads(data)
    if info.get("type") == "ndarray":
        array = np.asarray(body["inputs"])
        if schema is not None and schema.is_tensor:
            array = array.astype(schema.inputs[0].dtype)  # type: ignore[union-attr]
        return array
    frame = pd.DataFrame(body["data"], columns=body["columns"])
    if schema is None or schema.is_tensor or not schema.has_names:
        return frame
    for spec in schema.inputs:
        if spec.name not in frame.columns:
            continue
        column = frame[spec.name]
        if spec.type is DataType.datetime:
            frame[spec.name] = pd.to_datetime(column, format="ISO8601")
        elif spec.type is DataType.binary:
            frame[spec.name] = [None if v is None else base64.b64decode(v) for v in column]
        elif spec.type not in (DataType.string,) and not column.isna().any():
            frame[spec.name] = column.astype(spec.type.numpy_dtype)
    return frame
