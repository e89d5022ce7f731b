#!/bin/bash
# The emulated SR-IOV lab: a QEMU (TCG) guest with an igb SR-IOV NIC, VFs on igbvf and vfio-pci,
# and vdpa_sim_net devices, running the case files under cases/. See README.md.
#
#   lab.sh setup            install and build what the lab needs (idempotent, cached)
#   lab.sh run [CASE ...]   one guest boot running every case, or the named ones, in order
#   lab.sh shell            the same guest with an interactive shell on the console
#   lab.sh report [CASE ...] the verdicts of the last run again (every case of its lab.conf by default)
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

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    setup)
      lab_lock_cache
      lab_setup ;;
    run)
      lab_lock_out
      lab_lock_cache
      lab_setup
      lab_run "$@" ;;
    shell)
      lab_lock_out
      lab_lock_cache
      lab_setup
      lab_shell ;;
    report) lab_report_last "$@" ;;
    *) usage ;;
  esac
}

main "$@"
