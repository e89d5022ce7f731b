# The vdpa plugin on a real vdpa_sim_net device bound to vhost_vdpa, as a DPDK virtio_user pod
# gets it: ADD reports the char device (result and device-info file type vdpa, driver vhost),
# moves nothing and only reports IPAM's address; CHECK passes; a second pod, the wrong driver,
# a MAC, or a PCI device without a vDPA device are refused with the field named; DEL and GC
# remove the device-info file and release the lease, and DEL is idempotent.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/vdpa" || fail "no vdpa in $LAB/bin: cargo build --release -p vdpa"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
dev=$(lab_vdpa_chardev vdpa0)
check "vdpa0 is on vhost_vdpa with $dev" test -c "$dev"
info=/run/k8s.cni.cncf.io/devinfo/cni/lab-30/net1.json
conf() {  # conf CONTAINER [JQ-FILTER]
  jq -n --arg f "/run/k8s.cni.cncf.io/devinfo/cni/lab-30/$1.json" '{cniVersion: "1.1.0", name: "lab-vdpa-30",
    type: "vdpa", vdpaDevice: "vdpa0", driver: "vhost",
    runtimeConfig: {CNIDeviceInfoFile: $f},
    ipam: {type: "host-local", dataDir: "/run/lab-ipam-30", ranges: [[{subnet: "10.56.30.0/24"}]]}}' |
    jq "${2:-.}"
}
leases() { ls /run/lab-ipam-30/lab-vdpa-30 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$'; }
rm -rf /run/lab-ipam-30 /run/k8s.cni.cncf.io/devinfo/cni/lab-30 /var/lib/cni/nfv-vdpa
check "netns pod0" lab_netns_new pod0

conf ctr0 > /tmp/conf0.json
out=$(cni vdpa ADD ctr0 pod0 net1 < /tmp/conf0.json) || fail "ADD: $out"
echo "$out" > /tmp/result0.json
ok "ADD vdpa0 to pod0"
check_eq "result interface" net1 "$(jq -r '.interfaces[0].name' /tmp/result0.json)"
check_eq "result sandbox" /run/netns/pod0 "$(jq -r '.interfaces[0].sandbox' /tmp/result0.json)"
check_eq "no pciID: the simulator has no PCI parent" null "$(jq -r '.interfaces[0].pciID' /tmp/result0.json)"
check_eq "IPAM's address is reported" 10.56.30.2/24 "$(jq -r '.ips[0].address' /tmp/result0.json)"
check_eq "nothing moved into pod0" lo "$(ip -n pod0 -j link show | jq -r '.[].ifname')"
check "the char device is still there" test -c "$dev"
f=/run/k8s.cni.cncf.io/devinfo/cni/lab-30/ctr0.json
check "device-info file written" test -s "$f"
cat "$f"; echo
check_eq "device-info type" vdpa "$(jq -r .type "$f")"
check_eq "device-info version" 1.1.0 "$(jq -r .version "$f")"
check_eq "device-info driver" vhost "$(jq -r .vdpa.driver "$f")"
check_eq "device-info path" "$dev" "$(jq -r .vdpa.path "$f")"
check_eq "device-info parent-device" vdpa0 "$(jq -r '.vdpa["parent-device"]' "$f")"

jq --slurpfile r /tmp/result0.json '. + {prevResult: $r[0]}' /tmp/conf0.json > /tmp/check0.json
check "CHECK passes" cni vdpa CHECK ctr0 pod0 net1 < /tmp/check0.json
jq '.cniVersion = "0.4.0"' /tmp/check0.json > /tmp/check0-040.json
check "CHECK at cniVersion 0.4.0" cni vdpa CHECK ctr0 pod0 net1 < /tmp/check0-040.json

check "netns pod1" lab_netns_new pod1
conf ctr1 > /tmp/conf1.json
check_fails "a second pod cannot take vdpa0" "attached to container ctr0" cni vdpa ADD ctr1 pod1 net1 < /tmp/conf1.json
conf ctr1 '.driver = "virtio"' > /tmp/bad.json
check_fails "driver virtio on a vhost_vdpa device is refused" '"msg":"driver:' cni vdpa ADD ctr1 pod1 net1 < /tmp/bad.json
conf ctr1 '.driver = null | .mac = "02:00:00:00:1e:01"' > /tmp/bad.json
check_fails "a MAC for a vhost_vdpa device is refused" '"msg":"mac:' cni vdpa ADD ctr1 pod1 net1 < /tmp/bad.json
conf ctr1 ".vdpaDevice = null | .deviceID = \"$(lab_vf_pci 0)\"" > /tmp/bad.json
check_fails "deviceID of a VF without a vDPA device" "does not exist" cni vdpa ADD ctr1 pod1 net1 < /tmp/bad.json
conf ctr1 '.vdpaDevice = "vdpa7"' > /tmp/bad.json
check_fails "an unknown vdpaDevice is named with what exists" "vdpa0, vdpa1" cni vdpa ADD ctr1 pod1 net1 < /tmp/bad.json
check_eq "failed ADDs left one lease" 1 "$(leases | wc -l)"
check_eq "failed ADDs left no device-info file" "ctr0.json" "$(ls /run/k8s.cni.cncf.io/devinfo/cni/lab-30)"

check "DEL" cni vdpa DEL ctr0 pod0 net1 < /tmp/conf0.json
check "device-info file removed" test ! -e "$f"
check_eq "lease released" "" "$(leases)"
check "DEL again" cni vdpa DEL ctr0 pod0 net1 < /tmp/conf0.json
check "DEL without netns" cni vdpa DEL ctr0 "" net1 < /tmp/conf0.json

# GC: an attachment the runtime no longer lists is cleaned up; a listed one stays.
out=$(cni vdpa ADD ctr1 pod1 net1 < /tmp/conf1.json) || fail "ADD ctr1: $out"
ok "ADD vdpa0 to pod1"
gc() { jq -n --argjson v "$1" '{cniVersion: "1.1.0", name: "lab-vdpa-30", type: "vdpa",
  "cni.dev/valid-attachments": $v, ipam: {type: "host-local", dataDir: "/run/lab-ipam-30",
  ranges: [[{subnet: "10.56.30.0/24"}]]}}' |
  cni vdpa GC "" "" ""; }
check "GC keeping ctr1" gc '[{"containerID": "ctr1", "ifname": "net1"}]'
check "ctr1's device-info file kept" test -s /run/k8s.cni.cncf.io/devinfo/cni/lab-30/ctr1.json
check "GC with nothing valid" gc '[]'
check "ctr1's device-info file removed" test ! -e /run/k8s.cni.cncf.io/devinfo/cni/lab-30/ctr1.json
check "vdpa0 is free again" cni vdpa ADD ctr2 pod1 net2 < /tmp/conf1.json
check "DEL ctr2" cni vdpa DEL ctr2 pod1 net2 < /tmp/conf1.json
jq -n '{cniVersion: "1.1.0", name: "lab-vdpa-30", type: "vdpa"}' > /tmp/status.json
check "STATUS" cni vdpa STATUS "" "" "" < /tmp/status.json
