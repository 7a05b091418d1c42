#!/usr/bin/env bash
# CPU-profile rpcgate under load: backend + rpcgate as in bench/run.sh (the
# rpcgate or the rpcgate-tenancy target), one
# wrk run, and a 10 s CPU profile taken from rpcgate's admin listener
# (/debug/pprof/profile, bearer token "bench"), printed with `go tool pprof -top`.
#
#   bash bench/profile.sh
#   METHOD=eth_getBlockByNumber SECONDS_PROFILE=20 bash bench/profile.sh
#   TARGET=rpcgate-tenancy bash bench/profile.sh   # keys, plans, limits on
#
# Env: METHOD (eth_chainId) TARGET (rpcgate | rpcgate-tenancy) SECONDS_PROFILE (10)
#      CONNECTIONS (64) THREADS (2) NODECOUNT (40) RPCGATE_BIN (prebuilt binary)
#      KEEP_TMP
# The profile is kept as bench/results/cpu-<method>.pprof (rpcgate-tenancy:
# cpu-tenancy-<method>.pprof) with the binary (bench/results/rpcgate) so it can
# be explored later with `go tool pprof -http`.
set -euo pipefail

METHOD=${METHOD:-eth_chainId}
SECONDS_PROFILE=${SECONDS_PROFILE:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
NODECOUNT=${NODECOUNT:-40}
TARGET=${TARGET:-rpcgate}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
results=$bench_root/bench/results
case $TARGET in
rpcgate) prof_name=cpu-$METHOD.pprof ;;
rpcgate-tenancy) prof_name=cpu-tenancy-$METHOD.pprof ;;
*) die "unknown TARGET '$TARGET' (want rpcgate or rpcgate-tenancy)" ;;
esac

need go "install Go"
need wrk "apt-get install -y wrk"
need curl "apt-get install -y curl"

build_backend
build_rpcgate
ports=($(free_ports 3)) || die "picking free ports failed"
start_backend "${ports[0]}"
if [[ $TARGET == rpcgate-tenancy ]]; then
	start_rpcgate_tenancy "${ports[1]}" "${ports[2]}"
	port=$tenancy_port admin=$tenancy_admin_port
	write_lua "$METHOD" "$tmp/$METHOD.lua" "$bench_key"
else
	start_rpcgate "${ports[1]}" "${ports[2]}"
	port=$rpcgate_port admin=$admin_port
	write_lua "$METHOD" "$tmp/$METHOD.lua"
fi

wrk_secs=$((SECONDS_PROFILE + 3))
log "wrk -t$THREADS -c$CONNECTIONS -d${wrk_secs}s $METHOD against $TARGET; profiling ${SECONDS_PROFILE}s"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${wrk_secs}s" --timeout 5s -s "$tmp/$METHOD.lua" \
	"http://127.0.0.1:$port/eth" >"$tmp/wrk.out" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 1

prof_url="http://127.0.0.1:$admin/debug/pprof/profile?seconds=$SECONDS_PROFILE"
code=$(curl -sS -m $((SECONDS_PROFILE + 15)) -H 'Authorization: Bearer bench' \
	-o "$tmp/cpu.pprof" -w '%{http_code}' "$prof_url") || code=000
if [[ $code != 200 ]]; then
	head -c 300 "$tmp/cpu.pprof" >&2 2>/dev/null || true
	die "GET $prof_url answered HTTP $code (does rpcgate expose pprof on its admin listener yet?)"
fi
wait "$wrk_pid" || true
grep '^WRKRESULT' "$tmp/wrk.out" >&2 || cat "$tmp/wrk.out" >&2

mkdir -p "$results"
cp "$tmp/cpu.pprof" "$results/$prof_name"
cp "$tmp/rpcgate" "$results/rpcgate"
go tool pprof -top -nodecount="$NODECOUNT" "$results/rpcgate" "$results/$prof_name"
log "profile saved: $results/$prof_name (explore: go tool pprof -http=127.0.0.1:0 $results/rpcgate $results/$prof_name)"
