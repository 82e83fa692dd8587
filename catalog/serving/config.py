"""An endpoint's configuration in Databricks' JSON, checked and completed.

What users send (``databricks serving-endpoints create --json``)::

    {"served_entities": [{"entity_name": "main.ml.churn_model", "entity_version": "3",
                          "name": "v3", "scale_to_zero_enabled": true}, ...],
     "traffic_config": {"routes": [{"served_model_name": "v3", "traffic_percentage": 90}, ...]},
     "auto_capture_config": {"catalog_name": "main", "schema_name": "ml", "table_name_prefix": "churn"}}

The legacy ``served_models`` list (``model_name``/``model_version``) is accepted too. Completing
a configuration fills in what Databricks fills in: a served entity without a name is called
``<model>-<version>``, and a single entity without routes gets all the traffic. Beyond
Databricks' fields, a served entity may set how long it stays loaded when idle
(``scale_to_zero_idle_seconds``) and how requests are batched (``max_batch_size``,
``max_batch_wait_ms``). Unknown fields are refused, so a misspelt one never goes unnoticed.
"""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from catalog.errors import InvalidRequest

WORKLOAD_SIZES = ("Small", "Medium", "Large")
PAYLOAD_SUFFIX = "_payload"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServedEntity(_Strict):
    entity_name: str = Field(min_length=1)
    entity_version: str = Field(min_length=1)
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,63}$")
    workload_size: str = "Small"
    workload_type: str = "CPU"
    scale_to_zero_enabled: bool = False
    scale_to_zero_idle_seconds: float = Field(default=300.0, gt=0, le=7 * 86400)
    max_batch_size: int = Field(default=64, ge=1, le=10_000)
    max_batch_wait_ms: float = Field(default=2.0, ge=0, le=1_000)
    environment_vars: dict[str, str] | None = None

    @pydantic.field_validator("entity_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @pydantic.field_validator("workload_size")
    @classmethod
    def _known_size(cls, value: str) -> str:
        if value not in WORKLOAD_SIZES:
            raise ValueError(f"must be one of {', '.join(WORKLOAD_SIZES)}")
        return value


class ServedModel(_Strict):
    """The legacy form of a served entity (``served_models``)."""

    model_name: str
    model_version: str
    name: str | None = None
    workload_size: str = "Small"
    scale_to_zero_enabled: bool = False

    @pydantic.field_validator("model_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def as_entity(self) -> dict[str, Any]:
        return {
            "entity_name": self.model_name,
            "entity_version": self.model_version,
            "name": self.name,
            "workload_size": self.workload_size,
            "scale_to_zero_enabled": self.scale_to_zero_enabled,
        }


class Route(_Strict):
    served_model_name: str | None = None
    served_entity_name: str | None = None
    traffic_percentage: int = Field(ge=0, le=100)

    @property
    def target(self) -> str | None:
        return self.served_entity_name or self.served_model_name


class TrafficConfig(_Strict):
    routes: list[Route]


class AutoCaptureConfig(_Strict):
    catalog_name: str = Field(min_length=1)
    schema_name: str = Field(min_length=1)
    table_name_prefix: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]{1,200}$")
    enabled: bool = True

    @property
    def payload_table(self) -> str:
        """``<catalog>.<schema>.<prefix>_payload``: where requests and responses go."""
        return f"{self.catalog_name}.{self.schema_name}.{self.table_name_prefix}{PAYLOAD_SUFFIX}"


class EndpointConfig(_Strict):
    """A complete configuration: every entity named, routes summing to 100."""

    served_entities: list[ServedEntity]
    traffic_config: TrafficConfig
    auto_capture_config: AutoCaptureConfig | None = None

    def entity(self, name: str) -> ServedEntity:
        return next(e for e in self.served_entities if e.name == name)

    def percentages(self) -> dict[str, int]:
        """Traffic per served entity name (0 for an entity no route names)."""
        shares = {str(e.name): 0 for e in self.served_entities}
        for route in self.traffic_config.routes:
            shares[str(route.target)] += route.traffic_percentage
        return shares

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class _ConfigInput(_Strict):
    served_entities: list[ServedEntity] | None = None
    served_models: list[ServedModel] | None = None
    traffic_config: TrafficConfig | None = None
    auto_capture_config: AutoCaptureConfig | None = None


def parse_config(raw: Any, *, endpoint: str) -> EndpointConfig:
    """``raw`` (the ``config`` object of a create or update request) checked and completed.

    Raises:
        InvalidRequest: ``INVALID_PARAMETER_VALUE`` naming the field and what to change.
    """
    if not isinstance(raw, dict):
        raise _invalid(endpoint, "the config must be a JSON object with 'served_entities'")
    try:
        given = _ConfigInput.model_validate(raw)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'config'}: {error['msg']}" for error in exc.errors()[:8]
        )
        raise _invalid(endpoint, problems) from None
    if given.served_entities and given.served_models:
        raise _invalid(endpoint, "give served_entities or the legacy served_models, not both")
    entities = list(given.served_entities or [])
    entities += [ServedEntity.model_validate(m.as_entity()) for m in given.served_models or []]
    if not entities:
        raise _invalid(endpoint, "served_entities is empty: name at least one model version to serve")
    entities = [e if e.name else e.model_copy(update={"name": _default_name(e)}) for e in entities]
    names = [str(e.name) for e in entities]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _invalid(endpoint, f"served entity names must be unique; {', '.join(repeated)} appears twice")
    traffic = given.traffic_config or _default_traffic(entities, endpoint)
    _check_routes(traffic, names, endpoint)
    return EndpointConfig(
        served_entities=entities, traffic_config=traffic, auto_capture_config=given.auto_capture_config
    )


def _default_name(entity: ServedEntity) -> str:
    return f"{entity.entity_name.rsplit('.', 1)[-1]}-{entity.entity_version}"


def _default_traffic(entities: list[ServedEntity], endpoint: str) -> TrafficConfig:
    if len(entities) > 1:
        raise _invalid(
            endpoint,
            "with more than one served entity, traffic_config.routes must say how requests are split "
            '(e.g. [{"served_model_name": "v3", "traffic_percentage": 90}, ...])',
        )
    return TrafficConfig(routes=[Route(served_model_name=entities[0].name, traffic_percentage=100)])


def _check_routes(traffic: TrafficConfig, names: list[str], endpoint: str) -> None:
    if not traffic.routes:
        raise _invalid(endpoint, "traffic_config.routes is empty")
    targets = [route.target for route in traffic.routes]
    for route, target in zip(traffic.routes, targets, strict=True):
        if target is None:
            raise _invalid(endpoint, "every route needs served_model_name (or served_entity_name)")
        if route.served_model_name and route.served_entity_name and route.served_model_name != target:
            raise _invalid(endpoint, f"a route names both {route.served_model_name} and {route.served_entity_name}")
        if target not in names:
            raise _invalid(
                endpoint, f"route to '{target}' names no served entity; the served entities are {', '.join(names)}"
            )
    if len(set(targets)) != len(targets):
        raise _invalid(endpoint, "each served entity may appear in one route only")
    total = sum(route.traffic_percentage for route in traffic.routes)
    if total != 100:
        raise _invalid(endpoint, f"traffic percentages add up to {total}; they must add up to 100")


def _invalid(endpoint: str, problem: str) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid config for serving endpoint '{endpoint}': {problem}.", error_code="INVALID_PARAMETER_VALUE"
    )
