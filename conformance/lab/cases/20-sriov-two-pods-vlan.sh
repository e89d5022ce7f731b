# The sriov plugin on real igbvf VFs: two pods, each given a VF on VLAN 100 with an address from
# host-local, reach each other through the NIC's switch; CHECK passes on the real VF and fails once
# the VF's VLAN is changed behind the plugin's back; DEL gives both VFs back.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -r ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
conf() {  # conf VF_INDEX: the NAD's config as Multus hands it over (deviceID injected)
  jq -n --arg dev "$(lab_vf_pci "$1")" '{cniVersion: "1.1.0", name: "lab-sriov-20", type: "sriov",
    deviceID: $dev, vlan: 100, ipam: {type: "host-local", dataDir: "/run/lab-ipam-20",
    ranges: [[{subnet: "10.56.20.0/24"}]]}}'
}
rm -rf /run/lab-ipam-20
name0=$(lab_vf_netdev 0) name1=$(lab_vf_netdev 1)

for i in 0 1; do
  check "netns pod$i" lab_netns_new "pod$i"
  conf "$i" > "/tmp/conf$i.json"
  out=$(cni sriov ADD "ctr$i" "pod$i" net1 < "/tmp/conf$i.json") || fail "ADD pod$i: $out"
  echo "$out" > "/tmp/result$i.json"
  ok "ADD VF $i into pod$i"
  check_eq "result pciID is VF $i" "$(lab_vf_pci "$i")" "$(jq -r '.interfaces[0].pciID' "/tmp/result$i.json")"
  check_eq "result sandbox" "/run/netns/pod$i" "$(jq -r '.interfaces[0].sandbox' "/tmp/result$i.json")"
  check_eq "PF shows VLAN 100 on VF $i" 100 "$(vfinfo "$i" '.vlan_list[0].vlan')"
  addr=$(jq -r '.ips[0].address' "/tmp/result$i.json")
  check "pod$i net1 carries $addr" sh -c "ip -n pod$i -j addr show net1 | jq -e '.[0].addr_info[] | select(.local + \"/\" + (.prefixlen|tostring) == \"$addr\")'"
  check "pod$i net1 is up" sh -c "ip -n pod$i -j link show net1 | jq -e '.[0].flags | index(\"UP\")'"
done
check "the VF netdevs left the host" test -z "$(lab_vf_netdev 0)$(lab_vf_netdev 1)"

ip1=$(jq -r '.ips[0].address' /tmp/result1.json | cut -d/ -f1)
ping1() { ip netns exec pod0 ping -c 2 -W 2 "$ip1"; }
check "pod0 reaches pod1 ($ip1) on VLAN 100" lab_wait 20 ping1

for i in 0 1; do
  jq --slurpfile r "/tmp/result$i.json" '. + {prevResult: $r[0]}' "/tmp/conf$i.json" > "/tmp/check$i.json"
  check "CHECK pod$i on the real VF" cni sriov CHECK ctr$i pod$i net1 < /tmp/check$i.json
done
check "VLAN of VF 1 changed behind the plugin's back" ip link set "$pf" vf 1 vlan 200
check_fails "CHECK pod1 sees the VF settings differ" "differs from the config" \
  cni sriov CHECK ctr1 pod1 net1 < /tmp/check1.json
check "VLAN of VF 1 back to 100" ip link set "$pf" vf 1 vlan 100

for i in 0 1; do
  check "DEL pod$i" cni sriov DEL ctr$i pod$i net1 < /tmp/conf$i.json
  check_eq "PF shows no VLAN on VF $i" 0 "$(vfinfo "$i" '.vlan_list[0].vlan // 0')"
done
check_eq "VF 0 netdev back under its name" "$name0" "$(lab_vf_netdev 0)"
check_eq "VF 1 netdev back under its name" "$name1" "$(lab_vf_netdev 1)"
check_eq "pods are empty" "lo" "$(ip -n pod0 -j link show | jq -r '.[].ifname')"
check_eq "host-local released both leases" "" "$(ls /run/lab-ipam-20/lab-sriov-20 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$')"
