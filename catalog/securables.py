"""Securable types, privileges, and which privilege each action needs: the rules as data.

This module is the one place that says which privileges can be granted on which kind of object,
how a grant on a container reaches its children, and what each engine action requires. The
authorizer, the GRANT statement, policy files and the tests all read these tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from catalog.names import FullName


class SecurableType(StrEnum):
    METASTORE = "METASTORE"
    CATALOG = "CATALOG"
    SCHEMA = "SCHEMA"
    TABLE = "TABLE"
    VIEW = "VIEW"
    MODEL = "MODEL"
    FUNCTION = "FUNCTION"
    EXPERIMENT = "EXPERIMENT"  # an MLflow experiment, named by a workspace path
    ENDPOINT = "ENDPOINT"  # a model serving endpoint

    @property
    def depth(self) -> int:
        """How many name parts an object of this type has (0 for the metastore)."""
        return _DEPTH[self]

    @property
    def label(self) -> str:
        """The word used in messages: 'table', 'schema', ..."""
        return self.value.lower()

    @property
    def a_label(self) -> str:
        """The word with its article: 'a table', 'an experiment'."""
        return f"{'an' if self.label[0] in 'aeiou' else 'a'} {self.label}"


_DEPTH = {
    SecurableType.METASTORE: 0,
    SecurableType.CATALOG: 1,
    SecurableType.SCHEMA: 2,
    SecurableType.TABLE: 3,
    SecurableType.VIEW: 3,
    SecurableType.MODEL: 3,
    SecurableType.FUNCTION: 3,
    SecurableType.ENDPOINT: 3,
    SecurableType.EXPERIMENT: 0,  # a path such as /Shared/churn, not a dotted name
}

# Tables and views share one namespace inside a schema, as in Unity Catalog.
RELATION_TYPES = frozenset({SecurableType.TABLE, SecurableType.VIEW})


class Privilege(StrEnum):
    ALL_PRIVILEGES = "ALL PRIVILEGES"
    BROWSE = "BROWSE"
    CAN_EDIT = "CAN EDIT"
    CAN_MANAGE = "CAN MANAGE"
    CAN_READ = "CAN READ"
    CREATE_CATALOG = "CREATE CATALOG"
    CREATE_ENDPOINT = "CREATE ENDPOINT"
    CREATE_FUNCTION = "CREATE FUNCTION"
    CREATE_MODEL = "CREATE MODEL"
    CREATE_SCHEMA = "CREATE SCHEMA"
    CREATE_TABLE = "CREATE TABLE"
    EXECUTE = "EXECUTE"
    MANAGE = "MANAGE"
    MODIFY = "MODIFY"
    QUERY = "QUERY"
    SELECT = "SELECT"
    USE_CATALOG = "USE CATALOG"
    USE_SCHEMA = "USE SCHEMA"


# Ownership is not a grantable privilege; it appears as OWN in SHOW GRANTS and policy files.
OWN = "OWN"

P = Privilege
T = SecurableType

# Which privileges may be granted on each securable type. A privilege granted on a container
# reaches every descendant on whose type it is also listed here (Unity Catalog inheritance):
# SELECT on a schema reaches its tables and views, USE SCHEMA on a catalog reaches its schemas,
# USE CATALOG on a catalog reaches nothing below it.
GRANTABLE: dict[SecurableType, frozenset[Privilege]] = {
    T.METASTORE: frozenset({P.CREATE_CATALOG}),
    T.CATALOG: frozenset(
        {
            P.ALL_PRIVILEGES,
            P.BROWSE,
            P.CREATE_ENDPOINT,
            P.CREATE_FUNCTION,
            P.CREATE_MODEL,
            P.CREATE_SCHEMA,
            P.CREATE_TABLE,
            P.EXECUTE,
            P.MANAGE,
            P.MODIFY,
            P.QUERY,
            P.SELECT,
            P.USE_CATALOG,
            P.USE_SCHEMA,
        }
    ),
    T.SCHEMA: frozenset(
        {
            P.ALL_PRIVILEGES,
            P.CREATE_ENDPOINT,
            P.CREATE_FUNCTION,
            P.CREATE_MODEL,
            P.CREATE_TABLE,
            P.EXECUTE,
            P.MANAGE,
            P.MODIFY,
            P.QUERY,
            P.SELECT,
            P.USE_SCHEMA,
        }
    ),
    T.TABLE: frozenset({P.ALL_PRIVILEGES, P.MANAGE, P.MODIFY, P.SELECT}),
    T.VIEW: frozenset({P.ALL_PRIVILEGES, P.MANAGE, P.SELECT}),
    T.MODEL: frozenset({P.ALL_PRIVILEGES, P.EXECUTE, P.MANAGE}),
    T.FUNCTION: frozenset({P.ALL_PRIVILEGES, P.EXECUTE, P.MANAGE}),
    # Serving endpoints: QUERY sends requests to it (it scores as its owner); MANAGE updates or deletes it.
    T.ENDPOINT: frozenset({P.ALL_PRIVILEGES, P.MANAGE, P.QUERY}),
    # Experiments have Databricks' permission levels instead of Unity Catalog privileges.
    T.EXPERIMENT: frozenset({P.CAN_READ, P.CAN_EDIT, P.CAN_MANAGE}),
}

# Permission levels that include lower ones: CAN MANAGE > CAN EDIT > CAN READ. The matcher of
# policies/model.conf states the same implications.
INCLUDES: dict[Privilege, frozenset[Privilege]] = {
    P.CAN_MANAGE: frozenset({P.CAN_EDIT, P.CAN_READ}),
    P.CAN_EDIT: frozenset({P.CAN_READ}),
}


def implies(held: str, wanted: Privilege) -> bool:
    """Whether holding ``held`` (a privilege name) satisfies a request for ``wanted``.

    ``ALL PRIVILEGES`` covers everything except MANAGE, which must be granted on its own;
    an experiment's permission level covers the levels below it (``INCLUDES``). Ownership is
    handled by the authorizer, not here.
    """
    if held == wanted:
        return True
    if held == P.ALL_PRIVILEGES:
        return wanted != P.MANAGE
    return wanted in INCLUDES.get(held, frozenset())


def parse_privilege(text: str) -> Privilege:
    """Map 'use catalog', 'ALL', 'all privileges' ... to a Privilege; raise on unknown."""
    from catalog.errors import InvalidRequest

    words = " ".join(text.upper().replace("_", " ").split())
    if words == "ALL":
        words = P.ALL_PRIVILEGES.value
    try:
        return Privilege(words)
    except ValueError:
        known = ", ".join(sorted(p.value for p in Privilege))
        raise InvalidRequest(
            f"Unknown privilege '{text}'. Known privileges: {known}.",
            error_code="INVALID_PRIVILEGE",
        ) from None


@dataclass(frozen=True)
class Securable:
    """One object in the metastore, as the engine passes it around."""

    id: str
    type: SecurableType
    full_name: FullName | None  # None for the metastore and experiments
    parent_id: str | None
    owner: str
    comment: str | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    storage_name: str | None = None  # physical DuckDB table of a managed table
    definition: str | None = None  # SQL text of a view
    properties: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    path: str | None = None  # an experiment's workspace path, e.g. /Shared/churn

    @property
    def key(self) -> str:
        """The object key shown in SHOW GRANTS: the full name, or an experiment's path."""
        if self.path is not None:
            return self.path
        return str(self.full_name) if self.full_name else ""

    @property
    def policy_key(self) -> str:
        """``type:name``: the object field of a casbin policy line (``experiment:/Shared/churn``)."""
        if self.path is not None:
            return f"{self.type.label}:{self.path}"
        kind = "table" if self.type in RELATION_TYPES else self.type.label
        return f"{kind}:{self.full_name}" if self.full_name else "metastore"

    @property
    def sql_name(self) -> str:
        """How SQL names it after ON or ALTER: ``METASTORE``, ``TABLE main.ml.churn``,
        ``EXPERIMENT `/Shared/churn```."""
        if self.type is SecurableType.METASTORE:
            return "METASTORE"
        if self.path is not None:
            return f"{self.type.value} `{self.path}`"  # experiment paths never hold a backtick
        return f"{self.type.value} {self.full_name.quoted()}"

    @property
    def is_system(self) -> bool:
        return bool(self.full_name) and self.full_name.catalog == SYSTEM_CATALOG

    def describe(self) -> str:
        """'table main.ml.churn' (or 'experiment /Shared/churn') for messages."""
        if self.path is not None:
            return f"{self.type.label} {self.path}"
        return f"{self.type.label} {self.full_name}" if self.full_name else "the metastore"


SYSTEM_CATALOG = "system"


@dataclass(frozen=True)
class Action:
    """What an engine operation needs: a privilege on its target, plus usage of the containers.

    ``needs_usage`` adds USE CATALOG on the target's catalog and USE SCHEMA on its schema
    (Unity Catalog's rule for reaching anything inside them). ``usage_of_target`` says whether
    a catalog or schema target needs USE on itself too: creating a table in a schema does, while
    managing the schema needs USE only on its parent catalog. ``privilege_on`` names another
    privilege for some securable types: managing an experiment needs CAN MANAGE, its
    permission level, since MANAGE cannot be granted on it.
    """

    name: str
    privilege: Privilege
    needs_usage: bool = True
    usage_of_target: bool = True
    description: str = ""
    privilege_on: dict[SecurableType, Privilege] = field(default_factory=dict, compare=False, hash=False)

    def privilege_for(self, kind: SecurableType) -> Privilege:
        """The privilege this action needs on a target of type ``kind``."""
        return self.privilege_on.get(kind, self.privilege)


A = Action
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        A("read", P.SELECT, description="read rows of a table or view"),
        A("write", P.MODIFY, description="insert, update, delete or merge rows"),
        A("use", P.USE_CATALOG, needs_usage=False, description="use a catalog"),
        A("use_schema", P.USE_SCHEMA, description="use a schema"),
        A("create_catalog", P.CREATE_CATALOG, needs_usage=False, description="create a catalog"),
        A("create_schema", P.CREATE_SCHEMA, description="create a schema in a catalog"),
        A("create_table", P.CREATE_TABLE, description="create a table or view in a schema"),
        A("create_model", P.CREATE_MODEL, description="create a registered model in a schema"),
        A("execute", P.EXECUTE, description="load or run a model or function"),
        A("create_endpoint", P.CREATE_ENDPOINT, description="create a serving endpoint in a schema"),
        # An endpoint is queried with QUERY alone (Databricks' CAN QUERY): the applications that
        # call it need no usage of its catalog and schema.
        A("query", P.QUERY, needs_usage=False, description="send requests to a serving endpoint"),
        A(
            "manage",
            P.MANAGE,
            usage_of_target=False,
            privilege_on={T.EXPERIMENT: P.CAN_MANAGE},
            description="drop, rename, comment on, change owner, grant",
        ),
        A(
            "read_experiment",
            P.CAN_READ,
            needs_usage=False,
            description="read an experiment, its runs, metrics and artifacts",
        ),
        A(
            "edit_experiment",
            P.CAN_EDIT,
            needs_usage=False,
            description="create runs in an experiment; log to, tag, delete and restore its runs",
        ),
    )
}
