"""Events from other tools: validate an OpenLineage RunEvent and join it to the catalog's graph.

A dataset in an ingested event names a catalog object when its namespace is ``catalog`` or
this home's own namespace (``catalog://<metastore id>``) and its name is
``catalog.schema.name``; any other dataset is a path outside the catalog (``namespace/name``).
Ingesting needs MODIFY on every catalog table the event writes (metastore admins may also
write paths), and the right to see every catalog table it reads. The event is stored whole;
a COMPLETE event's inputs and outputs (and its column lineage facet) become edges.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dateutil.parser import isoparse
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

from catalog.errors import CatalogError, InvalidRequest
from catalog.lineage.capture import dataset_of
from catalog.lineage.events import NAMESPACE_SCHEME, DatasetRef, new_event_id
from catalog.lineage.store import Edge, LineageStore, StoredEvent
from catalog.names import FullName
from catalog.securables import RELATION_TYPES, SecurableType
from catalog.services.context import Context

CATALOG_NAMESPACE_ALIAS = "catalog"
MAX_EVENT_BYTES = 5 * 1024 * 1024
ENTITY_TYPE = "EXTERNAL"
_STATES = {s.value for s in RunState}


def malformed(message: str) -> InvalidRequest:
    return InvalidRequest(
        f"Malformed OpenLineage event: {message}. See https://openlineage.io/spec for the RunEvent format.",
        error_code="MALFORMED_REQUEST",
    )


def parse(event: str | bytes | Mapping[str, Any] | RunEvent) -> dict[str, Any]:
    """The event as a dict, checked against the RunEvent fields the catalog relies on."""
    if isinstance(event, RunEvent):
        from openlineage.client.serde import Serde

        event = Serde.to_dict(event)
    elif isinstance(event, str | bytes):
        size = len(event) if isinstance(event, bytes) else len(event.encode("utf-8", "surrogatepass"))
        if size > MAX_EVENT_BYTES:
            raise malformed(f"the event is larger than {MAX_EVENT_BYTES // (1024 * 1024)} MiB")
        try:
            event = json.loads(event)
        except ValueError as problem:
            raise malformed(f"not JSON ({problem})") from None
        except RecursionError:
            raise malformed("nested too deeply") from None
    if not isinstance(event, Mapping):
        raise malformed("expected a JSON object")
    event = dict(event)
    state = event.get("eventType")
    if state not in _STATES:
        raise malformed(f"eventType must be one of {', '.join(sorted(_STATES))}, not {state!r}")
    when = event.get("eventTime")
    try:
        # stored with fromisoformat; forwarded as openlineage-python's RunEvent, which checks the
        # time with dateutil's isoparse and wants a time of day
        if not isinstance(when, str) or "t" not in when.lower():
            raise ValueError(when)
        datetime.fromisoformat(when.replace("Z", "+00:00"))
        isoparse(when)
    except ValueError:
        raise malformed(f"eventTime must be an ISO 8601 timestamp, not {when!r}") from None
    run = _object(event, "run")
    try:
        uuid.UUID(str(run.get("runId")))
    except ValueError:
        raise malformed(f"run.runId must be a UUID, not {run.get('runId')!r}") from None
    job = _object(event, "job")
    for key in ("namespace", "name"):
        if not isinstance(job.get(key), str) or not job[key]:
            raise malformed(f"job.{key} must be a non-empty string")
    _check_facets(run, "run", "facets")
    _check_facets(job, "job", "facets")
    for side in ("inputs", "outputs"):
        datasets = event.get(side)
        if datasets is None:
            continue
        if not isinstance(datasets, list):
            raise malformed(f"{side} must be a list")
        for i, dataset in enumerate(datasets):
            if not isinstance(dataset, Mapping):
                raise malformed(f"{side}[{i}] must be an object")
            for key in ("namespace", "name"):
                if not isinstance(dataset.get(key), str) or not dataset[key]:
                    raise malformed(f"{side}[{i}].{key} must be a non-empty string")
            _check_facets(dataset, f"{side}[{i}]", "facets", _DATASET_FACETS[side])
    return event


_DATASET_FACETS = {"inputs": "inputFacets", "outputs": "outputFacets"}


def _check_facets(holder: Mapping[str, Any], where: str, *keys: str) -> None:
    for key in keys:
        if holder.get(key) is not None and not isinstance(holder[key], Mapping):
            raise malformed(f"{where}.{key} must be an object")


def _object(event: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = event.get(key)
    if not isinstance(value, Mapping):
        raise malformed(f"'{key}' must be an object")
    return value


def ingest(ctx: Context, event: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Authorize and store one parsed event; return what was recorded."""
    inputs = [_dataset(ctx, d, namespace, writes=False) for d in event.get("inputs") or []]
    outputs = [_dataset(ctx, d, namespace, writes=True) for d in event.get("outputs") or []]
    run_id = str(event["run"]["runId"])
    stored = StoredEvent(
        event_id=new_event_id(),
        run_id=run_id,
        event_type=event["eventType"],
        event_time=datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00")),
        job_namespace=event["job"]["namespace"],
        job_name=event["job"]["name"],
        entity_type=ENTITY_TYPE,
        created_by=ctx.principal,
        json=json.dumps(event, sort_keys=True),
    )
    edges: list[Edge] = []
    if event["eventType"] == RunState.COMPLETE.value:
        edges = [Edge(s, t) for t in outputs for s in inputs if s.key != t.key]
        edges += _column_edges(event, inputs, outputs, namespace)
    LineageStore(ctx.cursor).save([stored], edges, edge_event=stored)
    return {
        "run_id": run_id,
        "event_type": stored.event_type,
        "inputs": [d.key for d in inputs],
        "outputs": [d.key for d in outputs],
        "edges": len(edges),
    }


def as_run_event(event: dict[str, Any]) -> RunEvent:
    """The ingested event as openlineage-python's RunEvent (facets kept as they came), to forward."""

    def datasets(side: str, kind: type) -> list:
        extra = _DATASET_FACETS[side]
        return [
            kind(
                namespace=d["namespace"],
                name=d["name"],
                facets=dict(d.get("facets") or {}),
                **{extra: dict(d.get(extra) or {})},
            )
            for d in event.get(side) or []
        ]

    return RunEvent(
        eventType=RunState(event["eventType"]),
        eventTime=str(event["eventTime"]),
        run=Run(runId=str(event["run"]["runId"]), facets=dict(event["run"].get("facets") or {})),
        job=Job(
            namespace=event["job"]["namespace"],
            name=event["job"]["name"],
            facets=dict(event["job"].get("facets") or {}),
        ),
        inputs=datasets("inputs", InputDataset),
        outputs=datasets("outputs", OutputDataset),
        producer=str(event.get("producer") or ""),
    )


def is_catalog_namespace(value: str, namespace: str) -> bool:
    return value in (CATALOG_NAMESPACE_ALIAS, namespace) or value.rstrip("/") == namespace


def _dataset(ctx: Context, dataset: Mapping[str, Any], namespace: str, *, writes: bool) -> DatasetRef:
    if not is_catalog_namespace(dataset["namespace"], namespace):
        if dataset["namespace"].startswith(NAMESPACE_SCHEME):
            raise malformed(
                f"dataset namespace '{dataset['namespace']}' is another catalog's; this catalog's is '{namespace}'"
            )
        if writes:
            ctx.require_admin(f"record lineage into the path {dataset['namespace']}/{dataset['name']}")
        return DatasetRef(dataset["namespace"], dataset["name"], "PATH")
    try:
        name = FullName.parse(dataset["name"])
    except CatalogError:
        raise malformed(f"'{dataset['name']}' is not a catalog.schema.table name") from None
    if len(name.parts) != 3:
        raise malformed(f"'{dataset['name']}' is not a catalog.schema.table name")
    securable = ctx.lookup(name, RELATION_TYPES)
    if writes:
        if securable.type is not SecurableType.TABLE:
            raise InvalidRequest(
                f"'{name}' is a view; lineage can be recorded into tables only.", error_code="EXPECT_TABLE_NOT_VIEW"
            )
        ctx.require("write", securable)
    else:
        ctx.require_visible(securable)
    return dataset_of(ctx, securable, namespace)


def _column_edges(
    event: Mapping[str, Any], inputs: list[DatasetRef], outputs: list[DatasetRef], namespace: str
) -> list[Edge]:
    """Edges from the column lineage facet of each output, for inputs the event also names."""
    by_identity = {(d.namespace if d.catalog_name is None else "", d.name): d for d in inputs}
    edges = []
    for raw, output in zip(event.get("outputs") or [], outputs, strict=True):
        facet = (raw.get("facets") or {}).get("columnLineage") or {}
        if not isinstance(facet, Mapping) or not isinstance(facet.get("fields") or {}, Mapping):
            raise malformed("the columnLineage facet must be an object whose 'fields' is an object")
        for target_column, spec in (facet.get("fields") or {}).items():
            if not isinstance(spec, Mapping) or not isinstance(spec.get("inputFields") or [], list):
                raise malformed(f"columnLineage field '{target_column}' must be an object with a list of inputFields")
            for field in spec.get("inputFields") or []:
                if not isinstance(field, Mapping) or not all(
                    isinstance(field.get(k), str) for k in ("namespace", "name", "field")
                ):
                    raise malformed(
                        f"columnLineage field '{target_column}' has an inputField without namespace, name and field"
                    )
                ours = is_catalog_namespace(field["namespace"], namespace)
                source = by_identity.get(
                    ("" if ours else field["namespace"], field["name"].lower() if ours else field["name"])
                )
                if source is not None:
                    edges.append(Edge(source, output, field["field"], str(target_column)))
    return edges
