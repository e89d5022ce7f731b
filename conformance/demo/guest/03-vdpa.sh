# The demo's vdpa part in the lab guest: vdpa_sim_net devices as a DPDK pod (vhost: the
# /dev/vhost-vdpa-N char device) and a kernel pod (virtio: the virtio netdev moved in as fast0)
# get them, exactly as Multus would call the plugin; DEL gives the node back as it was.
# lab-timeout: 600
# shellcheck shell=sh disable=SC1091,SC2034
DEMO_PART=vdpa
. "$LAB/cases/demo-lib.sh"

node_before() {
  show vdpa dev show
  show ls -l /sys/bus/vdpa/devices/
  show sh -c "ls -l /dev/ | grep vhost-vdpa"
  say "vdpa0 is on vhost_vdpa (a char device for a DPDK app), vdpa1 on virtio_vdpa (a kernel netdev: $(lab_vdpa_netdev vdpa1))."
  node_state > /tmp/node.before
}

nad() { show cat "$LAB/cases/manifests/vdpa.yaml"; }

multus() {
  say "testpmd-vdpa selects vdpa-vhost; app-vdpa selects vdpa-virtio as fast0. No device plugin pool, so no deviceID and no runtimeConfig: Multus hands over the NAD's config with name and cniVersion."
  multus_stdin testpmd-vdpa "" | jq -c .
  multus_env testpmd-vdpa ADD
  multus_stdin app-vdpa "" | jq -c .
  multus_env app-vdpa ADD
  show ip netns add testpmd-vdpa && ip -n testpmd-vdpa link set lo up &&
    show ip netns add app-vdpa && ip -n app-vdpa link set lo up
}

add() {
  multus_call ADD testpmd-vdpa "" || return 1
  multus_call ADD app-vdpa "" || return 1
}

pods() {
  chardev=$(lab_vdpa_chardev vdpa0)
  say "testpmd-vdpa: its interface is vdpa0's char device $chardev, which the device plugin mounts and DPDK's virtio_user opens; no netdev in the pod:"
  show ip -n testpmd-vdpa -br link
  show ls -l "$chardev"
  say "app-vdpa: vdpa1's virtio netdev is now fast0 in the pod, with host-local's address, MTU 1400 and the route:"
  show ip netns exec app-vdpa ip -d link show fast0 || return 1
  show ip -n app-vdpa addr show fast0
  show ip -n app-vdpa route
  show ip netns exec app-vdpa readlink /sys/class/net/fast0/device/driver
  expect "vdpa0's char device is still there, untouched" test -c "$chardev" &&
    expect "app-vdpa's fast0: 10.56.41.2/24, MTU 1400, up" \
      sh -c "ip -n app-vdpa -j addr show fast0 | jq -e '.[0].mtu == 1400 and (.[0].flags | index(\"UP\")) and any(.[0].addr_info[]; .local == \"10.56.41.2\")'" &&
    expect "vdpa1's netdev left the node's namespace" test -z "$(lab_vdpa_netdev vdpa1)"
}

del() {
  multus_call DEL app-vdpa ""
  ra=$?
  multus_call DEL testpmd-vdpa ""
  rt=$?
  show ip netns del app-vdpa
  show ip netns del testpmd-vdpa
  [ "$ra$rt" = 00 ]
}

node_after() {
  show vdpa dev show
  node_state > /tmp/node.after
  say "Kept on purpose, not compared: host-local's last_reserved_ip and lock (as the reference plugin keeps them) and its owner index, the plugins' per-device lock files:"
  node_kept
  show diff /tmp/node.before /tmp/node.after && echo "(no difference)"
}

step "The node before" "The lab's two vDPA devices (vdpa_sim_net), one on each vDPA bus driver, recorded for the comparison at the end." node_before
step "The NetworkAttachmentDefinitions and the pods" "One NAD per driver: vhost for DPDK pods, virtio for kernel pods; each pod selects one." nad
step "What Multus hands the plugin" "The calls for both pods, as the Multus replay tier's rules build them." multus
step "ADD: the vdpa plugin attaches both devices" "vhost: nothing moves, the result names the device for the app. virtio: the device's netdev moves into the pod, renamed, with host-local's address and the NAD's MTU." add
step "What the pods have now" "The char device for the DPDK pod, the virtio netdev in the kernel pod." pods
step_always "DEL: the pods go" "The virtio netdev comes home under its own name, MAC and MTU; both addresses are released." del
step_always "The node after" "The record from the start again, compared with the first: the step fails unless they are the same." node_after
demo_exit
