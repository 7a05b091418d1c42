package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
)

// Paths served by Handler on the admin listener (behind its token).
const (
	PagePath = "/admin/analytics"
	JSONPath = "/admin/analytics.json"
)

// Handler serves the analytics page and its JSON. window is one of 15m, 1h
// and 24h (default 15m); anything else is a 400. The page is also JSON
// with ?format=json. Peers, when set, returns the other replicas'
// snapshots of the window (shared through Redis) to merge in.
type Handler struct {
	Rec   *Recorder
	Peers func(ctx context.Context, window string) ([]Agg, error)
	Log   *slog.Logger
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeErr(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	q := r.URL.Query()
	window := q.Get("window")
	if window == "" {
		window = "15m"
	}
	format := q.Get("format")
	asJSON := r.URL.Path == JSONPath || format == "json"
	if format != "" && format != "json" && format != "html" {
		writeErr(w, http.StatusBadRequest, "format must be json or html")
		return
	}
	rep, err := h.Report(r.Context(), window)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rep)
		return
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, rep); err != nil {
		h.log().Error("analytics: render", "err", err)
		writeErr(w, http.StatusInternalServerError, "render failed")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	_, _ = w.Write(buf.Bytes())
}

// Report builds the window's report: this replica's snapshot merged with
// the peers' (a peer failure is logged; the local data is still shown).
func (h *Handler) Report(ctx context.Context, window string) (Report, error) {
	local, err := h.Rec.Snapshot(window)
	if err != nil {
		return Report{}, err
	}
	aggs := []Agg{local}
	if h.Peers != nil {
		peers, err := h.Peers(ctx, window)
		if err != nil {
			h.log().Warn("analytics: peers' snapshots unavailable", "err", err)
		}
		aggs = append(aggs, peers...)
	}
	return Build(window, h.Rec.now(), Merge(aggs...)), nil
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

var pageTmpl = template.Must(template.New("analytics").Funcs(template.FuncMap{
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"pct": func(f float64) float64 { return f * 100 },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>rpcgate analytics ({{.Window}})</title>
<style>body{font:15px/1.4 system-ui,sans-serif;margin:1rem auto;max-width:72rem;padding:0 1rem}
table{border-collapse:collapse;margin:.25rem 0 1rem;font-variant-numeric:tabular-nums}
th,td{padding:.2rem .6rem;border-bottom:1px solid #ccc;text-align:right}th:first-child,td:first-child{text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:0 1.5rem}</style></head>
<body><h1>Analytics, last {{.Window}}</h1>
<p>Windows: <a href="?window=15m">15 min</a> · <a href="?window=1h">1 h</a> · <a href="?window=24h">24 h</a> · <a href="analytics.json?window={{.Window}}">JSON</a>. Generated {{.GeneratedAt}}.</p>
{{define "methods"}}<table data-table="{{.Name}}"><caption>{{.Title}}</caption><thead><tr><th>Method</th><th>Calls</th><th>Errors</th><th>Total ms</th><th>p99 ms</th></tr></thead><tbody>
{{range .Rows}}<tr><td>{{.Method}}</td><td>{{.Calls}}</td><td>{{.Errors}}</td><td>{{printf "%.0f" .TotalMs}}</td><td>{{printf "%.1f" .P99Ms}}</td></tr>{{end}}</tbody></table>{{end}}
{{define "tenants"}}<table data-table="{{.Name}}"><caption>{{.Title}}</caption><thead><tr><th>Name</th><th>Calls</th><th>CU</th><th>Errors</th><th>p99 ms</th><th>429</th><th>503</th></tr></thead><tbody>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.Calls}}</td><td>{{.CU}}</td><td>{{.Errors}}</td><td>{{printf "%.1f" .P99Ms}}</td><td>{{.Status429}}</td><td>{{.Status503}}</td></tr>{{end}}</tbody></table>{{end}}
{{range .Chains}}<h2>Methods of {{.Chain}}</h2><div class="grid">
{{template "methods" (dict "Name" "methods-calls" "Title" "By calls" "Rows" .ByCalls)}}
{{template "methods" (dict "Name" "methods-time" "Title" "By total time" "Rows" .ByTime)}}
{{template "methods" (dict "Name" "methods-p99" "Title" "By p99" "Rows" .ByP99)}}
{{template "methods" (dict "Name" "methods-errors" "Title" "By errors" "Rows" .ByErrors)}}</div>{{end}}
<h2>Keys</h2><div class="grid">
{{template "tenants" (dict "Name" "keys-calls" "Title" "By calls" "Rows" .Keys.ByCalls)}}
{{template "tenants" (dict "Name" "keys-p99" "Title" "By p99" "Rows" .Keys.ByP99)}}
{{template "tenants" (dict "Name" "keys-errors" "Title" "By errors" "Rows" .Keys.ByErrors)}}
{{template "tenants" (dict "Name" "keys-cu" "Title" "By compute units" "Rows" .Keys.ByCU)}}
{{template "tenants" (dict "Name" "keys-429" "Title" "By 429s" "Rows" .Keys.By429)}}
{{template "tenants" (dict "Name" "keys-503" "Title" "By 503s" "Rows" .Keys.By503)}}</div>
<h2>Plans</h2><div class="grid">
{{template "tenants" (dict "Name" "plans-cu" "Title" "By compute units" "Rows" .Plans.ByCU)}}
{{template "tenants" (dict "Name" "plans-429" "Title" "By 429s" "Rows" .Plans.By429)}}
{{template "tenants" (dict "Name" "plans-503" "Title" "By 503s" "Rows" .Plans.By503)}}</div>
<h2>Nodes</h2><table data-table="nodes"><thead><tr><th>Chain</th><th>Node</th><th>Share</th><th>Attempts</th><th>Errors</th><th>Hedges</th><th>Disputes</th></tr></thead><tbody>
{{range .Nodes}}<tr><td>{{.Chain}}</td><td>{{.Node}}</td><td>{{printf "%.1f%%" (pct .Share)}}</td><td>{{.Attempts}}</td><td>{{.Errors}}</td><td>{{.Hedges}}</td><td>{{.Disputes}}</td></tr>{{end}}</tbody></table>
<h2>Slowest recent requests</h2><table data-table="slow"><thead><tr><th>At</th><th>Chain</th><th>Method</th><th>Params hash</th><th>Node</th><th>ms</th></tr></thead><tbody>
{{range .Slow}}<tr><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{.Chain}}</td><td>{{.Method}}</td><td>{{.ParamsHash}}</td><td>{{.Node}}</td><td>{{printf "%.1f" .Ms}}</td></tr>{{end}}</tbody></table>
</body></html>`))
