#!/usr/bin/env bash
# One-command load benchmark: the same wrk load against the canned backend
# directly, through nginx, through rpcgate, and through rpcgate with API keys,
# plans, rate limits and priority scheduling on (rpcgate-tenancy), interleaved
# in rounds.
# This is a benchmark, not a test: it never fails on slow numbers.
#
#   bash bench/run.sh
#   DURATION=3s ROUNDS=1 TARGETS="direct nginx" bash bench/run.sh
#
# Three-node targets (issue 9) put three nodes (all on the backend) behind
# rpcgate: rpcgate-3node proxies plainly (hedge off), rpcgate-hedge hedges
# reads (adaptive delay), rpcgate-quorum compares every call of METHODS on
# 3 nodes (quorum, agree 2). Compare them in one run:
#   TARGETS="rpcgate-3node rpcgate-hedge rpcgate-quorum" METHODS=eth_getBalance bash bench/run.sh
#
# Env: DURATION (10s) ROUNDS (3) METHODS ("eth_chainId eth_getBlockByNumber")
#      TARGETS ("direct nginx rpcgate rpcgate-tenancy"; also rpcgate-3node,
#      rpcgate-hedge, rpcgate-quorum) CONNECTIONS (64) THREADS (2)
#      WARMUP (1s, per target and method, not recorded; 0 to skip)
#      OUT (bench/results/latest.json) KEEP_TMP (keep temp dir with logs)
#      RPCGATE_BIN (use this rpcgate binary instead of building ./cmd/rpcgate)
#      SUMMARIES (nats: add the target rpcgate-summaries, rpcgate with the relay
#      summary stream on, JetStream sink, sample 1.0, to a private nats-server)
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
METHODS=${METHODS:-"eth_chainId eth_getBlockByNumber"}
TARGETS=${TARGETS:-"direct nginx rpcgate rpcgate-tenancy"}
SUMMARIES=${SUMMARIES:-}
case $SUMMARIES in
"") ;;
nats) [[ " $TARGETS " == *" rpcgate-summaries "* ]] || TARGETS="$TARGETS rpcgate-summaries" ;;
*) echo "SUMMARIES must be empty or nats, got '$SUMMARIES'" >&2 && exit 2 ;;
esac
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-1s}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OUT=${OUT:-$bench_root/bench/results/latest.json}

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
for t in $TARGETS; do
	case $t in direct | nginx | rpcgate | rpcgate-tenancy | rpcgate-summaries | rpcgate-3node | rpcgate-hedge | rpcgate-quorum) ;;
	*) die "unknown target '$t' (want direct, nginx, rpcgate, rpcgate-tenancy, rpcgate-summaries, rpcgate-3node, rpcgate-hedge, rpcgate-quorum)" ;;
	esac
done
has_target() { [[ " $TARGETS " == *" $1 "* ]]; }

need go "install Go"
need wrk "apt-get install -y wrk"
need curl "apt-get install -y curl"
has_target nginx && need nginx "apt-get install -y nginx-light"
has_target rpcgate-summaries && need nats-server "apt-get install -y nats-server"
clk_tck=$(getconf CLK_TCK)

build_backend
if [[ " $TARGETS " == *" rpcgate"* ]]; then build_rpcgate; fi
go build -C "$bench_root" -o "$tmp/report" ./bench/report || die "building bench/report failed"

ports=($(free_ports 15)) || die "picking free ports failed"
p_backend=${ports[0]} p_nginx=${ports[1]} p_rpcgate=${ports[2]} p_admin=${ports[3]}
p_tenancy=${ports[4]} p_tenancy_admin=${ports[5]}
declare -A p_three=([rpcgate-3node]=${ports[6]} [rpcgate-hedge]=${ports[8]} [rpcgate-quorum]=${ports[10]})
declare -A p_three_admin=([rpcgate-3node]=${ports[7]} [rpcgate-hedge]=${ports[9]} [rpcgate-quorum]=${ports[11]})
declare -A three_pid=()
p_summaries=${ports[12]} p_summaries_admin=${ports[13]} p_nats=${ports[14]}
start_backend "$p_backend"
has_target nginx && start_nginx "$p_nginx"
has_target rpcgate && start_rpcgate "$p_rpcgate" "$p_admin"
has_target rpcgate-tenancy && start_rpcgate_tenancy "$p_tenancy" "$p_tenancy_admin"
has_target rpcgate-summaries && start_rpcgate_summaries "$p_summaries" "$p_summaries_admin" "$p_nats"
for t in rpcgate-3node rpcgate-hedge rpcgate-quorum; do
	if has_target "$t"; then
		start_rpcgate_three "$t" "${p_three[$t]}" "${p_three_admin[$t]}"
		three_pid[$t]=$started_pid
	fi
done

url_of() {
	case $1 in
	direct) echo "http://127.0.0.1:$p_backend/" ;;
	nginx) echo "http://127.0.0.1:$p_nginx/" ;;
	rpcgate) echo "http://127.0.0.1:$p_rpcgate/eth" ;;
	rpcgate-tenancy) echo "http://127.0.0.1:$p_tenancy/eth" ;;
	rpcgate-summaries) echo "http://127.0.0.1:$p_summaries/eth" ;;
	rpcgate-3node | rpcgate-hedge | rpcgate-quorum) echo "http://127.0.0.1:${p_three[$1]}/eth" ;;
	esac
}
# Processes whose CPU is charged to a target (direct: the backend itself).
pids_of() {
	case $1 in
	direct) echo "$backend_pid" ;;
	nginx) echo "$nginx_pids" ;;
	rpcgate) echo "$rpcgate_pid" ;;
	rpcgate-tenancy) echo "$tenancy_pid" ;;
	rpcgate-summaries) echo "$summaries_pid" ;;
	rpcgate-3node | rpcgate-hedge | rpcgate-quorum) echo "${three_pid[$1]}" ;;
	esac
}
# The wrk script of target $1 for method $2: only rpcgate-tenancy's sends the
# API key (X-Api-Key).
lua_of() { [[ $1 == rpcgate-tenancy ]] && echo "$tmp/$2-key.lua" || echo "$tmp/$2.lua"; }

# Sanity: every target answers every method with 200 and a result, so that a
# fast stream of errors is never mistaken for speed.
for m in $METHODS; do
	write_lua "$m" "$tmp/$m.lua"
	has_target rpcgate-tenancy && write_lua "$m" "$tmp/$m-key.lua" "$bench_key"
	for t in $TARGETS; do
		hdr=()
		[[ $t == rpcgate-tenancy ]] && hdr=("X-Api-Key: $bench_key")
		out=$(post "$(url_of "$t")" "$(rpc_body "$m")" "${hdr[@]}")
		[[ ${out%% *} == 200 && $out == *'"result"'* ]] ||
			die "$t does not answer $m correctly: ${out:0:300}"
	done
done

load_before=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load_before" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
	log "WARNING: 1-min load average is $load_before on $(nproc) CPUs: other work is running, numbers will be noisy"
fi
raw=$tmp/raw.tsv
: >"$raw"
log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS round(s), targets: $TARGETS; methods: $METHODS"

for m in $METHODS; do
	if [[ $WARMUP != 0 ]]; then
		for t in $TARGETS; do
			wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$(lua_of "$t" "$m")" "$(url_of "$t")" >/dev/null 2>&1 || true
		done
	fi
	for ((r = 1; r <= ROUNDS; r++)); do
		for t in $TARGETS; do
			# shellcheck disable=SC2046
			c0=$(cpu_ticks $(pids_of "$t"))
			wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s -s "$(lua_of "$t" "$m")" "$(url_of "$t")" \
				>"$tmp/wrk.out" 2>&1 || { cat "$tmp/wrk.out" >&2; die "wrk failed against $t"; }
			# shellcheck disable=SC2046
			c1=$(cpu_ticks $(pids_of "$t"))
			line=$(grep '^WRKRESULT' "$tmp/wrk.out") || { cat "$tmp/wrk.out" >&2; die "no WRKRESULT from wrk"; }
			declare -A v=()
			for kv in ${line#WRKRESULT }; do v[${kv%%=*}]=${kv#*=}; done
			cpu=$(awk -v d=$((c1 - c0)) -v hz="$clk_tck" -v n="${v[requests]}" \
				'BEGIN { if (n > 0) printf "%.2f", d * 1e6 / hz / n; else print -1 }')
			rss=0
			[[ $t == rpcgate* ]] && rss=$(rss_kb "$(pids_of "$t")")
			printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$t" "$r" "${v[rps]}" "${v[p50_us]}" \
				"${v[p99_us]}" "${v[errors]}" "${v[requests]}" "$cpu" "$rss" >>"$raw"
			log "$m round $r $t: ${v[rps]} req/s p50 ${v[p50_us]}µs p99 ${v[p99_us]}µs cpu ${cpu}µs/req errors ${v[errors]}$([[ $t == rpcgate* ]] && echo " rss ${rss}kB")"
			unset v
		done
	done
done

mkdir -p "$(dirname "$OUT")"
"$tmp/report" -raw "$raw" -out "$OUT" \
	-meta "duration=$DURATION" -meta "rounds=$ROUNDS" -meta "connections=$CONNECTIONS" \
	-meta "threads=$THREADS" -meta "targets=$TARGETS" -meta "nproc=$(nproc)" \
	-meta "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
	-meta "go=$(go env GOVERSION)" -meta "nginx=$(nginx -v 2>&1 | sed 's/.*: //' || true)" \
	-meta "wrk=$(wrk -v 2>&1 | awk 'NR==1 {print $2}')" \
	-meta "loadavg_before=$load_before" -meta "loadavg_after=$(cut -d' ' -f1 /proc/loadavg)" \
	-meta "summaries=${SUMMARIES:-off}" \
	-meta "commit=$(git -C "$bench_root" rev-parse --short HEAD 2>/dev/null || echo none)" \
	-meta "cpu_note=CPU µs/req is utime+stime of the process under test (direct: backend; nginx: master+workers; rpcgate, rpcgate-tenancy: gateway) / requests"
cp "$raw" "$(dirname "$OUT")/latest.tsv"
if has_target rpcgate-summaries; then
	summaries_report
fi
