"""``<home>/server.json``: how commands on the server's own machine reach a home it holds.

DuckDB lets one process open a home. While ``catalog server`` runs, ``catalog --home H ...``
and ``catalog.connect(H)`` would meet the lock; instead they read this file (written with mode
0600 at startup) and talk to the server as the metastore admin. The file grants nothing new:
whoever can read the home's files can read all of its data. The server revokes the file's token
when it stops, and any token left by a server that was killed when the next one starts.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from catalog import operations
from catalog.engine import Engine, Session
from catalog.errors import CatalogError

FILE = "server.json"
COMMENT = "local admin token of the running catalog server"


@dataclass(frozen=True)
class LocalServer:
    url: str
    token: str
    token_id: str
    pid: int


def read(home: Path) -> LocalServer | None:
    try:
        data = json.loads((home / FILE).read_text(encoding="utf-8"))
        return LocalServer(data["url"], data["token"], data["token_id"], int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def publish(engine: Engine, url: str) -> LocalServer:
    """Create the admin token and write the file (revoking what a killed server left)."""
    session = Session(engine, engine.state()[0].admin, user_agent="catalog-server")
    try:
        stale = read(engine.home)
        if stale is not None:
            with suppress(CatalogError):  # a file copied from another home names no token here
                operations.run(session, "revokeToken", {"token_id": stale.token_id})
        created = operations.run(session, "createToken", {"comment": COMMENT})
    finally:
        session.close()
    local = LocalServer(url, created.token, created.info.token_id, os.getpid())
    path = engine.home / FILE
    temporary = path.with_suffix(".tmp")
    with suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(local.__dict__, out)
    os.replace(temporary, path)
    return local


def withdraw(engine: Engine, local: LocalServer) -> None:
    """Revoke the token and remove the file (if it is still this server's)."""
    session = Session(engine, engine.state()[0].admin, user_agent="catalog-server")
    try:
        operations.run(session, "revokeToken", {"token_id": local.token_id})
    finally:
        session.close()
    current = read(engine.home)
    if current is not None and current.token_id == local.token_id:
        with suppress(FileNotFoundError):
            (engine.home / FILE).unlink()
