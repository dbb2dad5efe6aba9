// The buyer API as the storefront calls it (same origin, bearer token),
// and the small helpers every page uses.

const TOKEN_KEY = "orderpay.shop.token";
const CART_KEY = "orderpay.shop.cart";

/** The signed-in buyer's token, or "". */
export const token = () => localStorage.getItem(TOKEN_KEY) || "";
export const setToken = (t) => (t ? localStorage.setItem(TOKEN_KEY, t) : localStorage.removeItem(TOKEN_KEY));

/** ApiError is a refusal of the API: its status, code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * api calls the API and answers its JSON (null for 204); it throws ApiError.
 * signal (an AbortSignal) abandons the call: it then throws the signal's
 * reason (an AbortError), which the caller that aborted it ignores.
 */
export async function api(method, path, body, headers = {}, { signal } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (token()) h.Authorization = "Bearer " + token();
  if (body !== undefined) h["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if (signal && signal.aborted) throw e;
    throw new ApiError(0, "network", "网络连接失败，请稍后重试");
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = data.error || {};
    if (res.status === 401) setToken("");
    throw new ApiError(res.status, e.code || "http_" + res.status, errorText(e.code, e.message));
  }
  return data;
}

const ERRORS = {
  invalid_login_code: "登录码无效",
  out_of_stock: "库存不足",
  unknown_product: "商品已下架",
  insufficient_balance: "钱包余额不足",
  channel_not_available: "该支付方式暂不可用",
  order_state_conflict: "订单状态已变化，无法操作",
  rate_limited: "操作太频繁，请稍后再试",
  unknown_address: "地址不存在",
  payment_provider_error: "支付渠道暂时不可用",
  service_unavailable: "服务暂时不可用",
  unauthorized: "请重新登录",
};

function errorText(code, message) {
  const zh = ERRORS[code];
  return zh ? `${zh}（${message || code}）` : message || "请求失败";
}

/** yuan formats integer cents as ¥12.34. */
export const yuan = (cents) => (cents < 0 ? "-" : "") + "¥" + (Math.abs(Number(cents)) / 100).toFixed(2);

/** The cart in localStorage: {product_id: {id, name, price, quantity}}. */
export const cart = {
  read() {
    try { return JSON.parse(localStorage.getItem(CART_KEY)) || {}; } catch { return {}; }
  },
  write(c) { localStorage.setItem(CART_KEY, JSON.stringify(c)); },
  lines() { return Object.values(cart.read()).filter((l) => l.quantity > 0); },
  count() { return cart.lines().reduce((n, l) => n + l.quantity, 0); },
  add(p, n = 1) {
    const c = cart.read();
    const l = c[p.id] || { id: p.id, name: p.name, price: p.price, kind: p.kind, quantity: 0 };
    l.quantity = Math.min(999, l.quantity + n);
    c[p.id] = l;
    cart.write(c);
  },
  set(id, q) {
    const c = cart.read();
    if (!c[id]) return;
    if (q > 0) c[id].quantity = Math.min(999, q); else delete c[id];
    cart.write(c);
  },
  clear() { localStorage.removeItem(CART_KEY); },
};

/** randomKey is an Idempotency-Key for one checkout. */
export function randomKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return "shop-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** h builds an element: h("p", {class: "x"}, "text", child…). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** The labels of the pay channels, the order statuses and close reasons. */
export const CHANNELS = {
  wechat_native: "微信支付（扫码）",
  wechat_v2_native: "微信支付 v2（扫码）",
  alipay_qr: "支付宝（扫码）",
  wechat_h5: "微信支付（手机浏览器）",
  alipay_wap: "支付宝（手机网页）",
  alipay_page: "支付宝（电脑网页）",
  balance: "钱包余额",
  free: "免费",
  wechat_jsapi: "微信小程序支付",
  wechat_v2_jsapi: "微信小程序支付 v2",
  baidu: "百度收银台",
};
/** Channels a browser can pay with: QR codes, redirects and the wallet. */
export const BROWSER_CHANNELS = ["wechat_native", "alipay_qr", "wechat_v2_native", "wechat_h5", "alipay_wap", "alipay_page", "balance"];
export const QR_CHANNELS = ["wechat_native", "wechat_v2_native", "alipay_qr"];
export const REDIRECT_KEYS = ["h5_url", "pay_url"];

export const STATUS = {
  pending: "处理中",
  awaiting_payment: "待支付",
  paid: "已支付，处理中",
  completed: "已完成",
  closed: "已关闭",
  cancelled: "已取消",
  paid_unfulfilled: "已支付，无法发货，退款中",
  refunded: "已退款",
  partially_refunded: "部分退款",
};
const REASONS = {
  payment_timeout: "支付超时",
  prepay_failed: "下单失败",
  out_of_stock: "库存不足",
  amount_mismatch: "支付金额不符",
  paid_after_close: "订单关闭后才支付",
  cancelled_by_buyer: "买家取消",
};
/** reasonText explains an order's status_reason in Chinese (and keeps the detail). */
export function reasonText(reason) {
  if (!reason) return "";
  const key = reason.split(":")[0].trim();
  return REASONS[key] ? `${REASONS[key]}（${reason}）` : reason;
}
/** Statuses after which nothing more happens to an unpaid order. */
export const FINAL = ["completed", "closed", "cancelled", "refunded", "partially_refunded"];

export const KIND_ICON = { goods: "☕", membership: "★", recharge: "¥" };
export const formatTime = (t) => (t ? new Date(t).toLocaleString("zh-CN", { hour12: false }) : "");
