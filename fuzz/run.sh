#!/usr/bin/env bash
# Run every fuzz target (or the ones named) for FUZZ_SECONDS each, one after another, and write
# target/fuzz/summary.json (per target: executions, speed, new inputs, coverage, crashes).
#
#   fuzz/run.sh [target...]        FUZZ_SECONDS (default 60), FUZZ_REQUIRED=1: fail when no fuzzing
#
# Needs the nightly toolchain and cargo-fuzz (installed from crates.io when missing). Without
# them it says so loudly, runs the same target bodies over their corpora as plain tests, and
# records that nothing was fuzzed. Seeds come from testdata/fuzz/<target>/ (regressions/
# included); new inputs go to target/fuzz/corpus/<target>/, crashes to
# target/fuzz/artifacts/<target>/. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
out=target/fuzz
build=$out/build
summary=$out/summary.json
mkdir -p "$out/logs"
# hostlocal_disk writes a scratch lease directory per input: on tmpfs it runs twice as fast.
if [ -z "${TMPDIR:-}" ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
mapfile -t all < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^nfv-fuzz$')
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

not_fuzzing() {
  local reason=$1
  echo "fuzz: NOT FUZZING: $reason" >&2
  echo "fuzz: running the target bodies over testdata/fuzz/ as plain tests instead" >&2
  local tests=passed
  cargo test --locked -p nfv-fuzz-targets --test corpus || tests=failed
  printf '{"fuzzed": false, "reason": %s, "corpus_tests": "%s", "targets": []}\n' \
    "$(json_str "$reason")" "$tests" > "$summary"
  echo "fuzz: wrote $summary (nothing fuzzed)" >&2
  [ "$tests" = passed ] || exit 1
  [ "${FUZZ_REQUIRED:-0}" != 1 ] || exit 1
  exit 0
}

cargo +nightly --version >/dev/null 2>&1 || not_fuzzing "no nightly Rust toolchain (rustup toolchain install nightly)"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked >&2 || not_fuzzing "cargo-fuzz is not installed and could not be installed"
fi
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
# The fuzz workspace pins what the main one pins (plus libfuzzer-sys).
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock
echo "fuzz: building ${#targets[@]} targets (nightly, AddressSanitizer)" >&2
cargo +nightly fuzz build --fuzz-dir fuzz --target-dir "$build" >&2 \
  || not_fuzzing "the fuzz targets do not build with cargo +nightly fuzz build"
bin=$build/$host/release

stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

entries=()
total_execs=0
total_crashes=0
for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  corpus=$out/corpus/$t
  artifacts=$out/artifacts/$t
  log=$out/logs/$t.log
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: $t for ${seconds}s" >&2
  status=0
  # No leak checks: the plugins are one-shot processes, and libFuzzer's check after every input
  # that allocates more than it frees made the netconf targets five times slower. Unbounded
  # growth still fails through -rss_limit_mb. Inputs above 16 KiB find nothing new and are slow.
  "$bin/$t" "$corpus" "testdata/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 -max_len=16384 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  execs=$(stat number_of_executed_units "$log"); execs=${execs:-0}
  speed=$(stat average_exec_per_sec "$log"); speed=${speed:-0}
  new=$(stat new_units_added "$log"); new=${new:-0}
  rss=$(stat peak_rss_mb "$log"); rss=${rss:-0}
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2); cov=${cov:-0}
  found=()
  if [ "$status" -ne 0 ]; then
    mapfile -t found < <(grep -o "Test unit written to [^ ]*" "$log" | sed 's/Test unit written to //')
    [ ${#found[@]} -gt 0 ] || found=("(exit $status, see $log)")
    echo "fuzz: $t FAILED: ${found[*]}" >&2
    grep -m3 -E "panicked at|ERROR: (AddressSanitizer|libFuzzer)" "$log" >&2 || true
  fi
  total_execs=$((total_execs + execs))
  total_crashes=$((total_crashes + ${#found[@]}))
  list=$(for f in "${found[@]}"; do json_str "$f"; echo; done | paste -sd, -)
  entries+=("$(printf '{"name": "%s", "seconds": %s, "executions": %s, "execs_per_sec": %s, "new_inputs": %s, "coverage": %s, "peak_rss_mb": %s, "crashes": %s, "artifacts": [%s], "log": "%s"}' \
    "$t" "$seconds" "$execs" "$speed" "$new" "$cov" "$rss" "${#found[@]}" "$list" "$log")")
  echo "fuzz: $t: $execs executions, ${#found[@]} crashes" >&2
done

{
  printf '{"fuzzed": true, "seconds_per_target": %s, "total_executions": %s, "total_crashes": %s, "targets": [\n' \
    "$seconds" "$total_execs" "$total_crashes"
  for i in "${!entries[@]}"; do
    sep=,; [ "$i" -eq $((${#entries[@]} - 1)) ] && sep=
    printf '  %s%s\n' "${entries[$i]}" "$sep"
  done
  printf ']}\n'
} > "$summary"
echo "fuzz: wrote $summary: $total_execs executions, $total_crashes crashes" >&2
echo "reliability: {\"kind\":\"fuzz\",\"targets\":${#targets[@]},\"seconds_per_target\":$seconds,\"executions\":$total_execs,\"crashes\":$total_crashes,\"summary\":\"$summary\"}" >&2
if [ "$total_crashes" -gt 0 ]; then
  cat >&2 <<EOF
fuzz: a target failed. For each artifact above:
  cargo +nightly fuzz tmin --fuzz-dir fuzz --target-dir $build <target> <artifact>   # minimise
  cp <minimised> testdata/fuzz/<target>/regressions/<what-it-is>                      # keep it
  cargo test -p nfv-fuzz-targets --test corpus <target>                               # replays it
then fix the bug (docs/fuzzing.md).
EOF
  exit 1
fi
