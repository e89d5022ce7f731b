# igb has no VF link state (EOPNOTSUPP). An ADD asking for link_state must fail with an error that
# says so and names the fix, and leave nothing behind: the VF settings applied before it (VLAN,
# spoof check, admin MAC) restored, the netdev in the host under its name with its MAC and MTU, no
# record, no lease. Then a failure after IPAM (a route through an unreachable gateway) on the real
# VF: the same full rollback, the lease released.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
rm -rf /run/lab-ipam-23
base() {
  jq -n --arg dev "$(lab_vf_pci 0)" '{cniVersion: "1.1.0", name: "lab-sriov-23", type: "sriov",
    deviceID: $dev, mac: "02:23:00:00:00:01", mtu: 1400, vlan: 23, spoofchk: "off",
    ipam: {type: "host-local", dataDir: "/run/lab-ipam-23", ranges: [[{subnet: "10.56.23.0/24"}]]}}'
}
name=$(lab_vf_netdev 0)
mac=$(cat "/sys/class/net/$name/address")
mtu=$(cat "/sys/class/net/$name/mtu")
before=$(vfinfo 0 .)
check "netns pod" lab_netns_new pod

nothing_left() {
  check_eq "$1: netdev in the host under its name" "$name" "$(lab_vf_netdev 0)"
  check_eq "$1: netdev MAC" "$mac" "$(cat "/sys/class/net/$name/address")"
  check_eq "$1: netdev MTU" "$mtu" "$(cat "/sys/class/net/$name/mtu")"
  check_eq "$1: VF settings on the PF as before" "$before" "$(vfinfo 0 .)"
  check_eq "$1: pod is empty" lo "$(ip -n pod -j link show | jq -r '.[].ifname')"
  check "$1: no record" test ! -e /var/lib/cni/nfv-sriov/ctr-net1.json
  check_eq "$1: no lease" "" "$(ls /run/lab-ipam-23/lab-sriov-23 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$')"
}

base | jq '. + {link_state: "enable"}' > /tmp/conf.json
out=$(cni sriov ADD ctr pod net1 < /tmp/conf.json) && fail "ADD with link_state succeeded: $out"
echo "$out"
check_eq "error code: the kernel refused (121)" 121 "$(echo "$out" | jq .code)"
case $(echo "$out" | jq -r .msg) in
  *"does not support VF link state"*"remove link_state"*) ok "the error says igb has no VF link state and names the fix" ;;
  *) fail "unclear error: $out" ;;
esac
nothing_left "link_state"

base | jq '.ipam.routes = [{dst: "10.99.0.0/16", gw: "10.57.0.1"}]' > /tmp/conf.json
out=$(cni sriov ADD ctr pod net1 < /tmp/conf.json) && fail "ADD with an unreachable gateway succeeded: $out"
echo "$out"
case $(echo "$out" | jq -r .msg) in
  *"not reachable"*) ok "the error says the gateway is unreachable" ;;
  *) fail "unexpected error: $out" ;;
esac
nothing_left "route after IPAM"
