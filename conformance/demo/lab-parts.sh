#!/bin/bash
# The demo's lab parts (sriov netdev, sriov vfio, vdpa), sourced by conformance/demo.sh: the steps
# run inside the emulated SR-IOV lab's guest (conformance/lab) as lab cases from
# conformance/demo/guest/; this side builds what Multus would hand the plugins, boots the guest
# through the lab's own lab.sh (which does the lab's set-up first), shows each step's output as the
# guest writes it to the 9p share, and passes Enter on to the guest when pausing.
#
# Uses ROOT, DEMO_OUT (scratch directory), DEMO_PAUSE and lib.sh's rendering. Sets LAB_PGID while
# the lab runs (demo.sh's trap stops it).
# shellcheck disable=SC2034  # DEMO_PART and LAB_PGID are read by lib.sh and demo.sh

DEMO_LAB_OUT=$ROOT/target/demo-lab
DEMO_LAB_OPEN=0      # a step of the guest has begun and not reported its result yet
DEMO_LAB_TITLE=''
LAB_PGID=

# Sandbox (infra container) IDs of the demo's pods, as a runtime would make them up.
demo_sandbox() { printf '%s' "$1" | sha256sum | cut -c1-64; }

# demo_lab_cases CASE...: the guest's case directory for those demo parts in $DEMO_OUT/cases.
demo_lab_cases() {
  local c d=$DEMO_OUT/cases m pod
  rm -rf "$d"
  mkdir -p "$d/multus" "$d/manifests"
  cp "$ROOT/conformance/demo/guest/demo-lib.sh" "$d/"
  for c in "$@"; do cp "$ROOT/conformance/demo/guest/$c.sh" "$d/"; done
  cp "$ROOT"/conformance/demo/manifests/{sriov-netdev,sriov-vfio,vdpa}.yaml "$d/manifests/"
  # Every pod's call: the device plugin's allocation (a VF's PCI address) only the guest knows.
  for m in sriov-netdev:cnf-a sriov-netdev:cnf-b sriov-vfio:dpdk-app sriov-vfio:client vdpa:testpmd-vdpa vdpa:app-vdpa; do
    pod=${m#*:}
    local dev=@DEVICE_ID@
    [ "${m%%:*}" = vdpa ] && dev=
    python3 "$ROOT/conformance/demo/multus_call.py" "$d/manifests/${m%%:*}.yaml" "$pod" \
      "$(demo_sandbox "$pod")" "$dev" "$d/multus/$pod" || return 1
  done
  echo "DEMO_PAUSE=$DEMO_PAUSE" > "$d/demo.conf"
  # Pausing: a person may take a while; the guest's deadline for a case grows to an hour.
  [ "$DEMO_PAUSE" = 1 ] && sed -i 's/^# lab-timeout: .*/# lab-timeout: 3600/' "$d"/[0-9]*.sh
  return 0
}

# demo_render_line LINE: one line the guest wrote, rendered.
demo_render_line() {
  local l=$1
  case $l in
    "@@demo step "*)
      DEMO_STEP_NO=$((DEMO_STEP_NO + 1))
      DEMO_LAB_TITLE=${l#@@demo step }
      DEMO_LAB_OPEN=1
      printf '\n%s--- %s. %s%s\n' "$C_TITLE" "$DEMO_STEP_NO" "$DEMO_LAB_TITLE" "$C_OFF" ;;
    "@@demo say "*) printf '%s%s%s\n' "$C_SAY" "${l#@@demo say }" "$C_OFF" | fold -s -w 100 ;;
    "@@demo cmd "*) printf '%s$ %s%s\n' "$C_CMD" "${l#@@demo cmd }" "$C_OFF" ;;
    "@@demo pause "*)
      demo_wait_enter
      mkdir -p "$DEMO_LAB_OUT/share/demo"
      touch "$DEMO_LAB_OUT/share/demo/go.${l#@@demo pause }" ;;
    "@@demo result "*)
      local r=${l#@@demo result }
      DEMO_LAB_OPEN=0
      demo_row "$DEMO_LAB_TITLE" "${r%% *}" "${r#* }" ;;
    *) printf '  %s\n' "$l" ;;
  esac
}
# lab.sh's own lines, dimmed; the log tail it adds under a failed case ("    | ...") is left out:
# the steps' output above already showed it.
demo_lab_line() {
  case $1 in "    | "*) return 0 ;; esac
  printf '%s[lab] %s%s\n' "$C_DIM" "$1" "$C_OFF"
}

# demo_drain FD HANDLER PARTIAL_VAR: render the complete lines readable on FD; a last line without
# its newline yet waits in PARTIAL_VAR for the rest.
demo_drain() {
  local fd=$1 handler=$2 var=$3 line
  while IFS= read -r -u "$fd" line; do
    "$handler" "${!var}$line"
    printf -v "$var" '%s' ""
  done
  printf -v "$var" '%s' "${!var}$line"
}

# demo_lab PART_TITLE TEXT CASE...: the lab parts, one guest boot for all of them.
demo_lab() {
  local title=$1 text=$2
  shift 2
  local cases=("$@") logs=$DEMO_LAB_OUT/share/logs res=$DEMO_LAB_OUT/share/results
  local i=0 labfd casefd='' t0 booted=0 rc=0 c lab_pid
  DEMO_PART=lab
  demo_part lab "$title" "$text"
  DEMO_STEP_NO=$((DEMO_STEP_NO + 1))
  demo_title "$DEMO_STEP_NO" "Set up the lab and boot its guest" \
    "The lab's packages, guest kernel, modules and image are installed and built once and cached (minutes the first time, a second after). The guest boots under QEMU's TCG (no KVM needed) and brings its PF, 4 VFs and 2 vDPA devices to the lab's baseline."
  demo_wait_enter
  t0=$(now_s)
  if ! demo_lab_cases "${cases[@]}"; then
    demo_row "build the pods' Multus calls" FAILED "$(elapsed "$t0")"
    return 0
  fi
  : > "$DEMO_OUT/lab.out"
  rm -rf "$DEMO_LAB_OUT/share"
  demo_lab_line "one boot for ${cases[*]}"
  # Its own session, so that the trap can stop lab.sh, QEMU and whatever set-up runs, together.
  LAB_CASES_DIR=$DEMO_OUT/cases LAB_OUT=$DEMO_LAB_OUT LAB_BIN_DIR=$BIN_DIR setsid bash "$ROOT/conformance/lab/lab.sh" run "${cases[@]}" \
    > "$DEMO_OUT/lab.out" 2>&1 < /dev/null &
  lab_pid=$!
  LAB_PGID=$lab_pid
  exec {labfd}< "$DEMO_OUT/lab.out"
  local P_LAB='' P_CASE=''
  while :; do
    demo_drain "$labfd" demo_lab_line P_LAB
    if [ -z "$casefd" ] && [ "$i" -lt ${#cases[@]} ] && [ -f "$logs/${cases[$i]}.log" ]; then
      if [ "$booted" = 0 ]; then
        booted=1
        DEMO_PART=lab
        demo_row "Set up the lab and boot its guest" ok "$(elapsed "$t0")"
      fi
      exec {casefd}< "$logs/${cases[$i]}.log"
      case ${cases[$i]} in
        *-sriov-netdev) DEMO_PART=sriov ;;
        *-sriov-vfio) DEMO_PART=vfio ;;
        *) DEMO_PART=${cases[$i]#*-} ;;
      esac
    fi
    if [ -n "$casefd" ]; then
      demo_drain "$casefd" demo_render_line P_CASE
      if [ -f "$res/${cases[$i]}" ]; then  # the verdict is written after the log is complete
        demo_drain "$casefd" demo_render_line P_CASE
        [ -z "$P_CASE" ] || { demo_render_line "$P_CASE"; P_CASE=''; }
        # A case killed at its deadline stops inside a step: that step failed.
        [ "$DEMO_LAB_OPEN" = 0 ] || demo_row "$DEMO_LAB_TITLE (no end: $(cat "$res/${cases[$i]}"))" FAILED 0
        DEMO_LAB_OPEN=0
        exec {casefd}<&-
        casefd=''
        i=$((i + 1))
        continue
      fi
    fi
    kill -0 "$lab_pid" 2>/dev/null || break
    sleep 0.3
  done
  wait "$lab_pid" || rc=$?
  LAB_PGID=
  demo_drain "$labfd" demo_lab_line P_LAB
  [ -z "$P_LAB" ] || demo_lab_line "$P_LAB"
  exec {labfd}<&-
  [ -z "$casefd" ] || exec {casefd}<&-
  DEMO_PART=lab
  [ "$booted" = 1 ] || demo_row "Set up the lab and boot its guest" FAILED "$(elapsed "$t0")"
  for ((; i < ${#cases[@]}; i++)); do
    demo_row "${cases[$i]}: no verdict from the guest (see $DEMO_LAB_OUT)" FAILED 0
  done
  # A failed step already has its row; a lab run failing otherwise (a case killed at its
  # deadline, the guest hanging) gets one.
  if [ "$rc" != 0 ] && [ "$DEMO_FAILED" = 0 ]; then
    demo_row "the lab run (exit $rc; see $DEMO_OUT/lab.out)" FAILED 0
  fi
  return 0
}
