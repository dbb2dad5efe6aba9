package contract_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shopflow/orderpay/internal/contract"
)

func TestDescribe(t *testing.T) {
	assert.Equal(t, "Coffee", contract.Describe("Coffee", 1))
	assert.Equal(t, "Coffee and 2 more", contract.Describe("Coffee", 3))
	long := strings.Repeat("咖", 130)
	assert.Equal(t, strings.Repeat("咖", 120), contract.Describe(long, 1), "cut by characters, not bytes")
	assert.Equal(t, strings.Repeat("咖", 100)+" and 1 more", contract.Describe(long, 2))
}
