"""Walking the lineage graph upstream or downstream from one object, as a reader may see it.

The walk is one recursive query over the distinct links between nodes (see
:meth:`LineageStore.closure`): breadth first, each node once at its shortest depth, so cycles
end; ``depth`` caps it. Nodes the reader may not see stay in the graph, masked: their names are
replaced by ``<masked-N>``, so the reader learns that something feeds (or is fed by) what they
may see, and never what. The graph is held as two DataFrames (a closure can have a million
nodes); ``nodes`` and ``edges`` give the same rows as objects.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Literal

import pandas as pd

from catalog import wire
from catalog.lineage.store import LineageStore

Direction = Literal["upstream", "downstream"]
MASKED = "MASKED"
NODE_COLUMNS = ["name", "type", "depth", "masked"]
EDGE_COLUMNS = ["source", "target", "last_event_time", "runs"]

# Masked nodes are numbered in an order that says nothing about their names.
_MASK_SALT = os.urandom(16)


@dataclass(frozen=True)
class LineageNode:
    """A table, view, path (and later model, run, endpoint) in the graph."""

    name: str  # the full name, the path, or <masked-N>
    type: str  # TABLE | VIEW | PATH | ... | MASKED
    depth: int  # hops from the root
    masked: bool = False


@dataclass(frozen=True)
class LineageEdge:
    """``source`` feeds ``target``: ``runs`` writes did so, the last at ``last_event_time``."""

    source: str
    target: str
    last_event_time: datetime | None
    runs: int


@dataclass(frozen=True, eq=False)
class LineageGraph:
    root: str
    direction: Direction
    nodes_table: pd.DataFrame = field(repr=False)  # NODE_COLUMNS, nearest first
    edges_table: pd.DataFrame = field(repr=False)  # EDGE_COLUMNS

    def __repr__(self) -> str:
        return (
            f"<LineageGraph {self.direction} of {self.root}: {len(self.nodes_table)} node(s), "
            f"{len(self.edges_table)} edge(s)>"
        )

    @cached_property
    def nodes(self) -> list[LineageNode]:
        t = self.nodes_table
        columns = (t[c].tolist() for c in NODE_COLUMNS)
        return [
            LineageNode(name, kind, int(depth), bool(masked))
            for name, kind, depth, masked in zip(*columns, strict=True)
        ]

    @cached_property
    def edges(self) -> list[LineageEdge]:
        t = self.edges_table
        times = [None if pd.isna(when) else when.to_pydatetime() for when in t["last_event_time"].tolist()]
        return [
            LineageEdge(source, target, when, int(runs))
            for source, target, when, runs in zip(
                t["source"].tolist(), t["target"].tolist(), times, t["runs"].tolist(), strict=True
            )
        ]

    def names(self, *, include_root: bool = False) -> list[str]:
        """Names of the visible nodes (the root left out unless asked), nearest first."""
        nodes = self.nodes_table
        keep = ~nodes["masked"] & (include_root | (nodes["name"] != self.root))
        return nodes.loc[keep, "name"].tolist()

    def nodes_frame(self) -> pd.DataFrame:
        return self.nodes_table.copy()

    def edges_frame(self) -> pd.DataFrame:
        return self.edges_table.copy()


def walk(
    store: LineageStore,
    root: str,
    root_type: str,
    direction: Direction,
    *,
    depth: int | None,
    visible: frozenset[str] | set[str] | None,
) -> LineageGraph:
    """The graph reachable from ``root`` in ``direction``, masked for a reader who may see the
    objects named in ``visible`` (None: everything)."""
    nodes, edges = store.closure(root, upstream=direction == "upstream", depth=depth)
    near, far = ("target", "source") if direction == "upstream" else ("source", "target")
    # Each node's type as the edges that reached it recorded it (the root's: as it is now).
    reached = edges.drop_duplicates(far)
    types = nodes["name"].map(pd.Series(reached[f"{far}_type"].to_numpy(), index=reached[far])).astype(object)
    nodes["type"] = types.where(nodes["name"] != root, root_type).fillna("TABLE")
    if visible is None:
        nodes["masked"] = False
    else:
        shown = nodes["name"].isin(visible) | (nodes["type"] == "PATH") | (nodes["name"] == root)
        nodes["masked"] = ~shown
    aliases = _aliases(nodes.loc[nodes["masked"], ["name", "depth"]])
    if aliases:  # the store ordered by real names: order again by what the reader sees
        nodes["name"] = nodes["name"].map(lambda n: aliases.get(n, n))
        nodes.loc[nodes["masked"], "type"] = MASKED
        for end in (near, far):
            edges[end] = edges[end].map(lambda n: aliases.get(n, n))
        nodes = nodes.sort_values(["depth", "masked", "name"], kind="stable", ignore_index=True)
        edges = edges.sort_values(["source", "target"], kind="stable", ignore_index=True)
    return LineageGraph(root, direction, nodes[NODE_COLUMNS], edges[EDGE_COLUMNS])


def _aliases(hidden: pd.DataFrame) -> dict[str, str]:
    """``<masked-N>`` for each hidden node, numbered nearest first and, within a depth, in a
    salted-hash order (numbering by name would hint at the names)."""
    ordered = sorted(
        zip(hidden["name"], hidden["depth"], strict=True),
        key=lambda item: (item[1], hashlib.blake2b(item[0].encode(), key=_MASK_SALT).digest()),
    )
    return {name: f"<masked-{i}>" for i, (name, _) in enumerate(ordered, start=1)}


wire.register_custom(
    LineageGraph,
    lambda graph: {
        "root": graph.root,
        "direction": graph.direction,
        "nodes_table": graph.nodes_table,
        "edges_table": graph.edges_table,
    },
    lambda fields: LineageGraph(**fields),
)
