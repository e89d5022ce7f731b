# A VF on vfio-pci, as DPDK pods get it: no netdev, its own IOMMU group and /dev/vfio/<group>,
# which one process at a time can open; and the igbvf <-> vfio-pci rebinding the plugins do.
. "$LAB/guest/lib.sh"

vf=$(lab_vf_pci 2)
g=$(lab_vf_group 2)
check_eq "VF 2 ($vf) driver" vfio-pci "$(lab_vf_driver 2)"
check "VF 2 has no netdev" test -z "$(lab_vf_netdev 2)"
check "/dev/vfio/vfio (the container) exists" test -c /dev/vfio/vfio
check "/dev/vfio/$g exists" test -c "/dev/vfio/$g"
check_eq "IOMMU group $g holds only VF 2" "$vf" "$(ls "/sys/kernel/iommu_groups/$g/devices")"
exec 3<> "/dev/vfio/$g" || fail "open /dev/vfio/$g"
ok "open /dev/vfio/$g"
check_fails "a second open of the group is refused (EBUSY)" "busy" sh -c "exec 4<> /dev/vfio/$g"
exec 3>&-
check "after close the group opens again" sh -c "exec 4<> /dev/vfio/$g"

n=$(lab_vf_netdev 1)
check "bind VF 1 ($n) to vfio-pci" lab_vf_bind 1 vfio-pci
check "VF 1 lost its netdev" test -z "$(lab_vf_netdev 1)"
check "VF 1 got /dev/vfio/$(lab_vf_group 1)" test -c "/dev/vfio/$(lab_vf_group 1)"
check "bind VF 1 back to igbvf" lab_vf_bind 1 igbvf
check "VF 1 has a netdev again" test -n "$(lab_vf_netdev 1)"
