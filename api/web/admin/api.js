// The console's API client: the bearer token of POST /api/v1/admin/session
// kept in this tab's sessionStorage (the session cookie opens only the codec
// and session routes), roles, the confirmation dialog and the toast.

export const KEY = "orderpay.console";
const API = "/api/v1/admin";
const $ = (id) => document.getElementById(id);

let signedOut = () => {};
/** onSignedOut sets what happens when the API says the token is gone. */
export function onSignedOut(f) { signedOut = f; }

/** The signed-in operator: {token, username, role, expires_at} or null. */
export function session() {
  try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; }
}

/** can tells whether the operator's role may do an action. */
export function can(action) {
  const role = session()?.role;
  if (role === "admin") return true;
  return action === "refund" && role === "finance";
}

/** ApiError is an answer of the admin API other than 2xx. */
export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

/** api calls the admin API with the bearer token; 401 signs out. */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const s = session();
  if (s) headers.Authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && s) {
    sessionStorage.removeItem(KEY);
    signedOut();
  }
  if (!res.ok) {
    const e = data.error || {};
    throw new ApiError(res.status, e.code || "error", e.message || `HTTP ${res.status}`);
  }
  return data;
}

/** confirm asks the operator in a modal dialog; resolves true on 确认. */
export function confirmAction(title, text, okLabel = "确认 Confirm") {
  const d = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = okLabel;
  return new Promise((resolve) => {
    d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true });
    d.returnValue = "";
    d.showModal();
  });
}

let toastTimer;
/** toast shows a short message in the corner. */
export function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove("show"), 4000);
}

/** errorText is the message under a form for a failed call. */
export function errorText(err) {
  return err instanceof ApiError ? `${err.message} (${err.status} ${err.code})` : `请求失败 ${err.message}`;
}

