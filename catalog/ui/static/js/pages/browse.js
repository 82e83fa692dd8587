// The catalog browser: catalogs -> schemas -> tables, views, models and endpoints -> one object.

import { api, endpoints, op, quoteName, records, seg, sql } from "../api.js";
import {
  asyncSection,
  breadcrumbs,
  dataTable,
  errorBox,
  h,
  link,
  loading,
  nameCrumbs,
  properties,
  replace,
  resultTable,
  show,
} from "../dom.js";
import { grantsSection } from "./grants.js";
import { runHref } from "./run.js";

const at = (kind, name) => `#/${kind}/${encodeURIComponent(name)}`;

export function catalogsPage() {
  return h(
    "div",
    { class: "page" },
    breadcrumbs([["Catalogs"]]),
    h("h1", {}, "Catalogs"),
    asyncSection(
      null,
      () => api("/api/v1/catalogs"),
      ({ catalogs }) =>
        list(
          catalogs.map((c) => c.catalog),
          (c) => at("catalog", c),
          "catalog-list",
          "You may see no catalogs yet.",
        ),
    ),
  );
}

export function catalogPage(name) {
  return h(
    "div",
    { class: "page" },
    breadcrumbs([["Catalogs", "#/"], [name]]),
    h("h1", {}, h("span", { class: "kind" }, "catalog"), name),
    asyncSection(
      "Schemas",
      () => api(`/api/v1/schemas?catalog_name=${seg(name)}`),
      ({ schemas }) =>
        list(
          schemas.map((row) => row.databaseName ?? row.schema ?? Object.values(row)[0]),
          (sch) => at("schema", `${name}.${sch}`),
          "schema-list",
          "No schemas you may see.",
        ),
    ),
  );
}

// The information schema says which are views, and which tables have a primary key (feature tables).
const TABLES_OF_SCHEMA = `SELECT t.table_name, t.table_type,
       EXISTS (SELECT 1 FROM system.information_schema.table_constraints k
               WHERE k.table_catalog = t.table_catalog AND k.table_schema = t.table_schema
                 AND k.table_name = t.table_name) AS feature_table
FROM system.information_schema.tables t
WHERE t.table_catalog = :c AND t.table_schema = :s
ORDER BY t.table_name`;

const kindOf = (t) => (t.table_type === "VIEW" ? "view" : t.feature_table ? "feature table" : "table");

export function schemaPage(fullName) {
  const [c, sch] = fullName.split(".");
  const prefix = `${fullName}.`;
  return h(
    "div",
    { class: "page" },
    nameCrumbs(fullName),
    h("h1", {}, h("span", { class: "kind" }, "schema"), fullName),
    h(
      "div",
      { class: "grid" },
      asyncSection(
        "Tables and views",
        () => sql(TABLES_OF_SCHEMA, { parameters: { c, s: sch } }),
        (result) => {
          const kinds = new Map(records(result).map((t) => [`${prefix}${t.table_name}`, kindOf(t)]));
          return list(
            [...kinds.keys()],
            (t) => at("table", t),
            "table-list",
            "No tables or views you may see.",
            (t) => h("span", {}, t.slice(prefix.length), " ", h("span", { class: "kind" }, kinds.get(t))),
          );
        },
      ),
      asyncSection(
        "Models",
        () => sql(`SHOW MODELS IN ${quoteName(fullName)}`),
        (result) =>
          list(
            records(result).map((m) => `${prefix}${m.modelName}`),
            (m) => at("model", m),
            "model-list",
            "No models you may see.",
            (m) => m.slice(prefix.length),
          ),
      ),
      asyncSection(
        "Serving endpoints",
        () => endpoints(),
        (all) =>
          list(
            all.map((e) => e.name).filter((n) => n.startsWith(prefix)),
            (e) => at("endpoint", e),
            "endpoint-list",
            "No serving endpoints you may see.",
            (e) => e.slice(prefix.length),
          ),
      ),
    ),
  );
}

function list(items, href, testid, empty, label = (x) => x) {
  if (!items.length) return h("p", { class: "empty", testid }, empty);
  return h(
    "ul",
    { class: "links", testid },
    items.map((item) => h("li", {}, link(href(item), label(item), { "data-name": item }))),
  );
}

// -- a table or view ----------------------------------------------------------------------

/** DESCRIBE TABLE EXTENDED rows: the columns above the first blank/"#" row, properties below. */
export function splitDescribe(rows) {
  const columns = [];
  const props = [];
  let inColumns = true;
  for (const row of rows) {
    const name = row.col_name ?? "";
    if (!name || name.startsWith("#")) {
      inColumns = false;
      continue;
    }
    if (inColumns) columns.push(row);
    else props.push([name, row.data_type]);
  }
  return { columns, props: Object.fromEntries(props), propList: props };
}

export function tablePage(fullName) {
  const page = h("div", { class: "page" }, nameCrumbs(fullName), loading(`Loading ${fullName}`));
  api(`/api/v1/tables/${seg(fullName)}`).then(
    ({ columns }) => replace(page, nameCrumbs(fullName), tableBody(fullName, splitDescribe(columns))),
    (err) => replace(page, nameCrumbs(fullName), h("h1", {}, fullName), errorBox(err)),
  );
  return page;
}

function tableBody(fullName, { columns, props, propList }) {
  const isView = /view/i.test(props.Type ?? "");
  const shown = ["Owner", "Comment", "Type", "Created Time", "Created By"];
  const rest = propList.filter(([k]) => !shown.includes(k) && !["Catalog", "Database", "Table"].includes(k));
  const statement = `SELECT * FROM ${quoteName(fullName)} LIMIT 20`;
  return [
    h(
      "div",
      { class: "title-row" },
      h("h1", {}, h("span", { class: "kind" }, isView ? "view" : "table"), fullName),
      h(
        "div",
        { class: "actions" },
        link(at("lineage", fullName), "Lineage", { class: "button", testid: "lineage-link" }),
        link(`#/sql?q=${encodeURIComponent(statement)}`, "Query in SQL", { class: "button secondary" }),
      ),
    ),
    props.Comment ? h("p", { class: "comment", testid: "table-comment" }, props.Comment) : null,
    h(
      "section",
      { class: "card" },
      h("h2", {}, "About"),
      properties(
        [
          ["Owner", h("span", { testid: "table-owner" }, props.Owner ?? "")],
          ["Type", props.Type],
          ["Created", [props["Created Time"] ?? "", props["Created By"] ? ` by ${props["Created By"]}` : ""]],
          ...rest,
        ],
        { testid: "table-properties" },
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, `Columns (${columns.length})`),
      dataTable(
        [
          { label: "Name", cell: (c) => h("code", {}, c.col_name) },
          { label: "Type", cell: (c) => c.data_type },
          { label: "Comment", cell: (c) => c.comment ?? "" },
        ],
        columns,
        { testid: "table-columns", empty: "No columns." },
      ),
    ),
    asyncSection(
      "Sample rows",
      () => sql(statement, { maxRows: 20 }),
      (result) => [resultTable(result), h("p", { class: "note" }, `${result.row_count} row(s) shown, at most 20.`)],
      {
        testid: "sample-rows",
        onError: (err) => errorBox(err, { prefix: "You cannot read rows of this table: " }),
      },
    ),
    grantsSection(isView ? "view" : "table", fullName),
  ];
}

// -- a registered model --------------------------------------------------------------------

export function modelPage(fullName) {
  const [c, sch, m] = fullName.split(".");
  // Named markers: the server currently binds three or more ? markers out of order.
  const where = "WHERE catalog_name = :c AND schema_name = :s AND model_name = :m";
  const params = { c, s: sch, m };
  const page = h("div", { class: "page" }, nameCrumbs(fullName), loading(`Loading ${fullName}`));
  sql(`SELECT * FROM system.information_schema.registered_models ${where}`, { parameters: params }).then(
    (result) => {
      const [model] = records(result);
      if (!model) {
        return replace(
          page,
          nameCrumbs(fullName),
          h("h1", {}, fullName),
          errorBox({ refused: true, code: "NOT_FOUND", message: `Model ${fullName} does not exist, or you may not see it.` }),
        );
      }
      replace(page, nameCrumbs(fullName), modelBody(fullName, model, where, params));
    },
    (err) => replace(page, nameCrumbs(fullName), h("h1", {}, fullName), errorBox(err)),
  );
  return page;
}

function aliasPairs(aliases) {
  if (!aliases) return [];
  if (Array.isArray(aliases)) return aliases.map((a) => (Array.isArray(a) ? a : [a.key ?? a[0], a.value ?? a[1]]));
  return Object.entries(aliases);
}

function modelBody(fullName, model, where, params) {
  const aliases = aliasPairs(model.aliases);
  return [
    h(
      "div",
      { class: "title-row" },
      h("h1", {}, h("span", { class: "kind" }, "model"), fullName),
      h("div", { class: "actions" }, link(at("lineage", fullName), "Lineage", { class: "button", testid: "lineage-link" })),
    ),
    model.comment ? h("p", { class: "comment" }, model.comment) : null,
    h(
      "section",
      { class: "card" },
      h("h2", {}, "About"),
      properties([
        ["Owner", model.owner],
        ["Latest version", show(model.latest_version)],
        [
          "Aliases",
          aliases.length
            ? h("span", { testid: "model-aliases" }, aliases.map(([a, v]) => h("span", { class: "tag" }, `@${a} → v${v}`)))
            : "none",
        ],
        ["Created", `${show(model.created_at)} by ${show(model.created_by)}`],
      ]),
    ),
    asyncSection(
      "Tags",
      () => op("registry", "getRegisteredModel", { name: fullName }),
      (registered) => [
        registered.description ? h("p", { class: "comment", testid: "model-description" }, registered.description) : null,
        dataTable(
          [
            { label: "Key", cell: ([k]) => h("code", {}, k) },
            { label: "Value", cell: ([, v]) => h("span", { class: "wrap" }, show(v)) },
          ],
          Object.entries(registered.tags ?? {}).sort(([a], [b]) => a.localeCompare(b)),
          { testid: "model-tags", empty: "No tags.", rowAttrs: ([k]) => ({ "data-key": k }) },
        ),
      ],
    ),
    asyncSection(
      "Versions",
      () => sql(`SELECT * FROM system.information_schema.model_versions ${where} ORDER BY version DESC`, { parameters: params }),
      (result) =>
        dataTable(
          [
            { label: "Version", cell: (v) => `v${v.version}`, class: "num" },
            { label: "Aliases", cell: (v) => (v.aliases ?? []).map((a) => h("span", { class: "tag" }, `@${a}`)) },
            { label: "Status", cell: (v) => show(v.status) },
            {
              label: "Run",
              cell: (v) =>
                v.run_id ? link(runHref(v.run_id), h("code", {}, v.run_id.slice(0, 8)), { title: v.run_id, testid: "version-run" }) : "",
            },
            { label: "Source", cell: (v) => h("span", { class: "wrap" }, show(v.source)) },
            { label: "Created", cell: (v) => `${show(v.created_at)} by ${show(v.created_by)}` },
          ],
          records(result),
          { testid: "model-versions", empty: "No versions." },
        ),
    ),
    asyncSection(
      "Served by",
      () => endpoints(),
      (all) => {
        const serving = all.flatMap((e) =>
          (e.config?.served_entities ?? [])
            .filter((s) => s.entity_name === fullName)
            .map((s) => ({ endpoint: e.name, entity: s, state: e.state })),
        );
        return dataTable(
          [
            { label: "Endpoint", cell: (r) => link(at("endpoint", r.endpoint), r.endpoint) },
            { label: "Served entity", cell: (r) => r.entity.name },
            { label: "Version", cell: (r) => `v${r.entity.entity_version}` },
            { label: "Traffic", cell: (r) => `${r.entity.traffic_percentage ?? "?"}%`, class: "num" },
            { label: "State", cell: (r) => show(r.state?.ready) },
          ],
          serving,
          { testid: "model-endpoints", empty: "No serving endpoint you may see serves this model." },
        );
      },
    ),
    grantsSection("model", fullName),
  ];
}
