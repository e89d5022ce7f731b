#!/bin/bash
# The 9p share the guest mounts at /lab: $LAB_OUT/share, rebuilt before every boot.
#   guest/    start.sh, run-cases.sh, lib.sh (the guest side of the harness)
#   cases/    a copy of $LAB_CASES_DIR (the NN-name.sh cases and whatever files they use)
#   bin/      our release binaries (CNI_PATH in the guest); lib/ the shared libraries they link
#   lab.conf  the cases to run and the per-case timeout
#   logs/     written by the guest: baseline.log, CASE.log (and CASE.reset.log)
#   results/  written by the guest: one verdict file per case

LAB_PLUGINS=(sriov vdpa userspace host-local nfvctl)

# Case names (NN-name) of the case files, in order.
lab_all_cases() {
  local f
  for f in "$LAB_CASES_DIR"/[0-9][0-9]-*.sh; do
    [ -f "$f" ] && basename "$f" .sh
  done
}

# The boot variants a case runs in: its "# lab-variants: NAME ..." line, else viommu only.
lab_case_variants() {
  local v
  v=$(sed -n 's/^# lab-variants: *//p' "$LAB_CASES_DIR/$1.sh" | head -n 1)
  echo "${v:-viommu}"
}

# lab_case_runs_in CASE VARIANT
lab_case_runs_in() {
  case " $(lab_case_variants "$1") " in *" $2 "*) return 0 ;; *) return 1 ;; esac
}

# lab_resolve_case ARG: the case named ARG, ARG.sh, or the only one starting with ARG ("03").
lab_resolve_case() {
  local a=${1%.sh} hits=()
  a=${a##*/}
  if [ -f "$LAB_CASES_DIR/$a.sh" ]; then echo "$a"; return 0; fi
  mapfile -t hits < <(lab_all_cases | grep -F -- "$a" | grep -E "^$a" || true)
  [ ${#hits[@]} = 1 ] || lab_die "no single case matches '$1' in $LAB_CASES_DIR (cases: $(lab_all_cases | tr '\n' ' '))"
  echo "${hits[0]}"
}

lab_share() {  # lab_share CASE...: the share for a run of those cases
  local share=$LAB_OUT/share b lib have=()
  rm -rf "$share"
  mkdir -p "$share"/{guest,cases,bin,lib,logs,results}
  cp "$LAB_DIR"/guest/{start.sh,run-cases.sh,lib.sh} "$share/guest/"
  # The whole case directory: cases may keep netconfs and other inputs next to them.
  cp -r "$LAB_CASES_DIR"/. "$share/cases/"
  for b in "${LAB_PLUGINS[@]}"; do
    [ -x "$LAB_BIN_DIR/$b" ] || continue
    cp "$LAB_BIN_DIR/$b" "$share/bin/"
    have+=("$b")
    # Dynamically linked (glibc, libgcc_s): bring the host's copies, the guest uses LD_LIBRARY_PATH.
    for lib in $(ldd "$LAB_BIN_DIR/$b" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' || true); do
      cp -n "$lib" "$share/lib/" 2>/dev/null || true
    done
  done
  {
    echo "export LAB_CASES=\"$*\""
    echo "export LAB_CASE_TIMEOUT=$LAB_CASE_TIMEOUT"
  } > "$share/lab.conf"
  lab_log "binaries for the guest from $LAB_BIN_DIR: ${have[*]:-none}"
}
