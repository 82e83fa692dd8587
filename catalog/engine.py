"""The engine of one catalog home, and the sessions that act on it.

One :class:`Engine` per home and process holds the DuckDB database, the current snapshot of the
metastore, and the lock that serialises writes. A :class:`Session` is one principal's
connection: every operation runs through :meth:`Session.run`, which opens a transaction, hands a
:class:`Context` to the service, and commits or rolls back; the audit record of a call that
changes something commits with it, that of any other call goes through the audit journal
(``catalog.audit_journal``), on disk before the call returns.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from contextlib import closing, suppress
from pathlib import Path
from typing import TypeVar

import duckdb
from openlineage.client.event_v2 import RunEvent

from catalog import audit
from catalog.audit_journal import AuditBehind, AuditJournal
from catalog.authz.authorizer import AccessDenied, Authorizer
from catalog.errors import CatalogError, InvalidRequest, NotFound
from catalog.lineage import capture
from catalog.lineage.events import WriteRun, namespace_of
from catalog.lineage.forward import Forwarder
from catalog.names import normalize_principal
from catalog.securables import SecurableType
from catalog.services import system_tables
from catalog.services.context import Context
from catalog.services.duckdb_errors import translate
from catalog.store.database import open_database, transaction
from catalog.store.metastore import Metastore
from catalog.store.migrations import migrate
from catalog.store.snapshot import Snapshot

T = TypeVar("T")

WORKSPACE_ID_KEY = "workspace_id"


class Engine:
    """An open catalog home: database, snapshot, write lock. Shared by all sessions in a process."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.db = open_database(home)
        self.write_lock = threading.RLock()
        self._snapshot_lock = threading.Lock()
        self._state: tuple[Snapshot, Authorizer] | None = None
        self._version = 0
        self._users = 0
        self._closers: list[Callable[[], None]] = []
        # Bumped by every committed write: caches of table contents (online feature lookups)
        # are valid while it stays the same.
        self.data_generation = 0
        try:
            with self.write_lock:
                migrate(self.db)
                self.workspace_id = Metastore(self.db).get_info(WORKSPACE_ID_KEY)
            self.audit_journal = AuditJournal(home, self.db)
            self.audit_journal.recover()
            self.forwarder = Forwarder.for_home(home)
            if not self.is_new:
                self.upgrade_system_tables()
        except BaseException:
            self.db.close()  # release the home: the caller gets the error, not a locked file
            raise

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def is_new(self) -> bool:
        return self.workspace_id is None

    def bootstrap(self, admin: str) -> None:
        """Make a new home: ``admin`` becomes the metastore admin."""
        admin = normalize_principal(admin)
        workspace_id = uuid.uuid4().hex
        cursor = self.db.cursor()
        store = Metastore(cursor)
        with self.write_lock, closing(cursor), transaction(cursor):
            store.set_info(WORKSPACE_ID_KEY, workspace_id)
            store.insert_principal(admin, "USER", admin)
            store.insert_securable(
                SecurableType.METASTORE, None, None, admin, comment="The metastore of this catalog home"
            )
            system_tables.ensure(store, admin, first_time=True)
            event = audit.AuditEvent(admin, "createMetastore", {"home": str(self.home)}, result=f"admin {admin}")
            audit.record(cursor, workspace_id, event)
        self.workspace_id = workspace_id
        self.invalidate()

    def upgrade_system_tables(self) -> None:
        """Add system tables that this version of the package defines and the home lacks."""
        cursor = self.db.cursor()
        store = Metastore(cursor)
        with self.write_lock, closing(cursor), transaction(cursor):
            admin = next(s.owner for s in store.securables() if s.type is SecurableType.METASTORE)
            changed = system_tables.ensure(store, admin, first_time=False)
        if changed:
            self.invalidate()

    @property
    def lineage_namespace(self) -> str:
        return namespace_of(self.workspace_id or "")

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the engine closes, before its database does (the serving
        runtime flushes its request log then)."""
        self._closers.append(callback)

    def close(self) -> None:
        for callback in reversed(self._closers):
            try:
                callback()
            except Exception:  # closing must go on: the database has to be released
                logging.getLogger(__name__).warning("closing an engine part failed", exc_info=True)
        try:
            self.audit_journal.close()
        except Exception:  # the rows stay in the journal files; the next opening moves them in
            logging.getLogger(__name__).warning("moving the audit journal into the audit log failed", exc_info=True)
        if self.forwarder is not None:
            self.forwarder.close()
        self.db.close()

    # -- the picture of the metastore --------------------------------------------------------
    def state(self) -> tuple[Snapshot, Authorizer]:
        """The current snapshot and its authorizer, loading them if a change made them stale."""
        state = self._state
        if state is not None:
            return state
        with self._snapshot_lock:
            if self._state is None:
                cursor = self.db.cursor()
                try:
                    snapshot = Snapshot.load(Metastore(cursor), self._version)
                finally:
                    cursor.close()
                self._state = (snapshot, Authorizer(snapshot))
            return self._state

    def invalidate(self) -> None:
        with self._snapshot_lock:
            self._version += 1
            self._state = None


# -- one engine per home and process ---------------------------------------------------------
_ENGINES: dict[Path, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def acquire(home: Path) -> Engine:
    key = home.resolve()
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = Engine(key)
            _ENGINES[key] = engine
        engine._users += 1
        return engine


def release(engine: Engine) -> None:
    with _ENGINES_LOCK:
        engine._users -= 1
        if engine._users <= 0 and _ENGINES.get(engine.home) is engine:
            del _ENGINES[engine.home]
            engine.close()


class Session:
    """One principal's connection to an engine. Use from one thread at a time."""

    def __init__(
        self,
        engine: Engine,
        principal: str,
        *,
        source_ip_address: str | None = None,
        user_agent: str = "catalog-python",
    ) -> None:
        self.engine = engine
        self.principal = normalize_principal(principal)
        snapshot, _ = engine.state()
        if not snapshot.is_user(self.principal):
            raise NotFound(
                f"User '{self.principal}' does not exist in the catalog at {engine.home}. A "
                f"metastore admin ({snapshot.admin}) can create it with CREATE USER `{self.principal}`.",
                error_code="PRINCIPAL_DOES_NOT_EXIST",
            )
        self.cursor = engine.db.cursor()
        self._audit_log = audit.AuditLog(self.cursor)
        self.session_id = uuid.uuid4().hex
        self.source_ip_address = source_ip_address
        self.user_agent = user_agent
        self.current_catalog: str | None = "main"
        self.current_schema: str | None = "default"
        self.closed = False

    def run(
        self,
        action_name: str,
        work: Callable[[Context], T],
        *,
        writes: bool = True,
        request_params: dict[str, str] | None = None,
        result_summary: Callable[[T], str | None] | None = None,
        lineage: str | None = None,
    ) -> T:
        """Run ``work`` in one transaction, audited whatever the outcome.

        Writes hold the engine's write lock for the whole transaction, so they apply one after
        another; reads run side by side on their own cursors. ``lineage`` names the origin
        (SQL, PYTHON, ...) of a write whose lineage is recorded with it.
        """
        if self.closed:
            raise InvalidRequest(
                "This catalog connection is closed; open a new one with catalog.connect().",
                error_code="CONNECTION_CLOSED",
            )
        journal = self.engine.audit_journal
        audit_mark = journal.recorded  # a read of the audit log sees the rows recorded before now
        try:
            return self._run(action_name, work, writes, request_params, result_summary, lineage, audit_mark)
        except AuditBehind as behind:  # rolled back; once the rows are in, the second run sees them
            journal.flush(through=behind.through)
            return self._run(action_name, work, writes, request_params, result_summary, lineage, audit_mark)

    def _run(
        self,
        action_name: str,
        work: Callable[[Context], T],
        writes: bool,
        request_params: dict[str, str] | None,
        result_summary: Callable[[T], str | None] | None,
        lineage: str | None,
        audit_mark: int,
    ) -> T:
        snapshot, authz = self.engine.state()
        lock = self.engine.write_lock if writes else _NO_LOCK
        params = dict(request_params or {})
        with lock:
            if writes:  # a write must decide against the latest picture, taken under the lock
                snapshot, authz = self.engine.state()
            ctx = Context(self.principal, snapshot, authz, self.cursor, self.current_catalog, self.current_schema)
            ctx.home = self.engine.home
            ctx.data_generation = self.engine.data_generation
            ctx.audit_journal, ctx.audit_mark = self.engine.audit_journal, audit_mark
            if lineage is not None:
                ctx.lineage = self._write_run(lineage, action_name, params)
            events = []
            self.cursor.begin()
            try:
                result = work(ctx)
                if ctx.lineage is not None:
                    events = capture.store_completed(ctx, ctx.lineage)
                    if events:  # the audit row points at the run (none when nothing was written)
                        params["lineage_run_id"] = ctx.lineage.run_id
                params.update(self._touched(ctx))
                summary = result_summary(result) if result_summary else None
                event = self._event(ctx, action_name, params, 200, None, summary)
                if writes:
                    self._audit_log.record(self.engine.workspace_id, event)
                    self.cursor.commit()
                    self.engine.data_generation += 1
                else:  # nothing commits with a read: its row goes to the journal
                    self.cursor.commit()
                    self.engine.audit_journal.append(self.engine.workspace_id, event)
            except AuditBehind:
                self._rollback()
                raise
            except BaseException as exc:
                self._rollback()
                error = _as_catalog_error(exc, ctx.physical_names)
                params.update(self._touched(ctx))
                status = error.http_status if error else 500
                message = error.message if error else f"internal error: {type(exc).__name__}"
                events = self._record_alone(ctx, action_name, params, status, message)
                self.forward(events)
                if ctx.metadata_changed:
                    self.engine.invalidate()
                if error is not None and error is not exc:
                    raise error from exc
                raise
            if ctx.metadata_changed:
                self.engine.invalidate()
        ctx.run_after_commit()
        self.forward(events)
        self.current_catalog, self.current_schema = ctx.current_catalog, ctx.current_schema
        return result

    def _write_run(self, origin: str, action: str, params: dict[str, str]) -> WriteRun:
        return WriteRun(
            origin=origin,
            action=action,
            principal=self.principal,
            namespace=self.engine.lineage_namespace,
            sql=params.get("commandText"),
        )

    def forward(self, events: list[RunEvent]) -> None:
        """Hand committed events to the configured OpenLineage transport (in the background)."""
        if events and self.engine.forwarder is not None:
            self.engine.forwarder.emit(events)

    def record_refusal(self, action: str, params: dict[str, str], error: CatalogError) -> None:
        """Audit a request refused before it reached a service (syntax, sandbox)."""
        snapshot, authz = self.engine.state()
        ctx = Context(self.principal, snapshot, authz, self.cursor, self.current_catalog, self.current_schema)
        if isinstance(error, AccessDenied):  # the authorizer's reasons go into the audit row
            ctx.decisions.extend(error.decisions)
        self._record_alone(ctx, action, params, error.http_status, error.message)

    def _rollback(self) -> None:
        # A failed COMMIT leaves no transaction to roll back.
        with suppress(duckdb.TransactionException):
            self.cursor.rollback()

    def _touched(self, ctx: Context) -> dict[str, str]:
        return {"full_name_arg": ", ".join(ctx.touched)} if ctx.touched else {}

    def _event(
        self, ctx: Context, action: str, params: dict[str, str], status: int, error: str | None, result: str | None
    ) -> audit.AuditEvent:
        return audit.AuditEvent(
            principal=self.principal,
            action_name=action,
            request_params=params,
            status_code=status,
            error_message=error,
            result=result,
            decisions=ctx.decisions,
            session_id=self.session_id,
            source_ip_address=self.source_ip_address,
            user_agent=self.user_agent,
        )

    def _record_alone(
        self, ctx: Context, action: str, params: dict[str, str], status: int, error: str
    ) -> list[RunEvent]:
        """Audit a failure after the work was rolled back: through the journal, or, for a failed
        write with lineage, in a transaction with its START and FAIL lineage events (returned,
        to forward)."""
        if ctx.lineage is None:
            self.engine.audit_journal.append(
                self.engine.workspace_id, self._event(ctx, action, params, status, error, None)
            )
            return []
        with self.engine.write_lock:
            self.cursor.begin()
            try:
                events = capture.store_failed(ctx, ctx.lineage, error)
                params["lineage_run_id"] = ctx.lineage.run_id
                self._audit_log.record(self.engine.workspace_id, self._event(ctx, action, params, status, error, None))
                self.cursor.commit()
            except BaseException:
                self._rollback()
                raise
        return events

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.cursor.close()


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_LOCK = _NoLock()


def _as_catalog_error(exc: BaseException, physical_names: dict[str, str] | None) -> CatalogError | None:
    if isinstance(exc, CatalogError):
        return exc
    if isinstance(exc, duckdb.Error):
        return translate(exc, physical_names)
    return None


__all__ = ["AccessDenied", "Engine", "Session", "acquire", "release"]
