# The VF settings the seeds' NADs use, on igb through the real PF driver: vlan with vlanQoS and
# max_tx_rate applied and restored; spoofchk and trust round trips both ways (from the defaults,
# and from a state another tool left: DEL puts back what was there, not the defaults); and
# vlanProto 802.1ad, which igb refuses (EPROTONOSUPPORT): a clear error and a full rollback of
# everything applied before it, in netdev mode and in userspace-driver mode; and a VF MAC the
# config changes, seen by the DPDK app that opens the VF next.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
# settings N: what the seeds set, as the PF reports it for VF N
settings() {
  ip -j -d link show "$pf" | jq -r ".[0].vfinfo_list[] | select(.vf == $1)
    | \"vlan \(.vlan_list[0].vlan // 0) qos \(.vlan_list[0].qos // 0) rate \(.rate.max_tx) spoofchk \(.spoofchk) trust \(.trust)\""
}
rm -rf /run/lab-ipam-41
conf() {  # conf VF_INDEX EXTRA_JSON
  jq -n --arg dev "$(lab_vf_pci "$1")" --argjson extra "$2" '{cniVersion: "1.1.0", name: "lab-sriov-41",
    type: "sriov", deviceID: $dev, ipam: {type: "host-local", dataDir: "/run/lab-ipam-41",
    ranges: [[{subnet: "10.56.41.0/24"}]]}} + $extra'
}
leases() { ls /run/lab-ipam-41/lab-sriov-41 2>/dev/null | grep '^10\.'; }
name=$(lab_vf_netdev 1)
mac=$(cat "/sys/class/net/$name/address")
check "netns pod" lab_netns_new pod

# 1. From the defaults: VLAN 41 QoS 5, 200 Mbps, spoof check off, trust on; then back.
check_eq "VF 1 starts at the defaults" "vlan 0 qos 0 rate 0 spoofchk true trust false" "$(settings 1)"
before=$(vfinfo 1 .)
conf 1 '{"vlan": 41, "vlanQoS": 5, "max_tx_rate": 200, "spoofchk": "off", "trust": "on"}' > /tmp/c1.json
out=$(cni sriov ADD ctr pod net1 < /tmp/c1.json) || fail "ADD: $out"
ok "ADD with the seed's settings"
check_eq "PF: VLAN 41 QoS 5, max 200 Mbps, spoof check off, trust on" \
  "vlan 41 qos 5 rate 200 spoofchk false trust true" "$(settings 1)"
jq --argjson r "$out" '. + {prevResult: $r}' /tmp/c1.json > /tmp/check.json
check "CHECK: the settings are there" cni sriov CHECK ctr pod net1 < /tmp/check.json
check "DEL" cni sriov DEL ctr pod net1 < /tmp/c1.json
check_eq "PF: all of it undone" "$before" "$(vfinfo 1 .)"

# 2. From a state another tool left (spoof check off, trust on, a rate): the config asks for the
# opposite; DEL puts back that state, not the defaults.
check "the PF sets VF 1 spoof check off, trust on, 300 Mbps" \
  ip link set "$pf" vf 1 spoofchk off trust on max_tx_rate 300
before=$(vfinfo 1 .)
conf 1 '{"spoofchk": "on", "trust": "off", "max_tx_rate": 100}' > /tmp/c2.json
check "ADD with spoof check on, trust off, 100 Mbps" cni sriov ADD ctr pod net1 < /tmp/c2.json
check_eq "PF: spoof check on, trust off, 100 Mbps" "vlan 0 qos 0 rate 100 spoofchk true trust false" "$(settings 1)"
check "DEL" cni sriov DEL ctr pod net1 < /tmp/c2.json
check_eq "PF: spoof check off, trust on, 300 Mbps again" "vlan 0 qos 0 rate 300 spoofchk false trust true" "$(settings 1)"
check_eq "PF: exactly as before" "$before" "$(vfinfo 1 .)"
check "the PF puts VF 1 back to its defaults" ip link set "$pf" vf 1 spoofchk on trust off max_tx_rate 0

# 3. vlanProto 802.1ad: igb has no QinQ on VFs. Everything applied before the VLAN (admin MAC,
# and in the config's order nothing else yet) is undone, the netdev is back, nothing is left.
qinq_refused() {  # qinq_refused WHAT OUTPUT
  echo "$2"
  case $(echo "$2" | jq -r .msg) in
    *"802.1ad"*"use 802.1Q"*) ok "$1: the error says igb has no 802.1ad VLANs on VFs and names the fix" ;;
    *) fail "$1: unclear error: $2" ;;
  esac
}
before=$(vfinfo 1 .)
conf 1 '{"mac": "02:41:00:00:00:01", "vlan": 41, "vlanQoS": 1, "vlanProto": "802.1ad",
  "spoofchk": "off", "trust": "on", "max_tx_rate": 50}' > /tmp/c3.json
out=$(cni sriov ADD ctr pod net1 < /tmp/c3.json) && fail "ADD with 802.1ad succeeded on igb: $out"
qinq_refused "netdev mode" "$out"
check_eq "netdev mode: VF settings on the PF as before (admin MAC included)" "$before" "$(vfinfo 1 .)"
check_eq "netdev mode: the netdev in the host under its name" "$name" "$(lab_vf_netdev 1)"
check_eq "netdev mode: its MAC" "$mac" "$(cat "/sys/class/net/$name/address")"
check_eq "netdev mode: pod is empty" lo "$(ip -n pod -j link show | jq -r '.[].ifname')"
check "netdev mode: no record" test ! -e /var/lib/cni/nfv-sriov/ctr-net1.json
check_eq "netdev mode: no lease" "" "$(leases)"
check "netdev mode: DEL after the failed ADD succeeds" cni sriov DEL ctr pod net1 < /tmp/c3.json

info=/var/run/k8s.cni.cncf.io/devinfo/cni/lab-sriov-41-ctr3_net1
before=$(vfinfo 3 .)
conf 3 '{"mac": "02:41:00:00:00:03", "vlan": 41, "vlanProto": "802.1ad", "trust": "on",
  "max_tx_rate": 50}' | jq --arg i "$info" '. + {runtimeConfig: {CNIDeviceInfoFile: $i}}' > /tmp/c4.json
out=$(cni sriov ADD ctr3 pod net1 < /tmp/c4.json) && fail "ADD with 802.1ad succeeded on igb: $out"
qinq_refused "userspace mode (vfio-pci)" "$out"
check_eq "userspace mode: VF settings on the PF as before" "$before" "$(vfinfo 3 .)"
check_eq "userspace mode: VF 3 still on vfio-pci" vfio-pci "$(lab_vf_driver 3)"
check "userspace mode: no device-info file" test ! -e "$info"
check "userspace mode: no record" test ! -e /var/lib/cni/nfv-sriov/ctr3-net1.json
check_eq "userspace mode: no lease" "" "$(leases)"
check "userspace mode: DEL after the failed ADD succeeds" cni sriov DEL ctr3 pod net1 < /tmp/c4.json

# 4. The MAC a pod's config gives a vfio VF is the one the DPDK app finds on it; a later pod's
# config gives it another, and after DEL the VF has no admin MAC again. (testpmd with stdin at its
# end starts, reports its port and exits at once.)
testpmd_mac() {
  timeout 60 dpdk-testpmd -l 0-1 -n 1 --in-memory -a "$(lab_vf_pci 3)" -- --total-num-mbufs=2048 \
    < /dev/null 2>&1 | sed -n 's/^Port 0: \([0-9A-F:]*\)$/\1/p'
}
before=$(vfinfo 3 .)
for m in 02:41:00:00:00:0a 02:41:00:00:00:0b; do
  conf 3 "{\"mac\": \"$m\"}" > /tmp/c5.json
  check "ADD VF 3 (vfio-pci) with MAC $m" cni sriov ADD ctr5 pod net1 < /tmp/c5.json
  check_eq "the DPDK app on VF 3 finds MAC $m" "$(echo "$m" | tr a-f A-F)" "$(testpmd_mac)"
  check "DEL" cni sriov DEL ctr5 pod net1 < /tmp/c5.json
done
check_eq "PF: VF 3 as before (no admin MAC)" "$before" "$(vfinfo 3 .)"
