"""The request context every service receives: who acts, on which picture of the metastore.

A context lives for one statement or API call, inside one DuckDB transaction. It collects the
authorization decisions for the audit record and notes whether metadata changed (so the engine
loads a fresh snapshot after commit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from catalog.audit_journal import AuditBehind, AuditJournal
from catalog.authz.authorizer import AccessDenied, Authorizer
from catalog.authz.index import Decision
from catalog.errors import InvalidRequest, NotFound
from catalog.lineage.events import WriteRun
from catalog.names import FullName
from catalog.securables import (
    RELATION_TYPES,
    Action,
    Privilege,
    Securable,
    SecurableType,
)
from catalog.store.metastore import Metastore
from catalog.store.snapshot import Snapshot

logger = logging.getLogger(__name__)

_NOT_FOUND = {
    1: (
        "CATALOG_NOT_FOUND",
        "Catalog '{name}' does not exist. Check SHOW CATALOGS, or create it with CREATE CATALOG {quoted}.",
    ),
    2: (
        "SCHEMA_NOT_FOUND",
        "Schema '{name}' does not exist. Check SHOW SCHEMAS IN {parent}, or create it with CREATE SCHEMA {quoted}.",
    ),
    3: (
        "TABLE_OR_VIEW_NOT_FOUND",
        "Table or view '{name}' does not exist. Check SHOW TABLES IN {parent} and the spelling of the name.",
    ),
}


_OBJECT_NOT_FOUND = {
    SecurableType.MODEL: (
        "RESOURCE_DOES_NOT_EXIST",
        "Registered model '{name}' does not exist. Check SHOW MODELS IN {parent}.",
    ),
    SecurableType.FUNCTION: ("ROUTINE_NOT_FOUND", "Function '{name}' does not exist in {parent}."),
    SecurableType.ENDPOINT: (
        "RESOURCE_DOES_NOT_EXIST",
        "Serving endpoint '{name}' does not exist. Check `catalog serving-endpoints list`.",
    ),
}


def _not_found(depth: int, expected: frozenset[SecurableType] | None) -> tuple[str, str]:
    if depth == 3 and expected and not expected & RELATION_TYPES and len(expected) == 1:
        return _OBJECT_NOT_FOUND.get(next(iter(expected)), _NOT_FOUND[3])
    return _NOT_FOUND[depth]


@dataclass
class Context:
    principal: str
    _snapshot: Snapshot
    _authz: Authorizer
    cursor: duckdb.DuckDBPyConnection
    current_catalog: str | None = "main"
    current_schema: str | None = "default"
    decisions: list[Decision] = field(default_factory=list)
    metadata_changed: bool = False
    touched: list[str] = field(default_factory=list)  # full names, for the audit record
    physical_names: dict[str, str] = field(default_factory=dict)  # t_<id> -> full name, for errors
    lineage: WriteRun | None = None  # set when the statement writes data (catalog.lineage.capture)
    after_commit: list[Callable[[], None]] = field(default_factory=list)  # e.g. removing files
    home: Path | None = None  # the catalog home, where files (artifacts, model versions) live
    data_generation: int = 0  # the engine's count of committed writes when this request began
    audit_journal: AuditJournal | None = None  # where audit rows of reads wait for the database
    audit_mark: int = 0  # how many rows the journal had when this request began
    _stale: bool = False

    @property
    def snapshot(self) -> Snapshot:
        """The metastore as this transaction sees it (reloaded after this context changed it)."""
        if self._stale:
            self._snapshot = Snapshot.load(self.metastore, self._snapshot.version)
            self._authz = Authorizer(self._snapshot)
            self._stale = False
        return self._snapshot

    @property
    def authz(self) -> Authorizer:
        self.snapshot  # noqa: B018 - refreshes a stale picture first
        return self._authz

    @property
    def metastore(self) -> Metastore:
        return Metastore(self.cursor)

    def see_audit_log(self) -> None:
        """Called before a statement reads the audit log: every row journaled before this
        request began must be in it (the session flushes them and runs the request again)."""
        if self.audit_journal is not None and not self.audit_journal.caught_up(self.audit_mark):
            raise AuditBehind(self.audit_mark)

    # -- authorization -----------------------------------------------------------------------
    def require(self, action: str | Action, securable: Securable, *, as_principal: str | None = None) -> None:
        """Check ``action`` on ``securable`` for the acting principal (or another, e.g. a view owner)."""
        self._touch(securable)
        try:
            self.decisions.extend(self.authz.require(as_principal or self.principal, action, securable))
        except AccessDenied as denied:
            self.decisions.extend(denied.decisions)
            raise

    def require_visible(self, securable: Securable) -> None:
        """Metadata access: any privilege on the object (or BROWSE on its catalog) is enough;
        seeing an experiment takes CAN READ, the lowest of its permission levels."""
        if securable.type is SecurableType.EXPERIMENT:
            self.require("read_experiment", securable)
            return
        self._touch(securable)
        allowed = self.authz.can_see(self.principal, securable)
        decision = Decision(
            allowed,
            self.principal,
            "BROWSE",
            securable,
            "holds a privilege on it or a container"
            if allowed
            else "holds no privilege on it and no BROWSE on its catalog",
        )
        if not allowed:
            # Answer as a missing object would (lookup checks usage of the container first), so
            # that whether the object exists stays hidden from those who cannot use its container.
            parent = self.snapshot.parent(securable)
            if parent is not None and parent.type is not SecurableType.METASTORE:
                self.require("use_schema" if parent.type is SecurableType.SCHEMA else "use", parent)
            self.decisions.append(decision)
            raise AccessDenied(
                f"User {self.principal} cannot see {securable.describe()}: it needs a privilege "
                "on it, or BROWSE on its catalog.",
                [decision],
            )
        self.decisions.append(decision)

    def require_admin(self, what: str) -> None:
        root = self.snapshot.metastore
        decision = self.authz.decide(self.principal, root, Privilege.MANAGE)
        decision = Decision(decision.allowed, self.principal, "METASTORE ADMIN", root, decision.reason)
        self.decisions.append(decision)
        if not self.authz.is_admin(self.principal):
            raise AccessDenied(
                f"Only a metastore admin can {what}; user {self.principal} is not one. The metastore "
                f"admin is {self.snapshot.admin}.",
                [decision],
            )

    def is_admin(self) -> bool:
        return self.authz.is_admin(self.principal)

    def _touch(self, securable: Securable) -> None:
        # Objects by full name; experiments as experiment:<path>, which is not a full name.
        name = securable.policy_key if securable.path is not None else securable.key
        if name and name not in self.touched:
            self.touched.append(name)

    # -- names -------------------------------------------------------------------------------
    def find(self, name: FullName) -> Securable | None:
        return self.snapshot.find(name)

    def lookup(
        self, name: FullName, expected: frozenset[SecurableType] | None = None, *, as_principal: str | None = None
    ) -> Securable:
        """Resolve a name, or raise NotFound.

        Before saying that a child does not exist, make sure the principal may use its
        container: otherwise the error would reveal what a schema holds to someone who may not
        look inside it.
        """
        found: Securable = self.snapshot.metastore
        for depth in range(1, len(name.parts) + 1):
            node = self.snapshot.find(FullName(name.parts[:depth]))
            if node is None:
                if found.type is not SecurableType.METASTORE:
                    action = "use_schema" if found.type is SecurableType.SCHEMA else "use"
                    self.require(action, found, as_principal=as_principal)
                code, template = _not_found(depth, expected)
                prefix = FullName(name.parts[:depth])
                message = template.format(name=prefix, quoted=prefix.quoted(), parent=prefix.parent or "")
                if depth < len(name.parts):
                    message += f" (looking up '{name}')"
                raise NotFound(message, error_code=code)
            found = node
        if expected is not None and found.type not in expected:
            raise wrong_type(found, expected)
        return found

    def lookup_relation(self, name: FullName, *, as_principal: str | None = None) -> Securable:
        return self.lookup(name, RELATION_TYPES, as_principal=as_principal)

    def lookup_experiment(self, path: str) -> Securable:
        """The securable of the experiment at ``path``, or NotFound."""
        found = self.snapshot.experiment(path)
        if found is None:
            raise NotFound(
                f"Experiment '{path}' does not exist. Experiment paths are case-sensitive, e.g. "
                "'/Shared/churn'; create one with tracking.set_experiment or Client.create_experiment.",
                error_code="RESOURCE_DOES_NOT_EXIST",
            )
        return found

    # -- changes -----------------------------------------------------------------------------
    def run_after_commit(self) -> None:
        """Run what had to wait until the transaction committed (deleting the files of a dropped
        model version: done earlier, a failed commit would leave rows pointing at nothing).
        These are file clean-ups; one that fails is logged, not raised, because the change itself
        is already durable and the caller must not be told it failed."""
        for action in self.after_commit:
            try:
                action()
            except OSError:
                logger.warning("clean-up after commit failed", exc_info=True)

    def changed(self) -> None:
        """Note a metadata change: later lookups in this transaction see it, and the engine
        loads a new snapshot for everyone after commit."""
        self.metadata_changed = True
        self._stale = True


def wrong_type(found: Securable, expected: frozenset[SecurableType]) -> InvalidRequest:
    wanted = " or ".join(sorted(t.label for t in expected))
    code = {
        (SecurableType.VIEW, SecurableType.TABLE): "EXPECT_TABLE_NOT_VIEW",
        (SecurableType.TABLE, SecurableType.VIEW): "EXPECT_VIEW_NOT_TABLE",
    }.get((found.type, next(iter(expected))) if len(expected) == 1 else (None, None), "WRONG_OBJECT_TYPE")
    return InvalidRequest(
        f"'{found.full_name}' is a {found.type.label}, not a {wanted}. Use the statement for a {found.type.label}.",
        error_code=code,
    )
