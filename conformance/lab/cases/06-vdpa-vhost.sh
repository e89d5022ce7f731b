# A vdpa_sim_net device on vhost_vdpa, as a DPDK virtio_user pod gets it: the vdpa bus entry, the
# management device and config over the vdpa generic netlink family, /dev/vhost-vdpa-N.
. "$LAB/guest/lib.sh"

check_eq "vdpa0 driver" vhost_vdpa "$(lab_vdpa_driver vdpa0)"
c=$(lab_vdpa_chardev vdpa0)
check "vdpa0 has a vhost-vdpa child ($c)" test -n "$c"
check "$c is a character device" test -c "$c"
check_eq "vdpa0 has no netdev" "" "$(lab_vdpa_netdev vdpa0)"
check "vdpa mgmtdev lists vdpasim_net" sh -c "vdpa -j mgmtdev show | jq -e '.mgmtdev.vdpasim_net'"
check_eq "vdpa dev show: vdpa0's management device" vdpasim_net \
  "$(vdpa -j dev show vdpa0 | jq -r '.dev.vdpa0.mgmtdev')"
check_eq "vdpa dev config: vdpa0's MAC" 02:00:00:00:0a:00 \
  "$(vdpa -j dev config show vdpa0 | jq -r '.config.vdpa0.mac')"
exec 3<> "$c" || fail "open $c"
ok "open $c"
exec 3>&-

check "add vdpa2 over netlink" vdpa dev add name vdpa2 mgmtdev vdpasim_net mac 02:00:00:00:0a:02
check "bind vdpa2 to vhost_vdpa" lab_vdpa_bind vdpa2 vhost_vdpa
c2=$(lab_vdpa_chardev vdpa2)
check "vdpa2 got its own char device ($c2)" test -c "$c2" -a "$c2" != "$c"
check "delete vdpa2" vdpa dev del vdpa2
check "vdpa2 is gone from the bus" test ! -e /sys/bus/vdpa/devices/vdpa2
