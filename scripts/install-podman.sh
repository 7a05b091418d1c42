#!/usr/bin/env bash
# Installs podman (Debian package `podman`), which deploy/image_test.go uses
# to build and save the container image offline, and prints its path.
#
# Idempotent: when podman is on PATH nothing is installed. Needs root (or
# passwordless sudo) for apt-get; otherwise it says how to install by hand.
set -euo pipefail

if command -v podman >/dev/null 2>&1; then
	command -v podman
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-podman: podman not found and apt-get is unavailable;" \
		"install podman with your package manager (https://podman.io/docs/installation)" >&2
	exit 1
fi

sudo=()
if [[ "$(id -u)" != 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo -n)
	else
		echo "install-podman: podman not found; run as root (or with sudo):" \
			"apt-get install -y podman" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive

echo "install-podman: installing the Debian package podman" >&2
if ! "${sudo[@]}" apt-get install -y podman >&2; then
	# The package lists may be missing or stale on a fresh machine.
	"${sudo[@]}" apt-get update >&2
	"${sudo[@]}" apt-get install -y podman >&2
fi

if ! command -v podman >/dev/null 2>&1; then
	echo "install-podman: apt-get install podman finished but podman is not on PATH" >&2
	exit 1
fi
command -v podman
