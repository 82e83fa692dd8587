"""How values cross HTTP between the remote client and the server.

Frames travel as Arrow IPC streams (types, nulls and time zones intact; no JSON rows). Other
values travel as JSON in which the objects the API returns (runs, model versions, lineage
graphs, ...) are tagged with ``"$type"``. Only the types registered here are rebuilt on the
other side: a body can never name an arbitrary class.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

import pandas as pd
import pyarrow as pa

from catalog.errors import InvalidRequest

ARROW_STREAM = "application/vnd.apache.arrow.stream"
TYPE_KEY = "$type"

_TYPES: dict[str, type] = {}
_CUSTOM: dict[str, tuple[type, Callable[[Any], dict[str, Any]], Callable[[dict[str, Any]], Any]]] = {}


def register(cls: type) -> type:
    """Let instances of the dataclass ``cls`` cross the wire (usable as a decorator)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    _TYPES[cls.__name__] = cls
    return cls


def register_custom(
    cls: type, to_fields: Callable[[Any], dict[str, Any]], from_fields: Callable[[dict[str, Any]], Any]
) -> None:
    """Let instances of ``cls`` cross the wire as the fields ``to_fields`` gives."""
    _CUSTOM[cls.__name__] = (cls, to_fields, from_fields)


# -- frames as Arrow IPC ---------------------------------------------------------------------
def frame_to_arrow(frame: pd.DataFrame) -> bytes:
    """``frame`` as an Arrow IPC stream (the index is dropped; ``attrs`` travel in the schema)."""
    return arrow_buffer(frame).to_pybytes()


def arrow_buffer(frame: pd.DataFrame) -> pa.Buffer:
    """:func:`frame_to_arrow` without the final copy into ``bytes`` (a response body can be
    any buffer: for a large frame that copy is tens of milliseconds)."""
    names = list(frame.columns)
    extra: dict[bytes, bytes] = {}
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        # Arrow wants unique string names; the receiver restores these and judges them itself.
        frame = frame.set_axis([f"_{i}" for i in range(len(names))], axis=1)
        extra[b"catalog.columns"] = json.dumps([_plain_name(n) for n in names]).encode()
    if frame.attrs:
        extra[b"catalog.attrs"] = json.dumps(frame.attrs, default=str).encode()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if extra:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def arrow_to_frame(data: bytes) -> pd.DataFrame:
    """The frame an Arrow IPC stream holds (InvalidRequest when the bytes are not one, or hold
    what pandas cannot represent: union columns, malformed pandas or catalog metadata)."""
    try:
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
        meta = table.schema.metadata or {}
        frame = table.to_pandas()
        if b"catalog.columns" in meta:
            frame.columns = json.loads(meta[b"catalog.columns"])
        attrs = json.loads(meta.get(b"catalog.attrs") or b"{}")
        if not isinstance(attrs, dict):
            raise ValueError("the schema's catalog.attrs metadata is not a JSON object")
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        raise InvalidRequest(
            f"The request body is not an Arrow IPC stream of a DataFrame ({exc}). Send the frame as "
            f"'{ARROW_STREAM}' (pyarrow.ipc.new_stream).",
            error_code="MALFORMED_REQUEST",
        ) from exc
    frame.attrs.update(attrs)
    return frame


def _plain_name(name: Any) -> Any:
    return name if name is None or isinstance(name, str | int | float | bool) else str(name)


# -- JSON with tagged objects ----------------------------------------------------------------
def encode(value: Any) -> Any:
    """``value`` as JSON-ready data (frames as base64 Arrow, registered objects tagged)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, pd.DataFrame):
        return {TYPE_KEY: "DataFrame", "arrow": base64.b64encode(frame_to_arrow(value)).decode()}
    if isinstance(value, bytes | bytearray):
        return {TYPE_KEY: "bytes", "base64": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return {TYPE_KEY: "datetime", "iso": value.isoformat()}
    if isinstance(value, date):
        return {TYPE_KEY: "date", "iso": value.isoformat()}
    if isinstance(value, PurePath):
        return str(value)
    name = type(value).__name__
    if name in _CUSTOM and isinstance(value, _CUSTOM[name][0]):
        return {TYPE_KEY: name, **{k: encode(v) for k, v in _CUSTOM[name][1](value).items()}}
    if dataclasses.is_dataclass(value) and _TYPES.get(name) is type(value):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {TYPE_KEY: name, **fields}
    if isinstance(value, dict):
        if TYPE_KEY in value:
            raise InvalidRequest(f"A mapping may not use the key '{TYPE_KEY}'.", error_code="INVALID_PARAMETER_VALUE")
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return encode(value.item())
    raise InvalidRequest(
        f"A {name} value cannot be sent to the catalog server; pass numbers, text, lists, mappings or DataFrames.",
        error_code="INVALID_PARAMETER_VALUE",
    )


def decode(value: Any) -> Any:
    """The value :func:`encode` was given, rebuilt (tuples come back as lists)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(TYPE_KEY)
    if kind is None:
        return {k: decode(v) for k, v in value.items()}
    try:
        return _decode_tagged(kind, value)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRequest(
            f"A '{kind}' value in the request is malformed ({exc}).", error_code="MALFORMED_REQUEST"
        ) from exc


def _decode_tagged(kind: str, value: dict[str, Any]) -> Any:
    if kind == "DataFrame":
        return arrow_to_frame(base64.b64decode(value["arrow"], validate=True))
    if kind == "bytes":
        return base64.b64decode(value["base64"], validate=True)
    if kind == "datetime":
        return datetime.fromisoformat(value["iso"])
    if kind == "date":
        return date.fromisoformat(value["iso"])
    fields = {k: decode(v) for k, v in value.items() if k != TYPE_KEY}
    if kind in _CUSTOM:
        return _CUSTOM[kind][2](fields)
    cls = _TYPES.get(kind)
    if cls is None:
        raise InvalidRequest(f"Unknown value type '{kind}' in the request.", error_code="MALFORMED_REQUEST")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(fields) - set(names)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}")
    # Built field by field, as the dataclass stores them: frozen classes and classes with their
    # own __init__ (Metric) alike; tuple fields come back as tuples.
    obj = object.__new__(cls)
    for name, field in names.items():
        item = fields.get(name, field.default)
        if item is dataclasses.MISSING:
            if field.default_factory is not dataclasses.MISSING:
                item = field.default_factory()
            else:
                raise ValueError(f"field '{name}' is missing")
        if isinstance(item, list) and "tuple" in str(field.type):
            item = tuple(item)
        object.__setattr__(obj, name, item)
    return obj


def dumps(value: Any) -> bytes:
    return json.dumps(encode(value), separators=(",", ":")).encode()


def loads(data: bytes | str) -> Any:
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"The request body is not valid JSON ({exc}).", error_code="MALFORMED_REQUEST") from exc
    except RecursionError:
        raise _unusable(f"it nests deeper than {MAX_DEPTH} levels") from None
    check_parsed(parsed)
    return decode(parsed)


# JSON may nest deeper than Python can recurse, and may spell lone surrogates ("\ud800") that
# are not Unicode text. Neither is anything a client means to send, and the engine would fail on
# them rather than refuse them, so they are refused at the server's door.
MAX_DEPTH = 100


def screen_json(data: bytes | str) -> None:
    """Refuse JSON text that :func:`check_parsed` refuses; text that is not JSON at all is left
    to the caller's own parser and its messages."""
    try:
        parsed = json.loads(data)
    except ValueError:  # not JSON, or not UTF-8
        return
    except RecursionError:
        raise _unusable(f"it nests deeper than {MAX_DEPTH} levels") from None
    check_parsed(parsed)


def check_parsed(value: Any, depth: int = 0) -> None:
    """Refuse a parsed JSON value that nests deeper than MAX_DEPTH or holds a lone surrogate."""
    if depth > MAX_DEPTH:
        raise _unusable(f"it nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _unusable("it holds text that is not Unicode (a lone surrogate escape)") from None
    elif isinstance(value, list):
        for item in value:
            check_parsed(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_parsed(key, depth + 1)
            check_parsed(item, depth + 1)


def _unusable(reason: str) -> InvalidRequest:
    return InvalidRequest(f"The request body cannot be used: {reason}.", error_code="MALFORMED_REQUEST")
