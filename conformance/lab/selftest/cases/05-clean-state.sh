# Runs after 04-dirty-state: everything is back at the baseline.
. "$LAB/guest/lib.sh"
pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -r ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }
check_eq "no network namespaces" "" "$(ls /run/netns)"
check "VF 0 has a netdev in the initial netns" test -n "$(lab_vf_netdev 0)"
check_eq "VF 1 VLAN" 0 "$(vfinfo 1 '.vlan_list[0].vlan // 0')"
check_eq "VF 1 trust" false "$(vfinfo 1 .trust)"
check_eq "VF 3 driver" vfio-pci "$(lab_vf_driver 3)"
check_eq "vdpa0 driver" vhost_vdpa "$(lab_vdpa_driver vdpa0)"
check_eq "vDPA devices" "vdpa0 vdpa1" "$(ls /sys/bus/vdpa/devices | tr '\n' ' ' | sed 's/ $//')"
