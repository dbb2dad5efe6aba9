// The order page: pay (QR code with the amount and a countdown, or the
// provider's page), follow the order until it completes or closes, re-pay
// on another channel, cancel. After its first read the page follows the
// order with the API's long poll (changed_from = the status it shows):
// the answer comes the moment the status moves, or after WAIT_S, and the
// page asks again at once: one request per change or per WAIT_S.
import { api, token, yuan, h, CHANNELS, BROWSER_CHANNELS, REDIRECT_KEYS, STATUS, FINAL, reasonText, formatTime } from "./api.js";
import { show, say } from "./shop.js";

const WAIT_S = 10;        // the long poll's wait, the API's most
const RETRY_MS = 2000;    // the pause after a failed read
const TOO_SOON_MS = 1000; // an unchanged answer sooner than this is not a wait: pause RETRY_MS

/** orderPage shows order no and returns the function that stops its timers. */
export async function orderPage(no, config) {
  const box = h("div", { id: "order" });
  const live = h("div", { id: "order-status", class: "status", role: "status", "aria-live": "polite" }, "加载中…");
  show("订单 " + no, live, box);
  let shown = "";     // what the page shows: status, attempt and its state
  let qrURL = "";     // the object URL of the QR image shown
  let stopped = false;
  let poll = 0;       // the timer of the next read
  let tick = 0;
  let loop = 0;       // the current loop's generation: a read of an older one is dropped
  let reading = null; // the AbortController of the current loop's read

  const freeQR = () => { if (qrURL) URL.revokeObjectURL(qrURL); qrURL = ""; };
  // end ends the current loop: its timer, its read, and what it would render.
  const end = () => { loop++; clearTimeout(poll); if (reading) reading.abort(); reading = null; };
  const stop = () => { stopped = true; end(); clearInterval(tick); freeQR(); };

  // follow reads the order once, renders it if it changed and schedules the
  // next read of loop gen: with from (the status shown) it is a long poll.
  const follow = async (gen, from) => {
    if (stopped || gen !== loop) return;
    const ctl = new AbortController();
    reading = ctl;
    const started = Date.now();
    const query = from ? `?changed_from=${encodeURIComponent(from)}&wait=${WAIT_S}` : "";
    let o;
    try {
      o = await api("GET", "/api/v1/orders/" + encodeURIComponent(no) + query, undefined, {}, { signal: ctl.signal });
    } catch (e) {
      if (stopped || gen !== loop) return;
      if (e.status === 401) { location.hash = "#/login"; return; }
      say(e.message);
      next(gen, from, RETRY_MS);
      return;
    }
    if (stopped || gen !== loop) return;
    reading = null;
    const p = o.payment || {};
    const key = [o.status, p.out_trade_no, p.status, Boolean(p.pay && Object.keys(p.pay).length)].join("|");
    if (key !== shown) {
      if (!(await render(o, gen))) return;
      shown = key;
    }
    if (FINAL.includes(o.status)) return;
    // Ask again at once: the status moved, or the wait ran out. An unchanged
    // status answered at once (an API that did not wait) must not spin.
    const spun = from && o.status === from && Date.now() - started < TOO_SOON_MS;
    next(gen, o.status, spun ? RETRY_MS : 0);
  };
  const next = (gen, from, ms) => { poll = setTimeout(() => follow(gen, from), ms); };

  // render shows o; it answers false, and shows nothing, when loop gen
  // ended while it fetched the QR code (a newer read renders instead).
  const render = async (o, gen) => {
    const p = o.payment || {};
    const pay = p.pay || {};
    const payable = o.status === "awaiting_payment" || o.status === "pending";
    const qr = payable && (pay.code_url || pay.qr_code) ? await qrBlock(o, p, config) : null;
    if (stopped || gen !== loop) {
      if (qr && qr.url) URL.revokeObjectURL(qr.url);
      return false;
    }
    clearInterval(tick);
    freeQR();
    statusLine(live, o);
    const parts = [
      h("dl", { class: "facts" },
        h("dt", {}, "金额"), h("dd", { class: "price", id: "order-amount" }, yuan(o.amount)),
        h("dt", {}, "支付方式"), h("dd", { id: "order-channel" }, CHANNELS[channelOf(o)] || channelOf(o)),
        h("dt", {}, "下单时间"), h("dd", {}, formatTime(o.created_at)),
        o.points_awarded ? [h("dt", {}, "获得积分"), h("dd", {}, String(o.points_awarded))] : null),
    ];
    if (qr) {
      qrURL = qr.url;
      parts.push(qr.block);
    }
    const redirect = REDIRECT_KEYS.map((k) => pay[k]).find(Boolean);
    if (payable && redirect) {
      parts.push(h("p", { class: "pay" }, h("a", { class: "button wide", href: redirect, id: "pay-redirect" }, "前往" + (CHANNELS[p.channel] || "") + "付款")));
      const fresh = sessionStorage.getItem("orderpay.shop.pay." + o.order_no);
      sessionStorage.removeItem("orderpay.shop.pay." + o.order_no);
      if (fresh) { location.assign(redirect); }
    }
    if (payable) parts.push(repayBlock(o, config, refreshNow), cancelBlock(o, refreshNow));
    parts.push(h("h3", {}, "商品"),
      h("ul", { class: "cards" }, (o.items || []).map((i) => h("li", { class: "card" },
        h("div", { class: "body" }, h("p", { class: "name" }, i.name), h("p", { class: "muted" }, `${yuan(i.unit_price)} × ${i.quantity}`)),
        h("span", { class: "price" }, yuan(i.subtotal))))));
    if (o.address && o.address.name) {
      parts.push(h("h3", {}, "收货地址"), h("p", {}, `${o.address.name} ${o.address.phone}`, h("br"), `${o.address.region || ""} ${o.address.detail || ""}`));
    }
    parts.push(h("p", {}, h("a", { href: "#/orders" }, "返回我的订单")));
    box.replaceChildren(...parts.flat());
    const countdown = box.querySelector("#countdown");
    if (countdown && p.expire_at) {
      const update = () => { countdown.textContent = remaining(p.expire_at); };
      update();
      tick = setInterval(update, 1000);
    }
    return true;
  };

  // refreshNow shows the order as it is now, after the page's own action
  // (re-pay, cancel): it ends the loop, whose long poll may be waiting on
  // the status shown, and starts another with a plain read.
  const refreshNow = () => {
    if (stopped) return;
    end();
    shown = "";
    follow(loop, "");
  };
  await follow(loop, "");
  return stop;

  // qrBlock builds the QR code's section and answers it with the object URL
  // of its image ("" when the API has none), which the caller frees.
  async function qrBlock(o, p, cfg) {
    const img = h("img", { id: "qr", alt: `${CHANNELS[p.channel] || "扫码支付"}二维码，金额 ${yuan(o.amount)}`, width: "240", height: "240" });
    let url = "";
    try {
      const res = await fetch("/api/v1/orders/" + encodeURIComponent(o.order_no) + "/qr.png", { headers: { Authorization: "Bearer " + token() } });
      if (res.ok) url = URL.createObjectURL(await res.blob());
    } catch {
      // A network error: the page shows the code as unavailable and goes on
      // following the order (the next render fetches it again).
    }
    if (url) img.src = url;
    else img.alt = "二维码暂不可用";
    const block = h("section", { class: "pay", "aria-labelledby": "pay-title" },
      h("h3", { id: "pay-title" }, `请使用${p.channel && p.channel.startsWith("alipay") ? "支付宝" : "微信"}扫码支付`),
      img,
      h("p", { class: "total" }, "应付 ", h("span", { class: "price" }, yuan(o.amount))),
      h("p", { class: "muted" }, "剩余支付时间 ", h("span", { id: "countdown", class: "countdown" }, "")));
    if (cfg.sandbox_url && p.out_trade_no) {
      const btn = h("button", { type: "button", id: "sandbox-pay", class: "secondary" }, "在沙箱中支付（开发环境）");
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try {
          // The sandbox plays the buyer's phone: it marks the attempt paid and
          // sends the provider's signed notify to the API. Its answer is not
          // read (no CORS): the page learns the outcome by following the order.
          await fetch(cfg.sandbox_url + "/sandbox/orders/" + encodeURIComponent(p.out_trade_no) + "/pay", { method: "POST", mode: "no-cors" });
          say("已在沙箱中付款，等待支付结果…", "info");
        } catch {
          say("沙箱不可用");
          btn.disabled = false;
        }
      });
      block.append(btn);
    }
    return { block, url };
  }
}

/** channelOf is the channel of the order's current attempt (a re-pay changes it). */
const channelOf = (o) => (o.payment && o.payment.channel) || o.pay_channel;

function statusLine(live, o) {
  const ok = ["paid", "completed"].includes(o.status);
  const bad = ["closed", "cancelled", "paid_unfulfilled", "refunded", "partially_refunded"].includes(o.status);
  live.className = "status" + (ok ? " ok" : bad ? " bad" : "");
  const title = o.status === "completed" ? "支付成功，订单已完成" : o.status === "paid" ? "支付成功，处理中…" : STATUS[o.status] || o.status;
  live.replaceChildren(h("strong", { id: "status-title" }, title));
  if (o.status_reason) live.append(h("p", { id: "status-reason" }, "原因：" + reasonText(o.status_reason)));
}

function remaining(expireAt) {
  const s = Math.max(0, Math.floor((new Date(expireAt) - Date.now()) / 1000));
  if (s === 0) return "已过期";
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return (hh ? hh + ":" : "") + String(mm).padStart(2, "0") + ":" + String(ss).padStart(2, "0");
}

function repayBlock(o, config, done) {
  const others = BROWSER_CHANNELS.filter((c) => config.channels.includes(c) && c !== channelOf(o));
  if (!others.length) return null;
  const select = h("select", { id: "repay-channel" }, others.map((c) => h("option", { value: c }, CHANNELS[c])));
  const btn = h("button", { type: "submit", class: "secondary", id: "repay" }, "改用此方式支付");
  const form = h("form", { class: "actions", id: "repay-form" }, h("label", { for: "repay-channel" }, "更换支付方式"), select, btn);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    try {
      const res = await api("POST", `/api/v1/orders/${encodeURIComponent(o.order_no)}/pay`, { pay_channel: select.value });
      if (res.pay && REDIRECT_KEYS.some((k) => res.pay[k])) sessionStorage.setItem("orderpay.shop.pay." + o.order_no, "1");
      done();
    } catch (e) { say(e.message); btn.disabled = false; }
  });
  return form;
}

function cancelBlock(o, done) {
  const ask = h("button", { type: "button", class: "danger wide", id: "cancel" }, "取消订单");
  const confirm = h("button", { type: "button", class: "danger wide", id: "cancel-confirm", hidden: true }, "确认取消（不可恢复）");
  ask.addEventListener("click", () => { ask.hidden = true; confirm.hidden = false; confirm.focus(); });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    try {
      await api("POST", `/api/v1/orders/${encodeURIComponent(o.order_no)}/cancel`);
      done();
    } catch (e) { say(e.message); confirm.disabled = false; }
  });
  return h("div", { class: "actions" }, ask, confirm);
}

