# The seeds' own flow, driven as Multus and the device plugin drive it: the sriov plugin attaches
# VF 2 (bound to vfio-pci by node policy, as the device plugin's DPDK pool has it) to pod P in
# userspace-driver mode, with the MAC P's network annotation asks for, and VF 0 (igbvf) to pod Q
# in netdev mode, both on VLAN 40. P's app finds its VF the way a pod's does (PCIDEVICE_* from the
# device plugin, checked against the device-info file Multus asked the plugin for, whose group
# device it opens) and runs dpdk-testpmd with the igbvf PMD on it, answering ARP and ICMP echo
# (icmpecho). Q pings P's address: traffic both ways, counted by testpmd and by Q's kernel. DEL
# gives both VFs back clean. In the noiommu variant the VF's group is a no-IOMMU one: the
# device-info file and the plugin's log say so, and testpmd runs on it (IOVA as physical
# addresses, which needs hugepages and, to read them, CAP_SYS_ADMIN).
# lab-variants: viommu noiommu
# lab-timeout: 240
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
test -x "$LAB/bin/host-local" || fail "no host-local in $LAB/bin: cargo build --release -p host-local"
command -v dpdk-testpmd > /dev/null || fail "no dpdk-testpmd in the guest image (host/image.sh)"
pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
vfP=$(lab_vf_pci 2) vfQ=$(lab_vf_pci 0)
macP=02:40:00:00:00:0a
rm -rf /run/lab-ipam-40 /var/log/lab-40.log

# The two NADs, as the cluster admin wrote them (one pool of the subnet each).
jq -n '{cniVersion: "1.1.0", name: "sriov-dpdk-40", type: "sriov", vlan: 40, vlanQoS: 3,
  spoofchk: "on", trust: "on", logLevel: "info", logFile: "/var/log/lab-40.log",
  capabilities: {mac: true, CNIDeviceInfoFile: true},
  ipam: {type: "host-local", dataDir: "/run/lab-ipam-40",
    ranges: [[{subnet: "10.56.40.0/24", rangeStart: "10.56.40.10", rangeEnd: "10.56.40.19"}]]}}' > /tmp/nadP.json
jq -n '{cniVersion: "1.1.0", name: "sriov-net-40", type: "sriov", vlan: 40,
  capabilities: {CNIDeviceInfoFile: true},
  ipam: {type: "host-local", dataDir: "/run/lab-ipam-40",
    ranges: [[{subnet: "10.56.40.0/24", rangeStart: "10.56.40.20", rangeEnd: "10.56.40.29"}]]}}' > /tmp/nadQ.json
# What Multus hands the plugin for each pod.
lab_multus_conf /tmp/nadP.json "$vfP" ctrP net1 "$macP" > /tmp/confP.json
lab_multus_conf /tmp/nadQ.json "$vfQ" ctrQ net1 > /tmp/confQ.json
argsP=$(lab_multus_args lab testpmd-0 ctrP 0b9a1c55-4000-4000-8000-00000000000a "$macP")
argsQ=$(lab_multus_args lab client-0 ctrQ 0b9a1c55-4000-4000-8000-00000000000b)
infoP=$(lab_multus_devinfo /tmp/nadP.json ctrP net1)
infoQ=$(lab_multus_devinfo /tmp/nadQ.json ctrQ net1)
cat /tmp/confP.json; echo "CNI_ARGS=$argsP"

check_eq "VF 2 ($vfP) is on vfio-pci" vfio-pci "$(lab_vf_driver 2)"
group=$(lab_vf_group 2)
groupdev=$(lab_vf_vfio_dev 2)
if [ "$LAB_VARIANT" = noiommu ]; then
  check_eq "noiommu: VF 2's group is a no-IOMMU group" "/dev/vfio/noiommu-$group" "$groupdev"
  check_eq "noiommu: vfio is in its unsafe no-IOMMU mode" Y "$(cat /sys/module/vfio/parameters/enable_unsafe_noiommu_mode)"
  check "noiommu: no IOMMU in this node" test -z "$(ls /sys/class/iommu)"
else
  check_eq "viommu: VF 2 has its own IOMMU group" "/dev/vfio/$group" "$groupdev"
fi
beforeP=$(vfinfo 2 .) beforeQ=$(vfinfo 0 .)
nameQ=$(lab_vf_netdev 0)
macQ0=$(cat "/sys/class/net/$nameQ/address")

check "netns for pod P" lab_netns_new podP
check "netns for pod Q" lab_netns_new podQ
outP=$(cni sriov ADD ctrP podP net1 "$argsP" < /tmp/confP.json) || fail "ADD P: $outP"
ok "ADD VF 2 (vfio-pci) for pod P"
echo "$outP"
outQ=$(cni sriov ADD ctrQ podQ net1 "$argsQ" < /tmp/confQ.json) || fail "ADD Q: $outQ"
ok "ADD VF 0 (igbvf) into pod Q"
echo "$outQ"
check_eq "P's result: pciID, MAC from the annotation" "$vfP $macP" "$(echo "$outP" | jq -r '.interfaces[0] | "\(.pciID) \(.mac)"')"
check_eq "P's result: IPAM's address (reported, not configured)" 10.56.40.10/24 "$(echo "$outP" | jq -r '.ips[0].address')"
check_eq "P has no kernel interface for it" lo "$(ip -n podP -j link show | jq -r '.[].ifname')"
check_eq "PF: VF 2 admin MAC, VLAN 40 QoS 3, trust on" "\"$macP\" 40/3 true" \
  "$(vfinfo 2 .address) $(vfinfo 2 '.vlan_list[0].vlan')/$(vfinfo 2 '.vlan_list[0].qos') $(vfinfo 2 .trust)"
check "Q's net1 carries 10.56.40.20" sh -c "ip -n podQ -j addr show net1 | jq -e '.[0].addr_info[] | select(.local == \"10.56.40.20\")'"
grep "group device" /var/log/lab-40.log
if [ "$LAB_VARIANT" = noiommu ]; then
  check "the plugin's log names the no-IOMMU group device" grep -q "group device $groupdev (no-IOMMU mode)" /var/log/lab-40.log
else
  check "the plugin's log names the group device" grep -q "group device $groupdev\$" /var/log/lab-40.log
fi

# --- P's app, as it runs in the pod ---------------------------------------------------------------
# The device plugin gave the pod PCIDEVICE_<RESOURCE> and mounted /dev/vfio/vfio and the group
# device; Multus asked the plugin for the device-info file and copies it into the pod's
# network-status annotation. The app takes its PCI address from the environment, checks it
# against the device-info file, and opens the group device the file names.
export PCIDEVICE_INTEL_COM_SRIOV_DPDK="$vfP"
cat "$infoP"; echo
check_eq "device-info: type pci, P's VF, its PF" "pci $vfP $(lab_pf_pci)" \
  "$(jq -r '"\(.type) \(.pci["pci-address"]) \(.pci["pf-pci-address"])"' "$infoP")"
check_eq "device-info: the app's PCIDEVICE_INTEL_COM_SRIOV_DPDK" "$PCIDEVICE_INTEL_COM_SRIOV_DPDK" "$(jq -r '.pci["pci-address"]' "$infoP")"
if [ "$LAB_VARIANT" = noiommu ]; then
  check_eq "device-info: vfio group $group, /dev/vfio/noiommu-$group, noiommu true" "$group $groupdev true" \
    "$(jq -r '"\(.vfio.group) \(.vfio.device) \(.vfio.noiommu)"' "$infoP")"
else
  check_eq "device-info: vfio group $group, /dev/vfio/$group, noiommu false" "$group $groupdev false" \
    "$(jq -r '"\(.vfio.group) \(.vfio.device) \(.vfio.noiommu)"' "$infoP")"
fi
check "the group device the file names opens" sh -c "exec 3<> $(jq -r .vfio.device "$infoP")"
check "device-info for Q (netdev mode): VF 0, no vfio" \
  sh -c "jq -e --arg v '$vfQ' '.pci[\"pci-address\"] == \$v and .vfio == null' '$infoQ'"

# testpmd as the seeds run it: the VF from PCIDEVICE_*, one forwarding core, hugepages (EAL's
# in-memory mode: no files of its own under /var/run/dpdk). The pod's capabilities only:
# IPC_LOCK everywhere; in no-IOMMU mode SYS_RAWIO to open the group and SYS_ADMIN to read the
# physical addresses of its hugepages from /proc/self/pagemap (IOVA as PA).
caps=+ipc_lock
if [ "$LAB_VARIANT" = noiommu ]; then
  caps=+ipc_lock,+sys_rawio,+sys_admin
  check_fails "noiommu: without CAP_SYS_RAWIO the group device does not open" "Operation not permitted" \
    setpriv --inh-caps=-all --bounding-set=-all,+ipc_lock,+sys_admin -- sh -c "exec 3<> $groupdev"
  # (testpmd itself exits 0 with no port: the EAL's words tell.)
  out=$(ip netns exec podP setpriv --inh-caps=-all --bounding-set=-all,+ipc_lock,+sys_rawio -- \
    timeout 60 dpdk-testpmd -l 0-1 -n 1 --in-memory -a "$PCIDEVICE_INTEL_COM_SRIOV_DPDK" -- --total-num-mbufs=2048 2>&1)
  case $out in
    *"Physical addresses are unavailable"*"Expecting 'PA' IOVA mode"*"$PCIDEVICE_INTEL_COM_SRIOV_DPDK cannot be used"*)
      ok "noiommu: without CAP_SYS_ADMIN (pagemap's physical addresses) testpmd cannot use the VF: IOVA as PA needs them" ;;
    *) echo "$out"; fail "noiommu: testpmd without CAP_SYS_ADMIN did not fail as expected" ;;
  esac
fi
echo "testpmd with the capabilities: $caps"
t0=$(cut -d' ' -f1 /proc/uptime)
lab_testpmd_start tp podP setpriv --inh-caps=-all --bounding-set=-all,$caps -- \
  dpdk-testpmd -l 0-1 -n 1 --in-memory -a "$PCIDEVICE_INTEL_COM_SRIOV_DPDK" -- \
  --forward-mode=icmpecho --total-num-mbufs=2048 --rxq=1 --txq=1
pingP() { ip netns exec podQ ping -c 1 -W 1 10.56.40.10 > /dev/null; }
if ! lab_wait 90 pingP; then
  lab_testpmd_stop tp
  cat /tmp/tp.out
  fail "P's testpmd never answered Q's ping within 90 s"
fi
ok "P's testpmd answers Q (ARP and ICMP echo), $(awk -v t0="$t0" '{ printf "%.1f", $1 - t0 }' /proc/uptime) s after it started"
txQ0=$(ip netns exec podQ cat /sys/class/net/net1/statistics/tx_packets)
rxQ0=$(ip netns exec podQ cat /sys/class/net/net1/statistics/rx_packets)
out=$(ip netns exec podQ ping -c 20 -i 0.2 -W 2 10.56.40.10) || { echo "$out"; lab_testpmd_stop tp; cat /tmp/tp.out; fail "Q -> P ping"; }
echo "$out"
check_eq "Q: 20 echo requests, 20 replies" "20 packets transmitted, 20 packets received, 0% packet loss" "$(echo "$out" | grep 'packets transmitted')"
txQ=$(($(ip netns exec podQ cat /sys/class/net/net1/statistics/tx_packets) - txQ0))
rxQ=$(($(ip netns exec podQ cat /sys/class/net/net1/statistics/rx_packets) - rxQ0))
lab_testpmd_stop tp
check_eq "testpmd stops cleanly" 0 "$?"
grep -v -e threshold -e 'desc=' /tmp/tp.out
rxP=$(lab_testpmd_stat tp RX) txP=$(lab_testpmd_stat tp TX)
echo "Q's kernel: $txQ packets sent, $rxQ received during the counted pings; P's testpmd: RX $rxP, TX $txP in all"
check_eq "P's testpmd saw the MAC the plugin set (the pod's annotation)" "Port 0: $(echo "$macP" | tr a-f A-F)" "$(grep -o '^Port 0: [0-9A-F:]*' /tmp/tp.out)"
if [ "$LAB_VARIANT" = noiommu ]; then
  check "testpmd: IOVA as PA through the no-IOMMU group" grep -q "Using IOMMU type 8 (No-IOMMU)" /tmp/tp.out
else
  check "testpmd: the IOMMU (type 1) maps its memory" grep -q "Using IOMMU type 1 (Type 1)" /tmp/tp.out
fi
check "Q -> P: testpmd received at least Q's 20 counted requests ($rxP)" test "${rxP:-0}" -ge 20
check "P -> Q: testpmd sent at least the 20 replies ($txP)" test "${txP:-0}" -ge 20
check "Q's kernel counted its 20 requests out ($txQ) and the 20 replies in ($rxQ)" test "$txQ" -ge 20 -a "$rxQ" -ge 20

# --- the pods go ---------------------------------------------------------------------------------
check "DEL P" cni sriov DEL ctrP podP net1 "$argsP" < /tmp/confP.json
check "DEL Q" cni sriov DEL ctrQ podQ net1 "$argsQ" < /tmp/confQ.json
check_eq "VF 2: every setting on the PF as before" "$beforeP" "$(vfinfo 2 .)"
check_eq "VF 0: every setting on the PF as before" "$beforeQ" "$(vfinfo 0 .)"
check_eq "VF 2 still on vfio-pci, its group device there" "vfio-pci" "$(lab_vf_driver 2)"
check "VF 2's group device is back, free" sh -c "exec 3<> $groupdev"
check_eq "VF 0's netdev back in the host under its name" "$nameQ" "$(lab_vf_netdev 0)"
check_eq "VF 0's netdev MAC restored" "$macQ0" "$(cat "/sys/class/net/$nameQ/address")"
check "device-info files removed" test ! -e "$infoP" -a ! -e "$infoQ"
check_eq "leases released" "" "$(ls /run/lab-ipam-40/sriov-dpdk-40 /run/lab-ipam-40/sriov-net-40 2>/dev/null | grep '^10\.')"
check "no records left" sh -c "! ls /var/lib/cni/nfv-sriov/ctr[PQ]-* 2>/dev/null"
