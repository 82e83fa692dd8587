"""Walking the lineage graph upstream or downstream from one object, as a reader may see it.

The walk follows the distinct links between nodes level by level (one indexed query per
level), remembers what it has visited (cycles end), and stops at ``depth`` if given. Nodes the
reader may not see are kept in the graph, masked: their names are replaced by ``<masked-N>``, so
the reader learns that something feeds (or is fed by) what they may see, and never what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

import pandas as pd

from catalog.lineage.store import LineageStore, Link

Direction = Literal["upstream", "downstream"]
MASKED = "MASKED"


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


@dataclass(frozen=True)
class LineageGraph:
    root: str
    direction: Direction
    nodes: list[LineageNode]
    edges: list[LineageEdge]

    def names(self, *, include_root: bool = False) -> list[str]:
        """Names of the visible nodes (the root left out unless asked), nearest first."""
        return [n.name for n in self.nodes if not n.masked and (include_root or n.name != self.root)]

    def nodes_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(n) for n in self.nodes], columns=["name", "type", "depth", "masked"])

    def edges_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(e) for e in self.edges], columns=["source", "target", "last_event_time", "runs"])


def walk(
    store: LineageStore,
    root: str,
    root_type: str,
    direction: Direction,
    *,
    depth: int | None,
    can_see: Callable[[str], bool],
) -> LineageGraph:
    """The graph reachable from ``root`` in ``direction``; ``can_see(name)`` decides masking."""
    upstream = direction == "upstream"
    depth_of = {root: 0}
    links: list[Link] = []
    frontier = [root]
    level = 0
    while frontier and (depth is None or level < depth):
        level += 1
        found = store.neighbours(frontier, upstream=upstream)
        links.extend(found)
        frontier = []
        for link in found:
            far = link.source if upstream else link.target
            if far not in depth_of:
                depth_of[far] = level
                frontier.append(far)
    details = store.edge_details(links)
    types = {root: root_type}
    for (source, target), (source_type, target_type, _, _) in details.items():
        types.setdefault(source, source_type)
        types.setdefault(target, target_type)
    aliases: dict[str, str] = {}

    def shown(name: str) -> str:
        if name == root or can_see(name) or types.get(name) == "PATH":
            return name
        return aliases.setdefault(name, f"<masked-{len(aliases) + 1}>")

    ordered = sorted(depth_of.items(), key=lambda item: (item[1], item[0]))
    names = {name: shown(name) for name, _ in ordered}  # in this order: <masked-N> numbers by depth, name
    nodes = [
        LineageNode(names[name], types.get(name, "TABLE") if names[name] == name else MASKED, d, names[name] != name)
        for name, d in ordered
    ]
    edges = []
    for link in links:
        _, _, when, runs = details.get((link.source, link.target), (None, None, None, 0))
        edges.append(LineageEdge(names[link.source], names[link.target], when, runs))
    return LineageGraph(root, direction, nodes, edges)
