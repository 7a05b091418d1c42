package ratelimit

import (
	"context"
	"math"
	"testing"
	"time"
)

// quotaImpls runs a test against every Quotas implementation.
func quotaImpls(t *testing.T, test func(t *testing.T, q Quotas)) {
	t.Run("local", func(t *testing.T) {
		t.Parallel()
		test(t, NewLocalQuotas())
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		addr := needRedis(t)
		test(t, NewRedisQuotas(newClient(t, addr), randomPrefix(t, addr), FailClosed))
	})
}

// spendUntilRefused spends cost at now until refused and returns the units
// admitted and the refusal.
func spendUntilRefused(t *testing.T, q Quotas, key string, cost, daily, monthly int64, now time.Time) (int64, Decision) {
	t.Helper()
	var spent int64
	for {
		d, err := q.Spend(context.Background(), key, cost, daily, monthly, now)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed {
			return spent, d
		}
		spent += cost
		if spent > 1e6 {
			t.Fatal("never refused")
		}
	}
}

func TestQuotaDailyCapIsExact(t *testing.T) {
	t.Parallel()
	quotaImpls(t, func(t *testing.T, q Quotas) {
		now := time.Date(2026, 3, 15, 18, 30, 0, 0, time.UTC)
		d, err := q.Spend(context.Background(), "k", 7, 100, 0, now)
		if err != nil || !d.Allowed || d.Remaining != 93 || d.Limit != LimitDaily {
			t.Fatalf("first spend = %+v, %v; want allowed, 93 left of the daily quota", d, err)
		}
		spent, d := spendUntilRefused(t, q, "k", 7, 100, 0, now)
		if spent+7 != 98 { // 14 spends of 7; a 15th would make 105
			t.Fatalf("spent %d, want 98", spent+7)
		}
		if d.Limit != LimitDaily || d.RetryAfter != 5*time.Hour+30*time.Minute || d.Remaining != 2 {
			t.Fatalf("refusal = %+v, want daily quota, RetryAfter 5h30m, 2 left", d)
		}
		// A refusal spends nothing: the last 2 units are still there.
		if spent, _ := spendUntilRefused(t, q, "k", 1, 100, 0, now); spent != 2 {
			t.Fatalf("cost-1 spends after refusal: %d, want 2", spent)
		}
		// Keys are counted apart.
		if d, _ := q.Spend(context.Background(), "other", 100, 100, 0, now); !d.Allowed {
			t.Fatalf("other key = %+v", d)
		}
	})
}

func TestQuotaMonthlyCapIsExact(t *testing.T) {
	t.Parallel()
	quotaImpls(t, func(t *testing.T, q Quotas) {
		day := time.Date(2026, 2, 26, 9, 0, 0, 0, time.UTC)
		var total int64
		// 100/day over three days against a monthly cap of 250.
		for i := range 3 {
			now := day.AddDate(0, 0, i)
			spent, d := spendUntilRefused(t, q, "k", 10, 100, 250, now)
			total += spent
			want := []int64{100, 100, 50}[i]
			if spent != want {
				t.Fatalf("day %d: spent %d, want %d", i, spent, want)
			}
			if i == 2 {
				// Refused by the month: retry on March 1st.
				if d.Limit != LimitMonthly || d.RetryAfter != 15*time.Hour || d.Remaining != 0 {
					t.Fatalf("day 2 refusal = %+v, want monthly quota, RetryAfter 15h", d)
				}
			}
		}
		if total != 250 {
			t.Fatalf("month total %d, want 250", total)
		}
	})
}

func TestQuotaPeriodRollover(t *testing.T) {
	t.Parallel()
	quotaImpls(t, func(t *testing.T, q Quotas) {
		ctx := context.Background()
		lastSecond := time.Date(2026, 1, 31, 23, 59, 59, 0, time.UTC)
		if spent, d := spendUntilRefused(t, q, "k", 1, 5, 8, lastSecond); spent != 5 || d.RetryAfter != time.Second || d.Limit != LimitDaily {
			t.Fatalf("Jan 31: spent %d, refusal %+v; want 5, daily, RetryAfter 1s", spent, d)
		}
		// Feb 1st: new day and new month; the allowed spend reports the
		// tighter of the two, the day's 4 left.
		feb := lastSecond.Add(time.Second)
		d, err := q.Spend(ctx, "k", 1, 5, 8, feb)
		if err != nil || !d.Allowed || d.Limit != LimitDaily || d.Remaining != 4 {
			t.Fatalf("Feb 1 = %+v, %v; want allowed, 4 left today", d, err)
		}
		spendUntilRefused(t, q, "k", 1, 5, 8, feb)
		if spent, d := spendUntilRefused(t, q, "k", 1, 5, 8, feb.AddDate(0, 0, 1)); spent != 3 || d.Limit != LimitMonthly {
			t.Fatalf("Feb 2: spent %d, refusal %+v; want 3, then the month's cap", spent, d)
		}
		// Times in another zone count by UTC: 20:00 on Feb 28th in New York
		// is March 1st in UTC, a new month.
		ny, err := time.LoadLocation("America/New_York")
		if err != nil {
			t.Skip("no tzdata:", err)
		}
		if d, _ := q.Spend(ctx, "k", 5, 5, 8, time.Date(2026, 2, 28, 20, 0, 0, 0, ny)); !d.Allowed {
			t.Fatalf("March 1st UTC = %+v, want a new month", d)
		}
	})
}

func TestQuotaEdges(t *testing.T) {
	t.Parallel()
	quotaImpls(t, func(t *testing.T, q Quotas) {
		ctx := context.Background()
		now := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)
		if d, err := q.Spend(ctx, "k", 1e9, 0, 0, now); err != nil || !d.Allowed || !math.IsInf(d.Remaining, 1) {
			t.Fatalf("no caps = %+v, %v; want allowed", d, err)
		}
		if _, err := q.Spend(ctx, "k", -1, 10, 10, now); err == nil {
			t.Fatal("negative cost accepted")
		}
		// A cost above the cap is refused, until the next period.
		d, err := q.Spend(ctx, "k", 11, 10, 0, now)
		if err != nil || d.Allowed || d.RetryAfter != 12*time.Hour {
			t.Fatalf("cost above daily cap = %+v, %v", d, err)
		}
		// December's monthly refusal waits for January 1st of next year.
		d, _ = q.Spend(ctx, "k", 11, 0, 10, now)
		if d.Allowed || d.Limit != LimitMonthly || d.RetryAfter != 12*time.Hour {
			t.Fatalf("cost above monthly cap = %+v", d)
		}
		// Both exceeded: the month, the later reset, decides.
		d, _ = q.Spend(ctx, "k", 11, 10, 10, now.AddDate(0, 0, -10))
		if d.Limit != LimitMonthly || d.RetryAfter != 10*24*time.Hour+12*time.Hour {
			t.Fatalf("both caps exceeded = %+v, want the month's reset", d)
		}
	})
}

func TestRedisQuotaKeysExpireAfterPeriod(t *testing.T) {
	t.Parallel()
	addr := needRedis(t)
	prefix := randomPrefix(t, addr)
	c := newClient(t, addr)
	q := NewRedisQuotas(c, prefix, FailClosed)
	ctx := context.Background()
	// Injected times in the past still get a TTL of period end + 1 day,
	// relative to that time (EXPIREAT would delete them at once).
	now := time.Date(2024, 2, 29, 22, 0, 0, 0, time.UTC)
	if d, err := q.Spend(ctx, "k", 3, 10, 100, now); err != nil || !d.Allowed {
		t.Fatalf("%+v, %v", d, err)
	}
	for key, want := range map[string]time.Duration{
		prefix + "quota:{k}:d:20240229": 26 * time.Hour,
		prefix + "quota:{k}:m:202402":   26 * time.Hour,
	} {
		ttl, err := c.TTL(ctx, key).Result()
		if err != nil || ttl <= want-5*time.Second || ttl > want {
			t.Errorf("TTL %s = %v, %v; want %v", key, ttl, err, want)
		}
		if v, _ := c.Get(ctx, key).Int64(); v != 3 {
			t.Errorf("%s = %d, want 3", key, v)
		}
	}
}
