// The lineage graph around one object: upstream layers to the left, downstream to the right.

import { api, seg } from "../api.js";
import { errorBox, formatTime, h, loading, nameCrumbs, replace, s } from "../dom.js";

const PAGES = { TABLE: "table", VIEW: "table", MODEL: "model", ENDPOINT: "endpoint" };
// Runs and model versions come with versions=true: the chain table -> run -> version -> model.
const TYPES = ["TABLE", "VIEW", "RUN", "MODEL_VERSION", "MODEL", "ENDPOINT", "PATH", "MASKED"];
const words = (type) => type.toLowerCase().replace("_", " ");

let clickMode = "open"; // "open": a click opens the node's page; "centre": recentres the graph

export function lineagePage(name) {
  const graph = h("div", { class: "section-body" }, loading("Loading the lineage"));
  const modes = h(
    "fieldset",
    { class: "modes" },
    h("legend", {}, "Clicking a node"),
    [
      ["open", "opens its page"],
      ["centre", "recentres the graph on it"],
    ].map(([value, label]) =>
      h(
        "label",
        {},
        h("input", {
          type: "radio",
          name: "lineage-click",
          value,
          checked: clickMode === value,
          testid: `lineage-mode-${value}`,
          onchange: () => (clickMode = value),
        }),
        ` ${label}`,
      ),
    ),
  );
  const page = h(
    "div",
    { class: "page" },
    nameCrumbs(name),
    h("h1", {}, h("span", { class: "kind" }, "lineage"), name),
    h("div", { class: "lineage-tools" }, legend(), modes),
    h("section", { class: "card" }, graph),
  );
  const fetchDirection = (direction) => api(`/api/v1/lineage/${seg(name)}?direction=${direction}&plain=true&versions=true`);
  Promise.all([fetchDirection("upstream"), fetchDirection("downstream")]).then(
    ([up, down]) => replace(graph, draw(name, up, down)),
    (err) => replace(graph, errorBox(err)),
  );
  return page;
}

function nodeType(node) {
  return node.masked ? "MASKED" : String(node.type ?? "PATH").toUpperCase();
}

function legend() {
  return h(
    "ul",
    { class: "legend", testid: "lineage-legend" },
    TYPES.map((t) => h("li", {}, h("span", { class: `swatch node-${t.toLowerCase()}` }), words(t))),
  );
}

/** Layers: upstream nodes at -depth, the root at 0, downstream nodes at +depth. */
export function layout(rootName, up, down) {
  const nodes = new Map();
  const add = (node, sign) => {
    if (!nodes.has(node.name)) nodes.set(node.name, { ...node, layer: sign * (node.depth ?? 0) });
  };
  for (const n of up.nodes) add(n, -1);
  for (const n of down.nodes) add(n, 1);
  if (!nodes.has(rootName)) nodes.set(rootName, { name: rootName, type: "TABLE", depth: 0, layer: 0, masked: false });
  const edges = new Map();
  for (const e of [...up.edges, ...down.edges]) edges.set(`${e.source}\u0000${e.target}`, e);
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

function draw(rootName, up, down) {
  const { nodes, edges } = layout(rootName, up, down);
  const nodeW = 190;
  const nodeH = 40;
  const gapX = 70;
  const gapY = 18;
  const layers = [...new Set(nodes.map((n) => n.layer))].sort((a, b) => a - b);
  const byLayer = new Map(layers.map((l) => [l, nodes.filter((n) => n.layer === l).sort((a, b) => a.name.localeCompare(b.name))]));
  const rows = Math.max(...[...byLayer.values()].map((list) => list.length));
  const width = layers.length * nodeW + (layers.length - 1) * gapX + 40;
  const height = rows * nodeH + (rows - 1) * gapY + 40;
  const pos = new Map();
  layers.forEach((layer, col) => {
    const list = byLayer.get(layer);
    const offset = ((rows - list.length) * (nodeH + gapY)) / 2;
    list.forEach((n, row) => pos.set(n.name, { x: 20 + col * (nodeW + gapX), y: 20 + offset + row * (nodeH + gapY) }));
  });

  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    class: "lineage",
    role: "group",
    "aria-label": `lineage of ${rootName}`,
    testid: "lineage-graph",
  });
  svg.append(
    s(
      "defs",
      {},
      s(
        "marker",
        { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" },
        s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }),
      ),
    ),
  );
  for (const e of edges) {
    const a = pos.get(e.source);
    const b = pos.get(e.target);
    if (!a || !b) continue;
    const x1 = a.x + nodeW;
    const y1 = a.y + nodeH / 2;
    const x2 = b.x;
    const y2 = b.y + nodeH / 2;
    const mid = (x1 + x2) / 2;
    svg.append(
      s(
        "path",
        {
          d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2 - 2} ${y2}`,
          class: "edge",
          "marker-end": "url(#arrow)",
          "data-source": e.source,
          "data-target": e.target,
        },
        s("title", {}, `${e.source} → ${e.target}\n${e.runs ?? "?"} run(s), last ${e.last_event_time ?? "?"}`),
      ),
    );
  }
  for (const n of nodes) {
    const { x, y } = pos.get(n.name);
    const type = nodeType(n);
    const target = nodeTarget(n);
    const shown = type === "RUN" && n.label ? `run ${n.label}` : n.name;
    const label = shown.length > 26 ? `…${shown.slice(-25)}` : shown;
    const g = s(
      "g",
      {
        class: `node node-${type.toLowerCase()}${n.name === rootName ? " root" : ""}`,
        transform: `translate(${x},${y})`,
        "data-testid": "lineage-node",
        "data-name": n.name,
        "data-type": type,
        "data-layer": n.layer,
        tabindex: target || type !== "MASKED" ? 0 : null,
        role: "link",
        "aria-label": `${words(type)} ${shown}`,
      },
      s("title", {}, `${words(type)} ${shown}${n.masked ? " (you may not see it)" : ""}`),
      s("rect", { width: nodeW, height: nodeH, rx: 6 }),
      s("text", { x: 10, y: 16, class: "node-type" }, words(type)),
      s("text", { x: 10, y: 32, class: "node-name" }, label),
    );
    const go = () => {
      if (type === "MASKED") return;
      // runs and versions have no lineage of their own to centre on: they open their page
      const centre = clickMode === "centre" && type !== "RUN" && type !== "MODEL_VERSION";
      if (centre || !target) location.hash = `#/lineage/${encodeURIComponent(n.name)}`;
      else location.hash = target;
    };
    g.addEventListener("click", go);
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        go();
      }
    });
    svg.append(g);
  }
  const info = h(
    "p",
    { class: "note" },
    `${nodes.length} node(s), ${edges.length} edge(s). Upstream to the left, downstream to the right. `,
    lastEvent(edges),
  );
  return [h("div", { class: "graph-wrap" }, svg), info];
}

function nodeTarget(node) {
  const type = nodeType(node);
  if (type === "RUN") return `#/run/${encodeURIComponent(node.run_id)}`;
  if (type === "MODEL_VERSION") return `#/model/${encodeURIComponent(node.model)}`;
  const kind = PAGES[type];
  return kind ? `#/${kind}/${encodeURIComponent(node.name)}` : null;
}

function lastEvent(edges) {
  const times = edges.map((e) => Date.parse(e.last_event_time)).filter(Number.isFinite);
  return times.length ? `Last event ${formatTime(Math.max(...times))} UTC.` : "";
}
