// Package deploy_test checks the deployment files (docker-compose.yml and
// the Kubernetes manifests in deploy/k8s) against the code: no Docker
// engine or cluster is needed, so a renamed variable, a moved probe or a
// changed port fails `go test` instead of a deploy.
package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/shopflow/orderpay/workflows"
)

// root is the module root, seen from this package's directory.
const root = ".."

// envNamePattern is the shape of an environment variable's name.
var envNamePattern = regexp.MustCompile(`"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"`)

// envReadBy is every environment variable name quoted in the non-test Go
// files of dirs: the names those packages may read.
func envReadBy(t *testing.T, dirs ...string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files, dir)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, m := range envNamePattern.FindAllSubmatch(src, -1) {
				names[string(m[1])] = true
			}
		}
	}
	return names
}

// configEnv is what the API and the worker read: internal/config only.
func configEnv(t *testing.T) map[string]bool { return envReadBy(t, "internal/config") }

// servedPaths are the paths the API (Fiber routes) and the worker (its
// mux) serve without authentication for probes and scraping.
func servedPaths(t *testing.T) (api, worker map[string]bool) {
	t.Helper()
	read := func(file string, pattern *regexp.Regexp) map[string]bool {
		src, err := os.ReadFile(filepath.Join(root, file))
		require.NoError(t, err)
		out := map[string]bool{}
		for _, m := range pattern.FindAllSubmatch(src, -1) {
			out[string(m[1])] = true
		}
		return out
	}
	api = read("api/server.go", regexp.MustCompile(`app\.Get\("(/[a-z]+)"`))
	worker = read("worker/http.go", regexp.MustCompile(`mux\.Handle\("GET (/[a-z]+)"`))
	for _, p := range []string{"/livez", "/readyz", "/metrics"} {
		require.True(t, api[p], "the API serves %s", p)
		require.True(t, worker[p], "the worker serves %s", p)
	}
	return api, worker
}

// defaultPort is the port of an address setting's default in
// internal/config (env("HTTP_ADDR", ":8080") → "8080").
func defaultPort(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "internal/config/config.go"))
	require.NoError(t, err)
	m := regexp.MustCompile(`env\("` + name + `", "([^"]*)"\)`).FindSubmatch(src)
	require.NotNil(t, m, "no default for %s in internal/config", name)
	return port(t, string(m[1]))
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err, addr)
	return p
}

// --- docker-compose.yml -----------------------------------------------------

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Command     any               `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

func loadCompose(t *testing.T) (composeFile, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var c composeFile
	require.NoError(t, yaml.Unmarshal(raw, &c))
	return c, string(raw)
}

// Every variable compose sets on the API and the worker is read by
// internal/config; on the sandbox by its command.
func TestComposeEnvIsReadByTheCode(t *testing.T) {
	c, _ := loadCompose(t)
	cfg := configEnv(t)
	sandbox := envReadBy(t, "cmd/sandbox")
	for name, readers := range map[string]map[string]bool{"api": cfg, "worker": cfg, "sandbox": sandbox} {
		s, ok := c.Services[name]
		require.True(t, ok, "service %s", name)
		require.NotEmpty(t, s.Environment, name)
		for k := range s.Environment {
			assert.True(t, readers[k], "compose sets %s on %s, which no code reads", k, name)
		}
	}
	assert.Contains(t, c.Services["api"].Environment, "DATABASE_URL")
	assert.Contains(t, c.Services["worker"].Environment, "TEMPORAL_PAYLOAD_KEYS")
}

// The API, the worker and the sandbox have health checks that ask a path
// they serve on the port they listen on, and that port is published.
func TestComposeHealthChecks(t *testing.T) {
	c, _ := loadCompose(t)
	apiPaths, workerPaths := servedPaths(t)
	for name, want := range map[string]struct {
		addrVar string
		paths   map[string]bool
	}{
		"api":     {"HTTP_ADDR", apiPaths},
		"worker":  {"WORKER_HTTP_ADDR", workerPaths},
		"sandbox": {"SANDBOX_ADDR", map[string]bool{"/healthz": true}},
	} {
		s := c.Services[name]
		require.NotNil(t, s.Healthcheck, "%s has no healthcheck", name)
		test := s.Healthcheck.Test
		require.Len(t, test, 3, "%s: [CMD, /app/probe, <url>]", name)
		require.Equal(t, []string{"CMD", "/app/probe"}, test[:2], name)
		_, err := os.Stat(filepath.Join(root, "cmd", filepath.Base(test[1])))
		require.NoError(t, err, "%s: the image has no %s (cmd/)", name, test[1])
		hostPort, path, _ := strings.Cut(strings.TrimPrefix(test[2], "http://"), "/")
		assert.True(t, want.paths["/"+path], "%s probes /%s, which it does not serve", name, path)
		listen := port(t, s.Environment[want.addrVar])
		assert.Equal(t, listen, port(t, hostPort), "%s probes another port than %s", name, want.addrVar)
		published := false
		for _, p := range s.Ports {
			published = published || strings.HasSuffix(p, ":"+listen)
		}
		assert.True(t, published, "%s: port %s is not published", name, listen)
	}
	assert.Equal(t, "service_healthy", c.Services["worker"].DependsOn["api"].Condition)
}

// Temporal runs from its current images: no auto-setup image, no tctl; the
// schema and setup jobs must succeed before the API and the worker start.
func TestComposeUsesCurrentTemporalImages(t *testing.T) {
	c, raw := loadCompose(t)
	assert.NotContains(t, raw, "temporalio/auto-setup")
	assert.NotRegexp(t, `(?m)^[^#]*\btctl\b( |$)`, raw, "tctl is deprecated: use the temporal CLI")
	assert.True(t, strings.HasPrefix(c.Services["temporal"].Image, "temporalio/server:"), c.Services["temporal"].Image)
	assert.True(t, strings.HasPrefix(c.Services["temporal-ui"].Image, "temporalio/ui:"))
	for _, job := range []string{"temporal-schema", "temporal-setup"} {
		assert.True(t, strings.HasPrefix(c.Services[job].Image, "temporalio/admin-tools:"), job)
	}
	for _, svc := range []string{"api", "worker"} {
		assert.Equal(t, "service_completed_successfully", c.Services[svc].DependsOn["temporal-setup"].Condition, svc)
	}
	assert.Equal(t, "service_completed_successfully", c.Services["temporal"].DependsOn["temporal-schema"].Condition)
}

// The setup job registers every search attribute the code sets, with its
// type, and without `|| true` (a failure must stop the stack).
func TestComposeRegistersTheSearchAttributes(t *testing.T) {
	c, _ := loadCompose(t)
	cmd := strings.Join(commandLines(c.Services["temporal-setup"].Command), "\n")
	require.Contains(t, cmd, "temporal operator search-attribute create")
	assert.NotContains(t, cmd, "|| true")
	for _, attr := range []struct{ name, typ string }{
		{workflows.AttrOrderNo.GetName(), "Keyword"},
		{workflows.AttrUserID.GetName(), "Int"},
		{workflows.AttrOrderStatus.GetName(), "Keyword"},
		{workflows.AttrPayChannel.GetName(), "Keyword"},
	} {
		assert.Contains(t, cmd, "--name "+attr.name+" --type "+attr.typ)
	}
}

func commandLines(v any) []string {
	switch c := v.(type) {
	case string:
		return []string{c}
	case []any:
		var out []string
		for _, e := range c {
			out = append(out, commandLines(e)...)
		}
		return out
	}
	return nil
}

// --- deploy/k8s ----------------------------------------------------------------

// object is one Kubernetes manifest, decoded loosely.
type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Template struct {
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas int `yaml:"minReplicas"`
		MaxReplicas int `yaml:"maxReplicas"`
	} `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
	Containers                    []container `yaml:"containers"`
	Volumes                       []struct {
		Name   string `yaml:"name"`
		Secret struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type container struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name string `yaml:"name"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
		SecretRef    *struct{ Name string } `yaml:"secretRef"`
	} `yaml:"envFrom"`
	StartupProbe   *probe `yaml:"startupProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

// loadK8s decodes every manifest in deploy/k8s, by kind and name.
func loadK8s(t *testing.T) map[string]object {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	require.NoError(t, err)
	objs := map[string]object{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, f)
			require.NotEmpty(t, o.Kind, f)
			objs[o.Kind+"/"+o.Metadata.Name] = o
		}
	}
	return objs
}

// kustomization.yaml applies every manifest but the secret template.
func TestKustomizationListsTheManifests(t *testing.T) {
	raw, err := os.ReadFile("k8s/kustomization.yaml")
	require.NoError(t, err)
	var k struct {
		Resources []string `yaml:"resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &k))
	files, err := filepath.Glob("k8s/*.yaml")
	require.NoError(t, err)
	for _, f := range files {
		base := filepath.Base(f)
		if base == "kustomization.yaml" || base == "secret.example.yaml" {
			assert.NotContains(t, k.Resources, base)
			continue
		}
		assert.Contains(t, k.Resources, base)
	}
}

// Every variable the ConfigMap and the Secret template set is read by
// internal/config, and every *_FILE path lies in a mounted secret whose
// template has that key.
func TestK8sEnvIsReadByTheCode(t *testing.T) {
	objs := loadK8s(t)
	cfg := configEnv(t)
	cm, ok := objs["ConfigMap/orderpay-config"]
	require.True(t, ok)
	env, ok := objs["Secret/orderpay-env"]
	require.True(t, ok, "secret.example.yaml holds the orderpay-env template")
	files, ok := objs["Secret/orderpay-files"]
	require.True(t, ok, "secret.example.yaml holds the orderpay-files template")
	for _, m := range []map[string]string{cm.Data, env.StringData} {
		for k := range m {
			assert.True(t, cfg[k], "the manifests set %s, which internal/config does not read", k)
		}
	}
	for _, required := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "WECHAT_APIV3_KEY", "TEMPORAL_PAYLOAD_KEYS_FILE", "HTTP_ADDR", "WORKER_HTTP_ADDR"} {
		_, inCM := cm.Data[required]
		_, inSecret := env.StringData[required]
		assert.True(t, inCM || inSecret, "%s is not set", required)
	}
	for k, v := range cm.Data {
		if !strings.HasSuffix(k, "_FILE") {
			continue
		}
		dir, key := filepath.Split(v)
		assert.Equal(t, "/etc/orderpay/secrets/", dir, k)
		assert.Contains(t, files.StringData, key, "%s names %s, which orderpay-files does not hold", k, key)
	}
}

// The API and worker Deployments probe the paths they serve on the port
// they listen on (HTTP_ADDR / WORKER_HTTP_ADDR, as set and as defaulted),
// run a binary the image has, read the config and secrets, and mount the
// secret files; the worker has an autoscaler.
func TestK8sDeployments(t *testing.T) {
	objs := loadK8s(t)
	cm := objs["ConfigMap/orderpay-config"]
	apiPaths, workerPaths := servedPaths(t)
	for name, want := range map[string]struct {
		binary, addrVar string
		paths           map[string]bool
	}{
		"orderpay-api":    {"/app/api", "HTTP_ADDR", apiPaths},
		"orderpay-worker": {"/app/worker", "WORKER_HTTP_ADDR", workerPaths},
	} {
		d, ok := objs["Deployment/"+name]
		require.True(t, ok, name)
		spec := d.Spec.Template.Spec
		require.Len(t, spec.Containers, 1, name)
		c := spec.Containers[0]
		assert.Equal(t, []string{want.binary}, c.Command, name)
		_, err := os.Stat(filepath.Join(root, "cmd", filepath.Base(want.binary)))
		require.NoError(t, err, "no cmd/ for %s", want.binary)
		assert.Greater(t, spec.TerminationGracePeriodSeconds, 20, "%s: longer than the worker's 20 s drain", name)

		listen := port(t, cm.Data[want.addrVar])
		assert.Equal(t, defaultPort(t, want.addrVar), listen, "%s: the ConfigMap moves %s off its default", name, want.addrVar)
		require.Len(t, c.Ports, 1, name)
		assert.Equal(t, listen, strconv.Itoa(c.Ports[0].ContainerPort), "%s: containerPort", name)
		probes := map[string]*probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe}
		for kind, p := range probes {
			require.NotNil(t, p, "%s has no %s probe", name, kind)
			require.NotNil(t, p.HTTPGet, "%s %s probe", name, kind)
			assert.True(t, want.paths[p.HTTPGet.Path], "%s %s probe asks %s, which is not served", name, kind, p.HTTPGet.Path)
			assert.Contains(t, []any{c.Ports[0].Name, c.Ports[0].ContainerPort}, p.HTTPGet.Port, "%s %s probe port", name, kind)
		}
		assert.Equal(t, "/livez", c.LivenessProbe.HTTPGet.Path, "%s: liveness never depends on the database or Temporal", name)
		assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path, name)
		assertReadsConfig(t, name, c, spec)

		_, ok = objs["Service/"+name]
		assert.True(t, ok, "Service/%s", name)
	}
	hpa, ok := objs["HorizontalPodAutoscaler/orderpay-worker"]
	require.True(t, ok, "the worker has an autoscaler")
	assert.Equal(t, "Deployment", hpa.Spec.ScaleTargetRef.Kind)
	assert.Equal(t, "orderpay-worker", hpa.Spec.ScaleTargetRef.Name)
	assert.GreaterOrEqual(t, hpa.Spec.MinReplicas, 2)
	assert.Greater(t, hpa.Spec.MaxReplicas, hpa.Spec.MinReplicas)

	job, ok := objs["Job/orderpay-migrate"]
	require.True(t, ok, "a Job migrates the schema")
	jc := job.Spec.Template.Spec.Containers
	require.Len(t, jc, 1)
	assert.Equal(t, []string{"/app/migrate", "up"}, jc[0].Command, "the migrate binary (cmd/migrate) applies the migrations")
	assertReadsConfig(t, "orderpay-migrate", jc[0], job.Spec.Template.Spec)
}

// assertReadsConfig checks that a container reads the ConfigMap and the
// orderpay-env Secret and mounts orderpay-files where the *_FILE paths point.
func assertReadsConfig(t *testing.T, name string, c container, spec podSpec) {
	t.Helper()
	var refs []string
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			refs = append(refs, "configmap/"+e.ConfigMapRef.Name)
		}
		if e.SecretRef != nil {
			refs = append(refs, "secret/"+e.SecretRef.Name)
		}
	}
	assert.Contains(t, refs, "configmap/orderpay-config", name)
	assert.Contains(t, refs, "secret/orderpay-env", name)
	mounted := false
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			mounted = mounted || (v.Name == m.Name && v.Secret.SecretName == "orderpay-files" && m.MountPath == "/etc/orderpay/secrets")
		}
	}
	assert.True(t, mounted, "%s mounts orderpay-files at /etc/orderpay/secrets", name)
}

// devServerFlags are the dynamic-config values and the GOGC a script starts
// the dev server with.
func devServerFlags(t *testing.T, script string) (config map[string]string, gogc bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "deploy", script))
	require.NoError(t, err)
	code := regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(string(b), "") // flags named in comments do not count
	config = map[string]string{}
	for _, m := range regexp.MustCompile(`--dynamic-config-value ([a-zA-Z.]+)="?([^"\s\\]+)`).FindAllStringSubmatch(code, -1) {
		config[m[1]] = m[2]
	}
	return config, strings.Contains(code, `GOGC=$DEVSERVER_GOGC "$TEMPORAL" server start-dev`)
}

// `make bench` measures the dev server as `make run` starts it: the same
// dynamic config and garbage-collector setting (deploy/lib.sh).
func TestBenchRunsTheDevServerAsMakeRun(t *testing.T) {
	run, runGOGC := devServerFlags(t, "run-dev.sh")
	bench, benchGOGC := devServerFlags(t, "bench.sh")
	assert.Equal(t, run, bench)
	assert.Equal(t, "$DEVSERVER_HISTORY_CACHE", run["history.hostLevelCacheMaxSize"])
	assert.Equal(t, "1000", run["history.transferProcessorMaxPollRPS"])
	assert.True(t, runGOGC, "run-dev.sh starts the dev server with GOGC=$DEVSERVER_GOGC")
	assert.True(t, benchGOGC, "bench.sh starts the dev server with GOGC=$DEVSERVER_GOGC")
}

// The production dynamic config (deploy/temporal/dynamicconfig.yaml) is
// what docs/operations.md asks of a cluster, what compose's Temporal reads
// and what `make bench` runs the real server with; `make run` gives the dev
// server the same values as flags.
func TestTemporalDynamicConfigIsTheOneDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "deploy/temporal/dynamicconfig.yaml"))
	require.NoError(t, err)
	var file map[string][]struct {
		Value any `yaml:"value"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))
	require.NotEmpty(t, file)

	run, _ := devServerFlags(t, "run-dev.sh")
	for key, values := range file {
		require.Len(t, values, 1, key)
		assert.Equal(t, run[key], strconv.Itoa(values[0].Value.(int)), "make run gives the dev server %s as the file does", key)
	}
	for _, key := range []string{"history.transferProcessorMaxPollRPS", "history.timerProcessorMaxPollRPS", "history.visibilityProcessorMaxPollRPS"} {
		assert.Contains(t, file, key)
	}

	ops, err := os.ReadFile(filepath.Join(root, "docs/operations.md"))
	require.NoError(t, err)
	assert.Contains(t, string(ops), "deploy/temporal/dynamicconfig.yaml", "the production docs point at the file")

	c, text := loadCompose(t)
	tmp := c.Services["temporal"]
	assert.Equal(t, "/etc/temporal/config/dynamicconfig/orderpay.yaml", tmp.Environment["DYNAMIC_CONFIG_FILE_PATH"])
	assert.Contains(t, text, "./deploy/temporal/dynamicconfig.yaml:/etc/temporal/config/dynamicconfig/orderpay.yaml:ro")

	bench, err := os.ReadFile(filepath.Join(root, "deploy/bench.sh"))
	require.NoError(t, err)
	assert.Contains(t, string(bench), `filepath: "$PWD/deploy/temporal/dynamicconfig.yaml"`, "make bench runs the real server with it")
}
