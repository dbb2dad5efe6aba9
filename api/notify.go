package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/wechatpay"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

// notifyProtocol is one provider's notify: how to verify it and how to
// answer in the provider's own format. Anything but ok makes the provider
// send the notify again later.
type notifyProtocol struct {
	provider  string
	appID     string
	mchID     string
	malformed error // the parser's "well signed but unusable" error, answered 400
	ok        func(c *fiber.Ctx) error
	fail      func(c *fiber.Ctx, status int, msg string) error
}

// NotifyTimeout bounds how long a notify may take to be checked and handed
// to its workflow. Providers give up waiting for an answer after about 5
// seconds (WeChat Pay's limit) and count that as a failure without telling
// us; when the database or Temporal is slow or down we answer a failure in
// the provider's own format before that, and the provider re-sends later.
const NotifyTimeout = 3 * time.Second

func (s *Server) notifyCtx(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	d := NotifyTimeout
	if s.RequestTimeout < d {
		d = s.RequestTimeout
	}
	return context.WithTimeout(c.UserContext(), d)
}

// acceptPayment is the one notify pipeline: verify (signature, age, merchant)
// with the provider's parser, check against our payment row, deliver to the
// order's workflow. Nothing is written here; a repeat of a recorded payment
// is answered ok and changes nothing; a forged or mismatched one changes
// nothing and is logged with the order number.
func (s *Server) acceptPayment(c *fiber.Ctx, p notifyProtocol, parse func() (*payments.Trade, error)) error {
	trade, err := parse()
	if err != nil {
		s.Logger.Warn("rejected payment notify", "provider", p.provider, "error", err, "remote", c.IP())
		if p.malformed != nil && errors.Is(err, p.malformed) {
			return p.fail(c, fiber.StatusBadRequest, "malformed notify")
		}
		return p.fail(c, fiber.StatusUnauthorized, "notify verification failed")
	}
	log := s.Logger.With("provider", p.provider, "order_no", trade.OutTradeNo, "transaction_id", trade.TransactionID)
	ctx, cancel := s.notifyCtx(c)
	defer cancel()
	paid, err := s.Payments.CheckNotify(ctx, trade, p.appID, p.mchID)
	switch {
	case errors.Is(err, payments.ErrAlreadyRecorded):
		return p.ok(c)
	case errors.Is(err, payments.ErrNotFound):
		log.Warn("notify for an unknown order", "error", err)
		return p.fail(c, fiber.StatusNotFound, "unknown out_trade_no")
	case errors.Is(err, payments.ErrNotifyMismatch):
		log.Error("notify does not match the payment", "error", err)
		return p.fail(c, fiber.StatusBadRequest, "notify does not match the order")
	case err != nil:
		log.Error("check notify", "error", err)
		return p.fail(c, fiber.StatusServiceUnavailable, "temporarily unavailable")
	}
	if err := s.deliverPayment(ctx, paid); err != nil {
		log.Error("deliver payment to its order", "error", err)
		return p.fail(c, fiber.StatusServiceUnavailable, "temporarily unavailable")
	}
	log.Info("payment notify accepted")
	return p.ok(c)
}

// deliverPayment signals a verified payment to its order's workflow. If the
// workflow has finished — the order was closed or cancelled and the buyer
// paid anyway — the late-payment workflow records and refunds it, so the
// money is never dropped. Any error means "tell the provider to retry".
func (s *Server) deliverPayment(ctx context.Context, paid *payments.Paid) error {
	err := s.Temporal.SignalWorkflow(ctx, paid.OrderNo, "", contract.SignalPaymentSucceeded, paid)
	var gone *serviceerror.NotFound
	if !errors.As(err, &gone) {
		return err
	}
	s.Logger.Warn("payment for a finished order: refunding it", "order_no", paid.OrderNo, "out_trade_no", paid.OutTradeNo)
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       contract.LatePaymentWorkflowID(paid.OutTradeNo),
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, contract.LatePaymentWorkflowType, *paid)
	if isAlreadyStarted(err) {
		return nil
	}
	return err
}

// acceptRefund verifies a refund notify and signals the refund's workflow.
// A refund we do not know, or whose workflow has finished, changes nothing.
func (s *Server) acceptRefund(c *fiber.Ctx, p notifyProtocol, parse func() (*payments.RefundResult, error)) error {
	res, err := parse()
	if err != nil {
		s.Logger.Warn("rejected refund notify", "provider", p.provider, "error", err, "remote", c.IP())
		if p.malformed != nil && errors.Is(err, p.malformed) {
			return p.fail(c, fiber.StatusBadRequest, "malformed notify")
		}
		return p.fail(c, fiber.StatusUnauthorized, "notify verification failed")
	}
	ctx, cancel := s.notifyCtx(c)
	defer cancel()
	r, err := s.Payments.FindRefund(ctx, res.RefundNo, res.ProviderRefundID)
	if errors.Is(err, payments.ErrNotFound) {
		s.Logger.Warn("refund notify for an unknown refund", "provider", p.provider, "refund_no", res.RefundNo, "provider_refund_id", res.ProviderRefundID)
		return p.ok(c)
	}
	if err != nil {
		return p.fail(c, fiber.StatusServiceUnavailable, "temporarily unavailable")
	}
	res.RefundNo = r.RefundNo
	err = s.Temporal.SignalWorkflow(ctx, contract.RefundWorkflowID(r.RefundNo), "", contract.SignalRefundResult, res)
	var gone *serviceerror.NotFound
	if err != nil && !errors.As(err, &gone) { // finished: it settled the refund by querying
		s.Logger.Error("deliver refund result", "refund_no", r.RefundNo, "error", err)
		return p.fail(c, fiber.StatusServiceUnavailable, "temporarily unavailable")
	}
	return p.ok(c)
}

// WeChatNotifyReply is WeChat Pay v3's notify answer format.
type WeChatNotifyReply struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

func (s *Server) wechatV3Protocol() notifyProtocol {
	return notifyProtocol{
		provider: "wechatpay_v3", appID: s.WeChat.AppID(), mchID: s.WeChat.MchID(), malformed: wechatpay.ErrMalformedNotify,
		ok: func(c *fiber.Ctx) error { return c.JSON(WeChatNotifyReply{Code: "SUCCESS"}) },
		fail: func(c *fiber.Ctx, status int, msg string) error {
			return c.Status(status).JSON(WeChatNotifyReply{Code: "FAIL", Message: msg})
		},
	}
}

func requestHeader(c *fiber.Ctx) http.Header {
	h := http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) { h.Add(string(k), string(v)) })
	return h
}

// wechatPayNotify receives WeChat Pay v3 payment notifies (JSON, signed, AES-GCM encrypted).
func (s *Server) wechatPayNotify(c *fiber.Ctx) error {
	return s.acceptPayment(c, s.wechatV3Protocol(), func() (*payments.Trade, error) {
		return s.WeChat.ParseNotify(requestHeader(c), c.Body())
	})
}

// wechatRefundNotify receives WeChat Pay v3 refund results.
func (s *Server) wechatRefundNotify(c *fiber.Ctx) error {
	return s.acceptRefund(c, s.wechatV3Protocol(), func() (*payments.RefundResult, error) {
		return s.WeChat.ParseRefundNotify(requestHeader(c), c.Body())
	})
}

func (s *Server) wechatV2Protocol() notifyProtocol {
	xml := func(c *fiber.Ctx, status int, body string) error {
		c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
		return c.Status(status).SendString(body)
	}
	return notifyProtocol{
		provider: "wechatpay_v2", appID: s.WeChatV2.AppID(), mchID: s.WeChatV2.MchID(), malformed: wechatv2.ErrMalformedNotify,
		ok:   func(c *fiber.Ctx) error { return xml(c, fiber.StatusOK, wechatv2.AckSuccess()) },
		fail: func(c *fiber.Ctx, status int, msg string) error { return xml(c, status, wechatv2.AckFail(msg)) },
	}
}

// wechatV2Notify receives WeChat Pay v2 payment notifies (XML, MD5/HMAC-SHA256 signed).
func (s *Server) wechatV2Notify(c *fiber.Ctx) error {
	return s.acceptPayment(c, s.wechatV2Protocol(), func() (*payments.Trade, error) { return s.WeChatV2.ParseNotify(c.Body()) })
}

// wechatV2RefundNotify receives WeChat Pay v2 refund results (req_info encrypted).
func (s *Server) wechatV2RefundNotify(c *fiber.Ctx) error {
	return s.acceptRefund(c, s.wechatV2Protocol(), func() (*payments.RefundResult, error) { return s.WeChatV2.ParseRefundNotify(c.Body()) })
}

func (s *Server) baiduProtocol(ack []byte) notifyProtocol {
	return notifyProtocol{
		provider: "baidu", appID: s.Baidu.AppID(), mchID: s.Baidu.MchID(), malformed: baidu.ErrMalformedNotify,
		ok: func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Send(ack)
		},
		fail: func(c *fiber.Ctx, status int, msg string) error {
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Status(status).Send(baidu.AckFail(msg))
		},
	}
}

// postForm is the form-encoded body (providers sign the body, not the query string).
func postForm(c *fiber.Ctx) (url.Values, error) {
	return url.ParseQuery(string(c.Body()))
}

// baiduNotify receives Baidu cashier payment notifies (form, RSA signed).
func (s *Server) baiduNotify(c *fiber.Ctx) error {
	return s.acceptPayment(c, s.baiduProtocol(baidu.AckPaid()), func() (*payments.Trade, error) {
		form, err := postForm(c)
		if err != nil {
			return nil, errors.Join(baidu.ErrMalformedNotify, err)
		}
		return s.Baidu.ParseNotify(form)
	})
}

// baiduRefundNotify receives Baidu refund results.
func (s *Server) baiduRefundNotify(c *fiber.Ctx) error {
	return s.acceptRefund(c, s.baiduProtocol(baidu.AckRefund()), func() (*payments.RefundResult, error) {
		form, err := postForm(c)
		if err != nil {
			return nil, errors.Join(baidu.ErrMalformedNotify, err)
		}
		return s.Baidu.ParseRefundNotify(form)
	})
}

func (s *Server) alipayProtocol() notifyProtocol {
	text := func(c *fiber.Ctx, status int, body string) error {
		c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
		return c.Status(status).SendString(body)
	}
	return notifyProtocol{
		provider: "alipay", appID: s.Alipay.AppID(), mchID: s.Alipay.MchID(), malformed: alipay.ErrMalformedNotify,
		ok:   func(c *fiber.Ctx) error { return text(c, fiber.StatusOK, alipay.NotifyAck) },
		fail: func(c *fiber.Ctx, status int, _ string) error { return text(c, status, "failure") },
	}
}

// alipayNotify receives Alipay's asynchronous notifies (form, RSA2 signed).
// Alipay reports refunds on the same URL, as a trade notify carrying
// refund fields; those go to the refund's workflow.
func (s *Server) alipayNotify(c *fiber.Ctx) error {
	form, err := postForm(c)
	if err != nil {
		return s.alipayProtocol().fail(c, fiber.StatusBadRequest, "")
	}
	if form.Get("out_biz_no") != "" || form.Get("refund_fee") != "" {
		return s.acceptRefund(c, s.alipayProtocol(), func() (*payments.RefundResult, error) {
			return s.Alipay.ParseRefundNotify(cloneValues(form))
		})
	}
	return s.acceptPayment(c, s.alipayProtocol(), func() (*payments.Trade, error) {
		return s.Alipay.ParseNotify(cloneValues(form))
	})
}

// cloneValues copies a form: gopay's verification deletes "sign" from what it is given.
func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
