# Replacing sriov-cni with pods running: a pod sriov-cni attached (its VF on VLAN 100, spoof check
# off, trust on, the pod's admin MAC, the netdev renamed into the pod; its cache and allocation
# files; see sriov-cni-pod.sh) is DELeted by this plugin, which has no record of it. DEL must give
# the VF back as sriov-cni's cache says it was (every VF setting, the netdev's name, MAC and MTU),
# release the lease and remove sriov-cni's files. Then an ADD of ours on the same VF turns on the
# pod's ARP / neighbour-discovery announcements (arp_notify, ndisc_notify), as sriov-cni does.
. "$LAB/guest/lib.sh"
. "$LAB/cases/sriov-cni-pod.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vf=$(lab_vf_pci 1)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
rm -rf /run/lab-ipam-28 /var/lib/cni/sriov /var/log/lab-sriov-28.log
mkdir -p /var/log
jq -n --arg dev "$vf" '{cniVersion: "1.0.0", name: "lab-sriov-28", type: "sriov", deviceID: $dev,
  mac: "02:28:00:00:00:0b", vlan: 100, spoofchk: "off", trust: "on", logLevel: "info",
  logFile: "/var/log/lab-sriov-28.log", ipam: {type: "host-local", dataDir: "/run/lab-ipam-28",
  ranges: [[{subnet: "10.56.28.0/24"}]]}}' > /tmp/conf.json

name=$(lab_vf_netdev 1)
mac=$(cat "/sys/class/net/$name/address")
mtu=$(cat "/sys/class/net/$name/mtu")
before=$(vfinfo 1 .)
echo "before: $name $mac mtu $mtu; PF: $before"

check "netns pod" lab_netns_new pod
check "sriov-cni's ADD, as it leaves the node" sriov_cni_add ctr28 pod 1 /tmp/conf.json
check_eq "PF: VLAN 100" 100 "$(vfinfo 1 '.vlan_list[0].vlan')"
check_eq "PF: trust on" true "$(vfinfo 1 .trust)"
check_eq "PF: spoof check off" false "$(vfinfo 1 .spoofchk)"
check_eq "PF: the pod's admin MAC" '"02:28:00:00:00:0b"' "$(vfinfo 1 .address)"
check_eq "pod net1 has it" 02:28:00:00:00:0b "$(ip -n pod -j link show net1 | jq -r '.[0].address')"

check "DEL by this plugin (no record of its own)" cni sriov DEL ctr28 pod net1 < /tmp/conf.json
cat /var/log/lab-sriov-28.log
check "it restored from sriov-cni's cache" grep -q "restoring VF $vf from sriov-cni's cache: mac .*vlan 0 .*spoofchk on, trust off; netdev $name" /var/log/lab-sriov-28.log
check_eq "netdev back under its own name (not ${pf}v1)" "$name" "$(lab_vf_netdev 1)"
check_eq "netdev MAC restored" "$mac" "$(cat "/sys/class/net/$name/address")"
check_eq "netdev MTU restored" "$mtu" "$(cat "/sys/class/net/$name/mtu")"
check_eq "VF settings on the PF as before (VLAN, spoof check, trust, admin MAC)" "$before" "$(vfinfo 1 .)"
check "pod has no net1" sh -c "! ip -n pod link show net1"
check "sriov-cni's cache removed" test ! -e /var/lib/cni/sriov/ctr28-net1
check "sriov-cni's allocation removed" test ! -e "/var/lib/cni/sriov/pci/$vf"
check_eq "lease released" "" "$(ls /run/lab-ipam-28/lab-sriov-28 | grep -v -e '^last_reserved_ip' -e '^lock$')"
check "DEL again: nothing left, success" cni sriov DEL ctr28 pod net1 < /tmp/conf.json

# The same VF, attached by this plugin now: the pod's netdev announces its address.
check "netns pod2" lab_netns_new pod2
out=$(cni sriov ADD ctr28b pod2 net1 < /tmp/conf.json) || fail "ADD: $out"
ok "ADD"
check_eq "pod2 net1: arp_notify" 1 "$(ip netns exec pod2 cat /proc/sys/net/ipv4/conf/net1/arp_notify)"
check_eq "pod2 net1: ndisc_notify" 1 "$(ip netns exec pod2 cat /proc/sys/net/ipv6/conf/net1/ndisc_notify)"
check "DEL" cni sriov DEL ctr28b pod2 net1 < /tmp/conf.json
check_eq "VF settings on the PF as before, again" "$before" "$(vfinfo 1 .)"
