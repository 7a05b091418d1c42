#!/usr/bin/env bash
# Starts the three local nodes that examples/minimal.yaml and examples/keys.yaml
# expect: anvil a, b and c on 127.0.0.1:19101-19103, chain id 1337, one block
# a second. Runs in the foreground; Ctrl-C (or SIGTERM) stops all three.
#
#   ANVIL              anvil binary (default: the one scripts/install-anvil.sh installs)
#   RPCGATE_TOOLS_DIR  install-anvil.sh's cache folder (default: <repo>/.cache/tools)
#
# Each anvil mines its own chain, one block a second: heads move together,
# block hashes differ. Good for trying rpcgate, not for consistency tests.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
anvil="${ANVIL:-$(bash "$repo/scripts/install-anvil.sh")}"

pids=()
stop() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop EXIT INT TERM

for port in 19101 19102 19103; do
	"$anvil" --host 127.0.0.1 --port "$port" --chain-id 1337 \
		--block-time 1 --quiet &
	pids+=("$!")
	echo "dev-nodes: anvil on http://127.0.0.1:$port (pid $!)" >&2
done
wait -n "${pids[@]}"
echo "dev-nodes: an anvil exited; stopping the others" >&2
