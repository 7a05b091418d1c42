#!/usr/bin/env bash
# Installs promtool (Prometheus' rule checker, used by `go test ./deploy/`)
# from the Debian package `prometheus` when it is not already on PATH, and
# prints its path.
#
# The Debian package also ships a Prometheus server with a systemd/init
# service. We never want that running: a policy-rc.d that forbids service
# starts is put in place for the install, and the service is stopped and
# disabled afterwards in case something started it anyway.
#
# Idempotent: when promtool is on PATH nothing is installed.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
	command -v promtool
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-promtool: promtool not found and apt-get is unavailable;" \
		"install Prometheus' promtool by hand (https://prometheus.io/download/)" >&2
	exit 1
fi

sudo=()
if [[ "$(id -u)" != 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo -n)
	else
		echo "install-promtool: promtool not found; run as root (or with sudo) to" \
			"apt-get install prometheus, or put promtool on PATH" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive

# Forbid maintainer scripts from starting services for the duration of the
# install (exit 101 = "action forbidden"). Keep any existing policy-rc.d.
policy=/usr/sbin/policy-rc.d
backup=""
if [[ -e "$policy" ]]; then
	backup="$(mktemp)"
	"${sudo[@]}" cp -p "$policy" "$backup"
fi
restore_policy() {
	if [[ -n "$backup" ]]; then
		"${sudo[@]}" cp -p "$backup" "$policy"
		rm -f "$backup"
	else
		"${sudo[@]}" rm -f "$policy"
	fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
"${sudo[@]}" chmod 755 "$policy"

echo "install-promtool: installing Debian package prometheus (for promtool)" >&2
if ! apt-cache show prometheus >/dev/null 2>&1; then
	"${sudo[@]}" apt-get update >&2
fi
"${sudo[@]}" apt-get install -y --no-install-recommends prometheus >&2

# Belt and braces: make sure no Prometheus server was left running.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
	"${sudo[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
if [[ -x /etc/init.d/prometheus ]]; then
	"${sudo[@]}" /etc/init.d/prometheus stop >/dev/null 2>&1 || true
	if command -v update-rc.d >/dev/null 2>&1; then
		"${sudo[@]}" update-rc.d prometheus disable >/dev/null 2>&1 || true
	fi
fi

if ! command -v promtool >/dev/null 2>&1; then
	echo "install-promtool: apt-get install prometheus did not put promtool on PATH" >&2
	exit 1
fi
command -v promtool
