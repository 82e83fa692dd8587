"""Real catalog servers for tests: uvicorn on 127.0.0.1 at a free port, in a thread of this
process or as a separate ``catalog server`` process (for restarts and kill -9)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import uvicorn

from catalog import engine as engines
from catalog import operations
from catalog.server import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, timeout_s: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"no server answered at {url}")


def mint_token(home: Path, user: str, *, lifetime_seconds: int | None = None) -> str:
    """A token for ``user``, made by the home's admin through the engine of this process."""
    engine = engines.acquire(home)
    try:
        session = engines.Session(engine, engine.state()[0].admin)
        try:
            arguments = {"user": user, "lifetime_seconds": lifetime_seconds}
            return operations.run(session, "createToken", arguments).token
        finally:
            session.close()
    finally:
        engines.release(engine)


class ThreadServer:
    """A uvicorn server for ``home`` in a background thread of this process."""

    def __init__(self, home: Path, *, admin: str = "admin", max_body_bytes: int | None = None) -> None:
        self.home = home
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        options = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
        app = create_app(home, admin=admin, **options)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"catalog-server-{port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)

    def token(self, user: str, **kwargs: object) -> str:
        return mint_token(self.home, user, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


class ProcessServer:
    """``catalog --home HOME server`` as a child process, to restart or kill."""

    def __init__(self, home: Path, port: int | None = None) -> None:
        self.home = home
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> ProcessServer:
        command = [sys.executable, "-m", "catalog.cli.main", "--home", str(self.home), "server"]
        command += ["--port", str(self.port), "--log-level", "warning"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ)
        )
        wait_until_healthy(self.url, process=self.process)
        return self

    def stop(self) -> int:
        """Stop as Ctrl-C does (the server shuts down cleanly)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> int:
        """kill -9: no clean-up of any kind."""
        assert self.process is not None
        self.process.kill()
        return self.process.wait(timeout=60)
