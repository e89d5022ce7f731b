# Changes the VF count, which clearing settings cannot undo: the reset must recreate the VFs.
. "$LAB/guest/lib.sh"
check "netns dirty" lab_netns_new dirty
check "only 2 VFs" sh -c "echo 0 > /sys/class/net/$(lab_pf)/device/sriov_numvfs && echo 2 > /sys/class/net/$(lab_pf)/device/sriov_numvfs"
