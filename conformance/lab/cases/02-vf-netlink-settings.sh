# VF settings through the PF's netlink (IFLA_VFINFO_LIST), read back the way the sriov plugin
# does: admin MAC, VLAN with QoS, spoof check, trust, max TX rate; and the igbvf driver picking up
# the admin MAC after a rebind, as on real igb hardware.
. "$LAB/guest/lib.sh"

pf=$(lab_pf)
# vf_settings N: VF N as the PF reports it, one line: MAC VLAN QOS SPOOFCHK TRUST MAX_TX_RATE
# (one ip and one jq per read: every process is slow under TCG)
vf_settings() {
  ip -j -d link show "$pf" | jq -r --argjson n "$1" '.[0].vfinfo_list[] | select(.vf == $n)
    | [.address, (.vlan_list[0].vlan // 0), (.vlan_list[0].qos // 0), .spoofchk, .trust, .rate.max_tx]
    | map(tostring) | join(" ")'
}
vf0=$(vf_settings 0)
echo "VF 0 before: $vf0"
check_eq "defaults: VF 0 has no VLAN or QoS, spoof check on, trust off, no rate limit" \
  "0 0 true false 0" "$(echo "$vf0" | cut -d' ' -f2-)"

check "set VF 0 admin MAC" ip link set "$pf" vf 0 mac 02:00:00:00:00:01
check "set VF 0 VLAN 100 QoS 3" ip link set "$pf" vf 0 vlan 100 qos 3
check "set VF 0 spoof check off" ip link set "$pf" vf 0 spoofchk off
check "set VF 0 trust on" ip link set "$pf" vf 0 trust on
check "set VF 0 max TX rate 100 Mbps" ip link set "$pf" vf 0 max_tx_rate 100
ip -d link show "$pf"

check_eq "read back VF 0: MAC, VLAN, QoS, spoof check, trust, max TX rate" \
  "02:00:00:00:00:01 100 3 false true 100" "$(vf_settings 0)"
check_eq "VF 1 untouched: no VLAN or QoS, spoof check on, trust off, no rate limit" \
  "0 0 true false 0" "$(vf_settings 1 | cut -d' ' -f2-)"

check "VLAN 0 clears the VLAN" ip link set "$pf" vf 0 vlan 0
check "rate 0 clears the limit" ip link set "$pf" vf 0 max_tx_rate 0
check_eq "read back VF 0: VLAN and rate cleared, the rest kept" \
  "02:00:00:00:00:01 0 0 false true 0" "$(vf_settings 0)"

# igbvf reads the admin MAC at probe time: the netdev shows it only after unbind/bind.
check "rebind VF 0 to igbvf" lab_vf_bind 0 igbvf
n=$(lab_vf_netdev 0)
check_eq "VF 0 netdev $n carries the admin MAC" 02:00:00:00:00:01 "$(cat "/sys/class/net/$n/address")"
