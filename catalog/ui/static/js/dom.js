// Small DOM helpers: element building, tables, and the loading / error / refused states.

/**
 * h("a", {href: "#/", testid: "x", class: "c", onclick: fn}, "text", child, [more]) -> Element.
 * Attributes whose value is null, undefined or false are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "testid") el.setAttribute("data-testid", value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value" && !svg) el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export const s = (tag, attrs, ...children) => h(`svg:${tag}`, attrs, ...children);

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const link = (href, text, attrs = {}) => h("a", { href, ...attrs }, text);

/** A cell's text for any JSON value. */
export function show(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : formatNumber(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function formatNumber(x) {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) return x.toExponential(3);
  return String(Math.round(x * 1e4) / 1e4);
}

export function formatTime(ms) {
  if (ms === null || ms === undefined) return "";
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().replace("T", " ").slice(0, 19);
}

/**
 * A table in its own horizontal scroll area. columns: [{label, cell(row) -> node|text, class}];
 * rowAttrs(row) adds attributes to each <tr>.
 */
export function dataTable(columns, rows, { testid, empty = "Nothing here.", rowAttrs, caption } = {}) {
  const wrap = h("div", { class: "table-wrap", testid });
  if (!rows.length) {
    wrap.append(h("p", { class: "empty" }, empty));
    return wrap;
  }
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.header ?? c.label)));
  const body = rows.map((row) =>
    h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((c) => h("td", { class: c.class }, c.cell(row)))),
  );
  wrap.append(h("table", {}, caption ? h("caption", {}, caption) : null, h("thead", {}, head), h("tbody", {}, body)));
  return wrap;
}

/** A SQL result ({columns, rows}) as a table. */
export function resultTable(result, options = {}) {
  const columns = result.columns.map((c, i) => ({
    label: c.name,
    header: h("span", { title: c.type }, c.name),
    class: isNumericType(c.type) ? "num" : null,
    cell: (row) => show(row[i]),
  }));
  return dataTable(columns, result.rows, { empty: "No rows.", ...options });
}

export function isNumericType(type) {
  return /^(u?int|float|double|decimal|bigint|smallint|tinyint|real)/i.test(type ?? "");
}

export const loading = (what = "Loading") => h("p", { class: "loading", role: "status" }, `${what}…`);

/** An API error: refused (403/404) or any other error, with error_code and message. */
export function errorBox(err, { prefix } = {}) {
  const refused = err?.refused === true;
  const code = err?.code ?? "ERROR";
  const message = err?.message ?? String(err);
  const box = h(
    "div",
    { class: refused ? "notice refused" : "notice error", testid: refused ? "refused" : "error", role: "alert" },
    h("strong", { class: "error-code" }, code),
    " ",
    h("span", { class: "error-message" }, prefix ? `${prefix}${message}` : message),
  );
  if (err?.status === 401) box.append(" ", link("#/signin", "Sign in again"));
  return box;
}

/**
 * A titled section that shows a loading state, then what render(data) returns, or the error.
 * Returns the section at once; the content arrives when load() settles.
 */
export function asyncSection(title, load, render, { testid, level = "h2", onError } = {}) {
  const body = h("div", { class: "section-body", testid }, loading());
  const section = h("section", { class: "card" }, title ? h(level, {}, title) : null, body);
  fill(body, load, render, onError);
  return section;
}

export async function fill(el, load, render, onError) {
  replace(el, loading());
  try {
    const data = await load();
    replace(el, render(data));
  } catch (err) {
    if (!(err?.code || err?.status !== undefined)) console.error(err);
    replace(el, onError ? onError(err) : errorBox(err));
  }
}

/** Breadcrumbs: [["Catalogs", "#/"], ["main", "#/catalog/main"], ["ml"]]. */
export function breadcrumbs(items) {
  const list = h("ol", {});
  items.forEach(([label, href], i) => {
    const last = i === items.length - 1;
    list.append(h("li", {}, href && !last ? link(href, label) : h("span", { "aria-current": last ? "page" : null }, label)));
  });
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumbs", testid: "breadcrumbs" }, list);
}

/** Breadcrumbs for a dotted name: Catalogs / c / s / t. */
export function nameCrumbs(fullName, lastHref) {
  const [c, sch, obj] = fullName.split(".");
  const items = [["Catalogs", "#/"]];
  if (c) items.push([c, `#/catalog/${encodeURIComponent(c)}`]);
  if (sch) items.push([sch, `#/schema/${encodeURIComponent(`${c}.${sch}`)}`]);
  if (obj) items.push([obj, lastHref]);
  return breadcrumbs(items);
}

/** A property list: [[label, value], ...]. */
export function properties(pairs, attrs = {}) {
  return h("dl", { class: "props", ...attrs }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "")]));
}
