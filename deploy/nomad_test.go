package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"

	"github.com/rpcgate/rpcgate/internal/redistest"
)

// deploy/nomad: the job file parses as HCL; its structure is what the docs
// promise (update with canaries, a task group per node group with its own
// scaling policy, Consul services with Fabio tags and HTTP checks); and each
// group's embedded rpcgate config is validated and then served for real, so
// the Consul checks and the Fabio route are tried against a running gateway.

const nomadFile = "nomad/rpcgate.nomad.hcl"

func parseNomad(t *testing.T) *hclsyntax.Body {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCLFile(nomadFile)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", nomadFile, diags.Error())
	}
	return f.Body.(*hclsyntax.Body)
}

func blocks(b *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, bl := range b.Blocks {
		if bl.Type == typ {
			out = append(out, bl)
		}
	}
	return out
}

// attr evaluates an attribute that must be a constant (no variables or
// functions: the job file uses none).
func attr(t *testing.T, b *hclsyntax.Body, name string) (cty.Value, bool) {
	t.Helper()
	a, ok := b.Attributes[name]
	if !ok {
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(&hcl.EvalContext{})
	if diags.HasErrors() {
		t.Fatalf("%s: %s: %s", nomadFile, name, diags.Error())
	}
	return v, true
}

func str(t *testing.T, b *hclsyntax.Body, name string) string {
	t.Helper()
	v, ok := attr(t, b, name)
	if !ok || v.IsNull() || !v.Type().Equals(cty.String) {
		return ""
	}
	return v.AsString()
}

func num(t *testing.T, b *hclsyntax.Body, name string) int {
	t.Helper()
	v, ok := attr(t, b, name)
	if !ok || !v.Type().Equals(cty.Number) {
		return -1
	}
	i, _ := v.AsBigFloat().Int64()
	return int(i)
}

func strs(t *testing.T, b *hclsyntax.Body, name string) []string {
	t.Helper()
	v, ok := attr(t, b, name)
	if !ok || v.IsNull() || !(v.Type().IsTupleType() || v.Type().IsListType()) {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.Type().Equals(cty.String) {
			out = append(out, e.AsString())
		}
	}
	return out
}

func dur(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %q: %v", nomadFile, s, err)
	}
	return d
}

func TestNomadJob(t *testing.T) {
	body := parseNomad(t)
	jobs := blocks(body, "job")
	if len(jobs) != 1 {
		t.Fatalf("%s: %d job blocks, want 1", nomadFile, len(jobs))
	}
	job := jobs[0].Body
	if str(t, job, "type") != "service" {
		t.Errorf("job type %q, want service", str(t, job, "type"))
	}
	up := blocks(job, "update")
	if len(up) != 1 {
		t.Fatalf("%s: want one job-level update block (rolling + canary)", nomadFile)
	}
	u := up[0].Body
	if num(t, u, "max_parallel") < 1 || num(t, u, "canary") < 1 || str(t, u, "health_check") != "checks" {
		t.Errorf("update: max_parallel %d, canary %d, health_check %q: want a rolling deploy with canaries judged by checks",
			num(t, u, "max_parallel"), num(t, u, "canary"), str(t, u, "health_check"))
	}
	if v, _ := attr(t, u, "auto_revert"); v != cty.True {
		t.Errorf("update: auto_revert is not true")
	}

	allowed := documentedMetrics(t)
	groups := blocks(job, "group")
	names := map[string]bool{}
	for _, g := range groups {
		names[g.Labels[0]] = true
	}
	if !names["default"] || !names["logs"] {
		t.Fatalf("%s: task groups %v, want one per node group (default, logs)", nomadFile, names)
	}
	for _, g := range groups {
		name := g.Labels[0]
		where := nomadFile + ": group " + name
		gb := g.Body
		// Scaling: a Nomad Autoscaler policy on queue depth.
		sc := blocks(gb, "scaling")
		if len(sc) != 1 {
			t.Errorf("%s: no scaling block", where)
		} else {
			s := sc[0].Body
			count := num(t, gb, "count")
			if mn, mx := num(t, s, "min"), num(t, s, "max"); !(mn >= 1 && mn <= count && count <= mx && mn < mx) {
				t.Errorf("%s: scaling min %d, count %d, max %d", where, mn, count, mx)
			}
			queries := 0
			for _, p := range blocks(s, "policy") {
				for _, c := range blocks(p.Body, "check") {
					q := str(t, c.Body, "query")
					checkExpr(t, allowed, where+" check "+c.Labels[0], q)
					if str(t, c.Body, "source") == "prometheus" && strings.Contains(q, "queue_depth") &&
						strings.Contains(q, `nomad_group="`+name+`"`) && len(blocks(c.Body, "strategy")) == 1 {
						queries++
					}
				}
			}
			if queries != 1 {
				t.Errorf("%s: want one prometheus check on this group's queue depth with a strategy; found %d", where, queries)
			}
		}
		if num(t, gb, "count") < 1 {
			t.Errorf("%s: count missing", where)
		}
		if d := str(t, gb, "shutdown_delay"); d == "" || dur(t, d) <= 0 {
			t.Errorf("%s: no shutdown_delay: Consul would route to a draining gateway", where)
		}
	}
}

// TestNomadServesItsChecks starts each group's gateway with the config the
// job embeds, then GETs every Consul check and posts through every Fabio
// route, as Consul and Fabio would.
func TestNomadServesItsChecks(t *testing.T) {
	bin := buildRpcgate(t, t.TempDir())
	redisAddr := redistest.Need(t)
	body := parseNomad(t)
	job := blocks(body, "job")[0].Body
	envVar := regexp.MustCompile(`(?m)^\s*([A-Z][A-Z0-9_]*)=`)
	for _, g := range blocks(job, "group") {
		name := g.Labels[0]
		t.Run(name, func(t *testing.T) {
			where := nomadFile + ": group " + name
			tasks := blocks(g.Body, "task")
			if len(tasks) != 1 {
				t.Fatalf("%s: %d tasks, want 1", where, len(tasks))
			}
			task := tasks[0].Body
			cfgs := blocks(task, "config")
			if len(cfgs) != 1 {
				t.Fatalf("%s: no task config", where)
			}
			args := strs(t, cfgs[0].Body, "args")
			var config, secretEnv string
			for _, tpl := range blocks(task, "template") {
				dest := str(t, tpl.Body, "destination")
				switch {
				case len(args) >= 3 && "/"+dest == args[len(args)-1] && args[len(args)-2] == "--config":
					config = str(t, tpl.Body, "data")
				case func() bool { v, _ := attr(t, tpl.Body, "env"); return v == cty.True }():
					secretEnv = str(t, tpl.Body, "data")
				}
			}
			if config == "" {
				t.Fatalf("%s: args %q: no template writes the --config file", where, args)
			}
			var cfg struct {
				ShutdownTimeout string `yaml:"shutdown_timeout"`
				Chains          map[string]struct {
					ChainID int `yaml:"chain_id"`
				} `yaml:"chains"`
			}
			if err := yaml.Unmarshal([]byte(config), &cfg); err != nil {
				t.Fatalf("%s: embedded config: %v", where, err)
			}
			if d := str(t, task, "kill_timeout"); d == "" || dur(t, d) <= dur(t, cfg.ShutdownTimeout) {
				t.Errorf("%s: kill_timeout %q must exceed shutdown_timeout %s, or the drain is killed", where, d, cfg.ShutdownTimeout)
			}

			// The environment the task would get: Nomad's port and region
			// variables, and every secret the env template sets.
			ports := map[string]int{"http": freePort(t), "admin": freePort(t)}
			var b [6]byte
			_, _ = rand.Read(b[:])
			region := "deploytest-" + hex.EncodeToString(b[:])
			redistest.Cleanup(t, redisAddr, "rpcgate:"+region+":")
			env := []string{
				"NOMAD_PORT_http=" + strconv.Itoa(ports["http"]),
				"NOMAD_PORT_admin=" + strconv.Itoa(ports["admin"]),
				"NOMAD_REGION=" + region,
			}
			chainID := 0
			for _, c := range cfg.Chains {
				chainID = c.ChainID
			}
			for _, m := range envVar.FindAllStringSubmatch(secretEnv, -1) {
				switch v := m[1]; {
				case v == "RPCGATE_REDIS_URL":
					env = append(env, v+"=redis://"+redisAddr+"/0")
				case strings.HasPrefix(v, "RPCGATE_NODE_"):
					env = append(env, v+"="+startAnvil(t, chainID))
				default:
					env = append(env, v+"=placeholder-"+strings.ToLower(v))
				}
			}
			for _, m := range varRef.FindAllStringSubmatch(config, -1) {
				found := false
				for _, e := range env {
					found = found || strings.HasPrefix(e, m[1]+"=")
				}
				if !found {
					t.Errorf("%s: the config uses ${%s}, which neither Nomad nor the env template sets", where, m[1])
				}
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "rpcgate.yaml")
			if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
				t.Fatal(err)
			}
			validate(t, bin, file, env)
			if t.Failed() {
				return
			}
			// Served on loopback: the job binds 0.0.0.0 inside its container.
			local := filepath.Join(dir, "local.yaml")
			if err := os.WriteFile(local, []byte(strings.ReplaceAll(config, "0.0.0.0:", "127.0.0.1:")), 0o644); err != nil {
				t.Fatal(err)
			}
			gw := start(t, env, bin, "serve", "--config", local)
			waitReady(t, bin, gw, fmt.Sprintf("http://127.0.0.1:%d/readyz", ports["http"]))

			checks, routes := 0, 0
			for _, svc := range blocks(g.Body, "service") {
				svcPort := str(t, svc.Body, "port")
				for _, c := range blocks(svc.Body, "check") {
					port := str(t, c.Body, "port")
					if port == "" {
						port = svcPort
					}
					if str(t, c.Body, "type") != "http" || ports[port] == 0 {
						t.Errorf("%s: check %q: type %q port %q, want an http check on a task port", where, str(t, c.Body, "name"), str(t, c.Body, "type"), port)
						continue
					}
					url := fmt.Sprintf("http://127.0.0.1:%d%s", ports[port], str(t, c.Body, "path"))
					resp, err := http.Get(url)
					if err != nil {
						t.Errorf("%s: check %s: %v", where, url, err)
						continue
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Errorf("%s: check %s answered %d, want 200 from a ready gateway", where, url, resp.StatusCode)
					}
					checks++
				}
				for _, tag := range strs(t, svc.Body, "tags") {
					if !strings.HasPrefix(tag, "urlprefix-") {
						continue
					}
					// urlprefix-/logs/eth strip=/logs: Fabio sends /logs/eth
					// here as /eth.
					f := strings.Fields(strings.TrimPrefix(tag, "urlprefix-"))
					path := f[0]
					for _, opt := range f[1:] {
						if s, ok := strings.CutPrefix(opt, "strip="); ok {
							path = strings.TrimPrefix(path, s)
						}
					}
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					id, err := rpc(ctx, fmt.Sprintf("http://127.0.0.1:%d%s", ports[svcPort], path), "eth_chainId")
					cancel()
					if want := fmt.Sprintf(`"0x%x"`, chainID); err != nil || string(id) != want {
						t.Errorf("%s: route %q: eth_chainId = %s, %v; want %s", where, tag, id, err, want)
					}
					routes++
				}
			}
			if checks < 2 || routes < 1 {
				t.Errorf("%s: %d checks and %d Fabio routes tried; want /readyz and /healthz checks and a urlprefix- route", where, checks, routes)
			}
			stopGateway(t, gw)
		})
	}
}
