package alipay_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
)

func TestAlipayFormatAmount(t *testing.T) {
	for cents, want := range map[int64]string{
		0: "0.00", 1: "0.01", 10: "0.10", 99: "0.99", 100: "1.00", 1234: "12.34",
		10000000000: "100000000.00", -150: "-1.50", -1: "-0.01",
		math.MinInt64: "-92233720368547758.08", math.MaxInt64: "92233720368547758.07",
	} {
		assert.Equal(t, want, alipay.FormatAmount(cents), "cents %d", cents)
	}
}

func TestAlipayParseAmount(t *testing.T) {
	valid := map[string]int64{
		"0": 0, "0.01": 1, "0.1": 10, "0.10": 10, "1": 100, "1.5": 150, "12.34": 1234,
		"0.29": 29, "0.57": 57, "1.15": 115, "4.35": 435, // float64 would round these wrongly ×100
		"100000000.00": 10000000000, "007.70": 770, "92233720368547757.99": math.MaxInt64 - 8,
	}
	for s, want := range valid {
		got, err := alipay.ParseAmount(s)
		require.NoError(t, err, "%q", s)
		assert.Equal(t, want, got, "%q", s)
	}
	for _, s := range []string{
		"", ".", ".5", "5.", "1.234", "-1.00", "+1.00", "1e2", " 1.00", "1.00 ", "1,00",
		"１.00", "0x10", "1.0.0", "NaN", "92233720368547758.08", "99999999999999999999",
	} {
		_, err := alipay.ParseAmount(s)
		assert.Error(t, err, "%q must be rejected", s)
	}
}

func TestAlipayAmountRoundTrip(t *testing.T) {
	for _, cents := range []int64{1, 9, 10, 11, 99, 100, 101, 12345, 99999, 10000000000} {
		got, err := alipay.ParseAmount(alipay.FormatAmount(cents))
		require.NoError(t, err)
		assert.Equal(t, cents, got)
	}
	assert.True(t, alipay.ValidAmount(1))
	assert.True(t, alipay.ValidAmount(10000000000))
	assert.False(t, alipay.ValidAmount(0))
	assert.False(t, alipay.ValidAmount(10000000001))
}
