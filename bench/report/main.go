// Command report turns the raw per-run rows written by bench/run.sh into the
// summary tables (stdout) and bench/results/latest.json. Per target it takes
// the median of the rounds for req/s, p50, p99 and CPU µs/req, the sum of
// errors, and the maximum RSS. Targets: direct, nginx, rpcgate, and
// rpcgate-tenancy (rpcgate with keys, plans, limits and scheduling on), whose
// cost over rpcgate is cpu_tenancy_over_core (goal: ≤ 1.10).
//
// Raw rows (tab-separated, one per wrk run):
//
//	method target round rps p50_us p99_us errors requests cpu_us_per_req rss_kb
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

type run struct {
	Round       int     `json:"round"`
	RPS         float64 `json:"rps"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	Errors      int64   `json:"errors"`
	Requests    int64   `json:"requests"`
	CPUusPerReq float64 `json:"cpu_us_per_req"` // -1: not measured
	RSSkB       int64   `json:"rss_kb,omitempty"`
}

type target struct {
	RPS         float64 `json:"rps"`            // median of rounds
	P50us       float64 `json:"p50_us"`         // median of rounds
	P99us       float64 `json:"p99_us"`         // median of rounds
	CPUusPerReq float64 `json:"cpu_us_per_req"` // median of rounds; CPU of the process under test
	Errors      int64   `json:"errors"`         // sum over rounds
	Requests    int64   `json:"requests"`       // sum over rounds
	MaxRSSkB    int64   `json:"max_rss_kb,omitempty"`
	Runs        []run   `json:"runs"`
}

type method struct {
	Targets map[string]*target `json:"targets"`
	Ratios  map[string]float64 `json:"ratios"`
}

type output struct {
	Generated    string             `json:"generated"`
	Meta         map[string]string  `json:"meta"`
	Methods      map[string]*method `json:"methods"`
	RpcgateRSSkB int64              `json:"rpcgate_max_rss_kb,omitempty"`
	TenancyRSSkB int64              `json:"rpcgate_tenancy_max_rss_kb,omitempty"`
}

type metaFlag map[string]string

func (m metaFlag) String() string { return "" }
func (m metaFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want key=value, got %q", s)
	}
	m[k] = v
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func main() {
	raw := flag.String("raw", "", "raw rows file")
	out := flag.String("out", "", "JSON output file")
	meta := metaFlag{}
	flag.Var(meta, "meta", "key=value recorded in the JSON (repeatable)")
	flag.Parse()

	f, err := os.Open(*raw)
	if err != nil {
		fatal(err)
	}
	defer f.Close()
	res := output{Generated: time.Now().UTC().Format(time.RFC3339), Meta: meta, Methods: map[string]*method{}}
	var methodOrder, targetOrder []string
	seenT := map[string]bool{}
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		fs := strings.Split(strings.TrimSpace(sc.Text()), "\t")
		if len(fs) == 1 && fs[0] == "" {
			continue
		}
		if len(fs) != 10 {
			fatal(fmt.Errorf("%s:%d: want 10 fields, got %d", *raw, ln, len(fs)))
		}
		num := func(i int) float64 {
			v, err := strconv.ParseFloat(fs[i], 64)
			if err != nil {
				fatal(fmt.Errorf("%s:%d: field %d: %v", *raw, ln, i+1, err))
			}
			return v
		}
		m, ok := res.Methods[fs[0]]
		if !ok {
			m = &method{Targets: map[string]*target{}, Ratios: map[string]float64{}}
			res.Methods[fs[0]] = m
			methodOrder = append(methodOrder, fs[0])
		}
		t, ok := m.Targets[fs[1]]
		if !ok {
			t = &target{}
			m.Targets[fs[1]] = t
		}
		if !seenT[fs[1]] {
			seenT[fs[1]] = true
			targetOrder = append(targetOrder, fs[1])
		}
		t.Runs = append(t.Runs, run{Round: int(num(2)), RPS: num(3), P50us: num(4), P99us: num(5),
			Errors: int64(num(6)), Requests: int64(num(7)), CPUusPerReq: num(8), RSSkB: int64(num(9))})
	}
	if err := sc.Err(); err != nil {
		fatal(err)
	}

	for _, mn := range methodOrder {
		m := res.Methods[mn]
		for tn, t := range m.Targets {
			var rps, p50, p99, cpu []float64
			for _, r := range t.Runs {
				rps = append(rps, r.RPS)
				p50 = append(p50, r.P50us)
				p99 = append(p99, r.P99us)
				if r.CPUusPerReq >= 0 {
					cpu = append(cpu, r.CPUusPerReq)
				}
				t.Errors += r.Errors
				t.Requests += r.Requests
				t.MaxRSSkB = max(t.MaxRSSkB, r.RSSkB)
			}
			t.RPS, t.P50us, t.P99us = median(rps), median(p50), median(p99)
			t.CPUusPerReq = -1
			if len(cpu) > 0 {
				t.CPUusPerReq = median(cpu)
			}
			switch tn {
			case "rpcgate":
				res.RpcgateRSSkB = max(res.RpcgateRSSkB, t.MaxRSSkB)
			case "rpcgate-tenancy":
				res.TenancyRSSkB = max(res.TenancyRSSkB, t.MaxRSSkB)
			}
		}
		ratio := func(name, a, b string, get func(*target) float64) {
			ta, tb := m.Targets[a], m.Targets[b]
			if ta == nil || tb == nil || get(tb) <= 0 || get(ta) < 0 {
				return
			}
			m.Ratios[name] = math.Round(get(ta)/get(tb)*1000) / 1000
		}
		rps := func(t *target) float64 { return t.RPS }
		p99 := func(t *target) float64 { return t.P99us }
		cpu := func(t *target) float64 { return t.CPUusPerReq }
		ratio("rps_nginx_over_direct", "nginx", "direct", rps)
		ratio("rps_rpcgate_over_direct", "rpcgate", "direct", rps)
		ratio("rps_rpcgate_over_nginx", "rpcgate", "nginx", rps)
		ratio("p99_rpcgate_over_nginx", "rpcgate", "nginx", p99)
		ratio("cpu_rpcgate_over_nginx", "rpcgate", "nginx", cpu)
		ratio("rps_tenancy_over_core", "rpcgate-tenancy", "rpcgate", rps)
		ratio("cpu_tenancy_over_core", "rpcgate-tenancy", "rpcgate", cpu)
		ratio("rps_summaries_over_core", "rpcgate-summaries", "rpcgate", rps)
		ratio("cpu_summaries_over_core", "rpcgate-summaries", "rpcgate", cpu)
	}

	// Tables.
	for _, mn := range methodOrder {
		m := res.Methods[mn]
		fmt.Printf("\n== %s  (median of %d round(s); errors summed)\n", mn, len(anyTarget(m).Runs))
		fmt.Printf("%-17s %11s %9s %9s %12s %8s\n", "target", "req/s", "p50 µs", "p99 µs", "CPU µs/req", "errors")
		for _, tn := range targetOrder {
			t := m.Targets[tn]
			if t == nil {
				continue
			}
			cpu := "-"
			if t.CPUusPerReq >= 0 {
				cpu = fmt.Sprintf("%.1f", t.CPUusPerReq)
			}
			fmt.Printf("%-17s %11.0f %9.0f %9.0f %12s %8d\n", tn, t.RPS, t.P50us, t.P99us, cpu, t.Errors)
		}
		for _, k := range []string{"rps_nginx_over_direct", "rps_rpcgate_over_direct", "rps_rpcgate_over_nginx", "p99_rpcgate_over_nginx", "cpu_rpcgate_over_nginx",
			"rps_tenancy_over_core", "cpu_tenancy_over_core", "rps_summaries_over_core", "cpu_summaries_over_core"} {
			if v, ok := m.Ratios[k]; ok {
				note := ""
				switch k {
				case "cpu_tenancy_over_core":
					note = "  (goal ≤ 1.10)"
				case "cpu_summaries_over_core":
					note = "  (goal ≤ 1.15)"
				}
				fmt.Printf("  %-26s %6.3f%s\n", k, v, note)
			}
		}
	}
	if res.RpcgateRSSkB > 0 || res.TenancyRSSkB > 0 {
		fmt.Println()
	}
	if res.RpcgateRSSkB > 0 {
		fmt.Printf("rpcgate max RSS: %.1f MiB\n", float64(res.RpcgateRSSkB)/1024)
	}
	if res.TenancyRSSkB > 0 {
		fmt.Printf("rpcgate-tenancy max RSS: %.1f MiB\n", float64(res.TenancyRSSkB)/1024)
	}

	if *out != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			fatal(err)
		}
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			fatal(err)
		}
		fmt.Printf("\nwrote %s\n", *out)
	}
}

func anyTarget(m *method) *target {
	for _, t := range m.Targets {
		return t
	}
	return &target{}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}
