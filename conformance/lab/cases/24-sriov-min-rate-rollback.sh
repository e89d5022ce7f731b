# igb has no minimum TX rate (EINVAL). An ADD with min_tx_rate fails with an error naming the
# setting and the reason, after the admin MAC and VLAN were already applied: all of it is undone.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
rm -rf /run/lab-ipam-24
jq -n --arg dev "$(lab_vf_pci 1)" '{cniVersion: "1.1.0", name: "lab-sriov-24", type: "sriov",
  deviceID: $dev, mac: "02:24:00:00:00:01", vlan: 24, trust: "on", min_tx_rate: 10,
  max_tx_rate: 100, ipam: {type: "host-local", dataDir: "/run/lab-ipam-24",
  ranges: [[{subnet: "10.56.24.0/24"}]]}}' > /tmp/conf.json
name=$(lab_vf_netdev 1)
mac=$(cat "/sys/class/net/$name/address")
before=$(vfinfo 1 .)
check "netns pod" lab_netns_new pod

out=$(cni sriov ADD ctr pod net1 < /tmp/conf.json) && fail "ADD with min_tx_rate succeeded: $out"
echo "$out"
case $(echo "$out" | jq -r .msg) in
  *"minimum TX rate"*) ok "the error says igb has no minimum TX rate" ;;
  *) fail "unclear error: $out" ;;
esac
check_eq "netdev in the host under its name" "$name" "$(lab_vf_netdev 1)"
check_eq "netdev MAC" "$mac" "$(cat "/sys/class/net/$name/address")"
check_eq "VF settings on the PF as before (admin MAC, VLAN, trust, rates)" "$before" "$(vfinfo 1 .)"
check_eq "pod is empty" lo "$(ip -n pod -j link show | jq -r '.[].ifname')"
check "no record" test ! -e /var/lib/cni/nfv-sriov/ctr-net1.json
check_eq "no lease" "" "$(ls /run/lab-ipam-24/lab-sriov-24 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$')"
check "DEL after the failed ADD succeeds (a runtime always sends one)" cni sriov DEL ctr pod net1 < /tmp/conf.json
check_eq "and changes nothing" "$before" "$(vfinfo 1 .)"
