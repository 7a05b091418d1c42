package tenant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Usage counts requests and compute units per usage key (Identity.UsageKey)
// and method, per UTC day.
type Usage interface {
	// Add records one call. It never blocks on I/O: the Redis version
	// buffers in memory and flushes about every second.
	Add(ctx context.Context, key, method string, cu int64, at time.Time)
	// Get reports the UTC days from..to (inclusive), each present even when
	// empty. Redis: what has been flushed (at most ~1 s behind).
	Get(ctx context.Context, key string, from, to time.Time) (UsageReport, error)
	// Flush writes buffered counts now.
	Flush(ctx context.Context) error
	// Close stops background work after a last flush.
	Close() error
}

// UsageReport is the usage of one key over a range of days.
type UsageReport struct {
	Key  string     `json:"key"`
	Days []DayUsage `json:"days"`
}

// DayUsage is one UTC day; Requests and ComputeUnits sum over methods.
type DayUsage struct {
	Date         string                 `json:"date"` // YYYY-MM-DD
	Methods      map[string]MethodUsage `json:"methods"`
	Requests     int64                  `json:"requests"`
	ComputeUnits int64                  `json:"compute_units"`
}

// MethodUsage is one method's count on one day.
type MethodUsage struct {
	Requests     int64 `json:"requests"`
	ComputeUnits int64 `json:"compute_units"`
}

// Limits of accounting.
const (
	// UsageRetention is how long a day's counts are kept (Redis EXPIRE),
	// and the longest range Get reports.
	UsageRetention = 400 * 24 * time.Hour
	// MaxUsageDays is the most days one Get may cover.
	MaxUsageDays = 400
	// maxMethodsPerDay bounds the distinct methods recorded per key and
	// day; further ones, and names that are not plain identifiers of at
	// most maxMethodLen bytes, are counted as OtherMethod. Method names
	// come from clients: without this, random names would each become a
	// stored counter kept for 400 days.
	maxMethodsPerDay = 200
	maxMethodLen     = 64
	// OtherMethod collects methods that are not recorded by name.
	OtherMethod = "other"
)

// ErrUsageRange: to is before from, or the range exceeds MaxUsageDays.
var ErrUsageRange = errors.New("usage range must run forwards and cover at most 400 days")

// day is a UTC day number: days since 1970-01-01.
type day int32

func dayOf(t time.Time) day   { return day(t.Unix() / 86400) } // at >= 1970, as request times are
func (d day) time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }
func (d day) String() string  { return d.time().Format(time.DateOnly) }

func dayRange(from, to time.Time) (day, day, error) {
	a, b := dayOf(from), dayOf(to)
	if b < a || int(b-a) >= MaxUsageDays {
		return 0, 0, ErrUsageRange
	}
	return a, b, nil
}

type keyDay struct {
	key string
	day day
}

type counts struct{ req, cu int64 }

// methodNames applies the per-key, per-day method bound. Not safe for
// concurrent use; callers hold their lock.
type methodNames struct {
	seen map[keyDay]map[string]struct{}
}

func (m *methodNames) name(kd keyDay, method string) string {
	if !plainMethod(method) {
		return OtherMethod
	}
	if m.seen == nil {
		m.seen = map[keyDay]map[string]struct{}{}
	}
	set := m.seen[kd]
	if _, ok := set[method]; ok {
		return method
	}
	if len(set) >= maxMethodsPerDay {
		return OtherMethod
	}
	if set == nil {
		set = map[string]struct{}{}
		m.seen[kd] = set
	}
	set[method] = struct{}{}
	return method
}

// forget drops bookkeeping of days before keep.
func (m *methodNames) forget(keep day) {
	for kd := range m.seen {
		if kd.day < keep {
			delete(m.seen, kd)
		}
	}
}

func plainMethod(s string) bool {
	if s == "" || len(s) > maxMethodLen {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// report builds a UsageReport from per-day, per-method counts.
func report(key string, from, to day, get func(day) map[string]counts) UsageReport {
	rep := UsageReport{Key: key, Days: make([]DayUsage, 0, int(to-from)+1)}
	for d := from; d <= to; d++ {
		du := DayUsage{Date: d.String(), Methods: map[string]MethodUsage{}}
		for m, c := range get(d) {
			du.Methods[m] = MethodUsage{Requests: c.req, ComputeUnits: c.cu}
			du.Requests += c.req
			du.ComputeUnits += c.cu
		}
		rep.Days = append(rep.Days, du)
	}
	return rep
}

// NewMemoryUsage keeps usage in this process only (lost at exit). Counts
// older than UsageRetention are dropped as days pass.
func NewMemoryUsage() Usage {
	return &memUsage{days: map[keyDay]map[string]counts{}}
}

type memUsage struct {
	mu    sync.Mutex
	days  map[keyDay]map[string]counts
	names methodNames
	last  day
}

func (u *memUsage) Add(_ context.Context, key, method string, cu int64, at time.Time) {
	kd := keyDay{key, dayOf(at)}
	u.mu.Lock()
	defer u.mu.Unlock()
	if kd.day > u.last {
		u.last = kd.day
		u.names.forget(kd.day - 1)
		cut := kd.day - day(UsageRetention/(24*time.Hour))
		for k := range u.days {
			if k.day < cut {
				delete(u.days, k)
			}
		}
	}
	m := u.days[kd]
	if m == nil {
		m = map[string]counts{}
		u.days[kd] = m
	}
	name := u.names.name(kd, method)
	c := m[name]
	c.req++
	c.cu += cu
	m[name] = c
}

func (u *memUsage) Get(_ context.Context, key string, from, to time.Time) (UsageReport, error) {
	a, b, err := dayRange(from, to)
	if err != nil {
		return UsageReport{}, fmt.Errorf("tenant: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return report(key, a, b, func(d day) map[string]counts { return u.days[keyDay{key, d}] }), nil
}

func (u *memUsage) Flush(context.Context) error { return nil }
func (u *memUsage) Close() error                { return nil }
