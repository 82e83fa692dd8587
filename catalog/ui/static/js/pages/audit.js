// The audit log (system.access.audit): filter by principal, action and denials, 50 rows a page.
// The filters and the page live in the address (#/audit?principal=bob&denied=1&page=2).

import { api, records, sql } from "../api.js";
import { breadcrumbs, dataTable, errorBox, fill, formatTime, h, show } from "../dom.js";

export const PAGE_SIZE = 50;

// Empty filters match everything; one statement with named markers serves every combination.
const STATEMENT = `SELECT event_time, user_identity.email AS principal, action_name,
       response.status_code AS status, request_params, source_ip_address
FROM system.access.audit
WHERE (:principal = '' OR lower(user_identity.email) LIKE :principal)
  AND (:action = '' OR lower(action_name) LIKE :action)
  AND (NOT :denied OR response.status_code = 403)
ORDER BY event_time DESC
LIMIT :limit OFFSET :offset`;

/** Whether the signed-in user may read the audit log (metastore admins, or those granted it):
 * /api/v1/me says so without a query (a refused probe would itself be an audited denial). */
export async function mayReadAudit() {
  try {
    return Boolean((await api("/api/v1/me")).can_read_audit);
  } catch {
    return false;
  }
}

const contains = (text) => (text ? `%${text.toLowerCase()}%` : "");

export function auditPage(query) {
  const filters = {
    principal: query.get("principal") ?? "",
    action: query.get("action") ?? "",
    denied: query.get("denied") === "1",
    page: Math.max(1, Number.parseInt(query.get("page") ?? "1", 10) || 1),
  };
  const go = (next) => {
    const params = new URLSearchParams();
    if (next.principal) params.set("principal", next.principal);
    if (next.action) params.set("action", next.action);
    if (next.denied) params.set("denied", "1");
    if (next.page > 1) params.set("page", String(next.page));
    const search = params.toString();
    location.hash = `#/audit${search ? `?${search}` : ""}`;
  };

  const principal = h("input", { id: "audit-principal", type: "search", testid: "audit-principal", value: filters.principal, placeholder: "e.g. bob" });
  const action = h("input", { id: "audit-action", type: "search", testid: "audit-action", value: filters.action, placeholder: "e.g. executeQuery" });
  const denied = h("input", { id: "audit-denied", type: "checkbox", testid: "audit-denied", checked: filters.denied });
  const form = h(
    "form",
    { class: "toolbar audit-filters", testid: "audit-filters" },
    h("label", { for: "audit-principal" }, "Principal"),
    principal,
    h("label", { for: "audit-action" }, "Action"),
    action,
    h("label", { class: "check", for: "audit-denied" }, denied, " denied only"),
    h("button", { type: "submit", testid: "audit-apply" }, "Apply"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go({ principal: principal.value.trim(), action: action.value.trim(), denied: denied.checked, page: 1 });
  });
  denied.addEventListener("change", () => form.requestSubmit());

  const body = h("div", { class: "section-body" });
  const parameters = {
    principal: contains(filters.principal),
    action: contains(filters.action),
    denied: filters.denied,
    limit: PAGE_SIZE + 1, // one more row than shown says whether there is a next page
    offset: (filters.page - 1) * PAGE_SIZE,
  };
  fill(
    body,
    () => sql(STATEMENT, { parameters, maxRows: PAGE_SIZE + 1 }),
    (result) => {
      const rows = records(result);
      const more = rows.length > PAGE_SIZE;
      const shown = rows.slice(0, PAGE_SIZE);
      const first = parameters.offset + 1;
      const pager = h(
        "div",
        { class: "toolbar pager", testid: "audit-pager" },
        h("button", { type: "button", class: "secondary", testid: "audit-previous", disabled: filters.page === 1, onclick: () => go({ ...filters, page: filters.page - 1 }) }, "← Previous"),
        h("span", { class: "hint", testid: "audit-page" }, shown.length ? `Page ${filters.page}: rows ${first}–${first + shown.length - 1}` : `Page ${filters.page}`),
        h("button", { type: "button", class: "secondary", testid: "audit-next", disabled: !more, onclick: () => go({ ...filters, page: filters.page + 1 }) }, "Next →"),
      );
      return [
        dataTable(
          [
            { label: "Time (UTC)", cell: (r) => formatTime(Date.parse(r.event_time)) || show(r.event_time) },
            { label: "Principal", cell: (r) => show(r.principal) },
            { label: "Action", cell: (r) => h("code", {}, show(r.action_name)) },
            { label: "Status", cell: (r) => h("span", { class: r.status === 403 ? "bad-text" : null }, show(r.status)), class: "num" },
            { label: "Request", cell: (r) => h("span", { class: "clip", title: show(r.request_params) }, show(r.request_params)) },
            { label: "Source", cell: (r) => show(r.source_ip_address) },
          ],
          shown,
          {
            testid: "audit-rows",
            empty: filters.page > 1 ? "No more rows." : "No audit rows match the filters.",
            rowAttrs: (r) => ({ "data-status": r.status, "data-principal": r.principal }),
          },
        ),
        pager,
      ];
    },
    (err) =>
      errorBox(err, { prefix: err?.refused ? "Only metastore admins (or principals granted SELECT on system.access.audit) may read the audit log: " : "" }),
  );
  return h(
    "div",
    { class: "page" },
    breadcrumbs([["Audit log"]]),
    h("h1", {}, "Audit log"),
    h("p", { class: "note" }, "Every statement and API call, allowed or denied, newest first. Filters match any part of the text."),
    h("section", { class: "card" }, form, body),
  );
}
