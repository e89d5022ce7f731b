# A NAD written for sriov-cni, on real VFs (issue: drop-in): Go-cased keys (`DeviceID`, `VLAN`,
# `VlanQoS`, `spoofChk`, `Trust`) mean what sriov-cni reads in them, and `logLevel: "panic"`
# (which the sriov-network-operator allows) fails no verb, neither in sriov nor in host-local as
# its IPAM (the top-level key is sriov's, not host-local's). Then: MTU applied and given back,
# CHECK passing and then noticing drift on the PF, two ADDs racing for one VF (one wins, the
# loser leaves nothing and its DEL takes nothing), and GC of a pod whose netns vanished.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
rm -rf /run/lab-ipam-43
conf() {  # conf VF_INDEX: sriov-cni's keys in the case Go's decoder also accepts
  jq -n --arg dev "$(lab_vf_pci "$1")" '{cniVersion: "1.0.0", name: "lab-sriov-43", type: "sriov",
    DeviceID: $dev, VLAN: 43, VlanQoS: 1, spoofChk: "off", Trust: "on", mtu: 1400,
    logLevel: "panic", ipam: {type: "host-local", dataDir: "/run/lab-ipam-43",
    ranges: [[{subnet: "10.56.43.0/24"}]]}}'
}
leases() { ls /run/lab-ipam-43/lab-sriov-43 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$' | wc -l; }

# --- Go-cased keys and logLevel panic, MTU, CHECK and drift (VF 0) ---
conf 0 > /tmp/c0.json
name0=$(lab_vf_netdev 0)
mtu0=$(cat "/sys/class/net/$name0/mtu")
before0=$(vfinfo 0 .)
check "netns pod-a" lab_netns_new pod-a
out=$(cni sriov ADD ctr-a pod-a net1 < /tmp/c0.json) || fail "ADD with Go-cased keys and logLevel panic: $out"
ok "ADD with Go-cased keys and logLevel panic (sriov and host-local both accept it)"
check_eq "VLAN from \"VLAN\"" 43 "$(vfinfo 0 '.vlan_list[0].vlan')"
check_eq "QoS from \"VlanQoS\"" 1 "$(vfinfo 0 '.vlan_list[0].qos')"
check_eq "spoof check off from \"spoofChk\"" false "$(vfinfo 0 .spoofchk)"
check_eq "trust on from \"Trust\"" true "$(vfinfo 0 .trust)"
check_eq "pod net1 MTU 1400" 1400 "$(ip -n pod-a -j link show net1 | jq -r '.[0].mtu')"
check_eq "host-local leased an address" 10.56.43 "$(echo "$out" | jq -r '.ips[0].address' | cut -d. -f1-3)"
jq --argjson r "$out" '. + {prevResult: $r}' /tmp/c0.json > /tmp/check0.json
check "CHECK passes" cni sriov CHECK ctr-a pod-a net1 < /tmp/check0.json
ip link set "$pf" vf 0 vlan 99
check_fails "CHECK notices the VLAN changed behind it" "differs from the config" cni sriov CHECK ctr-a pod-a net1 < /tmp/check0.json

# --- two ADDs racing for one VF (VF 1) ---
conf 1 > /tmp/c1.json
before1=$(vfinfo 1 .)
check "netns pod-b" lab_netns_new pod-b
check "netns pod-c" lab_netns_new pod-c
rm -f /tmp/race-*
(cni sriov ADD ctr-b pod-b net1 < /tmp/c1.json > /tmp/race-b.out; echo $? > /tmp/race-b.rc) &
(cni sriov ADD ctr-c pod-c net1 < /tmp/c1.json > /tmp/race-c.out; echo $? > /tmp/race-c.rc) &
wait
rb=$(cat /tmp/race-b.rc) rc=$(cat /tmp/race-c.rc)
echo "race: ctr-b exit $rb, ctr-c exit $rc"
if [ "$rb" = 0 ]; then win=b lose=c; else win=c lose=b; fi
check_eq "exactly one ADD won" "0 1" "$(printf '%s\n%s\n' "$rb" "$rc" | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "the loser was told the VF is in use (code 123)" 123 "$(jq -r .code /tmp/race-$lose.out)"
check "the loser left no record" test ! -e "/var/lib/cni/nfv-sriov/ctr-$lose-net1.json"
check_eq "two leases (pod-a and the winner)" 2 "$(leases)"
check "the loser's DEL succeeds" cni sriov DEL "ctr-$lose" "pod-$lose" net1 < /tmp/c1.json
check "and leaves the winner its VF" ip -n "pod-$win" link show net1
check_eq "and the winner's VLAN" 43 "$(vfinfo 1 '.vlan_list[0].vlan')"

# --- GC of a pod whose netns vanished (the winner) ---
ip netns del "pod-$win"
vf1_home() { [ -n "$(lab_vf_netdev 1)" ]; }
check "the VF netdev comes back to the host" lab_wait 10 vf1_home
jq '. + {cniVersion: "1.1.0", "cni.dev/valid-attachments": [{containerID: "ctr-a", ifname: "net1"}]}' /tmp/c0.json > /tmp/gc.json  # GC is 1.1.0
check "GC with only ctr-a valid" cni sriov GC "" "" "" < /tmp/gc.json
check_eq "the vanished pod's VF settings restored" "$before1" "$(vfinfo 1 .)"
check "its record removed" test ! -e "/var/lib/cni/nfv-sriov/ctr-$win-net1.json"
check_eq "its lease released, ctr-a's kept" 1 "$(leases)"
check "ctr-a untouched" ip -n pod-a link show net1

# --- DEL of pod-a, after the drift ---
check "DEL of pod-a" cni sriov DEL ctr-a pod-a net1 < /tmp/c0.json
check_eq "VF 0's settings as before ADD (the drift undone too)" "$before0" "$(vfinfo 0 .)"
check_eq "netdev MTU given back" "$mtu0" "$(cat "/sys/class/net/$name0/mtu")"
check_eq "no leases" 0 "$(leases)"
