// One run: what it is, its params and metrics, the context to reproduce it, the tables it read
// and its artifacts (browsable, downloadable).

import { op } from "../api.js";
import { lineChart } from "../charts.js";
import {
  asyncSection,
  breadcrumbs,
  dataTable,
  errorBox,
  fill,
  formatTime,
  h,
  link,
  loading,
  properties,
  replace,
  show,
} from "../dom.js";

export const runName = (run) => run.info.run_name || run.info.run_id.slice(0, 8);
export const runHref = (runId) => `#/run/${encodeURIComponent(runId)}`;

const SYSTEM_TAG = /^(mlflow|catalog)\./;
// The tags that say how to reproduce a run (catalog.tracking.reproducibility), in display order.
const CONTEXT = [
  ["Git commit", "mlflow.source.git.commit"],
  ["Uncommitted changes", "catalog.source.git.dirty"],
  ["Entry point", "mlflow.source.name"],
  ["Python", "catalog.python_version"],
];

export function runPage(runId, query) {
  const crumbs = h("div", {}, breadcrumbs([["Experiments", "#/experiments"], [runId.slice(0, 8)]]));
  const page = h("div", { class: "page" }, crumbs, loading("Loading the run"));
  op("tracking", "getRun", { run_id: runId }).then(
    (run) => {
      const experimentHref = `#/experiment/${encodeURIComponent(run.info.experiment_id)}`;
      const trail = (experiment) =>
        breadcrumbs([["Experiments", "#/experiments"], [experiment, experimentHref], [runName(run)]]);
      replace(crumbs, trail(`experiment ${run.info.experiment_id}`));
      op("tracking", "getExperiment", { experiment_id: run.info.experiment_id }).then(
        (e) => replace(crumbs, trail(e.name)),
        () => {},
      );
      replace(page, crumbs, runBody(run, query.get("metric")));
    },
    (err) => replace(page, crumbs, h("h1", {}, `run ${runId}`), errorBox(err)),
  );
  return page;
}

function runBody(run, chosenMetric) {
  const { info } = run;
  const tags = run.data?.tags ?? {};
  const duration = info.end_time && info.start_time ? formatDuration(info.end_time - info.start_time) : "";
  return [
    h("h1", {}, h("span", { class: "kind" }, "run"), runName(run)),
    h(
      "div",
      { class: "grid" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "About"),
        properties(
          [
            ["Name", runName(run)],
            ["ID", h("code", {}, info.run_id)],
            ["Status", h("span", { class: `state state-${String(info.status).toLowerCase()}`, testid: "run-status" }, info.status)],
            ["User", show(info.user_id)],
            ["Started", formatTime(info.start_time)],
            ["Ended", info.end_time ? formatTime(info.end_time) : "still running"],
            ["Duration", duration],
          ],
          { testid: "run-info" },
        ),
      ),
      reproducibility(tags),
    ),
    h(
      "div",
      { class: "grid" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Parameters"),
        dataTable(
          [
            { label: "Key", cell: ([k]) => h("code", {}, k) },
            { label: "Value", cell: ([, v]) => h("span", { class: "wrap" }, show(v)) },
          ],
          Object.entries(run.data?.params ?? {}).sort(([a], [b]) => a.localeCompare(b)),
          { testid: "run-params", empty: "No parameters." },
        ),
      ),
      metricsSection(run, chosenMetric),
    ),
    inputsSection(run.inputs ?? []),
    artifactsSection(info.run_id),
    tagsSection(tags),
  ];
}

function formatDuration(ms) {
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function reproducibility(tags) {
  let packages = null;
  try {
    packages = tags["catalog.packages"] ? JSON.parse(tags["catalog.packages"]) : null;
  } catch {
    packages = null;
  }
  const known = CONTEXT.filter(([, key]) => tags[key] !== undefined);
  const dirty = tags["catalog.source.git.dirty"] ?? tags["catalog.git.dirty"];
  const pairs = CONTEXT.map(([label, key]) => {
    const value = key === "catalog.source.git.dirty" ? dirty : tags[key];
    if (value === undefined) return [label, h("span", { class: "missing" }, "not recorded")];
    if (key === "catalog.source.git.dirty") {
      return [label, h("span", { class: value === "true" ? "warn-text" : null, testid: "run-git-dirty" }, value === "true" ? "yes: the working tree differed from the commit" : "no")];
    }
    return [label, h("code", { class: "wrap", testid: `run-${key.split(".").pop().replaceAll("_", "-")}` }, value)];
  });
  if (packages !== null) {
    pairs.push([
      "Packages",
      h(
        "span",
        { testid: "run-packages" },
        Object.entries(packages).map(([name, version]) => h("span", { class: "tag" }, `${name} ${version}`)),
      ),
    ]);
  } else if (tags["catalog.packages"]) {
    pairs.push(["Packages", h("code", { class: "wrap", testid: "run-packages" }, tags["catalog.packages"])]);
  }
  return h(
    "section",
    { class: "card repro", testid: "run-context" },
    h("h2", {}, "Reproducibility"),
    known.length || packages ? properties(pairs) : h("p", { class: "empty" }, "This run recorded no source context."),
  );
}

function metricsSection(run, chosen) {
  const metrics = Object.entries(run.data?.metrics ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const base = runHref(run.info.run_id);
  const chart = h("div", { testid: "run-metric-chart-slot" });
  if (chosen && metrics.some(([k]) => k === chosen)) {
    fill(
      chart,
      () => op("tracking", "getMetricHistory", { run_id: run.info.run_id, key: chosen }),
      (history) =>
        lineChart([{ name: chosen, points: (history ?? []).map((m) => ({ x: m.step, y: m.value })) }], {
          testid: "run-metric-chart",
          title: `${chosen} by step`,
          attrs: { "data-metric": chosen },
        }),
    );
  }
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Metrics (latest values)"),
    dataTable(
      [
        {
          label: "Key",
          cell: ([k]) =>
            link(`${base}?metric=${encodeURIComponent(k)}`, k, {
              class: k === chosen ? "current" : null,
              title: `chart ${k} by step`,
              "data-metric": k,
            }),
        },
        { label: "Value", cell: ([, v]) => show(v), class: "num" },
      ],
      metrics,
      { testid: "run-metrics", empty: "No metrics." },
    ),
    metrics.length ? h("p", { class: "note" }, "Click a metric to chart it by step.") : null,
    chart,
  );
}

const looksLikeTable = (name) => /^[^./\s]+\.[^./\s]+\.[^./\s]+$/.test(name);

function inputsSection(inputs) {
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Tables read"),
    dataTable(
      [
        {
          label: "Table",
          cell: (d) => (looksLikeTable(d.name) ? link(`#/table/${encodeURIComponent(d.name)}`, d.name) : h("span", { class: "wrap" }, d.name)),
        },
        { label: "Rows", cell: (d) => show(d.num_rows), class: "num" },
        { label: "Context", cell: (d) => show(d.context) },
        { label: "Digest", cell: (d) => h("code", { title: d.digest }, String(d.digest ?? "").slice(0, 12)) },
      ],
      inputs,
      { testid: "run-inputs", empty: "This run recorded no tables it read." },
    ),
  );
}

// -- artifacts ------------------------------------------------------------------------------

function artifactsSection(runId) {
  const body = h("div", { class: "section-body", testid: "run-artifacts" });
  const open = (folder) =>
    fill(
      body,
      () => op("tracking", "listArtifacts", { run_id: runId, path: folder }),
      (files) => artifactList(runId, folder, files ?? [], open),
    );
  open(null);
  return h("section", { class: "card" }, h("h2", {}, "Artifacts"), body);
}

function artifactList(runId, folder, files, open) {
  const parts = folder ? folder.split("/") : [];
  const trail = h(
    "nav",
    { class: "crumbs artifact-path", "aria-label": "Artifact folder", testid: "artifact-path" },
    h(
      "ol",
      {},
      h("li", {}, parts.length ? folderButton("artifacts", () => open(null)) : h("span", {}, "artifacts")),
      parts.map((part, i) => {
        const last = i === parts.length - 1;
        const target = parts.slice(0, i + 1).join("/");
        return h("li", {}, last ? h("span", { "aria-current": "location" }, part) : folderButton(part, () => open(target)));
      }),
    ),
  );
  const sorted = [...files].sort((a, b) => Number(b.is_dir) - Number(a.is_dir) || a.path.localeCompare(b.path));
  const table = dataTable(
    [
      {
        label: "Name",
        cell: (f) => {
          const name = f.path.split("/").pop();
          return f.is_dir ? folderButton(`${name}/`, () => open(f.path), { testid: "artifact-folder", "data-path": f.path }) : h("span", { class: "wrap" }, name);
        },
      },
      { label: "Size", cell: (f) => (f.is_dir ? "" : formatBytes(f.file_size)), class: "num" },
      {
        label: "",
        header: "",
        cell: (f) => (f.is_dir ? "" : downloadButton(runId, f.path)),
      },
    ],
    sorted,
    { empty: folder ? "This folder is empty." : "This run has no artifacts.", rowAttrs: (f) => ({ "data-path": f.path }) },
  );
  return [trail, table];
}

function folderButton(text, onclick, attrs = {}) {
  return h("button", { type: "button", class: "linkish", onclick, ...attrs }, text);
}

function formatBytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

function downloadButton(runId, path) {
  const status = h("span", { class: "hint" });
  const button = h("button", { type: "button", class: "secondary small", testid: "artifact-download", "data-path": path }, "Download");
  button.addEventListener("click", async () => {
    button.disabled = true;
    replace(status, " …");
    try {
      const found = await op("tracking", "downloadArtifacts", { run_id: runId, path });
      const content = found.files?.[found.name];
      if (found.is_dir || !content) throw new Error(`'${path}' is not a single file.`);
      saveBlob(new Blob([bytesOf(content)], { type: "application/octet-stream" }), found.name);
      replace(status);
    } catch (err) {
      replace(status, errorBox(err));
    } finally {
      button.disabled = false;
    }
  });
  return h("span", { class: "download" }, button, status);
}

/** The bytes of a tagged wire value {"$type": "bytes", "base64": "..."} (catalog/wire.py). */
export function bytesOf(value) {
  if (value?.$type !== "bytes" || typeof value.base64 !== "string") throw new Error("The server sent no bytes for this file.");
  const binary = atob(value.base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// -- tags -----------------------------------------------------------------------------------

function tagsSection(tags) {
  const entries = Object.entries(tags).sort(([a], [b]) => a.localeCompare(b));
  const user = entries.filter(([k]) => !SYSTEM_TAG.test(k));
  const system = entries.filter(([k]) => SYSTEM_TAG.test(k));
  const body = h("div", {});
  const toggle = h("input", { type: "checkbox", id: "show-system-tags", testid: "show-system-tags" });
  const render = () =>
    replace(
      body,
      dataTable(
        [
          { label: "Key", cell: ([k]) => h("code", {}, k) },
          { label: "Value", cell: ([, v]) => h("span", { class: "wrap clip" }, show(v)) },
        ],
        toggle.checked ? entries : user,
        {
          testid: "run-tags",
          empty: "No tags of your own.",
          rowAttrs: ([k]) => ({ "data-key": k, class: SYSTEM_TAG.test(k) ? "system" : null }),
        },
      ),
    );
  toggle.addEventListener("change", render);
  render();
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Tags"),
    h(
      "div",
      { class: "toolbar" },
      h("label", { class: "check" }, toggle, ` show system tags (${system.length})`),
    ),
    body,
  );
}
