"""The interface every catalog connection offers, embedded or remote."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from catalog.lineage.graph import LineageGraph
from catalog.tokens import Tokens

if TYPE_CHECKING:
    from catalog.serving.client import ServingEndpoints
    from catalog.serving.runtime import Invocation

CreateMode = Literal["error", "ignore", "overwrite"]
WriteMode = Literal["append", "overwrite", "merge"]


class PolicyFiles(ABC):
    """Grants as casbin policy files a reviewer can read (metastore admins only)."""

    @abstractmethod
    def export(self) -> str:
        """The live grants, owners and group memberships as a policy file."""

    @abstractmethod
    def plan(self, text: str) -> list[str]:
        """The statements that would make the live state equal the file. Changes nothing.

        Raises:
            PolicyError: the file has a syntax error, an unknown privilege, principal or object
                (every bad line is listed with its number).
        """

    @abstractmethod
    def apply(self, text: str) -> list[str]:
        """Run the planned statements in one transaction (all or nothing) and return them."""


class Lineage(ABC):
    """The lineage graph: what feeds an object and what it feeds, and events from other tools."""

    @property
    @abstractmethod
    def namespace(self) -> str:
        """The OpenLineage namespace of this catalog's objects (``catalog://<metastore id>``)."""

    @abstractmethod
    def upstream(self, name: str, depth: int | None = None) -> LineageGraph:
        """Everything that feeds ``name``, ``depth`` hops back at most (None: all the way).

        Objects the caller may not see appear masked (``<masked-N>``). Needs the right to see
        ``name`` (any privilege on it, or BROWSE on its catalog).
        """

    @abstractmethod
    def downstream(self, name: str, depth: int | None = None) -> LineageGraph:
        """Everything ``name`` feeds, ``depth`` hops on at most; masking as in :meth:`upstream`."""

    @abstractmethod
    def ingest(self, event: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
        """Record an OpenLineage RunEvent sent by another tool (JSON text or a dict).

        Datasets in namespace ``catalog`` (or :attr:`namespace`) named ``catalog.schema.table``
        are catalog tables; others are paths. Needs MODIFY on every catalog table the event
        writes (paths: metastore admins only). Raises InvalidRequest (MALFORMED_REQUEST) for
        an event that is not a valid RunEvent.
        """


class Catalog(ABC):
    """A connection to a catalog as one principal.

    Every method is authorized for that principal and audited. Use a connection from one thread
    at a time; open one per thread (they share the home).
    """

    #: The principal this connection acts as.
    user: str

    @abstractmethod
    def sql(self, statement: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run Databricks SQL and return the result of the last statement.

        Args:
            statement: one or more statements separated by ``;``.
            params: values for ``?`` markers (a sequence) or ``:name`` markers (a mapping).

        Returns:
            The rows of a query; ``num_affected_rows`` for DML; an empty frame for DDL.

        Raises:
            SqlError: the text does not parse, or uses something the catalog does not run.
            PermissionDenied: the user lacks a privilege the statement needs.
            NotFound, AlreadyExists, InvalidName: as the statement's objects dictate.
        """

    @abstractmethod
    def create_table(
        self, name: str, df: pd.DataFrame, *, comment: str | None = None, mode: CreateMode = "error"
    ) -> str:
        """Create a managed table from a DataFrame and return its full name.

        Args:
            name: ``catalog.schema.table`` (or shorter, completed with the current catalog/schema).
            df: the rows; column names become the table's columns.
            comment: the table's comment.
            mode: ``error`` if it exists, ``ignore`` to keep an existing table, ``overwrite`` to
                replace it (its grants and owner stay).

        Raises:
            AlreadyExists: with mode ``error`` when the name is taken.
            PermissionDenied: without USE CATALOG, USE SCHEMA and CREATE TABLE.
        """

    @abstractmethod
    def read_table(self, name: str) -> pd.DataFrame:
        """All rows of a table or view (needs USE CATALOG, USE SCHEMA and SELECT).

        The frame's ``attrs["catalog_source"]`` names the table it came from.
        """

    @abstractmethod
    def write_table(self, name: str, df: pd.DataFrame, mode: WriteMode = "append") -> int:
        """Append rows to, overwrite the rows of, or merge rows into a managed table; returns
        rows written.

        Columns are matched by name; a column the table lacks is an error (SCHEMA_MISMATCH).
        ``merge`` upserts by the table's primary key (feature tables); a frame with null or
        repeated keys is refused whole (PRIMARY_KEY_VIOLATION). Needs USE CATALOG, USE SCHEMA
        and MODIFY.
        """

    @abstractmethod
    def invoke(self, action: str, **arguments: Any) -> Any:
        """Run the named engine operation (:mod:`catalog.operations`) as this connection's user.

        The tracking, registry and feature clients are built on this call, so they work the
        same on an embedded and a remote connection.
        """

    @abstractmethod
    def query_endpoint(self, name: str, body: Mapping[str, Any]) -> Invocation:
        """Score one invocation request (Databricks' JSON formats) on a serving endpoint; needs
        QUERY on it. ``cat.serving.query`` is the friendlier spelling."""

    @property
    def serving(self) -> ServingEndpoints:
        """Model serving endpoints: create, describe, update, delete, query, drift reports."""
        from catalog.serving.client import ServingEndpoints

        return ServingEndpoints(self)

    @property
    def tokens(self) -> Tokens:
        """Personal access tokens for the catalog server (create, list, revoke)."""
        return Tokens(self)

    @property
    @abstractmethod
    def lineage(self) -> Lineage:
        """Lineage: upstream and downstream graphs, and ingesting OpenLineage events."""

    @property
    @abstractmethod
    def policy(self) -> PolicyFiles:
        """Policy files: export the live grants, plan a file against them, apply it."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection. Further calls raise CONNECTION_CLOSED."""

    @property
    @abstractmethod
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
