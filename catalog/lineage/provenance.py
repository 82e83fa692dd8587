"""Model versions and the runs that made them, spliced into a lineage graph for people to look at.

The lineage store links the tables a run read to the registered model (a model is one node).
A reader of the graph also wants to see which version came from which run: this module
replaces each such link with the chain it stands for, ``table -> run -> model version ->
model``, for the versions and runs the reader may see (versions: any privilege on the model;
runs: CAN READ on their experiment). Everything is asked through the reader's own connection,
so it is authorized and audited like any other call; what the reader may not see is left out
and the plain link stays.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from catalog.errors import CatalogError

if TYPE_CHECKING:
    from catalog.api import Catalog

RUN = "RUN"
MODEL_VERSION = "MODEL_VERSION"
MAX_VERSIONS = 20  # per model: the newest ones; a graph with hundreds of versions says nothing


def version_node(model: str, version: int) -> str:
    return f"{model}/{version}"


def run_node(run_id: str) -> str:
    return f"run:{run_id}"


def expand(
    cat: Catalog, root: str, direction: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``nodes`` and ``edges`` (plain records of a lineage graph) with model versions and runs
    between each model and the tables its versions' runs read; depths recomputed from ``root``."""
    by_name = {n["name"]: dict(n) for n in nodes}
    links = {(e["source"], e["target"]): dict(e) for e in edges}
    for model in [n["name"] for n in nodes if n["type"] == "MODEL" and not n["masked"]]:
        for version in _versions(cat, model):
            vname = version_node(model, version.version)
            by_name[vname] = _node(vname, MODEL_VERSION, label=f"version {version.version}", model=model)
            links[(vname, model)] = _edge(vname, model)
            run = _run(cat, version.run_id)
            if run is None:
                continue
            rname = run_node(run.info.run_id)
            by_name[rname] = _node(rname, RUN, label=run.info.run_name, run_id=run.info.run_id)
            links[(rname, vname)] = _edge(rname, vname)
            for table in {d.name for d in run.inputs}:
                # Only tables the graph already shows by name: a run's inputs must not name a
                # table the lineage masks for this reader.
                if table in by_name and not by_name[table]["masked"]:
                    links.pop((table, model), None)  # the chain through the run replaces the direct link
                    links[(table, rname)] = _edge(table, rname)
    kept = _reachable(root, direction, links.keys())
    graph_nodes = [{**node, "depth": kept[name]} for name, node in by_name.items() if name in kept]
    graph_nodes.sort(key=lambda n: (n["depth"], n["name"]))
    graph_edges = [e for (s, t), e in sorted(links.items()) if s in kept and t in kept]
    return graph_nodes, graph_edges


def _versions(cat: Catalog, model: str) -> list[Any]:
    try:
        found = cat.invoke("searchModelVersions", filter_string=f"name = '{model}'", max_results=1000)
    except CatalogError:
        return []
    return sorted(found, key=lambda v: v.version, reverse=True)[:MAX_VERSIONS]


def _run(cat: Catalog, run_id: str | None) -> Any:
    if not run_id:
        return None
    try:
        return cat.invoke("getRun", run_id=run_id)
    except CatalogError:  # a run in an experiment the reader may not read: not shown
        return None


def _node(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "depth": 0, "masked": False, **extra}


def _edge(source: str, target: str) -> dict[str, Any]:
    return {"source": source, "target": target, "last_event_time": None, "runs": None}


def _reachable(root: str, direction: str, links: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Each node reachable from ``root`` against (upstream) or along (downstream) the links,
    with its fewest hops."""
    step: dict[str, list[str]] = {}
    for source, target in links:
        near, far = (target, source) if direction == "upstream" else (source, target)
        step.setdefault(near, []).append(far)
    depths = {root: 0}
    queue = deque([root])
    while queue:
        here = queue.popleft()
        for there in step.get(here, ()):
            if there not in depths:
                depths[there] = depths[here] + 1
                queue.append(there)
    return depths
