#!/usr/bin/env bash
# WebSocket benchmark (not a test): one anvil (WebSocket followed), one
# rpcgate, then bench/ws opens N idle connections (RSS per connection) and
# subscribes them all to newHeads (fan-out latency p50/p99 per head).
#
#   N=10000 BLOCKS=10 bash bench/ws.sh
#
# Needs anvil (scripts/install-anvil.sh). Raises the open-file limit; the
# client and the gateway each hold N sockets.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-10000}"
BLOCKS="${BLOCKS:-10}"
ANVIL="${ANVIL:-$(bash "$repo/scripts/install-anvil.sh")}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n "$(( N * 2 + 1024 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
node_port="$(port)"; listen_port="$(port)"
"$ANVIL" --host 127.0.0.1 --port "$node_port" --no-mining --quiet >"$work/anvil.log" 2>&1 &
cat >"$work/rpcgate.yaml" <<YAML
listen: 127.0.0.1:$listen_port
websocket:
  max_connections: $(( N + 100 ))
  max_connections_per_ip: $(( N + 100 ))
  max_subscriptions_per_key: $(( N + 100 ))
chains:
  eth:
    chain_id: 31337
    poll_interval: 200ms
    nodes:
      a: {url: "http://127.0.0.1:$node_port", ws: "ws://127.0.0.1:$node_port"}
    groups:
      default: {nodes: [a]}
YAML
(cd "$repo" && go build -o "$work/rpcgate" ./cmd/rpcgate && go build -o "$work/wsbench" ./bench/ws)
"$work/rpcgate" serve --config "$work/rpcgate.yaml" >"$work/rpcgate.log" 2>&1 &
gw=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null -XPOST -H 'content-type: application/json' \
		-d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$listen_port/eth" && break
	sleep 0.2
done
"$work/wsbench" -url "ws://127.0.0.1:$listen_port/eth" -node "http://127.0.0.1:$node_port" -pid "$gw" -n "$N" -blocks "$BLOCKS"
