#!/usr/bin/env bash
# make sizes: the shipped binaries' sizes and the peak RSS of a call, ours beside the Go plugin
# a user would run instead (issue #14's targets: size <= 1/3 of the peer, peak RSS <= 1/3 of
# the Go host-local's). Reads the static binaries `make static` builds (what dist ships).
#
#   deployment/sizes.sh [--runs N]        (root for the RSS part: it makes a network namespace)
#
# Peers: Debian's containernetworking-plugins (/usr/lib/cni/host-local, host-device) are measured
# here. sriov-cni and userspace-cni are not packaged: their sizes are the figures issue #14
# states (5.1 MB and 56 MB), printed as such. Peak RSS is GNU time's %M (the kernel's ru_maxrss)
# of the plugin process, the median over --runs calls.
set -euo pipefail
cd "$(dirname "$0")/.."

STATIC_DIR=${STATIC_DIR:-target/x86_64-unknown-linux-gnu/release}
DYNAMIC_DIR=${DYNAMIC_DIR:-target/release}
GO_DIR=${GO_DIR:-/usr/lib/cni}
RUNS=5
[ "${1:-}" = --runs ] && RUNS=${2:?--runs needs a number}

for b in host-local sriov vdpa userspace; do
  [ -x "$STATIC_DIR/$b" ] || { echo "sizes: $STATIC_DIR/$b missing: run make static" >&2; exit 1; }
done

mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1000000 }'; }
# size row: ours, peer name, peer bytes, where the peer figure comes from
row() {
  local ours=$1 peer=$2 peer_bytes=$3 source=$4 o
  o=$(stat -c %s "$dir/$ours")
  awk -v n="$ours" -v o="$o" -v p="$peer" -v pb="$peer_bytes" -v s="$source" 'BEGIN {
    r = o / pb; t = pb / 3
    printf "%-11s %7.2f MB   %-14s %7.2f MB  %-26s %5.2fx  %6.2f MB  %s\n",
      n, o / 1e6, p, pb / 1e6, s, r, t / 1e6, (o <= t ? "met" : "MISSED")
  }'
}

size_table() {
  local dir=$1
  printf '%-11s %10s   %-14s %10s  %-26s %6s  %9s\n' plugin ours peer "peer size" "peer figure" ratio "target"
  row host-local host-local "$(stat -c %s "$GO_DIR/host-local")" "measured: $GO_DIR"
  row sriov sriov-cni 5100000 "stated in issue #14"
  row vdpa host-device "$(stat -c %s "$GO_DIR/host-device")" "measured: $GO_DIR"
  row userspace userspace-cni 56000000 "stated in issue #14"
  echo
}
echo "Binary sizes (static, stripped, as make dist ships them; MB = 10^6 bytes)"
size_table "$STATIC_DIR"
# Debian's Go plugins are linked dynamically against glibc: the like-for-like figure is ours
# linked dynamically too (make build), when it is there.
if [ -x "$DYNAMIC_DIR/host-local" ] && [ -x "$DYNAMIC_DIR/vdpa" ] && [ -x "$DYNAMIC_DIR/sriov" ] && [ -x "$DYNAMIC_DIR/userspace" ]; then
  echo "Binary sizes (dynamic, as make build makes them; like Debian's Go plugins, which load libc.so.6)"
  size_table "$DYNAMIC_DIR"
fi

# What every plugin carries before any code of ours: an empty Rust program built as ours
# (bench/baseline.py: the workspace's release profile and make static's flags, read, not copied).
if python3 bench/baseline.py target/sizes-baseline >/dev/null; then
  python3 - target/sizes-baseline/baseline.json "$STATIC_DIR" <<'PY'
import json, os, sys
b = json.load(open(sys.argv[1]))
s, d = b["static"], b["dynamic"]
print(f"An empty Rust program, built as ours (bench/baseline): {s['bytes'] / 1e6:.2f} MB static "
      f"({d['bytes'] / 1e6:.2f} MB linked dynamically), peak RSS {max(s['rss'])} KiB")
print("Ours above it (static): " + ", ".join(
    f"{n} {(os.path.getsize(os.path.join(sys.argv[2], n)) - s['bytes']) / 1e6:.2f} MB"
    for n in ("host-local", "sriov", "vdpa", "userspace")))
print()
PY
else
  echo "sizes: the empty-program baseline did not build (bench/baseline.py); skipped" >&2
fi

if [ "$(id -u)" != 0 ]; then
  echo "Peak RSS: skipped (needs root for the network namespace)"
  exit 0
fi

# Peak RSS of one call in KiB: GNU time's %M (ru_maxrss of its forked child). GNU time is a
# small C program, so what its child held before exec is far below any plugin's peak (a static
# C program that returns at once reads about 0.5 MiB this way); a Python wrapper would not do:
# its vfork child reports the parent's whole RSS.
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends time >/dev/null
peak() { # peak BINARY STDIN-FILE ENV...
  local bin=$1 input=$2; shift 2
  if ! env "$@" /usr/bin/time -f %M -o "$work/rss" "$bin" < "$input" > "$work/out" 2>/dev/null; then
    echo "sizes: $bin ${*}: call failed: $(head -c 400 "$work/out")" >&2; return 1
  fi
  tail -1 "$work/rss"
}
work=$(mktemp -d)
ns=nfvsizes$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# One ADD then one DEL of host-local; prints the larger peak (KiB) of the two, median of RUNS.
hostlocal_peak() {
  local bin=$1 i add del
  for i in $(seq "$RUNS"); do
    cat > "$work/conf.json" <<JSON
{"cniVersion":"1.0.0","name":"sizes","type":"host-local",
 "ipam":{"type":"host-local","dataDir":"$work/leases-$(basename "$bin")-$i",
         "ranges":[[{"subnet":"10.77.0.0/16"}]]}}
JSON
    local env=(CNI_CONTAINERID="sizes$i" CNI_NETNS="/run/netns/$ns" CNI_IFNAME=eth0 CNI_PATH="$GO_DIR")
    add=$(peak "$bin" "$work/conf.json" CNI_COMMAND=ADD "${env[@]}")
    del=$(peak "$bin" "$work/conf.json" CNI_COMMAND=DEL "${env[@]}")
    echo $((add > del ? add : del))
  done | median
}

# VERSION: start-up, the runner and the exit, nothing else (what every call pays).
version_peak() {
  local bin=$1 i
  echo '{}' > "$work/empty.json"
  for i in $(seq "$RUNS"); do
    peak "$bin" "$work/empty.json" CNI_COMMAND=VERSION
  done | median
}

# Most of a plugin's RSS is its executable's pages, mapped from the page cache up to 64 KiB
# around each fault, so the figure moves by a window or two with how the file's pages happen
# to sit in the cache (the linker's output and a copy of it read 1360 and 1296 KiB). Every
# binary measured, ours and Go's, is first copied here, so all are read in the same state.
mkdir -p "$work/ours" "$work/go"
for b in host-local sriov vdpa userspace; do cp "$STATIC_DIR/$b" "$work/ours/$b"; done
for b in host-local host-device; do cp "$GO_DIR/$b" "$work/go/$b"; done
STATIC_DIR=$work/ours GO_DIR=$work/go

echo "Peak RSS per call (KiB, median of $RUNS; GNU time %M of the plugin process)"
ours=$(hostlocal_peak "$STATIC_DIR/host-local")
theirs=$(hostlocal_peak "$GO_DIR/host-local")
awk -v o="$ours" -v t="$theirs" 'BEGIN {
  printf "%-34s ours %6d   Go %6d   %.2fx   target %d (1/3 of Go): %s\n",
    "host-local ADD+DEL (larger peak)", o, t, o / t, t / 3, (o <= t / 3 ? "met" : "MISSED")
}'
go_version=$(version_peak "$GO_DIR/host-device")
for b in host-local sriov vdpa userspace; do
  v=$(version_peak "$STATIC_DIR/$b")
  awk -v n="$b VERSION" -v o="$v" -v t="$go_version" 'BEGIN {
    printf "%-34s ours %6d   Go host-device VERSION %6d   %.2fx\n", n, o, t, o / t
  }'
done
