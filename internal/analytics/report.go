package analytics

import (
	"cmp"
	"errors"
	"slices"
	"time"
)

// ErrWindow is returned for a window name other than 15m, 1h and 24h.
var ErrWindow = errors.New("analytics: window must be 15m, 1h or 24h")

// Agg is a window's slots merged: what one replica contributes to a report
// (and what it shares through Redis).
type Agg struct {
	Methods []MethodAgg `json:"methods"`
	Keys    []TenantAgg `json:"keys"`
	Plans   []TenantAgg `json:"plans"`
	Nodes   []NodeAgg   `json:"nodes"`
	Slow    []Slow      `json:"slow"`
}

// MethodAgg is one chain+method's totals.
type MethodAgg struct {
	Chain  string              `json:"chain"`
	Method string              `json:"method"`
	Calls  int64               `json:"calls"`
	Errors int64               `json:"errors"`
	Total  time.Duration       `json:"total_ns"`
	Hist   [histBuckets]uint32 `json:"hist"`
}

// TenantAgg is one key's or plan's totals.
type TenantAgg struct {
	Name      string              `json:"name"`
	Calls     int64               `json:"calls"`
	CU        int64               `json:"compute_units"`
	Status429 int64               `json:"status_429"`
	Status503 int64               `json:"status_503"`
	Errors    int64               `json:"errors"`
	Hist      [histBuckets]uint32 `json:"hist"`
}

// TenantRow is a key or plan in a ranking.
type TenantRow struct {
	Name      string  `json:"name"`
	Calls     int64   `json:"calls"`
	CU        int64   `json:"compute_units"`
	Status429 int64   `json:"status_429"`
	Status503 int64   `json:"status_503"`
	Errors    int64   `json:"errors"`
	P99Ms     float64 `json:"p99_ms"`
}

func (t *TenantAgg) add(calls, cu, s429, s503, errs int64, h *[histBuckets]uint32) {
	t.Calls += calls
	t.CU += cu
	t.Status429 += s429
	t.Status503 += s503
	t.Errors += errs
	for b, n := range h {
		t.Hist[b] += n
	}
}

// NodeAgg is one node's totals.
type NodeAgg struct {
	Chain    string `json:"chain"`
	Node     string `json:"node"`
	Attempts int64  `json:"attempts"`
	Errors   int64  `json:"errors"`
	Hedges   int64  `json:"hedges"`
	Disputes int64  `json:"disputes"`
}

func findWindow(name string) (int, Window, error) {
	for i, w := range Windows {
		if w.Name == name {
			return i, w, nil
		}
	}
	return 0, Window{}, ErrWindow
}

// Snapshot merges the slots of the named window that lie within it.
func (r *Recorder) Snapshot(window string) (Agg, error) {
	i, w, err := findWindow(window)
	if err != nil {
		return Agg{}, err
	}
	cutoff := r.now().Add(-w.Span).Truncate(w.Slot)
	methods := map[methodKey]*MethodAgg{}
	keys, plans := map[string]*TenantAgg{}, map[string]*TenantAgg{}
	nodes := map[methodKey]*NodeAgg{}
	var a Agg
	r.mu.Lock()
	for _, s := range r.rings[i] {
		if s.start.IsZero() || !s.start.After(cutoff) {
			continue
		}
		for k, m := range s.methods {
			t := methods[k]
			if t == nil {
				t = &MethodAgg{Chain: k.Chain, Method: k.Method}
				methods[k] = t
			}
			t.Calls += m.Calls
			t.Errors += m.Errors
			t.Total += m.Total
			for b, n := range m.Hist {
				t.Hist[b] += n
			}
		}
		for _, p := range []struct {
			src map[string]*tenantStat
			dst map[string]*TenantAgg
		}{{s.keys, keys}, {s.plans, plans}} {
			for name, v := range p.src {
				t := p.dst[name]
				if t == nil {
					t = &TenantAgg{Name: name}
					p.dst[name] = t
				}
				t.add(v.Calls, v.CU, v.Status429, v.Status503, v.Errors, &v.Hist)
			}
		}
		for k, v := range s.nodes {
			t := nodes[k]
			if t == nil {
				t = &NodeAgg{Chain: k.Chain, Node: k.Method}
				nodes[k] = t
			}
			t.Attempts += v.Attempts
			t.Errors += v.Errors
			t.Hedges += v.Hedges
			t.Disputes += v.Disputes
		}
		a.Slow = append(a.Slow, s.slow...)
	}
	r.mu.Unlock()
	for _, v := range methods {
		a.Methods = append(a.Methods, *v)
	}
	for _, v := range keys {
		a.Keys = append(a.Keys, *v)
	}
	for _, v := range plans {
		a.Plans = append(a.Plans, *v)
	}
	for _, v := range nodes {
		a.Nodes = append(a.Nodes, *v)
	}
	return a, nil
}

// Merge adds b's totals to a (replicas' snapshots).
func Merge(aggs ...Agg) Agg {
	methods := map[methodKey]*MethodAgg{}
	keys, plans := map[string]*TenantAgg{}, map[string]*TenantAgg{}
	nodes := map[methodKey]*NodeAgg{}
	var out Agg
	for _, a := range aggs {
		for _, m := range a.Methods {
			k := methodKey{m.Chain, m.Method}
			t := methods[k]
			if t == nil {
				t = &MethodAgg{Chain: m.Chain, Method: m.Method}
				methods[k] = t
			}
			t.Calls += m.Calls
			t.Errors += m.Errors
			t.Total += m.Total
			for b, n := range m.Hist {
				t.Hist[b] += n
			}
		}
		for _, p := range []struct {
			src []TenantAgg
			dst map[string]*TenantAgg
		}{{a.Keys, keys}, {a.Plans, plans}} {
			for _, v := range p.src {
				t := p.dst[v.Name]
				if t == nil {
					t = &TenantAgg{Name: v.Name}
					p.dst[v.Name] = t
				}
				t.add(v.Calls, v.CU, v.Status429, v.Status503, v.Errors, &v.Hist)
			}
		}
		for _, v := range a.Nodes {
			k := methodKey{v.Chain, v.Node}
			t := nodes[k]
			if t == nil {
				t = &NodeAgg{Chain: v.Chain, Node: v.Node}
				nodes[k] = t
			}
			t.Attempts += v.Attempts
			t.Errors += v.Errors
			t.Hedges += v.Hedges
			t.Disputes += v.Disputes
		}
		out.Slow = append(out.Slow, a.Slow...)
	}
	for _, v := range methods {
		out.Methods = append(out.Methods, *v)
	}
	for _, v := range keys {
		out.Keys = append(out.Keys, *v)
	}
	for _, v := range plans {
		out.Plans = append(out.Plans, *v)
	}
	for _, v := range nodes {
		out.Nodes = append(out.Nodes, *v)
	}
	return out
}

// Report is what /admin/analytics shows and its JSON form.
type Report struct {
	Window      string         `json:"window"`
	GeneratedAt string         `json:"generated_at"`
	Chains      []ChainMethods `json:"chains"`
	Keys        TenantTables   `json:"keys"`
	Plans       TenantTables   `json:"plans"`
	Nodes       []NodeRow      `json:"nodes"`
	Slow        []Slow         `json:"slow"`
}

// MethodRow is one method in a ranking.
type MethodRow struct {
	Method  string  `json:"method"`
	Calls   int64   `json:"calls"`
	Errors  int64   `json:"errors"`
	TotalMs float64 `json:"total_ms"`
	P99Ms   float64 `json:"p99_ms"`
}

// ChainMethods ranks one chain's methods four ways (TopN rows each, the
// rest summed into an "other" row).
type ChainMethods struct {
	Chain    string      `json:"chain"`
	ByCalls  []MethodRow `json:"by_calls"`
	ByTime   []MethodRow `json:"by_total_time"`
	ByP99    []MethodRow `json:"by_p99"`
	ByErrors []MethodRow `json:"by_errors"`
}

// TenantTables ranks keys or plans by calls, p99, errors, compute units,
// 429s and 503s.
type TenantTables struct {
	ByCalls  []TenantRow `json:"by_calls"`
	ByP99    []TenantRow `json:"by_p99"`
	ByErrors []TenantRow `json:"by_errors"`
	ByCU     []TenantRow `json:"by_compute_units"`
	By429    []TenantRow `json:"by_429"`
	By503    []TenantRow `json:"by_503"`
}

// NodeRow is one node's share of the window's attempts.
type NodeRow struct {
	NodeAgg
	Share float64 `json:"share"`
}

func p99(h [histBuckets]uint32) time.Duration {
	var n uint64
	for _, c := range h {
		n += uint64(c)
	}
	if n == 0 {
		return 0
	}
	want := (n*99 + 99) / 100
	var seen uint64
	for i, c := range h {
		seen += uint64(c)
		if seen >= want {
			return histUpper(i)
		}
	}
	return histUpper(histBuckets - 1)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Build ranks a merged snapshot.
func Build(window string, now time.Time, a Agg) Report {
	rep := Report{Window: window, GeneratedAt: now.UTC().Format(time.RFC3339), Chains: []ChainMethods{}, Nodes: []NodeRow{}, Slow: []Slow{}}
	byChain := map[string][]MethodAgg{}
	for _, m := range a.Methods {
		byChain[m.Chain] = append(byChain[m.Chain], m)
	}
	for _, chain := range sortedKeys(byChain) {
		ms := byChain[chain]
		rank := func(score func(MethodAgg) float64) []MethodRow {
			return topMethods(ms, score)
		}
		rep.Chains = append(rep.Chains, ChainMethods{Chain: chain,
			ByCalls:  rank(func(m MethodAgg) float64 { return float64(m.Calls) }),
			ByTime:   rank(func(m MethodAgg) float64 { return float64(m.Total) }),
			ByP99:    rank(func(m MethodAgg) float64 { return float64(p99(m.Hist)) }),
			ByErrors: rank(func(m MethodAgg) float64 { return float64(m.Errors) }),
		})
	}
	rep.Keys = tenantTables(a.Keys)
	rep.Plans = tenantTables(a.Plans)
	var total int64
	for _, n := range a.Nodes {
		total += n.Attempts
	}
	for _, n := range a.Nodes {
		row := NodeRow{NodeAgg: n}
		if total > 0 {
			row.Share = float64(n.Attempts) / float64(total)
		}
		rep.Nodes = append(rep.Nodes, row)
	}
	slices.SortFunc(rep.Nodes, func(x, y NodeRow) int {
		return cmp.Or(cmp.Compare(y.Attempts, x.Attempts), cmp.Compare(x.Chain, y.Chain), cmp.Compare(x.Node, y.Node))
	})
	slow := slices.Clone(a.Slow)
	slices.SortFunc(slow, func(x, y Slow) int { return cmp.Compare(y.Duration, x.Duration) })
	if len(slow) > 2*TopN {
		slow = slow[:2*TopN]
	}
	for _, s := range slow {
		s.Ms = ms(s.Duration)
		rep.Slow = append(rep.Slow, s)
	}
	return rep
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// topMethods ranks by score (ties by name), keeps TopN and sums the rest
// into "other" (with the highest p99 of what it sums).
func topMethods(all []MethodAgg, score func(MethodAgg) float64) []MethodRow {
	s := slices.Clone(all)
	slices.SortFunc(s, func(x, y MethodAgg) int {
		return cmp.Or(cmp.Compare(score(y), score(x)), cmp.Compare(x.Method, y.Method))
	})
	row := func(m MethodAgg) MethodRow {
		return MethodRow{Method: m.Method, Calls: m.Calls, Errors: m.Errors, TotalMs: ms(m.Total), P99Ms: ms(p99(m.Hist))}
	}
	out := []MethodRow{}
	var rest MethodAgg
	rest.Method = Other
	for i, m := range s {
		if i < TopN {
			out = append(out, row(m))
			continue
		}
		rest.Calls += m.Calls
		rest.Errors += m.Errors
		rest.Total += m.Total
		for b, n := range m.Hist {
			rest.Hist[b] += n
		}
	}
	if rest.Calls > 0 {
		out = append(out, row(rest))
	}
	return out
}

func tenantTables(all []TenantAgg) TenantTables {
	row := func(t TenantAgg) TenantRow {
		return TenantRow{Name: t.Name, Calls: t.Calls, CU: t.CU, Status429: t.Status429, Status503: t.Status503,
			Errors: t.Errors, P99Ms: ms(p99(t.Hist))}
	}
	rank := func(score func(TenantAgg) int64) []TenantRow {
		s := slices.Clone(all)
		slices.SortFunc(s, func(x, y TenantAgg) int { return cmp.Or(cmp.Compare(score(y), score(x)), cmp.Compare(x.Name, y.Name)) })
		out := []TenantRow{}
		rest := TenantAgg{Name: Other}
		for i, t := range s {
			if i < TopN {
				out = append(out, row(t))
				continue
			}
			rest.add(t.Calls, t.CU, t.Status429, t.Status503, t.Errors, &t.Hist)
		}
		if rest.Calls > 0 {
			out = append(out, row(rest))
		}
		return out
	}
	return TenantTables{
		ByCalls:  rank(func(t TenantAgg) int64 { return t.Calls }),
		ByP99:    rank(func(t TenantAgg) int64 { return int64(p99(t.Hist)) }),
		ByErrors: rank(func(t TenantAgg) int64 { return t.Errors }),
		ByCU:     rank(func(t TenantAgg) int64 { return t.CU }),
		By429:    rank(func(t TenantAgg) int64 { return t.Status429 }),
		By503:    rank(func(t TenantAgg) int64 { return t.Status503 }),
	}
}
