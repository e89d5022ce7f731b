# OVS-DPDK for tests: sourced by e2e.sh, bench.sh and testdata/ovsdb/record.sh.
#   ovs_install           install the Debian packages when missing
#   ovs_start DIR         ovsdb-server + ovs-vswitchd-dpdk (no hugepages) with everything under DIR
#   ovs_stop              stop both, delete the LOCAL taps of bridges they created, remove DPDK state
# DIR must be short: vhost-user socket paths under it must stay below 108 bytes.
# After ovs_start: OVS_DIR, OVS_DB (db socket path), VSCTL (ovs-vsctl command for this instance).

OVS_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
OVS_PKGS=(openvswitch-switch-dpdk dpdk-dev librte-net-virtio23 librte-mempool-ring23 librte-bus-vdev23)

ovs_install() {
  local p missing=()
  for p in "${OVS_PKGS[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "ovs: installing ${missing[*]}" >&2
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

ovs_start() {
  OVS_DIR=$1
  mkdir -p "$OVS_DIR"
  export OVS_RUNDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR
  OVS_DB=$OVS_DIR/db.sock
  OVS_PREFIX=ovs$$                                    # DPDK --file-prefix, unique per run
  VSCTL="ovs-vsctl --db=unix:$OVS_DB --timeout=30"
  local log=$OVS_DIR/start.log
  ovsdb-tool create "$OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ovsdb-server "$OVS_DIR/conf.db" --remote="punix:$OVS_DB" \
    --remote=db:Open_vSwitch,Open_vSwitch,manager_options \
    --pidfile="$OVS_DIR/ovsdb-server.pid" --unixctl="$OVS_DIR/ovsdb-server.ctl" \
    --log-file="$OVS_DIR/ovsdb-server.log" -vconsole:off --detach >>"$log" 2>&1 \
    || { cat "$log" >&2; return 1; }
  $VSCTL --no-wait init
  # No hugepages: memfd-backed memory that vhost-user can share; small per-port mempools.
  $VSCTL --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-lcore-mask=0x1 \
    other_config:pmd-cpu-mask=0x2 other_config:per-port-memory=true \
    "other_config:dpdk-extra=--no-pci --no-huge --legacy-mem -m 256 --file-prefix=$OVS_PREFIX"
  [ "${OVS_NO_VSWITCHD:-0}" = 1 ] && return 0
  "$OVS_VSWITCHD" "unix:$OVS_DB" --pidfile="$OVS_DIR/ovs-vswitchd.pid" \
    --unixctl="$OVS_DIR/ovs-vswitchd.ctl" --log-file="$OVS_DIR/ovs-vswitchd.log" -vconsole:off --detach >>"$log" 2>&1 \
    || { cat "$log" >&2; return 1; }
  if [ "$($VSCTL get Open_vSwitch . dpdk_initialized)" != true ]; then
    echo "ovs: DPDK init failed" >&2; tail -20 "$OVS_DIR/ovs-vswitchd.log" >&2; return 1
  fi
}

ovs_stop() {
  [ -n "${OVS_DIR:-}" ] || return 0
  local bridges p f i
  bridges=$($VSCTL --timeout=5 list-br 2>/dev/null || true)
  for f in ovs-vswitchd ovsdb-server; do
    [ -f "$OVS_DIR/$f.pid" ] || continue
    p=$(cat "$OVS_DIR/$f.pid")
    kill "$p" 2>/dev/null || continue
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  # The netdev datapath's LOCAL tap outlives ovs-vswitchd.
  for b in $bridges; do ip link del "$b" 2>/dev/null || true; done
  rm -rf "/var/run/dpdk/$OVS_PREFIX"
  OVS_DIR=
}
