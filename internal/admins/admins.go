// Package admins owns the operators' accounts: a username, a bcrypt password
// hash, a role and a disabled flag; their API tokens (random, stored only as
// a SHA-256 hash, revocable one by one or all at once); and the audit log of
// what every operator did through the admin API.
//
// Buyers and their tokens live apart, in internal/users: an admin token is
// never a buyer token and the other way round.
package admins

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Role is what an admin may do.
type Role string

// The roles. Each route of the admin API names the roles it admits.
const (
	RoleAdmin   Role = "admin"   // everything, including admin accounts and the audit log
	RoleFinance Role = "finance" // refunds, and every read
	RoleSupport Role = "support" // reads only: orders and refunds
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleFinance || r == RoleSupport }

// TokenPrefix starts every admin token, so that a token tells which kind it
// is without a database lookup.
const TokenPrefix = "adm_"

// Password bounds: bcrypt reads at most 72 bytes.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 72
)

var (
	// ErrUnauthorized means the token is unknown, expired or revoked, or
	// its admin is disabled.
	ErrUnauthorized = errors.New("invalid, expired or revoked admin token")
	// ErrBadCredentials means the username or the password is wrong, or the
	// account is disabled (the answer does not say which).
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrNotFound means no admin has that id.
	ErrNotFound = errors.New("admin not found")
	// ErrUsernameTaken means another admin has the username.
	ErrUsernameTaken = errors.New("username already taken")
	// ErrLastAdmin refuses a change that would leave no enabled admin with
	// the admin role.
	ErrLastAdmin = errors.New("the last enabled admin with role admin cannot be disabled or demoted")
	// ErrNoBootstrap means no admin exists and no bootstrap password is
	// configured: nobody could ever sign in.
	ErrNoBootstrap = errors.New("no admin account exists and no bootstrap password is configured: " +
		"set ADMIN_BOOTSTRAP_PASSWORD or ADMIN_BOOTSTRAP_PASSWORD_FILE (and optionally ADMIN_BOOTSTRAP_USER)")
)

// InvalidError is a refused input (bad username, password or role).
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return e.Reason }

// Admin is an operator account.
type Admin struct {
	ID           uint      `gorm:"primaryKey" json:"id"`
	Username     string    `gorm:"size:64;not null;uniqueIndex" json:"username"`
	PasswordHash string    `gorm:"size:100;not null" json:"-"`
	Role         Role      `gorm:"size:16;not null" json:"role"`
	Disabled     bool      `gorm:"not null;default:false" json:"disabled"`
	CreatedBy    string    `gorm:"size:64" json:"created_by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Token is a stored admin token (hash only).
type Token struct {
	ID        uint       `gorm:"primaryKey"`
	Hash      string     `gorm:"size:64;not null;uniqueIndex"`
	AdminID   uint       `gorm:"not null;index"`
	ExpiresAt time.Time  `gorm:"not null"`
	RevokedAt *time.Time `gorm:"index"`
	CreatedAt time.Time
}

// TableName keeps admin tokens apart from the buyers' tokens table.
func (Token) TableName() string { return "admin_tokens" }

// Principal is the admin a request acts for.
type Principal struct {
	AdminID  uint
	Username string
	Role     Role
}

// Can reports whether the principal has one of roles; the admin role has
// every right.
func (p *Principal) Can(roles ...Role) bool {
	if p == nil {
		return false
	}
	if p.Role == RoleAdmin {
		return true
	}
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// Login is a signed-in admin and their new token.
type Login struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Admin     Admin     `json:"admin"`
}

// Service manages admin accounts, their tokens and the audit log.
type Service struct {
	db   *gorm.DB
	ttl  time.Duration
	cost int
	now  func() time.Time
}

// NewService returns an admin service issuing tokens valid for ttl.
func NewService(db *gorm.DB, ttl time.Duration) *Service {
	return &Service{db: db, ttl: ttl, cost: bcrypt.DefaultCost, now: time.Now}
}

// dummyHash is compared against when the username is unknown, so a wrong
// username costs as long as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such admin, same cost"), bcrypt.DefaultCost)

// EnsureBootstrap creates the first admin (role admin) when no admin exists
// at all. Once any admin exists it does nothing: the configured password is
// not applied again, so changing it later through the API sticks. With no
// admin and an empty password it returns ErrNoBootstrap.
func (s *Service) EnsureBootstrap(ctx context.Context, username, password string) (created bool, err error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&Admin{}).Count(&n).Error; err != nil {
		return false, fmt.Errorf("count admins: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if password == "" {
		return false, ErrNoBootstrap
	}
	a, err := s.newAdmin(username, password, RoleAdmin, "bootstrap")
	if err != nil {
		return false, fmt.Errorf("bootstrap admin: %w", err)
	}
	// Two processes starting at once: the unique username lets one win.
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "username"}}, DoNothing: true}).Create(a)
	if res.Error != nil {
		return false, fmt.Errorf("store bootstrap admin: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

func (s *Service) newAdmin(username, password string, role Role, by string) (*Admin, error) {
	username = strings.TrimSpace(username)
	if err := checkUsername(username); err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, &InvalidError{fmt.Sprintf("role %q: want admin, finance or support", role)}
	}
	hash, err := s.hash(password)
	if err != nil {
		return nil, err
	}
	return &Admin{Username: username, PasswordHash: hash, Role: role, CreatedBy: by}, nil
}

func checkUsername(u string) error {
	if u == "" || utf8.RuneCountInString(u) > 64 || strings.ContainsAny(u, " \t\r\n") {
		return &InvalidError{"username must be 1 to 64 characters without spaces"}
	}
	return nil
}

func (s *Service) hash(password string) (string, error) {
	if utf8.RuneCountInString(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return "", &InvalidError{fmt.Sprintf("password must be at least %d characters and at most %d bytes", MinPasswordLen, MaxPasswordLen)}
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Login checks a username and password and issues a token. A disabled
// account, an unknown username and a wrong password all give
// ErrBadCredentials; the returned admin (nil if unknown) is for the audit log.
func (s *Service) Login(ctx context.Context, username, password string) (*Login, *Admin, error) {
	var a Admin
	err := s.db.WithContext(ctx).Where("username = ?", strings.TrimSpace(username)).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, nil, ErrBadCredentials
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load admin %q: %w", username, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(password)) != nil || a.Disabled {
		return nil, &a, ErrBadCredentials
	}
	tok, exp, err := s.issue(ctx, a.ID)
	if err != nil {
		return nil, &a, err
	}
	return &Login{Token: tok, ExpiresAt: exp, Admin: a}, &a, nil
}

func (s *Service) issue(ctx context.Context, adminID uint) (string, time.Time, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, fmt.Errorf("token entropy: %w", err)
	}
	tok := TokenPrefix + hex.EncodeToString(raw)
	exp := s.now().Add(s.ttl).UTC().Truncate(time.Second)
	if err := s.db.WithContext(ctx).Create(&Token{Hash: hashToken(tok), AdminID: adminID, ExpiresAt: exp}).Error; err != nil {
		return "", time.Time{}, fmt.Errorf("store admin token: %w", err)
	}
	return tok, exp, nil
}

// Authenticate resolves an admin token to its principal. The role is read
// from the account on every call, so a role change applies at once.
func (s *Service) Authenticate(ctx context.Context, tok string) (*Principal, error) {
	if !strings.HasPrefix(tok, TokenPrefix) {
		return nil, ErrUnauthorized
	}
	var row struct {
		AdminID   uint
		Username  string
		Role      Role
		ExpiresAt time.Time
	}
	err := s.db.WithContext(ctx).Table("admin_tokens").
		Select("admin_tokens.admin_id, admin_tokens.expires_at, admins.username, admins.role").
		Joins("JOIN admins ON admins.id = admin_tokens.admin_id").
		Where("admin_tokens.hash = ? AND admin_tokens.revoked_at IS NULL AND admins.disabled = ?", hashToken(tok), false).
		Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("look up admin token: %w", err)
	}
	if s.now().After(row.ExpiresAt) {
		return nil, ErrUnauthorized
	}
	return &Principal{AdminID: row.AdminID, Username: row.Username, Role: row.Role}, nil
}

// Logout revokes one token. Revoking it again is harmless.
func (s *Service) Logout(ctx context.Context, tok string) error {
	err := s.db.WithContext(ctx).Model(&Token{}).
		Where("hash = ? AND revoked_at IS NULL", hashToken(tok)).Update("revoked_at", s.now().UTC()).Error
	if err != nil {
		return fmt.Errorf("revoke admin token: %w", err)
	}
	return nil
}

// revokeAll revokes every live token of an admin inside tx.
func (s *Service) revokeAll(tx *gorm.DB, adminID uint) (int64, error) {
	res := tx.Model(&Token{}).Where("admin_id = ? AND revoked_at IS NULL", adminID).Update("revoked_at", s.now().UTC())
	if res.Error != nil {
		return 0, fmt.Errorf("revoke tokens of admin %d: %w", adminID, res.Error)
	}
	return res.RowsAffected, nil
}

// List returns every admin account, oldest first.
func (s *Service) List(ctx context.Context) ([]Admin, error) {
	var as []Admin
	if err := s.db.WithContext(ctx).Order("id").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	return as, nil
}

// Create adds an admin account; by is the username of the admin creating it.
func (s *Service) Create(ctx context.Context, username, password string, role Role, by string) (*Admin, error) {
	a, err := s.newAdmin(username, password, role, by)
	if err != nil {
		return nil, err
	}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "username"}}, DoNothing: true}).Create(a)
	if res.Error != nil {
		return nil, fmt.Errorf("create admin %q: %w", a.Username, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrUsernameTaken
	}
	return a, nil
}

// Change is a change to an admin account; nil fields stay as they are.
type Change struct {
	Role     *Role
	Password *string
	Disabled *bool
}

// Update applies a change to an admin account. Disabling the account or
// changing its password revokes all its tokens. A change that would leave
// no enabled admin with role admin is refused (ErrLastAdmin).
func (s *Service) Update(ctx context.Context, id uint, ch Change) (a *Admin, revoked int64, err error) {
	if ch.Role != nil && !ch.Role.Valid() {
		return nil, 0, &InvalidError{fmt.Sprintf("role %q: want admin, finance or support", *ch.Role)}
	}
	var hash string
	if ch.Password != nil {
		if hash, err = s.hash(*ch.Password); err != nil {
			return nil, 0, err
		}
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Serialise account changes (the last-admin check reads other
		// rows): SQLite transactions already take the write lock up front;
		// on PostgreSQL lock the (small) admins table's rows.
		if tx.Dialector.Name() == "postgres" {
			var ids []uint
			if err := tx.Model(&Admin{}).Clauses(clause.Locking{Strength: "UPDATE"}).Pluck("id", &ids).Error; err != nil {
				return fmt.Errorf("lock admins: %w", err)
			}
		}
		var cur Admin
		if err := tx.Take(&cur, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("load admin %d: %w", id, err)
		}
		next := cur
		if ch.Role != nil {
			next.Role = *ch.Role
		}
		if ch.Disabled != nil {
			next.Disabled = *ch.Disabled
		}
		if cur.Role == RoleAdmin && !cur.Disabled && (next.Role != RoleAdmin || next.Disabled) {
			var others int64
			err := tx.Model(&Admin{}).Where("id <> ? AND role = ? AND disabled = ?", id, RoleAdmin, false).Count(&others).Error
			if err != nil {
				return fmt.Errorf("count admins: %w", err)
			}
			if others == 0 {
				return ErrLastAdmin
			}
		}
		updates := map[string]any{"role": next.Role, "disabled": next.Disabled, "updated_at": s.now().UTC()}
		if hash != "" {
			updates["password_hash"] = hash
		}
		if err := tx.Model(&Admin{}).Where("id = ?", id).Updates(updates).Error; err != nil {
			return fmt.Errorf("update admin %d: %w", id, err)
		}
		if next.Disabled || hash != "" {
			n, err := s.revokeAll(tx, id)
			if err != nil {
				return err
			}
			revoked = n
		}
		if err := tx.Take(&next, id).Error; err != nil {
			return fmt.Errorf("reload admin %d: %w", id, err)
		}
		a = &next
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return a, revoked, nil
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}
