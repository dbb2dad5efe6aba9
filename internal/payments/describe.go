package payments

import "strconv"

// Describe builds the one-line description providers show on the buyer's bill.
func Describe(firstItem string, lines int) string {
	if lines <= 1 {
		return truncate(firstItem, 120)
	}
	return truncate(firstItem, 100) + " and " + strconv.Itoa(lines-1) + " more"
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
