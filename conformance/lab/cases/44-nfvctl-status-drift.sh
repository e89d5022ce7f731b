# nfvctl on real VFs: after an sriov ADD on igb (VLAN 44, spoof check off, host-local), `nfvctl
# status` lists the attachment with the VF, its PF and index, the settings applied at ADD, before
# ADD and on the PF now (read through igb's netlink), the pod's netns and the lease, and no drift;
# `ip link set <pf> vf N vlan 45` behind the plugin's back is flagged `vf-settings-changed` with
# both values; the pod's netns deleted is flagged `netns-gone`; `gc --dry-run` with nothing valid
# names the VF and the lease; nfvctl changed nothing (DEL still restores the VF as it was).
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
test -x "$LAB/bin/nfvctl" || fail "no nfvctl in $LAB/bin: cargo build --release -p nfvctl"
pf=$(lab_pf)
vf=$(lab_vf_pci 1)
ipam=/run/lab-ipam-44
rm -rf "$ipam"
nfvctl() { "$LAB/bin/nfvctl" "$@" --no-ovs --data-dir "$ipam"; }
jq -n --arg dev "$vf" --arg d "$ipam" '{cniVersion: "1.1.0", name: "lab-sriov-44", type: "sriov",
  deviceID: $dev, vlan: 44, spoofchk: "off",
  ipam: {type: "host-local", dataDir: $d, ranges: [[{subnet: "10.56.44.0/24"}]]}}' > /tmp/c44.json
before=$(ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == 1)")
check "netns pod" lab_netns_new pod
out=$(cni sriov ADD ctr44 pod net1 < /tmp/c44.json) || fail "ADD: $out"
ok "ADD on VF 1 with VLAN 44 and spoof check off"

st=$(nfvctl status --json) || fail "nfvctl status: $st"
echo "$st"
check_eq "one attachment: ours, its network, container and ifname" "sriov lab-sriov-44 ctr44 net1" \
  "$(echo "$st" | jq -r '.attachments | length as $n | .[0] | "\(.plugin) \(.network) \(.containerID) \(.ifname)" + (if $n == 1 then "" else " and \($n - 1) more" end)')"
check_eq "the VF, its PF and index" "$vf $pf 1" \
  "$(echo "$st" | jq -r '.attachments[0].vf | "\(.pci) \(.pf) \(.index)"')"
check_eq "applied at ADD: VLAN 44, spoof check off" "44 false" \
  "$(echo "$st" | jq -r '.attachments[0].vf.applied | "\(.vlan) \(.spoofchk)"')"
check_eq "before ADD: VLAN 0, spoof check on" "0 true" \
  "$(echo "$st" | jq -r '.attachments[0].vf.before | "\(.vlan) \(.spoofchk)"')"
check_eq "on the PF now (igb's netlink): VLAN 44, spoof check off" "44 false" \
  "$(echo "$st" | jq -r '.attachments[0].vf.now | "\(.vlan) \(.spoofchk)"')"
check_eq "the pod's netns, there" "/run/netns/pod true" \
  "$(echo "$st" | jq -r '.attachments[0] | "\(.netns) \(.netnsExists)"')"
check_eq "its lease" '["10.56.44.2"]' "$(echo "$st" | jq -c '.attachments[0].leases')"
check_eq "no drift" "[] []" "$(echo "$st" | jq -c '[.attachments[0].drift, .drift] | "\(.[0]) \(.[1])"' -r)"
table=$(nfvctl status) || fail "nfvctl status (table): $table"
echo "$table"
case $table in
  *"VF $vf ($pf vf 1)"*"applied vlan 44"*) ok "the table shows the VF and what was applied" ;;
  *) fail "the table lacks the VF line" ;;
esac

# Behind the plugin's back: the PF moves VF 1 to VLAN 45.
check "ip link set $pf vf 1 vlan 45" ip link set "$pf" vf 1 vlan 45
st=$(nfvctl status --json) || fail "nfvctl status: $st"
check_eq "flagged: vf-settings-changed" '["vf-settings-changed"]' \
  "$(echo "$st" | jq -c '[.attachments[0].drift[].kind]')"
detail=$(echo "$st" | jq -r '.attachments[0].drift[0].detail')
echo "$detail"
case $detail in
  *"vlan 44 qos 0 proto 802.1Q set at ADD, now vlan 45 qos 0"*) ok "the detail names both VLANs" ;;
  *) fail "unclear detail: $detail" ;;
esac
check_eq "now: VLAN 45" 45 "$(echo "$st" | jq -r '.attachments[0].vf.now.vlan')"

# GC with nothing valid would restore the VF and release the lease.
echo '[]' > /tmp/valid44.json
plan=$(nfvctl gc --dry-run --valid /tmp/valid44.json --network lab-sriov-44 --json) || fail "gc --dry-run: $plan"
echo "$plan"
check_eq "gc --dry-run: the VF and the lease" "sriov ctr44,host-local ctr44" \
  "$(echo "$plan" | jq -r '[.networks[0].teardown[] | "\(.plugin) \(.containerID)"] | join(",")')"

# The pod's namespace goes without a DEL: the VF's netdev comes home, the record stays.
check "ip netns del pod" ip netns del pod
lab_wait 5 sh -c "[ -n \"\$(ls /sys/bus/pci/devices/$vf/net 2>/dev/null)\" ]" || fail "the VF netdev did not come home"
st=$(nfvctl status --json) || fail "nfvctl status: $st"
check_eq "flagged: netns-gone (and the VLAN still)" '["netns-gone","vf-settings-changed"]' \
  "$(echo "$st" | jq -c '[.attachments[0].drift[].kind]')"
check_eq "the VF's netdev is in the host now" true \
  "$(echo "$st" | jq -r '.attachments[0].vf.hostNetdev != null')"

# nfvctl changed nothing: DEL restores the VF as it was before ADD, record and lease go.
check "DEL" cni sriov DEL ctr44 "" net1 < /tmp/c44.json
check_eq "PF: VF 1 exactly as before ADD" "$before" \
  "$(ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == 1)")"
st=$(nfvctl status --json) || fail "nfvctl status: $st"
check_eq "nothing left to show" "[] []" "$(echo "$st" | jq -r '"\(.attachments) \(.leases)"')"
rm -rf "$ipam" /tmp/c44.json /tmp/valid44.json
