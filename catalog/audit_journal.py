"""The audit journal: audit rows of calls that commit nothing, on their way to meta.audit_log.

A read's audit row has no transaction to ride in: nothing of the read commits. Giving it one
costs DuckDB a write transaction (~2.5 ms here, most of a small read's time). Instead the row
is appended to a journal file and synced to disk (``fdatasync``, ~0.2 ms) before the call
returns, so it is as durable as a committed row: it survives the process being killed and the
machine losing power. A background thread moves journaled rows into the database in batches.

Journal files a process left behind (it died between syncing rows and moving them) are moved
in when the home is next opened; rows are matched by event id, so none lands twice. Only the
process that holds the home's database writes its journal (DuckDB allows one per home), so any
file found at opening time is left over.

Readers of the audit log see every row recorded before their statement began: a statement that
reads ``meta.audit_log`` checks :meth:`AuditJournal.caught_up` and, if rows are still on their
way, the session rolls back, waits for :meth:`AuditJournal.flush` and runs the statement again
(see ``catalog.engine.Session.run``).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
import weakref
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb

from catalog import audit
from catalog.store.database import transaction

logger = logging.getLogger(__name__)

JOURNAL_DIR = "audit-journal"
SUFFIX = ".jsonl"
MOVE_INTERVAL_S = 0.25  # how often the mover takes journaled rows into the database


class AuditBehind(Exception):
    """Raised inside a statement that reads the audit log while rows it must see are still in
    the journal; the session flushes them and runs the statement again."""

    def __init__(self, through: int) -> None:
        super().__init__(f"audit rows up to {through} are not in the database yet")
        self.through = through


class AuditJournal:
    """Journal files under the home, and the thread that moves their rows into the database."""

    def __init__(self, home: Path, db: duckdb.DuckDBPyConnection, *, interval_s: float | None = None) -> None:
        self.directory = home / JOURNAL_DIR
        self.directory.mkdir(mode=0o700, exist_ok=True)
        self._db = db
        self._interval_s = MOVE_INTERVAL_S if interval_s is None else interval_s
        self._lock = threading.Lock()  # the open segment, its rows and the counters
        self._flush_lock = threading.Lock()  # one flush at a time
        self._segment: tuple[Path, int] | None = None  # path and file descriptor
        self._rows: list[tuple[Any, ...]] = []  # rows of the open segment
        self._sealed: list[tuple[Path, list[tuple[Any, ...]]]] = []  # segments not yet in the database
        self._recorded = 0  # rows appended since the engine opened
        self._flushed = 0  # of those, rows in the database
        self._segments = 0
        self._prefix = uuid.uuid4().hex[:12]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _OPEN.add(self)

    # -- writing -------------------------------------------------------------------------------
    def append(self, workspace_id: str, event: audit.AuditEvent) -> str:
        """Journal one event, on disk before this returns; return its id.

        An error here (a full disk) reaches the caller: a call whose audit row cannot be kept
        does not return its result."""
        row, line = audit.journal_entry(workspace_id, event)
        data = (line + "\n").encode("ascii")
        with self._lock:
            if self._segment is None:
                self._segment = self._open_segment()
            fd = self._segment[1]
            try:
                _write_all(fd, data)
                _sync(fd)
            except OSError:
                # The segment may end in part of a line now: the next row goes to a new one, so
                # that a later line is never glued to the torn one (recovery skips only that).
                self._seal(broken=True)
                raise
            self._rows.append(row)
            self._recorded += 1
        self._start_mover()
        return str(row[0])

    @property
    def recorded(self) -> int:
        """How many rows this engine has journaled; a reader notes it when its call begins."""
        return self._recorded

    def caught_up(self, through: int) -> bool:
        """Whether the first ``through`` journaled rows are in the database."""
        return self._flushed >= through

    # -- moving rows into the database ---------------------------------------------------------
    def flush(self, through: int | None = None) -> None:
        """Move journaled rows into the database (all of them, or at least the first ``through``)."""
        with self._flush_lock:
            if through is not None and self._flushed >= through:
                return
            with self._lock:
                self._seal()
                target = self._recorded
            pending = self._sealed
            if pending:
                _insert(self._db, [row for _, rows in pending for row in rows])
                self._sealed = []
                for path, _ in pending:
                    path.unlink(missing_ok=True)
            self._flushed = target

    def recover(self) -> int:
        """Move rows of journal files left by a process that stopped before it moved them;
        return how many were missing from the database."""
        rows: list[tuple[Any, ...]] = []
        paths = sorted(self.directory.glob(f"*{SUFFIX}"))
        for path in paths:
            rows.extend(_read_segment(path))
        if not rows:
            for path in paths:
                path.unlink(missing_ok=True)
            return 0
        missing = _missing(self._db, rows)
        _insert(self._db, missing)
        for path in paths:
            path.unlink(missing_ok=True)
        if missing:
            logger.info("audit journal: moved %d rows left by an earlier process into the audit log", len(missing))
        return len(missing)

    def close(self) -> None:
        """Stop the mover and move every journaled row into the database."""
        _OPEN.discard(self)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
        with self._lock:
            if self._segment is not None:  # empty after the flush sealed it; nothing to keep
                os.close(self._segment[1])
                self._segment[0].unlink(missing_ok=True)
                self._segment = None

    # -- internals -------------------------------------------------------------------------------
    def _open_segment(self) -> tuple[Path, int]:
        self._segments += 1
        path = self.directory / f"{self._prefix}-{self._segments:08d}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        _sync_directory(self.directory)  # the new file's name must survive a crash too
        return path, fd

    def _seal(self, *, broken: bool = False) -> None:
        """Close the open segment (under the lock); its rows wait in ``_sealed`` for the database.
        An empty segment stays open for the next row, unless a failed write ``broke`` it."""
        if self._segment is None or not (self._rows or broken):
            return
        path, fd = self._segment
        os.close(fd)
        self._sealed.append((path, self._rows))
        self._segment, self._rows = None, []

    def _start_mover(self) -> None:
        if self._thread is None and not self._stop.is_set():
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._move, name="catalog-audit-journal", daemon=True)
                    self._thread.start()

    def _move(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.flush()
            except Exception:  # the rows stay journaled on disk; the next round tries again
                logger.warning("audit journal: moving rows into the audit log failed; will retry", exc_info=True)


# Journals of engines still open; at exit their rows go into the database and their threads stop
# (a program that never closes its connection would otherwise leave the rows to the next opening).
_OPEN: weakref.WeakSet[AuditJournal] = weakref.WeakSet()


@atexit.register
def _close_open_journals() -> None:
    for journal in list(_OPEN):
        try:
            journal.close()
        except Exception:  # the rows stay in the journal files; the next opening moves them in
            logger.warning("audit journal: could not move rows into the audit log at exit", exc_info=True)


def _insert(db: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with closing(db.cursor()) as cursor, transaction(cursor):
        appender = cursor.appender(audit.TABLE)
        for row in rows:
            appender.append_row(*row)
        appender.flush()


def _missing(db: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows whose event ids the audit log does not have yet."""
    ids = [row[0] for row in rows]
    with closing(db.cursor()) as cursor:
        found = cursor.execute(
            f"SELECT event_id FROM {audit.TABLE} WHERE event_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
        ).fetchall()
    present = {event_id for (event_id,) in found}
    return [row for row in rows if row[0] not in present]


def _read_segment(path: Path) -> list[tuple[Any, ...]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="ascii", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(audit.row_of_entry(line))
        except ValueError:  # a write cut short by a crash: its call never returned
            logger.warning("audit journal %s: line %d is incomplete and was skipped", path, number)
    return rows


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte; a short write (a full disk, a file size limit) is followed by another,
    which raises the system's error (ENOSPC, EFBIG) for the caller."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync(fd: int) -> None:
    sync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
    sync(fd)


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open a directory; the file's own sync still holds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
