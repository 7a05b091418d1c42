#!/usr/bin/env bash
# Installs Foundry's anvil (the real Ethereum node the e2e tests run) from the
# npm registry into a cache folder, once, and prints the binary's path.
#
#   RPCGATE_TOOLS_DIR  cache folder (default: <repo>/.cache/tools)
#
# Idempotent: when the cached binary already reports the pinned version,
# nothing is downloaded.
set -euo pipefail

ANVIL_VERSION="1.7.1"
PKG="@foundry-rs/anvil-linux-amd64"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${RPCGATE_TOOLS_DIR:-$repo/.cache/tools}"
bin="$tools/node_modules/$PKG/bin/anvil"

installed_ok() {
	[[ -x "$bin" ]] && "$bin" --version 2>/dev/null | grep -q "anvil Version: $ANVIL_VERSION\b"
}

if ! installed_ok; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "install-anvil: npm not found; install Node.js/npm (e.g. apt-get install -y npm)" >&2
		exit 1
	fi
	mkdir -p "$tools"
	echo "install-anvil: installing $PKG@$ANVIL_VERSION into $tools" >&2
	# npm prints progress on stdout; keep stdout for the path alone.
	npm install --prefix "$tools" --no-save --no-audit --no-fund "$PKG@$ANVIL_VERSION" >&2
	chmod +x "$bin" 2>/dev/null || true
	if ! installed_ok; then
		echo "install-anvil: $bin does not report version $ANVIL_VERSION:" >&2
		"$bin" --version >&2 || true
		exit 1
	fi
fi

echo "$bin"
