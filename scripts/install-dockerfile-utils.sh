#!/usr/bin/env bash
# Installs dockerfile-utils (the Dockerfile linter behind the VS Code Docker
# extension's diagnostics) from the npm registry into a cache folder, once,
# and prints the path of its CLI. deploy/dockerfile_test.go lints the
# Dockerfile with it. hadolint, the usual choice, is in neither Debian's
# packages nor npm, and installing its release binary needs a download this
# project's machines cannot make; see docs/decisions.md.
#
#   RPCGATE_TOOLS_DIR  cache folder (default: <repo>/.cache/tools); the tool goes
#                      into its dockerfile-utils/ subfolder
set -euo pipefail

VERSION="0.16.3"
PKG="dockerfile-utils"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A prefix of its own: npm may prune packages it did not install itself
# from a shared prefix (anvil's, for one).
tools="${RPCGATE_TOOLS_DIR:-$repo/.cache/tools}/dockerfile-utils"
bin="$tools/node_modules/.bin/dockerfile-utils"
pkgjson="$tools/node_modules/$PKG/package.json"

installed_ok() {
	[[ -x "$bin" && -f "$pkgjson" ]] && grep -q "\"version\": \"$VERSION\"" "$pkgjson"
}

if ! installed_ok; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "install-dockerfile-utils: npm not found; install Node.js/npm (e.g. apt-get install -y npm)" >&2
		exit 1
	fi
	mkdir -p "$tools"
	echo "install-dockerfile-utils: installing $PKG@$VERSION into $tools" >&2
	npm install --prefix "$tools" --no-save --no-audit --no-fund "$PKG@$VERSION" >&2
	if ! installed_ok; then
		echo "install-dockerfile-utils: $PKG@$VERSION did not install into $tools" >&2
		exit 1
	fi
fi

echo "$bin"
