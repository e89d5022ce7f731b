# The errors igb gives for what it cannot do, which plugins must turn into clear CNI errors:
# min_tx_rate (EINVAL), VF link state (EOPNOTSUPP), a VF index beyond sriov_numvfs, and a VF netdev
# asked for another MAC once the PF set an admin MAC (EADDRNOTAVAIL). None may change the VF.
. "$LAB/guest/lib.sh"

pf=$(lab_pf)
vfinfo() { ip -j -d link show "$pf" | jq -r ".[0].vfinfo_list[] | select(.vf == $1) | $2"; }

check_fails "min_tx_rate is refused with EINVAL" "Invalid argument" \
  ip link set "$pf" vf 0 min_tx_rate 10
check_eq "min TX rate still 0" 0 "$(vfinfo 0 '.rate.min_tx')"
check_fails "VF link state is refused with EOPNOTSUPP" "Operation not supported" \
  ip link set "$pf" vf 0 state enable
check_fails "a VF index past sriov_numvfs is refused" "Invalid argument" \
  ip link set "$pf" vf "$LAB_NUM_VFS" mac 02:00:00:00:00:09

check "set VF 1 admin MAC" ip link set "$pf" vf 1 mac 02:00:00:00:00:11
check "rebind VF 1 so igbvf takes the admin MAC" lab_vf_bind 1 igbvf
n=$(lab_vf_netdev 1)
check_fails "VF 1 netdev refuses another MAC with EADDRNOTAVAIL" "Cannot assign requested address" \
  ip link set "$n" address 02:00:00:00:00:22
check_eq "VF 1 netdev keeps the admin MAC" 02:00:00:00:00:11 "$(cat "/sys/class/net/$n/address")"
