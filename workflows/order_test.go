package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopflow/orderpay/internal/contract"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/workflows"
)

const (
	orderNo     = "20260101100000000001"
	amountCents = int64(13600) // 2 × 68.00
	userID      = uint(7)
)

var start = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

// OrderWorkflowSuite runs OrderWorkflow in the Temporal test environment
// with every activity mocked.
type OrderWorkflowSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite

	env  *testsuite.TestWorkflowEnvironment
	acts *activities.Activities

	mu          sync.Mutex
	transitions []contract.Transition // SetOrderStatus calls, in order
	attrStatus  []string              // OrderStatus search attribute upserts, in order
	local       []string              // local activities started, in order

	// lean: the test runs the order on the lean path (change "lean-order",
	// what orders started now take; tests named TestLean…). The others run
	// the path of orders started before it, which still runs for days.
	lean bool
}

func TestOrderWorkflow(t *testing.T) { suite.Run(t, new(OrderWorkflowSuite)) }

func (s *OrderWorkflowSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(start)
	s.acts = &activities.Activities{}
	s.env.RegisterActivity(s.acts)
	s.transitions, s.attrStatus, s.local = nil, nil, nil
	s.lean = strings.Contains(s.T().Name(), "/TestLean")
	if !s.lean {
		s.env.OnGetVersion("lean-order", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion).Maybe()
	}
	s.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.local = append(s.local, info.ActivityType.Name)
	})
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		v, ok := sa.GetKeyword(workflows.AttrOrderStatus)
		s.True(ok, "every upsert sets OrderStatus")
		s.mu.Lock()
		s.attrStatus = append(s.attrStatus, v)
		s.mu.Unlock()
	}).Return()
}

func (s *OrderWorkflowSuite) AfterTest(_, _ string) {
	s.env.AssertExpectations(s.T())
}

func input() contract.OrderInput {
	return contract.OrderInput{
		OrderNo:       orderNo,
		UserID:        userID,
		OpenID:        "openid-7",
		PayChannel:    contract.ChannelWeChatJSAPI,
		Address:       json.RawMessage(`{"city":"Kunming"}`),
		Lines:         []contract.Line{{ProductID: 1, Quantity: 2}},
		PointsPerYuan: 1,
	}
}

func prepayResult(expire time.Time) *contract.PrepayResult {
	return &contract.PrepayResult{
		Channel:  contract.ChannelWeChatJSAPI,
		PrepayID: "wx-prepay-1",
		Params:   map[string]string{"package": "prepay_id=wx-prepay-1", "paySign": "sig"},
		ExpireAt: expire,
	}
}

func paid(tx string, amount int64) contract.Paid {
	return contract.Paid{OrderNo: orderNo, TransactionID: tx, AmountCents: amount, PaidAt: start.Add(10 * time.Minute), Source: "notify"}
}

func businessErr(kind, msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, kind, nil)
}

// --- mocks ---------------------------------------------------------------

func (s *OrderWorkflowSuite) mockCreate() {
	s.env.OnActivity(acts.CreateOrder, mock.Anything, mock.MatchedBy(func(in contract.CreateOrderInput) bool {
		return in.OrderNo == orderNo && in.UserID == userID && len(in.Lines) == 1
	})).Return(&contract.CreateOrderResult{UserID: userID, AmountCents: amountCents, Description: "Coffee Beans"}, nil).Once()
}

// mockPrepay expects one prepay for the order's amount whose provider order
// expires exactly one payment timeout after the start.
func (s *OrderWorkflowSuite) mockPrepay(timeout time.Duration) {
	expire := start.Add(timeout)
	s.env.OnActivity(s.acts.Prepay, mock.Anything, mock.MatchedBy(func(in contract.PrepayInput) bool {
		r := in.Request
		return in.UserID == userID && in.AwaitPayment == s.lean && r.OrderNo == orderNo && r.TradeNo() == orderNo && r.AmountCents == amountCents &&
			r.Channel == contract.ChannelWeChatJSAPI && r.OpenID == "openid-7" &&
			r.Description == "Coffee Beans" && r.ExpireAt.Equal(expire)
	})).Return(prepayResult(expire), nil).Once()
}

// mockSetStatus records every status write and succeeds.
func (s *OrderWorkflowSuite) mockSetStatus() {
	s.env.OnActivity(acts.SetOrderStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, t contract.Transition) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.transitions = append(s.transitions, t)
			return nil
		})
}

func (s *OrderWorkflowSuite) mockRecordPayment(tx string) {
	s.env.OnActivity(acts.RecordPayment, mock.Anything, mock.MatchedBy(func(p contract.Paid) bool {
		return p.OrderNo == orderNo && p.TransactionID == tx
	})).Return(nil).Once()
}

func (s *OrderWorkflowSuite) mockDeduct(err error) {
	s.env.OnActivity(acts.DeductStock, mock.Anything, contract.DeductStockInput{
		OrderNo: orderNo, Lines: []contract.Line{{ProductID: 1, Quantity: 2}},
	}).Return(err).Once()
}

func (s *OrderWorkflowSuite) mockFulfil() {
	s.env.OnActivity(acts.Fulfil, mock.Anything, contract.FulfilInput{OrderNo: orderNo, PointsPerYuan: 1}).
		Return(&contract.Delivered{Points: 136}, nil).Once()
}

// mockRefund expects the automatic full refund of a paid order that cannot
// be fulfilled, run as a child workflow; it ends with orderStatus, or fails.
func (s *OrderWorkflowSuite) mockRefund(reasonPrefix, orderStatus string, err error) {
	s.env.RegisterWorkflow(workflows.RefundWorkflow)
	var out *contract.RefundOutcome
	if err == nil {
		out = &contract.RefundOutcome{RefundNo: contract.AutoRefundNo(orderNo), OrderNo: orderNo,
			Status: contract.RefundSucceeded, AmountCents: amountCents, OrderStatus: orderStatus}
	}
	s.env.OnWorkflow(workflows.RefundWorkflow, mock.Anything, mock.MatchedBy(func(in contract.RefundInput) bool {
		return in.RefundNo == contract.AutoRefundNo(orderNo) && in.OrderNo == orderNo &&
			in.AmountCents == 0 && strings.HasPrefix(in.Reason, reasonPrefix)
	})).Return(out, err).Once()
}

// forbidRest makes every activity without a matching expectation fail, and
// records the call so AssertActivityNotCalled / call counts see it. It must
// be registered after the test's own expectations (testify uses the first
// expectation that still has calls left).
func (s *OrderWorkflowSuite) forbidRest() {
	unexpected := func(name string) error {
		return temporal.NewNonRetryableApplicationError("unexpected call of "+name, "Unexpected", nil)
	}
	s.env.OnActivity(acts.CreateOrder, mock.Anything, mock.Anything).
		Return((*contract.CreateOrderResult)(nil), unexpected("CreateOrder")).Maybe()
	s.env.OnActivity(s.acts.Prepay, mock.Anything, mock.Anything).
		Return((*contract.PrepayResult)(nil), unexpected("Prepay")).Maybe()
	s.env.OnActivity(acts.SetOrderStatus, mock.Anything, mock.Anything).
		Return(unexpected("SetOrderStatus")).Maybe()
	s.env.OnActivity(acts.RecordPayment, mock.Anything, mock.Anything).
		Return(unexpected("RecordPayment")).Maybe()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, mock.Anything).
		Return((*contract.Trade)(nil), unexpected("QueryPayment")).Maybe()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, mock.Anything).
		Return(unexpected("ClosePayment")).Maybe()
	s.env.OnActivity(acts.DeductStock, mock.Anything, mock.Anything).
		Return(unexpected("DeductStock")).Maybe()
	s.env.OnActivity(acts.Fulfil, mock.Anything, mock.Anything).
		Return((*contract.Delivered)(nil), unexpected("Fulfil")).Maybe()
	s.env.OnActivity(acts.MoveDelivery, mock.Anything, mock.Anything).
		Return(unexpected("MoveDelivery")).Maybe()
	s.env.OnActivity(acts.CompletePaidOrder, mock.Anything, mock.Anything).
		Return((*contract.Delivered)(nil), unexpected("CompletePaidOrder")).Maybe()
}

// --- driving the workflow --------------------------------------------------

type updateOutcome struct {
	accepted, rejected, completed bool
	result                        *contract.PrepayResult
	raw                           any
	err                           error
}

// sendUpdate sends any update at d after the start.
func (s *OrderWorkflowSuite) sendUpdate(d time.Duration, name, id string, args ...any) *updateOutcome {
	out := &updateOutcome{}
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept: func() { out.accepted = true },
			OnReject: func(err error) { out.rejected, out.err = true, err },
			OnComplete: func(r any, err error) {
				out.completed, out.raw, out.err = true, r, err
				if p, ok := r.(*contract.PrepayResult); ok {
					out.result = p
				}
			},
		}, args...)
	}, d)
	return out
}

// sendPrepay sends the prepay update right after the start.
func (s *OrderWorkflowSuite) sendPrepay() *updateOutcome { return s.sendPrepayAt(0, "prepay-1") }

// sendPrepayAt sends a prepay update with its own id at d after the start.
func (s *OrderWorkflowSuite) sendPrepayAt(d time.Duration, id string) *updateOutcome {
	out := &updateOutcome{}
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(contract.UpdatePrepay, id, &testsuite.TestUpdateCallback{
			OnAccept: func() { out.accepted = true },
			OnReject: func(err error) { out.rejected, out.err = true, err },
			OnComplete: func(r any, err error) {
				out.completed, out.err = true, err
				if err == nil {
					out.result = s.decodePrepay(r)
				}
			},
		})
	}, d)
	return out
}

func (s *OrderWorkflowSuite) decodePrepay(r any) *contract.PrepayResult {
	if p, ok := r.(*contract.PrepayResult); ok {
		return p
	}
	b, err := json.Marshal(r)
	s.Require().NoError(err)
	var p contract.PrepayResult
	s.Require().NoError(json.Unmarshal(b, &p))
	return &p
}

func (s *OrderWorkflowSuite) signalAt(d time.Duration, ps ...contract.Paid) {
	s.env.RegisterDelayedCallback(func() {
		for _, p := range ps {
			s.env.SignalWorkflow(contract.SignalPaymentSucceeded, p)
		}
	}, d)
}

// stateAt queries the workflow state at d after the start.
func (s *OrderWorkflowSuite) stateAt(d time.Duration) *contract.OrderState {
	st := &contract.OrderState{}
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(contract.QueryState)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(st))
	}, d)
	return st
}

func (s *OrderWorkflowSuite) run(in contract.OrderInput) contract.OrderResult {
	s.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var res contract.OrderResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	return res
}

func (s *OrderWorkflowSuite) finalState() contract.OrderState {
	v, err := s.env.QueryWorkflow(contract.QueryState)
	s.Require().NoError(err)
	var st contract.OrderState
	s.Require().NoError(v.Get(&st))
	return st
}

func (s *OrderWorkflowSuite) statuses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.transitions))
	for i, t := range s.transitions {
		out[i] = t.Status
	}
	return out
}

func (s *OrderWorkflowSuite) lastTransition() contract.Transition {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Require().NotEmpty(s.transitions)
	return s.transitions[len(s.transitions)-1]
}

func (s *OrderWorkflowSuite) assertNotCalled(names ...string) {
	for _, n := range names {
		s.env.AssertActivityNotCalled(s.T(), n, mock.Anything, mock.Anything)
	}
}

// --- cases -------------------------------------------------------------------

func (s *OrderWorkflowSuite) TestHappyPath() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()

	upd := s.sendPrepay()
	waiting := s.stateAt(5 * time.Minute)
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))

	res := s.run(input())

	s.Equal(contract.OrderResult{OrderNo: orderNo, Status: contract.StatusCompleted, Points: 136}, res)
	s.Equal(10*time.Minute, s.env.Now().Sub(start), "completes when the notify arrives, not at the timeout")

	s.True(upd.accepted)
	s.True(upd.completed)
	s.NoError(upd.err)

	s.Equal(contract.StatusAwaitingPayment, waiting.Status)
	s.Equal(contract.StepAwaitPayment, waiting.Step)
	s.Equal(amountCents, waiting.AmountCents)
	s.Require().NotNil(waiting.Pay)
	s.Equal("wx-prepay-1", waiting.Pay.PrepayID)

	st := s.finalState()
	s.Equal(contract.StatusCompleted, st.Status)
	s.Equal(contract.StepDone, st.Step)
	s.Equal("tx-1", st.TransactionID)
	s.Zero(st.DuplicatePays)

	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusCompleted}, s.statuses())
	s.Equal(int64(136), s.lastTransition().Points, "points are recorded on the order")
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusPaid, contract.StatusCompleted}, s.attrStatus)
	s.assertNotCalled("QueryPayment", "ClosePayment")
	for _, n := range []string{"CreateOrder", "Prepay", "RecordPayment", "DeductStock", "Fulfil"} {
		s.env.AssertActivityNumberOfCalls(s.T(), n, 1)
	}
}

func (s *OrderWorkflowSuite) TestUpdateReturnsPrepayParams() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()

	upd := s.sendPrepay()
	s.signalAt(time.Minute, paid("tx-1", amountCents))
	s.run(input())

	s.Require().True(upd.completed)
	s.Require().NoError(upd.err)
	s.Require().NotNil(upd.result)
	want := prepayResult(start.Add(contract.DefaultPaymentTimeout))
	s.Equal(want.Channel, upd.result.Channel)
	s.Equal(want.PrepayID, upd.result.PrepayID)
	s.Equal(want.Params, upd.result.Params)
	s.True(want.ExpireAt.Equal(upd.result.ExpireAt))
	s.Nil(upd.result.Order, "before the lean path the status is written after the answer: the API reads it back")
	s.env.AssertActivityNumberOfCalls(s.T(), "Prepay", 1)
}

func (s *OrderWorkflowSuite) TestRepeatedSubmitGetsStoredParams() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()

	first := s.sendPrepay()
	again := s.sendPrepayAt(5*time.Minute, "prepay-2") // the buyer submits again
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	s.run(input())

	for _, u := range []*updateOutcome{first, again} {
		s.Require().True(u.completed)
		s.Require().NoError(u.err)
		s.Require().NotNil(u.result)
		s.Equal("wx-prepay-1", u.result.PrepayID)
	}
	s.env.AssertActivityNumberOfCalls(s.T(), "Prepay", 1)
}

func (s *OrderWorkflowSuite) TestTimeoutQueryNotPaidCloses() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, orderNo).
		Return(&contract.Trade{OutTradeNo: orderNo, State: "NOTPAY"}, nil).Once()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).Return(nil).Once()
	s.forbidRest()

	s.sendPrepay()
	waiting := s.stateAt(time.Hour)
	res := s.run(input())

	s.Equal(contract.OrderResult{OrderNo: orderNo, Status: contract.StatusClosed, Reason: "payment_timeout"}, res)
	s.GreaterOrEqual(s.env.Now().Sub(start), 2*time.Hour, "waited the whole payment timeout")
	s.Equal(contract.StepAwaitPayment, waiting.Step)

	st := s.finalState()
	s.Equal(contract.StatusClosed, st.Status)
	s.Equal("payment_timeout", st.Reason)
	s.Equal(contract.StepDone, st.Step)

	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusClosed}, s.statuses())
	s.Equal("payment_timeout", s.lastTransition().Reason)
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusClosed}, s.attrStatus)
	s.assertNotCalled("RecordPayment", "DeductStock", "Fulfil")
	s.env.AssertActivityNumberOfCalls(s.T(), "QueryPayment", 1)
	s.env.AssertActivityNumberOfCalls(s.T(), "ClosePayment", 1)
}

func (s *OrderWorkflowSuite) TestTimeoutButProviderSaysPaid() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, orderNo).Return(&contract.Trade{
		OutTradeNo: orderNo, TransactionID: "tx-q", Paid: true, State: "SUCCESS",
		AmountCents: amountCents, PaidAt: start.Add(time.Hour),
	}, nil).Once()
	s.env.OnActivity(acts.RecordPayment, mock.Anything, mock.MatchedBy(func(p contract.Paid) bool {
		return p.TransactionID == "tx-q" && p.Source == "query" && p.AmountCents == amountCents
	})).Return(nil).Once()
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()

	s.sendPrepay()
	res := s.run(input())

	s.Equal(contract.OrderResult{OrderNo: orderNo, Status: contract.StatusCompleted, Points: 136}, res)
	s.GreaterOrEqual(s.env.Now().Sub(start), 2*time.Hour)
	s.Equal("tx-q", s.finalState().TransactionID)
	s.assertNotCalled("ClosePayment")
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusCompleted}, s.statuses())
}

func (s *OrderWorkflowSuite) TestCloseSaysAlreadyPaidRequeries() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, orderNo).
		Return(&contract.Trade{OutTradeNo: orderNo, State: "NOTPAY"}, nil).Once()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).
		Return(businessErr(string(contract.ErrAlreadyPaid), "provider order already paid")).Once()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, orderNo).Return(&contract.Trade{
		OutTradeNo: orderNo, TransactionID: "tx-late", Paid: true, State: "SUCCESS",
		AmountCents: amountCents, PaidAt: start.Add(2 * time.Hour),
	}, nil).Once()
	s.mockRecordPayment("tx-late")
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()

	s.sendPrepay()
	res := s.run(input())

	s.Equal(contract.OrderResult{OrderNo: orderNo, Status: contract.StatusCompleted, Points: 136}, res)
	s.env.AssertActivityNumberOfCalls(s.T(), "QueryPayment", 2)
	s.env.AssertActivityNumberOfCalls(s.T(), "ClosePayment", 1)
	s.NotContains(s.statuses(), contract.StatusClosed)
	s.Equal("tx-late", s.finalState().TransactionID)
}

func (s *OrderWorkflowSuite) TestOutOfStockAtFirstCheckRejects() {
	s.env.OnActivity(acts.CreateOrder, mock.Anything, mock.Anything).
		Return((*contract.CreateOrderResult)(nil), businessErr(string(contract.ErrOutOfStock), "out of stock: product 1 has 1, 2 wanted")).Once()
	s.forbidRest()

	upd := s.sendPrepay()
	res := s.run(input())

	s.Equal(contract.StatusRejected, res.Status)
	s.Equal(orderNo, res.OrderNo)
	s.Contains(res.Reason, "out of stock")

	s.True(upd.accepted)
	s.Require().True(upd.completed, "the buyer gets an answer")
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(upd.err, &appErr), "update error %v", upd.err)
	s.Equal(string(contract.ErrOutOfStock), appErr.Type())
	s.Nil(upd.result)

	st := s.finalState()
	s.Equal(contract.StatusRejected, st.Status)
	s.Equal(contract.StepDone, st.Step)
	s.Equal([]string{contract.StatusRejected}, s.attrStatus)
	s.assertNotCalled("Prepay", "SetOrderStatus", "RecordPayment", "DeductStock", "Fulfil", "QueryPayment", "ClosePayment")
}

func (s *OrderWorkflowSuite) TestOutOfStockAtDeductIsPaidUnfulfilled() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(businessErr(string(contract.ErrOutOfStock), "out of stock: product 1 for order "+orderNo))
	s.mockRefund("out_of_stock: ", contract.StatusRefunded, nil)
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	res := s.run(input())

	// Marked paid_unfulfilled (with the reason), then refunded in full.
	s.Equal(contract.StatusRefunded, res.Status)
	s.True(strings.HasPrefix(res.Reason, "out_of_stock: "), res.Reason)
	s.Zero(res.Points)
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusPaidUnfulfilled}, s.statuses())
	s.True(strings.HasPrefix(s.lastTransition().Reason, "out_of_stock: "))
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusPaid, contract.StatusPaidUnfulfilled, contract.StatusRefunded}, s.attrStatus)
	st := s.finalState()
	s.Equal(contract.StatusRefunded, st.Status)
	s.Equal(contract.AutoRefundNo(orderNo), st.RefundNo)
	s.assertNotCalled("Fulfil", "QueryPayment", "ClosePayment")
	s.env.AssertActivityNumberOfCalls(s.T(), "DeductStock", 1)
}

// autoRefundFails makes the automatic refund refundNo fail with err.
func (s *OrderWorkflowSuite) autoRefundFails(refundNo string, err error) {
	s.env.OnWorkflow(workflows.RefundWorkflow, mock.Anything, mock.MatchedBy(func(in contract.RefundInput) bool {
		return in.RefundNo == refundNo && in.OrderNo == orderNo && in.AmountCents == 0
	})).Return(nil, err).Once()
}

// autoRefundSucceeds makes the automatic refund refundNo succeed.
func (s *OrderWorkflowSuite) autoRefundSucceeds(refundNo string) {
	s.env.OnWorkflow(workflows.RefundWorkflow, mock.Anything, mock.MatchedBy(func(in contract.RefundInput) bool {
		return in.RefundNo == refundNo && in.OrderNo == orderNo
	})).Return(&contract.RefundOutcome{RefundNo: refundNo, OrderNo: orderNo, Status: contract.RefundSucceeded,
		AmountCents: amountCents, OrderStatus: contract.StatusRefunded}, nil).Once()
}

// reasons records every SetOrderReason call.
func (s *OrderWorkflowSuite) mockSetReason() *[]contract.Transition {
	var got []contract.Transition
	s.env.OnActivity(acts.SetOrderReason, mock.Anything, mock.Anything).Return(
		func(_ context.Context, t contract.Transition) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			got = append(got, t)
			return nil
		})
	return &got
}

// outOfStockPaid drives an order that is paid, then finds its stock gone.
func (s *OrderWorkflowSuite) outOfStockPaid() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(businessErr(string(contract.ErrOutOfStock), "out of stock: product 1 for order "+orderNo))
	s.env.RegisterWorkflow(workflows.RefundWorkflow)
}

// An automatic refund that fails at the provider is not the end: the order
// stays paid_unfulfilled (its reason names the failed refund, visible to
// the state query and in the record) and the refund is retried an hour
// later under a new number, which succeeds.
func (s *OrderWorkflowSuite) TestFailedAutoRefundIsRetriedWithNewNumber() {
	s.outOfStockPaid()
	reasons := s.mockSetReason()
	s.autoRefundFails(contract.AutoRefundNo(orderNo), businessErr(string(contract.ErrRefundFailed), "refund did not succeed at the provider: wechat refund ABNORMAL"))
	s.autoRefundSucceeds(orderNo + "_AR2")
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	waiting := s.stateAt(10*time.Minute + 30*time.Minute)
	res := s.run(input())

	s.Equal(contract.StatusPaidUnfulfilled, waiting.Status, "visible for an operator while it waits")
	s.Equal(contract.StepAwaitRefundDecision, waiting.Step)
	s.Contains(waiting.Reason, orderNo+"_AR failed: refund did not succeed at the provider: wechat refund ABNORMAL")
	s.Require().Len(*reasons, 1)
	s.Equal(contract.StatusPaidUnfulfilled, (*reasons)[0].Status)
	s.Contains((*reasons)[0].Reason, "out_of_stock: ")
	s.Contains((*reasons)[0].Reason, orderNo+"_AR failed")

	s.Equal(contract.StatusRefunded, res.Status)
	st := s.finalState()
	s.Equal(orderNo+"_AR2", st.RefundNo)
	s.Equal(contract.StatusRefunded, st.Status)
	s.GreaterOrEqual(s.env.Now().Sub(start), 10*time.Minute+time.Hour, "retried after the backoff")
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusPaid, contract.StatusPaidUnfulfilled, contract.StatusRefunded}, s.attrStatus)
}

// A refund workflow that failed without a final refund (its provider call
// gave up, say) is retried under the same refund number.
func (s *OrderWorkflowSuite) TestTransientAutoRefundFailureKeepsTheNumber() {
	s.outOfStockPaid()
	s.mockSetReason()
	s.autoRefundFails(contract.AutoRefundNo(orderNo), errors.New("activity ScheduleToClose timeout"))
	s.autoRefundSucceeds(contract.AutoRefundNo(orderNo))
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	res := s.run(input())
	s.Equal(contract.StatusRefunded, res.Status)
	s.Equal(contract.AutoRefundNo(orderNo), s.finalState().RefundNo)
}

// An operator may retry at once (resolve-refund "retry") or end the
// retries when the money was settled by hand ("settled"); the order then
// stays paid_unfulfilled with the operator's note.
func (s *OrderWorkflowSuite) TestFailedAutoRefundResolvedByOperator() {
	s.outOfStockPaid()
	reasons := s.mockSetReason()
	failed := businessErr(string(contract.ErrRefundFailed), "refund did not succeed at the provider")
	s.autoRefundFails(contract.AutoRefundNo(orderNo), failed)
	s.autoRefundFails(orderNo+"_AR2", failed)
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(contract.SignalResolveRefund, contract.ResolveRefund{Action: contract.ResolveRetry})
	}, 15*time.Minute)
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(contract.SignalResolveRefund, contract.ResolveRefund{Action: contract.ResolveSettled, Note: "paid back by bank transfer"})
	}, 20*time.Minute)
	res := s.run(input())

	s.Equal(contract.StatusPaidUnfulfilled, res.Status)
	s.Contains(res.Reason, "refund settled by an operator: paid back by bank transfer")
	s.Len(*reasons, 3)
	s.Less(s.env.Now().Sub(start), time.Hour, "the operator's retry did not wait for the backoff")
}

// Retries are bounded: after AutoRefundAttempts failures only an operator
// starts another, so a refund that keeps failing cannot grow the order's
// history without end.
func (s *OrderWorkflowSuite) TestAutoRefundRetriesAreBounded() {
	s.outOfStockPaid()
	s.mockSetReason()
	failed := businessErr(string(contract.ErrRefundFailed), "refund did not succeed at the provider")
	for i := 1; i <= workflows.AutoRefundAttempts; i++ {
		s.autoRefundFails(contract.AutoRefundRetryNo(orderNo, i), failed)
	}
	s.forbidRest()

	var timers int
	s.env.SetOnTimerScheduledListener(func(string, time.Duration) { timers++ })
	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(contract.SignalResolveRefund, contract.ResolveRefund{Action: contract.ResolveSettled})
	}, 60*24*time.Hour)
	res := s.run(input())

	s.Equal(contract.StatusPaidUnfulfilled, res.Status)
	s.env.AssertWorkflowNumberOfCalls(s.T(), "RefundWorkflow", workflows.AutoRefundAttempts)
	s.LessOrEqual(timers, workflows.AutoRefundAttempts+1, "one backoff timer per automatic attempt (plus the payment window)")
}

func (s *OrderWorkflowSuite) TestDuplicateNotifiesFulfilOnce() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()

	s.sendPrepay()
	p := paid("tx-1", amountCents)
	s.signalAt(10*time.Minute, p, p, p)
	res := s.run(input())

	s.Equal(contract.StatusCompleted, res.Status)
	for _, n := range []string{"RecordPayment", "DeductStock", "Fulfil"} {
		s.env.AssertActivityNumberOfCalls(s.T(), n, 1)
	}
	st := s.finalState()
	s.Equal(2, st.DuplicatePays)
	s.Equal("tx-1", st.TransactionID)
}

func (s *OrderWorkflowSuite) TestPaidAmountMismatchIsPaidUnfulfilled() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockRefund("amount_mismatch", contract.StatusRefunded, nil)
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", 1))
	res := s.run(input())

	s.Equal(contract.StatusRefunded, res.Status)
	s.True(strings.HasPrefix(res.Reason, "amount_mismatch"), res.Reason)
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusPaidUnfulfilled}, s.statuses())
	s.Equal(res.Reason, s.lastTransition().Reason)
	s.env.AssertActivityNumberOfCalls(s.T(), "RecordPayment", 1)
	s.assertNotCalled("DeductStock", "Fulfil")
}

func (s *OrderWorkflowSuite) TestPrepayRejectedCloses() {
	s.mockCreate()
	s.env.OnActivity(s.acts.Prepay, mock.Anything, mock.Anything).Return((*contract.PrepayResult)(nil),
		businessErr(string(contract.ErrProviderRejected), "provider rejected the request: INVALID_REQUEST")).Once()
	s.mockSetStatus()
	s.forbidRest()

	upd := s.sendPrepay()
	res := s.run(input())

	s.Equal(contract.StatusClosed, res.Status)
	s.True(strings.HasPrefix(res.Reason, "prepay_failed"), res.Reason)
	s.Contains(res.Reason, "INVALID_REQUEST")
	s.Less(s.env.Now().Sub(start), time.Hour, "does not wait for a payment that cannot come")

	s.Require().True(upd.completed)
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(upd.err, &appErr), "update error %v", upd.err)
	s.Equal(string(contract.ErrProviderRejected), appErr.Type())

	s.Equal([]string{contract.StatusClosed}, s.statuses())
	s.Equal([]string{contract.StatusClosed}, s.attrStatus)
	s.env.AssertActivityNumberOfCalls(s.T(), "Prepay", 1)
	s.assertNotCalled("QueryPayment", "ClosePayment", "RecordPayment", "DeductStock", "Fulfil")
}

func (s *OrderWorkflowSuite) TestConfigurablePaymentTimeout() {
	const timeout = 30 * time.Minute
	s.mockCreate()
	s.mockPrepay(timeout) // the provider order expires with the workflow's timeout
	s.mockSetStatus()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, orderNo).
		Return(&contract.Trade{OutTradeNo: orderNo, State: "NOTPAY"}, nil).Once()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).Return(nil).Once()
	s.forbidRest()

	var queriedAt time.Time
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "QueryPayment" {
			queriedAt = s.env.Now()
		}
	})

	s.sendPrepay()
	in := input()
	in.PaymentTimeout = timeout
	res := s.run(in)

	s.Equal(contract.StatusClosed, res.Status)
	s.Equal("payment_timeout", res.Reason)
	s.Require().False(queriedAt.IsZero(), "provider was queried")
	s.Equal(timeout, queriedAt.Sub(start), "asks the provider when the configured timeout fires")
	s.Less(s.env.Now().Sub(start), contract.DefaultPaymentTimeout)
}

func (s *OrderWorkflowSuite) TestCancelBeforePayment() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).Return(nil).Once()
	s.forbidRest()

	s.sendPrepay()
	cancel := s.sendUpdate(5*time.Minute, contract.UpdateCancel, "cancel-1")
	res := s.run(input())

	s.Equal(contract.OrderResult{OrderNo: orderNo, Status: contract.StatusCancelled, Reason: "cancelled_by_buyer"}, res)
	s.Equal(5*time.Minute, s.env.Now().Sub(start), "does not wait for the timeout")
	s.Require().True(cancel.completed)
	s.Require().NoError(cancel.err)
	s.Equal(&contract.CancelResult{Status: contract.StatusCancelled, Reason: "cancelled_by_buyer"}, cancel.raw)
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusCancelled}, s.statuses())
	s.assertNotCalled("QueryPayment", "RecordPayment", "DeductStock", "Fulfil")
}

func (s *OrderWorkflowSuite) TestCancelRacingPaymentIsRefunded() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).
		Return(businessErr(string(contract.ErrAlreadyPaid), "provider order already paid")).Once()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, orderNo).Return(&contract.Trade{
		OutTradeNo: orderNo, TransactionID: "tx-1", Paid: true, State: "SUCCESS", AmountCents: amountCents,
	}, nil).Once()
	s.mockRecordPayment("tx-1")
	s.mockRefund("cancelled_after_payment", contract.StatusRefunded, nil)
	s.forbidRest()

	s.sendPrepay()
	cancel := s.sendUpdate(5*time.Minute, contract.UpdateCancel, "cancel-1")
	res := s.run(input())

	s.Equal(contract.StatusRefunded, res.Status, "the money is never kept for a cancelled order")
	s.Require().True(cancel.completed)
	s.Equal(&contract.CancelResult{Status: contract.StatusRefunded, Reason: "cancelled_after_payment"}, cancel.raw)
	s.assertNotCalled("DeductStock", "Fulfil")
}

func (s *OrderWorkflowSuite) TestRepaySameChannelReturnsCurrentParams() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()

	s.sendPrepay()
	repay := s.sendUpdate(5*time.Minute, contract.UpdateRepay, "repay-1", contract.RepayRequest{PayChannel: contract.ChannelWeChatJSAPI})
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	s.run(input())

	s.Require().True(repay.completed)
	s.Require().NoError(repay.err)
	s.Require().NotNil(repay.result)
	s.Equal("wx-prepay-1", repay.result.PrepayID)
	s.env.AssertActivityNumberOfCalls(s.T(), "Prepay", 1)
	s.assertNotCalled("ClosePayment")
}

func (s *OrderWorkflowSuite) TestRepayOtherChannelOpensNewAttempt() {
	const second = orderNo + "_2"
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).Return(nil).Once()
	s.env.OnActivity(s.acts.Prepay, mock.Anything, mock.MatchedBy(func(in contract.PrepayInput) bool {
		r := in.Request
		return r.TradeNo() == second && r.Channel == contract.ChannelWeChatNative &&
			r.AmountCents == amountCents && r.ExpireAt.Equal(start.Add(contract.DefaultPaymentTimeout))
	})).Return(&contract.PrepayResult{Channel: contract.ChannelWeChatNative, OutTradeNo: second,
		Params: map[string]string{"code_url": "weixin://pay/2"}, ExpireAt: start.Add(contract.DefaultPaymentTimeout)}, nil).Once()
	s.env.OnActivity(acts.RecordPayment, mock.Anything, mock.MatchedBy(func(p contract.Paid) bool {
		return p.TransactionID == "tx-2" && p.OutTradeNo == second
	})).Return(nil).Once()
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()

	s.sendPrepay()
	repay := s.sendUpdate(5*time.Minute, contract.UpdateRepay, "repay-1", contract.RepayRequest{PayChannel: contract.ChannelWeChatNative})
	state := s.stateAt(6 * time.Minute)
	p := paid("tx-2", amountCents)
	p.OutTradeNo = second
	s.signalAt(10*time.Minute, p)
	res := s.run(input())

	s.Equal(contract.StatusCompleted, res.Status)
	s.Require().True(repay.completed)
	s.Require().NoError(repay.err)
	s.Require().NotNil(repay.result)
	s.Equal("weixin://pay/2", repay.result.Params["code_url"])
	s.Equal(2, state.Attempt)
	s.Equal(contract.ChannelWeChatNative, state.PayChannel)
	s.env.AssertActivityNumberOfCalls(s.T(), "Prepay", 2)
	s.env.AssertActivityNumberOfCalls(s.T(), "ClosePayment", 1)
}

func (s *OrderWorkflowSuite) TestRepayRefusedAfterPayment() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(nil)
	// Fulfilment takes a while, so the order is still running when the
	// buyer tries to pay again.
	s.env.OnActivity(acts.Fulfil, mock.Anything, mock.Anything).After(time.Minute).
		Return(&contract.Delivered{Points: 136}, nil).Once()
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	repay := s.sendUpdate(10*time.Minute+time.Second, contract.UpdateRepay, "repay-1", contract.RepayRequest{PayChannel: contract.ChannelWeChatNative})
	res := s.run(input())

	s.Equal(contract.StatusCompleted, res.Status)
	s.True(repay.rejected, "rejected by the validator")
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(repay.err, &appErr), "%v", repay.err)
	s.Equal(string(contract.ErrNotPayable), appErr.Type())
	s.env.AssertActivityNumberOfCalls(s.T(), "Prepay", 1)
	s.assertNotCalled("ClosePayment")
}

func (s *OrderWorkflowSuite) TestRepayWhosePrepayFailsThenTimesOut() {
	// The old attempt is closed, the new one was refused by the provider:
	// at the timeout the order must still close, not wait on an attempt
	// that never existed.
	const second = orderNo + "_2"
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).Return(nil).Once()
	s.env.OnActivity(s.acts.Prepay, mock.Anything, mock.MatchedBy(func(in contract.PrepayInput) bool {
		return in.Request.TradeNo() == second
	})).Return((*contract.PrepayResult)(nil), businessErr(string(contract.ErrProviderRejected), "provider rejected the request")).Once()
	// What the real activities answer: the first attempt is closed at the
	// provider; the second was never recorded, so the payment service does
	// not know it (payments.ErrNotFound, which is retryable).
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, orderNo).
		Return(&contract.Trade{OutTradeNo: orderNo, State: "CLOSED"}, nil).Maybe()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, second).
		Return((*contract.Trade)(nil), fmt.Errorf("%w: %s", payments.ErrNotFound, second)).Maybe()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).Return(nil).Maybe()
	s.forbidRest()

	s.sendPrepay()
	repay := s.sendUpdate(5*time.Minute, contract.UpdateRepay, "repay-1", contract.RepayRequest{PayChannel: contract.ChannelWeChatNative})
	res := s.run(input())

	s.Require().True(repay.completed)
	s.Error(repay.err)
	s.Equal(contract.StatusClosed, res.Status)
	s.Equal("payment_timeout", res.Reason)
	s.Less(s.env.Now().Sub(start), 3*time.Hour, "settled at the timeout, not after a day of retries")
	s.assertNotCalledWith("QueryPayment", second)
}

func (s *OrderWorkflowSuite) assertNotCalledWith(name string, arg any) {
	s.env.AssertActivityNotCalled(s.T(), name, mock.Anything, arg)
}

// A payment signalled while the order is being closed (after its last look
// at the provider) is handed to the late-payment workflow, not dropped.
func (s *OrderWorkflowSuite) TestPaymentDuringCloseIsHandedOver() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.env.OnActivity(acts.SetOrderStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, t contract.Transition) error {
			if t.Status == contract.StatusClosed {
				s.env.SignalWorkflow(contract.SignalPaymentSucceeded, paid("tx-late", amountCents))
			}
			return nil
		})
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, orderNo).
		Return(&contract.Trade{OutTradeNo: orderNo, State: "NOTPAY"}, nil).Once()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).Return(nil).Once()
	s.env.RegisterWorkflow(workflows.LatePaymentWorkflow)
	s.env.OnWorkflow(workflows.LatePaymentWorkflow, mock.Anything, mock.MatchedBy(func(p contract.Paid) bool {
		return p.TransactionID == "tx-late" && p.OutTradeNo == orderNo
	})).Return(&contract.RefundOutcome{}, nil).Once()

	s.sendPrepay()
	res := s.run(input())
	s.Equal(contract.StatusClosed, res.Status)
	s.assertNotCalled("RecordPayment", "DeductStock", "Fulfil")
}

// acts references the activities by method, as the workflows do.
var acts *activities.Activities

// A payment of 0 cents that cannot be fulfilled has nothing to refund
// (payments.OpenRefund refuses it): the order is marked paid_unfulfilled
// and then refunded without a refund workflow, instead of a refund
// workflow that fails and leaves it paid_unfulfilled ("money at risk").
func (s *OrderWorkflowSuite) TestZeroPaymentUnfulfillableStartsNoRefund() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.forbidRest()
	s.env.RegisterWorkflow(workflows.RefundWorkflow)
	s.env.OnWorkflow(workflows.RefundWorkflow, mock.Anything, mock.Anything).
		Return((*contract.RefundOutcome)(nil), businessErr(string(contract.ErrNotRefundable), "free orders have nothing to refund")).Maybe()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", 0))
	res := s.run(input())

	s.Equal(contract.StatusRefunded, res.Status)
	s.True(strings.HasPrefix(res.Reason, "amount_mismatch: paid 0"), res.Reason)
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusPaidUnfulfilled, contract.StatusRefunded}, s.statuses())
	s.Empty(s.finalState().RefundNo, "no refund workflow")
	s.assertNotCalled("DeductStock", "Fulfil")
}
