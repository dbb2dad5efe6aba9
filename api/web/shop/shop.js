// The storefront's pages: a hash router over sign-in, the catalogue, the
// cart, checkout, the order (pay) page, my orders and my account.
import { api, token, setToken, yuan, cart, h, randomKey, CHANNELS, BROWSER_CHANNELS, STATUS, reasonText, KIND_ICON, formatTime } from "./api.js";
import { orderPage } from "./pay.js";

const main = document.getElementById("main");
let config = { channels: [], sandbox_url: "" };
let stopPage = () => {};

/** say tells the buyer something (an error unless kind is "info") for a few seconds. */
export function say(msg, kind = "error") {
  const el = document.getElementById("alert");
  el.textContent = msg;
  el.className = "alert " + kind;
  el.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => (el.hidden = true), 6000);
}

/** show replaces the page's content and moves focus to its heading. */
export function show(title, ...children) {
  main.replaceChildren(h("h2", { id: "page-title" }, title), ...children);
  document.title = title + " · 咖啡小铺";
  main.focus();
}

function updateCartCount() {
  document.getElementById("cart-count").textContent = String(cart.count());
}

const routes = {
  "": catalogue, login, cart: cartPage, checkout, orders: ordersPage, me: mePage, order: (no) => orderPage(no, config),
};

async function route() {
  stopPage();
  stopPage = () => {};
  document.getElementById("alert").hidden = true;
  const [name, arg] = location.hash.replace(/^#\/?/, "").split("/");
  for (const a of document.querySelectorAll("[data-nav]")) {
    const on = (a.dataset.nav === "catalog" && name === "") || a.dataset.nav === name;
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  updateCartCount();
  const page = routes[name] || catalogue;
  if (name !== "" && name !== "login" && !token()) {
    sessionStorage.setItem("orderpay.shop.after", location.hash);
    location.hash = "#/login";
    return;
  }
  try {
    const stop = await page(decodeURIComponent(arg || ""));
    if (typeof stop === "function") stopPage = stop;
  } catch (e) {
    if (e.status === 401) { location.hash = "#/login"; return; }
    say(e.message);
  }
}

async function login() {
  const input = h("input", { id: "code", name: "code", type: "text", required: true, autocomplete: "off", "aria-describedby": "code-help" });
  const form = h("form", { id: "login-form" },
    h("label", { for: "code" }, "微信登录码"),
    input,
    h("p", { id: "code-help", class: "muted" }, config.sandbox_url
      ? "开发环境（沙箱）：输入任意登录码，同一登录码总是同一位买家。"
      : "在微信中打开时自动获取登录码。"),
    h("button", { type: "submit", class: "wide" }, "登录"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const res = await api("POST", "/api/v1/auth/wechat/login", { code: input.value.trim() });
      setToken(res.token);
      const after = sessionStorage.getItem("orderpay.shop.after") || "#/";
      sessionStorage.removeItem("orderpay.shop.after");
      location.hash = after;
    } catch (e) { say(e.message); }
  });
  show("登录", form);
  if (token()) main.append(h("p", {}, "已登录。", h("button", { type: "button", class: "secondary", onclick: () => { setToken(""); route(); } }, "退出登录")));
  input.focus();
}

async function catalogue() {
  const list = h("ul", { class: "cards", id: "products", "aria-label": "商品列表" });
  const more = h("button", { type: "button", class: "secondary wide", hidden: true }, "加载更多");
  show("全部商品", list, more);
  let cursor = "";
  const load = async () => {
    const res = await api("GET", "/api/v1/products?limit=20" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    for (const p of res.products) list.append(productCard(p));
    cursor = res.next_cursor || "";
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => load().catch((e) => say(e.message)));
  await load();
}

function productCard(p) {
  const soldOut = p.stock <= 0;
  return h("li", { class: "card", "data-product": p.id },
    h("div", { class: "thumb", "aria-hidden": "true" }, KIND_ICON[p.kind] || "☕"),
    h("div", { class: "body" },
      h("p", { class: "name" }, p.name),
      h("p", {}, h("span", { class: "price" }, yuan(p.price)), " ",
        h("span", { class: "muted" }, soldOut ? "已售罄" : `库存 ${p.stock}`),
        p.kind === "membership" ? h("span", { class: "muted" }, ` · 会员 ${p.membership_days} 天`) : null)),
    h("button", {
      type: "button", disabled: soldOut, "aria-label": `加入购物车：${p.name}`,
      onclick: () => { cart.add(p); updateCartCount(); say(`已加入购物车：${p.name}`, "info"); },
    }, "加入"));
}

function cartTotal() { return cart.lines().reduce((s, l) => s + l.price * l.quantity, 0); }

async function cartPage() {
  const lines = cart.lines();
  if (!lines.length) {
    show("购物车", h("p", {}, "购物车是空的。"), h("a", { class: "button", href: "#/" }, "去逛逛"));
    return;
  }
  const list = h("ul", { class: "cards", id: "cart-lines" });
  for (const l of lines) {
    const qty = h("input", { type: "number", class: "qty", min: "0", max: "999", value: l.quantity, id: "qty-" + l.id });
    qty.addEventListener("change", () => { cart.set(l.id, Math.max(0, parseInt(qty.value, 10) || 0)); route(); });
    list.append(h("li", { class: "card" },
      h("div", { class: "body" }, h("p", { class: "name" }, l.name), h("p", { class: "price" }, yuan(l.price))),
      h("label", { for: "qty-" + l.id, class: "muted" }, "数量"), qty,
      h("button", { type: "button", class: "danger", "aria-label": `删除：${l.name}`, onclick: () => { cart.set(l.id, 0); route(); } }, "删除")));
  }
  show("购物车", list,
    h("p", { class: "total" }, "合计：", h("span", { class: "price", id: "cart-total" }, yuan(cartTotal()))),
    h("a", { class: "button wide", href: "#/checkout", id: "to-checkout" }, "去结算"));
}

async function checkout() {
  const lines = cart.lines();
  if (!lines.length) { location.hash = "#/cart"; return; }
  const total = cartTotal();
  const { addresses } = await api("GET", "/api/v1/addresses");
  const addrSet = h("fieldset", {}, h("legend", {}, "收货地址"));
  for (const a of addresses) {
    addrSet.append(h("label", { class: "choice" },
      h("input", { type: "radio", name: "address", value: String(a.id), checked: a.is_default }),
      h("span", {}, `${a.name} ${a.phone}`, h("br"), h("span", { class: "muted" }, `${a.region} ${a.detail}`))));
  }
  const field = (id, label, type = "text", auto = "") => [h("label", { for: id }, label), h("input", { id, name: id, type, autocomplete: auto || undefined })];
  const fresh = h("div", { id: "new-address", hidden: addresses.length > 0 },
    field("addr-name", "收货人", "text", "name"), field("addr-phone", "手机号", "tel", "tel"),
    field("addr-region", "省市区", "text", "address-level1"), field("addr-detail", "详细地址", "text", "street-address"));
  addrSet.append(h("label", { class: "choice" }, h("input", { type: "radio", name: "address", value: "new", checked: addresses.length === 0 }), "使用新地址"), fresh);
  addrSet.addEventListener("change", () => { fresh.hidden = addrSet.querySelector("input[name=address]:checked")?.value !== "new"; });

  const chanSet = h("fieldset", { id: "channels" }, h("legend", {}, "支付方式"));
  const offered = total === 0 ? [] : BROWSER_CHANNELS.filter((c) => config.channels.includes(c));
  offered.forEach((c, i) => chanSet.append(h("label", { class: "choice" },
    h("input", { type: "radio", name: "channel", value: c, checked: i === 0 }), CHANNELS[c])));
  if (total === 0) chanSet.append(h("p", {}, "免费订单，无需支付。"));
  else if (!offered.length) chanSet.append(h("p", {}, "暂无可用的支付方式。"));

  const key = randomKey(); // one checkout, one order: a retry of this button never orders twice
  const submit = h("button", { type: "submit", class: "wide", id: "place-order" }, `提交订单 ${yuan(total)}`);
  const form = h("form", { id: "checkout-form" },
    h("ul", { class: "cards" }, lines.map((l) => h("li", { class: "card" }, h("div", { class: "body" }, `${l.name} × ${l.quantity}`), h("span", { class: "price" }, yuan(l.price * l.quantity))))),
    addrSet, chanSet, h("p", { class: "total" }, "合计：", h("span", { class: "price" }, yuan(total))), submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      const picked = form.querySelector("input[name=address]:checked")?.value;
      let addressID = Number(picked);
      if (picked === "new" || !picked) {
        const v = (id) => form.querySelector("#" + id).value.trim();
        const a = await api("POST", "/api/v1/addresses", { name: v("addr-name"), phone: v("addr-phone"), region: v("addr-region"), detail: v("addr-detail") });
        addressID = a.id;
      }
      const channel = total === 0 ? "free" : form.querySelector("input[name=channel]:checked")?.value;
      if (!channel) throw new Error("请选择支付方式");
      const res = await api("POST", "/api/v1/orders", {
        items: lines.map((l) => ({ product_id: l.id, quantity: l.quantity })), pay_channel: channel, address_id: addressID,
      }, { "Idempotency-Key": key });
      cart.clear();
      sessionStorage.setItem("orderpay.shop.pay." + res.order_no, JSON.stringify(res.pay || {}));
      location.hash = "#/order/" + res.order_no;
    } catch (e) {
      say(e.message);
      submit.disabled = false;
    }
  });
  show("结算", form);
}

async function ordersPage() {
  const list = h("ul", { class: "cards", id: "order-list" });
  const more = h("button", { type: "button", class: "secondary wide", hidden: true }, "加载更多");
  show("我的订单", list, more);
  let cursor = "";
  const load = async () => {
    const res = await api("GET", "/api/v1/orders?limit=10" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    if (!res.orders.length && !cursor) list.replaceWith(h("p", {}, "还没有订单。"));
    for (const o of res.orders) {
      list.append(h("li", { class: "card", "data-order": o.order_no },
        h("div", { class: "body" },
          h("p", { class: "name" }, h("a", { href: "#/order/" + o.order_no }, (o.items || []).map((i) => i.name).join("、") || o.order_no)),
          h("p", { class: "muted" }, `${formatTime(o.created_at)} · ${CHANNELS[o.pay_channel] || o.pay_channel} · 共 ${o.item_count} 件`)),
        h("div", {}, h("p", { class: "price" }, yuan(o.amount)), h("p", { class: "muted" }, STATUS[o.status] || o.status))));
    }
    cursor = res.next_cursor || "";
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => load().catch((e) => say(e.message)));
  await load();
}

async function mePage() {
  const me = await api("GET", "/api/v1/me");
  const member = me.member ? `会员有效期至 ${formatTime(me.member_until)}` : (me.member_until ? `会员已于 ${formatTime(me.member_until)} 到期` : "非会员");
  const table = (caption, head, rows) => rows.length
    ? h("table", {}, h("caption", { class: "muted" }, caption), h("thead", {}, h("tr", {}, head.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((x) => h("td", {}, x))))))
    : h("p", { class: "muted" }, caption + "：暂无");
  show("我的",
    h("dl", { class: "facts", id: "account" },
      h("dt", {}, "钱包余额"), h("dd", { id: "balance" }, yuan(me.balance)),
      h("dt", {}, "积分"), h("dd", { id: "points" }, String(me.points)),
      h("dt", {}, "会员"), h("dd", { id: "membership" }, member)),
    h("h3", {}, "钱包明细"),
    table("最近 20 笔钱包变动", ["时间", "金额", "余额"], me.wallet_entries.map((e) => [formatTime(e.created_at), yuan(e.amount), yuan(e.balance_after)])),
    h("h3", {}, "积分明细"),
    table("最近 20 笔积分变动", ["时间", "积分", "订单"], me.points_entries.map((e) => [formatTime(e.created_at), String(e.points), e.order_no])),
    h("p", {}, h("a", { class: "button secondary", href: "#/login" }, "切换账号")));
}

async function start() {
  try {
    config = await (await fetch("config.json", { headers: { Accept: "application/json" } })).json();
  } catch {
    say("无法读取商店配置");
  }
  addEventListener("hashchange", route);
  route();
}
start();
