# The igb admin-MAC rule, forced: once the PF has set an admin MAC and igbvf has probed with it,
# the VF netdev refuses any other MAC (EADDRNOTAVAIL) until the driver probes again. An ADD with
# another MAC must still give the pod a netdev with that MAC (the plugin rebinds igbvf), and DEL
# must give the host netdev back with the earlier admin MAC, name and MTU.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
pf=$(lab_pf)
vf=$(lab_vf_pci 1)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
rm -f /var/log/lab-26.log

check "PF sets VF 1's admin MAC" ip link set "$pf" vf 1 mac 02:26:00:00:00:0a
check "igbvf probes again and takes it" lab_vf_bind 1 igbvf
name=$(lab_vf_netdev 1)
check_eq "VF 1 netdev $name has the admin MAC" 02:26:00:00:00:0a "$(cat "/sys/class/net/$name/address")"
check_fails "and refuses another MAC (the rule)" "Cannot assign requested address" \
  ip link set "$name" address 02:26:00:00:00:0c
mtu=$(cat "/sys/class/net/$name/mtu")
before=$(vfinfo 1 .)

jq -n --arg dev "$vf" '{cniVersion: "1.1.0", name: "lab-sriov-26", type: "sriov", deviceID: $dev,
  mac: "02:26:00:00:00:0b", logLevel: "info", logFile: "/var/log/lab-26.log"}' > /tmp/conf.json
check "netns pod" lab_netns_new pod
out=$(cni sriov ADD ctr pod net1 < /tmp/conf.json) || fail "ADD: $out"
ok "ADD"
cat /var/log/lab-26.log
check "the netdev refused the MAC and the plugin rebound igbvf" grep -q "refused MAC 02:26:00:00:00:0b.*rebinding its driver" /var/log/lab-26.log
check_eq "PF: the new admin MAC" '"02:26:00:00:00:0b"' "$(vfinfo 1 .address)"
check_eq "pod net1 has the new MAC" 02:26:00:00:00:0b "$(ip -n pod -j link show net1 | jq -r '.[0].address')"
check_eq "the result says so" 02:26:00:00:00:0b "$(echo "$out" | jq -r '.interfaces[0].mac')"
check "pod net1 is up" sh -c "ip -n pod -j link show net1 | jq -e '.[0].flags | index(\"UP\")'"

check "DEL" cni sriov DEL ctr pod net1 < /tmp/conf.json
cat /var/log/lab-26.log
check_eq "netdev back under its name" "$name" "$(lab_vf_netdev 1)"
check_eq "netdev has the earlier admin MAC again" 02:26:00:00:00:0a "$(cat "/sys/class/net/$name/address")"
check_eq "netdev MTU" "$mtu" "$(cat "/sys/class/net/$name/mtu")"
check_eq "VF settings on the PF as before" "$before" "$(vfinfo 1 .)"
# (At DEL igbvf has so far taken its MAC back without a rebind; when it refuses, DEL rebinds too and
# the log says so.)
echo "rebinds: $(grep -c "rebinding its driver" /var/log/lab-26.log)"
