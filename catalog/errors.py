"""One exception hierarchy for everything a user can cause.

Every error carries a stable, Databricks-style ``error_code`` (callers and the HTTP layer
branch on the code or the class, never on the message) and a message that names the object
involved and says what to do next. The HTTP status of each class lives here, in one place.
"""

from __future__ import annotations

from typing import Any


class CatalogError(Exception):
    """Root of every error the catalog raises on purpose.

    Attributes:
        error_code: stable machine-readable code, e.g. ``TABLE_OR_VIEW_NOT_FOUND``.
        message: human-readable text naming the object and the remedy.
        details: optional structured context (line/column of a syntax error, ...).
    """

    default_code = "INTERNAL_ERROR"
    http_status = 400

    def __init__(self, message: str, *, error_code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code or self.default_code
        self.details = dict(details or {})

    def __str__(self) -> str:
        return f"[{self.error_code}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the server sends for this error."""
        body: dict[str, Any] = {"error_code": self.error_code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidRequest(CatalogError):
    """The request is well-formed but cannot be carried out as asked."""

    default_code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class InvalidName(InvalidRequest):
    """A name that is not a valid identifier for its kind of object."""

    default_code = "INVALID_IDENTIFIER"


class SqlError(InvalidRequest):
    """A SQL statement that cannot be parsed, is not supported, or fails to execute."""

    default_code = "SQL_ERROR"


class PolicyError(InvalidRequest):
    """A policy file that cannot be applied; nothing was changed."""

    default_code = "INVALID_POLICY_FILE"


class NotFound(CatalogError):
    """The named object, or principal, does not exist (or is invisible to the caller)."""

    default_code = "NOT_FOUND"
    http_status = 404


class AlreadyExists(CatalogError):
    """An object of that name exists already."""

    default_code = "ALREADY_EXISTS"
    http_status = 409


class PermissionDenied(CatalogError):
    """The acting principal lacks a privilege the operation needs."""

    default_code = "PERMISSION_DENIED"
    http_status = 403


class Unauthenticated(CatalogError):
    """No valid credentials were presented (server only)."""

    default_code = "UNAUTHENTICATED"
    http_status = 401


class HomeLocked(CatalogError):
    """Another process holds the catalog home open."""

    default_code = "HOME_LOCKED"
    http_status = 409
