# The pod's namespace is deleted before DEL (a runtime that lost a race, a node reboot): the
# kernel returns the VF netdev to the host under the pod's interface name. DEL must find it there,
# give it its name, MAC and MTU back, restore the VF settings and release the lease.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
rm -rf /run/lab-ipam-22
jq -n --arg dev "$(lab_vf_pci 1)" '{cniVersion: "1.1.0", name: "lab-sriov-22", type: "sriov",
  deviceID: $dev, mtu: 1280, vlan: 7, spoofchk: "off", ipam: {type: "host-local",
  dataDir: "/run/lab-ipam-22", ranges: [[{subnet: "10.56.22.0/24"}]]}}' > /tmp/conf.json

name=$(lab_vf_netdev 1)
mac=$(cat "/sys/class/net/$name/address")
mtu=$(cat "/sys/class/net/$name/mtu")
before=$(vfinfo 1 .)

check "netns pod" lab_netns_new pod
out=$(cni sriov ADD ctr pod net1 < /tmp/conf.json) || fail "ADD: $out"
ok "ADD"
check_eq "PF: VLAN 7" 7 "$(vfinfo 1 '.vlan_list[0].vlan')"
check "delete the pod's namespace first" ip netns del pod
vf1_in_host() { test -n "$(lab_vf_netdev 1)"; }
check "the kernel returns the VF netdev to the host" lab_wait 20 vf1_in_host
echo "back in the host as: $(lab_vf_netdev 1)"

check "DEL with the namespace gone" cni sriov DEL ctr /run/netns/pod net1 < /tmp/conf.json
check_eq "netdev back under its name" "$name" "$(lab_vf_netdev 1)"
check_eq "netdev MAC restored" "$mac" "$(cat "/sys/class/net/$name/address")"
check_eq "netdev MTU restored" "$mtu" "$(cat "/sys/class/net/$name/mtu")"
check_eq "VF settings on the PF as before" "$before" "$(vfinfo 1 .)"
check_eq "lease released" "" "$(ls /run/lab-ipam-22/lab-sriov-22 | grep -v -e '^last_reserved_ip' -e '^lock$')"
check "record removed" test ! -e /var/lib/cni/nfv-sriov/ctr-net1.json
