// A serving endpoint: state, traffic, served entities, usage charts and recent inference rows.

import { api, op, quoteName, records, seg, sql } from "../api.js";
import { lineChart } from "../charts.js";
import {
  dataTable,
  errorBox,
  fill,
  formatNumber,
  formatTime,
  h,
  link,
  loading,
  nameCrumbs,
  properties,
  replace,
  show,
} from "../dom.js";
import { grantsSection } from "./grants.js";

const at = (kind, name) => `#/${kind}/${encodeURIComponent(name)}`;

export function endpointPage(fullName) {
  const page = h("div", { class: "page" }, nameCrumbs(fullName), loading(`Loading ${fullName}`));
  api(`/api/2.0/serving-endpoints/${seg(fullName)}`).then(
    (endpoint) => replace(page, nameCrumbs(fullName), endpointBody(fullName, endpoint)),
    (err) => replace(page, nameCrumbs(fullName), h("h1", {}, fullName), errorBox(err)),
  );
  return page;
}

function endpointBody(fullName, endpoint) {
  const config = endpoint.config ?? endpoint.pending_config ?? {};
  const entities = config.served_entities ?? config.served_models ?? [];
  const routes = config.traffic_config?.routes ?? entities.map((e) => ({ served_model_name: e.name, traffic_percentage: e.traffic_percentage }));
  const ready = endpoint.state?.ready ?? "UNKNOWN";
  return [
    h(
      "div",
      { class: "title-row" },
      h("h1", {}, h("span", { class: "kind" }, "endpoint"), fullName),
      h("div", { class: "actions" }, link(at("lineage", fullName), "Lineage", { class: "button", testid: "lineage-link" })),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "State"),
      properties(
        [
          ["Ready", h("span", { class: `state state-${String(ready).toLowerCase()}`, testid: "endpoint-state" }, ready)],
          ["Config update", show(endpoint.state?.config_update)],
          ["Config version", show(config.config_version)],
          ["Owner", show(endpoint.owner ?? endpoint.creator)],
          ["Your permission", show(endpoint.permission_level)],
        ],
      ),
    ),
    h("section", { class: "card" }, h("h2", {}, "Traffic split"), trafficBar(routes)),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Served entities"),
      dataTable(
        [
          { label: "Name", cell: (e) => e.name },
          { label: "Model", cell: (e) => link(at("model", e.entity_name ?? e.model_name), e.entity_name ?? e.model_name) },
          { label: "Version", cell: (e) => `v${e.entity_version ?? e.model_version}` },
          { label: "Traffic", cell: (e) => `${e.traffic_percentage ?? "?"}%`, class: "num" },
          { label: "State", cell: (e) => show(e.state?.deployment) },
          { label: "Size", cell: (e) => [e.workload_size, e.workload_type].filter(Boolean).join(" / ") },
        ],
        entities,
        { testid: "endpoint-entities", empty: "No served entities." },
      ),
    ),
    usageSection(fullName),
    config.auto_capture_config ? inferenceSection(config.auto_capture_config) : null,
    grantsSection("endpoint", fullName),
  ];
}

function trafficBar(routes) {
  const colours = ["#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#be185d"];
  if (!routes.length) return h("p", { class: "empty" }, "No traffic routes.");
  return h(
    "div",
    { testid: "traffic" },
    h(
      "div",
      { class: "traffic-bar", role: "img", "aria-label": "traffic split" },
      routes.map((r, i) =>
        h(
          "span",
          {
            class: "traffic-part",
            style: `width:${Math.max(0, Number(r.traffic_percentage) || 0)}%;background:${colours[i % colours.length]}`,
            title: `${r.served_model_name}: ${r.traffic_percentage}%`,
          },
          `${r.served_model_name} ${r.traffic_percentage}%`,
        ),
      ),
    ),
  );
}

// -- usage ----------------------------------------------------------------------------------

const WINDOWS = [
  [15, "15 minutes"],
  [60, "hour"],
  [360, "6 hours"],
  [1440, "day"],
];
const hhmm = (ms) => new Date(ms).toISOString().slice(11, 16);
const percent = (part, whole) => (whole ? `${formatNumber((100 * part) / whole)}%` : "—");
const millis = (v) => (v === null || v === undefined ? "—" : `${formatNumber(v)} ms`);
const MINUTE = 60_000;
const oneDecimal = (v) => String(Math.round(v * 10) / 10);

/** Requests and errors for every minute of the window, 0 where the server listed none. */
function everyMinute(perMinute, minutes) {
  const last = Math.floor(Date.now() / MINUTE) * MINUTE;
  const byMinute = new Map(perMinute.map((m) => [m.x, m]));
  const filled = [];
  for (let x = last - (minutes - 1) * MINUTE; x <= last; x += MINUTE) {
    const m = byMinute.get(x);
    filled.push({ x, requests: m?.requests ?? 0, errors: m?.errors ?? 0 });
  }
  // minutes the server counted outside the browser's idea of the window (clock skew) still show
  for (const m of perMinute) if (m.x < filled[0].x || m.x > last) filled.push(m);
  return filled.sort((a, b) => a.x - b.x);
}

function usageSection(fullName) {
  const body = h("div", { class: "section-body", testid: "endpoint-usage" });
  const window = h(
    "select",
    { id: "usage-minutes", testid: "usage-minutes" },
    WINDOWS.map(([m, label]) => h("option", { value: m, selected: m === 60 }, `last ${label}`)),
  );
  const load = () => {
    const minutes = Number(window.value);
    fill(
      body,
      () => op("serving", "getServingEndpointUsage", { name: fullName, minutes }),
      (usage) => usageBody(usage, minutes),
    );
  };
  window.addEventListener("change", load);
  load();
  return h(
    "section",
    { class: "card" },
    h("div", { class: "title-row" }, h("h2", {}, "Usage"), h("label", { class: "hint" }, "window ", window)),
    body,
  );
}

function usageBody(usage, minutes) {
  const entities = usage.served_entities ?? [];
  const perMinute = (usage.per_minute ?? [])
    .map((m) => ({ ...m, x: Date.parse(m.minute) }))
    .filter((m) => Number.isFinite(m.x))
    .sort((a, b) => a.x - b.x);
  const requests = entities.reduce((n, e) => n + (e.requests ?? 0), 0);
  const errors = entities.reduce((n, e) => n + (e.errors ?? 0), 0);
  const total = h(
    "p",
    { class: "note", testid: "usage-total" },
    `${requests} request(s), ${errors} error(s) (${percent(errors, requests)}) in the last ${minutes} minutes.`,
  );
  const summary = dataTable(
    [
      { label: "Served entity", cell: (e) => e.name },
      { label: "Requests", cell: (e) => show(e.requests), class: "num" },
      { label: "Errors", cell: (e) => show(e.errors), class: "num" },
      { label: "Error rate", cell: (e) => percent(e.errors ?? 0, e.requests ?? 0), class: "num" },
      { label: "p50", cell: (e) => millis(e.p50_ms), class: "num" },
      { label: "p99", cell: (e) => millis(e.p99_ms), class: "num" },
    ],
    entities,
    {
      testid: "usage-summary",
      empty: `No requests in the last ${minutes} minutes.`,
      rowAttrs: (e) => ({ "data-entity": e.name }),
    },
  );
  if (!perMinute.length) return [total, summary];
  const chart = (title, testid, series, options = {}) =>
    lineChart(series, { testid, title, xLabel: "minute (UTC)", xFormat: hhmm, xPad: MINUTE, yMin: 0, ...options });
  const filled = everyMinute(perMinute, minutes);
  return [
    total,
    summary,
    h(
      "div",
      { class: "charts" },
      chart(
        "Requests per minute",
        "usage-requests-chart",
        [
          { name: "requests", points: filled.map((m) => ({ x: m.x, y: m.requests })) },
          { name: "errors", points: filled.map((m) => ({ x: m.x, y: m.errors })) },
        ],
        { dots: filled.length <= 120 },
      ),
      chart(
        "Error rate",
        "usage-errors-chart",
        [{ name: "errors / requests", points: perMinute.filter((m) => m.requests).map((m) => ({ x: m.x, y: (100 * m.errors) / m.requests })) }],
        { yFormat: (v) => `${oneDecimal(v)}%` },
      ),
      chart(
        "Latency",
        "usage-latency-chart",
        [
          { name: "p50", points: perMinute.map((m) => ({ x: m.x, y: m.p50_ms })) },
          { name: "p99", points: perMinute.map((m) => ({ x: m.x, y: m.p99_ms })) },
        ],
        { yFormat: (v) => `${oneDecimal(v)} ms` },
      ),
    ),
  ];
}

// -- inference table ------------------------------------------------------------------------

function inferenceSection(capture) {
  const tableName = capture.state?.payload_table?.name ?? `${capture.table_name_prefix}_payload`;
  const fullName = `${capture.catalog_name}.${capture.schema_name}.${tableName}`;
  const statement =
    "SELECT timestamp_ms, served_entity_name, status_code, execution_time_ms, requester, request, response" +
    ` FROM ${quoteName(fullName)} ORDER BY timestamp_ms DESC LIMIT 20`;
  const clipped = (text) => h("span", { class: "clip", title: show(text) }, show(text));
  const body = h("div", { class: "section-body" });
  fill(
    body,
    () => sql(statement, { maxRows: 20 }),
    (result) =>
      dataTable(
        [
          { label: "Time", cell: (r) => formatTime(r.timestamp_ms) },
          { label: "Served entity", cell: (r) => show(r.served_entity_name) },
          {
            label: "Status",
            cell: (r) => h("span", { class: r.status_code >= 400 ? "bad-text" : null }, show(r.status_code)),
            class: "num",
          },
          { label: "Time taken", cell: (r) => millis(r.execution_time_ms), class: "num" },
          { label: "Requester", cell: (r) => show(r.requester) },
          { label: "Request", cell: (r) => clipped(r.request) },
          { label: "Response", cell: (r) => clipped(r.response) },
        ],
        records(result),
        { testid: "inference-rows", empty: "No requests captured yet.", rowAttrs: (r) => ({ "data-status": r.status_code }) },
      ),
    (err) =>
      h("div", { testid: "inference-refused" }, errorBox(err, { prefix: `You cannot read the inference table ${fullName}: ` })),
  );
  return h(
    "section",
    { class: "card" },
    h(
      "div",
      { class: "title-row" },
      h("h2", {}, "Recent inference requests"),
      h(
        "div",
        { class: "actions" },
        link(at("table", fullName), fullName, { class: "button secondary", testid: "inference-table-link" }),
        link(`#/sql?q=${encodeURIComponent(statement)}`, "Query in SQL", { class: "button secondary" }),
      ),
    ),
    body,
  );
}
