"""Lineage services: the graph around an object, and events from other tools."""

from __future__ import annotations

from typing import Any

from catalog.errors import InvalidRequest
from catalog.lineage import graph, ingest
from catalog.lineage.graph import Direction, LineageGraph
from catalog.lineage.store import LineageStore
from catalog.names import FullName
from catalog.services.context import Context


def lineage_graph(ctx: Context, name: FullName, direction: Direction, depth: int | None) -> LineageGraph:
    """What feeds ``name`` (upstream) or what it feeds (downstream), masked for this reader."""
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 1):
        raise InvalidRequest(f"depth must be a positive whole number or None, not {depth!r}.")
    root = ctx.lookup(name)
    ctx.require_visible(root)
    visible = None
    if not ctx.is_admin():
        snapshot = ctx.snapshot
        visible = {str(snapshot.by_id[i].full_name) for i in ctx.authz.visible_ids(ctx.principal)}
    return graph.walk(
        LineageStore(ctx.cursor), str(root.full_name), root.type.value, direction, depth=depth, visible=visible
    )


def ingest_event(ctx: Context, event: dict[str, Any], namespace: str) -> dict[str, Any]:
    return ingest.ingest(ctx, event, namespace)
