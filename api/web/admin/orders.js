// The order list: filters, search by order number, the state of each order
// at a glance (status, workflow step, channel, amount, age) and pages.
import { api } from "./api.js";
import { age, badge, el, statusNames, stepNames, yuan } from "./util.js";

const statuses = ["pending", "awaiting_payment", "paid", "completed", "paid_unfulfilled", "partially_refunded", "refunded", "closed", "cancelled"];
const channels = ["wechat_jsapi", "wechat_native", "wechat_h5", "wechat_v2_jsapi", "wechat_v2_native",
  "alipay_qr", "alipay_wap", "alipay_page", "baidu", "balance", "free"];
const filterNames = ["order_no", "status", "channel", "user_id", "from", "to"];

/** ordersPage is #/orders?status=…&cursor=…: one page of the search. */
export async function ordersPage(params) {
  const q = new URLSearchParams();
  for (const k of [...filterNames, "cursor"]) if (params.get(k)) q.set(k, params.get(k));
  q.set("limit", "20");
  q.set("include", "step");
  const page = await api("GET", `/orders?${q}`);

  const input = (name, label, attrs = {}) =>
    el("label", {}, label, el("input", { name, value: params.get(name) || "", ...attrs }));
  const select = (name, label, values, names = {}) =>
    el("label", {}, label, el("select", { name },
      el("option", { value: "" }, "全部 all"),
      values.map((v) => el("option", { value: v, selected: params.get(name) === v }, names[v] ? `${names[v]} ${v}` : v))));
  const form = el("form", { class: "filters card", id: "order-filters", role: "search" },
    input("order_no", "订单号 Order no.", { id: "search-order-no", placeholder: "完整订单号", inputmode: "numeric" }),
    select("status", "状态 Status", statuses, statusNames),
    select("channel", "渠道 Channel", channels),
    input("user_id", "用户 ID User", { inputmode: "numeric", size: 8 }),
    input("from", "从 From", { type: "date" }),
    input("to", "到 To", { type: "date" }),
    el("button", { type: "submit", class: "primary" }, "查询 Search"),
    el("button", { type: "button", onclick: () => { location.hash = "#/orders"; } }, "重置 Reset"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) next.set(k, String(v).trim());
    location.hash = `#/orders?${next}`;
  });

  const rows = page.orders.map((o) => el("tr", { "data-order-no": o.order_no },
    el("td", { class: "mono" }, el("a", { href: `#/orders/${encodeURIComponent(o.order_no)}` }, o.order_no)),
    el("td", {}, badge(o.status)),
    el("td", { "data-step": o.step || "" }, o.step ? `${stepNames[o.step] || ""} ${o.step}` : el("span", { class: "muted", title: "工作流未应答" }, "—")),
    el("td", {}, o.pay_channel),
    el("td", { class: "num" }, yuan(o.amount)),
    el("td", { title: o.created_at }, age(o.created_at)),
    el("td", { class: "num" }, o.user_id),
    el("td", {}, o.items.map((i) => `${i.name} ×${i.quantity}`).join("，"))));
  const table = el("table", { id: "orders" },
    el("thead", {}, el("tr", {},
      el("th", {}, "订单号 Order"), el("th", {}, "状态 Status"), el("th", {}, "步骤 Step"), el("th", {}, "渠道 Channel"),
      el("th", { class: "num" }, "金额 Amount"), el("th", {}, "下单 Age"), el("th", { class: "num" }, "用户 User"), el("th", {}, "商品 Items"))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 8, class: "muted" }, "没有订单 No orders"))));

  // Keyset pages: "next" carries the cursor, "first" drops it.
  const here = new URLSearchParams(params);
  here.delete("cursor");
  const pager = el("div", { class: "pager" },
    params.get("cursor") ? el("a", { href: `#/orders?${here}` }, "« 第一页 First") : null,
    page.next_cursor ? el("a", { id: "next-page", href: `#/orders?${withParam(here, "cursor", page.next_cursor)}` }, "下一页 Next »") : null,
    el("span", { class: "muted" }, `本页 ${page.orders.length} 条`));
  return el("section", {}, el("h1", {}, "订单 Orders"), form, table, pager);
}

function withParam(params, k, v) {
  const p = new URLSearchParams(params);
  p.set(k, v);
  return p;
}
