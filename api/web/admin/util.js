// Small helpers shared by the console's pages: building elements (text is
// always set as text, never parsed as HTML), money and time formats.

/** el builds an element: el("td", {class: "num"}, "¥1.00", child, …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** yuan formats integer cents as ¥12.34. */
export function yuan(cents) {
  const n = Number(cents) || 0;
  const sign = n < 0 ? "-" : "";
  const a = Math.abs(n);
  return `${sign}¥${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}

/** toCents reads an amount in yuan ("12", "12.3", "12.34") as integer
 * cents without floating point; null when it is not such an amount. */
export function toCents(text) {
  const m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0"));
}

/** when formats a time in the browser's zone, to the second. */
export function when(t) {
  if (!t) return "";
  const d = new Date(t);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** age says how long ago a time was: 45 秒, 12 分钟, 3 小时, 2 天. */
export function age(t) {
  const s = Math.max(0, Math.round((Date.now() - new Date(t).getTime()) / 1000));
  if (s < 60) return `${s} 秒`;
  if (s < 3600) return `${Math.floor(s / 60)} 分钟`;
  if (s < 86400) return `${Math.floor(s / 3600)} 小时`;
  return `${Math.floor(s / 86400)} 天`;
}

/** Order statuses, delivery states and refund statuses, in Chinese. */
export const statusNames = {
  pending: "待创建", awaiting_payment: "待支付", paid: "已支付", completed: "已完成", closed: "已关闭",
  paid_unfulfilled: "已付未履约", refunded: "已退款", partially_refunded: "部分退款", cancelled: "已取消",
  awaiting_shipment: "待发货", shipped: "已发货", received: "已收货",
  processing: "处理中", succeeded: "成功", failed: "失败", unpaid: "未支付", extra: "重复支付",
};

/** The order workflow's steps (contract.Step), in Chinese. */
export const stepNames = {
  check_stock: "检查库存", prepay: "预下单", await_payment: "等待支付", query_provider: "查询支付",
  close_provider_order: "关闭支付单", record_payment: "记录支付", deduct_stock: "扣减库存", grant: "发放权益",
  complete: "完成订单", cancel: "取消", refund: "退款", await_refund_retry: "退款失败待处理", done: "结束",
  await_shipment: "等待发货", await_receipt: "等待收货",
};

/** badge shows a status with its Chinese name and its code. */
export function badge(status) {
  if (!status) return el("span", { class: "muted" }, "—");
  return el("span", { class: `badge s-${status}`, "data-status": status, title: status },
    statusNames[status] ? `${statusNames[status]} ${status}` : status);
}

/** newRefundNo is a refund number drawn in the browser: the idempotency
 * key of one refund, reused when the same request is sent again. */
export function newRefundNo() {
  const b = new Uint8Array(6);
  crypto.getRandomValues(b);
  const t = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  return "RC" + t + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
