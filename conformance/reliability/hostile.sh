#!/usr/bin/env bash
# Runs the test named in every row of testdata/hostile/*.tsv, one at a time, and prints the row
# with its result: "pass" only when cargo ran exactly that one test and it passed (a row whose test
# was renamed or removed runs nothing and is "missing", which fails the run).
#
#   bash conformance/reliability/hostile.sh > target/reliability/hostile.tsv
set -uo pipefail
cd "$(dirname "$0")/../.."
export NFV_CNI_BIN_DIR="${NFV_CNI_BIN_DIR:-$PWD/target/release}"
failed=0
printf 'case\tplugin\tattempt\toutcome\ttest\tresult\n'
for f in testdata/hostile/*.tsv; do
  [ -f "$f" ] || continue
  while IFS=$'\t' read -r case plugin attempt outcome test rest; do
    [ "$case" = "case" ] && continue
    [ -z "$case" ] && continue
    # "-p pkg --test file name" or "-p pkg --lib path::name": the last word is the test's name.
    read -r -a words <<<"$test"
    name="${words[${#words[@]}-1]}"
    args=("${words[@]:0:${#words[@]}-1}")
    features=()
    case "$test" in *"--test crash"*) features=(--features test-hooks) ;; esac
    out=$(cargo test --locked -q "${args[@]}" "${features[@]}" -- --exact "$name" 2>&1)
    if grep -qE '^test result: ok\. 1 passed' <<<"$out"; then
      result=pass
    elif grep -qE '^test result: ok\. 0 passed' <<<"$out"; then
      result=missing; failed=1
    else
      result=FAIL; failed=1
      printf '%s\n' "$out" | tail -20 >&2
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$plugin" "$attempt" "$outcome" "$test" "$result"
    printf 'hostile %s (%s): %s\n' "$case" "$plugin" "$result" >&2
  done <"$f"
done
exit $failed
