#!/usr/bin/env bash
# Installs the JavaScript Ethereum clients the e2e tests drive rpcgate with
# (viem and ethers 6, pinned) from the npm registry into a cache folder,
# once, and prints the node_modules path.
#
#   RPCGATE_TOOLS_DIR  cache folder (default: <repo>/.cache/tools)
#
# They go into their own prefix (<tools>/js): an npm install into anvil's
# prefix would prune anvil as extraneous. Idempotent: when the cached
# packages already have the pinned versions, nothing is downloaded.
set -euo pipefail

VIEM_VERSION="2.38.0"
ETHERS_VERSION="6.15.0"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${RPCGATE_TOOLS_DIR:-$repo/.cache/tools}"
prefix="$tools/js"
mods="$prefix/node_modules"

version_of() {
	node -p "require('$mods/$1/package.json').version" 2>/dev/null || true
}

installed_ok() {
	[[ "$(version_of viem)" == "$VIEM_VERSION" && "$(version_of ethers)" == "$ETHERS_VERSION" ]]
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "install-jsclients: node/npm not found; install Node.js and npm (e.g. apt-get install -y npm)" >&2
	exit 1
fi
if ! installed_ok; then
	mkdir -p "$prefix"
	echo "install-jsclients: installing viem@$VIEM_VERSION ethers@$ETHERS_VERSION into $prefix" >&2
	npm install --prefix "$prefix" --no-save --no-audit --no-fund "viem@$VIEM_VERSION" "ethers@$ETHERS_VERSION" >&2
	if ! installed_ok; then
		echo "install-jsclients: $mods does not hold viem $VIEM_VERSION and ethers $ETHERS_VERSION" >&2
		exit 1
	fi
fi

echo "$mods"
