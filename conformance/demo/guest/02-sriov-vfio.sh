# The demo's sriov vfio part in the lab guest: a DPDK pod gets VF 2, bound to vfio-pci, in
# userspace-driver mode: no netdev moves, the VF's settings go through the PF, the device-info file
# names the VFIO group device the pod's DPDK app opens. dpdk-testpmd in the pod drives the VF and
# answers a kernel pod's pings on the same VLAN (VF 0); DEL gives the node back as it was.
# lab-timeout: 600
# shellcheck shell=sh disable=SC1091,SC2034
DEMO_PART=vfio
. "$LAB/cases/demo-lib.sh"

pf=$(lab_pf)
vf=$(lab_vf_pci 2) vfC=$(lab_vf_pci 0)
vfline() { show sh -c "/bin/ip link show $pf | grep -E '^ +vf ($1) '"; }

node_before() {
  vfline "0|2"
  show readlink "/sys/bus/pci/devices/$vf/driver"
  show ls -l /dev/vfio/
  say "VF 2 ($vf) is bound to vfio-pci by node policy (the device plugin's DPDK pool): it has no netdev, only its IOMMU group's device $(lab_vf_vfio_dev 2)."
  node_state > /tmp/node.before
}

nad() { show cat "$LAB/cases/manifests/sriov-vfio.yaml"; }

multus() {
  say "The device plugin gave dpdk-app VF 2 ($vf). The stdin Multus hands the plugin:"
  multus_stdin dpdk-app "$vf" | jq .
  say "and the environment (no interface name in the annotation: Multus makes it net1):"
  multus_env dpdk-app ADD
  say "The client pod's call (VF 0, $vfC, from the netdev pool):"
  multus_stdin client "$vfC" | jq -c .
  multus_env client ADD | grep -E '^CNI_(CONTAINERID|IFNAME)='
  show ip netns add dpdk-app && ip -n dpdk-app link set lo up &&
    show ip netns add client && ip -n client link set lo up
}

add() { multus_call ADD dpdk-app "$vf" && multus_call ADD client "$vfC"; }

pod() {
  show ip -n dpdk-app link show
  say "Nothing moved: the VF stays on vfio-pci and the pod's DPDK app drives it from user space. It learns which device from the device-info file Multus asked for:"
  info=$(jq -r .runtimeConfig.CNIDeviceInfoFile /tmp/dpdk-app.stdin)
  show jq . "$info" || return 1
  dev=$(jq -r .vfio.device "$info")
  show ls -l "$dev" /dev/vfio/vfio
  expect "the VF is still on vfio-pci" test "$(lab_vf_driver 2)" = vfio-pci &&
    expect "the device-info file names VF 2 and its group device $(lab_vf_vfio_dev 2)" \
      test "$(jq -r '.pci["pci-address"] + " " + .vfio.device' "$info")" = "$vf $(lab_vf_vfio_dev 2)" &&
    expect "the group device opens, as the DPDK app opens it" sh -c "exec 3<> $dev"
}

pf_view() {
  vfline "0|2"
  expect "VF 2: MAC 02:25:00:00:00:01 (the pod's), VLAN 25, spoof checking on, trust on" \
    sh -c "ip -j -d link show $pf | jq -e '.[0].vfinfo_list[2] | .vlan_list[0].vlan == 25 and .address == \"02:25:00:00:00:01\" and .spoofchk and .trust'"
}

ping_once() { ip netns exec client ping -c 1 -W 1 "$1" > /dev/null; }
counters() { ip netns exec client cat /sys/class/net/net1/statistics/tx_packets /sys/class/net/net1/statistics/rx_packets | tr '\n' ' '; }
traffic() {
  ip=$(jq -r '.ips[0].address' /tmp/dpdk-app.result | cut -d/ -f1)
  say "The app takes its VF from the device-info file and runs with the pod's capabilities only (IPC_LOCK), hugepages, in icmpecho mode: it answers ARP and ping for the address the plugin reported ($ip)."
  info=$(jq -r .runtimeConfig.CNIDeviceInfoFile /tmp/dpdk-app.stdin)
  pci=$(jq -r '.pci["pci-address"]' "$info")
  echo "@@demo cmd ip netns exec dpdk-app setpriv --inh-caps=-all --bounding-set=-all,+ipc_lock -- dpdk-testpmd -l 0-1 -n 1 --in-memory -a $pci -- --forward-mode=icmpecho --total-num-mbufs=2048"
  lab_testpmd_start tp dpdk-app setpriv --inh-caps=-all --bounding-set=-all,+ipc_lock -- \
    dpdk-testpmd -l 0-1 -n 1 --in-memory -a "$pci" -- --forward-mode=icmpecho --total-num-mbufs=2048 --rxq=1 --txq=1
  if ! lab_wait 90 ping_once "$ip"; then
    lab_testpmd_stop tp
    tail -20 /tmp/tp.out
    echo "testpmd did not answer within 90 s"
    return 1
  fi
  echo "(testpmd answers)"
  c0=$(counters)
  echo "client's packets before (tx rx): $c0"
  echo "@@demo cmd ip netns exec client ping -c 10 -i 0.2 -W 2 $ip"
  ip netns exec client ping -c 10 -i 0.2 -W 2 "$ip" > /tmp/ping.out 2>&1
  cat /tmp/ping.out
  echo "client's packets after  (tx rx): $(counters)"
  lab_testpmd_stop tp
  echo "testpmd stopped (exit $?); its port's counters:"
  sed -n '/Forward statistics for port 0/,/-----------------------------------$/p' /tmp/tp.out | head -n 4
  grep -q "10 packets transmitted, 10 packets received" /tmp/ping.out &&
    echo "ok: 10 requests, 10 replies" &&
    expect "testpmd received and sent at least the 10 counted" \
      test "$(lab_testpmd_stat tp RX)" -ge 10 -a "$(lab_testpmd_stat tp TX)" -ge 10 &&
    expect "testpmd's port had the pod's MAC the plugin set through the PF" grep -q '^Port 0: 02:25:00:00:00:01' /tmp/tp.out
}

del() {
  multus_call DEL client "$vfC"
  rc=$?
  multus_call DEL dpdk-app "$vf"
  r=$?
  rm -f "$(jq -r .runtimeConfig.CNIDeviceInfoFile /tmp/dpdk-app.stdin)" "$(jq -r .runtimeConfig.CNIDeviceInfoFile /tmp/client.stdin)"
  show ip netns del dpdk-app
  show ip netns del client
  [ "$r$rc" = 00 ]
}

node_after() {
  lab_wait 5 sh -c "test -n \"\$(lab_vf_netdev 0)\"" 2>/dev/null
  vfline "0|2"
  node_state > /tmp/node.after
  say "Kept on purpose, not compared: host-local's last_reserved_ip and lock (as the reference plugin keeps them) and its owner index, the plugins' per-device lock files:"
  node_kept
  show diff /tmp/node.before /tmp/node.after && echo "(no difference)"
}

step "The node before" "VF 2 of the lab's PF (and VF 0 for a client pod), as the node has them: their lines in the PF's VF table, VF 2's driver and VFIO group device." node_before
step "The NetworkAttachmentDefinitions and the pods" "The NAD for the DPDK pool (VLAN 25, trust on so DPDK may set promiscuous mode) and a DPDK pod asking for a MAC; a kernel pod on VLAN 25 to send it traffic." nad
step "What Multus hands the plugin" "deviceID is the VF the device plugin allocated; runtimeConfig carries the pod's MAC and the device-info path Multus made up." multus
step "ADD: the sriov plugin prepares the VF for DPDK" "On a VF bound to vfio-pci the plugin sets MAC, VLAN, spoof check and trust through the PF, moves nothing, and reports the VF (pciID) and host-local's address for the app to use. The client pod gets VF 0's netdev as net1." add
step "What the DPDK pod has now" "No new netdev in the pod; the VFIO group device is what the device plugin mounts into it." pod
step "The VFs as the PF sees them" "The PF enforces what the NADs and the pod asked for." pf_view
step "Traffic: dpdk-testpmd on the VF answers the client's pings" "DPDK's igbvf driver runs the VF from user space through VFIO; the client's pings cross the NIC's switch on VLAN 25, and both sides count them." traffic
step_always "DEL: the pods go" "The plugin puts VF 2's and VF 0's settings back, removes the device-info files it wrote and releases the addresses; VF 2 stays on vfio-pci for the next DPDK pod, VF 0's netdev comes home." del
step_always "The node after" "The record from the start again, compared with the first: the step fails unless they are the same." node_after
demo_exit
