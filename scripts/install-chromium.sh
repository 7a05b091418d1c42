#!/usr/bin/env bash
# Installs Debian's chromium (the headless browser the status-page tests drive
# with chromedp) when it is missing, and prints its path on stdout.
#
#   CHROMIUM  path of an existing Chromium/Chrome to use instead (printed
#             back when it exists; nothing is installed)
#
# Idempotent: when the browser is already there, nothing is downloaded.
# Installing needs root (apt-get); as another user it uses sudo when present.
set -euo pipefail

bin="${CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$bin" ]]; then
	if [[ -n "${CHROMIUM:-}" ]]; then
		echo "install-chromium: CHROMIUM=$CHROMIUM is not an executable file" >&2
		exit 1
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "install-chromium: apt-get not found; install Chromium by hand and set CHROMIUM=/path/to/chromium" >&2
		exit 1
	fi
	as_root=()
	if [[ "$(id -u)" != 0 ]]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "install-chromium: not root and no sudo; run as root: apt-get install -y chromium" >&2
			exit 1
		fi
		as_root=(sudo)
	fi
	echo "install-chromium: installing chromium with apt-get" >&2
	# apt prints progress on stdout; keep stdout for the path alone.
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2
	if [[ ! -x "$bin" ]]; then
		echo "install-chromium: apt-get finished but $bin is missing" >&2
		exit 1
	fi
fi

echo "$bin"
