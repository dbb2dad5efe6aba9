package platform_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/platform"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopTemporalDevServer()
	os.Exit(code)
}

// The dev server of the tests registers the attributes (as make run
// does): the check passes. A namespace without them fails the check with
// the command that creates each one.
func TestSearchAttributeCheck(t *testing.T) {
	addr := testenv.TemporalDevServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(client.Options{HostPort: addr, Logger: quietSDK()})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, platform.CheckSearchAttributes(ctx, c, "default"))

	ns := "bare-" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	require.NoError(t, err)
	err = platform.CheckSearchAttributes(ctx, c, ns)
	var missing *platform.MissingSearchAttributesError
	require.True(t, errors.As(err, &missing), "%v", err)
	assert.Len(t, missing.Missing, 4)
	for _, want := range []string{
		"temporal operator search-attribute create --namespace " + ns + " --name OrderNo --type Keyword",
		"temporal operator search-attribute create --namespace " + ns + " --name UserId --type Int",
		"temporal operator search-attribute create --namespace " + ns + " --name OrderStatus --type Keyword",
		"temporal operator search-attribute create --namespace " + ns + " --name PayChannel --type Keyword",
	} {
		assert.Contains(t, err.Error(), want)
	}

	// A namespace that does not exist is an error of another kind.
	err = platform.CheckSearchAttributes(ctx, c, "no-such-namespace")
	require.Error(t, err)
	assert.False(t, errors.As(err, &missing))
}
