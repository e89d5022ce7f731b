# The demo's sriov netdev part in the lab guest: two pods get a kernel VF each on VLAN 100 with an
# address from host-local, exactly as Multus would call the plugin; they ping each other through
# the NIC's switch; DEL gives the node back as it was.
# lab-timeout: 600
# shellcheck shell=sh disable=SC1091,SC2034
DEMO_PART=sriov
. "$LAB/cases/demo-lib.sh"

pf=$(lab_pf)
vfA=$(lab_vf_pci 0) vfB=$(lab_vf_pci 1)
vfline() { show sh -c "/bin/ip link show $pf | grep -E '^ +vf ($1) '"; }

node_before() {
  show ip link show "$pf"
  show sh -c "ls -l /sys/class/net/$pf/device/ | grep virtfn"
  say "VF 0 ($vfA) and VF 1 ($vfB) sit on igbvf with netdevs in the node's namespace: $(lab_vf_netdev 0), $(lab_vf_netdev 1)."
  mkdir -p /var/log/nfv-cni
  node_state > /tmp/node.before
}

nad() {
  show cat "$LAB/cases/manifests/sriov-netdev.yaml"
}

multus() {
  say "The device plugin gave cnf-a VF 0 ($vfA) and cnf-b VF 1 ($vfB). cnf-a's stdin:"
  multus_stdin cnf-a "$vfA" | jq .
  say "cnf-a's environment:"
  multus_env cnf-a ADD
  say "cnf-b's call differs in deviceID and pciBusID ($vfB), the MAC, the IDs and the device-info path:"
  multus_env cnf-b ADD
  show ip netns add cnf-a && ip -n cnf-a link set lo up &&
    show ip netns add cnf-b && ip -n cnf-b link set lo up &&
    say "(the runtime made the pods' network namespaces: Multus gets their paths as CNI_NETNS)"
}

add() {
  multus_call ADD cnf-a "$vfA" || return 1
  multus_call ADD cnf-b "$vfB" || return 1
}

pods() {
  show ip netns exec cnf-a ip -d link show net1 || return 1
  show ip -n cnf-a addr show net1
  show ip -n cnf-a route
  show ip -n cnf-b -br addr
  info=$(jq -r .runtimeConfig.CNIDeviceInfoFile /tmp/cnf-a.stdin)
  show jq . "$info"
  expect "cnf-a's net1 has 10.56.100.10/24 and the pod's MAC" \
    sh -c "ip -n cnf-a -j addr show net1 | jq -e '.[0].address == \"02:00:00:00:01:01\" and any(.[0].addr_info[]; .local == \"10.56.100.10\")'" &&
    expect "the VF netdevs left the node's namespace" test -z "$(lab_vf_netdev 0)$(lab_vf_netdev 1)"
}

pf_view() {
  vfline "0|1"
  expect "VF 0: VLAN 100, QoS 2, MAC 02:00:00:00:01:01, spoof checking on, trust off, max_tx_rate 1000" \
    sh -c "ip -j -d link show $pf | jq -e '.[0].vfinfo_list[0] | .vlan_list[0].vlan == 100 and .vlan_list[0].qos == 2 and .address == \"02:00:00:00:01:01\" and .spoofchk and (.trust | not) and .rate.max_tx == 1000'"
}

counters() { ip netns exec "$1" cat /sys/class/net/net1/statistics/tx_packets /sys/class/net/net1/statistics/rx_packets | tr '\n' ' '; }
traffic() {
  a0=$(counters cnf-a) b0=$(counters cnf-b)
  echo "packets before (tx rx): cnf-a $a0  cnf-b $b0"
  # The first exchange also resolves ARP through the NIC's switch; wait for it within a deadline.
  lab_wait 20 ip netns exec cnf-a ping -c 1 -W 1 10.56.100.11 > /dev/null || { echo "no first reply"; return 1; }
  echo "@@demo cmd ip netns exec cnf-a ping -c 10 -i 0.2 -W 2 10.56.100.11"
  ip netns exec cnf-a ping -c 10 -i 0.2 -W 2 10.56.100.11 > /tmp/ping.out 2>&1
  cat /tmp/ping.out
  a1=$(counters cnf-a) b1=$(counters cnf-b)
  echo "packets after  (tx rx): cnf-a $a1  cnf-b $b1"
  show ip netns exec cnf-b ip -s link show net1
  expect "10 requests, 10 replies" grep -q "10 packets transmitted, 10 packets received" /tmp/ping.out
}

del() {
  multus_call DEL cnf-b "$vfB"
  rb=$?
  multus_call DEL cnf-a "$vfA"
  ra=$?
  rm -f "$(jq -r .runtimeConfig.CNIDeviceInfoFile /tmp/cnf-a.stdin)" "$(jq -r .runtimeConfig.CNIDeviceInfoFile /tmp/cnf-b.stdin)"
  echo "(Multus removed the device-info files it asked for; the runtime deletes the namespaces:)"
  show ip netns del cnf-a
  show ip netns del cnf-b
  [ "$ra$rb" = 00 ]
}

node_after() {
  lab_wait 5 sh -c "test -n \"\$(lab_vf_netdev 0)\" -a -n \"\$(lab_vf_netdev 1)\"" 2>/dev/null
  vfline "0|1"
  node_state > /tmp/node.after
  say "Kept on purpose, not compared: host-local's last_reserved_ip and lock (as the reference plugin keeps them) and its owner index, the plugins' per-device lock files:"
  node_kept
  show diff /tmp/node.before /tmp/node.after && echo "(no difference)"
}

step "The node before" "The lab's Intel 82576 PF and its VFs as the node has them now: the VF table, every VF's driver, and the files CNI keeps, recorded for the comparison at the end." node_before
step "The NetworkAttachmentDefinition and the pods" "The cluster admin's NAD for VLAN 100 (its resourceName is the device plugin's pool) and two pods that select it, each asking for a MAC." nad
step "What Multus hands the plugin" "Multus puts the allocated VF's PCI address into the NAD's config as deviceID, adds runtimeConfig for the capabilities the NAD declares (mac, the device-info path), and calls the plugin with the CNI_* variables: built here by the Multus replay tier's rules." multus
step "ADD: the sriov plugin attaches the VFs" "The plugin sets the VF up through the PF (VLAN, QoS, MAC, spoof check, trust, rate), moves its netdev into the pod as net1 and asks host-local for an address. This is its result, as Multus gets it." add
step "What the pods have now" "Inside cnf-a: net1 is the igbvf VF, with the pod's MAC, host-local's address and route; the device-info file tells the pod which VF it got." pods
step "The VFs as the PF sees them" "The PF's view of VF 0 and VF 1: the settings the NAD asked for, enforced by the NIC." pf_view
step "Traffic: cnf-a pings cnf-b" "Ten pings from cnf-a to cnf-b (10.56.100.11) go out of one VF and into the other through the NIC's switch, tagged VLAN 100; the pods' packet counters move." traffic
step_always "DEL: the pods go" "Multus calls DEL with the cached config and result (prevResult); the plugin puts the VF's settings back, returns its netdev to the node under its own name and releases the address." del
step_always "The node after" "The record from the start again, compared with the first: the step fails unless they are the same." node_after
demo_exit
