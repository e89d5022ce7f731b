#!/bin/bash
# The demo's presentation, sourced by conformance/demo.sh and the host-side parts: numbered steps
# with a title and a plain explanation, commands shown before their output, a pause between
# steps (DEMO_PAUSE=1), one row per step for the closing summary. Colour only on a terminal.
#
# A host-side step:     demo_step "Title" "One or two sentences." function_name
# Inside it:            demo_show CMD...   (prints "$ CMD", then its output, indented; returns its status)
#                       demo_note TEXT     (a line of commentary)
# The lab's steps run in the guest and print the same things as marker lines (guest/demo-lib.sh);
# demo_render turns those into the same output and rows.

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  C_TITLE=$'\e[1;36m' C_SAY=$'\e[0;37m' C_CMD=$'\e[1;33m' C_OK=$'\e[1;32m' C_FAIL=$'\e[1;31m'
  C_DIM=$'\e[2m' C_OFF=$'\e[0m'
else
  C_TITLE='' C_SAY='' C_CMD='' C_OK='' C_FAIL='' C_DIM='' C_OFF=''
fi

DEMO_ROWS=()      # "PART<TAB>TITLE<TAB>ok|FAILED|skipped<TAB>SECONDS", in order
DEMO_T0=$(date +%s)
DEMO_FAILED=0
DEMO_STEP_NO=0
DEMO_PART=""

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

demo_part() {  # demo_part PART TITLE TEXT: a part's banner; PART names it in the summary
  DEMO_PART=$1
  printf '\n%s==================== %s ====================%s\n' "$C_TITLE" "$2" "$C_OFF"
  printf '%s%s%s\n' "$C_SAY" "$3" "$C_OFF" | fold -s -w 100
}

# demo_title NO TITLE TEXT: a step's heading and explanation.
demo_title() {
  printf '\n%s--- %s. %s%s\n' "$C_TITLE" "$1" "$2" "$C_OFF"
  [ -z "$3" ] || printf '%s%s%s\n' "$C_SAY" "$3" "$C_OFF" | fold -s -w 100
}

# demo_wait_enter: with DEMO_PAUSE=1 and a terminal to read from, wait for Enter.
demo_wait_enter() {
  [ "${DEMO_PAUSE:-0}" = 1 ] || return 0
  printf '%s[Enter: run this step]%s ' "$C_DIM" "$C_OFF"
  if ! read -r _ < /dev/tty 2>/dev/null; then
    echo "(no terminal to read from: not pausing)"
    DEMO_PAUSE=0
  fi
}

demo_note() { printf '  %s\n' "$*"; }

# demo_show CMD...: the command, then its output indented; its status returned.
demo_show() {
  local rc
  printf '%s$ %s%s\n' "$C_CMD" "$*" "$C_OFF"
  "$@" 2>&1 | sed 's/^/  /'
  rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || printf '  %s(exit %s)%s\n' "$C_FAIL" "$rc" "$C_OFF"
  return "$rc"
}

# demo_row TITLE RESULT SECONDS: one row of the summary, the result printed under the step.
demo_row() {
  DEMO_ROWS+=("$DEMO_PART"$'\t'"$1"$'\t'"$2"$'\t'"$3")
  case $2 in
    ok) printf '%s  => ok (%ss)%s\n' "$C_OK" "$3" "$C_OFF" ;;
    skipped) printf '%s  => skipped%s\n' "$C_DIM" "$C_OFF" ;;
    *) DEMO_FAILED=$((DEMO_FAILED + 1)); printf '%s  => FAILED (%ss)%s\n' "$C_FAIL" "$3" "$C_OFF" ;;
  esac
}

# demo_step TITLE TEXT FUNCTION [ARGS...]: a host-side step. After a failed step the part's
# later steps are skipped (DEMO_PART_BROKEN), except those run with demo_step_always.
DEMO_PART_BROKEN=0
demo_step() {
  local title=$1 text=$2 t0 rc
  shift 2
  DEMO_STEP_NO=$((DEMO_STEP_NO + 1))
  demo_title "$DEMO_STEP_NO" "$title" "$text"
  if [ "$DEMO_PART_BROKEN" = 1 ]; then
    demo_row "$title" skipped 0
    return 0
  fi
  demo_wait_enter
  t0=$(now_s)
  "$@"
  rc=$?
  if [ "$rc" = 0 ]; then demo_row "$title" ok "$(elapsed "$t0")"; else
    demo_row "$title" FAILED "$(elapsed "$t0")"
    DEMO_PART_BROKEN=1
  fi
  return 0
}
# demo_step_always: the same, run even after an earlier step of the part failed (teardown).
demo_step_always() {
  local broken=$DEMO_PART_BROKEN
  DEMO_PART_BROKEN=0
  demo_step "$@"
  [ "$broken" = 1 ] && DEMO_PART_BROKEN=1
  return 0
}

# demo_summary: the closing table; returns non-zero when any step failed.
demo_summary() {
  local r part title result secs total=0
  printf '\n%s==================== summary ====================%s\n' "$C_TITLE" "$C_OFF"
  printf '%-4s %-8s %-62s %-8s %7s\n' "#" part step result time
  local i=0
  for r in "${DEMO_ROWS[@]}"; do
    i=$((i + 1))
    IFS=$'\t' read -r part title result secs <<< "$r"
    local c=$C_OK
    [ "$result" = ok ] || c=$C_FAIL
    [ "$result" = skipped ] && c=$C_DIM
    printf '%-4s %-8s %-62.62s %s%-8s%s %6ss\n' "$i" "$part" "$title" "$c" "$result" "$C_OFF" "$secs"
    total=$(awk -v a="$total" -v b="$secs" 'BEGIN { print a + b }')
  done
  printf '%d steps, %d failed; %.0f s in the steps, %d s in all\n' "$i" "$DEMO_FAILED" "$total" "$(($(date +%s) - DEMO_T0))"
  [ "$DEMO_FAILED" = 0 ] && [ "$i" -gt 0 ]
}
