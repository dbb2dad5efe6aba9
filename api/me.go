package api

import (
	"time"

	"github.com/gofiber/fiber/v2"
)

// recentEntries is how many points and wallet entries GET /api/v1/me shows.
const recentEntries = 20

// MeView answers GET /api/v1/me: the buyer's account at a glance.
type MeView struct {
	UserID       uint              `json:"user_id"`
	Points       int64             `json:"points"`
	MemberUntil  *time.Time        `json:"member_until"` // null: never a member
	Member       bool              `json:"member"`       // member_until is in the future
	BalanceCents int64             `json:"balance"`
	PointsLog    []PointsEntryView `json:"points_entries"` // newest first, at most 20
	WalletLog    []WalletEntryView `json:"wallet_entries"` // newest first, at most 20
}

// PointsEntryView is one change of a buyer's points.
type PointsEntryView struct {
	OrderNo   string    `json:"order_no"`
	Reason    string    `json:"reason"`
	Points    int64     `json:"points"` // signed: take-backs are negative
	CreatedAt time.Time `json:"created_at"`
}

// WalletEntryView is one change of a buyer's wallet, in cents.
type WalletEntryView struct {
	Ref          string    `json:"ref"`
	Kind         string    `json:"kind"`
	AmountCents  int64     `json:"amount"` // signed: debits are negative
	BalanceAfter int64     `json:"balance_after"`
	CreatedAt    time.Time `json:"created_at"`
}

// getMe answers GET /api/v1/me.
func (s *Server) getMe(c *fiber.Ctx) error {
	ctx, cancel := s.ctx(c)
	defer cancel()
	uid := principal(c).UserID
	u, err := s.Users.Get(ctx, uid)
	if err != nil {
		return s.shopError(c, err, "account")
	}
	bal, err := s.Wallet.Balance(ctx, uid)
	if err != nil {
		return s.shopError(c, err, "wallet")
	}
	points, err := s.Rewards.Recent(ctx, uid, recentEntries)
	if err != nil {
		return s.shopError(c, err, "points")
	}
	wallet, err := s.Wallet.Recent(ctx, uid, recentEntries)
	if err != nil {
		return s.shopError(c, err, "wallet")
	}
	v := MeView{
		UserID: u.ID, Points: u.Points, MemberUntil: u.MemberUntil, BalanceCents: bal,
		Member:    u.MemberUntil != nil && u.MemberUntil.After(time.Now()),
		PointsLog: make([]PointsEntryView, 0, len(points)), WalletLog: make([]WalletEntryView, 0, len(wallet)),
	}
	for _, p := range points {
		v.PointsLog = append(v.PointsLog, PointsEntryView{OrderNo: p.OrderNo, Reason: p.Reason, Points: p.Points, CreatedAt: p.CreatedAt})
	}
	for _, e := range wallet {
		v.WalletLog = append(v.WalletLog, WalletEntryView{Ref: e.Ref, Kind: e.Kind, AmountCents: e.AmountCents, BalanceAfter: e.BalanceAfter, CreatedAt: e.CreatedAt})
	}
	return c.JSON(v)
}
