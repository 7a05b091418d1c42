#!/usr/bin/env bash
# Snapshot speed: `rpcgate snapshot create` and `fetch` of a synthetic
# 2 GiB data dir, against `tar | zstd` (and back) and plain `cp -r` of the
# same data. Not part of `make test`. Prints MB/s (10^6 bytes per second of
# uncompressed data) for each.
#
#   bash bench/snapshot.sh [SIZE_MIB]   (default 2048)
#
# The data is half random bytes (like hashes and compressed tables) and half
# base64 text (compressible), in 128 MiB files. The page cache is not
# dropped (that needs root); every step reads data the previous step wrote,
# so all run warm alike.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-2048}
work=$(mktemp -d "${TMPDIR:-/tmp}/rpcgate-snapbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
go build -o "$work/rpcgate" ./cmd/rpcgate
bin="$work/rpcgate"
data="$work/data"
mkdir -p "$data/chaindata/ancient"
files=$((size_mib / 128))
for i in $(seq 1 "$files"); do
  if ((i % 2)); then
    head -c $((128 << 20)) /dev/urandom >"$data/chaindata/$(printf %06d "$i").ldb"
  else
    head -c $((96 << 20)) /dev/urandom | base64 -w 0 | head -c $((128 << 20)) >"$data/chaindata/ancient/$(printf %06d "$i").cdat"
  fi
done
bytes=$(du -sb "$data" | cut -f1)
echo "data: $bytes bytes in $files files"
"$bin" snapshot keygen --out "$work/key" >/dev/null

now() { date +%s.%N; }
rate() { awk -v b="$bytes" -v s="$1" -v e="$2" 'BEGIN { printf "%7.1f MB/s (%.2f s)", b / (e - s) / 1e6, e - s }'; }
sync

s=$(now); "$bin" snapshot create --data "$data" --out "$work/store" --key "$work/key" --chain eth --chain-id 1 >"$work/create.json"; sync; e=$(now)
echo "rpcgate snapshot create   $(rate "$s" "$e")  store $(du -sb "$work/store" | cut -f1) bytes"
s=$(now); "$bin" snapshot fetch --from "$work/store" --data "$work/fetched" --pubkey "$work/key.pub" >/dev/null; e=$(now)
echo "rpcgate snapshot fetch    $(rate "$s" "$e")  (dir store; verified; fsynced)"
cmp <(cd "$data" && find . -type f -exec sha256sum {} + | sort) <(cd "$work/fetched" && find . -type f -exec sha256sum {} + | sort)
rm -rf "$work/fetched"

s=$(now); tar -C "$data" -cf - . | zstd -q -T0 -3 -o "$work/data.tar.zst"; sync; e=$(now)
echo "tar | zstd -3 -T0         $(rate "$s" "$e")  archive $(stat -c %s "$work/data.tar.zst") bytes"
mkdir "$work/untar"
s=$(now); zstd -q -d -c "$work/data.tar.zst" | tar -C "$work/untar" -xf -; sync; e=$(now)
echo "zstd -d | tar x           $(rate "$s" "$e")"
rm -rf "$work/untar" "$work/data.tar.zst"

s=$(now); cp -r "$data" "$work/copy"; sync; e=$(now)
echo "cp -r                     $(rate "$s" "$e")"
