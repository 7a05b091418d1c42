package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"
)

// Quotas caps the compute units a key spends per UTC day and per calendar
// month (UTC).
type Quotas interface {
	// Spend adds cost units to key's counters for the day and month holding
	// now. It refuses, spending nothing, when either cap would be exceeded;
	// RetryAfter is then the time to the next UTC day start (daily) or month
	// start (monthly). When both would be exceeded the month decides, since
	// it is the later reset. A cap of 0 is no cap; with both 0 nothing is
	// counted. A cost above a cap is refused every period.
	Spend(ctx context.Context, key string, cost int64, daily, monthly int64, now time.Time) (Decision, error)
}

// periods are the UTC day and month holding a moment.
type periods struct {
	day, nextDay     time.Time
	month, nextMonth time.Time
}

func periodsAt(now time.Time) periods {
	y, m, d := now.UTC().Date()
	p := periods{
		day:   time.Date(y, m, d, 0, 0, 0, 0, time.UTC),
		month: time.Date(y, m, 1, 0, 0, 0, 0, time.UTC),
	}
	p.nextDay = p.day.AddDate(0, 0, 1)
	p.nextMonth = p.month.AddDate(0, 1, 0)
	return p
}

// quotaDecision turns the counters after (allowed) or before (refused) a
// spend into a Decision. refused is "", LimitDaily or LimitMonthly.
func quotaDecision(refused string, dayUsed, monthUsed, daily, monthly int64, now time.Time, p periods) Decision {
	left := func(used, limit int64) float64 {
		if limit <= 0 {
			return math.Inf(1)
		}
		return float64(max(0, limit-used))
	}
	dl, ml := left(dayUsed, daily), left(monthUsed, monthly)
	switch refused {
	case LimitDaily:
		return Decision{RetryAfter: p.nextDay.Sub(now), Limit: LimitDaily, Remaining: dl}
	case LimitMonthly:
		return Decision{RetryAfter: p.nextMonth.Sub(now), Limit: LimitMonthly, Remaining: ml}
	}
	if dl < ml {
		return Decision{Allowed: true, Limit: LimitDaily, Remaining: dl}
	}
	return Decision{Allowed: true, Limit: LimitMonthly, Remaining: ml}
}

// wouldExceed names the cap a spend would break, month first.
func wouldExceed(cost, dayUsed, monthUsed, daily, monthly int64) string {
	switch {
	case monthly > 0 && monthUsed+cost > monthly:
		return LimitMonthly
	case daily > 0 && dayUsed+cost > daily:
		return LimitDaily
	}
	return ""
}

// LocalQuotas counts in process: each replica counts on its own, and
// counts are lost on restart. Keys whose month has passed are dropped at
// the first spend of a new month.
type LocalQuotas struct {
	mu        sync.Mutex
	m         map[string]*usage
	lastMonth time.Time
}

var _ Quotas = (*LocalQuotas)(nil)

type usage struct {
	day, month         time.Time
	dayUsed, monthUsed int64
}

// NewLocalQuotas returns in-process quotas.
func NewLocalQuotas() Quotas { return &LocalQuotas{m: make(map[string]*usage)} }

// Spend implements Quotas. It never returns an error for cost >= 0.
func (q *LocalQuotas) Spend(_ context.Context, key string, cost int64, daily, monthly int64, now time.Time) (Decision, error) {
	if err := checkCost(cost); err != nil {
		return Decision{}, err
	}
	if daily <= 0 && monthly <= 0 {
		return Decision{Allowed: true, Remaining: math.Inf(1)}, nil
	}
	p := periodsAt(now)
	q.mu.Lock()
	defer q.mu.Unlock()
	if p.month.After(q.lastMonth) {
		q.lastMonth = p.month
		for k, u := range q.m {
			if u.month.Before(p.month) {
				delete(q.m, k)
			}
		}
	}
	u := q.m[key]
	if u == nil {
		u = &usage{day: p.day, month: p.month}
		q.m[key] = u
	}
	if !u.day.Equal(p.day) {
		u.day, u.dayUsed = p.day, 0
	}
	if !u.month.Equal(p.month) {
		u.month, u.monthUsed = p.month, 0
	}
	if refused := wouldExceed(cost, u.dayUsed, u.monthUsed, daily, monthly); refused != "" {
		return quotaDecision(refused, u.dayUsed, u.monthUsed, daily, monthly, now, p), nil
	}
	u.dayUsed += cost
	u.monthUsed += cost
	return quotaDecision("", u.dayUsed, u.monthUsed, daily, monthly, now, p), nil
}
