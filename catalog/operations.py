"""Named engine operations: the calls every front end makes the same way.

An operation is a module-level function ``fn(ctx, **arguments)`` over the services, registered
under the action name the audit log records (``createRun``, ``createModelVersion``, ...). The
embedded client runs it in its session; the server runs the very same function for a remote
client (``POST /api/v1/<area>/<action>``). Arguments are checked against the function's type
hints before it runs, so a malformed request is an INVALID_PARAMETER_VALUE naming the argument,
wherever it comes from.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic

from catalog.errors import InvalidRequest, NotFound

if TYPE_CHECKING:
    from catalog.engine import Session

F = TypeVar("F", bound=Callable[..., Any])

AuditParams = Callable[[Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class Operation:
    action: str  # the audit log's action name, and the last segment of its REST path
    area: str  # tracking | registry | features | ...: the REST path's first segment
    fn: Callable[..., Any]
    writes: bool
    lineage: str | None
    audit: AuditParams  # the request parameters the audit row records
    arguments: type[pydantic.BaseModel]

    @property
    def path(self) -> str:
        return f"/api/v1/{self.area}/{self.action}"

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """``arguments`` checked against the function's signature (InvalidRequest if they do not fit)."""
        try:
            model = self.arguments.model_validate(dict(arguments))
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}" for error in exc.errors()
            )
            raise InvalidRequest(
                f"Invalid arguments for {self.action}: {problems}.", error_code="INVALID_PARAMETER_VALUE"
            ) from None
        return {name: getattr(model, name) for name in type(model).model_fields}


OPERATIONS: dict[str, Operation] = {}


def operation(
    area: str,
    action: str,
    *,
    writes: bool,
    lineage: str | None = None,
    audit: Sequence[str] | AuditParams = (),
) -> Callable[[F], F]:
    """Register ``fn(ctx, **arguments)`` as the operation ``action``.

    ``audit`` names the arguments the audit row records (or computes the recorded params).
    """

    def register(fn: F) -> F:
        if action in OPERATIONS:
            raise ValueError(f"operation {action} is registered twice")
        recorded = audit if callable(audit) else _named(tuple(audit))
        OPERATIONS[action] = Operation(action, area, fn, writes, lineage, recorded, _arguments_model(action, fn))
        return fn

    return register


def find(action: str) -> Operation:
    _load_all()
    op = OPERATIONS.get(action)
    if op is None:
        raise NotFound(f"There is no operation '{action}'.", error_code="ENDPOINT_NOT_FOUND")
    return op


def all_operations() -> list[Operation]:
    _load_all()
    return sorted(OPERATIONS.values(), key=lambda op: (op.area, op.action))


def run(session: Session, action: str, arguments: Mapping[str, Any]) -> Any:
    """Run the operation ``action`` as one authorized, audited request of ``session``."""
    op = find(action)
    try:
        checked = op.validate(arguments)
    except InvalidRequest as error:
        session.record_refusal(action, {}, error)
        raise
    params = {k: str(v) for k, v in op.audit(checked).items() if v is not None}
    return session.run(
        op.action, lambda ctx: op.fn(ctx, **checked), writes=op.writes, request_params=params, lineage=op.lineage
    )


# Modules that register operations; imported on first use so that ``import catalog`` stays light.
OPERATION_MODULES: list[str] = [
    "catalog.services.tokens",
    "catalog.tracking.operations",
    "catalog.registry.operations",
    "catalog.features.operations",
    "catalog.serving.operations",
]


def _load_all() -> None:
    import importlib

    for module in OPERATION_MODULES:
        importlib.import_module(module)


def _named(names: tuple[str, ...]) -> AuditParams:
    return lambda arguments: {name: arguments.get(name) for name in names}


_CONFIG = pydantic.ConfigDict(arbitrary_types_allowed=True, extra="forbid", strict=False)


def _arguments_model(action: str, fn: Callable[..., Any]) -> type[pydantic.BaseModel]:
    """A pydantic model of ``fn``'s keyword arguments (everything after ``ctx``)."""
    hints = typing.get_type_hints(fn)
    fields: dict[str, Any] = {}
    for i, (name, parameter) in enumerate(inspect.signature(fn).parameters.items()):
        if i == 0:
            continue  # ctx
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[name] = (hints.get(name, Any), default)
    return pydantic.create_model(f"{action}Arguments", __config__=_CONFIG, **fields)
