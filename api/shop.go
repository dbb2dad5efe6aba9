package api

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/addresses"
	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
)

// Admin audit actions of the shop's catalogue, order and refund routes.
const (
	ActionProductList   = "product.list"
	ActionProductRead   = "product.read"
	ActionProductCreate = "product.create"
	ActionProductUpdate = "product.update"
	ActionStockAdjust   = "stock.adjust"
	ActionOrderList     = "order.list"
	ActionOrderExport   = "order.export"
	ActionRefundList    = "refund.list"
)

// Error codes of the shop's routes (besides those of errors.go).
const (
	CodeUnknownAddress = "unknown_address"
	CodeNegativeStock  = "negative_stock"
)

// mountShopPublic registers the catalogue and the operators' shop routes
// (products, order search and export, refunds list). It runs before the
// buyers' authenticated group, whose middleware applies to every route
// registered after it.
func (s *Server) mountShopPublic(v1 fiber.Router) {
	const (
		finance = admins.RoleFinance
		support = admins.RoleSupport
	)
	readers := []admins.Role{finance, support}
	v1.Get("/products", s.listProducts)
	v1.Get("/products/:id", s.getProduct)

	v1.Get("/admin/products", s.adminRoute(ActionProductList, readers, s.adminListProducts)...)
	v1.Post("/admin/products", s.adminRoute(ActionProductCreate, nil, s.adminCreateProduct)...)
	v1.Get("/admin/products/:id", s.adminRoute(ActionProductRead, readers, s.adminGetProduct)...)
	v1.Patch("/admin/products/:id", s.adminRoute(ActionProductUpdate, nil, s.adminUpdateProduct)...)
	v1.Post("/admin/products/:id/stock", s.adminRoute(ActionStockAdjust, nil, s.adminAdjustStock)...)

	v1.Get("/admin/orders", s.adminRoute(ActionOrderList, readers, s.adminListOrders)...)
	v1.Get("/admin/orders.csv", s.adminRoute(ActionOrderExport, readers, s.adminExportOrders)...)
	v1.Get("/admin/refunds", s.adminRoute(ActionRefundList, readers, s.adminListRefunds)...)
}

// mountShopBuyer registers the buyer's lists and account routes on the
// authenticated group.
func (s *Server) mountShopBuyer(authed fiber.Router) {
	authed.Get("/orders", s.listOrders)
	authed.Get("/me", s.getMe)
	authed.Get("/addresses", s.listAddresses)
	authed.Post("/addresses", requireJSON, s.createAddress)
	authed.Get("/addresses/:id", s.getAddress)
	authed.Put("/addresses/:id", requireJSON, s.updateAddress)
	authed.Patch("/addresses/:id", requireJSON, s.updateAddress)
	authed.Delete("/addresses/:id", s.deleteAddress)
}

// shopError maps a failure of the shop's services to an answer by the
// error's kind; what names the thing a 404 did not find.
func (s *Server) shopError(c *fiber.Ctx, err error, what string) error {
	var addrInvalid *addresses.InvalidError
	var prodInvalid *catalog.InvalidError
	switch {
	case errors.As(err, &addrInvalid):
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, addrInvalid.Reason)
	case errors.As(err, &prodInvalid):
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, prodInvalid.Reason)
	case errors.Is(err, catalog.ErrNegativeStock):
		return fail(c, fiber.StatusConflict, CodeNegativeStock, err.Error())
	}
	switch contract.KindOf(err) {
	case contract.ErrInvalidInput:
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	case contract.ErrNotFound:
		return fail(c, fiber.StatusNotFound, CodeNotFound, what+" not found")
	}
	if isTimeout(err) {
		return fail(c, fiber.StatusGatewayTimeout, CodeUnavailable, "the request took too long, try again")
	}
	s.log(c).Error("shop request failed", "route", c.Route().Path, "error", err)
	return fail(c, fiber.StatusServiceUnavailable, CodeUnavailable, "temporarily unavailable, try again")
}

// pathID reads a positive numeric id from the path; ok false when it is
// not one (answered 404: no such thing can exist).
func pathID(c *fiber.Ctx) (uint, bool) {
	id, err := strconv.ParseUint(c.Params("id"), 10, 32)
	return uint(id), err == nil && id > 0
}

// decodeTextJSON is decodeJSON for bodies whose strings are stored: the
// raw body must be UTF-8 without NUL first (encoding/json would turn
// invalid bytes into U+FFFD silently, storing something the buyer never
// sent).
func decodeTextJSON(c *fiber.Ctx, dst any) error {
	if err := checkRawText("the body", c.Body()); err != nil {
		return err
	}
	return decodeJSON(c, dst)
}
