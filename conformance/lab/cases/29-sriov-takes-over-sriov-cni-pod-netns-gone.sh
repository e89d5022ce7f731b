# As 28, with the pod's namespace deleted before DEL (a runtime that lost a race, a node reboot):
# the kernel returns the VF netdev to the host under the pod's interface name. sriov-cni's own DEL
# then left it under that name; this plugin's DEL, with no record of its own, restores the VF from
# sriov-cni's cache all the same: settings, name, MAC, MTU.
. "$LAB/guest/lib.sh"
. "$LAB/cases/sriov-cni-pod.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vf=$(lab_vf_pci 1)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
rm -rf /run/lab-ipam-29 /var/lib/cni/sriov
jq -n --arg dev "$vf" '{cniVersion: "1.0.0", name: "lab-sriov-29", type: "sriov", deviceID: $dev,
  mac: "02:29:00:00:00:0b", vlan: 100, spoofchk: "off", trust: "on", ipam: {type: "host-local",
  dataDir: "/run/lab-ipam-29", ranges: [[{subnet: "10.56.29.0/24"}]]}}' > /tmp/conf.json

name=$(lab_vf_netdev 1)
mac=$(cat "/sys/class/net/$name/address")
mtu=$(cat "/sys/class/net/$name/mtu")
before=$(vfinfo 1 .)

check "netns pod" lab_netns_new pod
check "sriov-cni's ADD, as it leaves the node" sriov_cni_add ctr29 pod 1 /tmp/conf.json
check_eq "PF: VLAN 100" 100 "$(vfinfo 1 '.vlan_list[0].vlan')"
check "delete the pod's namespace first" ip netns del pod
vf1_in_host() { test -n "$(lab_vf_netdev 1)"; }
check "the kernel returns the VF netdev to the host" lab_wait 20 vf1_in_host
echo "back in the host as: $(lab_vf_netdev 1)"

check "DEL with the namespace gone" cni sriov DEL ctr29 /run/netns/pod net1 < /tmp/conf.json
check_eq "netdev back under its own name" "$name" "$(lab_vf_netdev 1)"
check_eq "netdev MAC restored" "$mac" "$(cat "/sys/class/net/$name/address")"
check_eq "netdev MTU restored" "$mtu" "$(cat "/sys/class/net/$name/mtu")"
check_eq "VF settings on the PF as before" "$before" "$(vfinfo 1 .)"
check "sriov-cni's cache removed" test ! -e /var/lib/cni/sriov/ctr29-net1
check "sriov-cni's allocation removed" test ! -e "/var/lib/cni/sriov/pci/$vf"
check_eq "lease released" "" "$(ls /run/lab-ipam-29/lab-sriov-29 | grep -v -e '^last_reserved_ip' -e '^lock$')"
