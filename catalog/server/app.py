"""The catalog server: one FastAPI app over one catalog home.

The app holds the home's engine for its whole life (DuckDB allows one process per file); each
request authenticates its bearer token, gets a session as that user, and calls the same engine
services as the embedded client. Every error a client can cause is a JSON body
``{"error_code", "message", "error_type"}`` with its 4xx status; anything else is a bug, logged
and answered 500 without details.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from catalog import __version__
from catalog import engine as engines
from catalog.errors import CatalogError, InvalidRequest, NotFound
from catalog.server import local
from catalog.server.auth import Authenticator
from catalog.server.limits import DEFAULT_MAX_BODY_BYTES, BodySizeLimit
from catalog.server.routes import data, governance, lineage, operations, serving

logger = logging.getLogger("catalog.server")


def create_app(
    home: str | Path,
    *,
    admin: str = "admin",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    url: str | None = None,
) -> FastAPI:
    """The server app for the catalog home ``home`` (created, with ``admin`` as its metastore
    admin, if it does not exist yet). With ``url`` (where it listens), it writes
    ``<home>/server.json`` so that local commands given the home reach it (:mod:`local`)."""
    home = Path(home)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = engines.acquire(home)
        try:
            if engine.is_new:
                engine.bootstrap(admin)
            app.state.engine = engine
            app.state.authenticator = Authenticator(engine)
            published = local.publish(engine, url) if url else None
            try:
                yield
            finally:
                if published is not None:
                    local.withdraw(engine, published)
        finally:
            engines.release(engine)

    app = FastAPI(
        title="catalog",
        version=__version__,
        summary="A governance-first data and ML catalog: one namespace, grants, audit, lineage, SQL.",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)

    @app.get("/health", tags=["server"], summary="Liveness, without authentication")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    _mount_ui(app)

    for module in (data, governance, lineage, operations, serving):
        app.include_router(module.router)
    install_error_handlers(app)
    return app


def _mount_ui(app: FastAPI) -> None:
    """The web UI at ``/`` and its assets at ``/ui/static`` (no data in them: no token needed;
    every page asks the API with the signed-in user's token)."""
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    from catalog.ui import STATIC

    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def install_error_handlers(app: FastAPI) -> None:
    """Every CatalogError as its JSON body and 4xx status; anything else a logged 500 without details."""

    @app.exception_handler(CatalogError)
    async def catalog_error(request: Request, error: CatalogError) -> JSONResponse:
        return JSONResponse(error.to_dict(), status_code=error.http_status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:10])
        return await catalog_error(request, InvalidRequest(f"The request is not valid: {problems}."))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 404:
            wrapped: CatalogError = NotFound(
                f"There is no {request.method} {request.url.path}; see /docs for the API.",
                error_code="ENDPOINT_NOT_FOUND",
            )
        else:
            code = "METHOD_NOT_ALLOWED" if error.status_code == 405 else "BAD_REQUEST"
            wrapped = InvalidRequest(f"{request.method} {request.url.path}: {error.detail}", error_code=code)
            wrapped.http_status = error.status_code
        return JSONResponse(wrapped.to_dict(), status_code=wrapped.http_status, headers=error.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        logger.exception("internal error on %s %s", request.method, request.url.path)
        body = {"error_code": "INTERNAL_ERROR", "message": "Internal error; the server log has the details."}
        return JSONResponse(body, status_code=500)
