// Products and stock: every product (on sale or not), its stock, a stock
// adjustment with a reason (the stock ledger) and on/off sale; changes are
// for role admin only.
import { api, can, confirmAction, errorText, toast } from "./api.js";
import { el, yuan } from "./util.js";

const kinds = { goods: "实物 goods", membership: "会员 membership", recharge: "充值 recharge" };

/** productsPage is #/products: every product, 100 a page. */
export async function productsPage() {
  const products = [];
  let cursor = "";
  do { // a shop's catalogue is small: read it whole, a page at a time
    const page = await api("GET", `/products?limit=100${cursor ? "&cursor=" + encodeURIComponent(cursor) : ""}`);
    products.push(...page.products);
    cursor = page.next_cursor;
  } while (cursor && products.length < 2000);
  const section = el("section", { id: "products" });
  const editable = can("products");
  const rows = products.map((p) => row(p, editable, () => productsPage().then((n) => section.replaceWith(n))));
  section.append(...[
    el("h1", {}, "商品与库存 Products and stock"),
    editable ? null : el("p", { class: "muted" }, "只读：调整库存和上下架需要 admin 角色"),
    el("table", {},
      el("thead", {}, el("tr", {},
        el("th", { class: "num" }, "ID"), el("th", {}, "名称 Name"), el("th", {}, "类型 Kind"), el("th", { class: "num" }, "价格 Price"),
        el("th", { class: "num" }, "库存 Stock"), el("th", {}, "上架 On sale"), editable ? el("th", {}, "调整库存 Adjust stock (±数量, 原因)") : null)),
      el("tbody", {}, rows))].filter(Boolean));
  return section;
}

function row(p, editable, reload) {
  const tr = el("tr", { "data-product-id": p.id },
    el("td", { class: "num" }, p.id),
    el("td", {}, p.name),
    el("td", {}, kinds[p.kind] || p.kind, p.membership_days ? ` · ${p.membership_days} 天` : ""),
    el("td", { class: "num" }, yuan(p.price)),
    el("td", { class: "num", "data-stock": p.stock }, p.stock),
    el("td", {}, p.on_sale ? "在售 on sale" : el("span", { class: "muted" }, "已下架 off sale"),
      editable ? [" ", el("button", { type: "button", class: "toggle-sale", onclick: () => toggleSale(p, reload) }, p.on_sale ? "下架 Take off" : "上架 Put on")] : null));
  if (editable) tr.append(el("td", {}, stockForm(p, reload)));
  return tr;
}

async function toggleSale(p, reload) {
  const on = !p.on_sale;
  if (!await confirmAction(on ? "确认上架 Put on sale" : "确认下架 Take off sale",
    `${p.name} (#${p.id}) ${on ? "将对买家可见 becomes visible to buyers" : "买家将看不到也不能下单 buyers no longer see or order it"}。`)) return;
  try {
    await api("PATCH", `/products/${p.id}`, { on_sale: on });
    toast(on ? "已上架 On sale" : "已下架 Off sale");
    reload();
  } catch (err) {
    toast(errorText(err));
  }
}

function stockForm(p, reload) {
  const delta = el("input", { name: "delta", class: "stock-delta", inputmode: "numeric", placeholder: "+10 / -2", size: 6, "aria-label": `${p.name} 库存变化` });
  const reason = el("input", { name: "reason", class: "stock-reason", maxlength: 200, placeholder: "原因 reason", "aria-label": `${p.name} 调整原因` });
  const msg = el("span", { class: "error", role: "alert" });
  const form = el("form", { class: "inline stock-form" }, delta, reason, el("button", { type: "submit" }, "调整 Adjust"), msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    const n = /^\s*[+-]?\d{1,9}\s*$/.test(delta.value) ? parseInt(delta.value, 10) : NaN;
    if (!n) { msg.textContent = "填写非零整数"; return; }
    if (!reason.value.trim()) { msg.textContent = "填写原因"; return; }
    if (!await confirmAction("确认调整库存 Confirm stock change",
      `${p.name} (#${p.id}) 库存 ${p.stock} → ${p.stock + n}（${n > 0 ? "+" : ""}${n}），原因：${reason.value.trim()}`)) return;
    try {
      const r = await api("POST", `/products/${p.id}/stock`, { delta: n, reason: reason.value.trim() });
      toast(`库存已调整 stock now ${r.product.stock}`);
      reload();
    } catch (err) {
      msg.textContent = errorText(err);
    }
  });
  return form;
}
