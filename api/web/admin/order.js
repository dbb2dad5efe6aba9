// One order: its state, the timeline, payments, refunds, delivery, the
// link to its workflow in the Temporal Web UI, and the operator's actions:
// refund (full or partial) and ship, each confirmed in a dialog.
import { api, can, confirmAction, errorText, toast } from "./api.js";
import { badge, el, newRefundNo, stepNames, toCents, when, yuan } from "./util.js";

const settling = new Set(["pending", "processing"]);

/** unsettled says a refund is still under way: one is pending or
 * processing, or the order's status has not yet caught up with the refunds
 * that succeeded (the refund record settles just before the order). */
function unsettled(o) {
  if (o.refunds.some((r) => settling.has(r.status))) return true;
  const paid = o.payment && o.payment.status === "paid" ? o.payment.amount : 0;
  const done = o.refunds.filter((r) => r.kind !== "extra" && r.status === "succeeded").reduce((n, r) => n + r.amount, 0);
  if (done === 0) return false;
  return done >= paid ? o.status !== "refunded" : !["partially_refunded", "refunded"].includes(o.status);
}

/** orderPage is #/orders/{order_no}; live() says the page is still shown
 * (it stops polling once the operator has moved on). */
export async function orderPage(orderNo, live) {
  const o = await api("GET", `/orders/${encodeURIComponent(orderNo)}`);
  const page = el("section", { id: "order", "data-order-no": o.order_no, "data-status": o.status });
  render(page, o);
  // While a refund settles, the page follows it.
  if (unsettled(o)) setTimeout(() => refresh(page, orderNo, live), 1000);
  return page;
}

async function refresh(page, orderNo, live) {
  if (!live() || !page.isConnected) return;
  try {
    const o = await api("GET", `/orders/${encodeURIComponent(orderNo)}`);
    if (!live() || !page.isConnected) return;
    render(page, o);
    if (unsettled(o)) setTimeout(() => refresh(page, orderNo, live), 1000);
  } catch (err) {
    toast(errorText(err));
  }
}

function render(page, o) {
  page.dataset.status = o.status;
  const reload = () => refresh(page, o.order_no, () => true);
  const wf = o.workflow || {};
  page.replaceChildren(
    el("a", { href: "#/orders", class: "back" }, "« 订单列表 Orders"),
    el("h1", {}, "订单 ", el("span", { class: "mono" }, o.order_no), " ", badge(o.status)),
    el("div", { class: "grid" },
      el("div", { class: "card" }, el("h2", {}, "概览 Overview"), overview(o, wf)),
      el("div", { class: "card" }, el("h2", {}, "时间线 Timeline"), timeline(o, wf))),
    el("div", { class: "card" }, el("h2", {}, "支付 Payments"), paymentsTable(o)),
    el("div", { class: "card", id: "refunds" }, el("h2", {}, "退款 Refunds"), refundsTable(o), refundForm(o, reload)),
    el("div", { class: "card", id: "delivery" }, el("h2", {}, "发货 Delivery"), delivery(o, reload)));
}

function overview(o, wf) {
  const addr = o.address || {};
  return el("dl", { class: "kv" },
    el("dt", {}, "金额 Amount"), el("dd", { id: "amount" }, yuan(o.amount)),
    el("dt", {}, "渠道 Channel"), el("dd", {}, o.pay_channel),
    el("dt", {}, "用户 User"), el("dd", {}, o.user_id),
    el("dt", {}, "商品 Items"), el("dd", {}, o.items.map((i) => `${i.name} ×${i.quantity} (${yuan(i.unit_price)})`).join("，")),
    el("dt", {}, "积分 Points"), el("dd", {}, o.points_awarded),
    o.status_reason ? [el("dt", {}, "原因 Reason"), el("dd", {}, o.status_reason)] : null,
    addr.name ? [el("dt", {}, "收货 Address"), el("dd", {}, [addr.name, addr.phone, addr.province, addr.city, addr.district, addr.detail].filter(Boolean).join(" "))] : null,
    el("dt", {}, "工作流 Workflow"), el("dd", { id: "workflow" },
      wf.step ? el("span", { id: "workflow-step", "data-step": wf.step }, `${stepNames[wf.step] || ""} ${wf.step}`) : el("span", { class: "muted" }, wf.error || "—"),
      wf.ui_url ? [" · ", el("a", { id: "webui-link", href: wf.ui_url, target: "_blank", rel: "noopener noreferrer" }, "在 Temporal Web UI 中查看 ↗")] : null));
}

/** timeline puts the order's recorded moments in order, newest last, and
 * ends with where the workflow is now (its state query). */
function timeline(o, wf) {
  const events = [[o.created_at, "下单 created"]];
  // A provider's time (to the second) may read a little before ours: no
  // event is shown before the order was placed, or a refund asked.
  const at = (t, after = o.created_at) => later(t, after);
  for (const p of o.payments) {
    if (p.paid_at) events.push([at(p.paid_at), `支付成功 paid · ${p.channel} · ${yuan(p.amount)}${p.transaction_id ? " · " + p.transaction_id : ""}`]);
  }
  if (o.paid_at) events.push([at(o.paid_at), "订单已支付 order paid"]);
  if (o.completed_at) events.push([at(o.completed_at), "已完成 completed"]);
  if (o.closed_at) events.push([at(o.closed_at), `已关闭 ${o.status}${o.status_reason ? " · " + o.status_reason : ""}`]);
  for (const e of o.extra_payments || []) events.push([at(e.paid_at), `重复支付 extra payment · ${e.channel} · ${yuan(e.amount)}`]);
  for (const r of o.refunds) {
    events.push([r.created_at, `退款申请 refund ${r.refund_no} · ${yuan(r.amount)}`]);
    if (r.refunded_at) events.push([at(r.refunded_at, r.created_at), `退款成功 refunded ${r.refund_no}`]);
    else if (r.status === "failed") events.push([r.updated_at, `退款失败 refund failed ${r.refund_no} · ${r.failure_reason || ""}`]);
  }
  const d = o.delivery;
  if (d?.shipped_at) events.push([at(d.shipped_at), `已发货 shipped · ${d.carrier} ${d.tracking_no}`]);
  if (d?.received_at) events.push([at(d.received_at), d.auto_received ? "自动确认收货 auto-received" : "买家确认收货 received"]);
  events.sort((a, b) => new Date(a[0]) - new Date(b[0]));
  const items = events.map(([t, text]) => el("li", {}, el("time", { datetime: t }, when(t)), text));
  if (wf.step) items.push(el("li", { class: "now" }, el("time", {}, "现在 now"), `工作流步骤 ${stepNames[wf.step] || ""} ${wf.step}`));
  return el("ol", { class: "timeline", id: "timeline" }, items);
}

function later(a, b) {
  return new Date(a) < new Date(b) ? b : a;
}

function paymentsTable(o) {
  if (!o.payments.length) return el("p", { class: "muted" }, "没有支付 No payment attempts");
  return el("table", {},
    el("thead", {}, el("tr", {}, ["商户单号 Out trade no.", "次 #", "渠道 Channel", "状态 Status", "金额 Amount", "交易号 Transaction", "支付时间 Paid at"].map((h) => el("th", {}, h)))),
    el("tbody", {}, o.payments.map((p) => el("tr", {},
      el("td", { class: "mono" }, p.out_trade_no), el("td", {}, p.attempt), el("td", {}, p.channel), el("td", {}, badge(p.status)),
      el("td", { class: "num" }, yuan(p.amount)), el("td", { class: "mono" }, p.transaction_id || ""), el("td", {}, when(p.paid_at))))));
}

function refundsTable(o) {
  if (!o.refunds.length) return el("p", { class: "muted" }, "没有退款 No refunds");
  return el("table", { id: "refund-list" },
    el("thead", {}, el("tr", {}, ["退款单号 Refund no.", "状态 Status", "金额 Amount", "原因 Reason", "申请 Created", "完成 Refunded"].map((h) => el("th", {}, h)))),
    el("tbody", {}, o.refunds.map((r) => el("tr", { "data-refund-no": r.refund_no, "data-status": r.status },
      el("td", { class: "mono" }, r.refund_no), el("td", {}, badge(r.status), r.failure_reason ? ` ${r.failure_reason}` : ""),
      el("td", { class: "num" }, yuan(r.amount)), el("td", {}, r.reason), el("td", {}, when(r.created_at)), el("td", {}, when(r.refunded_at))))));
}

/** refundable is what the order's kept payment has left to refund: paid,
 * less every order refund that has not failed. */
function refundable(o) {
  const paid = o.payment && o.payment.status === "paid" ? o.payment.amount : 0;
  const taken = o.refunds.filter((r) => r.kind !== "extra" && r.status !== "failed").reduce((n, r) => n + r.amount, 0);
  return Math.max(0, paid - taken);
}

function refundForm(o, reload) {
  if (!can("refund")) return el("p", { class: "muted", id: "refund-denied" }, "你的角色不能退款 (finance 或 admin)");
  const left = refundable(o);
  if (left === 0) return el("p", { class: "muted", id: "refund-none" }, "没有可退金额 Nothing left to refund");
  const amount = el("input", { id: "refund-amount", name: "amount", inputmode: "decimal", placeholder: `全额 ${yuan(left)}`, "aria-describedby": "refund-left" });
  const reason = el("input", { id: "refund-reason", name: "reason", maxlength: 200, placeholder: "退款原因" });
  const msg = el("p", { class: "error", role: "alert", id: "refund-error" });
  // One refund number per intended refund: a retry after a lost answer
  // sends the same number, so the money moves once.
  let refundNo = newRefundNo();
  let lastAsked = "";
  const form = el("form", { class: "inline", id: "refund-form" },
    el("label", {}, "退款金额 (元) Amount, ¥", amount),
    el("label", {}, "原因 Reason", reason),
    el("button", { type: "submit", class: "danger", id: "refund-submit" }, "退款 Refund"),
    el("span", { class: "muted", id: "refund-left" }, `可退 ${yuan(left)}（留空为全额 blank = all）`));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    const cents = amount.value.trim() === "" ? left : toCents(amount.value);
    if (cents === null || cents <= 0) { msg.textContent = "金额格式不对：例如 12 或 12.50"; return; }
    if (cents > left) { msg.textContent = `超过可退金额 ${yuan(left)}`; return; }
    const asked = `${cents}|${reason.value}`;
    if (asked !== lastAsked) { refundNo = newRefundNo(); lastAsked = asked; }
    const full = cents === left;
    const ok = await confirmAction("确认退款 Confirm refund",
      `向订单 ${o.order_no} 退款 ${yuan(cents)}${full ? "（全部剩余 all that is left）" : "（部分 partial）"}，经 ${o.pay_channel} 原路退回。退款单号 ${refundNo}。`,
      `退款 ${yuan(cents)}`);
    if (!ok) return;
    form.querySelector("button").disabled = true;
    try {
      const r = await api("POST", `/orders/${encodeURIComponent(o.order_no)}/refund`,
        { amount: cents, refund_no: refundNo, reason: reason.value.trim() || undefined });
      toast(`退款已提交 ${r.refund_no} · ${yuan(r.amount)}`);
      reload();
    } catch (err) {
      msg.textContent = errorText(err);
      form.querySelector("button").disabled = false;
    }
  });
  return el("div", {}, form, msg);
}

function delivery(o, reload) {
  const d = o.delivery;
  if (!d) return el("p", { class: "muted", id: "delivery-none" }, "无需发货或尚未完成 Nothing to ship (yet)");
  const state = d.status || d.state;
  const info = el("dl", { class: "kv", id: "delivery-state", "data-state": state },
    el("dt", {}, "状态 State"), el("dd", {}, badge(state)),
    d.carrier ? [el("dt", {}, "承运 Carrier"), el("dd", {}, d.carrier)] : null,
    d.tracking_no ? [el("dt", {}, "运单号 Tracking"), el("dd", { class: "mono" }, d.tracking_no)] : null,
    d.shipped_at ? [el("dt", {}, "发货 Shipped"), el("dd", {}, when(d.shipped_at))] : null,
    d.received_at ? [el("dt", {}, "收货 Received"), el("dd", {}, when(d.received_at), d.auto_received ? "（自动 auto）" : "")] : null,
    d.receive_by ? [el("dt", {}, "自动收货 Auto-receive by"), el("dd", {}, when(d.receive_by))] : null);
  if (state !== "awaiting_shipment") return info;
  if (!can("ship")) return el("div", {}, info, el("p", { class: "muted" }, "发货需要 admin 角色"));
  const carrier = el("input", { id: "ship-carrier", name: "carrier", required: true, maxlength: 64, placeholder: "顺丰 SF" });
  const tracking = el("input", { id: "ship-tracking", name: "tracking_no", required: true, maxlength: 64 });
  const msg = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "inline", id: "ship-form" },
    el("label", {}, "承运商 Carrier", carrier), el("label", {}, "运单号 Tracking no.", tracking),
    el("button", { type: "submit", class: "primary", id: "ship-submit" }, "发货 Ship"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    const body = { carrier: carrier.value.trim(), tracking_no: tracking.value.trim() };
    if (!await confirmAction("确认发货 Confirm shipment", `订单 ${o.order_no} 由 ${body.carrier} 发货，运单号 ${body.tracking_no}。`, "发货 Ship")) return;
    try {
      await api("POST", `/orders/${encodeURIComponent(o.order_no)}/ship`, body);
      toast("已发货 Shipped");
      reload();
    } catch (err) {
      msg.textContent = errorText(err);
    }
  });
  return el("div", {}, info, form, msg);
}
