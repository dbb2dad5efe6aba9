package api

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"

	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/wechatpay"
	"github.com/shopflow/orderpay/workflows"
)

// WeChatNotifyReply is WeChat Pay v3's notify answer format. Anything but a
// 2xx with code SUCCESS makes WeChat send the notify again later.
type WeChatNotifyReply struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

func wechatReply(c *fiber.Ctx, status int, msg string) error {
	if status < 300 {
		return c.Status(status).JSON(WeChatNotifyReply{Code: "SUCCESS"})
	}
	return c.Status(status).JSON(WeChatNotifyReply{Code: "FAIL", Message: msg})
}

// wechatPayNotify receives WeChat Pay's payment notify: verify the
// signature and age, decrypt the transaction, check it against our payment
// row, then signal the order's workflow. Nothing is written here; repeats
// of a recorded payment are answered SUCCESS and change nothing.
func (s *Server) wechatPayNotify(c *fiber.Ctx) error {
	header := http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) { header.Add(string(k), string(v)) })
	trade, err := s.WeChat.ParseNotify(header, c.Body())
	if err != nil {
		s.Logger.Warn("rejected wechatpay notify", "error", err, "remote", c.IP())
		if errors.Is(err, wechatpay.ErrMalformedNotify) {
			return wechatReply(c, fiber.StatusBadRequest, "malformed notify")
		}
		return wechatReply(c, fiber.StatusUnauthorized, "notify verification failed")
	}
	log := s.Logger.With("order_no", trade.OutTradeNo, "transaction_id", trade.TransactionID)
	ctx, cancel := s.ctx(c)
	defer cancel()
	paid, err := s.Payments.CheckNotify(ctx, trade, s.WeChat.AppID(), s.WeChat.MchID())
	switch {
	case errors.Is(err, payments.ErrAlreadyRecorded):
		return wechatReply(c, fiber.StatusOK, "")
	case errors.Is(err, payments.ErrNotFound):
		log.Warn("notify for an unknown order", "error", err)
		return wechatReply(c, fiber.StatusNotFound, "unknown out_trade_no")
	case errors.Is(err, payments.ErrNotifyMismatch):
		log.Error("notify does not match the payment", "error", err)
		return wechatReply(c, fiber.StatusBadRequest, "notify does not match the order")
	case err != nil:
		log.Error("check notify", "error", err)
		return wechatReply(c, fiber.StatusServiceUnavailable, "temporarily unavailable")
	}
	err = s.Temporal.SignalWorkflow(ctx, paid.OrderNo, "", workflows.SignalPaymentSucceeded, paid)
	var gone *serviceerror.NotFound
	if errors.As(err, &gone) {
		// The order's workflow has finished (closed unpaid) yet the buyer paid.
		// Keep answering FAIL so WeChat keeps the notify alive until the
		// late-payment refund handles it; never drop money silently.
		log.Error("payment for a finished order: needs a refund", "error", err)
		return wechatReply(c, fiber.StatusConflict, "order already closed")
	}
	if err != nil {
		log.Error("signal order workflow", "error", err)
		return wechatReply(c, fiber.StatusServiceUnavailable, "temporarily unavailable")
	}
	log.Info("payment notify accepted")
	return wechatReply(c, fiber.StatusOK, "")
}
