"""``catalog server``: the catalog home served over REST to many users at once.

catalog --home ./team-home server --host 127.0.0.1 --port 8080
"""

from __future__ import annotations

from pathlib import Path

from catalog.server.app import create_app
from catalog.server.limits import DEFAULT_MAX_BODY_BYTES

__all__ = ["create_app", "serve"]


def serve(
    home: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    admin: str = "admin",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    log_level: str = "info",
) -> None:
    """Run the server in the foreground until interrupted."""
    import uvicorn

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    app = create_app(home, admin=admin, max_body_bytes=max_body_bytes, url=f"http://{shown}:{port}")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")
