// Package docs holds rpcgate's reference pages. Its tests keep them complete:
// every config key, metric, gateway error code and admin route that the code
// defines must be documented on its page, so adding one without a line of
// documentation fails the build.
package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rpcgate/rpcgate/internal/config"
)

// tableKeys returns the first column of every Markdown table row in page
// whose first cell is a single code span, with how often each appears.
func tableKeys(t *testing.T, page string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatalf("read %s: %v", page, err)
	}
	row := regexp.MustCompile("(?m)^\\|\\s*`([^`]+)`\\s*\\|")
	keys := map[string]int{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		keys[m[1]]++
	}
	if len(keys) == 0 {
		t.Fatalf("%s: no table rows starting with a `code` cell; has the format changed?", page)
	}
	return keys
}

// configKeys walks config.Config's yaml tags. A map key or list item is
// written "*" ("<name>" in the docs) and "[]". leaves are the keys that
// hold values; sections are those that hold other keys; openMaps are maps
// of plain values (costs, headers), documented as the map or as map.<x>.
func configKeys() (leaves, sections, openMaps map[string]bool) {
	leaves, sections, openMaps = map[string]bool{}, map[string]bool{}, map[string]bool{}
	durationType := reflect.TypeOf(config.Duration(0))
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			elem := func(e reflect.Type) reflect.Type {
				for e.Kind() == reflect.Pointer {
					e = e.Elem()
				}
				return e
			}
			switch {
			case ft == durationType:
				leaves[key] = true
			case ft.Kind() == reflect.Struct:
				sections[key] = true
				walk(key, ft)
			case ft.Kind() == reflect.Map && elem(ft.Elem()).Kind() == reflect.Struct:
				sections[key] = true
				sections[key+".*"] = true
				walk(key+".*", elem(ft.Elem()))
			case ft.Kind() == reflect.Map:
				openMaps[key] = true
			case ft.Kind() == reflect.Slice && elem(ft.Elem()).Kind() == reflect.Struct:
				sections[key] = true
				walk(key+"[]", elem(ft.Elem()))
			default:
				leaves[key] = true
			}
		}
	}
	walk("", reflect.TypeOf(config.Config{}))
	return leaves, sections, openMaps
}

var placeholder = regexp.MustCompile(`<[a-z]+>`)

// TestConfigKeysDocumented fails when a key of internal/config/types.go has
// no row (or more than one) in configuration.md, or a row names a key the
// config does not have.
func TestConfigKeysDocumented(t *testing.T) {
	leaves, sections, openMaps := configKeys()
	if len(leaves) < 50 {
		t.Fatalf("found only %d config keys by reflection; has config.Config changed shape?", len(leaves))
	}
	documented := map[string]int{}
	for k, n := range tableKeys(t, "configuration.md") {
		documented[placeholder.ReplaceAllString(k, "*")] += n
	}
	for k := range leaves {
		switch n := documented[k]; {
		case n == 0:
			t.Errorf("config key %s (internal/config/types.go) has no row in docs/configuration.md", k)
		case n > 1:
			t.Errorf("config key %s has %d rows in docs/configuration.md, want 1", k, n)
		}
	}
	for k := range openMaps {
		if n := documented[k] + documented[k+".*"]; n == 0 {
			t.Errorf("config key %s (internal/config/types.go) has no row in docs/configuration.md", k)
		} else if documented[k] > 1 || documented[k+".*"] > 1 {
			t.Errorf("config key %s has more than one row in docs/configuration.md", k)
		}
	}
	for k := range documented {
		base := strings.TrimSuffix(k, ".*")
		if !leaves[k] && !sections[k] && !openMaps[k] && !openMaps[base] {
			t.Errorf("docs/configuration.md documents %q, which internal/config/types.go does not have", k)
		}
	}
}

// goFiles parses every non-test Go file under the given directories (relative
// to the repository root) and calls fn on each.
func goFiles(t *testing.T, fn func(path string, f *ast.File), dirs ...string) {
	t.Helper()
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join("..", dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			fn(filepath.ToSlash(path), f)
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", dir, err)
		}
	}
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// TestMetricsDocumented fails when a metric name the code defines (a string
// literal rpcgate_...) has no row, or more than one, in metrics.md, or when
// metrics.md lists a metric no code defines.
func TestMetricsDocumented(t *testing.T) {
	name := regexp.MustCompile(`^rpcgate_[a-z0-9_]+$`)
	inCode := map[string]string{}
	goFiles(t, func(path string, f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			if e, ok := n.(ast.Expr); ok {
				if s, ok := stringLit(e); ok && name.MatchString(s) {
					inCode[s] = path
				}
			}
			return true
		})
	}, "internal", "cmd")
	if len(inCode) < 20 {
		t.Fatalf("found only %d metric names in the code; has the naming changed?", len(inCode))
	}
	documented := tableKeys(t, "metrics.md")
	for m, path := range inCode {
		switch n := documented[m]; {
		case n == 0:
			t.Errorf("metric %s (%s) has no row in docs/metrics.md", m, path)
		case n > 1:
			t.Errorf("metric %s has %d rows in docs/metrics.md, want 1", m, n)
		}
	}
	for m := range documented {
		if _, ok := inCode[m]; !ok {
			t.Errorf("docs/metrics.md lists %s, which no code under internal/ or cmd/ defines", m)
		}
	}
}

// TestErrorCodesDocumented fails when a JSON-RPC error code constant
// (Code... = -32xxx) outside the demo's simulated node is missing from
// errors.md.
func TestErrorCodesDocumented(t *testing.T) {
	b, err := os.ReadFile("errors.md")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	codes := map[string]string{}
	goFiles(t, func(path string, f *ast.File) {
		if strings.Contains(path, "/internal/demo/") {
			return // the simulated node's own codes, not the gateway's
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Code") || i >= len(vs.Values) {
						continue
					}
					u, ok := vs.Values[i].(*ast.UnaryExpr)
					if !ok || u.Op != token.SUB {
						continue
					}
					if lit, ok := u.X.(*ast.BasicLit); ok && lit.Kind == token.INT {
						codes["-"+lit.Value] = path + ": " + id.Name
					}
				}
			}
		}
	}, "internal")
	if len(codes) < 8 {
		t.Fatalf("found only %d error code constants; has their declaration changed?", len(codes))
	}
	keys := make([]string, 0, len(codes))
	for c := range codes {
		keys = append(keys, c)
	}
	sort.Strings(keys)
	for _, c := range keys {
		if !regexp.MustCompile(`(^|[^0-9])` + regexp.QuoteMeta(c) + `([^0-9]|$)`).MatchString(page) {
			t.Errorf("error code %s (%s) is not in docs/errors.md", c, codes[c])
		}
	}
}

// TestAdminRoutesDocumented fails when a route registered with a method
// pattern ("POST /admin/reload") has no row, or more than one, in
// operations.md.
func TestAdminRoutesDocumented(t *testing.T) {
	pattern := regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) /\S*$`)
	routes := map[string]string{}
	goFiles(t, func(path string, f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle" {
				return true
			}
			if s, ok := stringLit(call.Args[0]); ok && pattern.MatchString(s) {
				routes[s] = path
			}
			return true
		})
	}, "internal")
	if len(routes) < 10 {
		t.Fatalf("found only %d routes; has their registration changed?", len(routes))
	}
	documented := map[string]int{}
	for k, n := range tableKeys(t, "operations.md") {
		k, _, _ = strings.Cut(k, "?") // "GET /admin/keys/{name}/usage?from=..."
		documented[k] += n
	}
	for r, path := range routes {
		switch n := documented[r]; {
		case n == 0:
			t.Errorf("route %q (%s) has no row in docs/operations.md", r, path)
		case n > 1:
			t.Errorf("route %q has %d rows in docs/operations.md, want 1", r, n)
		}
	}
}
