"""The remote catalog: the same interface as the embedded one, over the catalog server's REST API.

    cat = catalog.connect("http://127.0.0.1:8080", token=token)

Frames travel as Arrow IPC; errors come back as the same exception classes, with the same
codes, that the engine raised on the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd
import requests

from catalog import wire
from catalog.api import Catalog, CreateMode, Lineage, PolicyFiles, WriteMode
from catalog.errors import CatalogError, InvalidRequest, ServerUnavailable, Unauthenticated, error_from_dict
from catalog.lineage.capture import SOURCE_ATTR
from catalog.lineage.graph import LineageGraph
from catalog.server.auth import CURRENT_CATALOG_HEADER, CURRENT_SCHEMA_HEADER

if TYPE_CHECKING:
    from catalog.serving.runtime import Invocation

TOKEN_ENV = "CATALOG_TOKEN"
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 3600  # a long query or a large table write
_CHUNK_BYTES = 1024 * 1024


class RemoteCatalog(Catalog):
    """A connection to a catalog server as the user the token belongs to."""

    def __init__(self, url: str, token: str | None, *, user: str | None = None) -> None:
        if not token:
            raise Unauthenticated(
                f"Connecting to {url} needs a token: pass token=... or set ${TOKEN_ENV}. An admin creates "
                "one with `catalog tokens create --user <name>`.",
                error_code="UNAUTHENTICATED",
            )
        self.url = url.rstrip("/")
        self._http = requests.Session()
        self._http.headers.update({"Authorization": f"Bearer {token}", "User-Agent": "catalog-python-remote"})
        self._current: dict[str, str] = {}
        self._closed = False
        self.read_listeners: list[Callable[[str, pd.DataFrame], None]] = []
        try:
            me = self._json("GET", "/api/v1/me")
        except BaseException:
            self._http.close()
            raise
        self.user: str = me["user"]
        self._namespace: str = me["lineage_namespace"]
        if user is not None and user.strip().lower() != self.user:
            self.close()
            raise InvalidRequest(
                f"The token acts as user '{self.user}', not '{user}'; leave user= out, or use {user}'s token.",
                error_code="INVALID_PARAMETER_VALUE",
            )

    def __repr__(self) -> str:
        return f"<RemoteCatalog url={self.url!r} user={getattr(self, 'user', '?')!r}>"

    # -- HTTP ------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> bytes:
        """The body of a successful response (the error the server describes otherwise)."""
        return self._exchange(method, path, **kwargs)[0]

    def _exchange(
        self, method: str, path: str, *, retry: bool | None = None, **kwargs: Any
    ) -> tuple[bytes, Mapping[str, str]]:
        """The body and headers of a successful response (the error the server describes otherwise).

        A request that changes nothing (GET, or ``retry=True``: a read-only operation) is sent
        once more when the connection fails: a kept-alive connection the server has just closed
        for idleness fails that way, before the server saw anything."""
        safe = method in ("GET", "HEAD") if retry is None else retry
        for attempt in (1, 2):
            try:
                return self._send(method, path, **kwargs)
            except ServerUnavailable:
                if not safe or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, **kwargs: Any) -> tuple[bytes, Mapping[str, str]]:
        if self._closed:
            raise InvalidRequest(
                "This catalog connection is closed; open a new one with catalog.connect().",
                error_code="CONNECTION_CLOSED",
            )
        headers = dict(kwargs.pop("headers", {}))
        headers.update(self._current)
        try:
            response = self._http.request(
                method,
                self.url + path,
                headers=headers,
                timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
                stream=True,
                **kwargs,
            )
            # Large frames arrive in MiB pieces: requests' default of 10 KB costs CPU per byte.
            body = b"".join(response.iter_content(_CHUNK_BYTES))
        # ChunkedEncodingError: the connection dropped while the answer was read (the server died)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise ServerUnavailable(
                f"Cannot reach the catalog server at {self.url} ({type(exc).__name__}). Check that "
                "`catalog server` is running there and the URL is right.",
            ) from None
        if response.status_code >= 400:
            raise _error(response.status_code, body)
        for header in (CURRENT_CATALOG_HEADER, CURRENT_SCHEMA_HEADER):  # USE changes them
            if header in response.headers:
                self._current[header] = response.headers[header]
        return body, response.headers

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return wire.loads(self._request(method, path, **kwargs))

    def _frame(self, method: str, path: str, **kwargs: Any) -> pd.DataFrame:
        return wire.arrow_to_frame(self._request(method, path, **kwargs))

    # -- the Catalog interface -------------------------------------------------------------
    def sql(self, statement: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pd.DataFrame:
        body = {"statement": statement, "parameters": _plain(params)}
        return self._frame("POST", "/api/v1/sql", data=wire.dumps(body), headers=_JSON)

    def create_table(
        self, name: str, df: pd.DataFrame, *, comment: str | None = None, mode: CreateMode = "error"
    ) -> str:
        query = {"mode": mode} | ({"comment": comment} if comment is not None else {})
        result = self._json("PUT", f"/api/v1/tables/{_segment(name)}", params=query, **_arrow(df))
        return result["full_name"]

    def read_table(self, name: str) -> pd.DataFrame:
        frame = self._frame("GET", f"/api/v1/tables/{_segment(name)}/rows")
        for listener in list(self.read_listeners):
            listener(frame.attrs[SOURCE_ATTR], frame)
        return frame

    def write_table(self, name: str, df: pd.DataFrame, mode: WriteMode = "append") -> int:
        result = self._json("POST", f"/api/v1/tables/{_segment(name)}/rows", params={"mode": mode}, **_arrow(df))
        return result["num_affected_rows"]

    def query_endpoint(self, name: str, body: Mapping[str, Any]) -> Invocation:
        from catalog.serving.runtime import REQUEST_ID_HEADER, SERVED_ENTITY_HEADER, Invocation

        try:
            payload = json.dumps(body, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidRequest(f"The request cannot be sent as JSON: {exc}.", error_code="BAD_REQUEST") from None
        answer, headers = self._exchange(
            "POST", f"/serving-endpoints/{_segment(name)}/invocations", data=payload, headers=_JSON
        )
        return Invocation(
            json.loads(answer)["predictions"], headers.get(SERVED_ENTITY_HEADER, ""), headers.get(REQUEST_ID_HEADER, "")
        )

    def invoke(self, action: str, **arguments: Any) -> Any:
        from catalog import operations

        op = operations.find(action)
        body = wire.dumps(arguments)
        return self._json("POST", op.path, data=body, headers=_JSON, retry=not op.writes)["result"]

    @property
    def lineage(self) -> Lineage:
        return _RemoteLineage(self)

    @property
    def policy(self) -> PolicyFiles:
        return _RemotePolicyFiles(self)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._http.close()


_JSON = {"Content-Type": "application/json"}


class _RemoteLineage(Lineage):
    def __init__(self, cat: RemoteCatalog) -> None:
        self._cat = cat

    @property
    def namespace(self) -> str:
        return self._cat._namespace

    def upstream(self, name: str, depth: int | None = None) -> LineageGraph:
        return self._graph(name, "upstream", depth)

    def downstream(self, name: str, depth: int | None = None) -> LineageGraph:
        return self._graph(name, "downstream", depth)

    def _graph(self, name: str, direction: str, depth: int | None) -> LineageGraph:
        params = {"direction": direction} | ({"depth": depth} if depth is not None else {})
        return self._cat._json("GET", f"/api/v1/lineage/{_segment(name)}", params=params)

    def ingest(self, event: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps(event) if isinstance(event, Mapping) else event
        return self._cat._json("POST", "/api/v1/lineage", data=body, headers=_JSON)


class _RemotePolicyFiles(PolicyFiles):
    def __init__(self, cat: RemoteCatalog) -> None:
        self._cat = cat

    def export(self) -> str:
        return self._cat._request("GET", "/api/v1/policy").decode("utf-8")

    def plan(self, text: str) -> list[str]:
        return self._cat._json("POST", "/api/v1/policy/plan", data=text.encode(), headers=_TEXT)["statements"]

    def apply(self, text: str) -> list[str]:
        return self._cat._json("POST", "/api/v1/policy/apply", data=text.encode(), headers=_TEXT)["statements"]


_TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def _segment(name: str) -> str:
    """A name as one URL path segment (backticked parts may hold '/' or '?')."""
    return quote(name, safe="")


def _arrow(frame: pd.DataFrame) -> dict[str, Any]:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidRequest(
            f"Expected a pandas DataFrame, got {type(frame).__name__}.", error_code="INVALID_PARAMETER_VALUE"
        )
    return {"data": wire.frame_to_arrow(frame), "headers": {"Content-Type": wire.ARROW_STREAM}}


def _plain(params: Sequence[Any] | Mapping[str, Any] | None) -> Any:
    if params is None or isinstance(params, Mapping):
        return params
    return list(params)


def _error(status: int, body: bytes) -> CatalogError:
    try:
        described = json.loads(body)
    except ValueError:
        described = None
    if not isinstance(described, dict) or "error_code" not in described:
        text = body[:200].decode("utf-8", "replace")
        described = {"error_code": "HTTP_ERROR", "message": f"HTTP {status} from the server: {text}"}
    return error_from_dict(described, status)
