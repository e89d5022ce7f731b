# VF settings through the PF's netlink (IFLA_VFINFO_LIST), read back the way the sriov plugin
# does: admin MAC, VLAN with QoS, spoof check, trust, max TX rate; and the igbvf driver picking up
# the admin MAC after a rebind, as on real igb hardware.
. "$LAB/guest/lib.sh"

pf=$(lab_pf)
vfinfo() {  # vfinfo N JQ-FILTER: a field of VF N from the PF's IFLA_VFINFO_LIST
  ip -j -d link show "$pf" | jq -r ".[0].vfinfo_list[] | select(.vf == $1) | $2"
}
ip -d link show "$pf"

check "defaults: VF 0 has no VLAN" test "$(vfinfo 0 '.vlan_list[0].vlan // 0')" = 0
check_eq "defaults: VF 0 spoof check" true "$(vfinfo 0 .spoofchk)"
check_eq "defaults: VF 0 trust" false "$(vfinfo 0 .trust)"

check "set VF 0 admin MAC" ip link set "$pf" vf 0 mac 02:00:00:00:00:01
check "set VF 0 VLAN 100 QoS 3" ip link set "$pf" vf 0 vlan 100 qos 3
check "set VF 0 spoof check off" ip link set "$pf" vf 0 spoofchk off
check "set VF 0 trust on" ip link set "$pf" vf 0 trust on
check "set VF 0 max TX rate 100 Mbps" ip link set "$pf" vf 0 max_tx_rate 100
ip -d link show "$pf"

check_eq "read back: VF 0 MAC" 02:00:00:00:00:01 "$(vfinfo 0 .address)"
check_eq "read back: VF 0 VLAN" 100 "$(vfinfo 0 '.vlan_list[0].vlan')"
check_eq "read back: VF 0 QoS" 3 "$(vfinfo 0 '.vlan_list[0].qos')"
check_eq "read back: VF 0 spoof check" false "$(vfinfo 0 .spoofchk)"
check_eq "read back: VF 0 trust" true "$(vfinfo 0 .trust)"
check_eq "read back: VF 0 max TX rate" 100 "$(vfinfo 0 '.rate.max_tx')"
check_eq "VF 1 untouched: no VLAN" 0 "$(vfinfo 1 '.vlan_list[0].vlan // 0')"
check_eq "VF 1 untouched: spoof check" true "$(vfinfo 1 .spoofchk)"

check "VLAN 0 clears the VLAN" ip link set "$pf" vf 0 vlan 0
check_eq "read back: VF 0 VLAN cleared" 0 "$(vfinfo 0 '.vlan_list[0].vlan // 0')"
check "rate 0 clears the limit" ip link set "$pf" vf 0 max_tx_rate 0
check_eq "read back: VF 0 max TX rate cleared" 0 "$(vfinfo 0 '.rate.max_tx')"

# igbvf reads the admin MAC at probe time: the netdev shows it only after unbind/bind.
check "rebind VF 0 to igbvf" lab_vf_bind 0 igbvf
n=$(lab_vf_netdev 0)
check_eq "VF 0 netdev $n carries the admin MAC" 02:00:00:00:00:01 "$(cat "/sys/class/net/$n/address")"
