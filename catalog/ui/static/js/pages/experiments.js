// Experiments: the list, one experiment's runs (filter, sort, select) and runs compared.

import { op } from "../api.js";
import { asyncSection, breadcrumbs, dataTable, errorBox, formatTime, h, link, loading, replace, show } from "../dom.js";
import { lineChart } from "../charts.js";
import { parallelCoordinates } from "../parallel.js";
import { runHref, runName } from "./run.js";

export function experimentsPage() {
  return h(
    "div",
    { class: "page" },
    breadcrumbs([["Experiments"]]),
    h("h1", {}, "Experiments"),
    asyncSection(
      null,
      () => op("tracking", "searchExperiments", {}),
      (list) =>
        dataTable(
          [
            { label: "Name", cell: (e) => link(`#/experiment/${encodeURIComponent(e.experiment_id)}`, e.name) },
            { label: "ID", cell: (e) => e.experiment_id, class: "num" },
            { label: "Owner", cell: (e) => show(e.owner) },
            { label: "Created", cell: (e) => formatTime(e.creation_time) },
            { label: "Updated", cell: (e) => formatTime(e.last_update_time) },
          ],
          list ?? [],
          { testid: "experiment-list", empty: "No experiments you may read." },
        ),
    ),
  );
}

// The runs table's state survives re-renders of the same experiment (sort, filter, selection).
// axes: the chosen parallel-coordinates axes (null: the default), colour: its colour metric.
const state = { experiment: null, filter: "", sort: null, selected: new Set(), axes: null, colour: null };

export function experimentPage(id) {
  if (state.experiment !== id) {
    Object.assign(state, { experiment: id, filter: "", sort: null, selected: new Set(), axes: null, colour: null });
  }
  const crumbs = breadcrumbs([["Experiments", "#/experiments"], [`experiment ${id}`]]);
  const title = h("h1", {}, h("span", { class: "kind" }, "experiment"), `experiment ${id}`);
  const about = h("div", {});
  op("tracking", "getExperiment", { experiment_id: id }).then(
    (e) => {
      replace(title, h("span", { class: "kind" }, "experiment"), e.name);
      replace(crumbs, breadcrumbs([["Experiments", "#/experiments"], [e.name]]).firstChild);
      replace(about, h("p", { class: "note" }, `ID ${e.experiment_id} · owner ${show(e.owner)} · created ${formatTime(e.creation_time)}`));
    },
    (err) => replace(about, errorBox(err)),
  );

  const filter = h("input", {
    id: "runs-filter",
    type: "search",
    testid: "runs-filter",
    value: state.filter,
    placeholder: "metrics.acc > 0.8 and params.lr = '0.1'",
    "aria-label": "filter runs (MLflow search syntax)",
  });
  const runsBox = h("div", { class: "section-body" });
  const compare = h("button", { type: "button", testid: "compare-button", disabled: true }, "Compare");
  const count = h("span", { class: "hint", testid: "selected-count" });
  const parallelBox = h("div", { class: "section-body" }, loading());
  const syncCompare = () => {
    compare.disabled = state.selected.size < 2;
    count.textContent = `${state.selected.size} selected`;
    replace(parallelBox, parallelSection(runs, () => syncCompare()));
  };
  compare.addEventListener("click", () => {
    location.hash = `#/compare/${[...state.selected].map(encodeURIComponent).join(",")}`;
  });
  let runs = [];
  const renderRuns = () => replace(runsBox, runsTable(runs, syncCompare, renderRuns));
  const search = async () => {
    state.filter = filter.value.trim();
    replace(runsBox, loading("Searching runs"));
    try {
      const args = { experiment_ids: [id], max_results: 1000 };
      if (state.filter) args.filter_string = state.filter;
      const page = await op("tracking", "searchRuns", args);
      runs = page.items ?? [];
      const ids = new Set(runs.map((r) => r.info.run_id));
      for (const chosen of [...state.selected]) if (!ids.has(chosen)) state.selected.delete(chosen);
      renderRuns();
    } catch (err) {
      runs = [];
      replace(runsBox, errorBox(err));
    }
    syncCompare();
  };
  const form = h(
    "form",
    { class: "toolbar filter", testid: "runs-filter-form" },
    h("label", { for: "runs-filter" }, "Filter"),
    filter,
    h("button", { type: "submit", testid: "runs-search" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  search();
  return h(
    "div",
    { class: "page" },
    crumbs,
    title,
    about,
    h("section", { class: "card" }, form, h("div", { class: "toolbar" }, compare, count), runsBox),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Parallel coordinates"),
      h("p", { class: "note" }, "The selected runs, or every run shown when none is selected."),
      parallelBox,
    ),
  );
}

const keysOf = (runs, part) => [...new Set(runs.flatMap((r) => Object.keys(r.data?.[part] ?? {})))].sort();

function parallelSection(runs, rerender) {
  if (!runs.length) return h("p", { class: "empty" }, "No runs to draw.");
  const chosenRuns = state.selected.size ? runs.filter((r) => state.selected.has(r.info.run_id)) : runs;
  const all = [
    ...keysOf(runs, "params").map((k) => ({ key: `params.${k}`, label: k, group: "param", value: (r) => r.data?.params?.[k] })),
    ...keysOf(runs, "metrics").map((k) => ({ key: `metrics.${k}`, label: k, group: "metric", value: (r) => r.data?.metrics?.[k] })),
  ];
  const chosen = state.axes ?? new Set(all.slice(0, 8).map((a) => a.key));
  const axes = all.filter((a) => chosen.has(a.key));
  const metrics = all.filter((a) => a.group === "metric");
  const colourKey = state.colour ?? metrics[0]?.key ?? "";
  const pickers = all.map((a) => {
    const box = h("input", { type: "checkbox", checked: chosen.has(a.key), "data-axis": a.key, testid: "pc-axis" });
    box.addEventListener("change", () => {
      const next = new Set(chosen);
      if (box.checked) next.add(a.key);
      else next.delete(a.key);
      state.axes = next;
      rerender();
    });
    return h("label", { class: "check" }, box, " ", h("span", { class: `group group-${a.group}` }, a.group), ` ${a.label}`);
  });
  const colour = h(
    "select",
    { id: "pc-colour", testid: "pc-colour" },
    h("option", { value: "" }, "none"),
    metrics.map((m) => h("option", { value: m.key, selected: m.key === colourKey }, m.label)),
  );
  colour.value = colourKey;
  colour.addEventListener("change", () => {
    state.colour = colour.value;
    rerender();
  });
  return [
    h("fieldset", { class: "modes pc-axes" }, h("legend", {}, "Axes"), pickers),
    h("div", { class: "toolbar" }, h("label", { for: "pc-colour" }, "Colour by"), colour),
    parallelCoordinates(
      chosenRuns.map((r) => ({ id: r.info.run_id, name: runName(r), data: r.data })),
      axes,
      { colourBy: metrics.find((m) => m.key === colourKey) ?? null, scaleItems: runs.map((r) => ({ data: r.data })) },
    ),
  ];
}

function runsTable(runs, onSelect, rerender) {
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.data?.metrics ?? {})))].sort();
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.data?.params ?? {})))].sort();
  const columns = [
    {
      key: "name",
      label: "Run",
      value: (r) => runName(r),
      cell: (r) => link(runHref(r.info.run_id), runName(r), { title: r.info.run_id, testid: "run-link" }),
    },
    { key: "status", label: "Status", value: (r) => r.info.status, cell: (r) => h("span", { class: `state state-${String(r.info.status).toLowerCase()}` }, r.info.status) },
    { key: "user", label: "User", value: (r) => r.info.user_id, cell: (r) => show(r.info.user_id) },
    { key: "start", label: "Started", value: (r) => r.info.start_time, cell: (r) => formatTime(r.info.start_time) },
    ...metricKeys.map((k) => ({
      key: `metrics.${k}`,
      label: k,
      group: "metric",
      class: "num",
      value: (r) => r.data.metrics[k],
      cell: (r) => show(r.data.metrics[k]),
    })),
    ...paramKeys.map((k) => ({
      key: `params.${k}`,
      label: k,
      group: "param",
      value: (r) => r.data.params[k],
      cell: (r) => show(r.data.params[k]),
    })),
  ];
  const sorted = sortRuns(runs, columns);
  const headerFor = (c) => {
    const active = state.sort?.key === c.key;
    const arrow = active ? (state.sort.desc ? " ▼" : " ▲") : "";
    return h(
      "button",
      {
        type: "button",
        class: "sort",
        "data-sort": c.key,
        "aria-sort": active ? (state.sort.desc ? "descending" : "ascending") : null,
        title: `sort by ${c.key}`,
        onclick: () => {
          state.sort = { key: c.key, desc: active ? !state.sort.desc : c.group === "metric" };
          rerender();
        },
      },
      c.group ? h("span", { class: `group group-${c.group}` }, c.group === "metric" ? "metric" : "param") : null,
      c.label,
      arrow,
    );
  };
  const checkbox = (r) => {
    const box = h("input", {
      type: "checkbox",
      "aria-label": `select ${runName(r)}`,
      "data-run-id": r.info.run_id,
      testid: "run-select",
      checked: state.selected.has(r.info.run_id),
    });
    box.addEventListener("change", () => {
      if (box.checked) state.selected.add(r.info.run_id);
      else state.selected.delete(r.info.run_id);
      onSelect();
    });
    return box;
  };
  return [
    dataTable(
      [{ label: "", header: "", cell: checkbox, class: "pick" }, ...columns.map((c) => ({ ...c, header: headerFor(c) }))],
      sorted,
      {
        testid: "runs-table",
        empty: state.filter ? "No runs match the filter." : "No runs yet.",
        rowAttrs: (r) => ({ "data-run-id": r.info.run_id, "data-run-name": runName(r) }),
      },
    ),
    h("p", { class: "note" }, `${runs.length} run(s). Click a column header to sort.`),
  ];
}

function sortRuns(runs, columns) {
  if (!state.sort) return runs;
  const column = columns.find((c) => c.key === state.sort.key);
  if (!column) return runs;
  const sign = state.sort.desc ? -1 : 1;
  const key = (r) => {
    const v = column.value(r);
    const n = typeof v === "number" ? v : v !== undefined && v !== null && v !== "" && !Number.isNaN(Number(v)) ? Number(v) : null;
    return { missing: v === undefined || v === null, n, text: v === undefined || v === null ? "" : String(v) };
  };
  return [...runs].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x.missing !== y.missing) return x.missing ? 1 : -1; // missing values last either way
    if (x.n !== null && y.n !== null) return sign * (x.n - y.n);
    return sign * x.text.localeCompare(y.text);
  });
}

// -- runs side by side ----------------------------------------------------------------------

export function comparePage(ids) {
  const crumbs = h("div", {}, breadcrumbs([["Experiments", "#/experiments"], ["Compare"]]));
  const body = h("div", {}, loading(`Loading ${ids.length} runs`));
  Promise.all(ids.map((id) => op("tracking", "getRun", { run_id: id }))).then(
    (runs) => {
      const experimentId = runs[0]?.info.experiment_id;
      if (experimentId) {
        replace(
          crumbs,
          breadcrumbs([
            ["Experiments", "#/experiments"],
            [`experiment ${experimentId}`, `#/experiment/${encodeURIComponent(experimentId)}`],
            ["Compare"],
          ]),
        );
        op("tracking", "getExperiment", { experiment_id: experimentId }).then(
          (e) => {
            const name = crumbs.querySelector(`a[href="#/experiment/${encodeURIComponent(experimentId)}"]`);
            if (name) name.textContent = e.name;
          },
          () => {},
        );
      }
      replace(body, compareBody(runs));
    },
    (err) => replace(body, errorBox(err)),
  );
  return h("div", { class: "page" }, crumbs, h("h1", {}, `Compare ${ids.length} runs`), body);
}

function sideBySide(runs, keysOf, valueOf, testid, empty) {
  const keys = [...new Set(runs.flatMap(keysOf))].sort();
  const rows = keys.map((key) => {
    const values = runs.map((r) => valueOf(r, key));
    const changed = new Set(values.map((v) => JSON.stringify(v ?? null))).size > 1;
    return { key, values, changed };
  });
  return dataTable(
    [
      { label: "", header: "", cell: (row) => h("code", {}, row.key), class: "key" },
      ...runs.map((run, i) => ({
        label: runName(run),
        header: h("span", { title: run.info.run_id }, runName(run)),
        cell: (row) => (row.values[i] === undefined ? h("span", { class: "missing" }, "—") : show(row.values[i])),
      })),
    ],
    rows,
    {
      testid,
      empty,
      rowAttrs: (row) => ({ class: row.changed ? "changed" : null, "data-key": row.key }),
    },
  );
}

function compareBody(runs) {
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.data?.metrics ?? {})))].sort();
  const charts = h("div", { class: "charts" });
  for (const key of metricKeys) {
    const slot = h("div", { class: "chart-slot" }, loading(`Loading ${key}`));
    charts.append(slot);
    Promise.all(runs.map((r) => op("tracking", "getMetricHistory", { run_id: r.info.run_id, key }))).then(
      (histories) =>
        replace(
          slot,
          lineChart(
            runs.map((r, i) => ({
              name: runName(r),
              points: (histories[i] ?? []).map((m) => ({ x: m.step, y: m.value })),
            })),
            { testid: "metric-chart", title: key, attrs: { "data-metric": key } },
          ),
        ),
      (err) => replace(slot, errorBox(err)),
    );
  }
  return [
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Runs"),
      dataTable(
        [
          { label: "Run", cell: (r) => link(runHref(r.info.run_id), runName(r)) },
          { label: "ID", cell: (r) => h("code", {}, r.info.run_id) },
          { label: "Status", cell: (r) => r.info.status },
          { label: "User", cell: (r) => show(r.info.user_id) },
          { label: "Started", cell: (r) => formatTime(r.info.start_time) },
          { label: "Ended", cell: (r) => formatTime(r.info.end_time) },
        ],
        runs,
        { testid: "compare-runs" },
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Parameters"),
      h("p", { class: "note" }, "Highlighted rows differ between the runs."),
      sideBySide(runs, (r) => Object.keys(r.data?.params ?? {}), (r, k) => r.data?.params?.[k], "compare-params", "No parameters."),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Metrics (latest values)"),
      sideBySide(runs, (r) => Object.keys(r.data?.metrics ?? {}), (r, k) => r.data?.metrics?.[k], "compare-metrics", "No metrics."),
    ),
    h("section", { class: "card" }, h("h2", {}, "Metrics by step"), metricKeys.length ? charts : h("p", { class: "empty" }, "No metrics.")),
  ];
}
