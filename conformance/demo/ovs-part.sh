#!/bin/bash
# The demo's OVS-DPDK part, sourced by conformance/demo.sh and run on this machine: its own
# ovsdb-server and ovs-vswitchd-dpdk (conformance/ovs/ovs.sh, as the OVS-DPDK tier starts them),
# two pods (network namespaces) get vhost-user ports from the userspace plugin exactly as Multus
# would call it, dpdk-testpmd in each pod exchanges packets over its socket while OVS counts them
# on the ports, then DEL and the node as it was. demo_ovs_cleanup (demo.sh's trap) undoes what is
# left when a step failed or the demo was interrupted.
#
# Uses ROOT, DEMO_OUT, BIN_DIR and lib.sh. $VSCTL and the testpmd command line are words on purpose.
# shellcheck disable=SC2086,SC2034

# shellcheck source=conformance/ovs/ovs.sh
source "$ROOT/conformance/ovs/ovs.sh"

DEMO_OVS_DIR=/run/openvswitch/nfv-demo        # the NAD's ovsdbSocket is db.sock in it
DEMO_OVS_SHARED=/var/lib/cni/usrspcni         # the NAD's sharedDir
DEMO_OVS_IPAM=/var/lib/cni/networks/ovs-dpdk-net
DEMO_OVS_INDEX=/var/lib/cni/networks/.nfv-hostlocal/ovs-dpdk-net   # host-local's owner index
DEMO_OVS_PODS=(dpdk-vhost-a dpdk-vhost-b)
DEMO_OVS_ADDED=()                              # pods whose ADD succeeded (DEL in the cleanup)
DEMO_OVS_TP=()                                 # testpmd pids
DEMO_OVS_NEW=()                                # directories the demo created (removed at the end)
DEMO_OVS_STARTED=0

demo_ovs_json() { python3 -m json.tool "$@"; }
demo_ovs_cid() { demo_sandbox "$1"; }
demo_ovs_port() { local c; c=$(demo_ovs_cid "$1"); echo "${c:0:12}-net1"; }

# demo_ovs_call VERB POD: the userspace plugin called as Multus calls it (stdin and CNI_* built
# with the Multus replay tier's rules); DEL gets ADD's result as prevResult (libcni's cache).
demo_ovs_call() {
  local verb=$1 pod=$2 d=$DEMO_OUT/multus rc
  cp "$d/$pod.stdin" "$d/$pod.call"
  if [ "$verb" = DEL ] && [ -s "$d/$pod.result" ]; then
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["prevResult"]=json.load(open(sys.argv[2])); print(json.dumps(c))' \
      "$d/$pod.stdin" "$d/$pod.result" > "$d/$pod.call"
  fi
  printf '%s$ CNI_COMMAND=%s (and the CNI_* variables above) %s/userspace < %s%s\n' "$C_CMD" "$verb" "$BIN_DIR" "$d/$pod.call" "$C_OFF"
  # shellcheck disable=SC2046  # one argument per CNI_* line
  env -i PATH="$PATH" $(sed -e "s|@NETNS@|/var/run/netns/$pod|" -e "s|@CNI_PATH@|$BIN_DIR|" \
      -e "s|^CNI_COMMAND=.*|CNI_COMMAND=$verb|" "$d/$pod.env") \
    "$BIN_DIR/userspace" < "$d/$pod.call" > "$d/$pod.out" 2>> "$DEMO_OUT/userspace.log"
  rc=$?
  if [ -s "$d/$pod.out" ]; then demo_ovs_json "$d/$pod.out" | sed 's/^/  /'; fi
  if [ "$rc" = 0 ] && [ "$verb" = ADD ]; then cp "$d/$pod.out" "$d/$pod.result"; DEMO_OVS_ADDED+=("$pod"); fi
  return "$rc"
}

# What of the node this part touches: OVS's bridges and ports, the sharedDir, the plugin's links
# to pod volumes, host-local's leases for the network (not its last_reserved_ip.* and lock, kept on
# purpose as the reference plugin keeps them), the pods' namespaces, the bridge's LOCAL tap.
demo_ovs_state() {
  echo "bridges: $($VSCTL list-br | tr '\n' ' ')"
  $VSCTL --bare --columns=name list Interface | grep -v '^$' | sort | sed 's/^/interface /'
  find "$DEMO_OVS_SHARED" /run/nfv-cni -mindepth 1 2> /dev/null | sort
  find "$DEMO_OVS_IPAM" -type f 2> /dev/null | grep -v -e '/last_reserved_ip\.[0-9]*$' -e '/lock$' | sort
  local n
  for n in "${DEMO_OVS_PODS[@]}"; do [ -e "/run/netns/$n" ] && echo "netns $n"; done
  ip -br link show br-dpdk 2>/dev/null || true
}

demo_ovs_setup() {
  local p
  ovs_install || return 1
  if [ -f "$DEMO_OVS_DIR/ovsdb-server.pid" ] && kill -0 "$(cat "$DEMO_OVS_DIR/ovsdb-server.pid")" 2> /dev/null; then
    demo_note "another demo's OVS runs in $DEMO_OVS_DIR: stop it first"
    return 1
  fi
  rm -rf "$DEMO_OVS_DIR"
  for p in "$DEMO_OVS_IPAM" "$DEMO_OVS_INDEX" "${DEMO_OVS_INDEX%/*}" "$DEMO_OVS_SHARED" /var/lib/cni/networks /var/lib/cni /run/openvswitch; do
    [ -e "$p" ] || DEMO_OVS_NEW+=("$p")
  done
  demo_note "ovsdb-server and ovs-vswitchd-dpdk with their database, logs and sockets in $DEMO_OVS_DIR (DPDK without hugepages)"
  DEMO_OVS_STARTED=1
  ovs_start "$DEMO_OVS_DIR" || return 1
  demo_show "$OVS_VSWITCHD" --version
  demo_show $VSCTL get Open_vSwitch . dpdk_version dpdk_initialized
  mkdir -p "$DEMO_OUT/multus"
  for p in "${DEMO_OVS_PODS[@]}"; do
    python3 "$ROOT/conformance/demo/multus_call.py" "$ROOT/conformance/demo/manifests/ovs-dpdk.yaml" "$p" \
      "$(demo_ovs_cid "$p")" "" "$DEMO_OUT/multus/$p" || return 1
  done
}

demo_ovs_before() {
  demo_show $VSCTL show
  demo_ovs_state > "$DEMO_OUT/ovs.before"
  demo_note "recorded: OVS's bridges and interfaces, $DEMO_OVS_SHARED, /run/nfv-cni, host-local's leases for ovs-dpdk-net, the pods' namespaces"
}

demo_ovs_nad() { demo_show cat "$ROOT/conformance/demo/manifests/ovs-dpdk.yaml"; }

demo_ovs_multus() {
  local p
  demo_note "dpdk-vhost-a's stdin (no device plugin pool: no deviceID, and no device-info path from Multus):"
  demo_ovs_json "$DEMO_OUT/multus/dpdk-vhost-a.stdin" | sed 's/^/  /'
  for p in "${DEMO_OVS_PODS[@]}"; do
    demo_note "$p's environment:"
    sed -e "s|@NETNS@|/var/run/netns/$p|" -e "s|@CNI_PATH@|$BIN_DIR|" "$DEMO_OUT/multus/$p.env" | sed 's/^/    /'
  done
  for p in "${DEMO_OVS_PODS[@]}"; do
    demo_show ip netns add "$p" && ip -n "$p" link set lo up || return 1
  done
}

demo_ovs_add() {
  demo_ovs_call ADD dpdk-vhost-a && demo_ovs_call ADD dpdk-vhost-b
}

demo_ovs_pods() {
  local a b sa
  a=$(demo_ovs_port dpdk-vhost-a) b=$(demo_ovs_port dpdk-vhost-b)
  sa=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["interfaces"][0]["socketPath"])' "$DEMO_OUT/multus/dpdk-vhost-a.result")
  demo_show $VSCTL show
  demo_show $VSCTL --columns=name,type,options,error list Interface "$a"
  demo_note "The pod's side: the socket directory the pod mounts (its hostPath volume), and the config the plugin left there for the app; the socket itself appears when the app (vhost-user server in client mode) starts:"
  demo_show ls -la "$(dirname "$sa")"
  demo_show demo_ovs_json "$(dirname "$sa")/$a.json"
  demo_show ip -n dpdk-vhost-a -br link
  [ "$($VSCTL get Interface "$a" type)/$($VSCTL get Port "$a" tag)" = dpdkvhostuserclient/100 ] &&
    [ "$($VSCTL get Interface "$b" type)/$($VSCTL get Port "$b" tag)" = dpdkvhostuserclient/100 ] &&
    demo_note "ok: both ports are dpdkvhostuserclient on br-dpdk with VLAN tag 100"
}

demo_ovs_stats() {  # demo_ovs_stats PORT: the packet and drop counters OVS keeps for it
  local c
  c=$($VSCTL get Interface "$1" statistics | grep -oE '\b(rx|tx)_(packets|dropped)=[0-9]+' | tr '\n' ' ')
  echo "${c:-none yet (no link)}"
}
# demo_ovs_count PORT KEY: one counter (0 when OVS has none yet)
demo_ovs_count() {
  local v
  v=$($VSCTL get Interface "$1" statistics | grep -oE "\\b$2=[0-9]+" | cut -d= -f2)
  echo "${v:-0}"
}

demo_ovs_traffic() {
  local a b sa sb ma mb tp up=0 d=$DEMO_OUT
  a=$(demo_ovs_port dpdk-vhost-a) b=$(demo_ovs_port dpdk-vhost-b)
  for p in a b; do
    eval "s$p=\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"interfaces\"][0][\"socketPath\"])' $d/multus/dpdk-vhost-$p.result)"
    eval "m$p=\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"interfaces\"][0][\"mac\"])' $d/multus/dpdk-vhost-$p.result)"
  done
  demo_note "OVS's counters before: port a $(demo_ovs_stats "$a")"
  demo_note "                      port b $(demo_ovs_stats "$b")"
  local rxa0 rxb0 txa0 txb0
  rxa0=$(demo_ovs_count "$a" rx_packets) txa0=$(demo_ovs_count "$a" tx_packets)
  rxb0=$(demo_ovs_count "$b" rx_packets) txb0=$(demo_ovs_count "$b" tx_packets)
  tp="dpdk-testpmd -l 0-1 --no-pci --no-huge -m 64"
  rm -f "$d/cmdA" "$d/cmdB"
  mkfifo "$d/cmdA" "$d/cmdB"
  printf '%s$ ip netns exec dpdk-vhost-b %s --vdev=net_virtio_user0,path=%s,server=1,mac=%s -- -i --forward-mode=macswap%s\n' "$C_CMD" "$tp" "$sb" "$mb" "$C_OFF"
  ip netns exec dpdk-vhost-b $tp --file-prefix=demob$$ --vdev="net_virtio_user0,path=$sb,server=1,queues=1,mac=$mb" -- \
    -i --forward-mode=macswap --port-topology=loop --total-num-mbufs=2048 --nb-cores=1 < "$d/cmdB" > "$d/tpB.log" 2>&1 &
  DEMO_OVS_TP+=($!)
  printf '%s$ ip netns exec dpdk-vhost-a %s --vdev=net_virtio_user0,path=%s,server=1,mac=%s -- -i --forward-mode=rxonly --eth-peer=0,%s%s\n' "$C_CMD" "$tp" "$sa" "$ma" "$mb" "$C_OFF"
  ip netns exec dpdk-vhost-a $tp --file-prefix=demoa$$ --vdev="net_virtio_user0,path=$sa,server=1,queues=1,mac=$ma" -- \
    -i --forward-mode=rxonly --total-num-mbufs=2048 --nb-cores=1 --eth-peer=0,"$mb" < "$d/cmdA" > "$d/tpA.log" 2>&1 &
  DEMO_OVS_TP+=($!)
  # Read-write: opening a FIFO so never blocks, even when a testpmd died before opening its end.
  exec 7<> "$d/cmdA" 8<> "$d/cmdB"
  $VSCTL --timeout=30 wait-until Interface "$a" link_state=up > /dev/null 2>&1 &&
    $VSCTL --timeout=30 wait-until Interface "$b" link_state=up > /dev/null 2>&1 && up=1
  if [ "$up" = 1 ]; then
    demo_note "both testpmds created their sockets and OVS connected (link_state up):"
    demo_show ls -l "$sa" "$sb"
    sleep 1                       # link_state=up can precede the last vring being enabled
    demo_note "testpmd b: start (macswap: every packet back to its sender); testpmd a: start tx_first 4 (4 bursts of 32 to b)"
    echo start >&8
    echo "start tx_first 4" >&7
    sleep 2
    echo stop >&7
    echo stop >&8
    sleep 1
  fi
  echo quit >&7
  echo quit >&8
  exec 7>&- 8>&-
  # testpmd quits within a second or two; one still waiting for its vhost-user peer (a link that
  # never came up) never reads "quit": 15 s, then it is killed.
  local p i
  for i in $(seq 75); do
    for p in "${DEMO_OVS_TP[@]}"; do kill -0 "$p" 2> /dev/null && break; p=; done
    [ -n "$p" ] || break
    sleep 0.2
  done
  for p in "${DEMO_OVS_TP[@]}"; do kill -9 "$p" 2> /dev/null && demo_note "testpmd $p did not quit within 15 s: killed"; done
  wait "${DEMO_OVS_TP[@]}" 2> /dev/null
  DEMO_OVS_TP=()
  [ "$up" = 1 ] || { demo_note "the vhost-user links did not come up; testpmd a said:"; tail -5 "$d/tpA.log" | sed 's/^/    /'; return 1; }
  st() { grep -A2 'Forward statistics for port 0' "$1" | grep -oP "$2-packets: +\K[0-9]+" | head -1; }
  demo_note "testpmd a: TX $(st "$d/tpA.log" TX), RX $(st "$d/tpA.log" RX); testpmd b: RX $(st "$d/tpB.log" RX), TX $(st "$d/tpB.log" TX)"
  demo_note "OVS's counters after:  port a $(demo_ovs_stats "$a")"
  demo_note "                      port b $(demo_ovs_stats "$b")"
  demo_note "(OVS's rx is what it received from the pod, its tx what it sent to the pod)"
  local moved
  moved=$(($(demo_ovs_count "$a" rx_packets) - rxa0))/$(($(demo_ovs_count "$b" tx_packets) - txb0))
  moved=$moved/$(($(demo_ovs_count "$b" rx_packets) - rxb0))/$(($(demo_ovs_count "$a" tx_packets) - txa0))
  [ "$(st "$d/tpA.log" TX)/$(st "$d/tpB.log" RX)/$(st "$d/tpB.log" TX)/$(st "$d/tpA.log" RX)" = 128/128/128/128 ] &&
    [ "$moved" = 128/128/128/128 ] &&
    demo_note "ok: 128 packets a -> b and 128 back, none lost; OVS switched all 256 (rx a, tx b, rx b, tx a: $moved)"
}

demo_ovs_del() {
  local rc=0 p
  for p in dpdk-vhost-b dpdk-vhost-a; do
    demo_ovs_call DEL "$p" || rc=1
  done
  [ "$rc" = 0 ] && DEMO_OVS_ADDED=()
  for p in "${DEMO_OVS_PODS[@]}"; do demo_show ip netns del "$p" || rc=1; done
  return "$rc"
}

demo_ovs_after() {
  demo_show $VSCTL show
  demo_ovs_state > "$DEMO_OUT/ovs.after"
  demo_show diff "$DEMO_OUT/ovs.before" "$DEMO_OUT/ovs.after" && demo_note "(no difference)"
}

# What is left after a failure or an interruption: testpmd, attachments (DEL), namespaces, OVS,
# the directories the demo created (the ones no pod of the demo left anything in).
demo_ovs_cleanup() {
  local p
  for p in "${DEMO_OVS_TP[@]}"; do kill -9 "$p" 2> /dev/null; done
  for p in "${DEMO_OVS_ADDED[@]}"; do demo_ovs_call DEL "$p" > /dev/null 2>&1; done
  for p in "${DEMO_OVS_PODS[@]}"; do ip netns del "$p" 2> /dev/null; done
  [ "$DEMO_OVS_STARTED" = 1 ] && ovs_stop
  DEMO_OVS_STARTED=0
  rm -rf "$DEMO_OVS_DIR" "/var/run/dpdk/demoa$$" "/var/run/dpdk/demob$$"
  # Deepest first; host-local's directories for the network are the demo's alone, the others may
  # have gained other users' files meanwhile: removed only when empty.
  for p in "${DEMO_OVS_NEW[@]}"; do
    case $p in
      "$DEMO_OVS_IPAM" | "$DEMO_OVS_INDEX") rm -rf "$p" ;;
      *) rmdir "$p" 2> /dev/null ;;
    esac
  done
  DEMO_OVS_NEW=()
}

demo_ovs() {
  DEMO_PART=ovs DEMO_PART_BROKEN=0
  demo_part ovs "OVS-DPDK: vhost-user ports from the userspace plugin" \
    "Two DPDK pods on OVS-DPDK's br-dpdk, VLAN 100, in vhost-user client mode: the plugin makes each pod a port and a socket directory, each pod's testpmd creates its socket there, OVS connects and switches packets between them."
  demo_step "Start OVS-DPDK" "This machine's OVS-DPDK for the demo (Debian's openvswitch-switch-dpdk, installed when missing), as the OVS-DPDK tier runs it: no hugepages, no NIC, only vhost-user ports." demo_ovs_setup
  demo_step "The node before" "OVS has no bridge yet; the record of what this part may touch, for the comparison at the end." demo_ovs_before
  demo_step "The NetworkAttachmentDefinition and the pods" "The NAD for OVS-DPDK vhost-user ports on br-dpdk, VLAN 100, and two DPDK pods that select it." demo_ovs_nad
  demo_step "What Multus hands the plugin" "The stdin and CNI_* variables for each pod, built with the Multus replay tier's rules; the runtime has made the pods' namespaces." demo_ovs_multus
  demo_step "ADD: the userspace plugin makes the ports" "The plugin creates br-dpdk (the first pod), a dpdkvhostuserclient port per pod with VLAN tag 100, the pod's socket directory and its config for the app, and asks host-local for an address." demo_ovs_add
  demo_step "What the pods have now" "OVS's view, and the pod's: where its DPDK app is to create the vhost-user socket." demo_ovs_pods
  demo_step "Traffic: testpmd over vhost-user, counted by OVS" "testpmd in each pod opens its socket (virtio_user, as a vhost-user server); pod a sends 128 packets to b, b returns each one; OVS counts them on both ports." demo_ovs_traffic
  demo_step_always "DEL: the pods go" "Multus calls DEL with the cached config and result; the plugin removes each port, br-dpdk with the last one, the socket directories and the leases." demo_ovs_del
  demo_step_always "The node after" "The record from the start again, compared with the first: the step fails unless they are the same." demo_ovs_after
  demo_ovs_cleanup
}
