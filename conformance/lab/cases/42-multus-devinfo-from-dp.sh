# Multus as the caller when the device plugin wrote a device-info file for the VF it allocated:
# Multus copies it to the CNI path before the call (device-info spec 5.1.2: the CNI plugin keeps a
# file it finds there and does not write over it). The plugin, called with what Multus hands a
# delegate (deviceID and pciBusID injected, runtimeConfig for the declared capabilities, CNI_ARGS
# with IgnoreUnknown and the K8S_POD_* keys), keeps the file as the device plugin wrote it, and
# leaves it at DEL (it did not write it). Then the same with the file's directory missing, as on
# a node where nothing wrote device-info yet: the plugin creates it and the file, as a pod's app
# then reads it, and DEL removes the file.
. "$LAB/guest/lib.sh"

test -x "$LAB/bin/sriov" || fail "no sriov in $LAB/bin: cargo build --release -p sriov"
vf=$(lab_vf_pci 3)
pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -c ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
devinfo=/var/run/k8s.cni.cncf.io/devinfo
rm -rf "$devinfo"
jq -n '{cniVersion: "1.0.0", name: "sriov-dpdk-42", type: "sriov", vlan: 42,
  capabilities: {CNIDeviceInfoFile: true, mac: true}}' > /tmp/nad.json
lab_multus_conf /tmp/nad.json "$vf" ctr net1 02:42:00:00:00:03 > /tmp/conf.json
args=$(lab_multus_args lab dpdk-app ctr 42424242-0000-4000-8000-000000000042 02:42:00:00:00:03)
info=$(lab_multus_devinfo /tmp/nad.json ctr net1)
cat /tmp/conf.json; echo "CNI_ARGS=$args"
check_eq "Multus's device-info path" "$devinfo/cni/sriov-dpdk-42-ctr_net1" "$info"
check_eq "deviceID and pciBusID injected" "$vf $vf" "$(jq -r '"\(.deviceID) \(.pciBusID)"' /tmp/conf.json)"
check_eq "runtimeConfig: the declared capabilities only" '{"CNIDeviceInfoFile":"'"$info"'","mac":"02:42:00:00:00:03"}' \
  "$(jq -c .runtimeConfig /tmp/conf.json)"
before=$(vfinfo 3 .)
check "netns pod" lab_netns_new pod

# The device plugin's file for the VF it allocated, and Multus's copy (nadutils writes 0444).
dp=$devinfo/dp/intel.com-sriov_dpdk-$vf-device.json
mkdir -p "$devinfo/dp" "$devinfo/cni"
printf '{"type":"pci","version":"1.1.0","pci":{"pci-address":"%s"}}' "$vf" > "$dp"
cp "$dp" "$info" && chmod 0444 "$info"
out=$(cni sriov ADD ctr pod net1 "$args" < /tmp/conf.json) || fail "ADD: $out"
ok "ADD as Multus calls it"
echo "$out"
check_eq "result: the VF, the MAC from the annotation" "$vf 02:42:00:00:00:03" "$(echo "$out" | jq -r '.interfaces[0] | "\(.pciID) \(.mac)"')"
check_eq "PF: admin MAC and VLAN 42" '"02:42:00:00:00:03" 42' "$(vfinfo 3 .address) $(vfinfo 3 '.vlan_list[0].vlan')"
check "the device plugin's file is kept as it was" cmp "$dp" "$info"
check_eq "still 0444" 444 "$(stat -c %a "$info")"
jq --argjson r "$out" '. + {prevResult: $r}' /tmp/conf.json > /tmp/check.json
check "CHECK as Multus calls it (prevResult from the cache)" cni sriov CHECK ctr pod net1 "$args" < /tmp/check.json
check "DEL as Multus calls it" cni sriov DEL ctr pod net1 "$args" < /tmp/conf.json
check "DEL left the file the plugin did not write" cmp "$dp" "$info"
check_eq "PF: VF 3 as before" "$before" "$(vfinfo 3 .)"
rm -rf "$devinfo"

# No device plugin file, no device-info tree yet: the plugin writes the file (creating cni/).
out=$(cni sriov ADD ctr pod net1 "$args" < /tmp/conf.json) || fail "ADD without a device-info tree: $out"
ok "ADD with no device-info tree on the node"
# A pod's app reads it as nadutils does: JSON with type, version and the type's object.
ls -la "$devinfo/cni"; cat "$info"; echo
check_eq "/var/run/k8s.cni.cncf.io/devinfo/cni is /run's (/var/run is a symlink)" "$(stat -L -c %i "$info")" \
  "$(stat -c %i "/run/k8s.cni.cncf.io/devinfo/cni/sriov-dpdk-42-ctr_net1")"
check_eq "the app reads: pci, spec 1.1.0, its VF, the vfio group device" \
  "pci 1.1.0 $vf $(lab_vf_vfio_dev 3)" \
  "$(jq -r '"\(.type) \(.version) \(.pci["pci-address"]) \(.vfio.device)"' "$info")"
check "DEL" cni sriov DEL ctr pod net1 "$args" < /tmp/conf.json
check "DEL removed the file it wrote" test ! -e "$info"
check_eq "PF: VF 3 as before" "$before" "$(vfinfo 3 .)"
rm -rf "$devinfo"
