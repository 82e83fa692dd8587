"""Capturing the lineage of a write while it runs, and storing it with the write.

The engine opens a :class:`~catalog.lineage.events.WriteRun` for every statement or API call
that writes data and hands it to the statement through ``ctx.lineage``. The handler reports
what it read and wrote (:func:`record_write`); when the write commits, its START and COMPLETE
events and their edges are stored in the same transaction (:func:`store_completed`). A write
that fails stores START and FAIL events instead (:func:`store_failed`), after the rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from openlineage.client.event_v2 import RunEvent, RunState

from catalog.errors import CatalogError
from catalog.lineage import columns as column_lineage
from catalog.lineage.events import DatasetRef, WriteRun, new_event_id, to_json
from catalog.lineage.store import Edge, LineageStore, StoredEvent
from catalog.names import FullName
from catalog.securables import RELATION_TYPES, Securable, SecurableType
from catalog.store.metastore import Column

SOURCE_ATTR = "catalog_source"

if TYPE_CHECKING:
    import pandas as pd

    from catalog.services.context import Context


def dataset_of(
    ctx: Context, securable: Securable, namespace: str, columns: Sequence[Column] | None = None
) -> DatasetRef:
    """A catalog object as an OpenLineage dataset, with its columns (as the metastore has them
    now, unless given)."""
    return DatasetRef(
        namespace=namespace,
        name=str(securable.full_name),
        type=securable.type.value,
        columns=tuple(ctx.metastore.columns(securable.id) if columns is None else columns),
        catalog_name=str(securable.full_name),
    )


def schema_map(securables: Iterable[Securable], columns: Mapping[str, Sequence[Column]]) -> column_lineage.SchemaMap:
    """The columns of ``securables`` (``columns`` by securable id) in the shape sqlglot's
    lineage takes."""
    mapping: column_lineage.SchemaMap = {}
    for securable in securables:
        catalog, schema, name = securable.full_name.parts
        fields = {c.name: c.data_type for c in columns.get(securable.id, ())}
        mapping.setdefault(catalog, {}).setdefault(schema, {})[name] = fields
    return mapping


def record_write(
    ctx: Context,
    target: Securable,
    reads: Sequence[Securable] = (),
    *,
    columns: Callable[[column_lineage.SchemaMap], list[column_lineage.ColumnEdge]] | None = None,
) -> None:
    """Note that this statement wrote ``target`` from ``reads`` (direct references only: a view
    read is an edge from the view). ``columns`` computes column lineage given the schemas."""
    run = ctx.lineage
    if run is None:
        return
    involved = [*reads, target]
    columns_by_id = ctx.metastore.columns_of([s.id for s in involved])
    seen = {d.catalog_name for d in run.inputs}
    for securable in reads:
        if str(securable.full_name) not in seen and securable.id != target.id:
            run.inputs.append(dataset_of(ctx, securable, run.namespace, columns_by_id.get(securable.id, [])))
            seen.add(str(securable.full_name))
    run.outputs.append(dataset_of(ctx, target, run.namespace, columns_by_id.get(target.id, [])))
    if columns is not None:
        schemas = schema_map(involved, columns_by_id)
        run.column_edges.extend(_spelled(columns(schemas), schemas, str(target.full_name)))


def _spelled(
    edges: Iterable[column_lineage.ColumnEdge], schemas: column_lineage.SchemaMap, target: str
) -> list[column_lineage.ColumnEdge]:
    """sqlglot folds names to lower case; give each column the spelling the metastore records
    (``Big``, not ``big``), so that column lineage joins with the tables' own column listings."""
    spelling = {
        f"{catalog}.{schema}.{name}": {column.lower(): column for column in fields}
        for catalog, schemata in schemas.items()
        for schema, relations in schemata.items()
        for name, fields in relations.items()
    }

    def spelled(table: str, column: str) -> str:
        return spelling.get(table, {}).get(column, column)

    return [
        replace(
            e, source_column=spelled(e.source_table, e.source_column), target_column=spelled(target, e.target_column)
        )
        for e in edges
    ]


def frame_sources(ctx: Context, frame: pd.DataFrame) -> list[Securable]:
    """The catalog tables (or models) a DataFrame came from: ``read_table`` marks its result with
    ``attrs["catalog_source"]`` (pandas keeps attrs through most operations); a caller may also
    set it, to a name or a list of names. Names the principal cannot see are left out."""
    names = frame.attrs.get(SOURCE_ATTR) or []
    return named_sources(ctx, [names] if isinstance(names, str) else list(names))


def named_sources(ctx: Context, names: list[str]) -> list[Securable]:
    """The tables (or models) ``names`` name, leaving out names that are neither and those the
    principal cannot see."""
    found = []
    for name in names:
        try:
            securable = ctx.find(FullName.parse(str(name)))
        except CatalogError:
            continue
        if (
            securable is not None
            # a catalog or schema holds data but is not a dataset; a model is (scored frames), and
            # so is a serving endpoint (its inference table)
            and (securable.type in RELATION_TYPES or securable.type in (SecurableType.MODEL, SecurableType.ENDPOINT))
            and ctx.authz.can_see(ctx.principal, securable)
        ):
            found.append(securable)
    return found


def store_completed(ctx: Context, run: WriteRun) -> list[RunEvent]:
    """Store the run's START and COMPLETE events and its edges; return the events to forward.

    A run that wrote nothing (CREATE TABLE IF NOT EXISTS on an existing table) records nothing."""
    if not run.outputs:
        return []
    events = run.events(RunState.COMPLETE)
    stored = [_stored(event, run) for event in events]
    LineageStore(ctx.cursor).save(stored, edges_of(run), edge_event=stored[-1])
    return events


def store_failed(ctx: Context, run: WriteRun, message: str) -> list[RunEvent]:
    """Store the run's START and FAIL events (no edges: nothing was written)."""
    events = run.events(RunState.FAIL, error=message)
    LineageStore(ctx.cursor).save([_stored(event, run) for event in events], [], edge_event=None)
    return events


def edges_of(run: WriteRun) -> list[Edge]:
    edges = [Edge(source, target) for target in run.outputs for source in run.inputs if source.key != target.key]
    inputs = {d.key: d for d in run.inputs}
    for target in run.outputs:
        seen = set()  # one row per column pair, however many clauses (MERGE's SET and INSERT) link them
        for edge in run.column_edges:
            source = inputs.get(edge.source_table) or next((o for o in run.outputs if o.key == edge.source_table), None)
            pair = (edge.source_table, edge.source_column, edge.target_column)
            if (
                source is None
                or pair in seen
                or (source.key == target.key and edge.source_column == edge.target_column)
            ):
                continue
            seen.add(pair)
            edges.append(Edge(source, target, edge.source_column, edge.target_column))
    return edges


def _stored(event: RunEvent, run: WriteRun) -> StoredEvent:
    return StoredEvent(
        event_id=new_event_id(),
        run_id=run.run_id,
        event_type=event.eventType.value,
        event_time=datetime.fromisoformat(event.eventTime),
        job_namespace=event.job.namespace,
        job_name=event.job.name,
        entity_type=run.origin,
        created_by=run.principal,
        json=to_json(event),
    )
