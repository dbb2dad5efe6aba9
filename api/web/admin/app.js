// The operator console: sign-in, sign-out and the hash router.
import { el } from "./util.js";
import { api, errorText, KEY, onSignedOut, session } from "./api.js";
import { ordersPage } from "./orders.js";
import { orderPage } from "./order.js";
import { productsPage } from "./products.js";

const $ = (id) => document.getElementById(id);

async function signIn(e) {
  e.preventDefault();
  $("signin-error").textContent = "";
  try {
    // The session route also sets the HttpOnly cookie the Temporal Web UI's
    // codec calls need; this page uses the bearer token only.
    const r = await api("POST", "/session", { username: $("username").value, password: $("password").value });
    sessionStorage.setItem(KEY, JSON.stringify({ token: r.token, username: r.admin.username, role: r.admin.role, expires_at: r.expires_at }));
    $("password").value = "";
    route();
  } catch (err) {
    $("signin-error").textContent = err.status === 401 ? "用户名或密码错误 Wrong username or password" : errorText(err);
  }
}

async function signOut() {
  try { await api("DELETE", "/session"); } catch { /* signed out below either way */ }
  sessionStorage.removeItem(KEY);
  $("signin-form").reset();
  location.hash = "";
  route();
}

let generation = 0;
/** route shows the page of the location's hash. */
async function route() {
  const s = session();
  const view = $("view");
  const gen = ++generation;
  $("signin").hidden = !!s;
  $("nav").hidden = $("signout").hidden = !s;
  $("who").textContent = s ? `${s.username} · ${s.role}` : "";
  view.replaceChildren();
  if (!s) { $("username").focus(); return; }
  const [path, query] = (location.hash.slice(1) || "/orders").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("active", a.dataset.nav === parts[0]);
  let page;
  try {
    if (parts[0] === "orders" && parts[1]) page = await orderPage(decodeURIComponent(parts[1]), () => gen === generation);
    else if (parts[0] === "products") page = await productsPage();
    else page = await ordersPage(params);
  } catch (err) {
    page = el("p", { class: "error", role: "alert" }, errorText(err));
  }
  if (gen === generation) view.replaceChildren(page);
}

onSignedOut(route);
$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
