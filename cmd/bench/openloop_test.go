package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseShares(t *testing.T) {
	got, err := parseShares("25, 50,75")
	require.NoError(t, err)
	assert.Equal(t, []float64{0.25, 0.5, 0.75}, got)
	got, err = parseShares("")
	require.NoError(t, err)
	assert.Empty(t, got, "empty: no open-loop runs")
	for _, bad := range []string{"x", "0", "-5", "300"} {
		_, err := parseShares(bad)
		assert.Error(t, err, bad)
	}
}
