# The demo's sriov vfio part in the lab guest: a DPDK pod gets VF 2, bound to vfio-pci, in
# userspace-driver mode: no netdev moves, the VF's settings go through the PF, the device-info file
# names the VFIO group device the pod's DPDK app opens; DEL gives the node back as it was.
# lab-timeout: 600
# shellcheck shell=sh disable=SC1091,SC2034
DEMO_PART=vfio
. "$LAB/cases/demo-lib.sh"

pf=$(lab_pf)
vf=$(lab_vf_pci 2)
vfline() { ip link show "$pf" | grep -E "^ +vf ($1) "; }

node_before() {
  show vfline 2
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
  show ip netns add dpdk-app && ip -n dpdk-app link set lo up
}

add() { multus_call ADD dpdk-app "$vf"; }

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
  show vfline 2
  expect "VF 2: MAC 02:25:00:00:00:01 (the pod's), VLAN 25, spoof checking on, trust on" \
    sh -c "ip -j -d link show $pf | jq -e '.[0].vfinfo_list[2] | .vlan_list[0].vlan == 25 and .address == \"02:25:00:00:00:01\" and .spoofchk and .trust'"
}

del() {
  multus_call DEL dpdk-app "$vf"
  r=$?
  rm -f "$(jq -r .runtimeConfig.CNIDeviceInfoFile /tmp/dpdk-app.stdin)"
  show ip netns del dpdk-app
  return $r
}

node_after() {
  show vfline 2
  node_state > /tmp/node.after
  show diff /tmp/node.before /tmp/node.after && echo "(no difference)"
}

step "The node before" "VF 2 of the lab's PF, as the node has it before the pod: its line in the PF's VF table, its driver and its VFIO group device." node_before
step "The NetworkAttachmentDefinition and the pod" "The NAD for the DPDK pool (VLAN 25, trust on so DPDK may set promiscuous mode) and a DPDK pod asking for a MAC." nad
step "What Multus hands the plugin" "deviceID is the VF the device plugin allocated; runtimeConfig carries the pod's MAC and the device-info path Multus made up." multus
step "ADD: the sriov plugin prepares the VF for DPDK" "On a VF bound to vfio-pci the plugin sets MAC, VLAN, spoof check and trust through the PF, moves nothing, and reports the VF (pciID) and host-local's address for the app to use." add
step "What the pod has now" "No new netdev in the pod; the VFIO group device is what the device plugin mounts into it." pod
step "The VF as the PF sees it" "The PF enforces what the NAD and the pod asked for." pf_view
step_always "DEL: the pod goes" "The plugin puts VF 2's settings back, removes the device-info file it wrote and releases the address; the VF stays on vfio-pci for the next DPDK pod." del
step_always "The node after" "The record from the start again, and the difference: none." node_after
demo_exit
