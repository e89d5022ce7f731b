# DEL gives an igbvf VF back exactly: every VF setting the config changed through the PF (admin
# MAC, VLAN+QoS, spoof check, trust, max TX rate) and the netdev's name, MAC and MTU, all read back
# from the kernel. The config's MAC is an admin MAC, which igbvf only takes by probing again: the
# pod must still see it (the plugin rebinds the driver), and DEL must give the host netdev its own
# MAC back the same way. (Whether igbvf refuses the MAC depends on whether it was reset since the
# PF set the admin MAC; 26-sriov-admin-mac-rebind forces the refusal.)
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
pf=$(lab_pf)
vf=$(lab_vf_pci 0)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
rm -rf /run/lab-ipam-21 /var/log/lab-21.log
jq -n --arg dev "$vf" '{cniVersion: "1.0.0", name: "lab-sriov-21", type: "sriov", deviceID: $dev,
  mac: "02:21:00:00:00:01", mtu: 1400, vlan: 42, vlanQoS: 2, spoofchk: "off", trust: "on",
  max_tx_rate: 50, logLevel: "info", logFile: "/var/log/lab-21.log", ipam: {type: "host-local", dataDir: "/run/lab-ipam-21",
  ranges: [[{subnet: "10.56.21.0/24"}]]}}' > /tmp/conf.json

name=$(lab_vf_netdev 0)
mac=$(cat "/sys/class/net/$name/address")
mtu=$(cat "/sys/class/net/$name/mtu")
before=$(vfinfo 0 .)
echo "before: $name $mac mtu $mtu; PF: $before"

check "netns pod" lab_netns_new pod
out=$(cni sriov ADD ctr pod net1 < /tmp/conf.json) || fail "ADD: $out"
ok "ADD"
echo "$out"
check_eq "pod net1 has the config's MAC" 02:21:00:00:00:01 "$(ip -n pod -j link show net1 | jq -r '.[0].address')"
check_eq "result reports that MAC" 02:21:00:00:00:01 "$(echo "$out" | jq -r '.interfaces[0].mac')"
check_eq "pod net1 has MTU 1400" 1400 "$(ip -n pod -j link show net1 | jq -r '.[0].mtu')"
check_eq "PF: admin MAC" '"02:21:00:00:00:01"' "$(vfinfo 0 .address)"
check_eq "PF: VLAN 42" 42 "$(vfinfo 0 '.vlan_list[0].vlan')"
check_eq "PF: QoS 2" 2 "$(vfinfo 0 '.vlan_list[0].qos')"
check_eq "PF: spoof check off" false "$(vfinfo 0 .spoofchk)"
check_eq "PF: trust on" true "$(vfinfo 0 .trust)"
check_eq "PF: max TX rate 50" 50 "$(vfinfo 0 .rate.max_tx)"
check "a record for the attachment" test -s /var/lib/cni/nfv-sriov/ctr-net1.json

check "DEL" cni sriov DEL ctr pod net1 < /tmp/conf.json
ip -d link show "$pf"
check_eq "netdev back under its name" "$name" "$(lab_vf_netdev 0)"
check_eq "netdev MAC restored" "$mac" "$(cat "/sys/class/net/$name/address")"
check_eq "netdev MTU restored" "$mtu" "$(cat "/sys/class/net/$name/mtu")"
echo "plugin log:"; cat /var/log/lab-21.log
check_eq "every VF setting on the PF as before" "$before" "$(vfinfo 0 .)"
check_eq "pod is empty" lo "$(ip -n pod -j link show | jq -r '.[].ifname')"
check "record removed" test ! -e /var/lib/cni/nfv-sriov/ctr-net1.json
check_eq "lease released" "" "$(ls /run/lab-ipam-21/lab-sriov-21 | grep -v -e '^last_reserved_ip' -e '^lock$')"
check "DEL again succeeds" cni sriov DEL ctr pod net1 < /tmp/conf.json
check_eq "and changes nothing" "$before" "$(vfinfo 0 .)"
# igb remembers whether the PF set a VF's MAC, and then refuses the VF any other; before ADD the
# PF only mirrored the VF's own choice. DEL clears the admin MAC rather than setting it, so the VF
# may choose its MAC again, as before.
check "after DEL the VF netdev may choose its own MAC again" ip link set "$name" address 02:21:00:00:00:99
check "and back" ip link set "$name" address "$mac"
check_eq "the PF mirrors it again" "\"$mac\"" "$(vfinfo 0 .address)"
