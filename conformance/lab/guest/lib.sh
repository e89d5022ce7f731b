# shellcheck shell=sh
# Guest-side library for lab cases (busybox ash). A case starts with:  . "$LAB/guest/lib.sh"
#
# What a case can rely on when it starts (the runner resets to this before every case):
#   - one igb PF, up, in the initial netns: $(lab_pf), PCI address $(lab_pf_pci)
#   - $LAB_NUM_VFS VFs with default settings: VFs 0 and 1 on igbvf (netdevs in the initial netns),
#     VFs 2 and 3 on vfio-pci (/dev/vfio/<group>, one IOMMU group each; /dev/vfio/noiommu-<group>
#     in the noiommu variant)
#   - vdpa_sim_net devices vdpa0 on vhost_vdpa (/dev/vhost-vdpa-N) and vdpa1 on virtio_vdpa (a netdev)
#   - no network namespaces under /run/netns; hugepages mounted at /dev/hugepages
#   - $LAB/bin: the plugin binaries the host provided (CNI_PATH); $LAB/lib: their shared libraries
# Functions named lab_* describe or change the lab; ok/fail/check/check_fails report.

LAB=${LAB:-/lab}
LAB_NUM_VFS=4
LAB_VFIO_VFS="2 3"
export LAB
# The boot variant: viommu (a virtual IOMMU) or noiommu (none; vfio in no-IOMMU mode).
read -r _cmdline < /proc/cmdline
LAB_VARIANT=viommu
for _a in $_cmdline; do
  case $_a in lab.variant=*) LAB_VARIANT=${_a#lab.variant=} ;; esac
done
export LAB_VARIANT

# busybox ash runs its own applets before $PATH: the image's /bin/ip is iproute2 (VFs, netns, -j),
# its /bin/setpriv util-linux's (bounding sets).
ip() { /bin/ip "$@"; }
setpriv() { /bin/setpriv "$@"; }

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
# Helpers use shell builtins where they can: every process costs time under TCG.
# _lab_link LINK: the last component of a symlink's target, nothing when there is no link.
_lab_link() {
  [ -e "$1" ] || return 0
  _t=$(readlink "$1") && echo "${_t##*/}"
}
# _lab_names DIR: the entries of DIR, one per line (nothing when DIR is missing or empty).
_lab_names() {
  for _e in "$1"/*; do [ -e "$_e" ] && echo "${_e##*/}"; done
  return 0
}
lab_pf() { _lab_names "/sys/bus/pci/devices/$(lab_pf_pci)/net"; }
lab_vf_pci() { _lab_link "/sys/bus/pci/devices/$(lab_pf_pci)/virtfn$1"; }
# Driver of VF N (igbvf, vfio-pci, ...), empty when unbound.
lab_vf_driver() { _lab_link "/sys/bus/pci/devices/$(lab_vf_pci "$1")/driver"; }
# Netdev name of VF N in the initial netns, empty when it has none (vfio-pci, or moved away).
lab_vf_netdev() { _lab_names "/sys/bus/pci/devices/$(lab_vf_pci "$1")/net"; }
lab_vf_group() { _lab_link "/sys/bus/pci/devices/$(lab_vf_pci "$1")/iommu_group"; }
# The VFIO group device of VF N on vfio-pci: /dev/vfio/<group>, or /dev/vfio/noiommu-<group> when
# its group is a no-IOMMU one (sysfs names such groups vfio-noiommu).
lab_vf_vfio_dev() {
  _g=$(lab_vf_group "$1")
  [ -n "$_g" ] || return 1
  read -r _gn 2>/dev/null < "/sys/kernel/iommu_groups/$_g/name" || _gn=
  if [ "$_gn" = vfio-noiommu ]; then echo "/dev/vfio/noiommu-$_g"; else echo "/dev/vfio/$_g"; fi
}

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
    vfio-pci) lab_wait 10 test -c "$(lab_vf_vfio_dev "$1")" ;;
  esac
}

# --- vDPA --------------------------------------------------------------------------------------------
lab_vdpa_driver() { _lab_link "/sys/bus/vdpa/devices/$1/driver"; }
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
lab_vdpa_netdev() {
  for _v in /sys/bus/vdpa/devices/"$1"/virtio*/net; do _lab_names "$_v"; done
}

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

# --- Multus as the caller ---------------------------------------------------------------------------
# What Multus hands a delegate for a NAD whose pod got a device from the device plugin:
# lab_multus_conf NAD_CONF_FILE DEVICE_ID CONTAINERID IFNAME [MAC]
#   the NAD's config with deviceID and pciBusID injected at the top, and the runtimeConfig libcni
#   adds for the capabilities the config declares: deviceID, CNIDeviceInfoFile (Multus names it
#   /var/run/k8s.cni.cncf.io/devinfo/cni/<network>-<containerID>_<ifname>), mac (the pod's
#   network annotation asked for MAC).
lab_multus_conf() {
  jq -c --arg dev "$2" --arg info "$(lab_multus_devinfo "$1" "$3" "$4")" --arg mac "${5:-}" '
    (.capabilities // {}) as $cap
    | . + {deviceID: $dev, pciBusID: $dev}
    | .runtimeConfig = ((.runtimeConfig // {})
        + (if $cap.deviceID then {deviceID: $dev} else {} end)
        + (if $cap.CNIDeviceInfoFile then {CNIDeviceInfoFile: $info} else {} end)
        + (if $cap.mac and $mac != "" then {mac: $mac} else {} end))
    | if .runtimeConfig == {} then del(.runtimeConfig) else . end' "$1"
}
# lab_multus_devinfo NAD_CONF_FILE CONTAINERID IFNAME: the device-info path Multus picks.
lab_multus_devinfo() {
  echo "/var/run/k8s.cni.cncf.io/devinfo/cni/$(jq -r .name "$1")-$2_$3"
}
# lab_multus_args POD_NAMESPACE POD_NAME CONTAINERID POD_UID [MAC]: Multus's CNI_ARGS (MAC= when
# the pod's network annotation asks for one).
lab_multus_args() {
  _a="IgnoreUnknown=1;K8S_POD_NAMESPACE=$1;K8S_POD_NAME=$2;K8S_POD_INFRA_CONTAINER_ID=$3;K8S_POD_UID=$4"
  [ -n "${5:-}" ] && _a="$_a;MAC=$5"
  echo "$_a"
}

# --- DPDK ------------------------------------------------------------------------------------------------
# lab_testpmd_start NAME NETNS COMMAND...: COMMAND (dpdk-testpmd not interactive, or a wrapper
# running it) in the background in NETNS (the pod's): testpmd starts forwarding at once and stops,
# printing its statistics, at a line on its stdin. Output in /tmp/NAME.out. Stop it with
# lab_testpmd_stop NAME. Its stdout is a file, so block-buffered: read it once it has stopped.
lab_testpmd_start() {
  _n=$1 _ns=$2
  shift 2
  rm -f "/tmp/$_n.in" "/tmp/$_n.out"
  mkfifo "/tmp/$_n.in"
  ip netns exec "$_ns" "$@" < "/tmp/$_n.in" > "/tmp/$_n.out" 2>&1 &
  echo $! > "/tmp/$_n.pid"
  # Hold the FIFO open for writing, or testpmd's first read sees end-of-file and it stops at once.
  sleep 100000 > "/tmp/$_n.in" &
  echo $! > "/tmp/$_n.holder"
}
# lab_testpmd_stop NAME: a line to testpmd (it stops forwarding, prints its statistics, closes its
# ports and exits); killed after 30 s. Returns its exit status; its output is in /tmp/NAME.out.
# Call it from the shell that started testpmd (not in $(...) or check: it waits for its child).
lab_testpmd_stop() {
  _pid=$(cat "/tmp/$1.pid")
  echo > "/tmp/$1.in"
  kill "$(cat "/tmp/$1.holder")" 2>/dev/null
  ( sleep 30; kill -9 "$_pid" 2>/dev/null && echo "testpmd did not exit within 30 s: killed" >&2 ) &
  _watch=$!
  wait "$_pid"
  _rc=$?
  kill "$_watch" 2>/dev/null
  return "$_rc"
}
# lab_testpmd_stat NAME RX|TX: the port's packet count from the statistics testpmd printed at exit.
lab_testpmd_stat() {
  sed -n "/Forward statistics for port 0/,/------------------------------------/ s/.*$2-packets: *\([0-9]*\).*/\1/p" "/tmp/$1.out" | head -n 1
}

# --- the known state every case starts from --------------------------------------------------------------
_lab_step() { echo "$(cut -d' ' -f1 /proc/uptime) $*"; }  # timestamped progress for baseline/reset logs

# The baseline driver of VF N.
_lab_vf_baseline_driver() {
  case " $LAB_VFIO_VFS " in *" $1 "*) echo vfio-pci ;; *) echo igbvf ;; esac
}

_lab_vfs_bind() {
  _i=0
  while [ "$_i" -lt "$LAB_NUM_VFS" ]; do
    lab_vf_bind "$_i" "$(_lab_vf_baseline_driver "$_i")" || return 1
    _i=$((_i + 1))
  done
  _lab_step "VFs on their drivers"
}

_lab_vdpa_baseline() {
  for _d in /sys/bus/vdpa/devices/*; do
    [ -e "$_d" ] && { vdpa dev del "${_d##*/}" || return 1; }
  done
  vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 02:00:00:00:0a:00 || return 1
  vdpa dev add name vdpa1 mgmtdev vdpasim_net mac 02:00:00:00:0a:01 || return 1
  lab_vdpa_bind vdpa0 vhost_vdpa && lab_vdpa_bind vdpa1 virtio_vdpa || return 1
  lab_wait 10 test -n "$(lab_vdpa_netdev vdpa1)" || { echo "vdpa1 has no netdev" >&2; return 1; }
  _lab_step "vdpa0 on vhost_vdpa, vdpa1 on virtio_vdpa"
}

# What the baseline promises, as text: PF, VF drivers and netdevs, the PF's view of every VF
# (igbvf makes up a random MAC for itself, so only whether one is set counts there), vDPA devices,
# namespaces. Two states are the same baseline when this text is the same.
lab_state() {
  _pf=$(lab_pf)
  _pfdev=/sys/class/net/$_pf/device
  read -r _nvf < "$_pfdev/sriov_numvfs"
  read -r _mtu < "/sys/class/net/$_pf/mtu"
  read -r _op < "/sys/class/net/$_pf/operstate"
  echo "pf $_pf mtu $_mtu $_op numvfs $_nvf"
  _i=0 _igbvf=""
  while [ "$_i" -lt "$_nvf" ]; do
    _drv=$(_lab_link "$_pfdev/virtfn$_i/driver")
    _net=none
    for _x in "$_pfdev/virtfn$_i"/net/*; do [ -e "$_x" ] && _net=present; done
    echo "vf $_i driver $_drv netdev $_net"
    [ "$_drv" = igbvf ] && _igbvf="$_igbvf,$_i"
    _i=$((_i + 1))
  done
  ip -j -d link show "$_pf" | jq -c --argjson igbvf "[${_igbvf#,}]" \
    '.[0].vfinfo_list[] | if (.vf | IN($igbvf[])) then .address = "(igbvf)" else . end'
  for _d in /sys/bus/vdpa/devices/*; do
    [ -e "$_d" ] && echo "vdpa ${_d##*/} driver $(_lab_link "$_d/driver")"
  done
  vdpa -j dev config show
  echo
  # shellcheck disable=SC2046  # the names joined on one line
  echo "netns:" $(_lab_names /run/netns)
}

# From scratch: VFs destroyed and created, drivers bound, vDPA devices created. Records the state.
lab_baseline() {
  _pf=$(lab_pf)
  [ -n "$_pf" ] || { echo "no igb PF" >&2; return 1; }
  [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 64 ] || echo 64 > /proc/sys/vm/nr_hugepages
  ip link set "$_pf" mtu 1500 up || return 1
  _sriov=/sys/class/net/$_pf/device/sriov_numvfs
  _lab_step "PF $_pf up"
  [ "$(cat "$_sriov")" = 0 ] || echo 0 > "$_sriov" || return 1
  _lab_step "VFs removed"
  # New VFs stay unbound until each is bound to its baseline driver.
  echo 0 > "/sys/class/net/$_pf/device/sriov_drivers_autoprobe"
  echo "$LAB_NUM_VFS" > "$_sriov" || return 1
  _lab_step "$LAB_NUM_VFS VFs created"
  _lab_vfs_bind || return 1
  echo 1 > "/sys/class/net/$_pf/device/sriov_drivers_autoprobe"
  _lab_vdpa_baseline || return 1
  # The PF's carrier comes up a moment after "ip link set up" (and again after VF changes): record
  # the baseline once it is up, or a later reset compares against a transient "down".
  lab_wait 10 _lab_pf_oper_up || { echo "PF $_pf: carrier did not come up" >&2; return 1; }
  mkdir -p /run/lab && lab_state > /run/lab/baseline.state
}

_lab_pf_oper_up() { [ "$(cat "/sys/class/net/$(lab_pf)/operstate")" = up ]; }

# Is the lab in its recorded baseline state? (Leaves the current state in /run/lab/reset.state.)
_lab_at_baseline() {
  lab_state > /run/lab/reset.state && cmp -s /run/lab/baseline.state /run/lab/reset.state
}

# The quick way back: every VF setting cleared through the PF, every VF rebound (a fresh netdev for
# igbvf), vDPA devices recreated. Removing and creating VFs costs seconds (the PCI core waits 1 s).
_lab_reset_settings() {
  _pf=$(lab_pf)
  [ "$(cat "/sys/class/net/$_pf/device/sriov_numvfs")" = "$LAB_NUM_VFS" ] || return 1
  ip link set "$_pf" mtu 1500 up || return 1
  _i=0
  while [ "$_i" -lt "$LAB_NUM_VFS" ]; do
    ip link set "$_pf" vf "$_i" mac 00:00:00:00:00:00 vlan 0 spoofchk on trust off max_tx_rate 0 || return 1
    _i=$((_i + 1))
  done
  _lab_step "VF settings cleared"
  _lab_vfs_bind && _lab_vdpa_baseline
}

# Back to the baseline after a case: namespaces go (their VF netdevs return), then the quick way; if
# that does not give the recorded baseline state, the VFs are destroyed and created again.
lab_reset() {
  for _n in /run/netns/*; do
    [ -e "$_n" ] && ip netns del "${_n##*/}"
  done
  _lab_step "namespaces deleted"
  if [ -f /run/lab/baseline.state ] && _lab_reset_settings; then
    # Some of the state settles asynchronously (the PF's carrier after VF changes, a VF netdev
    # leaving a deleted namespace): give it a few seconds before recreating everything.
    if lab_wait 5 _lab_at_baseline; then
      _lab_step "baseline state restored"
      return 0
    fi
    echo "differences from the baseline after clearing settings:"
    diff /run/lab/baseline.state /run/lab/reset.state
  fi
  _lab_step "recreating the VFs"
  lab_baseline
}
