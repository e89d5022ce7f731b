# Changes what the baseline defines without touching the VF count (VF moved into a netns and renamed,
# VF settings, a VF on another driver, vDPA devices): the quick reset must undo it.
. "$LAB/guest/lib.sh"
pf=$(lab_pf)
# 03-case-hang ran before and left a heartbeat writer in its session when it was killed.
check "03-case-hang ran first and left its heartbeat file" test -f /tmp/selftest-heartbeat
before=$(wc -c < /tmp/selftest-heartbeat)
sleep 3
check_eq "the killed case left no process behind (its heartbeat stopped)" "$before" "$(wc -c < /tmp/selftest-heartbeat)"
rm -f /tmp/selftest-heartbeat
check "netns dirty" lab_netns_new dirty
check "VF 0 into netns dirty" ip link set "$(lab_vf_netdev 0)" netns dirty name net9
check "VF 1 VLAN 300" ip link set "$pf" vf 1 vlan 300
check "VF 1 trust on" ip link set "$pf" vf 1 trust on
check "VF 3 onto igbvf" lab_vf_bind 3 igbvf
check "vdpa0 onto virtio_vdpa" lab_vdpa_bind vdpa0 virtio_vdpa
check "vdpa9 added" vdpa dev add name vdpa9 mgmtdev vdpasim_net
