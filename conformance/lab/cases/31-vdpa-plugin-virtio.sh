# The vdpa plugin on a real vdpa_sim_net device bound to virtio_vdpa: ADD moves the virtio netdev
# into the pod as net1 with host-local's address, the configured MTU, up; the device-info file
# says driver virtio; CHECK passes and notices an MTU changed behind its back; DEL brings the
# netdev home under its own name, MAC and MTU. Also on the real device: DEL after the pod's
# namespace was deleted (the kernel hands the netdev back under the pod's name) and DEL without
# the plugin's record (the config still names the device).
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/vdpa" || fail "no vdpa in $LAB/bin: cargo build --release -p vdpa"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
n=$(lab_vdpa_netdev vdpa1)
check "vdpa1 is on virtio_vdpa with netdev $n" test -n "$n"
mac=$(cat "/sys/class/net/$n/address") mtu=$(cat "/sys/class/net/$n/mtu")
conf() {  # conf CONTAINER
  jq -n --arg f "/run/k8s.cni.cncf.io/devinfo/cni/lab-31/$1.json" '{cniVersion: "1.1.0", name: "lab-vdpa-31",
    type: "vdpa", vdpaDevice: "vdpa1", driver: "virtio", mtu: 1400,
    runtimeConfig: {CNIDeviceInfoFile: $f},
    ipam: {type: "host-local", dataDir: "/run/lab-ipam-31", ranges: [[{subnet: "10.56.31.0/24"}]],
      routes: [{dst: "10.99.0.0/16"}]}}'
}
leases() { ls /run/lab-ipam-31/lab-vdpa-31 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$'; }
home() {  # home WHAT: the netdev is back in the host as it was
  check_eq "$1: vdpa1's netdev back under its name" "$n" "$(lab_vdpa_netdev vdpa1)"
  check_eq "$1: MAC back" "$mac" "$(cat "/sys/class/net/$n/address")"
  check_eq "$1: MTU back" "$mtu" "$(cat "/sys/class/net/$n/mtu")"
  check_eq "$1: lease released" "" "$(leases)"
}
rm -rf /run/lab-ipam-31 /run/k8s.cni.cncf.io/devinfo/cni/lab-31 /var/lib/cni/nfv-vdpa
check "netns pod0" lab_netns_new pod0

conf ctr0 > /tmp/conf0.json
out=$(cni vdpa ADD ctr0 pod0 net1 < /tmp/conf0.json) || fail "ADD: $out"
echo "$out" > /tmp/result0.json
echo "$out"
ok "ADD vdpa1 to pod0"
check_eq "result interface" net1 "$(jq -r '.interfaces[0].name' /tmp/result0.json)"
check_eq "result MAC is the netdev's" "$mac" "$(jq -r '.interfaces[0].mac' /tmp/result0.json)"
check_eq "result MTU" 1400 "$(jq -r '.interfaces[0].mtu' /tmp/result0.json)"
addr=$(jq -r '.ips[0].address' /tmp/result0.json)
check_eq "address from host-local" 10.56.31.2/24 "$addr"
check "the netdev left the host" test -z "$(lab_vdpa_netdev vdpa1)"
check_eq "pod0 net1 carries $addr" "$addr" \
  "$(ip -n pod0 -j addr show net1 | jq -r '.[0].addr_info[] | select(.family == "inet") | .local + "/" + (.prefixlen|tostring)')"
check_eq "pod0 net1 MTU" 1400 "$(ip -n pod0 -j link show net1 | jq -r '.[0].mtu')"
check_eq "pod0 net1 is up" true "$(ip -n pod0 -j link show net1 | jq '.[0].flags | index("UP") != null')"
check_eq "pod0 net1 is a virtio_net device" virtio_net \
  "$(ip netns exec pod0 readlink /sys/class/net/net1/device/driver | sed 's,.*/,,')"
check_eq "pod0 routes 10.99.0.0/16 via net1" net1 "$(ip -n pod0 -j route show 10.99.0.0/16 | jq -r '.[0].dev')"
f=/run/k8s.cni.cncf.io/devinfo/cni/lab-31/ctr0.json
cat "$f"; echo
check_eq "device-info driver" virtio "$(jq -r .vdpa.driver "$f")"
check_eq "device-info parent-device" vdpa1 "$(jq -r '.vdpa["parent-device"]' "$f")"
check_eq "device-info has no char device path" null "$(jq -r .vdpa.path "$f")"

jq --slurpfile r /tmp/result0.json '. + {prevResult: $r[0]}' /tmp/conf0.json > /tmp/check0.json
check "CHECK passes" cni vdpa CHECK ctr0 pod0 net1 < /tmp/check0.json
check "MTU changed behind the plugin's back" ip -n pod0 link set net1 mtu 1300
check_fails "CHECK sees the MTU differ" "config says 1400" cni vdpa CHECK ctr0 pod0 net1 < /tmp/check0.json
check "netns pod1" lab_netns_new pod1
sed s/ctr0/ctr1/ /tmp/conf0.json > /tmp/conf1.json
check_fails "vdpa1 cannot go to a second pod" "attached to container ctr0" cni vdpa ADD ctr1 pod1 net1 < /tmp/conf1.json

check "DEL" cni vdpa DEL ctr0 pod0 net1 < /tmp/conf0.json
home "DEL"
check_eq "pod0 is empty" lo "$(ip -n pod0 -j link show | jq -r '.[].ifname')"
check "device-info file removed" test ! -e "$f"
check "DEL again" cni vdpa DEL ctr0 pod0 net1 < /tmp/conf0.json

# The pod's namespace dies first: the kernel returns the netdev as net1 (or devN); DEL renames it.
conf ctr1 > /tmp/conf1.json
out=$(cni vdpa ADD ctr1 pod1 net1 < /tmp/conf1.json) || fail "ADD ctr1: $out"
ok "ADD vdpa1 to pod1"
check "delete netns pod1" ip netns del pod1
returned() { test -n "$(lab_vdpa_netdev vdpa1)"; }
check "the kernel returned the netdev to the host" lab_wait 10 returned
echo "returned as: $(lab_vdpa_netdev vdpa1)"
check "DEL after the netns is gone" cni vdpa DEL ctr1 /run/netns/pod1 net1 < /tmp/conf1.json
home "DEL after netns deletion"

# No record (lost state): DEL still brings the netdev home, under the vDPA device's name.
check "netns pod2" lab_netns_new pod2
conf ctr2 > /tmp/conf2.json
out=$(cni vdpa ADD ctr2 pod2 net1 < /tmp/conf2.json) || fail "ADD ctr2: $out"
ok "ADD vdpa1 to pod2"
check "lose the record" rm /var/lib/cni/nfv-vdpa/ctr2-net1.json
check "DEL without a record" cni vdpa DEL ctr2 pod2 net1 < /tmp/conf2.json
check_eq "the netdev came home as vdpa1" vdpa1 "$(lab_vdpa_netdev vdpa1)"
check_eq "pod2 is empty" lo "$(ip -n pod2 -j link show | jq -r '.[].ifname')"
check_eq "lease released" "" "$(leases)"
check "device-info file removed" test ! -e /run/k8s.cni.cncf.io/devinfo/cni/lab-31/ctr2.json
check "rename it back" ip link set vdpa1 name "$n"
