# Userspace-driver mode on a real VF bound to vfio-pci (how DPDK pods get a VF): no netdev moves;
# the VF settings (admin MAC included) are applied through the PF, the result reports pciID, the
# MAC and IPAM's address (not configured: there is no kernel interface), the device-info file
# names the vfio group device. CHECK notices the VF leaving vfio-pci; DEL restores every VF
# setting and releases the lease; DEL without a record works from the driver binding. (40 proves
# the same file and its group device without a vIOMMU.)
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vf=$(lab_vf_pci 2)
group=$(lab_vf_group 2)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
rm -rf /run/lab-ipam-25 /run/k8s.cni.cncf.io/devinfo/cni/lab-25
jq -n --arg dev "$vf" '{cniVersion: "1.1.0", name: "lab-sriov-25", type: "sriov", deviceID: $dev,
  mac: "02:25:00:00:00:01", vlan: 25, vlanQoS: 1, spoofchk: "off", trust: "on", max_tx_rate: 30,
  ipam: {type: "host-local", dataDir: "/run/lab-ipam-25", ranges: [[{subnet: "10.56.25.0/24"}]]},
  runtimeConfig: {CNIDeviceInfoFile: "/run/k8s.cni.cncf.io/devinfo/cni/lab-25/dpdk-net1.json"}}' > /tmp/conf.json
leases() { ls /run/lab-ipam-25/lab-sriov-25 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$'; }

check_eq "VF 2 ($vf) is on vfio-pci" vfio-pci "$(lab_vf_driver 2)"
before=$(vfinfo 2 .)
echo "before: $before"
check "netns pod" lab_netns_new pod
out=$(cni sriov ADD ctr pod net1 < /tmp/conf.json) || fail "ADD: $out"
ok "ADD"
echo "$out"
check_eq "result pciID" "$vf" "$(echo "$out" | jq -r '.interfaces[0].pciID')"
check_eq "result MAC is the admin MAC" 02:25:00:00:00:01 "$(echo "$out" | jq -r '.interfaces[0].mac')"
check_eq "result sandbox" /run/netns/pod "$(echo "$out" | jq -r '.interfaces[0].sandbox')"
check_eq "IPAM address reported" 10.56.25.2/24 "$(echo "$out" | jq -r '.ips[0].address')"
check_eq "not configured: the pod has only lo" lo "$(ip -n pod -j link show | jq -r '.[].ifname')"
check_eq "VF 2 still on vfio-pci, no netdev" "vfio-pci:" "$(lab_vf_driver 2):$(lab_vf_netdev 2)"
check_eq "PF: admin MAC" '"02:25:00:00:00:01"' "$(vfinfo 2 .address)"
check_eq "PF: VLAN 25 QoS 1" "25/1" "$(vfinfo 2 '.vlan_list[0].vlan')/$(vfinfo 2 '.vlan_list[0].qos')"
check_eq "PF: spoof check off, trust on" "false/true" "$(vfinfo 2 .spoofchk)/$(vfinfo 2 .trust)"
check_eq "PF: max TX rate 30" 30 "$(vfinfo 2 .rate.max_tx)"

info=/run/k8s.cni.cncf.io/devinfo/cni/lab-25/dpdk-net1.json
cat "$info"; echo
check_eq "device-info type pci" pci "$(jq -r .type "$info")"
check_eq "device-info pci-address" "$vf" "$(jq -r '.pci["pci-address"]' "$info")"
check_eq "device-info pf-pci-address" "$(lab_pf_pci)" "$(jq -r '.pci["pf-pci-address"]' "$info")"
check_eq "device-info vfio group" "$group" "$(jq -r .vfio.group "$info")"
check_eq "device-info vfio group device" "/dev/vfio/$group" "$(jq -r .vfio.device "$info")"
check_eq "device-info: an IOMMU group, not noiommu" false "$(jq -r .vfio.noiommu "$info")"
check "the reported group device opens (as the DPDK app will)" sh -c "exec 3<> $(jq -r .vfio.device "$info")"

jq --argjson r "$out" '. + {prevResult: $r}' /tmp/conf.json > /tmp/check.json
check "CHECK on the vfio VF" cni sriov CHECK ctr pod net1 < /tmp/check.json
check "VF 2 taken to igbvf behind the plugin's back" lab_vf_bind 2 igbvf
check_fails "CHECK sees it left vfio-pci" "not to vfio-pci" cni sriov CHECK ctr pod net1 < /tmp/check.json
check "VF 2 back on vfio-pci" lab_vf_bind 2 vfio-pci
check "VLAN of VF 2 changed behind the plugin's back" ip link set "$pf" vf 2 vlan 99
check_fails "CHECK sees the VF settings differ" "differs from the config" cni sriov CHECK ctr pod net1 < /tmp/check.json
check "VLAN back" ip link set "$pf" vf 2 vlan 25 qos 1
check "CHECK passes again" cni sriov CHECK ctr pod net1 < /tmp/check.json

check "DEL" cni sriov DEL ctr pod net1 < /tmp/conf.json
ip -d link show "$pf"
check_eq "every VF setting on the PF as before (admin MAC, VLAN, spoof check, trust, rate)" "$before" "$(vfinfo 2 .)"
check_eq "VF 2 still on vfio-pci" vfio-pci "$(lab_vf_driver 2)"
check "device-info file removed" test ! -e "$info"
check "record removed" test ! -e /var/lib/cni/nfv-sriov/ctr-net1.json
check_eq "lease released" "" "$(leases)"
check "DEL again succeeds" cni sriov DEL ctr pod net1 < /tmp/conf.json

# Without a record (lost, or written by another plugin): DEL still releases what it can.
out=$(cni sriov ADD ctr2 pod net1 < /tmp/conf.json) || fail "second ADD: $out"
ok "ADD again"
rm /var/lib/cni/nfv-sriov/ctr2-net1.json
check "DEL without a record" cni sriov DEL ctr2 pod net1 < /tmp/conf.json
check_eq "lease released" "" "$(leases)"
check "device-info file removed" test ! -e "$info"
