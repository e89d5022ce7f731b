# shellcheck shell=sh
# Guest-side library for lab cases (busybox ash). A case starts with:  . "$LAB/guest/lib.sh"
#
# What a case can rely on when it starts (the runner resets to this before every case):
#   - one igb PF, up, in the initial netns: $(lab_pf), PCI address $(lab_pf_pci)
#   - $LAB_NUM_VFS VFs with default settings: VFs 0 and 1 on igbvf (netdevs in the initial netns),
#     VFs 2 and 3 on vfio-pci (/dev/vfio/<group>, one IOMMU group each)
#   - vdpa_sim_net devices vdpa0 on vhost_vdpa (/dev/vhost-vdpa-N) and vdpa1 on virtio_vdpa (a netdev)
#   - no network namespaces under /run/netns; hugepages mounted at /dev/hugepages
#   - $LAB/bin: the plugin binaries the host provided (CNI_PATH); $LAB/lib: their shared libraries
# Functions named lab_* describe or change the lab; ok/fail/check/check_fails report.

LAB=${LAB:-/lab}
LAB_NUM_VFS=4
LAB_VFIO_VFS="2 3"
export LAB

# busybox ash runs its own 'ip' applet before $PATH; the image's /bin/ip is iproute2 (VFs, netns, -j).
ip() { /bin/ip "$@"; }

# --- reporting: one line per check in the case log; fail ends the case (exit 1) ---------------------
ok() { echo "ok - $*"; }
fail() { echo "not ok - $*"; exit 1; }
# check DESCRIPTION CMD...: CMD must succeed.
check() {
  _d=$1; shift
  if _out=$("$@" 2>&1); then ok "$_d"; else echo "$_out"; fail "$_d (failed: $*)"; fi
}
# check_fails DESCRIPTION TEXT CMD...: CMD must fail and print TEXT (e.g. an errno's message).
check_fails() {
  _d=$1 _t=$2; shift 2
  if _out=$("$@" 2>&1); then echo "$_out"; fail "$_d (succeeded, expected a failure: $*)"; fi
  case $_out in
    *"$_t"*) ok "$_d" ;;
    *) echo "$_out"; fail "$_d (failed without '$_t': $*)" ;;
  esac
}
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (expected '$2', got '$3')"; fi
}

# lab_wait SECONDS CMD...: poll CMD every 0.2 s until it succeeds; fails after SECONDS.
lab_wait() {
  _n=$(($1 * 5)); shift
  while [ "$_n" -gt 0 ]; do
    "$@" 2>/dev/null && return 0
    sleep 0.2
    _n=$((_n - 1))
  done
  return 1
}

# --- the PF and its VFs --------------------------------------------------------------------------------
lab_pf_pci() {
  for _p in /sys/bus/pci/drivers/igb/[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:*; do
    [ -e "$_p" ] && echo "${_p##*/}" && return 0
  done
  return 1
}
lab_pf() { ls "/sys/bus/pci/devices/$(lab_pf_pci)/net"; }
lab_vf_pci() { basename "$(readlink "/sys/bus/pci/devices/$(lab_pf_pci)/virtfn$1")"; }
# Driver of VF N (igbvf, vfio-pci, ...), empty when unbound.
lab_vf_driver() {
  _l=/sys/bus/pci/devices/$(lab_vf_pci "$1")/driver
  if [ -e "$_l" ]; then basename "$(readlink "$_l")"; fi
}
# Netdev name of VF N in the initial netns, empty when it has none (vfio-pci, or moved away).
lab_vf_netdev() { ls "/sys/bus/pci/devices/$(lab_vf_pci "$1")/net" 2>/dev/null; }
lab_vf_group() { basename "$(readlink "/sys/bus/pci/devices/$(lab_vf_pci "$1")/iommu_group")"; }

# lab_vf_bind N DRIVER: (re)bind VF N to igbvf or vfio-pci and wait for its netdev or /dev/vfio node.
# Rebinding to igbvf is also how a VF picks up an admin MAC set through the PF.
lab_vf_bind() {
  _pci=$(lab_vf_pci "$1")
  _dev=/sys/bus/pci/devices/$_pci
  echo "$2" > "$_dev/driver_override"
  if [ -e "$_dev/driver" ]; then echo "$_pci" > "$_dev/driver/unbind"; fi
  echo "$_pci" > /sys/bus/pci/drivers_probe
  echo > "$_dev/driver_override"   # bound now; leave no override behind, as on a real host
  [ "$(lab_vf_driver "$1")" = "$2" ] || { echo "VF $1 ($_pci) did not bind to $2" >&2; return 1; }
  case $2 in
    igbvf) lab_wait 10 test -n "$(lab_vf_netdev "$1")" ;;
    vfio-pci) lab_wait 10 test -c "/dev/vfio/$(lab_vf_group "$1")" ;;
  esac
}

# --- vDPA --------------------------------------------------------------------------------------------
lab_vdpa_driver() {
  _l=/sys/bus/vdpa/devices/$1/driver
  if [ -e "$_l" ]; then basename "$(readlink "$_l")"; fi
}
# lab_vdpa_bind DEV vhost_vdpa|virtio_vdpa
lab_vdpa_bind() {
  _cur=$(lab_vdpa_driver "$1")
  [ "$_cur" = "$2" ] && return 0
  if [ -n "$_cur" ]; then echo "$1" > "/sys/bus/vdpa/drivers/$_cur/unbind"; fi
  echo "$1" > "/sys/bus/vdpa/drivers/$2/bind"
}
# /dev/vhost-vdpa-N of a device bound to vhost_vdpa.
lab_vdpa_chardev() {
  for _c in /sys/bus/vdpa/devices/"$1"/vhost-vdpa-*; do [ -e "$_c" ] && echo "/dev/${_c##*/}"; done
}
# Netdev of a device bound to virtio_vdpa.
lab_vdpa_netdev() { ls /sys/bus/vdpa/devices/"$1"/virtio*/net 2>/dev/null; }

# --- namespaces and plugins ----------------------------------------------------------------------------
# lab_netns_new NAME: /run/netns/NAME with lo up.
lab_netns_new() { ip netns add "$1" && ip -n "$1" link set lo up; }

# cni PLUGIN COMMAND CONTAINERID NETNS IFNAME [CNI_ARGS] < netconf
# Runs $LAB/bin/PLUGIN the way a runtime does: CNI_* environment, netconf on stdin, result on stdout,
# exit status returned. NETNS is a name under /run/netns or a path; empty values leave a variable unset.
cni() {
  _p=$1 _cmd=$2 _cid=$3 _ns=$4 _if=$5 _args=${6:-}
  case $_ns in "" | /*) ;; *) _ns=/run/netns/$_ns ;; esac
  set -- "CNI_COMMAND=$_cmd" "CNI_PATH=$LAB/bin" "LD_LIBRARY_PATH=$LAB/lib"
  [ -n "$_cid" ] && set -- "$@" "CNI_CONTAINERID=$_cid"
  [ -n "$_ns" ] && set -- "$@" "CNI_NETNS=$_ns"
  [ -n "$_if" ] && set -- "$@" "CNI_IFNAME=$_if"
  [ -n "$_args" ] && set -- "$@" "CNI_ARGS=$_args"
  env -u CNI_CONTAINERID -u CNI_NETNS -u CNI_IFNAME -u CNI_ARGS "$@" "$LAB/bin/$_p"
}

# --- the known state every case starts from --------------------------------------------------------------
lab_baseline() {
  _pf=$(lab_pf)
  [ -n "$_pf" ] || { echo "no igb PF" >&2; return 1; }
  [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 64 ] || echo 64 > /proc/sys/vm/nr_hugepages
  ip link set "$_pf" up || return 1
  _sriov=/sys/class/net/$_pf/device/sriov_numvfs
  [ "$(cat "$_sriov")" = 0 ] || echo 0 > "$_sriov" || return 1
  # New VFs stay unbound until each is bound to its baseline driver below.
  echo 0 > "/sys/class/net/$_pf/device/sriov_drivers_autoprobe"
  echo "$LAB_NUM_VFS" > "$_sriov" || return 1
  _i=0
  while [ "$_i" -lt "$LAB_NUM_VFS" ]; do
    case " $LAB_VFIO_VFS " in
      *" $_i "*) lab_vf_bind "$_i" vfio-pci || return 1 ;;
      *) lab_vf_bind "$_i" igbvf || return 1 ;;
    esac
    _i=$((_i + 1))
  done
  echo 1 > "/sys/class/net/$_pf/device/sriov_drivers_autoprobe"
  for _d in /sys/bus/vdpa/devices/*; do
    [ -e "$_d" ] && { vdpa dev del "${_d##*/}" || return 1; }
  done
  vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 02:00:00:00:0a:00 || return 1
  vdpa dev add name vdpa1 mgmtdev vdpasim_net mac 02:00:00:00:0a:01 || return 1
  lab_vdpa_bind vdpa0 vhost_vdpa && lab_vdpa_bind vdpa1 virtio_vdpa || return 1
  lab_wait 10 test -n "$(lab_vdpa_netdev vdpa1)" || { echo "vdpa1 has no netdev" >&2; return 1; }
}

# Undo what a case may have changed, then the baseline: namespaces go (their VF netdevs return),
# VFs are destroyed and created again (default settings, default names), vDPA devices recreated.
lab_reset() {
  for _n in /run/netns/*; do
    [ -e "$_n" ] && ip netns del "${_n##*/}"
  done
  lab_baseline
}
