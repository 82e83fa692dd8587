"""Registered models and their versions, shaped like MLflow's registry entities."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog import wire

STAGES = ("None", "Staging", "Production", "Archived")  # MLflow's legacy stages


@wire.register
@dataclass(frozen=True)
class ModelVersion:
    """Shaped like ``mlflow.entities.model_registry.ModelVersion`` (``version`` is an int)."""

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str
    current_stage: str
    source: str
    run_id: str | None
    status: str
    description: str | None
    digest: str
    storage_location: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    status_message: str | None = None

    @property
    def model_uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@wire.register
@dataclass(frozen=True)
class RegisteredModel:
    """Shaped like ``mlflow.entities.model_registry.RegisteredModel``; ``owner`` added."""

    name: str
    owner: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)  # alias -> version
    latest_versions: tuple[ModelVersion, ...] = ()  # the newest version of each stage (legacy)


def normalize_stage(stage: str | None) -> str:
    """'production' -> 'Production'; raise on anything that is not a stage."""
    from catalog.errors import InvalidRequest

    for known in STAGES:
        if isinstance(stage, str) and stage.strip().lower() == known.lower():
            return known
    raise InvalidRequest(f"Stage {stage!r} is not one of {', '.join(STAGES)}.", error_code="INVALID_PARAMETER_VALUE")
