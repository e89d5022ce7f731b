#!/usr/bin/env bash
# make runtime-e2e: our plugins driven by a real container runtime's own CNI support.
#
# podman (Debian's, 4.3) with its CNI network backend (containers.conf: network_backend "cni",
# cni_plugin_dirs = a scratch bin dir holding our release binaries next to Debian's bridge,
# network_config_dir = the conflists written here). podman links libcni v1.1.2, so the
# conflists say cniVersion 1.0.0.
#
#   1. bridge (Debian's) + our host-local as IPAM: `podman run --network nfv-bridge --ip ...`
#      and without --ip; each container sees eth0 with its address (the ips capability for the
#      fixed one); podman inspect agrees; `podman rm` releases the leases.
#   2. the flagship, OVS-DPDK as the seeds run it: our userspace plugin as the network of two
#      containers built here from Debian's dpdk files (buildah, FROM scratch: dpdk-testpmd, the
#      virtio_user/vdev/ring drivers and their libraries, busybox); each runs dpdk-testpmd as
#      the vhost-user server on the socket path our plugin prepared (the shared directory
#      mounted into the container; the container finds its own directory by its hostname, the
#      container ID's first 12 characters, as the plugin names it); 128 packets A -> B -> A
#      through OVS's vhost-user ports, exact counts; `podman rm` (CNI DEL) leaves no port,
#      bridge, socket directory or lease. The containers run unprivileged (podman's default
#      capabilities and IPC_LOCK, as the example pod). podman's libcni (v1.1.2) drops the
#      result's socketPath (its 1.0.0 result type predates the field): the container finds the
#      socket by the plugin's naming, not from the runtime.
#
# podman did every part; containerd's `ctr run --cni` was not needed.
#
# Everything runs in a private network and mount namespace: the bridge, OVS's taps and the
# containers' namespaces never touch the machine's network. Sandbox workarounds as
# deployment/tests/image.sh: no cgroup2 mount with controllers (crun refuses it), containers
# run with --cgroups=disabled and rlimits no higher than the shell's. /var/lib/cni (podman's
# libcni cache, our plugins' records) is a scratch directory here. No registry is contacted;
# image storage is private (vfs) and removed at the end.
# Binaries: $NFV_CNI_BIN_DIR (default target/release). Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

if [ -z "${NFV_RUNTIME_NS:-}" ]; then
  exec env NFV_RUNTIME_NS=1 unshare --mount --net --propagation private bash "$0" "$@"
fi
ip link set lo up
if mountpoint -q /sys/fs/cgroup/unified && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
  umount /sys/fs/cgroup/unified
fi

say() { printf 'runtime-e2e: %s\n' "$*"; }
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "runtime-e2e: ok - $*"; }
bad() { failed=$((failed + 1)); echo "runtime-e2e: FAILED - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
t_start=$(date +%s)

APT=(apt-get -o DPkg::Lock::Timeout=600 -q)
missing=()
for p in podman buildah busybox-static containernetworking-plugins iproute2 util-linux python3; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  "${APT[@]}" update >/dev/null
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
# shellcheck source=conformance/ovs/ovs.sh
source conformance/ovs/ovs.sh
ovs_install

BIN_DIR=${NFV_CNI_BIN_DIR:-$ROOT/target/release}
for p in host-local userspace; do
  [ -x "$BIN_DIR/$p" ] || { say "$BIN_DIR/$p missing: run make build"; exit 1; }
done

W=$(mktemp -d /tmp/nfvrt.XXXXXX)          # storage, conflists, bin dir, logs, leases
OVSD=/run/openvswitch/nfv-rt-$$           # OVS's run directory: where the plugin may reach OVSDB
S=/run/vhostuser/nfv-rt-$$                # sharedDir: the pods' socket directories
P=(podman --root "$W/storage" --runroot "$W/run" --storage-driver vfs)
B=(buildah --root "$W/storage" --runroot "$W/run" --storage-driver vfs)
nproc=$(ulimit -Hu); { [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
RUN=(--cgroups=disabled --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc")
TP_PIDS=()
cleanup() {
  set +e
  for p in "${TP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  "${P[@]}" rm -af -t 0 >/dev/null 2>&1
  ovs_stop
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W" "$OVSD" "$S"; fi
}
trap cleanup EXIT
mkdir -p "$W/bin" "$W/net" "$W/var-lib-cni" "$S"
# podman's libcni caches results under /var/lib/cni, and our plugins keep their records there:
# a scratch one in this mount namespace, so the machine's is never touched.
mount --bind "$W/var-lib-cni" /var/lib/cni

# The node's CNI bin dir: ours, and Debian's bridge for the first network.
for p in host-local userspace; do ln -s "$BIN_DIR/$p" "$W/bin/$p"; done
ln -s /usr/lib/cni/bridge "$W/bin/bridge"
cat >"$W/containers.conf" <<EOF
[network]
network_backend = "cni"
cni_plugin_dirs = ["$W/bin"]
network_config_dir = "$W/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF=$W/containers.conf

# --- images, FROM scratch, from this machine's Debian files ----------------------------------
T=$(date +%s)
rootfs() {  # rootfs DIR FILE...: the files and every library they load, busybox as /bin/sh
  # Merged /usr as on the host: one path per library. (A library copied under both /lib and
  # /usr/lib is loaded twice; DPDK's drivers then register with the other copy of the EAL.)
  local dir=$1; shift
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/run" "$dir/etc" "$dir/var" "$dir/usr/lib/x86_64-linux-gnu" "$dir/usr/lib64"
  ln -s usr/lib "$dir/lib"; ln -s usr/lib64 "$dir/lib64"; ln -s ../run "$dir/var/run"
  ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$dir/usr/lib64/ld-linux-x86-64.so.2"
  cp /bin/busybox "$dir/bin/busybox"
  for a in sh hostname ip cat ls sleep ping; do ln -s busybox "$dir/bin/$a"; done
  local f l
  for f in "$@"; do
    for l in "$f" $(ldd "$f" 2>/dev/null | awk '/=>/ {print $3} /^\t\// {print $1}' | grep '^/'); do
      l=${l/#\/lib\//\/usr\/lib\/}; l=${l/#\/lib64\//\/usr\/lib64\/}
      # the name as it is looked up (a symlink stays one) and the file it resolves to
      [ -e "$dir$l" ] || [ -L "$dir$l" ] || cp -P --parents "$l" "$dir/"
      [ -e "$dir$(readlink -f "$l")" ] || cp -L --parents "$(readlink -f "$l")" "$dir/"
    done
  done
}

build() {  # build NAME DIR
  local c; c=$("${B[@]}" from --quiet scratch)
  "${B[@]}" copy --quiet "$c" "$2/" / >/dev/null
  "${B[@]}" config --workingdir / --cmd '["/bin/sh"]' "$c"
  "${B[@]}" commit --quiet "$c" "$1" >/dev/null
  "${B[@]}" rm "$c" >/dev/null
}
rootfs "$W/img-busybox"
build localhost/nfv-busybox:test "$W/img-busybox"
PMDS=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
# libgcc_s: glibc dlopens it for pthread_cancel
rootfs "$W/img-dpdk" /usr/bin/dpdk-testpmd "$PMDS/librte_net_virtio.so.23.0" "$PMDS/librte_mempool_ring.so.23.0" \
  "$PMDS/librte_bus_vdev.so.23.0" /usr/lib/x86_64-linux-gnu/libgcc_s.so.1
build localhost/nfv-dpdk:test "$W/img-dpdk"
say "images built in $(( $(date +%s) - T )) s: nfv-busybox ($(du -sh "$W/img-busybox" | cut -f1)), nfv-dpdk ($(du -sh "$W/img-dpdk" | cut -f1): dpdk-testpmd, virtio_user, vdev, ring)"

jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
leases() { local f; for f in "$W/ipam/$1"/[0-9]*; do [ -e "$f" ] && basename "$f"; done; return 0; }

# --- 1. bridge + our host-local ----------------------------------------------------------------
T=$(date +%s)
cat >"$W/net/nfv-bridge.conflist" <<EOF
{"cniVersion":"1.0.0","name":"nfv-bridge","plugins":[
 {"type":"bridge","bridge":"nfvbr0","isGateway":true,"capabilities":{"ips":true},
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.89.7.0/24","gateway":"10.89.7.1"}]],
          "routes":[{"dst":"0.0.0.0/0"}],"dataDir":"$W/ipam"}}]}
EOF
check "podman lists the conflist as a network (CNI backend)" \
  bash -c "'${P[0]}' ${P[*]:1} network ls --format '{{.Name}} {{.Driver}}' | grep -qx 'nfv-bridge bridge'"
"${P[@]}" run -d --name br-b "${RUN[@]}" --network nfv-bridge localhost/nfv-busybox:test sleep 600 >/dev/null \
  || bad "podman run --network nfv-bridge"
"${P[@]}" run -d --name br-a "${RUN[@]}" --network nfv-bridge --ip 10.89.7.42 localhost/nfv-busybox:test sleep 600 >/dev/null \
  || bad "podman run --network nfv-bridge --ip 10.89.7.42"
a=$("${P[@]}" exec br-a ip -o -4 addr show dev eth0 2>&1 || true)
b=$("${P[@]}" exec br-b ip -o -4 addr show dev eth0 2>&1 || true)
echo "    br-a: ${a//$'\n'/ }"; echo "    br-b: ${b//$'\n'/ }"
check "the container asked for 10.89.7.42 sees eth0 with 10.89.7.42/24 (ips capability to our host-local)" \
  grep -q 'inet 10.89.7.42/24' <<<"$a"
check "the other container sees eth0 with our host-local's first free address, 10.89.7.2/24" \
  grep -q 'inet 10.89.7.2/24' <<<"$b"
check "its default route is via the gateway our host-local returned" \
  bash -c "'${P[0]}' ${P[*]:1} exec br-b ip route | grep -q 'default via 10.89.7.1 dev eth0'"
check "podman inspect reports the addresses from our result" \
  [ "$("${P[@]}" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' br-a br-b 2>/dev/null | tr '\n' ' ')" = "10.89.7.42 10.89.7.2 " ]
check "the two containers reach each other over the bridge" \
  "${P[@]}" exec br-b ping -c 1 -W 2 10.89.7.42
check "our host-local holds a lease for each" [ "$(leases nfv-bridge | tr '\n' ' ')" = "10.89.7.2 10.89.7.42 " ]
"${P[@]}" rm -f -t 0 br-a br-b >/dev/null
check "podman rm (CNI DEL) released both leases" [ -z "$(leases nfv-bridge)" ]
say "bridge + host-local: $(( $(date +%s) - T )) s"

# --- 2. OVS-DPDK: testpmd in two containers on our userspace plugin's vhost-user sockets -------
T=$(date +%s)
ovs_start "$OVSD" || { bad "OVS-DPDK did not start"; exit 1; }
cat >"$W/net/nfv-ovs.conflist" <<EOF
{"cniVersion":"1.0.0","name":"nfv-ovs","plugins":[
 {"type":"userspace","ovsdbSocket":"$OVS_DB","sharedDir":"$S",
  "host":{"engine":"ovs-dpdk","iftype":"vhostuser","netType":"bridge",
          "vhost":{"mode":"client"},"bridge":{"bridgeName":"br-rt","vlanId":100}},
  "container":{"engine":"ovs-dpdk","iftype":"vhostuser","netType":"interface","vhost":{"mode":"server"}},
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.77.1.0/24"}]],"dataDir":"$W/ipam"}}]}
EOF
# testpmd, as conformance/ovs/e2e.sh runs it without hugepages, as the vhost-user server on
# <sharedDir>/<hostname>/<hostname>-eth0: the directory and port our plugin made for this
# container's ID.
TP='id=$(hostname); exec dpdk-testpmd -l 0-1 --no-pci --no-huge -m 64 --file-prefix=$id'
TP+=' --vdev=net_virtio_user0,path='"$S"'/$id/$id-eth0,server=1,queues=1,mac=$MAC'
TP+=' -- -i --total-num-mbufs=2048 --nb-cores=1 $FWD'
rm -f "$W/cmdA" "$W/cmdB"; mkfifo "$W/cmdA" "$W/cmdB"
"${P[@]}" run -i --name tp-b "${RUN[@]}" --cap-add IPC_LOCK --network nfv-ovs -v "$S:$S" -e MAC=02:00:00:00:0b:01 \
  -e FWD="--forward-mode=macswap --port-topology=loop" localhost/nfv-dpdk:test sh -c "$TP" \
  <"$W/cmdB" >"$W/tpB.log" 2>&1 &
TP_PIDS+=($!)
"${P[@]}" run -i --name tp-a "${RUN[@]}" --cap-add IPC_LOCK --network nfv-ovs -v "$S:$S" -e MAC=02:00:00:00:0a:01 \
  -e FWD="--forward-mode=rxonly --eth-peer=0,02:00:00:00:0b:01" localhost/nfv-dpdk:test sh -c "$TP" \
  <"$W/cmdA" >"$W/tpA.log" 2>&1 &
TP_PIDS+=($!)
exec 7>"$W/cmdA" 8>"$W/cmdB"
ids=""
for _ in $(seq 100); do
  ids=$("${P[@]}" inspect -f '{{.ID}}' tp-a tp-b 2>/dev/null | cut -c1-12 | tr '\n' ' ') && [ "$(wc -w <<<"$ids")" = 2 ] && break
  sleep 0.2
done
read -r A B <<<"$ids"
PA=$A-eth0 PB=$B-eth0
VSCTL="ovs-vsctl --db=unix:$OVS_DB --timeout=20"
up=0
$VSCTL wait-until Interface "$PA" link_state=up >/dev/null 2>&1 && $VSCTL wait-until Interface "$PB" link_state=up >/dev/null 2>&1 && up=1
check "podman ran both containers; our plugin made ports $PA and $PB on br-rt (VLAN 100, dpdkvhostuserclient)" \
  [ "$($VSCTL get Interface "$PA" type 2>/dev/null)/$($VSCTL get Port "$PA" tag 2>/dev/null)/$($VSCTL port-to-br "$PB" 2>/dev/null)" = "dpdkvhostuserclient/100/br-rt" ]
check "OVS connected to the vhost-user servers testpmd started inside the containers (link up)" [ $up = 1 ]
full_a=$("${P[@]}" inspect -f '{{.ID}}' tp-a)
cached=$(jget 'json.dumps(d["result"]["interfaces"])' <"/var/lib/cni/results/nfv-ovs-$full_a-eth0" 2>/dev/null || true)
echo "    podman's libcni cached our result's interfaces as $cached"
# podman 4.3 links libcni v1.1.2, whose 1.0.0 result type predates socketPath: the cached
# result keeps the name and sandbox only, the socket is where the plugin documents it.
cached_if=$(jget 'd[0]["name"]+" "+d[0]["sandbox"].rsplit("/", 1)[0]' <<<"$cached" 2>/dev/null || true)
sockets_ok() { [ -S "$S/$A/$PA" ] && [ -S "$S/$B/$PB" ] && [ "$cached_if" = "eth0 /run/netns" ]; }
check "testpmd's sockets are at <sharedDir>/<id12>/<id12>-eth0; libcni cached eth0 in the container's netns" sockets_ok
check "the containers got their addresses from our host-local" [ "$(leases nfv-ovs | wc -l)" = 2 ]
if [ $up = 1 ]; then
  sleep 1                      # link_state=up can precede the last vring being enabled
  echo start >&8
  echo "start tx_first 4" >&7
  sleep 2
  echo stop >&7; echo stop >&8
  sleep 1
fi
echo quit >&7; echo quit >&8; exec 7>&- 8>&-
for p in "${TP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done; TP_PIDS=()
st() { grep -A2 'Forward statistics for port 0' "$1" | grep -oP "$2-packets: +\K[0-9]+" | head -1; }
atx=$(st "$W/tpA.log" TX); arx=$(st "$W/tpA.log" RX); brx=$(st "$W/tpB.log" RX); btx=$(st "$W/tpB.log" TX)
echo "    A tx=$atx rx=$arx | B rx=$brx tx=$btx (expect 128 each)"
check "128 packets A -> B -> A between the two testpmd containers through OVS-DPDK" \
  [ "$atx/$brx/$btx/$arx" = "128/128/128/128" ]
[ "$atx/$brx/$btx/$arx" = "128/128/128/128" ] || { tail -15 "$W/tpA.log"; tail -5 "$W/tpB.log"; }
"${P[@]}" rm -f -t 0 tp-a tp-b >/dev/null
check "testpmd exited, podman rm (CNI DEL): no port or bridge of ours left in OVS" \
  bash -c "[ -z \"\$($VSCTL list-br)\" ] && [ -z \"\$($VSCTL --bare --columns=name list Interface | grep -e '$A' -e '$B')\" ]"
check "testpmd exited, podman rm (CNI DEL): socket directories, leases and libcni's cache gone" \
  bash -c "[ ! -e '$S/$A' ] && [ ! -e '$S/$B' ] && [ -z \"\$(ls '$W/ipam/nfv-ovs' 2>/dev/null | grep -E '^[0-9]')\" ] && [ -z \"\$(ls /var/lib/cni/results 2>/dev/null)\" ]"
say "OVS-DPDK with testpmd containers: $(( $(date +%s) - T )) s"

say "took $(( $(date +%s) - t_start )) s"
echo "runtime-e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]
