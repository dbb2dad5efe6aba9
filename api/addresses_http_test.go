package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/addresses"
)

type addressList struct {
	Addresses []addresses.Address `json:"addresses"`
}

func (s *apiSystem) addAddress(token string, body map[string]any) addresses.Address {
	s.t.Helper()
	res := s.do("POST", "/api/v1/addresses", token, body)
	require.Equal(s.t, http.StatusCreated, res.Status, "%s", res.Body)
	return decode[addresses.Address](s.t, res)
}

func addressBody(name string) map[string]any {
	return map[string]any{"name": name, "phone": "+86 138-0000-0000", "region": "上海市 黄浦区", "detail": "南京东路 1 号"}
}

// The address book: the first address is the default, a new default
// unsets the old one, deleting the default promotes the newest other,
// PUT replaces and PATCH changes some fields; another buyer's address is
// 404 on every route and unchanged.
func TestAddressBook(t *testing.T) {
	s := newAPISystem(t)
	alice, _ := s.login("addr-alice")
	bob, _ := s.login("addr-bob")

	home := s.addAddress(alice, addressBody("李雷"))
	assert.True(t, home.IsDefault, "the first address is the default")
	assert.Equal(t, "上海市 黄浦区", home.Region)
	work := s.addAddress(alice, addressBody("Li Lei (work)"))
	assert.False(t, work.IsDefault)
	body := addressBody("Li Lei (parents)")
	body["is_default"] = true
	parents := s.addAddress(alice, body)
	assert.True(t, parents.IsDefault)

	list := decode[addressList](t, s.do("GET", "/api/v1/addresses", alice, nil))
	require.Len(t, list.Addresses, 3)
	assert.Equal(t, parents.ID, list.Addresses[0].ID, "the default first")
	defaults := 0
	for _, a := range list.Addresses {
		if a.IsDefault {
			defaults++
		}
	}
	assert.Equal(t, 1, defaults, "one default")

	res := s.do("PATCH", fmt.Sprintf("/api/v1/addresses/%d", work.ID), alice, map[string]any{"detail": "陆家嘴 8 号", "is_default": true})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	work = decode[addresses.Address](t, res)
	assert.True(t, work.IsDefault)
	assert.Equal(t, "陆家嘴 8 号", work.Detail)
	assert.Equal(t, "Li Lei (work)", work.Name, "PATCH keeps what it does not name")
	res = s.do("PUT", fmt.Sprintf("/api/v1/addresses/%d", home.ID), alice, map[string]any{"name": "Han Meimei"})
	assert.Equal(t, http.StatusBadRequest, res.Status, "PUT needs every field")
	res = s.do("PATCH", fmt.Sprintf("/api/v1/addresses/%d", work.ID), alice, map[string]any{"is_default": false})
	assert.Equal(t, http.StatusBadRequest, res.Status, "the default stays until another replaces it")

	// Bob sees none of it and can change none of it.
	assert.Empty(t, decode[addressList](t, s.do("GET", "/api/v1/addresses", bob, nil)).Addresses)
	for _, m := range []string{"GET", "PATCH", "PUT", "DELETE"} {
		res := s.do(m, fmt.Sprintf("/api/v1/addresses/%d", home.ID), bob, addressBody("Bob"))
		assert.Equal(t, http.StatusNotFound, res.Status, m)
		code, _ := res.errorBody(t)
		assert.Equal(t, api.CodeNotFound, code)
	}
	got := decode[addresses.Address](t, s.do("GET", fmt.Sprintf("/api/v1/addresses/%d", home.ID), alice, nil))
	assert.Equal(t, "李雷", got.Name, "unchanged by another buyer")

	res = s.do("DELETE", fmt.Sprintf("/api/v1/addresses/%d", work.ID), alice, nil)
	require.Equal(t, http.StatusNoContent, res.Status)
	list = decode[addressList](t, s.do("GET", "/api/v1/addresses", alice, nil))
	require.Len(t, list.Addresses, 2)
	assert.Equal(t, parents.ID, list.Addresses[0].ID, "the newest remaining address became the default")
	assert.True(t, list.Addresses[0].IsDefault)
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/addresses", "", nil).Status)
}

// Invalid addresses are 400 with nothing written.
func TestAddressValidation(t *testing.T) {
	s := newAPISystem(t)
	token, _ := s.login("addr-invalid")
	with := func(k string, v any) map[string]any {
		b := addressBody("Li Lei")
		b[k] = v
		return b
	}
	without := func(k string) map[string]any {
		b := addressBody("Li Lei")
		delete(b, k)
		return b
	}
	cases := map[string]struct {
		body any
		code string
	}{
		"empty name":        {with("name", "  "), api.CodeBadRequest},
		"long name":         {with("name", strings.Repeat("名", 65)), api.CodeBadRequest},
		"letters in phone":  {with("phone", "call me"), api.CodeBadRequest},
		"short phone":       {with("phone", "123"), api.CodeBadRequest},
		"long detail":       {with("detail", strings.Repeat("x", 201)), api.CodeBadRequest},
		"control character": {with("region", "a\u0007b"), api.CodeBadRequest},
		"no region":         {without("region"), api.CodeBadRequest},
		"not UTF-8":         {`{"name":"` + "\xff" + `","phone":"13800000000","region":"r","detail":"d"}`, api.CodeInvalidJSON},
		"unknown field":     {with("zip", "200000"), api.CodeInvalidJSON},
		"wrong type":        {with("is_default", "yes"), api.CodeInvalidJSON},
	}
	for name, c := range cases {
		res := s.do("POST", "/api/v1/addresses", token, c.body)
		assert.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", name, res.Body)
		if res.Status == http.StatusBadRequest {
			code, _ := res.errorBody(t)
			assert.Contains(t, []string{c.code, api.CodeBadRequest}, code, name)
		}
	}
	assert.Zero(t, s.count("addresses"), "nothing written")

	// A book holds at most 20 addresses.
	for i := range addresses.MaxPerBuyer {
		s.addAddress(token, addressBody(fmt.Sprintf("n%d", i)))
	}
	res := s.do("POST", "/api/v1/addresses", token, addressBody("one too many"))
	assert.Equal(t, http.StatusBadRequest, res.Status)
	assert.EqualValues(t, addresses.MaxPerBuyer, s.count("addresses"))
}

// An order naming address_id: another buyer's address, or both address
// and address_id, are refused with nothing written; the buyer's own
// passes the address checks (and, without Temporal here, is then
// answered 503 — the end-to-end test follows it into the order).
func TestOrderWithAddressID(t *testing.T) {
	s := newAPISystem(t)
	alice, _ := s.login("order-addr-alice")
	bob, _ := s.login("order-addr-bob")
	mine := s.addAddress(alice, addressBody("Li Lei"))
	bobs := s.addAddress(bob, addressBody("Bob"))
	coffee := s.productID("Coffee Beans")
	items := []map[string]any{{"product_id": coffee, "quantity": 1}}
	before := s.snapshot()

	res := s.do("POST", "/api/v1/orders", alice, map[string]any{"items": items, "pay_channel": "wechat_native", "address_id": bobs.ID})
	require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	code, _ := res.errorBody(t)
	assert.Equal(t, api.CodeUnknownAddress, code)

	res = s.do("POST", "/api/v1/orders", alice, map[string]any{"items": items, "pay_channel": "wechat_native",
		"address_id": mine.ID, "address": addressBody("inline")})
	require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	_, msg := res.errorBody(t)
	assert.Contains(t, msg, "not both")

	res = s.do("POST", "/api/v1/orders", alice, map[string]any{"items": items, "pay_channel": "wechat_native", "address_id": 0})
	assert.Equal(t, http.StatusBadRequest, res.Status)

	res = s.do("POST", "/api/v1/orders", alice, map[string]any{"items": items, "pay_channel": "wechat_native", "address_id": mine.ID})
	assert.Equal(t, http.StatusServiceUnavailable, res.Status, "past the address checks: %s", res.Body)
	assert.Equal(t, before, s.snapshot(), "nothing written")
}
