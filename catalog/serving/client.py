"""Serving endpoints on any connection: ``cat.serving``.

cat.serving.create_endpoint("main.ml.churn_endpoint", {
    "served_entities": [{"entity_name": "main.ml.churn_model", "entity_version": "1"}]})
cat.serving.query("main.ml.churn_endpoint", {"dataframe_records": [{"tenure_months": 12, ...}]})
cat.serving.drift_report("main.ml.churn_endpoint", since="2026-11-01")

Descriptions are the JSON Databricks' API returns (``name``, ``state``, ``config`` ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from catalog.errors import InvalidRequest

if TYPE_CHECKING:
    from catalog.api import Catalog
    from catalog.serving.runtime import Invocation


class ServingEndpoints:
    def __init__(self, cat: Catalog) -> None:
        self._cat = cat

    def create_endpoint(self, name: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Create an endpoint serving registered model versions (Databricks' ``config`` JSON).

        Needs CREATE ENDPOINT on the schema and EXECUTE on every model served; with
        ``auto_capture_config``, CREATE TABLE on the capture schema.
        """
        return self._cat.invoke("createServingEndpoint", name=name, config=_config(config))

    def get_endpoint(self, name: str) -> dict[str, Any]:
        return self._cat.invoke("getServingEndpoint", name=name)

    def list_endpoints(self) -> list[dict[str, Any]]:
        """The endpoints you may see, by name."""
        return self._cat.invoke("listServingEndpoints")

    def update_config(self, name: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the served entities and routes (owner or MANAGE). A running server keeps
        answering with the old configuration until the new one's models are loaded."""
        return self._cat.invoke("updateServingEndpointConfig", name=name, config=_config(config))

    def delete_endpoint(self, name: str) -> None:
        self._cat.invoke("deleteServingEndpoint", name=name)

    def query(self, name: str, request: Mapping[str, Any] | pd.DataFrame) -> Invocation:
        """Score a request (``{"dataframe_records": [...]}``, ``dataframe_split``, ``instances``,
        ``inputs``, or a DataFrame) on the endpoint: needs QUERY on it. The answer holds the
        predictions and the served entity that gave them."""
        body = {"dataframe_split": _split(request)} if isinstance(request, pd.DataFrame) else dict(request)
        return self._cat.query_endpoint(name, body)

    def flush(self) -> bool:
        """Wait until every request answered so far is recorded: usage rows and inference
        tables are written in the background, a fraction of a second after the answer."""
        return self._cat.invoke("flushServingRecords")

    def usage(self, name: str) -> pd.DataFrame:
        """Requests, errors and latency percentiles per served entity, from
        ``system.serving.endpoint_usage`` (needs SELECT on it)."""
        self.flush()
        return self._cat.sql(
            "SELECT served_entity_name, count(*) AS requests, "
            "count(*) FILTER (WHERE status_code >= 400) AS errors, "
            "quantile_cont(execution_duration_ms, 0.5) AS p50_ms, "
            "quantile_cont(execution_duration_ms, 0.99) AS p99_ms "
            "FROM system.serving.endpoint_usage WHERE endpoint_name = ? "
            "GROUP BY served_entity_name ORDER BY served_entity_name",
            [name],
        )

    def drift_report(
        self,
        name: str,
        *,
        since: datetime | str | None = None,
        baseline: str | pd.DataFrame | None = None,
        features: Sequence[str] | None = None,
        bins: int = 10,
    ) -> pd.DataFrame:
        """Compare what the endpoint was asked (its inference table, successful requests since
        ``since``) with what its model was trained on: one row per feature with the population
        stability index and the Kolmogorov-Smirnov statistic (see :func:`catalog.serving.drift.drift_table`).

        ``baseline`` is the training data: a DataFrame or a table name. By default it is the
        catalog table the served model was trained from, as lineage records it.
        """
        from catalog.serving.drift import drift_table

        endpoint = self.get_endpoint(name)
        self.flush()
        serving = self._served_inputs(endpoint, since)
        training = self._baseline(endpoint, baseline)
        return drift_table(training, serving, features=features, bins=bins)

    def _served_inputs(self, endpoint: dict[str, Any], since: datetime | str | None) -> pd.DataFrame:
        from catalog.serving.inputs import parse_request

        capture = endpoint["config"].get("auto_capture_config")
        if not capture:
            raise InvalidRequest(
                f"Endpoint '{endpoint['name']}' has no inference table: enable auto_capture_config "
                "with update_config to record requests, then ask again.",
                error_code="INVALID_STATE",
            )
        table = f"{capture['catalog_name']}.{capture['schema_name']}.{capture['table_name_prefix']}_payload"
        cutoff = pd.Timestamp(since if since is not None else 0, tz="UTC") if not isinstance(since, datetime) else since
        millis = int(pd.Timestamp(cutoff).timestamp() * 1000)
        quoted = ".".join(f"`{part}`" for part in table.split("."))
        rows = self._cat.sql(
            f"SELECT request FROM {quoted} WHERE status_code = 200 AND timestamp_ms >= ? ORDER BY timestamp_ms",
            [millis],
        )
        frames = [parse_request(json.loads(text), max_rows=1_000_000).data for text in rows["request"]]
        frames = [f for f in frames if isinstance(f, pd.DataFrame)]
        if not frames:
            raise InvalidRequest(
                f"Inference table '{table}' holds no successful requests since {cutoff}; query the endpoint "
                "first, or choose an earlier 'since'.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return pd.concat(frames, ignore_index=True)

    def _baseline(self, endpoint: dict[str, Any], baseline: str | pd.DataFrame | None) -> pd.DataFrame:
        if isinstance(baseline, pd.DataFrame):
            return baseline
        if baseline is not None:
            return self._cat.read_table(baseline)
        for entity in endpoint["config"]["served_entities"]:
            graph = self._cat.lineage.upstream(entity["entity_name"], depth=1)
            tables = [n.name for n in graph.nodes if n.type in ("TABLE", "VIEW") and n.depth == 1]
            if tables:
                return self._cat.read_table(tables[0])
        raise InvalidRequest(
            f"No training table is recorded for the models of endpoint '{endpoint['name']}'; pass "
            "baseline= (a table name or a DataFrame).",
            error_code="INVALID_PARAMETER_VALUE",
        )


def _config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config object, also when given wrapped as the CLI's ``{"config": {...}}``."""
    if not isinstance(config, Mapping):
        raise InvalidRequest("An endpoint config must be a JSON object.", error_code="INVALID_PARAMETER_VALUE")
    inner = config.get("config")
    return dict(inner) if isinstance(inner, Mapping) and len(config) <= 2 else dict(config)


def _split(frame: pd.DataFrame) -> dict[str, Any]:
    return json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
