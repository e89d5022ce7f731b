#!/bin/bash
# End-to-end test of the userspace plugin with real OVS-DPDK and dpdk-testpmd (no hugepages).
#
#   bash conformance/ovs/e2e.sh          (root; installs its apt packages when missing)
#
# Starts its own ovsdb-server + ovs-vswitchd-dpdk in /run/openvswitch/nfv-e2e-<pid> (the plugin
# talks only to an ovsdb-server in OVS's run directory) with sharedDir /run/vhostuser/nfv-e2e-<pid>
# (an allowed place, on the same file system for server mode), attaches "pods" (a netns
# each, running dpdk-testpmd with virtio_user on the socket path the plugin returned), sends
# 128 packets A->B->A and checks the exact counts on both sides, then DEL and checks OVS holds
# no port of ours. Client and server mode, each through libcni (Debian's v1.1.2 driver in
# conformance/libcni, cniVersion 1.0.0: the socket path comes from the device-info file, since
# socketPath is a 1.1.0 field) and invoking the binary directly with cniVersion 1.1.0 (socket
# path from the result's socketPath); pods the Intel userspace-cni plugin attached (its ports and
# files made as its source makes them) deleted by ours; pods with a shared-dir emptyDir volume
# (made under /var/lib/kubelet/pods, removed after) whose testpmd finds its socket there; then
# the error paths, hostile configs and a storm of parallel ADDs and DELs on one bridge against
# the real daemons.
# Binaries: $NFV_CNI_BIN_DIR (default target/release; built when missing).
# Prints "ovs-e2e: N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/ovs.sh"

PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
t0() { date +%s.%N; }
since() { printf '%.2f' "$(echo "$(date +%s.%N) - $1" | bc)"; }

[ "$(id -u)" = 0 ] || { echo "ovs-e2e: must run as root"; exit 1; }

# --- set-up -----------------------------------------------------------------------------------
T=$(t0)
ovs_install
need=()
command -v bc >/dev/null || need+=(bc)
command -v python3 >/dev/null || need+=(python3)
command -v ip >/dev/null || need+=(iproute2)
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/containernetworking/cni ] || need+=(golang-github-appc-cni-dev)
# DPDK's memif driver, for OVS's memif ports and the memif pods' testpmd (section 7)
dpkg-query -W -f='${Status}\n' librte-net-memif23 2>/dev/null | grep -q 'install ok installed' || need+=(librte-net-memif23)
if [ ${#need[@]} -gt 0 ]; then
  echo "ovs-e2e: installing ${need[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
BIN_DIR=${NFV_CNI_BIN_DIR:-$ROOT/target/release}
if [ ! -x "$BIN_DIR/userspace" ] || [ ! -x "$BIN_DIR/host-local" ]; then
  (cd "$ROOT" && cargo build --release -p userspace -p host-local) || { echo "ovs-e2e: build failed"; exit 1; }
fi

D=$(mktemp -d /tmp/ovse2e.XXXXXX)          # scratch: binaries, configs, logs, IPAM leases
# The plugin's places (docs/userspace.md): OVS in its run directory, the pods' socket
# directories in /run/vhostuser (one file system: server mode moves OVS's socket), device-info
# files in Multus's tree. Short: socket paths stay far below 108 bytes.
OVSD=/run/openvswitch/nfv-e2e-$$
OVSD2=/run/openvswitch/nfv-e2e2-$$
S=/run/vhostuser/nfv-e2e-$$
DI=/run/k8s.cni.cncf.io/devinfo/cni
mkdir -p "$S" "$DI"
NS=()
TP_PIDS=()
USC_DATA=/var/lib/cni/usrspcni/data       # userspace-cni's local-<cid12>-<ifname>.json
POD_UIDS=()                              # pods whose kubelet volume directories the test made
KUBELET_NEW=0; [ -d /var/lib/kubelet ] || KUBELET_NEW=1
USRSPCNI_NEW=0; [ -d /var/lib/cni/usrspcni ] || USRSPCNI_NEW=1
LINKS_NEW=0; [ -d /run/nfv-cni/vhost-user ] || LINKS_NEW=1   # the plugin's links to sockets in pod volumes
cleanup() {
  set +e
  for p in "${TP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  ovs_stop
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "/var/run/dpdk/pa$$" "/var/run/dpdk/pb$$"
  rm -f "$DI"/nfv-e2e-$$-*.json
  rm -f "$USC_DATA"/local-cusc*-net1.json; rmdir "$USC_DATA" 2>/dev/null
  for u in "${POD_UIDS[@]}"; do rm -rf "/var/lib/kubelet/pods/$u"; done
  [ "$KUBELET_NEW" = 1 ] && rmdir /var/lib/kubelet/pods /var/lib/kubelet 2>/dev/null
  [ "$USRSPCNI_NEW" = 1 ] && rmdir /var/lib/cni/usrspcni 2>/dev/null
  [ "$LINKS_NEW" = 1 ] && rmdir /run/nfv-cni/vhost-user /run/nfv-cni 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $D $OVSD $S"; else rm -rf "$D" "$OVSD" "$OVSD2" "$S"; fi
}
trap cleanup EXIT

mkdir -p "$D/bin" "$D/cache"
ln -s "$BIN_DIR/userspace" "$D/bin/userspace"
# IPAM: our host-local (the reference one in Debian stops at cniVersion 1.0.0).
ln -s "$BIN_DIR/host-local" "$D/bin/host-local"; IPAM_FROM="nfv-cni host-local"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$D/gocache go build -o "$D/cnidriver" "$ROOT/conformance/libcni/main.go" \
  || { echo "ovs-e2e: cannot build the libcni driver"; exit 1; }
ovs_start "$OVSD" || { echo "ovs-e2e: OVS-DPDK did not start"; exit 1; }
echo "set-up: $(since "$T")s ($($VSCTL get Open_vSwitch . dpdk_version), IPAM: $IPAM_FROM)"

# --- helpers ----------------------------------------------------------------------------------
# conf VERSION MODE BRIDGE VLAN NAME [extra top-level JSON members]
conf() {
  local extra=${6:+,$6}
  cat <<EOF
{"cniVersion":"$1","name":"$5","type":"userspace",
 "ovsdbSocket":"$OVS_DB","sharedDir":"$S",
 "host":{"engine":"ovs-dpdk","iftype":"vhostuser","netType":"bridge",
         "vhost":{"mode":"$2"},"bridge":{"bridgeName":"$3","vlanId":$4}},
 "container":{"engine":"ovs-dpdk","iftype":"vhostuser","netType":"interface"},
 "ipam":{"type":"host-local","subnet":"10.77.0.0/24","dataDir":"$D/ipam"}$extra}
EOF
}

# cni VERB CONTAINERID IFNAME CONFFILE [NETNS]: the binary, directly; stdout in $D/out, rc returned
# (CNI_ARGS from the caller's $CNI_ARGS, e.g. K8S_POD_UID as Multus passes it)
cni() {
  CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=$3 CNI_NETNS=${5:-} CNI_PATH=$D/bin CNI_ARGS=${CNI_ARGS:-} \
    "$D/bin/userspace" <"$4" >"$D/out" 2>>"$D/plugin.log"
}
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

newns() { ip netns add "$1" && NS+=("$1"); }
code() { jget "$D/out" 'd.get("code")'; }

# Ports of ours (by external_ids) on network $1
our_ports() { $VSCTL --bare --columns=name find Port "external_ids:nfv-cni/network=$1" | grep -v '^$' || true; }

# traffic OVS_MODE SOCK_A MAC_A PORT_A NS_A SOCK_B MAC_B PORT_B NS_B: 128 packets A->B->A
# reap_testpmd: wait for the testpmd processes of TP_PIDS after "quit", at most 15 s: a testpmd
# whose link never came up may never read its commands; it is killed then, so a broken link fails
# the check instead of hanging the tier.
reap_testpmd() {
  local p i
  for i in $(seq 150); do
    for p in "${TP_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && break; p=""; done
    [ -z "$p" ] && break
    sleep 0.1
  done
  for p in "${TP_PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null && { echo "  testpmd $p did not quit within 15 s: killed"; kill -9 "$p" 2>/dev/null; }
  done
  wait "${TP_PIDS[@]}" 2>/dev/null; TP_PIDS=()
}
# drive_pair PORT_A PORT_B BURSTS: with testpmd A and B started on $D/cmdA and $D/cmdB, wait
# for both OVS ports' links, let B forward and A send BURSTS bursts, stop both and make them
# quit (reap_testpmd); fails when a link never came up.
drive_pair() {
  exec 7>"$D/cmdA" 8>"$D/cmdB"
  local up=0
  $VSCTL --timeout=20 wait-until Interface "$1" link_state=up >/dev/null 2>&1 &&
    $VSCTL --timeout=20 wait-until Interface "$2" link_state=up >/dev/null 2>&1 && up=1
  if [ $up = 1 ]; then
    sleep 1                     # link_state=up can precede the last vring being enabled
    echo start >&8
    echo "start tx_first $3" >&7
    sleep 2
    echo stop >&7; echo stop >&8
    sleep 1
  fi
  echo quit >&7; echo quit >&8; exec 7>&- 8>&-
  reap_testpmd
  [ $up = 1 ]
}
# ($WRAP_A/$WRAP_B, when set, prefix each side's testpmd: a pod's own mount namespace)
traffic() {
  local mode=$1 sa=$2 ma=$3 pa=$4 na=$5 sb=$6 mb=$7 pb=$8 nb=$9
  local server=1; [ "$mode" = server ] && server=0     # the pod's app takes the other role
  local tp="dpdk-testpmd -l 0-1 --no-pci --no-huge -m 64"
  rm -f "$D/cmdA" "$D/cmdB"; mkfifo "$D/cmdA" "$D/cmdB"
  ip netns exec "$nb" ${WRAP_B:-} $tp --file-prefix=pb$$ --vdev="net_virtio_user0,path=$sb,server=$server,queues=1,mac=$mb" -- \
    -i --forward-mode=macswap --port-topology=loop --total-num-mbufs=2048 --nb-cores=1 \
    <"$D/cmdB" >"$D/tpB.log" 2>&1 &
  TP_PIDS+=($!)
  ip netns exec "$na" ${WRAP_A:-} $tp --file-prefix=pa$$ --vdev="net_virtio_user0,path=$sa,server=$server,queues=1,mac=$ma" -- \
    -i --forward-mode=rxonly --total-num-mbufs=2048 --nb-cores=1 --eth-peer=0,$mb \
    <"$D/cmdA" >"$D/tpA.log" 2>&1 &
  TP_PIDS+=($!)
  drive_pair "$pa" "$pb" 4 || { echo "  vhost-user link did not come up (tail of testpmd A):"; tail -5 "$D/tpA.log"; return 1; }
  st() { grep -A2 'Forward statistics for port 0' "$1" | grep -oP "$2-packets: +\K[0-9]+" | head -1; }
  local atx arx brx btx
  atx=$(st "$D/tpA.log" TX); arx=$(st "$D/tpA.log" RX); brx=$(st "$D/tpB.log" RX); btx=$(st "$D/tpB.log" TX)
  echo "  A tx=$atx rx=$arx | B rx=$brx tx=$btx (expect 128 each)"
  [ "$atx" = 128 ] && [ "$brx" = 128 ] && [ "$btx" = 128 ] && [ "$arx" = 128 ]
}

no_ports_left() {
  local left; left=$(our_ports "$1")
  [ -z "$left" ] || { echo "  ports left: $left"; return 1; }
}
no_bridge() { ! $VSCTL br-exists "$1" && ! ip link show "$1" >/dev/null 2>&1; }
no_leases_for() { ! grep -rqs "$1" "$D/ipam"; }

# --- 1. both modes through libcni (cniVersion 1.0.0) --------------------------------------------
drv() { "$D/cnidriver" "$1" --conflist "$D/libcni.conflist" --cni-path "$D/bin" --cache-dir "$D/cache" \
  --containerid "$2" --ifname net1 --netns "/var/run/netns/$3" ${4:+--capabilities "$4"} >"$D/out.$2" 2>>"$D/plugin.log"; }
for MODE in client server; do
  T=$(t0)
  echo "# $MODE mode via libcni (cniVersion 1.0.0)"
  m=${MODE:0:1}; podmode=server; [ $MODE = server ] && podmode=client
  CA=l${m}aaaaaaaaaaaaaa; CB=l${m}bbbbbbbbbbbbbb; NA=e2e-l${m}a$$; NB=e2e-l${m}b$$
  DA=$DI/nfv-e2e-$$-$CA.json; DB=$DI/nfv-e2e-$$-$CB.json
  cat >"$D/libcni.conflist" <<EOF
{"cniVersion":"1.0.0","name":"ovs-libcni","plugins":[
 $(conf 1.0.0 $MODE br-lc 0 ovs-libcni '"capabilities":{"CNIDeviceInfoFile":true,"mac":true}' | sed 's/"cniVersion":"1.0.0","name":"ovs-libcni",//')
]}
EOF
  newns $NA; newns $NB
  ok_a=0; ok_b=0
  drv add $CA $NA "{\"CNIDeviceInfoFile\":\"$DA\",\"mac\":\"02:00:00:00:0a:01\"}" && ok_a=1
  drv add $CB $NB "{\"CNIDeviceInfoFile\":\"$DB\",\"mac\":\"02:00:00:00:0b:01\"}" && ok_b=1
  check "$MODE: libcni ADD of two pods" [ $ok_a$ok_b = 11 ]
  if [ $ok_a$ok_b = 11 ]; then
    SA=$(jget "$DA" 'd["vhost-user"]["path"]'); SB=$(jget "$DB" 'd["vhost-user"]["path"]')
    check "$MODE: device-info files say vhost-user, pod side $podmode" \
      [ "$(jget "$DA" 'd["type"]+"/"+d["vhost-user"]["mode"]')" = vhost-user/$podmode ]
    check "$MODE: result MAC is runtimeConfig.mac and the IP comes from IPAM" \
      [ "$(jget "$D/out.$CA" 'd["interfaces"][0]["mac"]+" "+d["ips"][0]["address"].split(".")[0]')" = "02:00:00:00:0a:01 10" ]
    check "$MODE: libcni CHECK" drv check $CA $NA "{\"CNIDeviceInfoFile\":\"$DA\",\"mac\":\"02:00:00:00:0a:01\"}"
    check "$MODE: 128 packets A->B->A through OVS-DPDK (libcni)" \
      traffic $MODE "$SA" 02:00:00:00:0a:01 ${CA:0:12}-net1 $NA "$SB" 02:00:00:00:0b:01 ${CB:0:12}-net1 $NB
  fi
  check "$MODE: libcni DEL of both pods" eval 'drv del $CA $NA "{\"CNIDeviceInfoFile\":\"$DA\"}" && drv del $CB $NB "{\"CNIDeviceInfoFile\":\"$DB\"}"'
  check "$MODE: after DEL OVS holds no port of ours" no_ports_left ovs-libcni
  check "$MODE: after DEL the bridge we created is gone, LOCAL tap too" no_bridge br-lc
  check "$MODE: after DEL socket dirs, device-info files and leases are gone" \
    eval '[ ! -e "$S/${CA:0:12}" ] && [ ! -e "$S/${CB:0:12}" ] && [ ! -e "$DA" ] && [ ! -e "$DB" ] && no_leases_for $CA && no_leases_for $CB'
  echo "  ($(since "$T")s)"
done

# --- 2./3. both modes invoking the binary directly (cniVersion 1.1.0, socketPath) ---------------
for MODE in client server; do
  T=$(t0)
  echo "# $MODE mode, binary invoked directly (cniVersion 1.1.0)"
  NET=ovs-$MODE
  conf 1.1.0 $MODE br-$MODE 100 $NET >"$D/$MODE.json"
  # Server mode also gives the socket directory and socket to a group.
  [ $MODE = server ] && sed -i 's/"vhost":{"mode":"server"}/"vhost":{"mode":"server","group":"daemon"}/' "$D/$MODE.json"
  A=${MODE:0:1}aaaaaaaaaaaaaaa; B=${MODE:0:1}bbbbbbbbbbbbbbb
  newns e2e-${MODE:0:1}a$$; newns e2e-${MODE:0:1}b$$
  cni ADD $A net1 "$D/$MODE.json" /var/run/netns/e2e-${MODE:0:1}a$$ && cp "$D/out" "$D/resA" || { bad "$MODE ADD A: $(cat "$D/out")"; continue; }
  cni ADD $B net1 "$D/$MODE.json" /var/run/netns/e2e-${MODE:0:1}b$$ && cp "$D/out" "$D/resB" || { bad "$MODE ADD B: $(cat "$D/out")"; continue; }
  ok "$MODE ADD of two pods"
  SA=$(jget "$D/resA" 'd["interfaces"][0]["socketPath"]'); SB=$(jget "$D/resB" 'd["interfaces"][0]["socketPath"]')
  MA=$(jget "$D/resA" 'd["interfaces"][0]["mac"]'); MB=$(jget "$D/resB" 'd["interfaces"][0]["mac"]')
  PA=${A:0:12}-net1; PB=${B:0:12}-net1
  want_type=dpdkvhostuserclient; [ $MODE = server ] && want_type=dpdkvhostuser
  check "$MODE: port type $want_type, VLAN tag 100, Interface.error empty" \
    [ "$($VSCTL get Interface $PA type)/$($VSCTL get Port $PA tag)/$($VSCTL get Interface $PA error)" = "$want_type/100/[]" ]
  check "$MODE: external_ids name the container, ifname and network" \
    [ "$($VSCTL get Port $PA external_ids:nfv-cni/container-id external_ids:nfv-cni/ifname external_ids:nfv-cni/network | tr '\n' ' ')" = "$A net1 $NET " ]
  check "$MODE: socketPath in the result is under sharedDir/<id12>/" [ "$SA" = "$S/${A:0:12}/$PA" ]
  if [ $MODE = client ]; then
    check "$MODE: socket dir is private (0700 root)" [ "$(stat -c %a:%G "$S/${A:0:12}")" = 700:root ]
  else
    check "$MODE: socket dir and socket belong to host.vhost.group (0770, 0660)" \
      [ "$(stat -c %a:%G "$S/${A:0:12}") $(stat -c %a:%G "$SA")" = "770:daemon 660:daemon" ]
  fi
  check "$MODE: pod-side JSON flips the mode" [ "$(jget "$S/${A:0:12}/$PA.json" 'd["mode"]')" = "$([ $MODE = client ] && echo server || echo client)" ]
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["prevResult"]=json.load(open(sys.argv[2])); print(json.dumps(c))' \
    "$D/$MODE.json" "$D/resA" >"$D/chk.json"
  check "$MODE: CHECK with prevResult" cni CHECK $A net1 "$D/chk.json" /var/run/netns/e2e-${MODE:0:1}a$$
  $VSCTL set Port $PA tag=200
  cni CHECK $A net1 "$D/chk.json" /var/run/netns/e2e-${MODE:0:1}a$$
  check "$MODE: CHECK notices a changed VLAN tag (111)" eval '[ "$(code)" = 111 ] && grep -q "VLAN tag" "$D/out"'
  $VSCTL set Port $PA tag=100
  check "$MODE: 128 packets A->B->A through OVS-DPDK" traffic $MODE "$SA" "$MA" $PA e2e-${MODE:0:1}a$$ "$SB" "$MB" $PB e2e-${MODE:0:1}b$$
  check "$MODE: DEL A" cni DEL $A net1 "$D/$MODE.json" /var/run/netns/e2e-${MODE:0:1}a$$
  check "$MODE: bridge stays while B is attached" $VSCTL br-exists br-$MODE
  check "$MODE: DEL B (netns already gone)" cni DEL $B net1 "$D/$MODE.json"
  check "$MODE: DEL again is a no-op" cni DEL $B net1 "$D/$MODE.json"
  check "$MODE: OVS holds no port of ours" no_ports_left $NET
  check "$MODE: the bridge we created is gone, LOCAL tap too" no_bridge br-$MODE
  check "$MODE: socket dirs and leases are gone" eval '[ -z "$(ls -A "$S" 2>/dev/null)" ] && no_leases_for $A && no_leases_for $B'
  echo "  ($(since "$T")s)"
done

# --- 4. pods the Intel userspace-cni plugin attached, deleted by ours ---------------------------
T=$(t0)
echo "# userspace-cni's pods: its ports and files, made as its source makes them, DEL by ours"
port_exists() { $VSCTL --bare --columns=name find Port "name=$1" | grep -q .; }
# Its bridge, as it creates a missing one (no external_ids).
$VSCTL add-br br-usc -- set bridge br-usc datapath_type=netdev
# usc_plant CID MODE: what userspace-cni leaves for (CID, net1) with sharedDir $S: the port
# (ovs-vsctl add-port <bridge> <port> -- set Interface <port> type=... [options:vhost-server-path=
# <sharedDir>/<cid12>/<port>]), the socket in <sharedDir>/<cid12>/ (client: the pod app's, left
# behind; server: OVS's, renamed there) and /var/lib/cni/usrspcni/data/local-<cid12>-<ifname>.json.
usc_plant() {
  local id=${1:0:12}; local port=$id-net1 dir=$S/$id/
  mkdir -p -m 0750 "$dir" "$USC_DATA"
  if [ "$2" = client ]; then
    $VSCTL add-port br-usc "$port" -- set Interface "$port" type=dpdkvhostuserclient "options:vhost-server-path=$dir$port"
    python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$dir$port"
  else
    $VSCTL add-port br-usc "$port" -- set Interface "$port" type=dpdkvhostuser
    for _ in $(seq 100); do [ -S "$OVSD/$port" ] && break; sleep 0.05; done
    mv "$OVSD/$port" "$dir$port"
  fi
  printf '{"vhostname":"%s","vhostmac":"","ifmac":"02:00:00:00:0c:01"}' "$port" >"$USC_DATA/local-$id-net1.json"
}
conf 0.3.1 client br-usc 0 ovs-usc '"kubeconfig":"/etc/cni/net.d/multus.d/multus.kubeconfig"' >"$D/usc.json"
conf 0.3.1 server br-usc 0 ovs-usc '"kubeconfig":"/etc/cni/net.d/multus.d/multus.kubeconfig"' >"$D/usc-srv.json"
CU1=cusc1aaaaaaaaaaa; CU2=cusc2bbbbbbbbbbb; CU3=cusc3ccccccccccc
usc_plant $CU1 client
usc_plant $CU2 server
# A port named for a third attachment, its socket elsewhere; and an operator's own port.
$VSCTL add-port br-usc ${CU3:0:12}-net1 -- set Interface ${CU3:0:12}-net1 type=dpdkvhostuserclient \
  "options:vhost-server-path=/run/vhostuser/elsewhere-$$/${CU3:0:12}-net1"
$VSCTL add-port br-usc vhu-operator -- set Interface vhu-operator type=dpdkvhostuserclient \
  "options:vhost-server-path=/run/vhostuser/elsewhere-$$/vhu-operator"
check "userspace-cni's planted ports have no external_ids" \
  [ "$($VSCTL get Port ${CU1:0:12}-net1 external_ids)/$($VSCTL get Interface ${CU2:0:12}-net1 type)" = "{}/dpdkvhostuser" ]
check "client-mode pod of userspace-cni: our DEL removes its port, socket dir and local-*.json" \
  eval 'cni DEL $CU1 net1 "$D/usc.json" && ! port_exists ${CU1:0:12}-net1 && [ ! -e "$S/${CU1:0:12}" ] && [ ! -e "$USC_DATA/local-${CU1:0:12}-net1.json" ]'
check "server-mode pod of userspace-cni (OVS's socket moved into its dir): our DEL removes it all" \
  eval 'cni DEL $CU2 net1 "$D/usc-srv.json" && ! port_exists ${CU2:0:12}-net1 && [ ! -e "$S/${CU2:0:12}" ] && [ ! -e "$USC_DATA/local-${CU2:0:12}-net1.json" ]'
check "a port named for an attachment whose socket lies elsewhere is left alone" \
  eval 'cni DEL $CU3 net1 "$D/usc.json" && port_exists ${CU3:0:12}-net1'
check "the operator's port and the bridge userspace-cni created stay" \
  eval 'port_exists vhu-operator && $VSCTL br-exists br-usc'
check "DEL again is a no-op" cni DEL $CU1 net1 "$D/usc.json"
$VSCTL del-br br-usc; ip link del br-usc 2>/dev/null
echo "  ($(since "$T")s)"

# --- 5. a pod's shared-dir emptyDir receives its socket; testpmd through it ---------------------
T=$(t0)
echo "# pods with a shared-dir emptyDir (K8S_POD_UID in CNI_ARGS): the socket in the volume, testpmd in the pod's mount namespace"
# inpod.sh VOLUME MOUNTPOINT CMD...: CMD in a mount namespace of its own with VOLUME at
# MOUNTPOINT, as a container sees its emptyDir.
printf '#!/bin/sh\nv=$1 m=$2; shift 2\nmount --bind "$v" "$m" && exec "$@"\n' >"$D/inpod.sh"; chmod +x "$D/inpod.sh"
conf 1.1.0 client br-vol 0 ovs-vol >"$D/vol.json"
vol_ok=1
for side in A B; do
  u=$(cat /proc/sys/kernel/random/uuid); POD_UIDS+=("$u")
  v=/var/lib/kubelet/pods/$u/volumes/kubernetes.io~empty-dir/shared-dir
  mkdir -p "$v" && chmod 0777 "$v" && mkdir -p "$D/mnt$side"          # as kubelet makes it
  c=cvol${side,,}aaaaaaaaaaa; n=e2e-v${side,,}$$; newns "$n"
  CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=pod$side;K8S_POD_UID=$u" \
    cni ADD "$c" net1 "$D/vol.json" "/var/run/netns/$n" && cp "$D/out" "$D/vres$side" || { vol_ok=0; bad "volume ADD $side: $(cat "$D/out")"; }
  eval "VU$side=$u VV$side=$v VC$side=$c VN$side=$n"
done
if [ $vol_ok = 1 ]; then
  ok "ADD of two pods with a shared-dir volume"
  LA=/run/nfv-cni/vhost-user/${VCA:0:12}-net1
  CDA=$VVA/configData-${VCA:0:12}-net1.json
  check "socketPath is our short link, which names the socket in the pod's volume" \
    [ "$(jget "$D/vresA" 'd["interfaces"][0]["socketPath"]')|$(readlink "$LA")" = "$LA|$VVA/${VCA:0:12}-net1" ]
  echo "  the socket's path in the volume is $(printf %s "$VVA/${VCA:0:12}-net1" | wc -c) bytes (sun_path holds 107)"
  check "OVS connects through the link (vhost-server-path)" \
    [ "$($VSCTL get Interface ${VCA:0:12}-net1 options:vhost-server-path)" = "\"$LA\"" ]
  check "configData-<cid12>-net1.json in the volume, in userspace-cni's schema" \
    [ "$(jget "$CDA" 'd["containerId"]+" "+d["ifName"]+" "+d["config"]["vhost"]["mode"]+" "+d["config"]["vhost"]["socketfile"]+" "+d["ipResult"]["ips"][0]["address"].split(".")[0]')" = "$VCA net1 server ${VCA:0:12}-net1 10" ]
  check "nothing in sharedDir for these pods" eval '[ ! -e "$S/${VCA:0:12}" ] && [ ! -e "$S/${VCB:0:12}" ]'
  # Each pod's app finds its socket as a container would: its mount of the volume plus the
  # socketfile from the configData file there.
  SA=$D/mntA/$(jget "$CDA" 'd["config"]["vhost"]["socketfile"]')
  SB=$D/mntB/$(jget "$VVB/configData-${VCB:0:12}-net1.json" 'd["config"]["vhost"]["socketfile"]')
  MA=$(jget "$D/vresA" 'd["interfaces"][0]["mac"]'); MB=$(jget "$D/vresB" 'd["interfaces"][0]["mac"]')
  WRAP_A="unshare -m --propagation private $D/inpod.sh $VVA $D/mntA" WRAP_B="unshare -m --propagation private $D/inpod.sh $VVB $D/mntB" \
    check "128 packets A->B->A through sockets in the pods' volumes" \
    traffic client "$SA" "$MA" ${VCA:0:12}-net1 "$VNA" "$SB" "$MB" ${VCB:0:12}-net1 "$VNB"
fi
for side in A B; do
  eval "u=\$VU$side v=\$VV$side c=\$VC$side n=\$VN$side"
  CNI_ARGS="IgnoreUnknown=1;K8S_POD_UID=$u" cni DEL "$c" net1 "$D/vol.json" "/var/run/netns/$n" || bad "volume DEL $side: $(cat "$D/out")"
done
check "after DEL: no port, no link, nothing of ours in the volumes, which stay" \
  eval 'no_ports_left ovs-vol && no_bridge br-vol && [ ! -L "$LA" ] && [ -d "$VVA" ] && [ -z "$(ls -A "$VVA")$(ls -A "$VVB")" ]'
echo "  ($(since "$T")s)"

# --- 7. memif: OVS's memif server, pods' testpmd as clients (issue 16) ---------------------------
T=$(t0)
echo "# memif ports (type=dpdk, net_memif server in the pod's directory), cniVersion 1.1.0"
# mconf BRIDGE VLAN NAME [extra top-level JSON members]: the Intel plugin's memif keys, OVS the
# master; queues 2 = OVS's tx queues here (one PMD thread + the main thread), so testpmd can
# open symmetric queue pairs (docs/userspace.md, "memif").
mconf() {
  local extra=${4:+,$4}
  cat <<EOF
{"cniVersion":"1.1.0","name":"$3","type":"userspace",
 "ovsdbSocket":"$OVS_DB","sharedDir":"$S",
 "host":{"engine":"ovs-dpdk","iftype":"memif","netType":"bridge",
         "memif":{"role":"master","mode":"ethernet","queues":2,"group":"daemon"},
         "bridge":{"bridgeName":"$1","vlanId":$2}},
 "container":{"engine":"ovs-dpdk","iftype":"memif","netType":"interface",
              "memif":{"role":"slave","mode":"ethernet"}},
 "ipam":{"type":"host-local","subnet":"10.78.0.0/24","dataDir":"$D/ipam"}$extra}
EOF
}
# vdev_memif SOCK MAC / vdev_vhost SOCK MAC: a pod's testpmd device and its queues (memif: the
# client end, socket-abstract=no, two queue pairs; vhost-user: the server end, OVS the client)
vdev_memif() { echo "--vdev=net_memif0,role=client,socket=$1,id=0,socket-abstract=no,mac=$2 --rxq=2 --txq=2"; }
vdev_vhost() { echo "--vdev=net_virtio_user0,path=$1,server=1,queues=1,mac=$2"; }
# pods_traffic "DEV_A" PORT_A NS_A "DEV_B" MAC_B PORT_B NS_B BURSTS: A sends BURSTS bursts of 32
# per queue to B's MAC (tx_first), B swaps MACs and sends them back; 128 each way, exactly.
pods_traffic() {
  local va=$1 pa=$2 na=$3 vb=$4 mb=$5 pb=$6 nb=$7 bursts=$8
  local tp="dpdk-testpmd -l 0-1 --no-pci --no-huge -m 64"
  local eal_a=${va%% --rxq*} eal_b=${vb%% --rxq*} q_a="" q_b=""
  [ "$eal_a" != "$va" ] && q_a=${va#"$eal_a"}
  [ "$eal_b" != "$vb" ] && q_b=${vb#"$eal_b"}
  rm -f "$D/cmdA" "$D/cmdB"; mkfifo "$D/cmdA" "$D/cmdB"
  # shellcheck disable=SC2086
  ip netns exec "$nb" $tp --file-prefix=pb$$ $eal_b -- -i --forward-mode=macswap --total-num-mbufs=2048 \
    --nb-cores=1 $q_b <"$D/cmdB" >"$D/tpB.log" 2>&1 &
  TP_PIDS+=($!)
  # shellcheck disable=SC2086
  ip netns exec "$na" $tp --file-prefix=pa$$ $eal_a -- -i --forward-mode=rxonly --total-num-mbufs=2048 \
    --nb-cores=1 --eth-peer=0,$mb $q_a <"$D/cmdA" >"$D/tpA.log" 2>&1 &
  TP_PIDS+=($!)
  drive_pair "$pa" "$pb" "$bursts" || { echo "  link did not come up (tails of testpmd A, B, ovs-vswitchd.log):"; tail -5 "$D/tpA.log"
    tail -5 "$D/tpB.log"; grep -E 'WARN|ERR' "$OVS_DIR/ovs-vswitchd.log" | tail -5; return 1; }
  st() { grep -A2 'Accumulated forward statistics' "$1" | grep -oP "$2-packets: +\K[0-9]+" | head -1; }
  local atx arx brx btx
  atx=$(st "$D/tpA.log" TX); arx=$(st "$D/tpA.log" RX); brx=$(st "$D/tpB.log" RX); btx=$(st "$D/tpB.log" TX)
  echo "  A tx=$atx rx=$arx | B rx=$brx tx=$btx (expect 128 each)"
  [ "$atx" = 128 ] && [ "$brx" = 128 ] && [ "$btx" = 128 ] && [ "$arx" = 128 ]
}
NET=ovs-memif
MDI=$DI/nfv-e2e-$$-memif.json
mconf br-memif 0 $NET "\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"$MDI\"}" >"$D/memif.json"
A=maaaaaaaaaaaaaaa; B=mbbbbbbbbbbbbbbb; V=mvvvvvvvvvvvvvvv
PA=memif-${A:0:12}-net1.sock; PB=memif-${B:0:12}-net1.sock
newns e2e-ma$$; newns e2e-mb$$
MDIB=$DI/nfv-e2e-$$-memifb.json
mconf br-memif 0 $NET "\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"$MDIB\"}" >"$D/memif-b.json"
if cni ADD $A net1 "$D/memif.json" /var/run/netns/e2e-ma$$ && cp "$D/out" "$D/mresA" &&
   cni ADD $B net1 "$D/memif-b.json" /var/run/netns/e2e-mb$$ && cp "$D/out" "$D/mresB"; then
  ok "memif: ADD of two pods"
  SA=$(jget "$D/mresA" 'd["interfaces"][0]["socketPath"]'); SB=$(jget "$D/mresB" 'd["interfaces"][0]["socketPath"]')
  MA=$(jget "$D/mresA" 'd["interfaces"][0]["mac"]'); MB=$(jget "$D/mresB" 'd["interfaces"][0]["mac"]')
  DEVARGS=$($VSCTL get Interface "$PA" options:dpdk-devargs | tr -d '"')
  check "memif: port type dpdk, Interface.error empty, n_rxq 2" \
    [ "$($VSCTL get Interface "$PA" type)/$($VSCTL get Interface "$PA" error)/$($VSCTL get Interface "$PA" options:n_rxq | tr -d '"')" = "dpdk/[]/2" ]
  check "memif: dpdk-devargs name a net_memif server on the result's socketPath, id 0, not abstract" \
    eval '[[ "$DEVARGS" =~ ^net_memif[0-9a-f]{16},role=server,socket=$SA,id=0,socket-abstract=no$ ]]'
  check "memif: each attachment has its own vdev name" \
    [ "${DEVARGS%%,*}" != "$($VSCTL get Interface "$PB" options:dpdk-devargs | tr -d '"' | cut -d, -f1)" ]
  check "memif: socketPath is sharedDir/<id12>/memif-<id12>-net1.sock, a unix socket OVS made" \
    eval '[ "$SA" = "$S/${A:0:12}/$PA" ] && [ -S "$SA" ]'
  check "memif: socket dir and socket belong to host.memif.group (0770, 0660)" \
    [ "$(stat -c %a:%G "$S/${A:0:12}") $(stat -c %a:%G "$SA")" = "770:daemon 660:daemon" ]
  check "memif: pod JSON and configData say memif, client (slave), ethernet" \
    [ "$(jget "$S/${A:0:12}/$PA.json" 'd["type"]+"/"+d["memif"]["role"]+"/"+d["memif"]["mode"]')/$(jget "$S/${A:0:12}/configData-${A:0:12}-net1.json" 'd["config"]["iftype"]+"/"+d["config"]["memif"]["role"]+"/"+d["config"]["memif"]["socketfile"]')" = "memif/client/ethernet/memif/slave/$PA" ]
  check "memif: device-info file is type memif, role slave, ethernet, the socket path" \
    [ "$(jget "$MDI" 'd["type"]+"/"+d["memif"]["role"]+"/"+d["memif"]["mode"]+"/"+d["memif"]["path"]')" = "memif/slave/ethernet/$SA" ]
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["prevResult"]=json.load(open(sys.argv[2])); print(json.dumps(c))' \
    "$D/memif.json" "$D/mresA" >"$D/mchk.json"
  check "memif: CHECK with prevResult" cni CHECK $A net1 "$D/mchk.json" /var/run/netns/e2e-ma$$
  check "memif: 128 packets A->B->A, both pods' testpmd memif clients" \
    pods_traffic "$(vdev_memif "$SA" "$MA")" "$PA" e2e-ma$$ "$(vdev_memif "$SB" "$MB")" "$MB" "$PB" e2e-mb$$ 2
  $VSCTL set Interface "$PA" "options:dpdk-devargs=\"${DEVARGS/id=0/id=1}\""
  cni CHECK $A net1 "$D/mchk.json" /var/run/netns/e2e-ma$$
  check "memif: CHECK notices changed dpdk-devargs (111)" eval '[ "$(code)" = 111 ] && grep -q "dpdk-devargs" "$D/out"'
  check "memif: DEL A" cni DEL $A net1 "$D/memif.json" /var/run/netns/e2e-ma$$
  check "memif: DEL A removed its socket, directory, device-info file and lease" \
    eval '[ ! -e "$S/${A:0:12}" ] && [ ! -e "$MDI" ] && no_leases_for $A'
  check "memif: DEL A again is a no-op" cni DEL $A net1 "$D/memif.json"
  # A vhost-user pod next to the memif pod B on the same bridge (OVS in client mode), once A
  # is gone: OVS here has 256 MB without hugepages, and each port takes a mempool of its own.
  conf 1.1.0 client br-memif 0 $NET >"$D/vhu-memif.json"
  PV=${V:0:12}-net1
  newns e2e-mv$$
  if cni ADD $V net1 "$D/vhu-memif.json" /var/run/netns/e2e-mv$$; then
    SV=$(jget "$D/out" 'd["interfaces"][0]["socketPath"]'); MV=$(jget "$D/out" 'd["interfaces"][0]["mac"]')
    check "memif: 128 packets vhost-user pod -> memif pod -> back, one bridge" \
      pods_traffic "$(vdev_vhost "$SV" "$MV")" "$PV" e2e-mv$$ "$(vdev_memif "$SB" "$MB")" "$MB" "$PB" e2e-mb$$ 4
    check "memif: DEL of the vhost-user pod" cni DEL $V net1 "$D/vhu-memif.json" /var/run/netns/e2e-mv$$
  else
    bad "memif: ADD of a vhost-user pod on the memif bridge: $(cat "$D/out")"
  fi
  # GC with only A valid (already gone): B's port and files go, derived from config and identity.
  python3 - "$D/memif.json" >"$D/mgc.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["cni.dev/valid-attachments"] = [{"containerID": "maaaaaaaaaaaaaaa", "ifname": "net1"}]
print(json.dumps(c))
EOF
  check "memif: GC removes B's port, socket and directory" \
    eval 'cni GC "" "" "$D/mgc.json" && [ -z "$(our_ports $NET)" ] && [ ! -e "$S/${B:0:12}" ]'
  check "memif: the bridge we created is gone, LOCAL tap too" no_bridge br-memif
  check "memif: DEL B after GC removes its device-info file" eval 'cni DEL $B net1 "$D/memif-b.json" && [ ! -e "$MDIB" ]'
  check "memif: leases are gone" eval 'no_leases_for $B && no_leases_for $V'
else
  bad "memif: ADD of two pods: $(cat "$D/out")"
  cni DEL $A net1 "$D/memif.json"; cni DEL $B net1 "$D/memif-b.json"
fi
# OVS accepts a memif port whose socket it cannot create: Interface.error, then rollback. A
# plain file where the socket goes, in a directory made as ADD makes it.
mconf br-memif 0 $NET >"$D/memif-err.json"
F=mfailaaaaaaaaaaa
install -d -m 0700 "$S/${F:0:12}"; touch "$S/${F:0:12}/memif-${F:0:12}-net1.sock"
cni ADD $F net1 "$D/memif-err.json" /proc/self/ns/net
check "memif: Interface.error is reported (111) and ADD rolls back port, bridge and lease" \
  eval '[ "$(code)" = 111 ] && grep -q "memif port" "$D/out" && [ -z "$(our_ports $NET)" ] && ! $VSCTL br-exists br-memif && no_leases_for $F'
[ "$(code)" = 111 ] || echo "  got: $(cat "$D/out")"
ip link del br-memif 2>/dev/null
check "memif: the plain file is left as it was" [ -f "$S/${F:0:12}/memif-${F:0:12}-net1.sock" ]
rm -rf "${S:?}/${F:0:12}"
# Hostile: a socket file name that would add devargs.
sed 's/"queues":2,/"queues":2,"socketfile":"m.sock,role=client",/' "$D/memif-err.json" >"$D/memif-inj.json"
cni ADD minjaaaaaaaaaaaa net1 "$D/memif-inj.json" /proc/self/ns/net
check "memif: a socket name carrying devargs is refused (7), nothing created" \
  eval '[ "$(code)" = 7 ] && grep -q "memif socket path" "$D/out" && [ -z "$(our_ports $NET)" ] && [ ! -e "$S/minjaaaaaaaa" ]'
echo "  ($(since "$T")s)"

# --- 6. error paths and bookkeeping against the real daemons ------------------------------------
T=$(t0)
echo "# error paths, GC, STATUS"
conf 1.1.0 client br-err 0 ovs-err >"$D/err.json"

# memif on ovs-dpdk is supported now (section 7); VPP stays out of scope.
sed 's/"engine":"ovs-dpdk","iftype":"vhostuser","netType":"bridge"/"engine":"vpp","iftype":"memif","netType":"bridge"/' "$D/err.json" >"$D/vpp.json"
cni ADD cvpp000000000000 net1 "$D/vpp.json" /proc/self/ns/net
check "VPP is rejected (code 7, says out of scope), nothing created" \
  eval '[ "$(code)" = 7 ] && grep -q "out of scope" "$D/out" && [ -z "$(our_ports ovs-err)" ] && [ ! -e "$S/cvpp00000000" ]'

long=$S/$(printf 'l%.0s' $(seq 90))
sed "s|\"sharedDir\":\"$S\"|\"sharedDir\":\"$long\"|" "$D/err.json" >"$D/long.json"
cni ADD clong00000000000 net1 "$D/long.json" /proc/self/ns/net
check "socket path of 108+ bytes is refused with the reason, nothing created" \
  eval '[ "$(code)" = 7 ] && grep -q "108 bytes" "$D/out" && [ ! -e "$long" ] && no_leases_for clong00000000000'

cni ADD cdup000000000000 net1 "$D/err.json" /proc/self/ns/net
cni ADD cdup000000000000 net1 "$D/err.json" /proc/self/ns/net
check "second ADD of the same attachment fails (114) and leaves the first intact" \
  eval '[ "$(code)" = 114 ] && [ "$(our_ports ovs-err)" = cdup00000000-net1 ]'
cni DEL cdup000000000000 net1 "$D/err.json"

# OVS accepts a server-mode port whose socket it cannot create: Interface.error, then rollback.
conf 1.1.0 server br-err 0 ovs-err >"$D/srv-err.json"
touch "$OVSD/cfail0000000-net1"                      # a plain file where OVS wants its socket
cni ADD cfail00000000000 net1 "$D/srv-err.json" /proc/self/ns/net
check "Interface.error is reported (111) and ADD rolls back port, bridge, dir and lease" \
  eval '[ "$(code)" = 111 ] && [ -z "$(our_ports ovs-err)" ] && ! $VSCTL br-exists br-err && [ ! -e "$S/cfail0000000" ] && no_leases_for cfail00000000000'
[ "$(code)" = 111 ] || echo "  got: $(cat "$D/out")"
# OVS 3.1 keeps the LOCAL tap of a netdev bridge that held a failed vhost port after the bridge
# is deleted (ovs-vsctl add-br/add-port/del-br does the same); remove it for the next test.
ip link del br-err 2>/dev/null
check "the plain file in OVS's run directory is left as it was" [ -f "$OVSD/cfail0000000-net1" ]
rm -f "$OVSD/cfail0000000-net1"

$VSCTL add-br br-foreign -- set bridge br-foreign datapath_type=netdev
conf 1.1.0 client br-foreign 0 ovs-err >"$D/foreign.json"
check "ADD into a bridge we did not create" cni ADD cfor000000000000 net1 "$D/foreign.json" /proc/self/ns/net
check "DEL leaves a bridge we did not create in place" \
  eval 'cni DEL cfor000000000000 net1 "$D/foreign.json" && $VSCTL br-exists br-foreign && [ -z "$(our_ports ovs-err)" ]'
$VSCTL del-br br-foreign

# Concurrent ADDs racing to create the same bridge, then concurrent DELs racing to remove it.
conf 1.1.0 client br-race 0 ovs-race >"$D/race.json"
race() {  # race VERB: four attachments at once; prints the failures
  local pids=() i rc=0
  for i in 1 2 3 4; do
    ( CNI_COMMAND=$1 CNI_CONTAINERID=crace${i}00000000000 CNI_IFNAME=net1 CNI_NETNS=/proc/self/ns/net \
        CNI_PATH=$D/bin "$D/bin/userspace" <"$D/race.json" >"$D/race$i.out" 2>>"$D/plugin.log" ) &
    pids+=($!)
  done
  for i in 1 2 3 4; do wait "${pids[$((i - 1))]}" || { rc=1; echo "  $1 $i: $(cat "$D/race$i.out")"; }; done
  return $rc
}
check "four concurrent ADDs onto a missing bridge all succeed, one bridge" \
  eval 'race ADD && [ "$(our_ports ovs-race | wc -l)" = 4 ] && [ "$($VSCTL list-br | grep -c br-race)" = 1 ]'
check "four concurrent DELs leave no port and remove the bridge" \
  eval 'race DEL && no_ports_left ovs-race && no_bridge br-race'

# Storm: many attachments added at once onto one missing bridge, then all deleted at once.
STORM_N=${STORM_N:-16}
conf 1.1.0 client br-storm 0 ovs-storm >"$D/storm.json"
storm() {  # storm VERB: STORM_N attachments at once; prints the failures
  local pids=() i rc=0
  for i in $(seq "$STORM_N"); do
    ( CNI_COMMAND=$1 CNI_CONTAINERID=$(printf 'cstorm%06d0000' "$i") CNI_IFNAME=net1 CNI_NETNS=/proc/self/ns/net \
        CNI_PATH=$D/bin "$D/bin/userspace" <"$D/storm.json" >"$D/storm$i.out" 2>>"$D/plugin.log" ) &
    pids+=($!)
  done
  for i in $(seq "$STORM_N"); do wait "${pids[$((i - 1))]}" || { rc=1; echo "  $1 $i: $(cat "$D/storm$i.out")"; }; done
  return $rc
}
storm_ifaces_ok() {  # every storm port exists with an empty Interface.error and its socket dir
  local i p bad=0
  for i in $(seq "$STORM_N"); do
    p=$(printf 'cstorm%06d-net1' "$i")
    [ "$($VSCTL get Interface "$p" error 2>/dev/null)" = "[]" ] || { echo "  $p: error $($VSCTL get Interface "$p" error 2>&1)"; bad=1; }
    [ -d "$S/${p%-net1}" ] || { echo "  $p: no socket dir"; bad=1; }
  done
  return $bad
}
storm_nothing_left() {
  no_ports_left ovs-storm && no_bridge br-storm && [ -z "$(ls -d "$S"/cstorm* 2>/dev/null)" ] &&
    ! grep -rqs cstorm "$D/ipam" && ! $VSCTL --bare --columns=name list Interface | grep -q cstorm
}
T_STORM=$(t0)
storm ADD; storm_add_rc=$?
storm_add_s=$(since "$T_STORM")
check "storm: $STORM_N concurrent ADDs onto one missing bridge all succeed" [ $storm_add_rc = 0 ]
check "storm: $STORM_N ports on one bridge, each with an empty Interface.error and its socket dir" \
  eval '[ "$(our_ports ovs-storm | wc -l)" = "$STORM_N" ] && [ "$($VSCTL list-br | grep -c br-storm)" = 1 ] && storm_ifaces_ok'
T_STORM=$(t0)
storm DEL; storm_del_rc=$?
storm_del_s=$(since "$T_STORM")
check "storm: $STORM_N concurrent DELs all succeed" [ $storm_del_rc = 0 ]
check "storm: no port, interface, bridge, socket dir or lease left" storm_nothing_left
storm_ok=failed; [ $storm_add_rc$storm_del_rc = 00 ] && storm_nothing_left && storm_ok=ok
echo "reliability: {\"kind\":\"storm\",\"name\":\"userspace parallel ADD then DEL on one OVS-DPDK bridge\",\"size\":$STORM_N,\"add_s\":$storm_add_s,\"del_s\":$storm_del_s,\"outcome\":\"$storm_ok: every port created with empty Interface.error and removed; no rows, socket dirs or leases left; the bridge created by the racers removed\"}" >&2

# Hostile configs against the real daemons: refused before anything changes, nothing outside
# the plugin's places touched.
mkdir -p "$D/victims"; echo secret >"$D/victims/victim"; chmod 600 "$D/victims/victim"
victim_ok() { [ "$(cat "$D/victims/victim")" = secret ] && [ "$(stat -c %a:%G "$D/victims/victim")" = 600:root ]; }
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["sharedDir"]=sys.argv[2]; print(json.dumps(c))' \
  "$D/err.json" "$D/victims" >"$D/h-shared.json"
cni ADD chostile00000000 net1 "$D/h-shared.json" /proc/self/ns/net
check "sharedDir outside its place: 7, names the field, nothing created" \
  eval '[ "$(code)" = 7 ] && grep -q sharedDir "$D/out" && [ ! -e "$D/victims/chostile0000" ] && [ -z "$(our_ports ovs-err)" ]'
check "DEL with that sharedDir succeeds" cni DEL chostile00000000 net1 "$D/h-shared.json"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["ovsSocketDir"]=sys.argv[2]; c["host"]["vhost"]={"mode":"server","group":"daemon","socketfile":"victim"}; print(json.dumps(c))' \
  "$D/err.json" "$D/victims" >"$D/h-move.json"
cni ADD chostile00000000 net1 "$D/h-move.json" /proc/self/ns/net
check "server mode with ovsSocketDir outside OVS's run dir: 7, the file is neither moved nor chmodded" \
  eval '[ "$(code)" = 7 ] && grep -q ovsSocketDir "$D/out" && victim_ok && [ -z "$(our_ports ovs-err)" ]'
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["ovsdbSocket"]=sys.argv[2]; print(json.dumps(c))' \
  "$D/err.json" "$D/victims/db.sock" >"$D/h-db.json"
cni ADD chostile00000000 net1 "$D/h-db.json" /proc/self/ns/net
check "ovsdbSocket outside OVS's run dir: 7, names the field" eval '[ "$(code)" = 7 ] && grep -q ovsdbSocket "$D/out"'
cni ADD chostile00000000 net1 "$D/err.json" /proc/self/ns/net || bad "ADD chostile: $(cat "$D/out")"
rm -f "$S/chostile0000/chostile0000-net1"; cp "$D/victims/victim" "$S/chostile0000/chostile0000-net1"
check "DEL leaves a regular file where the socket should be, removes the port" \
  eval 'cni DEL chostile00000000 net1 "$D/err.json" && [ -f "$S/chostile0000/chostile0000-net1" ] && [ -z "$(our_ports ovs-err)" ]'
rm -rf "$S/chostile0000"

check "DEL with a config ADD would refuse still succeeds" cni DEL cvpp000000000000 net1 "$D/vpp.json"

for c in cgckeep000000000 cgcgone000000000; do cni ADD $c net1 "$D/err.json" /proc/self/ns/net || bad "ADD $c: $(cat "$D/out")"; done
python3 - "$D/err.json" >"$D/gc.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["cni.dev/valid-attachments"] = [{"containerID": "cgckeep000000000", "ifname": "net1"}]
print(json.dumps(c))
EOF
cni GC "" "" "$D/gc.json"
check "GC removes exactly the ports whose attachment is not valid" \
  eval '[ "$(our_ports ovs-err)" = cgckeep00000-net1 ] && [ ! -e "$S/cgcgone00000" ] && [ -d "$S/cgckeep00000" ]'
cni DEL cgckeep000000000 net1 "$D/err.json"
check "no port of ours left after the error-path tests" no_ports_left ovs-err

check "STATUS succeeds while OVS runs" cni STATUS "" "" "$D/err.json"
ovs_stop
cni STATUS "" "" "$D/err.json"
check "STATUS is code 50 when ovsdb-server is unreachable" eval '[ "$(code)" = 50 ]'
cni ADD cdown00000000000 net1 "$D/err.json" /proc/self/ns/net
check "ADD with ovsdb-server down fails (11, try again) and leaves no dir or lease" \
  eval '[ "$(code)" = 11 ] && [ ! -e "$S/cdown0000000" ] && no_leases_for cdown00000000000'

# ovsdb-server up, ovs-vswitchd not: OVSDB takes the port but nobody applies it.
OVS_NO_VSWITCHD=1 ovs_start "$OVSD2" || bad "ovsdb-server alone did not start"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["ovsdbSocket"]=sys.argv[2]; c["ovsTimeout"]=1; print(json.dumps(c))' \
  "$D/err.json" "$OVS_DB" >"$D/novs.json"
cni ADD cnovs00000000000 net1 "$D/novs.json" /proc/self/ns/net
check "ADD without ovs-vswitchd fails after ovsTimeout (112) and rolls back port, bridge, dir, lease" \
  eval '[ "$(code)" = 112 ] && grep -q "is ovs-vswitchd running" "$D/out" && [ -z "$(our_ports ovs-err)" ] && ! $VSCTL br-exists br-err && [ ! -e "$S/cnovs0000000" ] && no_leases_for cnovs00000000000'
check "DEL without ovs-vswitchd still succeeds" cni DEL cnovs00000000000 net1 "$D/novs.json"
ovs_stop
echo "  ($(since "$T")s)"

echo "ovs-e2e: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
