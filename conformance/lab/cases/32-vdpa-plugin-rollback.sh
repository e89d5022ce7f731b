# The vdpa plugin's rollback on a real virtio_vdpa netdev: an MTU the device cannot take makes
# the kernel refuse half-way through ADD (after the netdev moved into the pod); the plugin puts
# the netdev back under its name, MAC and MTU, releases the lease and keeps no record or
# device-info file, and the device is usable again. A MAC set through the plugin reaches the
# pod and the original comes back on DEL.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/vdpa" || fail "no vdpa in $LAB/bin: cargo build --release -p vdpa"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
n=$(lab_vdpa_netdev vdpa1)
check "vdpa1 is on virtio_vdpa with netdev $n" test -n "$n"
mac=$(cat "/sys/class/net/$n/address") mtu=$(cat "/sys/class/net/$n/mtu")
echo "max MTU of $n: $(ip -j -d link show "$n" | jq '.[0].max_mtu')"
conf() {  # conf CONTAINER JQ-FILTER
  jq -n --arg f "/run/k8s.cni.cncf.io/devinfo/cni/lab-32/$1.json" '{cniVersion: "1.1.0", name: "lab-vdpa-32",
    type: "vdpa", vdpaDevice: "vdpa1", runtimeConfig: {CNIDeviceInfoFile: $f},
    ipam: {type: "host-local", dataDir: "/run/lab-ipam-32", ranges: [[{subnet: "10.56.32.0/24"}]]}}' | jq "$2"
}
leases() { ls /run/lab-ipam-32/lab-vdpa-32 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$'; }
rm -rf /run/lab-ipam-32 /run/k8s.cni.cncf.io/devinfo/cni/lab-32 /var/lib/cni/nfv-vdpa
check "netns pod0" lab_netns_new pod0

conf ctr0 '.mtu = 9000' > /tmp/big.json
out=$(cni vdpa ADD ctr0 pod0 net1 < /tmp/big.json) && fail "MTU 9000 was accepted: $out"
echo "$out"
check_eq "MTU 9000 is refused by the kernel (plugin code 131)" 131 "$(echo "$out" | jq .code)"
case $out in *MTU*) ok "the error names the MTU" ;; *) fail "the error does not name the MTU" ;; esac
check_eq "the netdev is home under its name" "$n" "$(lab_vdpa_netdev vdpa1)"
check_eq "its MAC is unchanged" "$mac" "$(cat "/sys/class/net/$n/address")"
check_eq "its MTU is unchanged" "$mtu" "$(cat "/sys/class/net/$n/mtu")"
check_eq "pod0 is empty" lo "$(ip -n pod0 -j link show | jq -r '.[].ifname')"
check_eq "no lease left" "" "$(leases)"
check_eq "no record left" "" "$(ls /var/lib/cni/nfv-vdpa/*.json 2>/dev/null)"
check "no device-info file left" test ! -e /run/k8s.cni.cncf.io/devinfo/cni/lab-32/ctr0.json

conf ctr0 '.mac = "02:00:00:00:0b:07"' > /tmp/mac.json
out=$(cni vdpa ADD ctr0 pod0 net1 < /tmp/mac.json) || fail "ADD with a MAC: $out"
ok "ADD with a MAC after the failed one"
check_eq "result MAC" 02:00:00:00:0b:07 "$(echo "$out" | jq -r '.interfaces[0].mac')"
check_eq "pod0 net1 has the MAC" 02:00:00:00:0b:07 "$(ip -n pod0 -j link show net1 | jq -r '.[0].address')"
check "DEL" cni vdpa DEL ctr0 pod0 net1 < /tmp/mac.json
check_eq "the original MAC is back" "$mac" "$(cat "/sys/class/net/$n/address")"
check_eq "no lease left after DEL" "" "$(leases)"
