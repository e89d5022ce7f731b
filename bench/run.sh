#!/bin/bash
# make bench: every plugin beside its Go peer and its floor, then docs/benchmarks.{md,json,svg}
# and README's bench section (bench/report.py). One line per step here; each step's own output
# goes to target/bench/<step>.log (shown when the step fails).
#
#   bash bench/run.sh        (root; after `make static`: the shipped binaries are measured)
#
# Environment: NFV_BENCH_ITERS (rounds per row, default 100), HOSTLOCAL_BENCH_SIZES
# (default 10,1000,10000,60000), STATIC_DIR (the binaries measured), NFV_BENCH_NO_DOCS=1
# (leave docs/ and README.md alone: the report goes to target/bench/docs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/bench
STATIC_DIR=${STATIC_DIR:-$ROOT/target/x86_64-unknown-linux-gnu/release}
GO_DIR=/usr/lib/cni
export NFV_BENCH_OUT=$OUT NFV_BENCH_BIN_DIR=$STATIC_DIR NFV_BENCH_ITERS=${NFV_BENCH_ITERS:-100}
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
STEPS=10
step=0
started=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

say() { step=$((step + 1)); printf 'bench: [%d/%d] %s\n' "$step" "$STEPS" "$*"; }
# run NAME CMD...: the command's output into target/bench/NAME.log, its tail on failure.
run() {
  local name=$1; shift
  local t0=$SECONDS
  if ! "$@" >"$OUT/$name.log" 2>&1; then
    echo "bench: $name failed; the end of $OUT/$name.log:" >&2
    tail -30 "$OUT/$name.log" >&2
    exit 1
  fi
  printf 'bench:       done in %ds\n' $((SECONDS - t0))
}

[ "$(id -u)" = 0 ] || { echo "bench: must run as root (namespaces, veths, OVS)" >&2; exit 1; }
rm -rf "$OUT"; mkdir -p "$OUT"

say "checking tools: GNU time, nsenter, python3, perf, strace, the Go plugins, our static binaries in $STATIC_DIR"
# GNU time (peak RSS), python3 (the report), perf (where a call's time goes) and strace (what
# RSS is made of) are not in `make deps`' list: installed here.
missing=()
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null || missing+=(python3)
command -v perf >/dev/null || missing+=(linux-perf)
command -v strace >/dev/null || missing+=(strace)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench:       installing ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=600 -q update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
for t in nsenter unshare python3 "$GO_DIR/host-local" "$GO_DIR/host-device"; do
  command -v "$t" >/dev/null || { echo "bench: $t missing (make deps installs it)" >&2; exit 1; }
done
for b in host-local sriov vdpa userspace; do
  [ -x "$STATIC_DIR/$b" ] || { echo "bench: $STATIC_DIR/$b missing: run make static" >&2; exit 1; }
done

say "testing the report generator (bench/test_report.py)"
run selftest env PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -s bench -p 'test_*.py'

say "building the bench programs (cargo bench --no-run, release)"
run build cargo bench --locked -p host-local -p sriov -p vdpa --no-run

say "the baseline: an empty Rust program built as ours (bench/baseline), its size and peak RSS; what RSS is made of"
run baseline python3 bench/baseline.py "$OUT"
run rss-parts python3 bench/rss_parts.py "$OUT" "$STATIC_DIR"

say "host-local: ours, Go host-local and the floor at ${HOSTLOCAL_BENCH_SIZES:-10,1000,10000,60000} leases (the longest step)"
run host-local cargo bench --locked -p host-local --bench add_del

say "sriov: netdev + host-local on a veth, Go host-device + host-local, the floor ($NFV_BENCH_ITERS rounds)"
run sriov cargo bench --locked -p sriov --bench add_del

say "vdpa: virtio and vhost + host-local, Go host-device + host-local, the floors ($NFV_BENCH_ITERS rounds)"
run vdpa cargo bench --locked -p vdpa --bench add_del

say "userspace: against OVS-DPDK, the ovs-vsctl sequence of userspace-cni, the floor ($NFV_BENCH_ITERS rounds)"
run userspace env N="$NFV_BENCH_ITERS" bash conformance/ovs/bench.sh

say "where a call's time goes: a few warm calls of each under perf trace (bench/trace_hostlocal.py, NFV_BENCH_TRACE)"
# After the timed steps, so tracing never overlaps them. A machine where perf trace cannot run
# (no tracefs, a container) gets a report that says so instead of a failed bench.
if perf trace -o /dev/null -- true >/dev/null 2>&1; then
  mkdir -p "$OUT/trace/sriov" "$OUT/trace/vdpa"
  run trace-host-local python3 bench/trace_hostlocal.py "$OUT/trace/host-local" "$STATIC_DIR/host-local"
  run trace-sriov env NFV_BENCH_TRACE="$OUT/trace/sriov" NFV_BENCH_ITERS=3 NFV_BENCH_OUT="$OUT/trace/sriov" \
    cargo bench --locked -p sriov --bench add_del
  run trace-vdpa env NFV_BENCH_TRACE="$OUT/trace/vdpa" NFV_BENCH_ITERS=3 NFV_BENCH_OUT="$OUT/trace/vdpa" \
    cargo bench --locked -p vdpa --bench add_del
else
  echo "bench:       perf trace does not work here (perf trace -o /dev/null -- true failed): no traces"
fi

say "the machine, the versions, a bare process's cost; writing the report"
python3 - "$OUT/machine.json" "$STATIC_DIR" "$GO_DIR" "$load_before" "$started" <<'PY'
import json, os, platform, statistics, subprocess, sys, time
out, static_dir, go_dir, load_before, started = sys.argv[1:]

def sh(*argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return ""

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
osr = dict(l.rstrip().split("=", 1) for l in open("/etc/os-release") if "=" in l)
spawn = []
for i in range(220):
    t = time.perf_counter()
    pid = os.posix_spawn("/bin/true", ["/bin/true"], {})
    os.waitpid(pid, 0)
    if i >= 20:
        spawn.append((time.perf_counter() - t) * 1000)
dirty = " (with uncommitted changes)" if sh("git", "status", "--porcelain", "--untracked-files=no") else ""
json.dump({
    "cpu": cpu,
    "cores": os.cpu_count(),
    "memory": f"{int(mem) / 1024 / 1024:.1f} GiB",
    "kernel": platform.release(),
    "os": osr.get("PRETTY_NAME", "").strip('"'),
    "rustc": sh("rustc", "--version"),
    "commit": sh("git", "rev-parse", "--short", "HEAD") + dirty,
    "go_plugins": sh("dpkg-query", "-W", "-f=${Version}", "containernetworking-plugins"),
    "ovs": sh("dpkg-query", "-W", "-f=${Version}", "openvswitch-switch-dpdk"),
    "static_dir": os.path.relpath(static_dir),
    "dynamic_dir": "target/release",
    "go_dir": go_dir,
    "load": f"{load_before} / {' '.join(open('/proc/loadavg').read().split()[:3])}",
    "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    "duration": f"{(time.time() - int(started)) / 60:.1f} min",
    "spawn_ms": statistics.median(spawn),
}, open(out, "w"), indent=1)
PY
if [ "${NFV_BENCH_NO_DOCS:-0}" = 1 ]; then
  mkdir -p "$OUT/docs"; python3 bench/report.py "$OUT" "$OUT/docs"
else
  python3 bench/report.py "$OUT" docs README.md
fi
echo "bench: finished in $(( ($(date +%s) - started) / 60 )) min $(( ($(date +%s) - started) % 60 )) s"
