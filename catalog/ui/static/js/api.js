// Every call to the catalog's REST API goes through here, with the signed-in user's token.

const TOKEN_KEY = "catalog.token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An error answer of the API: its HTTP status, error_code and message. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** 403 and 404: the user may not see the object (or it does not exist). */
  get refused() {
    return this.status === 403 || this.status === 404;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "NETWORK_ERROR", `The server could not be reached (${err.message}).`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = data?.error_code ?? `HTTP_${response.status}`;
    const message = data?.message ?? (text.trim() || response.statusText);
    throw new ApiError(response.status, code, message, data?.details);
  }
  return data;
}

/** A path segment: names are sent as they are, escaped for the URL. */
export const seg = (name) => encodeURIComponent(name);

/** Run SQL; the JSON result {columns, rows, truncated, row_count}. */
export function sql(statement, { parameters, maxRows } = {}) {
  const query = maxRows ? `?max_rows=${maxRows}` : "";
  return api(`/api/v1/sql${query}`, { method: "POST", body: { statement, parameters } });
}

/** An operation of an area (tracking, ...): its result. */
export async function op(area, action, args = {}) {
  const answer = await api(`/api/v1/${area}/${action}`, { method: "POST", body: args });
  return answer.result;
}

/** `a`.`b`.`c` for a dotted full name. */
export function quoteName(fullName) {
  return fullName
    .split(".")
    .map((part) => "`" + part.replaceAll("`", "``") + "`")
    .join(".");
}

/** Rows of a SQL result as objects keyed by column name. */
export function records(result) {
  const names = result.columns.map((c) => c.name);
  return result.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
}

let endpointsPromise = null;

/** The serving endpoints the user may see (cached for one page render). */
export function endpoints({ fresh = false } = {}) {
  if (fresh || !endpointsPromise) {
    endpointsPromise = api("/api/2.0/serving-endpoints").then((r) => r.endpoints ?? []);
    endpointsPromise.catch(() => (endpointsPromise = null));
  }
  return endpointsPromise;
}

export function forgetCaches() {
  endpointsPromise = null;
}
