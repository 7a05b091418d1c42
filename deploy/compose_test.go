package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// The docker compose stack in deploy/compose.

const (
	composeDir    = "compose"
	composeFile   = "compose/compose.yaml"
	composeSchema = "compose/testdata/compose-spec.json"
	envExample    = "compose/.env.example"
)

// loadYAMLAsJSON decodes YAML (anchors and merge keys resolved) into the
// generic values encoding/json makes, which is what a JSON schema checks.
func loadYAMLAsJSON(t *testing.T, file string) any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out any
	if err := json.Unmarshal(j, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func composeValidator(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(composeSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", composeSchema, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose_spec.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("compose_spec.json")
	if err != nil {
		t.Fatalf("compile %s: %v", composeSchema, err)
	}
	return s
}

type composeService struct {
	Image       string         `json:"image"`
	Build       any            `json:"build"`
	Command     any            `json:"command"`
	Environment map[string]any `json:"environment"`
	Volumes     []string       `json:"volumes"`
	Healthcheck *struct {
		Test    []string `json:"test"`
		Disable bool     `json:"disable"`
	} `json:"healthcheck"`
}

func TestComposeSchema(t *testing.T) {
	s := composeValidator(t)
	// The schema must refuse what the spec refuses, or its yes means nothing.
	for name, bad := range map[string]string{
		"unknown service key": "services:\n  a:\n    image: x:1\n    helthcheck: {test: [CMD, true]}\n",
		"bad healthcheck":     "services:\n  a:\n    image: x:1\n    healthcheck: {test: 7}\n",
	} {
		var v any
		if err := yaml.Unmarshal([]byte(bad), &v); err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(v)
		var doc any
		_ = json.Unmarshal(j, &doc)
		if err := s.Validate(doc); err == nil {
			t.Errorf("the compose schema accepts a file with a %s", name)
		}
	}
	if err := s.Validate(loadYAMLAsJSON(t, composeFile)); err != nil {
		t.Errorf("%s does not follow the compose specification:\n%v", composeFile, err)
	}
}

func composeServices(t *testing.T) map[string]composeService {
	t.Helper()
	j, err := json.Marshal(loadYAMLAsJSON(t, composeFile))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]composeService `json:"services"`
	}
	if err := json.Unmarshal(j, &c); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return c.Services
}

// TestComposeServices: every image pinned by a tag, every service with a
// healthcheck, and the stack the issue promises.
func TestComposeServices(t *testing.T) {
	svcs := composeServices(t)
	images := map[string]int{}
	for name, s := range svcs {
		ref := s.Image
		if ref == "" {
			t.Errorf("%s: service %s has no image (a build needs an image: name:tag too)", composeFile, name)
			continue
		}
		repo, tag, ok := strings.Cut(ref[strings.LastIndex(ref, "/")+1:], ":")
		if !ok || tag == "" || tag == "latest" || strings.Contains(tag, "$") {
			t.Errorf("%s: service %s: image %q is not pinned by a tag", composeFile, name, ref)
		}
		images[strings.TrimSuffix(ref, ":"+tag)+"|"+repo]++
		if s.Healthcheck == nil || s.Healthcheck.Disable || len(s.Healthcheck.Test) < 2 ||
			(s.Healthcheck.Test[0] != "CMD" && s.Healthcheck.Test[0] != "CMD-SHELL") {
			t.Errorf("%s: service %s has no healthcheck", composeFile, name)
		}
	}
	count := func(image string) int {
		n := 0
		for k, v := range images {
			if strings.HasPrefix(k, image+"|") {
				n += v
			}
		}
		return n
	}
	for image, want := range map[string]int{
		"ghcr.io/foundry-rs/foundry": 3, "localhost/rpcgate": 2, "redis": 1, "nats": 1,
		"prom/prometheus": 1, "grafana/grafana": 1,
	} {
		if got := count(image); got != want {
			t.Errorf("%s: %d services run %s, want %d", composeFile, got, image, want)
		}
	}
	if cmd, _ := json.Marshal(svcs["nats"].Command); !bytes.Contains(cmd, []byte("--jetstream")) {
		t.Errorf("%s: nats runs %s, want JetStream on (--jetstream)", composeFile, cmd)
	}
	for name, s := range svcs {
		if !strings.HasPrefix(s.Image, "ghcr.io/foundry-rs/foundry:") {
			continue
		}
		if cmd, _ := json.Marshal(s.Command); !bytes.Contains(cmd, []byte("--chain-id 1337")) {
			t.Errorf("%s: %s runs %s, want anvil --chain-id 1337 (the chain_id rpcgate.yaml expects)", composeFile, name, cmd)
		}
	}
}

// mounts returns a service's bind mounts as host path (relative to this
// package) -> container path.
func mounts(s composeService) map[string]string {
	m := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && (strings.HasPrefix(parts[0], ".") || strings.HasPrefix(parts[0], "/")) {
			m[filepath.Clean(filepath.Join(composeDir, parts[0]))] = parts[1]
		}
	}
	return m
}

// TestComposeWiring: the files the services mount exist; Prometheus gets
// the shipped alert rules and scrapes every rpcgate replica; Grafana gets
// the shipped dashboard; every rpcgate config passes `rpcgate validate`.
func TestComposeWiring(t *testing.T) {
	svcs := composeServices(t)
	env := envFromExample(t)
	bin := buildRpcgate(t, t.TempDir())
	var replicas []string
	for name, s := range svcs {
		for host := range mounts(s) {
			if _, err := os.Stat(host); err != nil {
				t.Errorf("%s: service %s mounts %s: %v", composeFile, name, host, err)
			}
		}
		if !strings.HasPrefix(s.Image, "localhost/rpcgate:") {
			continue
		}
		replicas = append(replicas, name)
		configs := 0
		for host, ctr := range mounts(s) {
			if ctr == "/etc/rpcgate/rpcgate.yaml" {
				validate(t, bin, host, env)
				configs++
			}
		}
		if configs != 1 {
			t.Errorf("%s: service %s mounts %d configs at /etc/rpcgate/rpcgate.yaml, want 1", composeFile, name, configs)
		}
		if len(s.Healthcheck.Test) < 3 || s.Healthcheck.Test[1] != "/rpcgate" || s.Healthcheck.Test[2] != "health" {
			t.Errorf("%s: %s healthcheck %q, want /rpcgate health", composeFile, name, s.Healthcheck.Test)
		}
	}
	sort.Strings(replicas)
	if len(replicas) != 2 {
		t.Fatalf("%s: rpcgate replicas %v, want 2", composeFile, replicas)
	}

	prom := mounts(svcs["prometheus"])
	if prom[filepath.Clean(alertsFile)] == "" {
		t.Errorf("%s: prometheus does not mount the shipped rules %s", composeFile, alertsFile)
	}
	var pc struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			Authorization struct {
				CredentialsFile string `yaml:"credentials_file"`
			} `yaml:"authorization"`
		} `yaml:"scrape_configs"`
	}
	promConf := ""
	for host, ctr := range prom {
		if ctr == "/etc/prometheus/prometheus.yml" {
			promConf = host
		}
	}
	b, err := os.ReadFile(promConf)
	if err != nil {
		t.Fatalf("prometheus config (%q): %v", promConf, err)
	}
	if err := yaml.Unmarshal(b, &pc); err != nil {
		t.Fatalf("%s: %v", promConf, err)
	}
	rulesIn := map[string]bool{}
	for _, r := range pc.RuleFiles {
		rulesIn[r] = true
	}
	if !rulesIn[prom[filepath.Clean(alertsFile)]] {
		t.Errorf("%s: rule_files %v do not load %s", promConf, pc.RuleFiles, prom[filepath.Clean(alertsFile)])
	}
	scraped := map[string]bool{}
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				// The admin listener needs the token.
				if sc.Authorization.CredentialsFile != "" {
					scraped[tg] = true
				}
			}
		}
	}
	for _, r := range replicas {
		if !scraped[r+":8546"] {
			t.Errorf("%s: replica %s's admin listener (%s:8546) is not scraped with the admin token", promConf, r, r)
		}
	}

	graf := mounts(svcs["grafana"])
	if graf[filepath.Clean(dashboardFile)] == "" {
		t.Errorf("%s: grafana does not mount the shipped dashboard %s", composeFile, dashboardFile)
	}
	runPromtool(t, "check", "config", "--syntax-only", promConf)
}

// envFromExample is the environment of `rpcgate validate` for the compose
// configs: .env.example's variables, each secret given a placeholder, and
// nothing else from the test's environment.
func envFromExample(t *testing.T) []string {
	t.Helper()
	vars := exampleVars(t)
	var env []string
	for k, v := range vars {
		if v == "" {
			v = "placeholder-" + strings.ToLower(k)
		}
		env = append(env, k+"="+v)
	}
	return env
}

func exampleVars(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(envExample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Errorf("%s: %q is not NAME=value", envExample, l)
			continue
		}
		vars[k] = v
	}
	return vars
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// TestComposeSecretsFromEnv: every variable compose.yaml and the configs it
// mounts use is documented in .env.example, the secrets there are empty (none
// baked in), and compose.yaml refuses to start without them (${VAR:?...}).
func TestComposeSecretsFromEnv(t *testing.T) {
	vars := exampleVars(t)
	files := []string{composeFile}
	for _, s := range composeServices(t) {
		for host := range mounts(s) {
			if fi, err := os.Stat(host); err == nil && !fi.IsDir() && strings.HasPrefix(host, composeDir+"/") {
				files = append(files, host)
			}
		}
	}
	used := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range varRef.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
			if _, ok := vars[m[1]]; !ok {
				t.Errorf("%s uses ${%s}, which %s does not document", f, m[1], envExample)
			}
		}
	}
	b, _ := os.ReadFile(composeFile)
	for k, v := range vars {
		if !used[k] {
			t.Errorf("%s documents %s, which nothing uses", envExample, k)
		}
		secret := strings.Contains(k, "TOKEN") || strings.Contains(k, "PASSWORD") || strings.Contains(k, "KEY")
		if !secret {
			continue
		}
		if v != "" {
			t.Errorf("%s: %s has a value; secrets are set in .env, never shipped", envExample, k)
		}
		if !strings.Contains(string(b), "${"+k+":?") {
			t.Errorf("%s: %s must be required (${%s:?message}) so the stack never starts without it", composeFile, k, k)
		}
	}
	if _, err := os.Stat(filepath.Join(composeDir, ".env")); err == nil {
		t.Logf("note: %s/.env exists locally (it is git-ignored)", composeDir)
	}
}
