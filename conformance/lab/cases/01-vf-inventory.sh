# VF inventory through sysfs, the way the sriov plugin discovers devices: the PF's totals and
# virtfn links, each VF's physfn link back, its driver and netdev (or none on vfio-pci), its own
# IOMMU group; and the rest of the baseline a case relies on (hugepages, /run/netns, vDPA bus).
. "$LAB/guest/lib.sh"

pf=$(lab_pf)
pf_pci=$(lab_pf_pci)
dev=/sys/bus/pci/devices/$pf_pci
check "PF $pf at $pf_pci is driven by igb" test "$(basename "$(readlink "$dev/driver")")" = igb
check "the PF has a netdev link back to its device" test -e "/sys/class/net/$pf/device/sriov_numvfs"
total=$(cat "$dev/sriov_totalvfs")
check "sriov_totalvfs ($total) is at least $LAB_NUM_VFS" test "$total" -ge "$LAB_NUM_VFS"
check_eq "sriov_numvfs" "$LAB_NUM_VFS" "$(cat "$dev/sriov_numvfs")"

groups=""
i=0
while [ "$i" -lt "$LAB_NUM_VFS" ]; do
  vf=$(lab_vf_pci "$i")
  check "virtfn$i resolves to a PCI device" test -d "/sys/bus/pci/devices/$vf"
  check_eq "VF $i physfn points back at the PF" "$pf_pci" "$(basename "$(readlink "/sys/bus/pci/devices/$vf/physfn")")"
  check_eq "VF $i physfn/net names the PF" "$pf" "$(ls "/sys/bus/pci/devices/$vf/physfn/net")"
  check_eq "VF $i is an 82576 VF (8086:10ca)" "0x8086 0x10ca" \
    "$(cat "/sys/bus/pci/devices/$vf/vendor") $(cat "/sys/bus/pci/devices/$vf/device")"
  g=$(lab_vf_group "$i")
  case " $groups " in *" $g "*) fail "VF $i shares IOMMU group $g with another VF" ;; esac
  groups="$groups $g"
  ok "VF $i $vf is alone in IOMMU group $g"
  case " $LAB_VFIO_VFS " in
    *" $i "*)
      check_eq "VF $i driver" vfio-pci "$(lab_vf_driver "$i")"
      check_eq "VF $i has no netdev" "" "$(lab_vf_netdev "$i")" ;;
    *)
      check_eq "VF $i driver" igbvf "$(lab_vf_driver "$i")"
      n=$(lab_vf_netdev "$i")
      check "VF $i netdev '$n' exists in the initial netns" ip link show "$n" ;;
  esac
  i=$((i + 1))
done
check_eq "no VF beyond virtfn$((LAB_NUM_VFS - 1))" "" "$(ls -d "$dev/virtfn$LAB_NUM_VFS" 2>/dev/null)"

check "hugepages are reserved" test "$(cat /proc/sys/vm/nr_hugepages)" -ge 64
check "hugetlbfs is mounted at /dev/hugepages" grep -q ' /dev/hugepages hugetlbfs ' /proc/mounts
check "/run/netns exists and is empty" test -d /run/netns -a -z "$(ls /run/netns)"
check "the vdpasim_net management device is registered" test -e /sys/bus/vdpa/devices/vdpa0
