package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/addresses"
	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/users"
	"github.com/shopflow/orderpay/internal/wallet"
)

// Models are the GORM models the services map onto the schema. The schema
// itself comes from the migrations alone; the tests check that migrating
// gives exactly what GORM's AutoMigrate would make of these models, so a
// model changed without its migration fails CI. A new model goes here.
func Models() []any {
	return []any{
		&catalog.Product{}, &catalog.StockDeduction{}, &catalog.StockReturn{}, &catalog.StockMovement{}, &catalog.StockReservation{},
		&addresses.Address{},
		&users.User{}, &users.Token{},
		&admins.Admin{}, &admins.Token{}, &admins.AuditEntry{},
		&orders.Order{}, &orders.Item{}, &orders.IdempotencyKey{}, &orders.OrderNumber{},
		&payments.Payment{}, &payments.Refund{}, &payments.ExtraPayment{}, &payments.RefundAudit{},
		&rewards.PointsEntry{}, &rewards.MembershipGrant{}, &rewards.MembershipRevocation{},
		&wallet.Wallet{}, &wallet.Entry{},
	}
}

// CheckModels reports every table or column a model maps that db lacks.
// Up runs it after migrating: a database adopted from before migrations
// that is older than the baseline, or a model changed without its
// migration, fails there instead of at the first query that needs it.
func CheckModels(ctx context.Context, db *gorm.DB) error {
	db = db.WithContext(ctx)
	var missing []string
	for _, model := range Models() {
		stmt := &gorm.Statement{DB: db}
		if err := stmt.Parse(model); err != nil {
			return fmt.Errorf("parse model %T: %w", model, err)
		}
		table := stmt.Schema.Table
		var cols []string
		if err := db.Raw(columnsQuery(db), table).Scan(&cols).Error; err != nil {
			return fmt.Errorf("columns of %s: %w", table, err)
		}
		if len(cols) == 0 {
			missing = append(missing, table)
			continue
		}
		have := make(map[string]bool, len(cols))
		for _, c := range cols {
			have[c] = true
		}
		for _, name := range stmt.Schema.DBNames {
			if !have[name] {
				missing = append(missing, table+"."+name)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the schema lacks what the code maps: %s (a database older than the baseline "+
			"migration, or a model changed without a migration)", strings.Join(missing, ", "))
	}
	return nil
}

// columnsQuery lists a table's columns (none when it does not exist).
func columnsQuery(db *gorm.DB) string {
	if db.Dialector.Name() == "postgres" {
		return "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?"
	}
	return "SELECT name FROM pragma_table_info(?)"
}
