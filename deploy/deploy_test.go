// Package deploy holds no Go code of its own: these tests keep the Prometheus
// alert rules and the Grafana dashboard under deploy/ honest. They run
// promtool on the rules and their unit tests, and they check that every
// PromQL expression names only metrics rpcgate exports. The list of those
// metrics is read from the table of ../docs/metrics.md (which docs/docs_test.go
// keeps equal to the metrics the code defines), so renaming a metric without
// updating the rules and dashboard breaks this test.
package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

const (
	alertsFile    = "prometheus/rpcgate-alerts.yaml"
	alertTestFile = "prometheus/rpcgate-alerts.test.yaml"
	dashboardFile = "grafana/rpcgate-dashboard.json"
	metricsFile   = "../docs/metrics.md"
)

// pendingMetrics are metrics the rules or dashboard use that are not in the
// table of docs/metrics.md yet (they are being added). Once a name appears
// there it is taken from there; keeping it here as well is harmless.
var pendingMetrics = map[string]string{
	"rpcgate_request_duration_seconds": "histogram", // labels chain, method
	"rpcgate_group_healthy_nodes":      "gauge",     // labels chain, group
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found on PATH: run scripts/install-promtool.sh (make test does)")
	}
	return p
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("promtool %s: %v", strings.Join(args, " "), err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("promtool %s: still running after 2m\n%s", strings.Join(args, " "), out.String())
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out.String())
}

func TestPromtoolCheckRules(t *testing.T) {
	runPromtool(t, "check", "rules", alertsFile)
}

func TestPromtoolTestRules(t *testing.T) {
	runPromtool(t, "test", "rules", alertTestFile)
}

// documentedMetrics returns the metric names (with histogram series suffixes)
// listed in the table of docs/metrics.md, plus pendingMetrics.
func documentedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(metricsFile)
	if err != nil {
		t.Fatalf("read %s: %v", metricsFile, err)
	}
	section := string(b)
	// | `rpcgate_requests_total` | counter | chain, group, outcome | ... |
	row := regexp.MustCompile("(?m)^\\|\\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\\s*\\|\\s*([a-z]+)\\s*\\|")
	types := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		types[m[1]] = m[2]
	}
	if len(types) < 10 {
		t.Fatalf("found only %d metrics in the table of %s (%v); has the table's format changed?",
			len(types), metricsFile, types)
	}
	for name, typ := range pendingMetrics {
		if _, ok := types[name]; !ok {
			types[name] = typ
		}
	}
	allowed := map[string]bool{}
	for name, typ := range types {
		allowed[name] = true
		switch typ {
		case "histogram":
			allowed[name+"_bucket"] = true
			allowed[name+"_sum"] = true
			allowed[name+"_count"] = true
		case "summary":
			allowed[name+"_sum"] = true
			allowed[name+"_count"] = true
		case "counter", "gauge":
		default:
			t.Fatalf("%s: metric %s has unknown type %q", metricsFile, name, typ)
		}
	}
	return allowed
}

// promqlKeywords are bare identifiers that are not metric names.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "inf": true, "nan": true,
	"start": true, "end": true,
	// Aggregation operators, which may be followed by "by (...)" rather
	// than "(": sum by (chain) (x).
	"sum": true, "min": true, "max": true, "avg": true, "group": true,
	"stddev": true, "stdvar": true, "count": true, "count_values": true,
	"bottomk": true, "topk": true, "quantile": true, "limitk": true,
	"limit_ratio": true,
}

// labelListKeywords are followed by a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true,
}

func isIdentStart(c byte) bool { return c == '_' || c == ':' || c < 128 && unicode.IsLetter(rune(c)) }
func isIdent(c byte) bool      { return isIdentStart(c) || c >= '0' && c <= '9' }

// metricNames returns the metric names a PromQL expression selects. It is a
// small lexer, not a parser: it skips strings, label matchers ({...}),
// ranges ([...]), numbers and durations, Grafana variables ($x, ${x}),
// function calls (an identifier followed by "(") and the label lists of
// by/without/on/ignoring/group_left/group_right. Whatever identifier is
// left is a metric name. An expression it cannot lex is an error.
func metricNames(expr string) ([]string, error) {
	var names []string
	skipString := func(i int) (int, error) {
		q := expr[i]
		for j := i + 1; j < len(expr); j++ {
			if expr[j] == '\\' && q != '`' {
				j++
				continue
			}
			if expr[j] == q {
				return j + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated string at offset %d", i)
	}
	skipUntil := func(i int, close byte) (int, error) {
		open := expr[i]
		depth := 0
		for j := i; j < len(expr); {
			switch c := expr[j]; {
			case c == '"' || c == '\'' || c == '`':
				k, err := skipString(j)
				if err != nil {
					return 0, err
				}
				j = k
				continue
			case c == open:
				depth++
			case c == close:
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
			j++
		}
		return 0, fmt.Errorf("unbalanced %q at offset %d", open, i)
	}
	skipSpace := func(i int) int {
		for i < len(expr) && (expr[i] == ' ' || expr[i] == '\t' || expr[i] == '\n' || expr[i] == '\r') {
			i++
		}
		return i
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#': // comment to end of line
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '{':
			j, err := skipUntil(i, '}')
			if err != nil {
				return nil, err
			}
			i = j
		case c == '[':
			j, err := skipUntil(i, ']')
			if err != nil {
				return nil, err
			}
			i = j
		case c == '$': // Grafana variable: $name, ${name}, ${name:fmt}
			i++
			if i < len(expr) && expr[i] == '{' {
				j, err := skipUntil(i, '}')
				if err != nil {
					return nil, err
				}
				i = j
			} else {
				for i < len(expr) && isIdent(expr[i]) {
					i++
				}
			}
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(expr) && expr[i+1] >= '0' && expr[i+1] <= '9':
			// Numbers (1, 0.5, 1e-3, 0x1F) and durations (5m, 1h30m).
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.' ||
				(expr[i] == '-' || expr[i] == '+') && (expr[i-1] == 'e' || expr[i-1] == 'E')) {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			word := expr[i:j]
			k := skipSpace(j)
			switch {
			case labelListKeywords[strings.ToLower(word)]:
				i = k
				if k < len(expr) && expr[k] == '(' {
					e, err := skipUntil(k, ')')
					if err != nil {
						return nil, err
					}
					i = e
				}
			case k < len(expr) && expr[k] == '(':
				i = j // function or aggregation; its arguments are lexed next
			case promqlKeywords[strings.ToLower(word)]:
				i = j
			default:
				names = append(names, word)
				i = j
			}
		case strings.IndexByte("()+-*/%^=!<>,@", c) >= 0:
			i++
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d", c, i)
		}
	}
	return names, nil
}

func TestMetricNamesLexer(t *testing.T) {
	for expr, want := range map[string]string{
		`rpcgate_node_up == 0 unless ignoring (state) rpcgate_node_state{state="draining"} == 1`:    "rpcgate_node_up rpcgate_node_state",
		`sum by (chain, outcome) (rate(rpcgate_requests_total{chain=~"$chain"}[$__rate_interval]))`: "rpcgate_requests_total",
		`histogram_quantile(0.99, sum(rate(x_bucket{a="}"}[5m])) by (le)) > 1e-3`:                   "x_bucket",
		`changes(rpcgate_chain_head[5m]) == 0 and rpcgate_chain_head offset 5m`:                     "rpcgate_chain_head rpcgate_chain_head",
		`a / on (chain) group_left (node) b * ${x:raw} - up`:                                        "a b up",
		`count without (instance) (rpcgate_build_info) > bool 0`:                                    "rpcgate_build_info",
		`label_values(rpcgate_node_up{chain=~"$chain"}, node)`:                                      "rpcgate_node_up node",
	} {
		got, err := metricNames(expr)
		if err != nil {
			t.Errorf("metricNames(%q): %v", expr, err)
			continue
		}
		if strings.Join(got, " ") != want {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

// checkExpr reports the metric names in expr that rpcgate does not export.
func checkExpr(t *testing.T, allowed map[string]bool, where, expr string) {
	t.Helper()
	if strings.TrimSpace(expr) == "" {
		t.Errorf("%s: empty expression", where)
		return
	}
	names, err := metricNames(expr)
	if err != nil {
		t.Errorf("%s: cannot lex %q: %v", where, expr, err)
		return
	}
	if len(names) == 0 {
		t.Errorf("%s: expression %q selects no metric", where, expr)
	}
	for _, n := range names {
		if !allowed[n] {
			t.Errorf("%s: expression uses metric %q, which is not in the table of %s "+
				"(renamed or removed?):\n%s", where, n, metricsFile, expr)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRulesUseKnownMetrics(t *testing.T) {
	allowed := documentedMetrics(t)
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	if len(rf.Groups) != 1 || rf.Groups[0].Name != "rpcgate" {
		t.Fatalf("%s: want one rule group named rpcgate", alertsFile)
	}
	alerts := map[string]bool{}
	for _, r := range rf.Groups[0].Rules {
		where := alertsFile + ": " + r.Alert + r.Record
		checkExpr(t, allowed, where, r.Expr)
		if r.Record != "" {
			allowed[r.Record] = true // later rules may use a recorded series
			continue
		}
		alerts[r.Alert] = true
		switch r.Labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("%s: severity label is %q, want critical, warning or info", where, r.Labels["severity"])
		}
		for _, a := range []string{"summary", "description", "runbook"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s annotation", where, a)
			}
		}
	}
	for _, a := range []string{"RpcgateNodeDown", "RpcgateNodeLagging", "RpcgateChainHeadStalled",
		"RpcgateHighErrorRate", "RpcgateNoHealthyNode", "RpcgateGroupNoHealthyNode"} {
		if !alerts[a] {
			t.Errorf("%s: alert %s is missing", alertsFile, a)
		}
	}

	// Every alert must be exercised by the promtool unit tests.
	tb, err := os.ReadFile(alertTestFile)
	if err != nil {
		t.Fatal(err)
	}
	for a := range alerts {
		if !regexp.MustCompile(`(?m)^\s*alertname:\s*` + regexp.QuoteMeta(a) + `\s*$`).Match(tb) {
			t.Errorf("%s: no test for alert %s", alertTestFile, a)
		}
	}
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource any    `json:"datasource"`
	Targets    []struct {
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
		Datasource any    `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	SchemaVersion int     `json:"schemaVersion"`
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Datasource any    `json:"datasource"`
			Definition string `json:"definition"`
			Query      any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// checkDatasource wants the ${DS_PROMETHEUS} input, as a string or as
// {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}.
func checkDatasource(t *testing.T, where string, ds any) {
	t.Helper()
	switch v := ds.(type) {
	case string:
		if v == "${DS_PROMETHEUS}" {
			return
		}
	case map[string]any:
		if v["uid"] == "${DS_PROMETHEUS}" && (v["type"] == nil || v["type"] == "prometheus") {
			return
		}
	}
	t.Errorf("%s: datasource is %v, want the ${DS_PROMETHEUS} input", where, ds)
}

func TestDashboard(t *testing.T) {
	allowed := documentedMetrics(t)
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("%s: dashboard needs a title and a uid", dashboardFile)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("%s: schemaVersion %d, want a current one (~39)", dashboardFile, d.SchemaVersion)
	}
	hasInput := false
	for _, in := range d.Inputs {
		if in.Name == "DS_PROMETHEUS" && in.Type == "datasource" && in.PluginID == "prometheus" {
			hasInput = true
		}
	}
	if !hasInput {
		t.Errorf("%s: no __inputs entry for the DS_PROMETHEUS datasource", dashboardFile)
	}

	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type != "query" {
			continue
		}
		where := fmt.Sprintf("%s: variable %s", dashboardFile, v.Name)
		checkDatasource(t, where, v.Datasource)
		q := v.Definition
		if s, ok := v.Query.(string); ok && q == "" {
			q = s
		} else if m, ok := v.Query.(map[string]any); ok && q == "" {
			q, _ = m["query"].(string)
		}
		// label_values(metric{...}, label): the label is not a metric.
		if m := regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`).FindStringSubmatch(q); m != nil {
			q = m[1]
		}
		checkExpr(t, allowed, where, q)
	}
	for _, v := range []string{"chain", "node"} {
		if !vars[v] {
			t.Errorf("%s: no template variable %q", dashboardFile, v)
		}
	}

	var all []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	ids := map[int]string{}
	titles := map[string]bool{}
	exprs := 0
	for i, p := range all {
		where := fmt.Sprintf("%s: panel #%d (id %d, %q)", dashboardFile, i, p.ID, p.Title)
		if strings.TrimSpace(p.Title) == "" {
			t.Errorf("%s: no title", where)
		}
		titles[p.Title] = true
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("%s: id %d also used by %q", where, p.ID, prev)
		}
		ids[p.ID] = p.Title
		if p.Type == "row" {
			continue
		}
		checkDatasource(t, where, p.Datasource)
		if len(p.Targets) == 0 {
			t.Errorf("%s: no queries", where)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if refs[tg.RefID] {
				t.Errorf("%s: refId %q used twice", where, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource != nil {
				checkDatasource(t, where+" target "+tg.RefID, tg.Datasource)
			}
			checkExpr(t, allowed, where+" target "+tg.RefID, tg.Expr)
			exprs++
		}
	}
	if exprs == 0 {
		t.Fatalf("%s: no queries at all", dashboardFile)
	}

	// The panels the dashboard promises (see deploy/README.md).
	for _, want := range []string{
		"Requests/s by chain & outcome", "Error ratio", "Latency p50 / p99 by method",
		"Head per node", "Lag per node (blocks)", "Node up / state", "Requests & errors per node",
		"In flight & queue waiting per node", "Retries & group fallbacks", "Batch size",
		"eth_blockNumber clamps", "Build info",
	} {
		if !titles[want] {
			t.Errorf("%s: no panel titled %q", dashboardFile, want)
		}
	}

	// Report documented metrics the dashboard does not show (not an error:
	// a new metric may be added to docs/metrics.md before the dashboard).
	used := map[string]bool{}
	for _, p := range all {
		for _, tg := range p.Targets {
			ns, _ := metricNames(tg.Expr)
			for _, n := range ns {
				used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
			}
		}
	}
	var unused []string
	for n := range allowed {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		if !used[base] && !used[n] {
			unused = append(unused, n)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Logf("metrics not on the dashboard: %s", strings.Join(unused, ", "))
	}
}

// The test reads files relative to the package directory; make failures
// point somewhere useful if it is ever run from elsewhere.
func TestMain(m *testing.M) {
	if _, err := os.Stat(alertsFile); err != nil {
		wd, _ := os.Getwd()
		fmt.Fprintf(os.Stderr, "deploy tests must run in deploy/ (cwd %s): %v\n", filepath.Clean(wd), err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}
