package summary

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what `rpcgate summaries` prints: totals, then one row per
// node and per method.
type Report struct {
	Relays int `json:"relays"`
	// Duplicates are records seen again with an id already counted (the
	// stream is at-least-once); they are not counted twice.
	Duplicates int `json:"duplicates"`
	// Skipped are lines or messages that are not records.
	Skipped int           `json:"skipped"`
	From    *time.Time    `json:"from,omitempty"`
	To      *time.Time    `json:"to,omitempty"`
	Nodes   []NodeStats   `json:"nodes"`
	Methods []MethodStats `json:"methods"`
}

// NodeStats is one node's row: its attempts in the window.
type NodeStats struct {
	Chain string `json:"chain"`
	Name  string `json:"name"`
	// Relays are attempts sent to the node; Errors those that failed
	// (transport, timeout, not yet); an answered JSON-RPC error is not the
	// node's fault and not counted.
	Relays    int     `json:"relays"`
	Errors    int     `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
	// Disputes are attempts whose answer was outvoted by consensus;
	// AgreementRate is the share of voted attempts that agreed (0 while
	// no relay carries votes).
	Disputes      int     `json:"disputes"`
	AgreementRate float64 `json:"agreement_rate"`
}

// MethodStats is one method's row ("batch" for batches).
type MethodStats struct {
	Name   string  `json:"name"`
	Count  int     `json:"count"`
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
	Errors int     `json:"errors"`
}

// Aggregator builds a Report from records, de-duplicating on id and
// keeping those whose time is in [Since, Until) (zero: unbounded).
type Aggregator struct {
	Since, Until time.Time

	seen     map[string]struct{}
	relays   int
	dups     int
	skipped  int
	from, to time.Time
	nodes    map[[2]string]*nodeAcc
	methods  map[string]*methodAcc
}

type nodeAcc struct {
	lat                     []float64
	errors, disputes, votes int
	agree                   int
}

type methodAcc struct {
	lat    []float64
	errors int
}

// AddJSON adds one encoded record; anything that is not one is counted
// as skipped.
func (a *Aggregator) AddJSON(data []byte) {
	r, err := Decode(data)
	if err != nil {
		a.skipped++
		return
	}
	a.Add(&r)
}

// Add adds one record.
func (a *Aggregator) Add(r *Record) {
	if a.seen == nil {
		a.seen, a.nodes, a.methods = map[string]struct{}{}, map[[2]string]*nodeAcc{}, map[string]*methodAcc{}
	}
	if (!a.Since.IsZero() && r.Time.Before(a.Since)) || (!a.Until.IsZero() && !r.Time.Before(a.Until)) {
		return
	}
	if _, dup := a.seen[r.ID]; dup {
		a.dups++
		return
	}
	a.seen[r.ID] = struct{}{}
	a.relays++
	if a.from.IsZero() || r.Time.Before(a.from) {
		a.from = r.Time
	}
	if r.Time.After(a.to) {
		a.to = r.Time
	}
	m := a.methods[r.MethodName()]
	if m == nil {
		m = &methodAcc{}
		a.methods[r.MethodName()] = m
	}
	m.lat = append(m.lat, r.LatencyMS)
	if r.Outcome != "ok" {
		m.errors++
	}
	for _, at := range r.Attempts {
		k := [2]string{r.Chain, at.Node}
		n := a.nodes[k]
		if n == nil {
			n = &nodeAcc{}
			a.nodes[k] = n
		}
		n.lat = append(n.lat, at.LatencyMS)
		switch at.Outcome {
		case "ok", "rpc_error", "canceled":
		default:
			n.errors++
		}
		switch at.Vote {
		case "":
		case "agree":
			n.votes++
			n.agree++
		default:
			n.votes++
			n.disputes++
		}
	}
}

// Report summarises what was added.
func (a *Aggregator) Report() Report {
	r := Report{Relays: a.relays, Duplicates: a.dups, Skipped: a.skipped, Nodes: []NodeStats{}, Methods: []MethodStats{}}
	if a.relays > 0 {
		from, to := a.from.UTC(), a.to.UTC()
		r.From, r.To = &from, &to
	}
	for k, n := range a.nodes {
		s := NodeStats{Chain: k[0], Name: k[1], Relays: len(n.lat), Errors: n.errors, Disputes: n.disputes,
			P50MS: percentile(n.lat, 0.50), P99MS: percentile(n.lat, 0.99)}
		s.ErrorRate = round4(float64(n.errors) / float64(len(n.lat)))
		if n.votes > 0 {
			s.AgreementRate = round4(float64(n.agree) / float64(n.votes))
		}
		r.Nodes = append(r.Nodes, s)
	}
	slices.SortFunc(r.Nodes, func(x, y NodeStats) int {
		return cmp.Or(cmp.Compare(x.Chain, y.Chain), cmp.Compare(x.Name, y.Name))
	})
	for name, m := range a.methods {
		r.Methods = append(r.Methods, MethodStats{Name: name, Count: len(m.lat), Errors: m.errors,
			P50MS: percentile(m.lat, 0.50), P99MS: percentile(m.lat, 0.99)})
	}
	slices.SortFunc(r.Methods, func(x, y MethodStats) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Name, y.Name))
	})
	return r
}

// percentile is the nearest-rank percentile of xs (sorted in place).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(math.Ceil(p*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// WriteJSON writes r as one JSON object and a newline.
func (r Report) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteTable writes r as two aligned tables.
func (r Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "relays: %d", r.Relays)
	if r.From != nil {
		fmt.Fprintf(&b, " from %s to %s", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	}
	if r.Duplicates > 0 || r.Skipped > 0 {
		fmt.Fprintf(&b, " (duplicates %d, skipped %d)", r.Duplicates, r.Skipped)
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "chain\tnode\trelays\terrors\terror rate\tp50 ms\tp99 ms\tdisputes\tagreement\t")
	for _, n := range r.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f%%\t%s\t%s\t%d\t%.2f%%\t\n", n.Chain, n.Name, n.Relays, n.Errors,
			100*n.ErrorRate, ms(n.P50MS), ms(n.P99MS), n.Disputes, 100*n.AgreementRate)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tcount\tp50 ms\tp99 ms\terrors\t")
	for _, m := range r.Methods {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t\n", m.Name, m.Count, ms(m.P50MS), ms(m.P99MS), m.Errors)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(x float64) string { return fmt.Sprintf("%.3f", x) }
