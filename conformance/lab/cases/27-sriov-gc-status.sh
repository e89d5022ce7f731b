# GC and STATUS on real VFs: with two attachments (VF 0 netdev mode, VF 2 vfio-pci mode), a GC
# whose cni.dev/valid-attachments lists only the first restores the second (VF settings back,
# lease released, record gone) and leaves the first alone. STATUS is ready on the lab's node.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
rm -rf /run/lab-ipam-27
conf() {  # conf VF_INDEX
  jq -n --arg dev "$(lab_vf_pci "$1")" '{cniVersion: "1.1.0", name: "lab-sriov-27", type: "sriov",
    deviceID: $dev, vlan: 27, spoofchk: "off", ipam: {type: "host-local", dataDir: "/run/lab-ipam-27",
    ranges: [[{subnet: "10.56.27.0/24"}]]}}'
}
leases() { ls /run/lab-ipam-27/lab-sriov-27 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$' | wc -l; }

conf 0 > /tmp/c0.json
conf 2 > /tmp/c2.json
check "STATUS: ready" cni sriov STATUS "" "" "" < /tmp/c0.json
before2=$(vfinfo 2 .)
check "netns pod-a" lab_netns_new pod-a
check "netns pod-b" lab_netns_new pod-b
check "ADD VF 0 (netdev) into pod-a" cni sriov ADD ctr-a pod-a net1 < /tmp/c0.json
check "ADD VF 2 (vfio-pci) for pod-b" cni sriov ADD ctr-b pod-b net1 < /tmp/c2.json
check_eq "two leases" 2 "$(leases)"

jq '. + {"cni.dev/valid-attachments": [{containerID: "ctr-a", ifname: "net1"}]}' /tmp/c0.json > /tmp/gc.json
check "GC with only ctr-a valid" cni sriov GC "" "" "" < /tmp/gc.json
check_eq "VF 2's settings restored" "$before2" "$(vfinfo 2 .)"
check "ctr-b's record removed" test ! -e /var/lib/cni/nfv-sriov/ctr-b-net1.json
check_eq "ctr-b's lease released, ctr-a's kept" 1 "$(leases)"
check "ctr-a untouched: net1 in pod-a" ip -n pod-a link show net1
check_eq "ctr-a untouched: VLAN 27 on VF 0" 27 "$(vfinfo 0 '.vlan_list[0].vlan')"
check "ctr-a's record kept" test -e /var/lib/cni/nfv-sriov/ctr-a-net1.json

jq '. + {"cni.dev/valid-attachments": []}' /tmp/c0.json > /tmp/gc.json
check "GC with nothing valid" cni sriov GC "" "" "" < /tmp/gc.json
check_eq "VF 0's VLAN removed" 0 "$(vfinfo 0 '.vlan_list[0].vlan // 0')"
check "VF 0's netdev back in the host" test -n "$(lab_vf_netdev 0)"
check_eq "no leases" 0 "$(leases)"
