# Shared helpers for bench/run.sh and bench/profile.sh (sourced, not run).
# Everything listens on 127.0.0.1 only, on ephemeral ports.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rpcgate-bench.XXXXXX")
pids=()
_bench_ok=0

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ $rc -ne 0 || -n "${KEEP_TMP:-}" ]]; then
		log "logs and configs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found; $2"; }

# GOMAXPROCS is left to the Go runtime (all CPUs) for the backend and rpcgate.
unset GOMAXPROCS

build_backend() {
	log "building bench/backend"
	(cd "$bench_root" && go build -o "$tmp/backend" ./bench/backend) || die "building bench/backend failed"
}

build_rpcgate() {
	if [[ -n ${RPCGATE_BIN:-} ]]; then
		log "using RPCGATE_BIN=$RPCGATE_BIN"
		cp "$RPCGATE_BIN" "$tmp/rpcgate" || die "cannot copy RPCGATE_BIN=$RPCGATE_BIN"
		return
	fi
	log "building ./cmd/rpcgate"
	(cd "$bench_root" && go build -o "$tmp/rpcgate" ./cmd/rpcgate) ||
		die "building ./cmd/rpcgate failed (run with TARGETS=\"direct nginx\" to skip rpcgate)"
}

# free_ports N: N distinct free 127.0.0.1 ports, one per line.
free_ports() { "$tmp/backend" -ports "$1"; }

# rpc_body METHOD: the JSON-RPC request body used for METHOD.
rpc_body() {
	local params='[]'
	case "$1" in
	eth_getBlockByNumber) params='["latest",false]' ;;
	eth_getBalance) params='["0x95222290dd7278aa3ddd389cc1e1d165cc4bafe5","latest"]' ;;
	esac
	printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s}' "$1" "$params"
}

# post URL BODY [HEADER...]: prints "<status> <body>". HEADERs are curl -H
# values ("X-Api-Key: ...").
post() {
	local url=$1 body=$2 h hdrs=()
	shift 2
	for h in "$@"; do hdrs+=(-H "$h"); done
	curl -sS -m 2 -o "$tmp/post.out" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' "${hdrs[@]}" --data "$body" "$url" 2>/dev/null || echo -n 000
	echo -n " "
	cat "$tmp/post.out" 2>/dev/null || true
}

# wait_ready NAME URL PID SECONDS [LOGFILE [HEADER...]]: wait until an
# eth_chainId POST (with the HEADERs) answers 200.
wait_ready() {
	local name=$1 url=$2 pid=$3 secs=$4 logf=${5:-}
	shift $(($# < 5 ? $# : 5))
	local deadline=$((SECONDS + secs)) out=""
	while ((SECONDS < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			[[ -n $logf && -f $logf ]] && tail -n 30 "$logf" >&2
			die "$name exited during startup${logf:+ (log: $logf)}"
		fi
		out=$(post "$url" "$(rpc_body eth_chainId)" "$@")
		[[ ${out%% *} == 200 ]] && return 0
		sleep 0.1
	done
	[[ -n $logf && -f $logf ]] && tail -n 30 "$logf" >&2
	die "$name did not answer eth_chainId with HTTP 200 at $url within ${secs}s (last: ${out:0:200})${logf:+; log: $logf}"
}

start_backend() {
	backend_port=$1
	"$tmp/backend" -addr "127.0.0.1:$backend_port" >"$tmp/backend.log" 2>&1 &
	backend_pid=$!
	pids+=("$backend_pid")
	wait_ready backend "http://127.0.0.1:$backend_port/" "$backend_pid" 5 "$tmp/backend.log"
	log "backend pid $backend_pid on 127.0.0.1:$backend_port"
}

start_nginx() {
	nginx_port=$1
	mkdir -p "$tmp/nginx"
	local user_line=""
	# As root, keep workers as root so they can use the private temp dir.
	[[ $(id -u) -eq 0 ]] && user_line="user root;"
	cat >"$tmp/nginx.conf" <<CONF
$user_line
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/client_body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    upstream backend {
        server 127.0.0.1:$backend_port;
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
	nginx -p "$tmp/nginx/" -e "$tmp/nginx-error.log" -c "$tmp/nginx.conf" -g 'daemon off;' \
		>"$tmp/nginx.out" 2>&1 &
	nginx_pid=$!
	pids+=("$nginx_pid")
	wait_ready nginx "http://127.0.0.1:$nginx_port/" "$nginx_pid" 5 "$tmp/nginx-error.log"
	# Master + workers (workers are fixed once the master is serving).
	nginx_pids="$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"
	log "nginx pids $nginx_pids on 127.0.0.1:$nginx_port"
}

# The rpcgate part of both rpcgate targets' configs: one chain, one node
# (the backend, 128 workers), one group. $1 is extra chain settings.
rpcgate_chain_yaml() {
	cat <<YAML
chains:
  eth:
    chain_id: 1337
$1    nodes:
      backend: {url: "http://127.0.0.1:$backend_port", workers: 128}
    groups:
      default: {nodes: [backend]}
YAML
}

# run_rpcgate NAME CONFIG URL [HEADER...]: start rpcgate on CONFIG, logging to
# $tmp/NAME.log, wait until URL answers; sets started_pid.
run_rpcgate() {
	local name=$1 conf=$2 url=$3
	shift 3
	local extra=()
	if "$tmp/rpcgate" serve --help 2>&1 | grep -q -- '--log-format'; then
		extra=(--log-format text)
	fi
	"$tmp/rpcgate" serve --config "$conf" "${extra[@]}" >"$tmp/$name.log" 2>&1 &
	started_pid=$!
	pids+=("$started_pid")
	wait_ready "$name" "$url" "$started_pid" 15 "$tmp/$name.log" "$@"
}

# start_rpcgate PORT ADMIN_PORT: the "rpcgate" target, no plans or keys.
# Sets rpcgate_pid, rpcgate_port, admin_port.
start_rpcgate() {
	rpcgate_port=$1 admin_port=$2
	{
		cat <<YAML
listen: 127.0.0.1:$rpcgate_port
admin: {listen: 127.0.0.1:$admin_port, token: bench}
YAML
		rpcgate_chain_yaml ""
	} >"$tmp/rpcgate.yaml"
	run_rpcgate rpcgate "$tmp/rpcgate.yaml" "http://127.0.0.1:$rpcgate_port/eth"
	rpcgate_pid=$started_pid
	log "rpcgate pid $rpcgate_pid on 127.0.0.1:$rpcgate_port (admin 127.0.0.1:$admin_port)"
}

# start_rpcgate_tenancy PORT ADMIN_PORT: the "rpcgate-tenancy" target, the
# same gateway with keys required, a high-priority plan with a rate limit and
# quota that never bite (so limits and scheduling run, with empty queues), and
# an anonymous plan without a rate. Requests must send X-Api-Key: $bench_key.
# Sets tenancy_pid, tenancy_port, tenancy_admin_port, bench_key.
start_rpcgate_tenancy() {
	tenancy_port=$1 tenancy_admin_port=$2
	bench_key=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	[[ ${#bench_key} == 32 ]] || die "could not make a random key"
	{
		cat <<YAML
listen: 127.0.0.1:$tenancy_port
admin: {listen: 127.0.0.1:$tenancy_admin_port, token: bench}
plans:
  anonymous: {priority: low}
  bench: {priority: high, rate: {per_second: 10000000, burst: 10000000}, quota: {daily: 0}}
keys:
  - {name: bench, key: "$bench_key", plan: bench}
YAML
		rpcgate_chain_yaml "    keys: required
"
	} >"$tmp/rpcgate-tenancy.yaml"
	run_rpcgate rpcgate-tenancy "$tmp/rpcgate-tenancy.yaml" "http://127.0.0.1:$tenancy_port/eth" \
		"X-Api-Key: $bench_key"
	tenancy_pid=$started_pid
	# Keys are really required: a keyless call must be refused.
	local out
	out=$(post "http://127.0.0.1:$tenancy_port/eth" "$(rpc_body eth_chainId)")
	[[ ${out%% *} == 401 ]] || die "rpcgate-tenancy answered a keyless call with ${out:0:200} (want 401)"
	log "rpcgate-tenancy pid $tenancy_pid on 127.0.0.1:$tenancy_port (admin 127.0.0.1:$tenancy_admin_port)"
}

# start_rpcgate_summaries PORT ADMIN_PORT NATS_PORT: the "rpcgate-summaries"
# target, rpcgate as the "rpcgate" target plus the relay summary stream with
# a JetStream sink and sample 1.0 (every request), to a private nats-server
# (-js, its own port and store under $tmp; the machine's NATS is untouched).
# Sets summaries_pid, nats_pid.
start_rpcgate_summaries() {
	local port=$1 admin=$2 nport=$3
	nats-server -a 127.0.0.1 -p "$nport" -js -sd "$tmp/nats-store" >"$tmp/nats.log" 2>&1 &
	nats_pid=$!
	pids+=("$nats_pid")
	local i
	for ((i = 0; i < 50; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$nport") 2>/dev/null && break
		sleep 0.1
	done
	{
		cat <<YAML
listen: 127.0.0.1:$port
admin: {listen: 127.0.0.1:$admin, token: bench}
summaries:
  sample: 1.0
  buffer: {dir: "$tmp/summaries-buffer"}
  sinks:
    - {type: nats, url: "nats://127.0.0.1:$nport", stream: RPCGATE_BENCH, subject: rpcgate.bench}
YAML
		rpcgate_chain_yaml ""
	} >"$tmp/rpcgate-summaries.yaml"
	run_rpcgate rpcgate-summaries "$tmp/rpcgate-summaries.yaml" "http://127.0.0.1:$port/eth"
	summaries_pid=$started_pid
	log "rpcgate-summaries pid $summaries_pid on 127.0.0.1:$port (admin 127.0.0.1:$admin), nats-server pid $nats_pid on 127.0.0.1:$nport"
}

# summaries_report: what the summary stream did over the run (from the
# gateway's metrics): records produced, acknowledged, dropped, on disk.
summaries_report() {
	local m
	m=$(curl -s -H "Authorization: Bearer bench" "http://127.0.0.1:$p_summaries_admin/metrics" | grep '^rpcgate_summaries_') || true
	log "rpcgate-summaries stream:"
	printf '%s\n' "$m" | sed 's/^/    /' >&2
}

# start_rpcgate_three NAME PORT ADMIN_PORT: three nodes (all on the
# backend) behind rpcgate. NAME: rpcgate-3node (hedge off: plain proxying),
# rpcgate-hedge (adaptive hedging, the default), rpcgate-quorum (every
# compared method on 3 nodes, quorum of 2). Sets started_pid.
start_rpcgate_three() {
	local name=$1 port=$2 admin=$3 group
	case $name in
	rpcgate-3node) group='{nodes: [a, b, c], hedge: {off: true}}' ;;
	rpcgate-hedge) group='{nodes: [a, b, c]}' ;;
	rpcgate-quorum) group='{nodes: [a, b, c], hedge: {off: true}, consensus: {mode: quorum, participants: 3, agree: 2}}' ;;
	esac
	cat >"$tmp/$name.yaml" <<YAML
listen: 127.0.0.1:$port
admin: {listen: 127.0.0.1:$admin, token: bench}
chains:
  eth:
    chain_id: 1337
    nodes:
      a: {url: "http://127.0.0.1:$backend_port", workers: 128}
      b: {url: "http://127.0.0.1:$backend_port/", workers: 128}
      c: {url: "http://127.0.0.1:$backend_port/?c", workers: 128}
    groups:
      default: $group
YAML
	run_rpcgate "$name" "$tmp/$name.yaml" "http://127.0.0.1:$port/eth"
	log "$name pid $started_pid on 127.0.0.1:$port (admin 127.0.0.1:$admin)"
}

# write_lua METHOD FILE [KEY]: a wrk script POSTing METHOD's body (with
# X-Api-Key: KEY when KEY is given); done() prints one parseable line:
# WRKRESULT requests= duration_us= rps= p50_us= p99_us= errors=
write_lua() {
	local body keyline=""
	body=$(rpc_body "$1")
	[[ -n ${3:-} ]] && keyline="wrk.headers[\"X-Api-Key\"] = \"$3\""
	cat >"$2" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
$keyline

done = function(summary, latency, requests)
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format(
    "WRKRESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d errors=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(99),
    e.status + socket, e.status, socket))
end
LUA
}

# cpu_ticks PID...: summed utime+stime (clock ticks) of the given processes.
cpu_ticks() {
	local p sum=0 t
	for p in "$@"; do
		# Fields after "(comm) ": state ppid ... utime is the 12th, stime the 13th.
		t=$(sed -e 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}

# rss_kb PID: VmRSS in kB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
