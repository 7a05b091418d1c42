package status

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/rpcgate/rpcgate/internal/registry"
)

// Series is the registry's bucketed history: 90 daily uptime buckets and
// 24 hours of 5-minute latency buckets per node.
type Series = registry.Series

// dayJSON is one bar of an uptime strip. Uptime is a percentage, null when
// nothing was observed that day.
type dayJSON struct {
	Day    string   `json:"day"`
	Uptime *float64 `json:"uptime"`
}

// pointJSON is one 5-minute bucket of a node's latency and error rate.
type pointJSON struct {
	Start     string   `json:"start"`
	P50Ms     *float64 `json:"p50_ms"`
	P99Ms     *float64 `json:"p99_ms"`
	ErrorRate float64  `json:"error_rate"`
}

// days returns the SeriesDays UTC days ending today, oldest first.
func days(now time.Time) []string {
	out := make([]string, registry.SeriesDays)
	for i := range out {
		out[i] = now.UTC().AddDate(0, 0, i-(registry.SeriesDays-1)).Format(time.DateOnly)
	}
	return out
}

// uptimeDays turns day buckets (of one node, or of all nodes of a chain)
// into one bar per day: up time over observed time, summed.
func uptimeDays(now time.Time, buckets ...[]registry.DayBucket) []dayJSON {
	up, obs := map[string]float64{}, map[string]float64{}
	for _, bs := range buckets {
		for _, b := range bs {
			up[b.Day] += b.UpSec
			obs[b.Day] += b.ObservedSec
		}
	}
	out := make([]dayJSON, 0, registry.SeriesDays)
	for _, d := range days(now) {
		j := dayJSON{Day: d}
		if o := obs[d]; o > 0 {
			p := up[d] / o * 100
			j.Uptime = &p
		}
		out = append(out, j)
	}
	return out
}

func recentPoints(bs []registry.RecentBucket) []pointJSON {
	out := make([]pointJSON, 0, len(bs))
	for _, b := range bs {
		p := pointJSON{Start: b.Start.UTC().Format(time.RFC3339), ErrorRate: b.ErrorRate}
		if b.NLat > 0 {
			p50, p99 := b.P50Ms, b.P99Ms
			p.P50Ms, p.P99Ms = &p50, &p99
		}
		out = append(out, p)
	}
	return out
}

// uptimeColour is the fill of a day's bar.
func uptimeColour(p *float64) string {
	switch {
	case p == nil:
		return "#8c959f" // no data
	case *p >= 99.9:
		return "#1a7f37"
	case *p >= 99:
		return "#7cb342"
	case *p >= 95:
		return "#d4a017"
	default:
		return "#b3261e"
	}
}

// fmtPct formats an uptime percentage the way the page shows it.
func fmtPct(p *float64) string {
	if p == nil {
		return "no data"
	}
	if *p >= 99.995 {
		return "100%"
	}
	return fmt.Sprintf("%.2f%%", *p)
}

func fmtMs(p *float64) string {
	if p == nil || *p <= 0 {
		return "–"
	}
	if *p < 10 {
		return fmt.Sprintf("%.1f ms", *p)
	}
	return fmt.Sprintf("%.0f ms", *p)
}

// uptimeStrip draws one bar per day. Every bar carries its day and figure
// in a <title> (shown on hover) and in data attributes; the figures are
// also listed as text next to it (uptimeList).
func uptimeStrip(label string, ds []dayJSON) template.HTML {
	var b strings.Builder
	const w, gap, h = 8, 2, 32
	fmt.Fprintf(&b, `<svg class="strip" data-uptime-strip="%s" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-label="%s">`,
		html.EscapeString(label), len(ds)*(w+gap)-gap, h, html.EscapeString("Daily uptime, last 90 days: "+label))
	for i, d := range ds {
		fig := ""
		if d.Uptime != nil {
			fig = fmt.Sprintf("%.4f", *d.Uptime)
		}
		fmt.Fprintf(&b, `<rect x="%d" y="0" width="%d" height="%d" rx="1" fill="%s" data-day="%s" data-uptime="%s"><title>%s: %s</title></rect>`,
			i*(w+gap), w, h, uptimeColour(d.Uptime), d.Day, fig, d.Day, fmtPct(d.Uptime))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// lineChart draws series (each a list of values, nil gaps) over the last
// 24 hours. Values are positioned by time; the y axis starts at zero.
type line struct {
	name, colour string
	at           []time.Time
	v            []float64
}

func lineChart(kind, label, unit string, now time.Time, lines []line) template.HTML {
	const W, H, padL, padB = 600, 160, 48, 20
	top := 0.0
	for _, l := range lines {
		for _, v := range l.v {
			top = math.Max(top, v)
		}
	}
	if top <= 0 {
		top = 1
	}
	top *= 1.1
	from := now.Add(-registry.RecentWindow)
	x := func(t time.Time) float64 {
		return padL + float64(t.Sub(from))/float64(registry.RecentWindow)*(W-padL)
	}
	y := func(v float64) float64 { return (H - padB) - v/top*(H-padB-4) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		kind, W, H, html.EscapeString(label))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#8c959f"/>`, padL, H-padB, W, H-padB)
	fmt.Fprintf(&b, `<line x1="%d" y1="0" x2="%d" y2="%d" stroke="#8c959f"/>`, padL, padL, H-padB)
	fmt.Fprintf(&b, `<text x="%d" y="12" font-size="11" text-anchor="end" fill="#57606a">%s</text>`, padL-4, html.EscapeString(fmtAxis(top, unit)))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#57606a">0</text>`, padL-4, H-padB)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#57606a">24 h ago</text>`, padL, H-4)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#57606a">now</text>`, W, H-4)
	for i, l := range lines {
		var pts []string
		for j, v := range l.v {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(l.at[j]), y(v)))
		}
		if len(pts) == 1 { // a single bucket: a short flat segment
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(l.at[0])+4, y(l.v[0])))
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline data-series="%s" fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>`,
				html.EscapeString(l.name), l.colour, strings.Join(pts, " "), html.EscapeString(l.name))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="%s">%s</text>`, padL+8+i*60, 12, l.colour, html.EscapeString(l.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func fmtAxis(v float64, unit string) string {
	if unit == "%" {
		return fmt.Sprintf("%.0f%%", v)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

func latencyChart(node string, pts []pointJSON, now time.Time) template.HTML {
	p50 := line{name: "p50", colour: "#0a4fa8"}
	p99 := line{name: "p99", colour: "#b3261e"}
	for _, p := range pts {
		at, err := time.Parse(time.RFC3339, p.Start)
		if err != nil || p.P50Ms == nil {
			continue
		}
		p50.at, p50.v = append(p50.at, at), append(p50.v, *p.P50Ms)
		p99.at, p99.v = append(p99.at, at), append(p99.v, *p.P99Ms)
	}
	return lineChart("latency", "Latency p50 and p99, last 24 hours: "+node, "ms", now, []line{p50, p99})
}

func errorChart(node string, pts []pointJSON, now time.Time) template.HTML {
	e := line{name: "errors", colour: "#b3261e"}
	for _, p := range pts {
		at, err := time.Parse(time.RFC3339, p.Start)
		if err != nil {
			continue
		}
		e.at, e.v = append(e.at, at), append(e.v, p.ErrorRate*100)
	}
	return lineChart("errors", "Error rate, last 24 hours: "+node, "%", now, []line{e})
}

// incidentTimeline places a chain's incidents on the 90-day axis of the
// uptime strip: a red mark for a node going down, green for coming back.
func incidentTimeline(chain string, incs []Incident, now time.Time) template.HTML {
	const W, H = 898, 24
	from := now.UTC().AddDate(0, 0, -(registry.SeriesDays - 1)).Truncate(24 * time.Hour)
	span := now.Sub(from)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" data-timeline="%s" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-label="%s">`,
		html.EscapeString(chain), W, H, html.EscapeString("Incidents over the last 90 days: "+chain))
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#8c959f"/>`, H/2, W, H/2)
	for _, in := range incs {
		at, err := time.Parse(time.RFC3339, in.At)
		if err != nil || at.Before(from) {
			continue
		}
		xpos := float64(at.Sub(from)) / float64(span) * W
		col := "#b3261e"
		if in.Kind == "up" {
			col = "#1a7f37"
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="2" width="3" height="%d" fill="%s" data-incident-mark="%s"><title>%s: %s %s</title></rect>`,
			xpos, H-4, col, in.Kind, in.At, html.EscapeString(in.Node), in.Kind)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Sample records every node's current state, latency and error rate into
// series every interval, each sample standing for interval of uptime,
// until ctx ends. Run it in a goroutine and join it on shutdown. Every
// replica may run it: each adds its own observed time, so ratios hold.
func Sample(ctx context.Context, source func() []ChainView, series Series, interval time.Duration, now func() time.Time, log *slog.Logger) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sample := func() {
		at := now()
		var ss []registry.Sample
		for _, c := range source() {
			for _, n := range c.Nodes {
				up, known := isUp(n.State)
				if !known {
					continue
				}
				ss = append(ss, registry.Sample{Chain: c.Name, Node: n.Name, At: at, Span: interval, Up: up,
					P50: n.LatencyP50, P99: n.LatencyP99, ErrorRate: n.ErrorRate})
			}
		}
		if len(ss) == 0 {
			return
		}
		if err := series.RecordSamples(ctx, ss); err != nil && ctx.Err() == nil {
			log.Warn("status: record node samples", "samples", len(ss), "err", err)
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	sample()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sample()
		}
	}
}
