"""Expression nodes for the governance statements sqlglot's Databricks dialect leaves as Command.

Statements sqlglot already models (CREATE SCHEMA/TABLE/VIEW, DROP, INSERT, MERGE, GRANT on a
table, ...) keep sqlglot's own nodes; CREATE/DROP CATALOG reuse ``exp.Create``/``exp.Drop`` with
kind CATALOG. The nodes here cover the rest, so every supported statement is a real tree.
"""

from __future__ import annotations

from sqlglot import exp


class ShowObjects(exp.Expression):
    """SHOW CATALOGS | SCHEMAS | TABLES | VIEWS | USERS | GROUPS [IN scope] [LIKE 'pattern']."""

    arg_types = {"kind": True, "scope": False, "like": False}


class ShowGrants(exp.Expression):
    """SHOW GRANTS [principal] ON securable_type name."""

    arg_types = {"principal": False, "kind": True, "this": False}


class SetOwner(exp.Expression):
    """ALTER CATALOG | SCHEMA | TABLE | VIEW | ... | EXPERIMENT path [SET] OWNER TO principal."""

    arg_types = {"kind": True, "this": False, "owner": True}


class CreatePrincipal(exp.Expression):
    """CREATE USER | GROUP [IF NOT EXISTS] name."""

    arg_types = {"kind": True, "this": True, "exists": False}


class DropPrincipal(exp.Expression):
    """DROP USER | GROUP [IF EXISTS] name."""

    arg_types = {"kind": True, "this": True, "exists": False}


class GroupMember(exp.Expression):
    """USER name | GROUP name inside ALTER GROUP."""

    arg_types = {"kind": True, "this": True}


class AlterGroup(exp.Expression):
    """ALTER GROUP g ADD | REMOVE USER u | GROUP h [, ...]."""

    arg_types = {"this": True, "action": True, "expressions": True}


class CommentOn(exp.Expression):
    """COMMENT ON CATALOG | SCHEMA | TABLE | VIEW | COLUMN name IS 'text' | NULL."""

    arg_types = {"kind": True, "this": True, "expression": True}
