// Package analytics keeps in-process rolling windows of what the gateway
// served, for the operator analytics page (/admin/analytics): top methods,
// keys, plans and nodes, and the slowest recent requests. It is fed the
// relay record of every finished request (Recorder.Offer, the frontend's
// Summaries hook) and answers for a window of 15 minutes, 1 hour or 24
// hours.
//
// Memory is bounded by construction: each window is a ring of a fixed
// number of slots, and each slot holds at most the caps below of distinct
// names per dimension; names beyond a slot's cap are counted under
// "other". Nothing grows with the number of distinct keys or methods seen.
package analytics

import (
	"math"
	"sync"
	"time"
	"unsafe"

	"github.com/rpcgate/rpcgate/internal/relay"
)

// Cardinality caps per slot (see the package comment). With the slot
// counts of the windows (15 + 12 + 24 = 51 slots) they bound the recorder
// to MaxEntries entries of at most entryBytes each.
const (
	MaxMethodsPerSlot = 100 // chain+method pairs
	MaxKeysPerSlot    = 100
	MaxPlansPerSlot   = 20
	MaxNodesPerSlot   = 64
	SlowPerSlot       = 10
	// MaxName is the longest name kept (longer ones are cut), so every
	// entry has a bounded size.
	MaxName = 128
	// Other is the name the overflow beyond a cap is counted under.
	Other = "other"
	// TopN is how many rows a report lists per table (the rest summed
	// into one "other" row).
	TopN = 10
)

// Window is one of the fixed report windows.
type Window struct {
	Name  string
	Span  time.Duration
	Slot  time.Duration
	slots int
}

// Windows are the windows the recorder keeps, by name.
var Windows = []Window{
	{Name: "15m", Span: 15 * time.Minute, Slot: time.Minute},
	{Name: "1h", Span: time.Hour, Slot: 5 * time.Minute},
	{Name: "24h", Span: 24 * time.Hour, Slot: time.Hour},
}

func init() {
	for i := range Windows {
		Windows[i].slots = int(Windows[i].Span / Windows[i].Slot)
	}
}

// Entry sizes used by Bytes and MaxBytes: each entry's struct, its names
// (at most MaxName bytes each, two per entry) and map overhead.
const (
	mapOverhead = 64
	methodBytes = int(unsafe.Sizeof(methodStat{})) + int(unsafe.Sizeof(methodKey{})) + mapOverhead
	tenantBytes = int(unsafe.Sizeof(tenantStat{})) + 16 + mapOverhead
	nodeBytes   = int(unsafe.Sizeof(nodeStat{})) + int(unsafe.Sizeof(methodKey{})) + mapOverhead
	slowBytes   = int(unsafe.Sizeof(Slow{}))
)

// MaxBytes bounds Bytes: every slot full, every name MaxName long.
var MaxBytes = MaxSlots * (MaxMethodsPerSlot*(methodBytes+2*MaxName) + (MaxKeysPerSlot+MaxPlansPerSlot)*(tenantBytes+MaxName) +
	MaxNodesPerSlot*(nodeBytes+2*MaxName) + SlowPerSlot*(slowBytes+4*MaxName))

// MaxSlots is the total number of slots over all windows; MaxEntries the
// most entries the recorder can hold.
var (
	MaxSlots   = 15 + 12 + 24
	MaxEntries = MaxSlots * (MaxMethodsPerSlot + MaxKeysPerSlot + MaxPlansPerSlot + MaxNodesPerSlot + SlowPerSlot)
)

// latency histogram: bucket i holds durations up to histBase·2^(i/2).
const (
	histBuckets = 48
	histBase    = 100 * time.Microsecond
)

func histIndex(d time.Duration) int {
	if d <= histBase {
		return 0
	}
	i := int(math.Ceil(2 * math.Log2(float64(d)/float64(histBase))))
	return min(i, histBuckets-1)
}

func histUpper(i int) time.Duration {
	return time.Duration(float64(histBase) * math.Pow(2, float64(i)/2))
}

// methodStat is one chain+method in a slot.
type methodStat struct {
	Calls, Errors int64
	Total         time.Duration
	Hist          [histBuckets]uint32
}

// tenantStat is one key or plan in a slot.
type tenantStat struct {
	Calls, CU, Status429, Status503, Errors int64
	Hist                                    [histBuckets]uint32
}

// nodeStat is one node (chain/node) in a slot.
type nodeStat struct {
	Attempts, Errors, Hedges, Disputes int64
}

// Slow is one slow request.
type Slow struct {
	At         time.Time     `json:"at"`
	Chain      string        `json:"chain"`
	Method     string        `json:"method"`
	ParamsHash string        `json:"params_hash"`
	Node       string        `json:"node"`
	Duration   time.Duration `json:"duration_ns"`
	Ms         float64       `json:"ms"`
}

type methodKey struct{ Chain, Method string }

type slot struct {
	start   time.Time // zero: empty
	methods map[methodKey]*methodStat
	keys    map[string]*tenantStat
	plans   map[string]*tenantStat
	nodes   map[methodKey]*nodeStat // Chain, Method=node name
	slow    []Slow                  // at most SlowPerSlot, any order
}

func (s *slot) reset(start time.Time) {
	s.start = start
	s.methods = map[methodKey]*methodStat{}
	s.keys = map[string]*tenantStat{}
	s.plans = map[string]*tenantStat{}
	s.nodes = map[methodKey]*nodeStat{}
	s.slow = s.slow[:0]
}

// Recorder keeps the rolling windows. The zero value is not usable: use
// New.
type Recorder struct {
	// Cost gives a method's compute units (nil: 1 per call).
	cost func(method string) int
	now  func() time.Time

	mu    sync.Mutex
	rings [][]slot // per Windows entry
}

// New returns a recorder. cost gives a method's compute units (nil: 1);
// now is the clock (nil: time.Now).
func New(cost func(string) int, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	r := &Recorder{cost: cost, now: now, rings: make([][]slot, len(Windows))}
	for i, w := range Windows {
		r.rings[i] = make([]slot, w.slots)
	}
	return r
}

// bump returns m's entry for k, created if there is room: a full map (limit
// entries, the last one reserved for other) counts k under other.
func bump[K comparable, V any](m map[K]*V, k, other K, limit int) *V {
	if v, ok := m[k]; ok {
		return v
	}
	if len(m) >= limit-1 {
		k = other
		if v, ok := m[k]; ok {
			return v
		}
	}
	v := new(V)
	m[k] = v
	return v
}

// Offer records one finished request. It copies what it keeps and does not
// block on anything but the recorder's own lock; rec may be reused after.
func (r *Recorder) Offer(rec *relay.Record) {
	if rec == nil || rec.Chain == "" {
		return
	}
	at := rec.Start
	if at.IsZero() {
		at = r.now()
	}
	method := clip(rec.Method)
	if method == "" {
		method = Other
	}
	chain, key, plan := clip(rec.Chain), clip(rec.Key), clip(rec.Plan)
	failed := rec.Outcome != relay.OutcomeOK
	cu := int64(1)
	if r.cost != nil && rec.Batch == 0 {
		cu = int64(r.cost(method))
	} else if rec.Batch > 0 {
		cu = int64(rec.Batch)
	}
	node := rec.Winner
	if node == "" {
		if as := rec.Attempts(); len(as) > 0 {
			node = as[len(as)-1].Node
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, w := range Windows {
		start := at.Truncate(w.Slot)
		s := &r.rings[i][int(start.Unix()/int64(w.Slot/time.Second))%w.slots]
		if !s.start.Equal(start) {
			if s.start.After(start) {
				continue // older than the ring holds
			}
			s.reset(start)
		}
		m := bump(s.methods, methodKey{chain, method}, methodKey{chain, Other}, MaxMethodsPerSlot)
		m.Calls++
		m.Total += rec.Duration
		m.Hist[histIndex(rec.Duration)]++
		if failed {
			m.Errors++
		}
		for _, t := range []struct {
			m     map[string]*tenantStat
			name  string
			limit int
		}{{s.keys, key, MaxKeysPerSlot}, {s.plans, plan, MaxPlansPerSlot}} {
			name := t.name
			if name == "" {
				name = "(anonymous)"
			}
			ts := bump(t.m, name, Other, t.limit)
			ts.Calls++
			ts.CU += cu
			ts.Hist[histIndex(rec.Duration)]++
			if failed {
				ts.Errors++
			}
			switch rec.Status {
			case 429:
				ts.Status429++
			case 503:
				ts.Status503++
			}
		}
		for _, a := range rec.Attempts() {
			ns := bump(s.nodes, methodKey{chain, clip(a.Node)}, methodKey{chain, Other}, MaxNodesPerSlot)
			ns.Attempts++
			switch a.Outcome {
			case relay.OutcomeOK, relay.OutcomeRPCError, relay.OutcomeCanceled, relay.OutcomeNotYet:
			default:
				ns.Errors++
			}
			if a.Hedge {
				ns.Hedges++
			}
			if a.Vote == relay.VoteDispute {
				ns.Disputes++
			}
		}
		sl := Slow{At: at.UTC(), Chain: chain, Method: method, Node: clip(node), Duration: rec.Duration}
		if rec.ParamsHash != 0 {
			sl.ParamsHash = hex64(rec.ParamsHash)
		}
		if len(s.slow) < SlowPerSlot {
			s.slow = append(s.slow, sl)
		} else {
			fastest := 0
			for j := range s.slow {
				if s.slow[j].Duration < s.slow[fastest].Duration {
					fastest = j
				}
			}
			if sl.Duration > s.slow[fastest].Duration {
				s.slow[fastest] = sl
			}
		}
	}
}

func hex64(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

// Bytes estimates the memory the recorder's entries hold (struct sizes,
// name bytes and map overhead); it never exceeds MaxBytes.
func (r *Recorder) Bytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ring := range r.rings {
		for _, s := range ring {
			for k := range s.methods {
				n += methodBytes + len(k.Chain) + len(k.Method)
			}
			for k := range s.keys {
				n += tenantBytes + len(k)
			}
			for k := range s.plans {
				n += tenantBytes + len(k)
			}
			for k := range s.nodes {
				n += nodeBytes + len(k.Chain) + len(k.Method)
			}
			for _, sl := range s.slow {
				n += slowBytes + len(sl.Chain) + len(sl.Method) + len(sl.Node) + len(sl.ParamsHash)
			}
		}
	}
	return n
}

func clip(s string) string {
	if len(s) > MaxName {
		return s[:MaxName]
	}
	return s
}

// Size reports how many entries the recorder holds now, over all slots and
// dimensions; it never exceeds MaxEntries.
func (r *Recorder) Size() (entries, slots int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ring := range r.rings {
		for _, s := range ring {
			if s.start.IsZero() {
				continue
			}
			slots++
			entries += len(s.methods) + len(s.keys) + len(s.plans) + len(s.nodes) + len(s.slow)
		}
	}
	return entries, slots
}
