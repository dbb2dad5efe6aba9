package contract

import "strconv"

// Describe builds the one-line description providers show on the buyer's
// bill: the first item's name and how many more lines the order has.
func Describe(firstItem string, lines int) string {
	if lines <= 1 {
		return truncateRunes(firstItem, 120)
	}
	return truncateRunes(firstItem, 100) + " and " + strconv.Itoa(lines-1) + " more"
}

// truncateRunes cuts s to at most n characters (not bytes).
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
