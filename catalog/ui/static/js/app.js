// The web UI: sign-in, the header, and hash routing (#/...) to the pages.

import { ApiError, api, forgetCaches, token } from "./api.js";
import { errorBox, h, replace } from "./dom.js";
import { auditPage, mayReadAudit } from "./pages/audit.js";
import * as browse from "./pages/browse.js";
import { endpointPage } from "./pages/endpoint.js";
import * as experiments from "./pages/experiments.js";
import { lineagePage } from "./pages/lineage.js";
import { runPage } from "./pages/run.js";
import { sqlPage } from "./pages/sql.js";

const root = document.getElementById("app");
let me = null; // {user, lineage_namespace} once signed in
let auditProbe = null; // once per sign-in: may this user read system.access.audit?

// [pattern, page(params, query)]: the first match of the path after "#" renders.
const ROUTES = [
  [/^\/$/, () => browse.catalogsPage()],
  [/^\/catalog\/([^/]+)$/, ([c]) => browse.catalogPage(c)],
  [/^\/schema\/([^/]+)$/, ([name]) => browse.schemaPage(name)],
  [/^\/table\/([^/]+)$/, ([name]) => browse.tablePage(name)],
  [/^\/model\/([^/]+)$/, ([name]) => browse.modelPage(name)],
  [/^\/endpoint\/([^/]+)$/, ([name]) => endpointPage(name)],
  [/^\/lineage\/([^/]+)$/, ([name]) => lineagePage(name)],
  [/^\/sql$/, (_, query) => sqlPage(query)],
  [/^\/experiments$/, () => experiments.experimentsPage()],
  [/^\/experiment\/([^/]+)$/, ([id]) => experiments.experimentPage(id)],
  [/^\/compare\/([^/]+)$/, ([ids]) => experiments.comparePage(ids.split(",").filter(Boolean))],
  [/^\/run\/([^/]+)$/, ([id], query) => runPage(id, query)],
  [/^\/audit$/, (_, query) => auditPage(query)],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  return { path, query: new URLSearchParams(search) };
}

async function route() {
  const { path, query } = parseHash();
  if (path === "/signout") return signOut();
  if (!token.get()) return signInPage(path === "/signin" ? null : path);
  if (!me) {
    try {
      me = await api("/api/v1/me");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        token.clear();
        return signInPage(path, err);
      }
      showHeader(null);
      return replace(root, errorBox(err));
    }
  }
  showHeader(me);
  if (path === "/signin") return void (location.hash = "#/");
  forgetCaches();
  for (const [pattern, page] of ROUTES) {
    const match = pattern.exec(path);
    if (match) {
      const params = match.slice(1).map(decodeURIComponent);
      let view;
      try {
        view = page(params, query);
      } catch (err) {
        view = errorBox(err);
      }
      replace(root, view);
      window.scrollTo(0, 0);
      return;
    }
  }
  replace(
    root,
    errorBox(new ApiError(404, "PAGE_NOT_FOUND", `There is no page at #${path}.`)),
    h("p", {}, h("a", { href: "#/" }, "Back to the catalogs")),
  );
}

function showHeader(who) {
  document.querySelector(".top-nav").hidden = !who;
  document.querySelector(".who").hidden = !who;
  document.querySelector("[data-testid=user]").textContent = who ? who.user : "";
  const { path } = parseHash();
  for (const a of document.querySelectorAll(".top-nav a")) {
    const target = a.getAttribute("href").slice(1);
    const active =
      target === "/"
        ? /^\/(catalog|schema|table|model|endpoint|lineage)\/|^\/$/.test(path)
        : path === target || (target === "/experiments" && /^\/(experiment|compare|run)\//.test(path));
    a.classList.toggle("active", active);
  }
  const auditLink = document.querySelector("[data-testid=nav-audit]");
  if (!who) {
    auditProbe = null;
    auditLink.hidden = true;
    return;
  }
  // The header links the audit log only for those who may read it; the page itself says why not.
  auditProbe ??= mayReadAudit();
  auditProbe.then((may) => {
    if (me === who) auditLink.hidden = !may;
  });
}

function signOut() {
  token.clear();
  me = null;
  auditProbe = null;
  location.hash = "#/signin";
}

function signInPage(next, err) {
  showHeader(null);
  const input = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    required: true,
    testid: "signin-token",
    placeholder: "paste your token",
  });
  const message = h("div", { class: "signin-message" }, err ? errorBox(err) : null);
  const button = h("button", { type: "submit", testid: "signin-submit" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin", testid: "signin" },
    h("h1", {}, "Sign in"),
    h("p", {}, "Use a token made by an admin with ", h("code", {}, "catalog tokens create --user <name>"), "."),
    h("label", { for: "token" }, "Token"),
    input,
    button,
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    button.disabled = true;
    replace(message, h("p", { class: "loading" }, "Checking the token…"));
    token.set(value);
    auditProbe = null;
    try {
      me = await api("/api/v1/me");
    } catch (failure) {
      token.clear();
      me = null;
      button.disabled = false;
      replace(message, errorBox(failure));
      return;
    }
    const target = next && next !== "/signin" ? next : "/";
    if (location.hash === `#${target}`) route();
    else location.hash = `#${target}`;
  });
  replace(root, form);
  input.focus();
}

window.addEventListener("hashchange", route);
route();
