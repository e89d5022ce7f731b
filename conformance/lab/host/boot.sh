#!/bin/bash
# Booting the guest and judging the run.
#
# Time limits (seconds, environment overrides):
#   LAB_BOOT_TIMEOUT   from QEMU start to the guest's "ready" line (baseline done)        default 300
#   LAB_CASE_TIMEOUT   one case, enforced in the guest (the case is killed); a case file
#                      may set its own with a line "# lab-timeout: SECONDS"              default 120
#   LAB_CASE_SLACK     per case on top of LAB_CASE_TIMEOUT for the host's deadline,
#                      covering the reset before the case and power-off                  default 30
# After "ready" the host gives the guest the sum of (case timeout + LAB_CASE_SLACK) over the cases to
# power off; a guest that hangs is killed then, and every case without a verdict fails.
LAB_BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-300}
LAB_CASE_TIMEOUT=${LAB_CASE_TIMEOUT:-120}
LAB_CASE_SLACK=${LAB_CASE_SLACK:-30}
LAB_SMP=${LAB_SMP:-2}
LAB_MEM=${LAB_MEM:-1024}
# QEMU's default TCG CPU (qemu64) stops at SSE3; Debian's DPDK needs SSE4.2 (testpmd refuses to
# start without it). The rest of qemu64 is kept.
LAB_CPU=${LAB_CPU:-qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt}

# lab_qemu_args MODE INITRD: the QEMU command line (array LAB_QEMU) for LAB_VARIANT.
lab_qemu_args() {
  local kv iommu append
  kv=$(lab_kernel_release)
  # no_timer_check: on a loaded host the TCG guest's timer can miss the kernel's early check, which
  # with interrupt remapping panics ("timer doesn't work through Interrupt-remapped IO-APIC").
  append="console=ttyS0 panic=-1 quiet loglevel=3 no_timer_check lab.mode=$1 lab.variant=$LAB_VARIANT"
  case $LAB_VARIANT in
    viommu)
      # A virtual IOMMU: each VF gets its own IOMMU group, so it can be bound to vfio-pci.
      # shellcheck disable=SC2054  # the commas are QEMU's option syntax
      iommu=(-device intel-iommu,intremap=on,caching-mode=on)
      append="$append intel_iommu=on" ;;
    noiommu)
      # A VM without a virtual IOMMU, as many Kubernetes nodes are: vfio only in its unsafe
      # no-IOMMU mode (the guest loads the vfio build that has it, with this option).
      iommu=()
      append="$append vfio.enable_unsafe_noiommu_mode=1" ;;
    *) lab_die "unknown LAB_VARIANT '$LAB_VARIANT' (viommu, noiommu or all)" ;;
  esac
  # shellcheck disable=SC2054  # the commas are QEMU's option syntax
  LAB_QEMU=(qemu-system-x86_64 -accel tcg -machine q35 -cpu "$LAB_CPU" -m "$LAB_MEM" -smp "$LAB_SMP"
    -nodefaults -display none -no-reboot
    # QEMU 10.0.2: without this the igb VFs never leave reset ("PF still in reset state").
    -global q35-pcihost.pci-hole64-size=0
    "${iommu[@]}"
    # The SR-IOV NIC: an Intel 82576 with up to 7 VFs, on an isolated user-mode network.
    -netdev user,id=n0,restrict=on -device igb,netdev=n0,romfile=
    -virtfs "local,path=$LAB_OUT/share,mount_tag=lab,security_model=none"
    -kernel "$LAB_CACHE/kernel/$kv/boot/vmlinuz-$kv" -initrd "$2"
    -append "$append")
}

now() { date +%s; }

# The timeout of a case: its "# lab-timeout: SECONDS" line, or LAB_CASE_TIMEOUT.
lab_case_timeout() {
  local t
  t=$(sed -n 's/^# lab-timeout: *\([0-9][0-9]*\) *$/\1/p' "$LAB_CASES_DIR/$1.sh" | head -n 1)
  echo "${t:-$LAB_CASE_TIMEOUT}"
}

# lab_case_line CASE WHY: one line for the case from its verdict file; a failure adds the tail of
# its log. WHY explains a missing verdict. Returns 0 when the case passed.
# Cases of a variant other than viommu carry its name: "ok   25-sriov-vfio-attach [noiommu] (3.1s)".
lab_case_line() {
  local c=$1 why=$2 share=$LAB_OUT/share v secs rest log n=$1
  [ "${LAB_VARIANT:-viommu}" = viommu ] || n="$1 [$LAB_VARIANT]"
  log=$share/logs/$c.log
  if [ ! -f "$share/results/$c" ]; then
    echo "FAIL $n: no result ($why)"
    return 1
  fi
  read -r v secs rest < "$share/results/$c" || true
  case $v in
    pass) echo "ok   $n (${secs}s)"; return 0 ;;
    timeout) echo "FAIL $n: timed out after ${secs}s, killed (log: $log)" ;;
    fail)
      if [ "$rest" = reset ]; then
        log=$share/logs/$c.reset.log
        echo "FAIL $n: the lab could not be reset to its baseline before it (log: $log)"
      else
        echo "FAIL $n: ${rest:-failed} after ${secs}s (log: $log)"
      fi ;;
    *) echo "FAIL $n: unreadable verdict '$v $secs $rest'" ;;
  esac
  [ -f "$log" ] && tail -n 15 "$log" | sed 's/^/    | /'
  return 1
}

# lab_count CASE WHY: print the case's line and count it in LAB_PASSED / LAB_FAILED.
lab_count() {
  if lab_case_line "$1" "$2"; then LAB_PASSED=$((LAB_PASSED + 1)); else LAB_FAILED=$((LAB_FAILED + 1)); fi
}

# lab_report WHY CASE...: a line per case from the verdicts in $LAB_OUT/share, then the closing line;
# non-zero when any case did not pass. ("lab.sh report" prints the last run again with it.)
lab_report() {
  local why=$1 c
  shift
  LAB_PASSED=0 LAB_FAILED=0
  for c in "$@"; do lab_count "$c" "$why"; done
  echo "lab: $LAB_PASSED passed, $LAB_FAILED failed"
  [ "$LAB_FAILED" = 0 ]
}

lab_console_has() { grep -q "^### lab: $1" "$LAB_OUT/console.log" 2>/dev/null; }

# lab_boot_watch SECONDS: boot the guest in the background and wait for it within the limits;
# prints the cases' lines as their verdicts appear. Sets LAB_WHY (why verdicts may be missing) and
# returns non-zero when the guest did not power off in time or never got ready. SECONDS: how long
# the guest may take from "ready" to power-off.
lab_boot_watch() {
  local budget=$1 qpid t0 deadline ready=0 rc=0
  : > "$LAB_OUT/console.log"
  "${LAB_QEMU[@]}" -serial "file:$LAB_OUT/console.log" -monitor none \
    < /dev/null > "$LAB_OUT/qemu.log" 2>&1 &
  qpid=$!
  # Interrupted or killed (CI job timeout): take the guest down too.
  trap 'kill "$qpid" 2>/dev/null' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  t0=$(now)
  deadline=$((t0 + LAB_BOOT_TIMEOUT))
  LAB_WHY="the guest stopped early: see $LAB_OUT/console.log"
  while kill -0 "$qpid" 2>/dev/null; do
    if [ "$ready" = 0 ] && lab_console_has ready; then
      ready=1
      LAB_READY_AFTER=$(($(now) - t0))
      deadline=$(($(now) + budget))
    fi
    lab_stream
    if [ "$(now)" -gt "$deadline" ]; then
      if [ "$ready" = 0 ]; then
        LAB_WHY="the guest was not ready within LAB_BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT}s"
      else
        LAB_WHY="the guest did not finish within ${budget}s of being ready"
      fi
      echo "lab: $LAB_WHY; stopping it" >&2
      kill "$qpid" 2>/dev/null || true
      rc=1
      break
    fi
    sleep 1
  done
  wait "$qpid" 2>/dev/null || { [ "$rc" = 1 ] || { rc=1; cat "$LAB_OUT/qemu.log" >&2; }; }
  trap - EXIT INT TERM
  LAB_BOOT_SECONDS=$(($(now) - t0))
  if [ "$rc" = 0 ] && ! lab_console_has "done"; then
    rc=1
    lab_console_has 'baseline failed' && LAB_WHY="the lab baseline failed: see $LAB_OUT/console.log"
  fi
  return "$rc"
}

# Print the lines of the cases whose verdicts arrived, in order (LAB_RUN_CASES from LAB_NEXT on).
lab_stream() {
  while [ "$LAB_NEXT" -lt "${#LAB_RUN_CASES[@]}" ] && [ -f "$LAB_OUT/share/results/${LAB_RUN_CASES[$LAB_NEXT]}" ]; do
    lab_count "${LAB_RUN_CASES[$LAB_NEXT]}" ""
    LAB_NEXT=$((LAB_NEXT + 1))
  done
}

# lab_run [CASE ...]: one boot of LAB_VARIANT running the cases (named, or every case) that run
# in it. With LAB_SKIP_EMPTY=1 a variant none of the named cases runs in is skipped (no boot);
# otherwise that is an error. Leaves "PASSED FAILED" in $LAB_OUT/summary.
lab_run() {
  local a c initrd
  LAB_RUN_CASES=()
  if [ $# = 0 ]; then
    for c in $(lab_all_cases); do
      lab_case_runs_in "$c" "$LAB_VARIANT" && LAB_RUN_CASES+=("$c")
    done
  else
    for a in "$@"; do
      c=$(lab_resolve_case "$a")
      if lab_case_runs_in "$c" "$LAB_VARIANT"; then
        LAB_RUN_CASES+=("$c")
      elif [ "${LAB_SKIP_EMPTY:-0}" = 1 ]; then
        lab_log "$c does not run in the $LAB_VARIANT variant ('# lab-variants: $(lab_case_variants "$c")')"
      else
        lab_die "$c does not run in the $LAB_VARIANT variant: its '# lab-variants:' line says '$(lab_case_variants "$c")'"
      fi
    done
  fi
  mkdir -p "$LAB_OUT"
  rm -f "$LAB_OUT/summary"
  if [ ${#LAB_RUN_CASES[@]} = 0 ]; then
    [ "${LAB_SKIP_EMPTY:-0}" = 1 ] || lab_die "no cases for the $LAB_VARIANT variant in $LAB_CASES_DIR"
    lab_log "no case to run in the $LAB_VARIANT variant: no boot"
    echo "0 0" > "$LAB_OUT/summary"
    return 0
  fi
  initrd=$(lab_image)
  lab_unlock_cache
  lab_share "${LAB_RUN_CASES[@]}"
  lab_qemu_args run "$initrd"
  lab_log "booting the $LAB_VARIANT guest for ${#LAB_RUN_CASES[@]} case(s); console: $LAB_OUT/console.log, case logs: $LAB_OUT/share/logs/"
  LAB_NEXT=0 LAB_PASSED=0 LAB_FAILED=0
  local guest=0 budget=0
  for c in "${LAB_RUN_CASES[@]}"; do
    budget=$((budget + $(lab_case_timeout "$c") + LAB_CASE_SLACK))
  done
  echo "== lab: $LAB_VARIANT guest: booting, then ${#LAB_RUN_CASES[@]} case(s), deadline ${budget}s (2 cores under load: all viommu cases 5-6.5 min, the noiommu ones 1-1.5 min)" >&2
  LAB_READY_AFTER=
  lab_boot_watch "$budget" || guest=1
  if [ "$guest" = 1 ] && [ -z "$LAB_READY_AFTER" ]; then
    # No case has started: the guest died or hung while booting. Under TCG on a loaded machine
    # the kernel has been seen to panic in its timer check; boot once more before failing the
    # run. A guest that fails its baseline fails the same way twice.
    cp "$LAB_OUT/console.log" "$LAB_OUT/console.first-boot.log"
    lab_log "the guest never got ready ($LAB_WHY); booting once more (first console: $LAB_OUT/console.first-boot.log)"
    guest=0
    lab_boot_watch "$budget" || guest=1
  fi
  lab_stream
  [ -n "${LAB_READY_AFTER:-}" ] && lab_log "$LAB_VARIANT guest ready after ${LAB_READY_AFTER}s, run over after ${LAB_BOOT_SECONDS}s"
  if [ "$guest" = 1 ]; then
    echo "lab: guest failure: $LAB_WHY; console tail:"
    tail -n 20 "$LAB_OUT/console.log" | sed 's/^/    | /'
  fi
  while [ "$LAB_NEXT" -lt "${#LAB_RUN_CASES[@]}" ]; do
    lab_count "${LAB_RUN_CASES[$LAB_NEXT]}" "$LAB_WHY"
    LAB_NEXT=$((LAB_NEXT + 1))
  done
  echo "$LAB_PASSED $LAB_FAILED" > "$LAB_OUT/summary"
  echo "lab: $LAB_PASSED passed, $LAB_FAILED failed"
  [ "$guest" = 0 ] && [ "$LAB_FAILED" = 0 ]
}

lab_shell() {
  local initrd
  mkdir -p "$LAB_OUT"
  initrd=$(lab_image)
  lab_unlock_cache
  lab_share
  lab_qemu_args shell "$initrd"
  lab_log "interactive guest; leave with 'exit' (powers off) or Ctrl-a x"
  "${LAB_QEMU[@]}" -serial mon:stdio
}

lab_report_last() {
  local conf=$LAB_OUT/share/lab.conf cases
  [ -f "$conf" ] || lab_die "no run in $LAB_OUT"
  if [ $# = 0 ]; then
    # shellcheck disable=SC1090
    cases=$(. "$conf" && echo "$LAB_CASES")
    read -r -a cases <<< "$cases"
    set -- "${cases[@]}"
  fi
  lab_report "the last run did not report it" "$@"
}
