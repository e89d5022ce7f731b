# A vdpa_sim_net device on virtio_vdpa: a kernel netdev a pod can own. It moves into a netns,
# takes an address and comes up; rebinding to vhost_vdpa trades the netdev for a char device.
. "$LAB/guest/lib.sh"

check_eq "vdpa1 driver" virtio_vdpa "$(lab_vdpa_driver vdpa1)"
n=$(lab_vdpa_netdev vdpa1)
check "vdpa1 has a netdev ($n)" test -n "$n"
check_eq "$n carries the MAC given at vdpa dev add" 02:00:00:00:0a:01 "$(cat "/sys/class/net/$n/address")"
check_eq "$n is a virtio_net device" virtio_net "$(basename "$(readlink "/sys/class/net/$n/device/driver")")"
check "make netns pod-v" lab_netns_new pod-v
check "move $n into pod-v as net1" ip link set "$n" netns pod-v name net1
check "address on pod-v net1" ip -n pod-v addr add 10.9.1.1/24 dev net1
check "pod-v net1 up" ip -n pod-v link set net1 up
check "pod-v net1 has its carrier" lab_wait 10 sh -c "ip -n pod-v -j link show net1 | jq -e '.[0].operstate == \"UP\"'"
check "move net1 back" ip -n pod-v link set net1 netns 1 name "$n"

check "rebind vdpa1 to vhost_vdpa" lab_vdpa_bind vdpa1 vhost_vdpa
check "vdpa1 lost its netdev" test -z "$(lab_vdpa_netdev vdpa1)"
check "vdpa1 got a vhost-vdpa char device" test -c "$(lab_vdpa_chardev vdpa1)"
