// The SQL editor: a textarea (Ctrl/Cmd+Enter runs), the result as a table, and a bar chart when
// the result has a text column and a numeric column.

import { sql } from "../api.js";
import { errorBox, h, isNumericType, loading, replace, resultTable } from "../dom.js";
import { barChart } from "../charts.js";

const DRAFT_KEY = "catalog.sql.draft";

export function sqlPage(query) {
  const initial = query.get("q") ?? sessionStorage.getItem(DRAFT_KEY) ?? "SHOW CATALOGS";
  const editor = h("textarea", {
    id: "sql-editor",
    testid: "sql-editor",
    rows: 8,
    spellcheck: "false",
    "aria-label": "SQL statement",
  });
  editor.value = initial;
  const maxRows = h("input", { id: "sql-max-rows", type: "number", min: 1, max: 10000, value: 1000, testid: "sql-max-rows" });
  const result = h("div", { class: "section-body", testid: "sql-output" });
  const run = h("button", { type: "button", testid: "sql-run" }, "Run");

  const execute = async () => {
    const statement = editor.value.trim();
    if (!statement) return;
    sessionStorage.setItem(DRAFT_KEY, editor.value);
    run.disabled = true;
    replace(result, loading("Running"));
    const started = performance.now();
    try {
      const answer = await sql(statement, { maxRows: Number(maxRows.value) || 1000 });
      replace(result, renderResult(answer, performance.now() - started));
    } catch (err) {
      replace(result, errorBox(err));
    } finally {
      run.disabled = false;
    }
  };
  run.addEventListener("click", execute);
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      execute();
    }
  });
  const page = h(
    "div",
    { class: "page" },
    h("h1", {}, "SQL"),
    h(
      "section",
      { class: "card" },
      editor,
      h(
        "div",
        { class: "toolbar" },
        run,
        h("span", { class: "hint" }, "Ctrl+Enter (⌘+Enter) runs"),
        h("label", { for: "sql-max-rows", class: "push" }, "Max rows "),
        maxRows,
      ),
    ),
    h("section", { class: "card" }, result),
  );
  if (query.get("q")) queueMicrotask(execute);
  return page;
}

function renderResult(answer, ms) {
  const columns = answer.columns ?? [];
  const summary = h(
    "p",
    { class: "note", testid: "sql-summary" },
    `${answer.row_count} row(s)`,
    answer.truncated ? h("strong", { class: "truncated", testid: "sql-truncated" }, " (truncated: raise Max rows to see more)") : null,
    ` in ${Math.round(ms)} ms.`,
  );
  if (!columns.length) return [summary, h("p", { class: "empty", testid: "sql-result" }, "The statement returned no columns.")];
  return [summary, resultTable(answer, { testid: "sql-result" }), chartFor(answer)];
}

/** A bar chart of the first numeric column by the first text column, when both exist. */
function chartFor({ columns, rows }) {
  if (!rows.length) return null;
  const numeric = (i) => isNumericType(columns[i].type) || rows.every((r) => r[i] === null || typeof r[i] === "number");
  const texty = (i) => rows.every((r) => r[i] === null || typeof r[i] === "string");
  const label = columns.findIndex((_, i) => texty(i));
  const value = columns.findIndex((_, i) => i !== label && numeric(i) && rows.some((r) => typeof r[i] === "number"));
  if (label < 0 || value < 0) return null;
  return barChart(
    rows.map((r) => r[label]),
    rows.map((r) => (typeof r[value] === "number" ? r[value] : Number.NaN)),
    { testid: "sql-chart", title: `${columns[value].name} by ${columns[label].name}` },
  );
}
