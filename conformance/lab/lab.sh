#!/bin/bash
# The emulated SR-IOV lab: a QEMU (TCG) guest with an igb SR-IOV NIC, VFs on igbvf and vfio-pci,
# and vdpa_sim_net devices, running the case files under cases/. See README.md.
#
#   lab.sh setup            install and build what the lab needs (idempotent, cached)
#   lab.sh run [CASE ...]   one guest boot running every case, or the named ones, in order
#   lab.sh shell            the same guest with an interactive shell on the console
#   lab.sh report [CASE ...] the verdicts of the last run again (every case of its lab.conf by default)
#
# LAB_VARIANT picks the boot: viommu (default; a virtual IOMMU), noiommu (none: vfio in no-IOMMU
# mode), or all (one boot of each, in turn). A case runs in the variants its "# lab-variants:"
# line names (viommu when it has none).
set -euo pipefail
# Command substitutions keep errexit, and the steps below are called one by one, never in && lists:
# bash ignores errexit inside a function called from a && list.
shopt -s inherit_errexit

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_DIR/../.." && pwd)
LAB_CACHE=${LAB_CACHE:-$LAB_REPO/.lab-cache}
LAB_OUT=${LAB_OUT:-$LAB_REPO/target/lab}
LAB_CASES_DIR=${LAB_CASES_DIR:-$LAB_DIR/cases}
LAB_BIN_DIR=${LAB_BIN_DIR:-$LAB_REPO/target/release}
LAB_VARIANT=${LAB_VARIANT:-viommu}
# viommu keeps LAB_OUT; another variant writes to LAB_OUT-<variant> (target/lab-noiommu).
LAB_OUT_BASE=$LAB_OUT

# shellcheck source=host/setup.sh
. "$LAB_DIR/host/setup.sh"
# shellcheck source=host/image.sh
. "$LAB_DIR/host/image.sh"
# shellcheck source=host/share.sh
. "$LAB_DIR/host/share.sh"
# shellcheck source=host/boot.sh
. "$LAB_DIR/host/boot.sh"

usage() {
  sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# Concurrent runs: setup and the image build are serialised on the cache; runs sharing an output
# directory (and so a 9p share) wait for each other.
lab_lock_cache() {
  mkdir -p "$LAB_CACHE"
  exec 8> "$LAB_CACHE/.lock"
  flock 8
}
lab_unlock_cache() { flock -u 8; }
lab_lock_out() {
  mkdir -p "$LAB_OUT"
  exec 9> "$LAB_OUT/.lock"
  flock -n 9 || { lab_log "waiting for the other lab run using $LAB_OUT"; flock 9; }
}

lab_variants() {
  case $LAB_VARIANT in
    all) echo viommu noiommu ;;
    viommu | noiommu) echo "$LAB_VARIANT" ;;
    *) lab_die "unknown LAB_VARIANT '$LAB_VARIANT' (viommu, noiommu or all)" ;;
  esac
}

lab_use_variant() {
  LAB_VARIANT=$1
  LAB_OUT=$LAB_OUT_BASE
  [ "$1" = viommu ] || LAB_OUT=$LAB_OUT_BASE-$1
}

# LAB_VARIANT=all: one run per variant, each its own lab.sh process (errexit holds there, as it
# would not in a subshell whose status is tested), then a closing line over all of them.
lab_run_all() {
  local v rc=0 p f passed=0 failed=0 n=0
  for v in viommu noiommu; do
    n=$((n + 1))
    echo "== lab: boot $n of 2: $v ($([ "$v" = viommu ] && echo 'a virtual IOMMU' || echo 'no IOMMU: vfio in no-IOMMU mode'))" >&2
    lab_use_variant "$v"
    rm -f "$LAB_OUT/summary"
    LAB_VARIANT=$v LAB_OUT=$LAB_OUT_BASE LAB_SKIP_EMPTY=1 bash "${BASH_SOURCE[0]}" run "$@" || rc=1
    if read -r p f < "$LAB_OUT/summary" 2>/dev/null; then
      passed=$((passed + p)) failed=$((failed + f))
    else
      rc=1
    fi
  done
  echo "lab: $passed passed, $failed failed"
  return "$rc"
}

main() {
  local cmd=${1:-} v
  [ $# -gt 0 ] && shift
  lab_variants > /dev/null
  case $cmd in
    setup)
      lab_lock_cache
      lab_setup ;;
    run)
      if [ "$LAB_VARIANT" = all ]; then
        lab_run_all "$@"
      else
        lab_use_variant "$(lab_variants)"
        lab_lock_out
        lab_lock_cache
        lab_setup
        lab_run "$@"
      fi ;;
    shell)
      [ "$LAB_VARIANT" != all ] || lab_die "lab.sh shell boots one variant: LAB_VARIANT=viommu or noiommu"
      lab_use_variant "$(lab_variants)"
      lab_lock_out
      lab_lock_cache
      lab_setup
      lab_shell ;;
    report)
      for v in $(lab_variants); do
        lab_use_variant "$v"
        lab_report_last "$@"
      done ;;
    *) usage ;;
  esac
}

main "$@"
