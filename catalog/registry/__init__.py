"""The model registry: registered models in the catalog namespace, their versions and aliases.

The calls are on :class:`catalog.tracking.Client` (MLflow's names); this package holds the
entities, the storage and the search grammar. Services: :mod:`catalog.services.registry`.
"""

from catalog.registry.entities import STAGES, ModelVersion, RegisteredModel

__all__ = ["STAGES", "ModelVersion", "RegisteredModel"]
