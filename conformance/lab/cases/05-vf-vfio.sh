# A VF on vfio-pci, as DPDK pods get it: no netdev, its own IOMMU group and /dev/vfio/<group>
# (with a vIOMMU) or a no-IOMMU group and /dev/vfio/noiommu-<group> (without one), which one
# process at a time can open; and the igbvf <-> vfio-pci rebinding the plugins do.
# lab-variants: viommu noiommu
. "$LAB/guest/lib.sh"

vf=$(lab_vf_pci 2)
g=$(lab_vf_group 2)
dev=$(lab_vf_vfio_dev 2)
check_eq "VF 2 ($vf) driver" vfio-pci "$(lab_vf_driver 2)"
check "VF 2 has no netdev" test -z "$(lab_vf_netdev 2)"
check "/dev/vfio/vfio (the container) exists" test -c /dev/vfio/vfio
if [ "$LAB_VARIANT" = noiommu ]; then
  check_eq "noiommu: the group is a no-IOMMU group" vfio-noiommu "$(cat "/sys/kernel/iommu_groups/$g/name")"
  check_eq "noiommu: its device is /dev/vfio/noiommu-$g" "/dev/vfio/noiommu-$g" "$dev"
else
  check_eq "viommu: the group device is /dev/vfio/$g" "/dev/vfio/$g" "$dev"
fi
check "$dev exists" test -c "$dev"
check_eq "IOMMU group $g holds only VF 2" "$vf" "$(ls "/sys/kernel/iommu_groups/$g/devices")"
exec 3<> "$dev" || fail "open $dev"
ok "open $dev"
check_fails "a second open of the group is refused (EBUSY)" "busy" sh -c "exec 4<> $dev"
exec 3>&-
check "after close the group opens again" sh -c "exec 4<> $dev"

n=$(lab_vf_netdev 1)
check "bind VF 1 ($n) to vfio-pci" lab_vf_bind 1 vfio-pci
check "VF 1 lost its netdev" test -z "$(lab_vf_netdev 1)"
check "VF 1 got $(lab_vf_vfio_dev 1)" test -c "$(lab_vf_vfio_dev 1)"
check "bind VF 1 back to igbvf" lab_vf_bind 1 igbvf
check "VF 1 has a netdev again" test -n "$(lab_vf_netdev 1)"
