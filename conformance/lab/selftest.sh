#!/bin/bash
# Self-test of the lab harness, with its own cases (selftest/cases) and short timeouts. First, without
# a boot: a named case is refused in a variant its "# lab-variants:" line does not name. Two boots:
#   boot 1: a passing case, a failing one, one that never returns (killed by the per-case timeout),
#           cases that dirty the lab (settings; the VF count) each followed by one that checks the
#           reset undid it (quickly; by recreating the VFs). The run must exit
#           non-zero with a line per case; re-judging its verdicts one by one shows that the passing
#           case alone passes and that the failing and the hanging case each fail a run.
#   boot 2: a case that hangs the guest (the runner stops, the guest never powers off): the host must
#           kill it at its deadline and fail the run.
# Usage: bash conformance/lab/selftest.sh   (root; runs lab.sh setup first, about 1-2 minutes)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB=$HERE/lab.sh
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

export LAB_CASES_DIR=$HERE/selftest/cases
export LAB_OUT=$REPO/target/lab-selftest
export LAB_BIN_DIR=$WORK/bin
# The self-test's cases declare no variant: they run in the default boot (with a vIOMMU).
export LAB_VARIANT=viommu
# The hanging cases set "# lab-timeout: 5" themselves; the others keep the default, so a loaded
# machine cannot turn a slow passing case into a timeout.
mkdir -p "$LAB_BIN_DIR"
install -m 0755 "$HERE/selftest/fake-plugin" "$LAB_BIN_DIR/host-local"

failures=0
pass() { echo "selftest: ok - $*"; }
flunk() { echo "selftest: FAIL - $*"; failures=$((failures + 1)); }
# expect_line FILE REGEX DESCRIPTION
expect_line() {
  if grep -Eq -- "$2" "$1"; then pass "$3"; else flunk "$3 (no line matching '$2')"; fi
}
# expect_last FILE TEXT: the closing line, exactly
expect_last() {
  local last
  last=$(tail -n 1 "$1")
  if [ "$last" = "$2" ]; then pass "closing line '$2'"; else flunk "closing line: expected '$2', got '$last'"; fi
}
# judge DESCRIPTION WANT_STATUS(0|nonzero) CMD...: run CMD, output to $WORK/out, check its status
judge() {
  local d=$1 want=$2 rc=0
  shift 2
  "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  sed 's/^/    | /' "$WORK/out"
  if { [ "$want" = 0 ] && [ "$rc" = 0 ]; } || { [ "$want" = nonzero ] && [ "$rc" != 0 ]; }; then
    pass "$d (exit $rc)"
  else
    flunk "$d (exit $rc, wanted $want)"
    sed 's/^/    ! /' "$WORK/err"
  fi
}

bash "$LAB" setup

echo "selftest: variants - a named case that does not run in a variant is refused, no boot"
rm -rf "$LAB_OUT-noiommu"
judge "a case without '# lab-variants: ... noiommu' is refused in the noiommu variant" nonzero \
  env LAB_VARIANT=noiommu bash "$LAB" run 01-pass
expect_line "$WORK/err" "01-pass does not run in the noiommu variant: its '# lab-variants:' line says 'viommu'" \
  "... saying which variants it runs in"
if [ -e "$LAB_OUT-noiommu/console.log" ]; then flunk "a guest was booted for it"; else pass "no guest was booted for it"; fi

echo "selftest: boot 1 - pass, fail, case timeout, reset between cases"
judge "a run with a failing and a hanging case exits non-zero" nonzero \
  bash "$LAB" run 01-pass 02-fail 03-case-hang 04-dirty-settings 05-clean-state 06-dirty-numvfs 07-clean-again
cp "$WORK/out" "$WORK/boot1"
expect_line "$WORK/boot1" '^ok   01-pass \(' "the passing case passes (cni helper, plugin binary via 9p)"
expect_line "$WORK/boot1" '^FAIL 02-fail: exit 1 after ' "the failing case is reported with its exit status"
expect_line "$WORK/boot1" '^    \| not ok - this case fails on purpose$' "a failure shows the tail of the case log"
expect_line "$WORK/boot1" '^FAIL 03-case-hang: timed out after [5-9]\.[0-9]s, killed' "the case that never returns is killed at its lab-timeout of 5 s and fails"
expect_line "$WORK/boot1" '^ok   04-dirty-settings \(' "the case that dirties the lab ran after the killed one"
expect_line "$LAB_OUT/share/logs/04-dirty-settings.log" '^ok - the killed case left no process behind' "the killed case's children died with it"
expect_line "$WORK/boot1" '^ok   05-clean-state \(' "after changed VF settings the next case starts from the baseline"
expect_line "$LAB_OUT/share/logs/05-clean-state.reset.log" 'baseline state restored$' "... by the quick reset"
expect_line "$WORK/boot1" '^ok   07-clean-again \(' "after a changed VF count the next case starts from the baseline"
expect_line "$LAB_OUT/share/logs/07-clean-again.reset.log" 'recreating the VFs$' "... by recreating the VFs"
expect_last "$WORK/boot1" "lab: 5 passed, 2 failed"
if [ "$(grep -c '^\(ok  \|FAIL\) ' "$WORK/boot1")" = 7 ]; then pass "one line per case"; else flunk "not one line per case"; fi

echo "selftest: the verdicts of boot 1, case by case"
judge "the passing case alone passes" 0 bash "$LAB" report 01-pass
expect_last "$WORK/out" "lab: 1 passed, 0 failed"
judge "a failing case fails the run" nonzero bash "$LAB" report 01-pass 02-fail
expect_last "$WORK/out" "lab: 1 passed, 1 failed"
judge "a case that never returns fails the run" nonzero bash "$LAB" report 01-pass 03-case-hang
expect_last "$WORK/out" "lab: 1 passed, 1 failed"

echo "selftest: boot 2 - a guest that never powers off"
judge "a hung guest fails the run" nonzero \
  env LAB_CASE_SLACK=10 bash "$LAB" run 09-guest-hang
cp "$WORK/out" "$WORK/boot2"
if grep -q '^### lab: start 09-guest-hang' "$LAB_OUT/console.log"; then
  pass "the guest got as far as the hanging case"
else
  flunk "the guest never started the hanging case: the run failed for another reason"
fi
expect_line "$WORK/boot2" '^lab: guest failure: the guest did not finish within [0-9]+s of being ready' "the host gave up at its deadline"
expect_line "$WORK/boot2" '^FAIL 09-guest-hang: no result \(the guest did not finish' "the case without a verdict fails"
expect_last "$WORK/boot2" "lab: 0 passed, 1 failed"

if [ "$failures" = 0 ]; then
  echo "selftest: all checks passed"
else
  echo "selftest: $failures check(s) failed"
  exit 1
fi
