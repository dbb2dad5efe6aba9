package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/catalog"
)

// operators signs in the bootstrap admin and creates and signs in a
// finance and a support account; it returns their tokens.
func (s *apiSystem) operators() (root, fin, sup string) {
	s.t.Helper()
	root = s.adminLogin(bootstrapAdmin, bootstrapPassword)
	s.createAdmin(root, "fin", "finance-password-1", admins.RoleFinance)
	s.createAdmin(root, "sup", "support-password-1", admins.RoleSupport)
	return root, s.adminLogin("fin", "finance-password-1"), s.adminLogin("sup", "support-password-1")
}

// Operators manage the catalogue: admin creates, edits, puts off and on
// sale and adjusts stock with a reason (a ledger line each); support and
// finance only read; buyers are 403; invalid input is 400 and a stock
// below zero 409, with nothing written; every action is audited.
func TestAdminProducts(t *testing.T) {
	s := newAPISystem(t)
	root, fin, sup := s.operators()
	buyer, _ := s.login("admin-products-buyer")
	newProduct := map[string]any{"name": "Drip Kettle", "price": 25900, "stock": 10, "image_url": "https://img.example.com/kettle.jpg"}

	for who, tok := range map[string]string{"finance": fin, "support": sup, "buyer": buyer} {
		res := s.do("POST", "/api/v1/admin/products", tok, newProduct)
		assert.Equal(t, http.StatusForbidden, res.Status, who)
		res = s.do("POST", "/api/v1/admin/products/1/stock", tok, map[string]any{"delta": 1, "reason": "x"})
		assert.Equal(t, http.StatusForbidden, res.Status, who)
		res = s.do("PATCH", "/api/v1/admin/products/1", tok, map[string]any{"on_sale": false})
		assert.Equal(t, http.StatusForbidden, res.Status, who)
	}
	assert.Equal(t, http.StatusUnauthorized, s.do("POST", "/api/v1/admin/products", "", newProduct).Status)

	before := s.count("products")
	for name, body := range map[string]any{
		"no name":             map[string]any{"price": 1},
		"blank name":          map[string]any{"name": " ", "price": 1},
		"negative price":      map[string]any{"name": "x", "price": -1},
		"negative stock":      map[string]any{"name": "x", "price": 1, "stock": -1},
		"unknown kind":        map[string]any{"name": "x", "price": 1, "kind": "service"},
		"membership, no days": map[string]any{"name": "x", "price": 1, "kind": "membership"},
		"days on goods":       map[string]any{"name": "x", "price": 1, "membership_days": 3},
		"bad image url":       map[string]any{"name": "x", "price": 1, "image_url": "javascript:alert(1)"},
		"price as text":       map[string]any{"name": "x", "price": "1"},
		"unknown field":       map[string]any{"name": "x", "price": 1, "sku": "A1"},
	} {
		res := s.do("POST", "/api/v1/admin/products", root, body)
		assert.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", name, res.Body)
	}
	assert.Equal(t, before, s.count("products"), "nothing written")

	res := s.do("POST", "/api/v1/admin/products", root, newProduct)
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	p := decode[api.AdminProductView](t, res)
	assert.True(t, p.OnSale)
	assert.EqualValues(t, 25900, p.PriceCents)
	assert.Equal(t, catalog.KindGoods, p.Kind)
	path := fmt.Sprintf("/api/v1/admin/products/%d", p.ID)
	buyerPath := fmt.Sprintf("/api/v1/products/%d", p.ID)
	assert.Equal(t, http.StatusOK, s.do("GET", buyerPath, "", nil).Status)

	// Off sale: gone for buyers, still there for operators; back on sale.
	res = s.do("PATCH", path, root, map[string]any{"on_sale": false, "price": 19900})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	p = decode[api.AdminProductView](t, res)
	assert.False(t, p.OnSale)
	assert.EqualValues(t, 19900, p.PriceCents)
	assert.Equal(t, "Drip Kettle", p.Name, "PATCH keeps what it does not name")
	assert.Equal(t, http.StatusNotFound, s.do("GET", buyerPath, "", nil).Status)
	assert.Equal(t, http.StatusOK, s.do("GET", path, sup, nil).Status)
	assert.Equal(t, http.StatusBadRequest, s.do("PATCH", path, root, map[string]any{"stock": 99}).Status, "stock moves with a reason only")
	assert.Equal(t, http.StatusBadRequest, s.do("PATCH", path, root, map[string]any{"price": -5}).Status)
	assert.Equal(t, http.StatusNotFound, s.do("PATCH", "/api/v1/admin/products/999999", root, map[string]any{"on_sale": true}).Status)
	res = s.do("PATCH", path, root, map[string]any{"on_sale": true})
	require.Equal(t, http.StatusOK, res.Status)
	assert.Equal(t, http.StatusOK, s.do("GET", buyerPath, "", nil).Status)

	// Stock: +5 then −15 to zero; −1 more is 409 with nothing written.
	res = s.do("POST", path+"/stock", root, map[string]any{"delta": 5, "reason": "delivery from the roaster"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	adj := decode[struct {
		Product  api.AdminProductView  `json:"product"`
		Movement catalog.StockMovement `json:"movement"`
	}](t, res)
	assert.EqualValues(t, 15, adj.Product.Stock)
	assert.EqualValues(t, 15, adj.Movement.StockAfter)
	res = s.do("POST", path+"/stock", root, map[string]any{"delta": -15, "reason": "water damage"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	moves := s.count("stock_movements")
	for name, body := range map[string]any{
		"below zero": map[string]any{"delta": -1, "reason": "lost"},
		"no reason":  map[string]any{"delta": 1},
		"zero":       map[string]any{"delta": 0, "reason": "nothing"},
	} {
		res := s.do("POST", path+"/stock", root, body)
		want, code := http.StatusBadRequest, api.CodeBadRequest
		if name == "below zero" {
			want, code = http.StatusConflict, api.CodeNegativeStock
		}
		require.Equal(t, want, res.Status, "%s: %s", name, res.Body)
		got, _ := res.errorBody(t)
		assert.Equal(t, code, got, name)
	}
	assert.Equal(t, moves, s.count("stock_movements"), "a refused adjustment writes nothing")
	assert.Equal(t, http.StatusNotFound, s.do("POST", "/api/v1/admin/products/999999/stock", root, map[string]any{"delta": 1, "reason": "x"}).Status)

	detail := decode[api.AdminProductView](t, s.do("GET", path, fin, nil))
	assert.EqualValues(t, 0, detail.Stock)
	require.Len(t, detail.Movements, 2)
	assert.EqualValues(t, -15, detail.Movements[0].Delta, "newest first")
	assert.Equal(t, "water damage", detail.Movements[0].Reason)
	assert.EqualValues(t, s.adminID(bootstrapAdmin), detail.Movements[0].AdminID)

	// The operators' list holds products off sale too, a page at a time.
	res = s.do("PATCH", path, root, map[string]any{"on_sale": false})
	require.Equal(t, http.StatusOK, res.Status)
	var all []uint
	cursor := ""
	for {
		res := s.do("GET", "/api/v1/admin/products?limit=3&cursor="+cursor, sup, nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		page := decode[struct {
			Products   []api.AdminProductView `json:"products"`
			NextCursor string                 `json:"next_cursor"`
		}](t, res)
		for _, p := range page.Products {
			all = append(all, p.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	assert.Len(t, all, 7)
	assert.Contains(t, all, p.ID)

	// Audited: who did what to which product.
	page := s.auditPage(root, "?action=stock.adjust")
	require.NotEmpty(t, page.Entries)
	var details []string
	for _, e := range page.Entries {
		details = append(details, e.Outcome+" "+e.Detail)
	}
	assert.Contains(t, details, fmt.Sprintf("ok product=%d delta=-15 reason=\"water damage\" stock_after=0", p.ID))
	assert.Contains(t, details, fmt.Sprintf("refused product=%d delta=-1 reason=\"lost\"", p.ID))
	created := s.auditPage(root, "?action=product.create")
	require.NotEmpty(t, created.Entries)
	assert.Equal(t, bootstrapAdmin, created.Entries[0].Username)
}
