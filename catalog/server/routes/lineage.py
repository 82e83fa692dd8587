"""Lineage: graphs around an object, and OpenLineage events posted by other tools.

``POST /api/v1/lineage`` is where openlineage-python's HTTP transport sends events (its default
endpoint), with a catalog token as the transport's API key.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from catalog import wire
from catalog.lineage import provenance
from catalog.server.routes.common import Caller, json_response, raw_body, records

router = APIRouter(prefix="/api/v1", tags=["lineage"])


@router.get(
    "/lineage/{name}",
    summary="The lineage graph upstream or downstream of an object (plain=true: JSON records; "
    "versions=true: with the model versions and runs between tables and models)",
)
def lineage_graph(
    name: str,
    cat: Caller,
    direction: Literal["upstream", "downstream"] = "upstream",
    depth: Annotated[int | None, Query(ge=1, le=1000)] = None,
    plain: bool = False,
    versions: bool = False,
) -> Response:
    graph = cat.lineage.upstream(name, depth) if direction == "upstream" else cat.lineage.downstream(name, depth)
    if plain:  # for browsers: nodes and edges as plain JSON records
        nodes, edges = records(graph.nodes_table), records(graph.edges_table)
        if versions:
            nodes, edges = provenance.expand(cat, graph.root, direction, nodes, edges)
        return json_response({"root": graph.root, "direction": direction, "nodes": nodes, "edges": edges})
    return json_response(graph)


@router.post(
    "/lineage",
    status_code=201,
    summary="Record an OpenLineage RunEvent (as openlineage-python's HTTP transport sends it)",
)
def ingest_event(cat: Caller, body: Annotated[bytes, Depends(raw_body)]) -> Response:
    wire.screen_json(body)
    return json_response(cat.lineage.ingest(body), status_code=201)
