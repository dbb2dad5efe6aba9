package admins

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Audit outcomes.
const (
	OutcomeOK      = "ok"      // the action was done (2xx)
	OutcomeDenied  = "denied"  // not signed in, wrong credentials or the role does not allow it (401, 403)
	OutcomeRefused = "refused" // refused for what was asked (other 4xx): nothing changed
	OutcomeFailed  = "failed"  // the service failed (5xx)
)

// OutcomeOf names the outcome of an HTTP answer.
func OutcomeOf(status int) string {
	switch {
	case status < 400:
		return OutcomeOK
	case status == 401 || status == 403:
		return OutcomeDenied
	case status < 500:
		return OutcomeRefused
	default:
		return OutcomeFailed
	}
}

// AuditEntry is one admin action: who (admin id and username; for a failed
// login the username tried), what (action, target order or refund or admin
// account, details), when, from where (client IP, user agent) and the
// outcome with its HTTP status.
type AuditEntry struct {
	ID        uint      `gorm:"primaryKey" json:"id"`
	At        time.Time `gorm:"not null;index" json:"at"`
	AdminID   *uint     `gorm:"index" json:"admin_id,omitempty"`
	Username  string    `gorm:"size:64" json:"username"`
	Role      Role      `gorm:"size:16" json:"role,omitempty"`
	Action    string    `gorm:"size:48;not null;index" json:"action"`
	OrderNo   string    `gorm:"size:64;index" json:"order_no,omitempty"`
	RefundNo  string    `gorm:"size:64" json:"refund_no,omitempty"`
	TargetID  *uint     `json:"target_admin_id,omitempty"` // the admin account an account change is about
	Detail    string    `gorm:"size:500" json:"detail,omitempty"`
	Outcome   string    `gorm:"size:16;not null" json:"outcome"`
	Status    int       `gorm:"not null" json:"status"`
	IP        string    `gorm:"size:64" json:"ip"`
	UserAgent string    `gorm:"size:255" json:"user_agent"`
}

// TableName is the audit log's table.
func (AuditEntry) TableName() string { return "admin_audit" }

// Record appends an entry to the audit log; At defaults to now. Long texts
// are cut to their column's size.
func (s *Service) Record(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now().UTC()
	}
	e.Action, e.Role, e.Outcome = cut(e.Action, 48), Role(cut(string(e.Role), 16)), cut(e.Outcome, 16)
	e.Username = cut(e.Username, 64)
	e.OrderNo = cut(e.OrderNo, 64)
	e.RefundNo = cut(e.RefundNo, 64)
	e.Detail = cut(e.Detail, 500)
	e.IP = cut(e.IP, 64)
	e.UserAgent = cut(e.UserAgent, 255)
	if err := s.db.WithContext(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("write audit entry %s: %w", e.Action, err)
	}
	return nil
}

// AuditQuery selects a page of the audit log, newest first.
type AuditQuery struct {
	Before  uint   // only entries with a smaller id (the previous page's next_before); 0: from the newest
	Limit   int    // page size, 1 to 200 (default 50)
	AdminID uint   // only this admin's actions
	Action  string // only this action
	OrderNo string // only entries about this order
}

// AuditPage is one page of the audit log; NextBefore is 0 on the last page.
type AuditPage struct {
	Entries    []AuditEntry `json:"entries"`
	NextBefore uint         `json:"next_before,omitempty"`
}

// Audit reads a page of the audit log, newest first.
func (s *Service) Audit(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	db := s.db.WithContext(ctx).Model(&AuditEntry{})
	if q.Before > 0 {
		db = db.Where("id < ?", q.Before)
	}
	if q.AdminID > 0 {
		db = db.Where("admin_id = ?", q.AdminID)
	}
	if q.Action != "" {
		db = db.Where("action = ?", q.Action)
	}
	if q.OrderNo != "" {
		db = db.Where("order_no = ?", q.OrderNo)
	}
	page := &AuditPage{Entries: []AuditEntry{}}
	if err := db.Order("id DESC").Limit(q.Limit + 1).Find(&page.Entries).Error; err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	if len(page.Entries) > q.Limit {
		page.Entries = page.Entries[:q.Limit]
		page.NextBefore = page.Entries[q.Limit-1].ID
	}
	return page, nil
}

// cut makes s valid UTF-8 (headers may be anything) and shortens it to at
// most n bytes without splitting a character.
func cut(s string, n int) string {
	// Audited text comes from requests: it may be any bytes, and PostgreSQL
	// text refuses invalid UTF-8 and NUL.
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
