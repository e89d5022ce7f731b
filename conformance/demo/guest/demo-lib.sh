# shellcheck shell=sh
# The demo's steps inside the lab guest (busybox ash), on top of the lab's case library. Each step
# prints marker lines the host renders (conformance/demo/lab.sh, demo_render):
#   @@demo step TITLE | @@demo say TEXT | @@demo pause ID | @@demo cmd COMMAND | @@demo result ok|FAILED|skipped SECONDS
# and everything else a step prints is output under its command. With DEMO_PAUSE=1 the step waits,
# after its heading, for the host to create $LAB/demo/go.ID (the host does at Enter).
# shellcheck disable=SC1091
. "$LAB/guest/lib.sh"
[ -f "$LAB/cases/demo.conf" ] && . "$LAB/cases/demo.conf"
DEMO_PAUSE=${DEMO_PAUSE:-0}
DEMO_PAUSE_LIMIT=${DEMO_PAUSE_LIMIT:-1800}
DEMO_PART=${DEMO_PART:-lab}
_demo_no=0
_demo_broken=0
_demo_failed=0

uptime_s() { cut -d' ' -f1 /proc/uptime; }

say() { echo "@@demo say $*"; }
# show CMD...: the command line, then its output; returns its status.
show() {
  if [ "$1" = sh ] && [ "$2" = -c ]; then echo "@@demo cmd $3"; else echo "@@demo cmd $*"; fi
  "$@" 2>&1
}

_demo_pause() {
  [ "$DEMO_PAUSE" = 1 ] || return 0
  echo "@@demo pause $DEMO_PART.$_demo_no"
  _n=$((DEMO_PAUSE_LIMIT * 5))
  while [ ! -e "$LAB/demo/go.$DEMO_PART.$_demo_no" ]; do
    _n=$((_n - 1))
    [ "$_n" -gt 0 ] || { echo "no Enter within ${DEMO_PAUSE_LIMIT}s"; return 1; }
    sleep 0.2
  done
}

# step TITLE TEXT FUNCTION: run FUNCTION as a titled step. After a failure the later steps of the
# script are skipped, but those run with step_always (the teardown) still run.
step() {
  _demo_no=$((_demo_no + 1))
  echo "@@demo step $1"
  [ -z "$2" ] || echo "@@demo say $2"
  if [ "$_demo_broken" = 1 ]; then
    echo "@@demo result skipped 0"
    return 0
  fi
  _demo_pause || { echo "@@demo result FAILED 0"; _demo_broken=1 _demo_failed=1; return 0; }
  _t0=$(uptime_s)   # after the pause: the table shows the step's own time, as on the host
  if "$3"; then
    echo "@@demo result ok $(awk -v t="$_t0" '{ printf "%.1f", $1 - t }' /proc/uptime)"
  else
    echo "@@demo result FAILED $(awk -v t="$_t0" '{ printf "%.1f", $1 - t }' /proc/uptime)"
    _demo_broken=1 _demo_failed=1
  fi
}
step_always() {
  _b=$_demo_broken
  _demo_broken=0
  step "$@"
  [ "$_b" = 1 ] && _demo_broken=1
  return 0
}
# demo_exit: the script's status: non-zero when a step failed.
demo_exit() { exit "$_demo_failed"; }

# expect TEXT CMD...: a check inside a step, one line; the step fails when CMD does.
expect() {
  _d=$1; shift
  if _o=$("$@" 2>&1); then echo "ok: $_d"; else echo "$_o"; echo "NOT OK: $_d"; return 1; fi
}

# --- the node, as the demo compares it before and after -------------------------------------------
# The lab's own state (PF, VFs as the PF sees them, drivers, vDPA devices, namespaces), the host's
# links (name, MAC, MTU; by name: a VF netdev coming home gets a new ifindex), and every file under
# the CNI state and device-info trees but the plugins' bookkeeping that stays on purpose (node_kept).
DEMO_KEPT='/last_reserved_ip\.[0-9]+$|/lock$|/\.nfv-hostlocal/|/nfv-(sriov|vdpa)/[^/]+\.lock$'
node_state() {
  lab_state
  ip -j link show | jq -r '.[] | "link \(.ifname) \(.address) mtu \(.mtu)"' | sort
  find /var/lib/cni /run/k8s.cni.cncf.io -type f 2>/dev/null | grep -v -E "$DEMO_KEPT" | sort
}
# The files node_state leaves out: host-local's last_reserved_ip.* and lock (as the reference
# plugin keeps them) and its owner index under .nfv-hostlocal/ (docs/design.md, host-local), the
# per-device lock files of sriov and vdpa (flock targets are never removed: removing one races
# with the next taker).
node_kept() {
  find /var/lib/cni /run/k8s.cni.cncf.io -type f 2>/dev/null | grep -E "$DEMO_KEPT" | sort
}

# --- Multus as the caller ---------------------------------------------------------------------------
# The host built each pod's call with the Multus replay tier's rules (conformance/demo/multus_call.py)
# into $LAB/cases/multus/POD.{stdin,env}; the device plugin's allocation (the VF's PCI address,
# which only the guest knows) replaces @DEVICE_ID@ here.
# multus_stdin POD DEVICE_ID: the ADD stdin.
multus_stdin() { sed "s|@DEVICE_ID@|$2|g" "$LAB/cases/multus/$1.stdin"; }
# multus_env POD VERB: the CNI_* variables, one per line.
multus_env() {
  sed -e "s|@NETNS@|/run/netns/$1|" -e "s|@CNI_PATH@|$LAB/bin|" -e "s|^CNI_COMMAND=.*|CNI_COMMAND=$2|" \
    "$LAB/cases/multus/$1.env"
}
# multus_call VERB POD DEVICE_ID: the plugin the config names, called as Multus calls it; ADD's result
# is kept in /tmp/POD.result, and DEL gets it back as prevResult (libcni's cache). Prints stdout.
multus_call() {
  _pod=$2
  multus_stdin "$_pod" "$3" > "/tmp/$_pod.stdin"
  if [ "$1" = DEL ] && [ -s "/tmp/$_pod.result" ]; then
    jq -c --slurpfile r "/tmp/$_pod.result" '. + {prevResult: $r[0]}' "/tmp/$_pod.stdin" > "/tmp/$_pod.del.stdin"
    mv "/tmp/$_pod.del.stdin" "/tmp/$_pod.stdin"
  fi
  _type=$(jq -r .type "/tmp/$_pod.stdin")
  echo "@@demo cmd CNI_COMMAND=$1 (and the CNI_* variables above) $LAB/bin/$_type < /tmp/$_pod.stdin"
  # shellcheck disable=SC2046  # one argument per CNI_* line (no spaces in them)
  if env -i PATH="$PATH" LD_LIBRARY_PATH="$LAB/lib" $(multus_env "$_pod" "$1") "$LAB/bin/$_type" \
      < "/tmp/$_pod.stdin" > "/tmp/$_pod.out"; then
    [ "$1" = ADD ] && cp "/tmp/$_pod.out" "/tmp/$_pod.result"
    if [ -s "/tmp/$_pod.out" ]; then jq . "/tmp/$_pod.out"; fi
    return 0
  fi
  cat "/tmp/$_pod.out"
  return 1
}
