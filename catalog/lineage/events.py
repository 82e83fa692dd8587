"""OpenLineage events for the catalog's writes, built with openlineage-python's own classes.

A catalog object is an OpenLineage dataset in the namespace ``catalog://<metastore id>`` named
by its full name. Each write is one run: a START event and a COMPLETE (or FAIL) event sharing a
run id, with the tables read as inputs and the table written as output, each carrying the
schema facet, and for SQL the column lineage facet.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    RunFacet,
    column_lineage_dataset,
    error_message_run,
    job_type_job,
    schema_dataset,
    sql_job,
)
from openlineage.client.serde import Serde
from openlineage.client.uuid import generate_new_uuid

from catalog.lineage.columns import ColumnEdge
from catalog.store.metastore import Column

PRODUCER = "https://github.com/governed-catalog/catalog"
NAMESPACE_SCHEME = "catalog://"
CATALOG_FACET_SCHEMA = "https://github.com/governed-catalog/catalog/blob/main/sql/metastore/CatalogRunFacet.json"


def namespace_of(workspace_id: str) -> str:
    """The OpenLineage namespace of this home's catalog objects."""
    return f"{NAMESPACE_SCHEME}{workspace_id}"


@attr.define
class CatalogRunFacet(RunFacet):
    """Who ran the write, and through which front end (SQL, PYTHON, ...)."""

    principal: str
    origin: str
    action: str

    @staticmethod
    def _get_schema() -> str:
        return CATALOG_FACET_SCHEMA


@dataclass(frozen=True)
class DatasetRef:
    """A dataset an event names: a catalog object (``catalog_name`` set) or an external one."""

    namespace: str
    name: str
    type: str  # TABLE | VIEW | PATH | ...
    columns: tuple[Column, ...] = ()
    catalog_name: str | None = None

    @property
    def key(self) -> str:
        """The node name in the lineage graph: the full name, or namespace/name."""
        return self.catalog_name or f"{self.namespace.rstrip('/')}/{self.name.lstrip('/')}"


@dataclass
class WriteRun:
    """One write's lineage, filled in by the statement handler that performs it."""

    origin: str  # SQL | PYTHON | ...
    action: str  # the audit action name, e.g. insertInto
    principal: str
    namespace: str
    sql: str | None = None
    run_id: str = field(default_factory=lambda: str(generate_new_uuid()))
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)
    column_edges: list[ColumnEdge] = field(default_factory=list)

    @property
    def job_name(self) -> str:
        return f"{self.origin.lower()}.{self.action}"

    def events(self, state: RunState, *, error: str | None = None) -> list[RunEvent]:
        """The START event and the closing one (COMPLETE or FAIL)."""
        return [self._event(RunState.START, self.started), self._event(state, datetime.now(UTC), error=error)]

    def _event(self, state: RunState, when: datetime, *, error: str | None = None) -> RunEvent:
        run_facets: dict[str, RunFacet] = {
            "catalog": CatalogRunFacet(principal=self.principal, origin=self.origin, action=self.action)
        }
        if error is not None:
            language = "SQL" if self.origin == "SQL" else "PYTHON"
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=error, programmingLanguage=language
            )
        job_facets = {
            "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="CATALOG", jobType="QUERY")
        }
        if self.sql:
            job_facets["sql"] = sql_job.SQLJobFacet(query=self.sql)
        return RunEvent(
            eventType=state,
            eventTime=when.isoformat(),
            run=Run(runId=self.run_id, facets=run_facets),
            job=Job(namespace=self.namespace, name=self.job_name, facets=job_facets),
            inputs=[InputDataset(namespace=d.namespace, name=d.name, facets=_schema_facet(d)) for d in self.inputs],
            outputs=[self._output(d) for d in self.outputs],
            producer=PRODUCER,
        )

    def _output(self, dataset: DatasetRef) -> OutputDataset:
        facets = _schema_facet(dataset)
        if dataset.catalog_name is not None and self.column_edges:
            facets["columnLineage"] = _column_lineage_facet(self.column_edges, self.inputs, self.namespace)
        return OutputDataset(namespace=dataset.namespace, name=dataset.name, facets=facets)


def _schema_facet(dataset: DatasetRef) -> dict:
    if not dataset.columns:
        return {}
    fields = [
        schema_dataset.SchemaDatasetFacetFields(name=c.name, type=c.data_type, description=c.comment)
        for c in dataset.columns
    ]
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}


def _column_lineage_facet(
    edges: Sequence[ColumnEdge], inputs: Sequence[DatasetRef], namespace: str
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    names = {d.catalog_name: d for d in inputs if d.catalog_name}
    by_target: dict[str, list[ColumnEdge]] = defaultdict(list)
    for edge in edges:
        by_target[edge.target_column].append(edge)
    fields = {}
    for target, sources in sorted(by_target.items()):
        # One input field per source column, with every way it feeds the target (MERGE may copy
        # it in one clause and compute from it in another).
        subtypes: dict[tuple[str, str], list[str]] = {}
        for e in sources:
            kinds = subtypes.setdefault((e.source_table, e.source_column), [])
            if e.transformation not in kinds:
                kinds.append(e.transformation)
        fields[target] = column_lineage_dataset.Fields(
            inputFields=[
                column_lineage_dataset.InputField(
                    namespace=names[table].namespace if table in names else namespace,
                    name=table,
                    field=column,
                    transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype=k) for k in kinds],
                )
                for (table, column), kinds in subtypes.items()
            ],
        )
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)


def to_json(event: RunEvent) -> str:
    return Serde.to_json(event)


def new_event_id() -> str:
    return uuid.uuid4().hex
