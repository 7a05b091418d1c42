package status

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/rpcgate/rpcgate/internal/registry"
	"github.com/rpcgate/rpcgate/web"
)

// Paths served by Handler.
const (
	PagePath   = "/status"
	JSONPath   = "/status.json"
	AssetsPath = "/status/assets/"
)

const (
	// cacheFor is how long one computed /status.json is served to everyone:
	// a flood of page views costs one history read per chain per second.
	cacheFor = time.Second
	// historyTimeout bounds one history read; the page shows live state
	// without uptime rather than hang on a slow store.
	historyTimeout = 2 * time.Second
	maxIncidents   = 20
)

// The HTML may load only its own scripts and styles and talk only to its
// own origin; nothing may frame it.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves GET /status (HTML), /status.json and /status/assets/*.
// Source, History, Now and Log are set before the first request and not
// changed after; a Handler must not be copied once used.
type Handler struct {
	// Source returns the live view of every chain. Required.
	Source func() []ChainView
	// History gives the node events for uptime and incidents. Nil: the
	// page shows live state only (uptime null, no incidents).
	History History
	// Series gives the bucketed history for the uptime strips and the
	// latency and error charts. Nil: no pictures, live figures only.
	Series Series
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Log receives history failures (nil: discarded).
	Log *slog.Logger
	// Reports gives what a node reported about itself (nil: nothing).
	Reports func(chain, node string) (NodeReport, bool)

	mu         sync.Mutex // serialises computing the JSON; guards the cache
	cached     []byte
	cachedPage pageJSON
	cachedAt   time.Time

	tmplOnce sync.Once
	tmpl     *template.Template
	tmplErr  error

	assetsOnce sync.Once
	assets     map[string]asset // by file name in web.Status()
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Wrap returns a handler that sends GET and HEAD requests for the status
// paths to h and everything else to next. Only GET and HEAD are taken, so a
// chain named "status" still gets its JSON-RPC POSTs.
func (h *Handler) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && Owns(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Owns reports whether p is one of the paths Handler serves.
func Owns(p string) bool {
	return p == PagePath || p == PagePath+"/" || p == JSONPath || strings.HasPrefix(p, AssetsPath)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	switch p := r.URL.Path; {
	case p == PagePath:
		hd.Set("Content-Security-Policy", pageCSP)
		hd.Set("X-Frame-Options", "DENY")
		h.servePage(w, r)
	case p == PagePath+"/":
		// The page uses relative links (so it works under a path prefix);
		// they only resolve from /status itself.
		http.Redirect(w, r, "../status", http.StatusMovedPermanently)
	case p == JSONPath:
		h.serveJSON(w, r)
	case strings.HasPrefix(p, AssetsPath):
		name := strings.TrimPrefix(p, AssetsPath)
		if name == "" || name == "index.html" || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		h.serveAsset(w, r, name)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	h.assetsOnce.Do(h.loadAssets)
	a, ok := h.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	// Revalidate every time: the assets change with the binary, and the
	// ETag makes the check cheap.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

func (h *Handler) loadAssets() {
	h.assets = map[string]asset{}
	fsys := web.Status()
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			continue
		}
		ct := mime.TypeByExtension(path.Ext(e.Name()))
		if ct == "" {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		h.assets[e.Name()] = asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
}

func (h *Handler) serveJSON(w http.ResponseWriter, r *http.Request) {
	body := h.snapshot()
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-cache")
	// Public data by design: other sites may show it.
	hd.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// snapshot returns the JSON, recomputing it when the cached copy is older
// than cacheFor. Concurrent requests wait for one computation rather than
// each reading the history.
func (h *Handler) snapshot() []byte {
	body, _, _ := h.current()
	return body
}

// current returns the cached JSON, the page data it encodes and when it
// was computed.
func (h *Handler) current() ([]byte, pageJSON, time.Time) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cached != nil && now.Sub(h.cachedAt) < cacheFor && !now.Before(h.cachedAt) {
		return h.cached, h.cachedPage, h.cachedAt
	}
	page := h.build(now)
	body, err := json.Marshal(page)
	if err != nil { // only plain types inside; kept for safety
		h.log().Error("status: encode", "err", err)
		return []byte(`{"chains":[]}`), pageJSON{Chains: []chainJSON{}}, now
	}
	h.cached, h.cachedPage, h.cachedAt = body, page, now
	return body, page, now
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

// The published JSON. Field names are part of the page's contract with
// status.js and with anyone scraping /status.json.
type pageJSON struct {
	GeneratedAt string      `json:"generated_at"`
	Chains      []chainJSON `json:"chains"`
}

type chainJSON struct {
	Name     string     `json:"name"`
	BestHead uint64     `json:"best_head"`
	Up       int        `json:"up"`
	Total    int        `json:"total"`
	Nodes    []nodeJSON `json:"nodes"`
	// Incidents are the latest node state changes, newest first.
	Incidents []Incident `json:"incidents"`
	// UptimeDays is the chain's 90-day strip, oldest first: every node's
	// up time over every node's observed time, per UTC day.
	UptimeDays []dayJSON `json:"uptime_days"`
	// HistoryUnavailable is set when the event history could not be read;
	// uptime and incidents are then missing. The cause is only logged: it
	// may name internal addresses.
	HistoryUnavailable bool `json:"history_unavailable,omitempty"`
}

type nodeJSON struct {
	Name      string   `json:"name"`
	State     string   `json:"state"`
	Head      uint64   `json:"head"`
	Lag       uint64   `json:"lag"`
	P50Ms     *float64 `json:"latency_p50_ms"` // null: unknown
	P99Ms     *float64 `json:"latency_p99_ms"`
	InFlight  int64    `json:"in_flight"`
	ErrorRate float64  `json:"error_rate"`
	Score     float64  `json:"score"`
	// Uptime percentages over the observed part of the window; null when
	// the history has nothing on the node in it.
	Uptime24h *float64 `json:"uptime_24h"`
	Uptime7d  *float64 `json:"uptime_7d"`
	// Uptime90d is over the daily buckets; UptimeDays has one per day for
	// 90 days (oldest first) and Latency24h the 5-minute buckets of the
	// last 24 hours that hold samples (oldest first).
	Uptime90d  *float64    `json:"uptime_90d"`
	UptimeDays []dayJSON   `json:"uptime_days"`
	Latency24h []pointJSON `json:"latency_24h"`
	// Client, Peers and Pending are what the node reported about itself
	// (ethstats or its agent); absent or null when it reports nothing.
	Client  string `json:"client,omitempty"`
	Peers   *int   `json:"peers"`
	Pending *int   `json:"pending"`
}

func (h *Handler) build(now time.Time) pageJSON {
	page := pageJSON{GeneratedAt: now.UTC().Format(time.RFC3339), Chains: []chainJSON{}}
	if h.Source == nil {
		return page
	}
	for _, cv := range h.Source() {
		c := chainJSON{Name: cv.Name, BestHead: cv.BestHead, Up: cv.Up, Total: cv.Total,
			Nodes: make([]nodeJSON, 0, len(cv.Nodes)), Incidents: []Incident{}}
		var events []Event
		if h.History != nil {
			ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
			// All retained events, not just the last 7 days: a node's state
			// at the start of a window is its last event before it.
			ev, err := h.History.Events(ctx, cv.Name, time.Time{})
			cancel()
			if err != nil {
				h.log().Warn("status: read node history", "chain", cv.Name, "err", err)
				c.HistoryUnavailable = true
			} else {
				events = ev
				c.Incidents = incidents(events, maxIncidents)
			}
		}
		byNode := map[string]registry.NodeSeries{}
		if h.Series != nil {
			ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
			ss, err := h.Series.Series(ctx, cv.Name)
			cancel()
			if err != nil {
				h.log().Warn("status: read node series", "chain", cv.Name, "err", err)
				c.HistoryUnavailable = true
			}
			for _, ns := range ss {
				byNode[ns.Node] = ns
			}
		}
		var chainDays [][]registry.DayBucket
		for _, nv := range cv.Nodes {
			n := nodeJSON{Name: nv.Name, State: nv.State, Head: nv.Head, Lag: nv.Lag,
				P50Ms: millis(nv.LatencyP50), P99Ms: millis(nv.LatencyP99), InFlight: nv.InFlight, ErrorRate: nv.ErrorRate, Score: nv.Score}
			if n.State == "" {
				n.State = StateUnknown
			}
			if h.Reports != nil {
				if r, ok := h.Reports(cv.Name, nv.Name); ok {
					n.Client, n.Peers, n.Pending = r.Client, r.Peers, r.Pending
				}
			}
			if events != nil {
				n.Uptime24h = percent(registry.Uptime(events, nv.Name, now.Add(-24*time.Hour), now))
				n.Uptime7d = percent(registry.Uptime(events, nv.Name, now.Add(-7*24*time.Hour), now))
			}
			ns := byNode[nv.Name]
			chainDays = append(chainDays, ns.Days)
			n.UptimeDays = uptimeDays(now, ns.Days)
			n.Uptime90d = totalUptime(ns.Days)
			n.Latency24h = recentPoints(ns.Recent)
			c.Nodes = append(c.Nodes, n)
		}
		c.UptimeDays = uptimeDays(now, chainDays...)
		page.Chains = append(page.Chains, c)
	}
	return page
}

func totalUptime(ds []registry.DayBucket) *float64 {
	var up, obs float64
	for _, d := range ds {
		up, obs = up+d.UpSec, obs+d.ObservedSec
	}
	if obs <= 0 {
		return nil
	}
	p := up / obs * 100
	return &p
}

func millis(d time.Duration) *float64 {
	if d <= 0 {
		return nil
	}
	ms := float64(d) / float64(time.Millisecond)
	return &ms
}

func percent(ratio float64, observed time.Duration) *float64 {
	if observed <= 0 {
		return nil
	}
	p := ratio * 100
	return &p
}
