// Package users owns buyers and their API tokens. Buyers sign in with a
// WeChat mini-program login code (code2session → openid); tokens are random,
// stored only as a SHA-256 hash, with an expiry and a scope.
package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ScopeUser is the scope of a buyer's token, the only scope this service
// issues and accepts. (Earlier versions also stored a static operator token
// of scope "admin"; operators now have accounts in internal/admins.)
const ScopeUser = "user"

// ErrUnauthorized means the token is unknown or expired.
var ErrUnauthorized = errors.New("invalid or expired token")

// User is a buyer, identified by their WeChat openid.
type User struct {
	ID                uint       `gorm:"primaryKey" json:"id"`
	OpenID            string     `gorm:"size:64;not null;uniqueIndex" json:"openid"`
	UnionID           string     `gorm:"size:64" json:"unionid,omitempty"`
	Points            int64      `gorm:"not null;default:0" json:"points"`
	MemberUntil       *time.Time `json:"member_until,omitempty"`
	MembershipVersion int64      `gorm:"not null;default:0" json:"-"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"-"`
}

// Token is a stored API token (hash only).
type Token struct {
	ID        uint      `gorm:"primaryKey"`
	Hash      string    `gorm:"size:64;not null;uniqueIndex"`
	UserID    uint      `gorm:"not null;index"`
	Scope     string    `gorm:"size:16;not null"`
	ExpiresAt time.Time `gorm:"not null"`
	CreatedAt time.Time
}

// Principal is the buyer a request acts for.
type Principal struct {
	UserID uint
	OpenID string
	Scope  string
}

// Session is a mini-program login session.
type Session struct{ OpenID, UnionID string }

// CodeExchanger turns a mini-program login code into a session (code2session).
type CodeExchanger interface {
	Exchange(ctx context.Context, code string) (*Session, error)
}

// Login is a signed-in buyer and their new token.
type Login struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// Service signs buyers in and checks tokens.
type Service struct {
	db       *gorm.DB
	exchange CodeExchanger
	ttl      time.Duration
	cache    *tokenCache // nil: every Authenticate asks the database
}

// NewService returns a user service issuing tokens valid for ttl.
func NewService(db *gorm.DB, exchange CodeExchanger, ttl time.Duration) *Service {
	return &Service{db: db, exchange: exchange, ttl: ttl}
}

// LoginWithCode exchanges a login code, upserts the buyer by openid and
// issues a user token.
func (s *Service) LoginWithCode(ctx context.Context, code string) (*Login, error) {
	sess, err := s.exchange.Exchange(ctx, code)
	if err != nil {
		return nil, err
	}
	u, err := s.upsert(ctx, sess)
	if err != nil {
		return nil, err
	}
	tok, exp, err := s.IssueToken(ctx, u.ID, ScopeUser, s.ttl)
	if err != nil {
		return nil, err
	}
	return &Login{Token: tok, ExpiresAt: exp, User: *u}, nil
}

func (s *Service) upsert(ctx context.Context, sess *Session) (*User, error) {
	db := s.db.WithContext(ctx)
	u := User{OpenID: sess.OpenID, UnionID: sess.UnionID}
	err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "open_id"}}, DoNothing: true}).Create(&u).Error
	if err != nil {
		return nil, fmt.Errorf("upsert user: %w", err)
	}
	if err := db.Where("open_id = ?", sess.OpenID).Take(&u).Error; err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	return &u, nil
}

// IssueToken creates a random token for userID with a scope and lifetime.
func (s *Service) IssueToken(ctx context.Context, userID uint, scope string, ttl time.Duration) (string, time.Time, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, fmt.Errorf("token entropy: %w", err)
	}
	tok := hex.EncodeToString(raw)
	exp := time.Now().Add(ttl).UTC().Truncate(time.Second)
	row := Token{Hash: hashToken(tok), UserID: userID, Scope: scope, ExpiresAt: exp}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", time.Time{}, fmt.Errorf("store token: %w", err)
	}
	return tok, exp, nil
}

// RevokeLegacyAdminTokens deletes the tokens of admin scope that earlier
// versions stored from the static ADMIN_TOKEN setting. Operators now sign in
// to admin accounts (internal/admins); Authenticate refuses such tokens in
// any case. It returns how many were deleted.
func (s *Service) RevokeLegacyAdminTokens(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("scope <> ?", ScopeUser).Delete(&Token{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete legacy admin tokens: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// Authenticate resolves a bearer token to its principal.
func (s *Service) Authenticate(ctx context.Context, tok string) (*Principal, error) {
	if tok == "" {
		return nil, ErrUnauthorized
	}
	hash := hashToken(tok)
	now := time.Now()
	if p, ok := s.cache.get(hash, now); ok {
		return p, nil
	}
	var row struct {
		UserID    uint
		Scope     string
		ExpiresAt time.Time
		OpenID    string
	}
	err := s.db.WithContext(ctx).Table("tokens").
		Select("tokens.user_id, tokens.scope, tokens.expires_at, users.open_id").
		Joins("JOIN users ON users.id = tokens.user_id").
		Where("tokens.hash = ? AND tokens.scope = ?", hash, ScopeUser).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	if now.After(row.ExpiresAt) {
		return nil, ErrUnauthorized
	}
	p := Principal{UserID: row.UserID, OpenID: row.OpenID, Scope: row.Scope}
	s.cache.put(hash, p, row.ExpiresAt, now)
	return &p, nil
}

// Get loads a user.
func (s *Service) Get(ctx context.Context, id uint) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Take(&u, id).Error; err != nil {
		return nil, fmt.Errorf("load user %d: %w", id, err)
	}
	return &u, nil
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}
