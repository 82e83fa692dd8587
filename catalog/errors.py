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
        body: dict[str, Any] = {
            "error_code": self.error_code,
            "message": self.message,
            "error_type": public_class(type(self)).__name__,  # the class a remote client raises again
        }
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


class RequestTooLarge(InvalidRequest):
    """A request body over the server's size limit (server only)."""

    default_code = "REQUEST_TOO_LARGE"
    http_status = 413


class ModelIntegrityError(CatalogError):
    """A model directory does not match its ``MLmodel`` checksums; nothing was loaded from it."""

    default_code = "MODEL_INTEGRITY_ERROR"
    http_status = 400


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


class ServerUnavailable(CatalogError):
    """The catalog server cannot be reached (remote connections only)."""

    default_code = "SERVER_UNAVAILABLE"
    http_status = 503


class HomeLocked(CatalogError):
    """Another process holds the catalog home open."""

    default_code = "HOME_LOCKED"
    http_status = 409


def error_from_dict(body: dict[str, Any], http_status: int) -> CatalogError:
    """The error a server's JSON body describes, as the class the engine raised."""
    # Only this module's classes: subclasses elsewhere take other constructor arguments.
    classes = {cls.__name__: cls for cls in _subclasses(CatalogError) if cls.__module__ == __name__}
    cls = classes.get(str(body.get("error_type")))
    if cls is None:
        cls = next((c for c in _STATUS_CLASSES if c.http_status == http_status), CatalogError)
    return cls(
        str(body.get("message") or f"HTTP {http_status}"),
        error_code=str(body.get("error_code") or cls.default_code),
        details=body.get("details") if isinstance(body.get("details"), dict) else None,
    )


def public_class(cls: type[CatalogError]) -> type[CatalogError]:
    """The nearest class of this module above ``cls``: subclasses defined elsewhere (the
    authorizer's AccessDenied) are details a remote client cannot rebuild."""
    return next(c for c in cls.__mro__ if c.__module__ == __name__)


def _subclasses(cls: type[CatalogError]) -> list[type[CatalogError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found


_STATUS_CLASSES: tuple[type[CatalogError], ...] = (
    Unauthenticated,
    PermissionDenied,
    NotFound,
    AlreadyExists,
    RequestTooLarge,
    InvalidRequest,
)
