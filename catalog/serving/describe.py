"""An endpoint as Databricks' API shows it (``GET /api/2.0/serving-endpoints/{name}``).

The metastore says what is configured; a serving runtime in this process, when there is one,
adds what is live: each served entity's deployment state (loaded, scaled to zero, loading) and
whether a new configuration is still being readied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.securables import Securable
from catalog.serving.store import NOT_READY, NOT_UPDATING, EndpointRow

IN_PROGRESS = "IN_PROGRESS"
UPDATE_FAILED = "UPDATE_FAILED"

# A served entity's runtime state -> Databricks' deployment state and message.
_DEPLOYMENT = {
    "READY": ("DEPLOYMENT_READY", "The model is loaded and serving."),
    "NOT_LOADED": ("DEPLOYMENT_READY", "Ready; the model loads on the first request."),
    "LOADING": ("DEPLOYMENT_CREATING", "The model is loading."),
    "SCALED_TO_ZERO": ("DEPLOYMENT_READY", "Scaled to zero; the next request loads the model (cold start)."),
}


def endpoint_json(
    endpoint: Securable,
    row: EndpointRow,
    live: dict[str, Any] | None,
    *,
    permission_level: str,
    problems: Sequence[str] = (),
) -> dict[str, Any]:
    """The endpoint's description; ``live`` is :meth:`ServingRuntime.describe`'s answer or None;
    ``problems`` say why it cannot answer now (then it is NOT_READY)."""
    config = row.config.to_json()
    shares = row.config.percentages()
    entities_live = (live or {}).get("entities", {}) if live and live["config_version"] == row.config_version else {}
    for entity in config["served_entities"]:
        state = entities_live.get(entity["name"], {}).get("state", "NOT_LOADED")
        deployment, message = _DEPLOYMENT.get(state, ("DEPLOYMENT_READY", state))
        entity["state"] = {"deployment": deployment, "deployment_state_message": message}
        entity["traffic_percentage"] = shares[entity["name"]]
        if entity["name"] in entities_live:
            entity["runtime"] = entities_live[entity["name"]]
    capture = config.get("auto_capture_config")
    if capture is not None:
        capture["state"] = {"payload_table": {"name": f"{capture['table_name_prefix']}_payload", "status": "ACTIVE"}}
    config["config_version"] = row.config_version
    config_update = row.config_update
    if live is not None and live.get("update_failed"):
        config_update = UPDATE_FAILED
    elif live is not None and (live["config_version"] != row.config_version or live.get("pending_config_version")):
        config_update = IN_PROGRESS  # this process still answers with the previous configuration
    state: dict[str, Any] = {"ready": NOT_READY if problems else row.ready, "config_update": config_update}
    if problems:
        state["ready_message"] = "; ".join(problems)
    if live is not None and live.get("update_failed"):
        state["config_update_message"] = live["update_failed"]
    return {
        "name": str(endpoint.full_name),
        "id": endpoint.id,
        "creator": row.created_by,
        "owner": endpoint.owner,
        "creation_timestamp": int(row.created_at.timestamp() * 1000),
        "last_updated_timestamp": int(row.updated_at.timestamp() * 1000),
        "state": state,
        "config": config,
        "permission_level": permission_level,
    }


__all__ = ["IN_PROGRESS", "NOT_UPDATING", "UPDATE_FAILED", "endpoint_json"]
