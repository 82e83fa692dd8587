// Grants on a securable (SHOW GRANTS) and a small form to grant or revoke one privilege.

import { api, seg } from "../api.js";
import { dataTable, errorBox, fill, h, replace } from "../dom.js";

const PRIVILEGES = {
  table: ["SELECT", "MODIFY", "MANAGE", "ALL PRIVILEGES"],
  view: ["SELECT", "MANAGE", "ALL PRIVILEGES"],
  model: ["EXECUTE", "MANAGE", "ALL PRIVILEGES"],
  endpoint: ["QUERY", "CAN MANAGE", "MANAGE", "ALL PRIVILEGES"],
  schema: ["USE SCHEMA", "SELECT", "MODIFY", "CREATE TABLE", "CREATE MODEL", "MANAGE", "ALL PRIVILEGES"],
  catalog: ["USE CATALOG", "USE SCHEMA", "SELECT", "CREATE SCHEMA", "MANAGE", "ALL PRIVILEGES"],
};

export function grantsSection(type, fullName) {
  const path = `/api/v1/permissions/${type}/${seg(fullName)}`;
  const body = h("div", { class: "section-body", testid: "grants" });
  const load = () => api(path);
  const show = ({ privilege_assignments: rows }) =>
    dataTable(
      [
        { label: "Principal", cell: (g) => g.principal },
        { label: "Privilege", cell: (g) => h("span", { class: "tag" }, g.action_type) },
        {
          label: "Granted on",
          cell: (g) => (g.object_key === fullName ? "this object" : `${g.object_type.toLowerCase()} ${g.object_key}`),
        },
      ],
      rows,
      { empty: "No grants you may see." },
    );
  fill(body, load, show);

  const principal = h("input", {
    id: `grant-principal-${type}`,
    required: true,
    placeholder: "user or group",
    testid: "grant-principal",
    autocomplete: "off",
  });
  const privilege = h(
    "select",
    { testid: "grant-privilege", "aria-label": "privilege" },
    (PRIVILEGES[type] ?? ["ALL PRIVILEGES"]).map((p) => h("option", { value: p }, p)),
  );
  const outcome = h("div", { class: "grant-outcome", testid: "grant-outcome" });
  const submit = async (mode) => {
    const who = principal.value.trim();
    if (!who) return principal.focus();
    const change = { principal: who, add: mode === "grant" ? [privilege.value] : [], remove: mode === "revoke" ? [privilege.value] : [] };
    replace(outcome, h("p", { class: "loading" }, mode === "grant" ? "Granting…" : "Revoking…"));
    try {
      const answer = await api(path, { method: "PATCH", body: { changes: [change] } });
      const done = mode === "grant" ? `Granted ${privilege.value} to ${who}.` : `Revoked ${privilege.value} from ${who}.`;
      replace(outcome, h("p", { class: "notice ok", role: "status" }, done));
      replace(body, show(answer));
    } catch (err) {
      replace(outcome, errorBox(err));
    }
  };
  const form = h(
    "form",
    { class: "grant-form", testid: "grant-form" },
    h("label", { for: principal.id }, "Principal"),
    principal,
    privilege,
    h("button", { type: "submit", testid: "grant-submit" }, "Grant"),
    h("button", { type: "button", class: "secondary", testid: "revoke-submit", onclick: () => submit("revoke") }, "Revoke"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit("grant");
  });
  return h("section", { class: "card" }, h("h2", {}, "Grants"), body, h("h3", {}, "Grant or revoke"), form, outcome);
}
