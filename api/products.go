package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/pagination"
)

// listProducts answers GET /api/v1/products: a page of the products on
// sale, by id (?limit=1..100, default 20; ?cursor=<next_cursor>).
func (s *Server) listProducts(c *fiber.Ctx) error {
	limit, err := pagination.Limit(c.Query("limit"))
	if err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	page, err := s.Catalog.Page(ctx, catalog.ProductQuery{OnSaleOnly: true, Cursor: c.Query("cursor"), Limit: limit})
	if err != nil {
		return s.shopError(c, err, "product")
	}
	return c.JSON(fiber.Map{"products": nonNil(page.Products), "next_cursor": page.NextCursor})
}

// getProduct answers GET /api/v1/products/{id}: a product on sale; one
// off sale or unknown is 404.
func (s *Server) getProduct(c *fiber.Ctx) error {
	id, ok := pathID(c)
	if !ok {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "product not found")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p, err := s.Catalog.Get(ctx, id, true)
	if err != nil {
		return s.shopError(c, err, "product")
	}
	return c.JSON(p)
}

// nonNil answers an empty list as [] rather than null.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
