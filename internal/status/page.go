package status

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/rpcgate/rpcgate/web"
)

// The page is rendered on the server from the same data as /status.json,
// charts included as inline SVG, so it reads fully without JavaScript;
// status.js only refreshes it in place.

type pageView struct {
	Generated string
	Chains    []chainView
}

type chainView struct {
	chainJSON
	Health, ID string
	Strip      template.HTML
	Timeline   template.HTML
	NodeViews  []nodeView
}

type nodeView struct {
	nodeJSON
	P50, P99, Up24, Up7, Up90 string
	Peers, Pending            string
	Strip, Latency, Errors    template.HTML
	Days                      []dayText
}

type dayText struct{ Day, Figure string }

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func health(c chainJSON) string {
	switch {
	case c.Total > 0 && c.Up >= c.Total:
		return "ok"
	case c.Up > 0:
		return "degraded"
	}
	return "down"
}

func optInt(p *int) string {
	if p == nil {
		return "–"
	}
	return strconv.Itoa(*p)
}

func view(p pageJSON, now time.Time) pageView {
	v := pageView{Generated: p.GeneratedAt}
	for _, c := range p.Chains {
		cv := chainView{chainJSON: c, Health: health(c), ID: "chain-" + idUnsafe.ReplaceAllString(c.Name, "_"),
			Strip: uptimeStrip(c.Name, c.UptimeDays), Timeline: incidentTimeline(c.Name, c.Incidents, now)}
		for _, n := range c.Nodes {
			nv := nodeView{nodeJSON: n, P50: fmtMs(n.P50Ms), P99: fmtMs(n.P99Ms), Up24: fmtPct(n.Uptime24h),
				Up7: fmtPct(n.Uptime7d), Up90: fmtPct(n.Uptime90d), Peers: optInt(n.Peers), Pending: optInt(n.Pending),
				Strip: uptimeStrip(n.Name, n.UptimeDays), Latency: latencyChart(n.Name, n.Latency24h, now),
				Errors: errorChart(n.Name, n.Latency24h, now)}
			for _, d := range n.UptimeDays {
				if d.Uptime != nil {
					nv.Days = append(nv.Days, dayText{d.Day, fmtPct(d.Uptime)})
				}
			}
			cv.NodeViews = append(cv.NodeViews, nv)
		}
		v.Chains = append(v.Chains, cv)
	}
	return v
}

func (h *Handler) template() (*template.Template, error) {
	h.tmplOnce.Do(func() {
		b, err := fs.ReadFile(web.Status(), "index.html")
		if err != nil {
			h.tmplErr = err
			return
		}
		h.tmpl, h.tmplErr = template.New("index.html").Parse(string(b))
	})
	return h.tmpl, h.tmplErr
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	t, err := h.template()
	if err != nil {
		h.log().Error("status: page template", "err", err)
		http.Error(w, "status page unavailable", http.StatusInternalServerError)
		return
	}
	_, page, at := h.current()
	var buf bytes.Buffer
	if err := t.Execute(&buf, view(page, at)); err != nil {
		h.log().Error("status: render page", "err", err)
		http.Error(w, "status page unavailable", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(buf.Bytes()))
}
