package alipay

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxAmountCents is the largest amount Alipay accepts on one trade:
// 100000000.00 yuan.
const maxAmountCents = 100_000_000_00

// FormatAmount renders cents (fen) as Alipay's "yuan.fen" amount string with
// exactly two decimals: 1234 → "12.34", 5 → "0.05", -150 → "-1.50".
func FormatAmount(cents int64) string {
	sign := ""
	u := uint64(cents)
	if cents < 0 {
		sign = "-"
		u = uint64(-(cents + 1)) + 1 // no overflow for math.MinInt64
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// ParseAmount parses an Alipay amount string ("12.34", "12.3", "12") into
// cents without going through floating point. It accepts only unsigned
// decimal digits with at most two fraction digits; anything else (signs,
// exponents, spaces, a third decimal, an empty part around the dot) is an
// error, as is a value that does not fit in int64.
func ParseAmount(s string) (int64, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && (frac == "" || len(frac) > 2)) {
		return 0, fmt.Errorf("alipay: invalid amount %q", s)
	}
	if !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("alipay: invalid amount %q", s)
	}
	yuan, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || yuan > (math.MaxInt64-99)/100 {
		return 0, fmt.Errorf("alipay: amount %q out of range", s)
	}
	var fen int64
	switch len(frac) {
	case 1:
		fen = int64(frac[0]-'0') * 10
	case 2:
		fen = int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	}
	return yuan*100 + fen, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidAmount reports whether cents lies in Alipay's payable range
// 0.01 – 100000000.00 yuan.
func ValidAmount(cents int64) bool { return cents >= 1 && cents <= maxAmountCents }
