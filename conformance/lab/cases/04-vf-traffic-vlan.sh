# VF-to-VF traffic through the NIC's internal switch between two pod-like namespaces, and VLAN
# isolation: VFs on different port VLANs cannot reach each other, on the same VLAN they can.
. "$LAB/guest/lib.sh"

pf=$(lab_pf)
i=0
for ns in pod-a pod-b; do
  n=$(lab_vf_netdev "$i")
  check "make netns $ns" lab_netns_new "$ns"
  check "move VF $i ($n) into $ns as net1" ip link set "$n" netns "$ns" name net1
  check "address 10.9.0.$((i + 1))/24 on $ns net1" ip -n "$ns" addr add "10.9.0.$((i + 1))/24" dev net1
  check "$ns net1 up" ip -n "$ns" link set net1 up
  i=$((i + 1))
done
check "the VF netdevs left the initial netns" test -z "$(lab_vf_netdev 0)$(lab_vf_netdev 1)"

ping_b() { ip netns exec pod-a ping -c 2 -W 2 10.9.0.2; }
check "VF 0 reaches VF 1 (no VLAN)" lab_wait 15 ping_b
check "VF 0 on VLAN 100" ip link set "$pf" vf 0 vlan 100
check "VF 1 on VLAN 200" ip link set "$pf" vf 1 vlan 200
ip -n pod-a neigh flush dev net1
check_fails "VLAN 100 cannot reach VLAN 200" "0 packets received" ping_b
check "VF 1 on VLAN 100" ip link set "$pf" vf 1 vlan 100
check "VF 0 reaches VF 1 on the same VLAN" lab_wait 15 ping_b
