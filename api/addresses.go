package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/addresses"
)

// AddressRequest is the body of POST /api/v1/addresses (every field but
// is_default required) and of PUT or PATCH /api/v1/addresses/{id}
// (absent fields stay as they are).
type AddressRequest struct {
	Name      *string `json:"name"`
	Phone     *string `json:"phone"`
	Region    *string `json:"region"`
	Detail    *string `json:"detail"`
	IsDefault *bool   `json:"is_default"`
}

func (r AddressRequest) fields() addresses.Fields {
	return addresses.Fields{Name: r.Name, Phone: r.Phone, Region: r.Region, Detail: r.Detail, IsDefault: r.IsDefault}
}

// listAddresses answers GET /api/v1/addresses: the default first.
func (s *Server) listAddresses(c *fiber.Ctx) error {
	ctx, cancel := s.ctx(c)
	defer cancel()
	as, err := s.Addresses.List(ctx, principal(c).UserID)
	if err != nil {
		return s.shopError(c, err, "address")
	}
	return c.JSON(fiber.Map{"addresses": as})
}

// getAddress answers GET /api/v1/addresses/{id}; another buyer's is 404.
func (s *Server) getAddress(c *fiber.Ctx) error {
	id, ok := pathID(c)
	if !ok {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "address not found")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	a, err := s.Addresses.Get(ctx, principal(c).UserID, id)
	if err != nil {
		return s.shopError(c, err, "address")
	}
	return c.JSON(a)
}

// createAddress answers POST /api/v1/addresses: 201 and the address.
func (s *Server) createAddress(c *fiber.Ctx) error {
	var req AddressRequest
	if err := decodeTextJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	if req.Name == nil || req.Phone == nil || req.Region == nil || req.Detail == nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, "name, phone, region and detail are required")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	a, err := s.Addresses.Create(ctx, principal(c).UserID, req.fields())
	if err != nil {
		return s.shopError(c, err, "address")
	}
	return c.Status(fiber.StatusCreated).JSON(a)
}

// updateAddress answers PUT and PATCH /api/v1/addresses/{id}.
func (s *Server) updateAddress(c *fiber.Ctx) error {
	id, ok := pathID(c)
	if !ok {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "address not found")
	}
	var req AddressRequest
	if err := decodeTextJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	if c.Method() == fiber.MethodPut && (req.Name == nil || req.Phone == nil || req.Region == nil || req.Detail == nil) {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, "PUT replaces the address: name, phone, region and detail are required (PATCH changes some)")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	a, err := s.Addresses.Update(ctx, principal(c).UserID, id, req.fields())
	if err != nil {
		return s.shopError(c, err, "address")
	}
	return c.JSON(a)
}

// deleteAddress answers DELETE /api/v1/addresses/{id}: 204.
func (s *Server) deleteAddress(c *fiber.Ctx) error {
	id, ok := pathID(c)
	if !ok {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "address not found")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	if err := s.Addresses.Delete(ctx, principal(c).UserID, id); err != nil {
		return s.shopError(c, err, "address")
	}
	return c.SendStatus(fiber.StatusNoContent)
}
