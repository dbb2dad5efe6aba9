package api

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/pagination"
)

// AdminProductView is a product as operators see it: with its on-sale
// flag and times.
type AdminProductView struct {
	catalog.Product
	OnSale    bool      `json:"on_sale"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Movements is the product's stock ledger, newest first (the last
	// 100), in the product's detail only.
	Movements []catalog.StockMovement `json:"stock_movements,omitempty"`
}

func adminProduct(p *catalog.Product) AdminProductView {
	return AdminProductView{Product: *p, OnSale: p.Active, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// ProductRequest is the body of POST /api/v1/admin/products (name and
// price required; kind goods, stock 0 and on_sale true when absent) and of
// PATCH /api/v1/admin/products/{id} (absent fields stay as they are; the
// stock moves only through POST …/stock).
type ProductRequest struct {
	Name           *string `json:"name"`
	ImageURL       *string `json:"image_url"`
	PriceCents     *int64  `json:"price"`
	Stock          *int64  `json:"stock"`
	Kind           *string `json:"kind"`
	MembershipDays *int    `json:"membership_days"`
	OnSale         *bool   `json:"on_sale"`
}

// StockRequest is the body of POST /api/v1/admin/products/{id}/stock.
type StockRequest struct {
	Delta  int64  `json:"delta"`
	Reason string `json:"reason"`
}

// adminListProducts answers GET /api/v1/admin/products
// (?on_sale=true|false&limit=&cursor=): every product, on sale or not.
func (s *Server) adminListProducts(c *fiber.Ctx) error {
	limit, err := pagination.Limit(c.Query("limit"))
	if err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	q := catalog.ProductQuery{Cursor: c.Query("cursor"), Limit: limit}
	if v := c.Query("on_sale"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil || !b {
			return fail(c, fiber.StatusBadRequest, CodeBadRequest, "on_sale may only be true (omit it for every product)")
		}
		q.OnSaleOnly = true
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	page, err := s.Catalog.Page(ctx, q)
	if err != nil {
		return s.shopError(c, err, "product")
	}
	out := make([]AdminProductView, 0, len(page.Products))
	for i := range page.Products {
		out = append(out, adminProduct(&page.Products[i]))
	}
	return c.JSON(fiber.Map{"products": out, "next_cursor": page.NextCursor})
}

// adminGetProduct answers GET /api/v1/admin/products/{id}, with its stock ledger.
func (s *Server) adminGetProduct(c *fiber.Ctx) error {
	id, ok := pathID(c)
	if !ok {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "product not found")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p, err := s.Catalog.Get(ctx, id, false)
	if err != nil {
		return s.shopError(c, err, "product")
	}
	ms, err := s.Catalog.Movements(ctx, id, pagination.MaxLimit)
	if err != nil {
		return s.shopError(c, err, "product")
	}
	v := adminProduct(p)
	v.Movements = ms
	return c.JSON(v)
}

// adminCreateProduct answers POST /api/v1/admin/products: 201.
func (s *Server) adminCreateProduct(c *fiber.Ctx) error {
	var req ProductRequest
	if err := decodeTextJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	if req.Name == nil || req.PriceCents == nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, "name and price are required")
	}
	p := catalog.Product{Name: *req.Name, PriceCents: *req.PriceCents, Active: true}
	set(&p.ImageURL, req.ImageURL)
	set(&p.Stock, req.Stock)
	set(&p.Kind, req.Kind)
	set(&p.MembershipDays, req.MembershipDays)
	set(&p.Active, req.OnSale)
	note(c).detail = fmt.Sprintf("name=%q price=%d stock=%d kind=%q on_sale=%t", cutTo(p.Name, 120), p.PriceCents, p.Stock, cutTo(p.Kind, 20), p.Active)
	ctx, cancel := s.ctx(c)
	defer cancel()
	created, err := s.Catalog.Create(ctx, p)
	if err != nil {
		return s.shopError(c, err, "product")
	}
	note(c).detail = fmt.Sprintf("product=%d ", created.ID) + note(c).detail
	return c.Status(fiber.StatusCreated).JSON(adminProduct(created))
}

// adminUpdateProduct answers PATCH /api/v1/admin/products/{id}: edits, and
// puts on or off sale (on_sale). An order already placed keeps its
// snapshot; a product off sale can no longer be ordered.
func (s *Server) adminUpdateProduct(c *fiber.Ctx) error {
	id, ok := pathID(c)
	if !ok {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "product not found")
	}
	var req ProductRequest
	if err := decodeTextJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	if req.Stock != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, "stock moves only through POST /api/v1/admin/products/{id}/stock, with a reason")
	}
	n := note(c)
	n.detail = fmt.Sprintf("product=%d", id)
	if req.Name != nil {
		n.detail += fmt.Sprintf(" name=%q", cutTo(*req.Name, 120))
	}
	if req.PriceCents != nil {
		n.detail += fmt.Sprintf(" price=%d", *req.PriceCents)
	}
	if req.OnSale != nil {
		n.detail += fmt.Sprintf(" on_sale=%t", *req.OnSale)
	}
	if req.Kind != nil || req.MembershipDays != nil || req.ImageURL != nil {
		n.detail += " kind/membership_days/image_url changed"
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p, err := s.Catalog.Update(ctx, id, catalog.ProductChange{
		Name: req.Name, ImageURL: req.ImageURL, PriceCents: req.PriceCents, Kind: req.Kind,
		MembershipDays: req.MembershipDays, OnSale: req.OnSale,
	})
	if err != nil {
		return s.shopError(c, err, "product")
	}
	return c.JSON(adminProduct(p))
}

// adminAdjustStock answers POST /api/v1/admin/products/{id}/stock
// {"delta","reason"}: 200 {"product","movement"}; 409 negative_stock when
// the stock would go below zero (nothing written).
func (s *Server) adminAdjustStock(c *fiber.Ctx) error {
	id, ok := pathID(c)
	if !ok {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "product not found")
	}
	var req StockRequest
	if err := decodeTextJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	note(c).detail = fmt.Sprintf("product=%d delta=%d reason=%q", id, req.Delta, cutTo(req.Reason, 200))
	ctx, cancel := s.ctx(c)
	defer cancel()
	m, err := s.Catalog.AdjustStock(ctx, catalog.Adjustment{
		ProductID: id, Delta: req.Delta, Reason: req.Reason, AdminID: adminPrincipal(c).AdminID,
	})
	if err != nil {
		return s.shopError(c, err, "product")
	}
	note(c).detail += fmt.Sprintf(" stock_after=%d", m.StockAfter)
	p, err := s.Catalog.Get(ctx, id, false)
	if err != nil {
		return s.shopError(c, err, "product")
	}
	return c.JSON(fiber.Map{"product": adminProduct(p), "movement": m})
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
