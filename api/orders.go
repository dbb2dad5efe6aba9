package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/addresses"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/users"
)

// Request limits.
const (
	maxLines    = 50
	maxQuantity = 999
	maxAddress  = 2048
)

// CreateOrderRequest is the body of POST /api/v1/orders.
type CreateOrderRequest struct {
	Items      []catalog.Line  `json:"items"`
	PayChannel string          `json:"pay_channel"`
	Address    json.RawMessage `json:"address"`
	// AddressID names an entry of the buyer's address book instead of an
	// inline address; its content is copied into the order.
	AddressID *uint `json:"address_id"`
}

// Validate checks the request's shape; products and stock are checked later.
func (r *CreateOrderRequest) Validate(supported func(string) bool) error {
	if len(r.Items) == 0 || len(r.Items) > maxLines {
		return fmt.Errorf("items must hold 1 to %d lines", maxLines)
	}
	for i, it := range r.Items {
		if it.ProductID == 0 {
			return fmt.Errorf("items[%d].product_id is required", i)
		}
		if it.Quantity < 1 || it.Quantity > maxQuantity {
			return fmt.Errorf("items[%d].quantity must be 1 to %d", i, maxQuantity)
		}
	}
	// Lines naming the same product are merged into one order line: the cap
	// holds for the merged quantity too.
	for _, l := range catalog.Merge(r.Items) {
		if l.Quantity > maxQuantity {
			return fmt.Errorf("product %d: %d units in all, at most %d per order", l.ProductID, l.Quantity, maxQuantity)
		}
	}
	if !supported(r.PayChannel) {
		return fmt.Errorf("pay_channel %q is not supported", r.PayChannel)
	}
	addr := bytes.TrimSpace(r.Address)
	if len(addr) > maxAddress {
		return fmt.Errorf("address is longer than %d bytes", maxAddress)
	}
	if len(addr) > 0 && !bytes.Equal(addr, []byte("null")) && addr[0] != '{' {
		return errors.New("address must be a JSON object")
	}
	if r.AddressID != nil && len(addr) > 0 && !bytes.Equal(addr, []byte("null")) {
		return errors.New("give address or address_id, not both")
	}
	if r.AddressID != nil && *r.AddressID == 0 {
		return errors.New("address_id must be a positive integer")
	}
	return checkRawText("address", addr)
}

// PayResponse is what the client needs to pay: the channel, when the offer
// expires and the channel's parameters flattened in.
type PayResponse map[string]any

func payResponse(r *contract.PrepayResult) PayResponse {
	out := PayResponse{"channel": r.Channel, "expire_at": r.ExpireAt}
	if r.Paid {
		out["paid"] = true // wallet and free orders settle at once: nothing for the client to do
	}
	for k, v := range r.Params {
		out[k] = v
	}
	// Amounts are integer cents in every answer: the wallet's balance after
	// the payment travels through the workflow as a string parameter.
	if v, ok := r.Params["balance_after"]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out["balance_after"] = n
		}
	}
	return out
}

// CreateOrderResponse answers POST /api/v1/orders.
type CreateOrderResponse struct {
	OrderNo     string      `json:"order_no"`
	Status      string      `json:"status"`
	AmountCents int64       `json:"amount"`
	Pay         PayResponse `json:"pay"`
}

// createOrder starts the order's workflow and, in the same request, waits
// for its prepay step (Update-with-Start), so the client can pay at once.
func (s *Server) createOrder(c *fiber.Ctx) error {
	p := principal(c)
	var req CreateOrderRequest
	if err := decodeJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	if err := req.Validate(s.Payments.Supports); err != nil {
		if !s.Payments.Supports(req.PayChannel) && contract.IsChannel(req.PayChannel) {
			return channelNotAvailable(c, req.PayChannel, s.Payments.Channels())
		}
		if !s.Payments.Supports(req.PayChannel) {
			return fail(c, fiber.StatusBadRequest, CodeBadRequest, fmt.Sprintf("%v; supported: %s", err, strings.Join(s.Payments.Channels(), ", ")))
		}
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	if key := c.Get("Idempotency-Key"); len(key) > 100 {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, "Idempotency-Key is longer than 100 characters")
	} else if err := checkText("Idempotency-Key", key); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	if req.AddressID != nil {
		snap, err := s.Addresses.Snapshot(ctx, p.UserID, *req.AddressID)
		if errors.Is(err, addresses.ErrNotFound) {
			return fail(c, fiber.StatusBadRequest, CodeUnknownAddress, fmt.Sprintf("address_id %d is not in your address book", *req.AddressID))
		}
		if err != nil {
			return s.orderError(c, err)
		}
		req.Address = snap
	}

	// Fail fast on unknown products, visible shortages and short wallets;
	// the workflow checks again inside its transactions.
	q, err := s.Orders.Quote(ctx, p.UserID, req.Items, req.PayChannel)
	switch {
	case errors.Is(err, orders.ErrFreeForZeroOnly):
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	case errors.Is(err, orders.ErrBalanceUnavailable):
		return s.orderError(c, err)
	case err != nil: // refused (unknown product, out of stock, short wallet)
		no, uerr := s.startedOrder(ctx, c, p.UserID)
		if uerr != nil {
			// The key is bound to an order whose workflow Temporal could
			// not describe (overloaded, or down): it may be running and
			// holding this buyer's units. Refusing it "sold out" would send
			// the buyer away from their own order.
			s.temporalState.Observe(uerr)
			return s.temporalUnavailable(c, "could not tell whether this order started: retry with the same Idempotency-Key")
		}
		if no != "" {
			if s.completedOrder(ctx, no) {
				return s.replayFinishedOrder(c, ctx, no, p.UserID)
			}
			return s.startAndAnswer(c, ctx, s.orderInput(c, p, &req, no), -1)
		}
		return s.orderError(c, err)
	}
	req.PayChannel = q.PayChannel
	// Without Temporal no order can start: say so at once, before anything
	// is written, instead of waiting out the request timeout. The answer is
	// at most a second old (temporalHealth): no health RPC per order.
	if !s.temporalState.Up(c.UserContext()) {
		return s.temporalUnavailable(c, "nothing was created or charged, try again shortly")
	}
	// The number is reserved for this buyer before any workflow can start
	// under it, and an Idempotency-Key bound to it, in one statement on
	// PostgreSQL: two buyers never share one, and a retry reaches the
	// number its first attempt bound.
	var key, hash string
	if key = c.Get("Idempotency-Key"); key != "" {
		sum := sha256.Sum256(c.Body())
		hash = hex.EncodeToString(sum[:])
	}
	drawn := ""
	orderNo, err := s.Orders.Reserve(ctx, p.UserID, key, hash, func() string {
		drawn = s.NewOrderNo(time.Now())
		return drawn
	})
	if errors.Is(err, orders.ErrKeyReused) {
		return fail(c, fiber.StatusUnprocessableEntity, CodeKeyReused, err.Error())
	}
	if err != nil {
		return s.orderError(c, err)
	}
	reserved := drawn
	if orderNo != reserved && s.completedOrder(ctx, orderNo) {
		return s.replayFinishedOrder(c, ctx, orderNo, p.UserID)
	}

	return s.startAndAnswer(c, ctx, s.orderInput(c, p, &req, orderNo), q.AmountCents)
}

// orderInput is the order workflow's input for a request.
func (s *Server) orderInput(c *fiber.Ctx, p *users.Principal, req *CreateOrderRequest, orderNo string) contract.OrderInput {
	return contract.OrderInput{
		OrderNo: orderNo, UserID: p.UserID, OpenID: p.OpenID, PayChannel: req.PayChannel,
		Address: req.Address, Lines: req.Items, ClientIP: c.IP(), PaymentTimeout: s.PaymentTimeout, PointsPerYuan: s.PointsPerYuan,
		AutoReceiveAfter: s.AutoReceiveAfter, Revision: contract.OrderRevision,
	}
}

// startedOrder returns the order a retried POST (same Idempotency-Key and
// body) belongs to when that order's workflow has already started. Such a
// retry gets its order back even when the checks made before starting an
// order would now refuse it: its first attempt may be about to take the
// last units, or may have debited the wallet already (found by
// internal/devtools/faults TestHotSKU: buyers were told 409 out_of_stock while their
// order, started by the attempt that timed out, waited for payment).
//
// It fails when the key is bound to an order whose workflow Temporal could
// not describe for another reason than its absence: whether it started is
// unknown, and the caller answers 503 so the buyer retries with the key.
func (s *Server) startedOrder(ctx context.Context, c *fiber.Ctx, userID uint) (string, error) {
	key := c.Get("Idempotency-Key")
	if key == "" || len(key) > 100 {
		return "", nil
	}
	sum := sha256.Sum256(c.Body())
	orderNo, err := s.Orders.KeyOrder(ctx, userID, key, hex.EncodeToString(sum[:]))
	if err != nil {
		return "", nil
	}
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, orderNo, "")
	var never *serviceerror.NotFound
	if errors.As(err, &never) {
		return "", nil // never started: the request is refused as it stands
	}
	if err != nil {
		return "", fmt.Errorf("describe order %s: %w", orderNo, err)
	}
	if owner, ok := s.workflowOwner(ctx, d); !ok || owner != userID {
		return "", nil // not this buyer's workflow: never attach to it
	}
	if d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return orderNo, nil
	}
	if _, _, err := s.Orders.Summary(ctx, orderNo); err == nil {
		return orderNo, nil // finished with an order written: answered as it stands
	}
	return "", nil // refused at the workflow's own check: refused again here
}

// startAndAnswer starts the order's workflow (or attaches to the running
// one) and answers with its pay parameters. amountCents is the quoted
// amount, for the workflow's summary (below 0: not known).
func (s *Server) startAndAnswer(c *fiber.Ctx, ctx context.Context, in contract.OrderInput, amountCents int64) error {
	orderNo := in.OrderNo
	setOrderNo(c, orderNo)
	pay, err := s.startOrder(ctx, in, amountCents)
	if isAlreadyStarted(err) {
		return s.replayFinishedOrder(c, ctx, orderNo, in.UserID)
	}
	s.temporalState.Observe(err)
	if isUnavailable(err) || (isTimeout(err) && !s.temporalState.Check(c.UserContext())) {
		// Temporal went away during the request (or in the second before
		// it, which the cached health answer did not see yet): the order
		// may or may not have started; a retry with the same
		// Idempotency-Key finds out.
		return s.temporalUnavailable(c, "the order may have been started: retry with the same Idempotency-Key once it is back")
	}
	if err != nil {
		return s.orderError(c, err)
	}
	o, err := s.orderBrief(ctx, orderNo, pay)
	if err != nil {
		return s.orderError(c, err)
	}
	if o.UserID != in.UserID {
		// Attached to another buyer's workflow (an order number bound
		// before numbers were reserved): never hand out its pay parameters.
		return s.foreignOrder(c, orderNo, in.UserID, o.UserID)
	}
	return c.Status(fiber.StatusCreated).JSON(CreateOrderResponse{
		OrderNo: orderNo, Status: o.Status, AmountCents: o.AmountCents, Pay: payResponse(pay),
	})
}

// orderBrief is the order a prepay answer belongs to: as the workflow
// answered it, or read from the database when the answer does not carry it
// (a workflow that predates it) or the order was paid at once (wallet,
// free), whose status moves on in the same workflow task.
func (s *Server) orderBrief(ctx context.Context, orderNo string, pay *contract.PrepayResult) (*orders.Brief, error) {
	if o := pay.Order; o != nil && !pay.Paid && o.Status != "" {
		return &orders.Brief{UserID: o.UserID, Status: o.Status, AmountCents: o.AmountCents}, nil
	}
	return s.Orders.Brief(ctx, orderNo)
}

// startOrder runs Update-with-Start: start the workflow (or attach to the
// running one with this order number) and wait for its prepay answer. The
// workflow's static summary and details (Web UI) name the order, amount,
// channel, buyer's user id and items: no personal data.
func (s *Server) startOrder(ctx context.Context, in contract.OrderInput, amountCents int64) (*contract.PrepayResult, error) {
	op := s.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       in.OrderNo,
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(contract.AttrOrderNo).ValueSet(in.OrderNo),
			temporal.NewSearchAttributeKeyInt64(contract.AttrUserID).ValueSet(int64(in.UserID)),
			temporal.NewSearchAttributeKeyKeyword(contract.AttrPayChannel).ValueSet(in.PayChannel),
			temporal.NewSearchAttributeKeyKeyword(contract.AttrOrderStatus).ValueSet(contract.StatusPending),
		),
		StaticSummary: contract.OrderSummary(in.OrderNo, amountCents, in.PayChannel, in.UserID),
		StaticDetails: contract.OrderStaticDetails(in),
	}, contract.OrderWorkflowType, in)
	h, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   contract.UpdatePrepay,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return nil, err
	}
	var res contract.PrepayResult
	if err := h.Get(ctx, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// replayFinishedOrder answers a repeated submit (same Idempotency-Key) of
// an order whose workflow has already finished: the order as it stands,
// and only to the buyer who placed it.
func (s *Server) replayFinishedOrder(c *fiber.Ctx, ctx context.Context, orderNo string, userID uint) error {
	o, err := s.Orders.Get(ctx, orderNo)
	if err == nil && o.UserID != userID {
		return s.foreignOrder(c, orderNo, userID, o.UserID)
	}
	if errors.Is(err, orders.ErrNotFound) {
		// No order was written: the workflow refused it at its own check
		// (the stock went while the first attempt waited). Answer the retry
		// with that refusal, as the first attempt would have been answered.
		d, derr := s.Temporal.DescribeWorkflowExecution(ctx, orderNo, "")
		if derr != nil {
			return s.orderError(c, derr)
		}
		if owner, ok := s.workflowOwner(ctx, d); !ok || owner != userID {
			return s.foreignOrder(c, orderNo, userID, owner)
		}
		var res contract.OrderResult
		if werr := s.Temporal.GetWorkflow(ctx, orderNo, "").Get(ctx, &res); werr == nil && res.Status == contract.StatusRejected {
			return refusedOrder(c, res)
		}
	}
	if err != nil {
		return s.orderError(c, err)
	}
	return c.Status(fiber.StatusOK).JSON(CreateOrderResponse{OrderNo: o.OrderNo, Status: o.Status, AmountCents: o.AmountCents, Pay: PayResponse{}})
}

// foreignOrder answers a request that reached another buyer's order
// number: 409, and nothing of that order (its pay parameters, amount or
// status) is shown.
func (s *Server) foreignOrder(c *fiber.Ctx, orderNo string, caller, owner uint) error {
	setOrderNo(c, orderNo)
	s.log(c).Error("order number belongs to another buyer: refused", "caller", caller, "owner", owner)
	return fail(c, fiber.StatusConflict, CodeOrderNoConflict,
		"this request is bound to an order number that is not yours; retry with a new Idempotency-Key")
}

// workflowOwner is the buyer an order workflow was started for: its UserId
// search attribute (set by every start through this API), else the
// OrderInput.UserID of its start event (one more call, for workflows
// started some other way).
func (s *Server) workflowOwner(ctx context.Context, d *workflowservice.DescribeWorkflowExecutionResponse) (uint, bool) {
	info := d.GetWorkflowExecutionInfo()
	if p := info.GetSearchAttributes().GetIndexedFields()[contract.AttrUserID]; p != nil {
		var id int64
		if err := converter.GetDefaultDataConverter().FromPayload(p, &id); err == nil && id > 0 {
			return uint(id), true
		}
	}
	it := s.Temporal.GetWorkflowHistory(ctx, info.GetExecution().GetWorkflowId(), info.GetExecution().GetRunId(),
		false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return 0, false
	}
	first, err := it.Next()
	if err != nil {
		return 0, false
	}
	payloads := first.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	var in contract.OrderInput
	if len(payloads) == 0 || s.DataConverter.FromPayload(payloads[0], &in) != nil || in.UserID == 0 {
		return 0, false
	}
	return in.UserID, true
}

// refusedOrder answers a retry of an order its workflow refused, from the
// refusal recorded in the workflow's result (its error kind and message).
func refusedOrder(c *fiber.Ctx, res contract.OrderResult) error {
	switch res.Kind {
	case contract.ErrOutOfStock:
		return fail(c, fiber.StatusConflict, CodeOutOfStock, res.Reason)
	case contract.ErrUnknownProduct:
		return fail(c, fiber.StatusBadRequest, CodeUnknownProduct, res.Reason)
	}
	return fail(c, fiber.StatusConflict, CodeOrderState, "the order was refused: "+res.Reason)
}

// orderError maps a failure of the order path to an HTTP answer, by the
// error's kind: a domain error's own, or the type of the application error
// an activity or update answered with.
func (s *Server) orderError(c *fiber.Ctx, err error) error {
	kind := contract.KindOf(err)
	var appErr *temporal.ApplicationError
	if kind == "" && errors.As(err, &appErr) {
		kind = contract.ErrorKind(appErr.Type())
	}
	switch kind {
	case contract.ErrUnknownProduct:
		return fail(c, fiber.StatusBadRequest, CodeUnknownProduct, message(err))
	case contract.ErrOutOfStock:
		return fail(c, fiber.StatusConflict, CodeOutOfStock, message(err))
	case contract.ErrInsufficientFunds:
		return fail(c, fiber.StatusPaymentRequired, CodeInsufficientBalance, message(err))
	case contract.ErrNotPayable, contract.ErrNotCancellable, contract.ErrNotShippable:
		return fail(c, fiber.StatusConflict, CodeOrderState, message(err))
	case contract.ErrNotRefundable, contract.ErrRefundTooLarge, contract.ErrRefundNoReused:
		return fail(c, fiber.StatusConflict, CodeRefundRefused, message(err))
	case contract.ErrRechargeSpent:
		return fail(c, fiber.StatusConflict, CodeRechargeSpent, message(err))
	case contract.ErrProviderRejected, contract.ErrUnknownChannel:
		return fail(c, fiber.StatusBadGateway, CodeProvider, message(err))
	case contract.ErrNotFound:
		return fail(c, fiber.StatusNotFound, CodeNotFound, "order not found")
	case contract.ErrInvalidInput:
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, message(err))
	}
	if isTimeout(err) {
		return fail(c, fiber.StatusGatewayTimeout, CodeUnavailable, "the order is taking longer than expected; poll GET /api/v1/orders or retry with the same Idempotency-Key")
	}
	s.log(c).Error("order request failed", "error", err)
	return fail(c, fiber.StatusServiceUnavailable, CodeUnavailable, "orders are temporarily unavailable, try again")
}

// temporalUnavailable answers 503 when the workflow engine cannot be reached.
func (s *Server) temporalUnavailable(c *fiber.Ctx, detail string) error {
	s.log(c).Error("order refused: Temporal unavailable", "path", c.Path())
	c.Set(fiber.HeaderRetryAfter, "5")
	return fail(c, fiber.StatusServiceUnavailable, CodeUnavailable,
		"the order service is unavailable (workflow engine unreachable); "+detail)
}

// isTimeout reports whether a Temporal call ran out of time: the request's
// deadline, or an update still running when the call gave up waiting.
func isTimeout(err error) bool {
	if err == nil {
		return false
	}
	var updateWait *client.WorkflowUpdateServiceTimeoutOrCanceledError
	var deadline *serviceerror.DeadlineExceeded
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &updateWait) || errors.As(err, &deadline)
}

func isAlreadyStarted(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &started)
}

func message(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}

// NewOrderNo draws a 22-digit order number: the local time to the second
// and 8 random digits (providers take out_trade_no up to 32 characters,
// Alipay letters, digits and _ only). It is also the workflow id. Two
// draws may be equal; the API reserves each number (orders.Reserve)
// before starting a workflow under it, so a repeat only costs a redraw.
func NewOrderNo(now time.Time) string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic(fmt.Sprintf("entropy: %v", err))
	}
	return fmt.Sprintf("%s%08d", now.Format("20060102150405"), n.Int64())
}

// decodeJSON reads a JSON body strictly: one value, known fields only.
func decodeJSON(c *fiber.Ctx, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("invalid JSON body: %v", err)
	}
	if dec.More() {
		return errors.New("invalid JSON body: more than one value")
	}
	return nil
}
