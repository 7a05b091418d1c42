#!/usr/bin/env bash
# Cache benchmark (issue 13; a benchmark, not a test: it never fails on slow
# numbers).
#
# 1. cache hit: wrk POSTs eth_getBlockByNumber of a finalized block
#    (by number, far below the head) to the canned backend directly
#    ("direct"), to rpcgate without cache ("proxied") and to rpcgate with the
#    cache on ("cached", every call after the first a hit). Reported: req/s,
#    p50/p99 and CPU µs per request of the process under test.
# 2. thundering herd: bench/herd sends, in each of ROUNDS rounds, CLIENTS
#    identical calls at once for a new head block (never cached) to the cached
#    gateway and reports upstream calls per client call (coalescing).
#
#   bash bench/cache.sh
#   DURATION=3s ROUNDS=1 bash bench/cache.sh
#
# Env: DURATION (10s) ROUNDS (3) CONNECTIONS (64) THREADS (2) CLIENTS (500)
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
CLIENTS=${CLIENTS:-500}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need go "install Go"
need wrk "apt-get install -y wrk"
need curl "apt-get install -y curl"
clk_tck=$(getconf CLK_TCK)

build_backend
build_rpcgate
go build -C "$bench_root" -o "$tmp/herd" ./bench/herd || die "building bench/herd failed"

ports=($(free_ports 5)) || die "picking free ports failed"
p_backend=${ports[0]} p_plain=${ports[1]} p_plain_admin=${ports[2]} p_cache=${ports[3]} p_cache_admin=${ports[4]}
start_backend "$p_backend"

start_gateway() { # NAME PORT ADMIN EXTRA
	{
		printf 'listen: 127.0.0.1:%s\nadmin: {listen: 127.0.0.1:%s, token: bench}\n' "$2" "$3"
		rpcgate_chain_yaml "$4"
	} >"$tmp/$1.yaml"
	run_rpcgate "$1" "$tmp/$1.yaml" "http://127.0.0.1:$2/eth"
}
start_gateway proxied "$p_plain" "$p_plain_admin" ""
plain_pid=$started_pid
start_gateway cached "$p_cache" "$p_cache_admin" "    finality_depth: 8
    cache: {max_bytes: 67108864}
"
cache_pid=$started_pid

body='{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x100",false]}'
cat >"$tmp/block.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKRESULT requests=%d rps=%.1f p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), e.status + e.connect + e.read + e.write + e.timeout))
end
LUA

# The cached gateway must really answer from its cache.
hit=""
for _ in $(seq 50); do
	hit=$(curl -sS -D - -o /dev/null -H 'Content-Type: application/json' --data "$body" "http://127.0.0.1:$p_cache/eth" | tr -d '\r' | awk -F': ' 'tolower($1)=="cache-status" {print $2}')
	[[ $hit == "rpcgate; hit" ]] && break
	sleep 0.1
done
[[ $hit == "rpcgate; hit" ]] || die "the cached gateway does not serve the finalized block from its cache (Cache-Status: $hit)"

declare -A url=([direct]="http://127.0.0.1:$p_backend/" [proxied]="http://127.0.0.1:$p_plain/eth" [cached]="http://127.0.0.1:$p_cache/eth")
declare -A pid=([direct]=$backend_pid [proxied]=$plain_pid [cached]=$cache_pid)
log "cache hit: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS round(s)"
for ((r = 1; r <= ROUNDS; r++)); do
	for t in direct proxied cached; do
		c0=$(cpu_ticks "${pid[$t]}")
		wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s -s "$tmp/block.lua" "${url[$t]}" >"$tmp/wrk.out" 2>&1 ||
			{ cat "$tmp/wrk.out" >&2; die "wrk failed against $t"; }
		c1=$(cpu_ticks "${pid[$t]}")
		line=$(grep '^WRKRESULT' "$tmp/wrk.out")
		declare -A v=()
		for kv in ${line#WRKRESULT }; do v[${kv%%=*}]=${kv#*=}; done
		cpu=$(awk -v d=$((c1 - c0)) -v hz="$clk_tck" -v n="${v[requests]}" 'BEGIN { if (n > 0) printf "%.2f", d * 1e6 / hz / n; else print -1 }')
		printf 'RESULT round=%d target=%s rps=%s p50_us=%s p99_us=%s cpu_us_per_req=%s errors=%s\n' \
			"$r" "$t" "${v[rps]}" "${v[p50_us]}" "${v[p99_us]}" "$cpu" "${v[errors]}"
		unset v
	done
done

log "thundering herd: $CLIENTS clients at once, $ROUNDS round(s)"
"$tmp/herd" -url "http://127.0.0.1:$p_cache/eth" -admin "http://127.0.0.1:$p_cache_admin" -clients "$CLIENTS" -rounds "$ROUNDS"
