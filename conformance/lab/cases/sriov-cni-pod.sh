# shellcheck shell=sh
# Sourced by the cases that take over a pod sriov-cni attached (28, 29): what sriov-cni's ADD
# (k8snetworkplumbingwg/sriov-cni, current master) leaves on a node, made here on a real igbvf VF
# with the tools at hand, since its binary is not in the lab:
#
#   sriov_cni_add CID NETNS VF CONF: for the NAD config in file CONF (its deviceID is VF N's):
#     1. record the VF as it is (sriov-cni's FillOriginalVfInfo: the PF's view of the VF, and the
#        netdev's name, MAC and MTU);
#     2. apply the config's VF settings through the PF (vlan, spoofchk, trust, mac: ApplyVFConfig);
#     3. give the netdev the admin MAC (igbvf takes it only by probing again) and move it into the
#        pod as net1, up (SetupVF; sriov-cni goes through a temporary namespace, the end is the
#        same); the pod's own app then changes its MTU to 1400;
#     4. IPAM ADD with the NAD's config (host-local), the address on net1;
#     5. write its cache /var/lib/cni/sriov/CID-net1 (pkg/types NetConf: the config's keys, Master,
#        VFID, MAC, MTU, OrigVfState) and its allocation /var/lib/cni/sriov/pci/<VF> (the netns path).

sriov_cni_add() {
  # Names of its own: lib.sh's helpers (cni, lab_vf_bind) set _ns, _pci and others as globals.
  _sc_cid=$1 _sc_ns=$2 _sc_vf=$3 _sc_conf=$4
  _sc_pf=$(lab_pf)
  _sc_pci=$(lab_vf_pci "$_sc_vf")
  _sc_name=$(lab_vf_netdev "$_sc_vf")
  [ -n "$_sc_name" ] || { echo "VF $_sc_vf has no netdev" >&2; return 1; }
  _sc_orig=$(ip -j -d link show "$_sc_pf" | jq -c --argjson vf "$_sc_vf" --arg name "$_sc_name" \
    --arg mac "$(cat "/sys/class/net/$_sc_name/address")" --argjson mtu "$(cat "/sys/class/net/$_sc_name/mtu")" \
    '.[0].vfinfo_list[] | select(.vf == $vf) | {
      HostIFName: $name, SpoofChk: (.spoofchk // true), Trust: (.trust // false),
      AdminMAC: .address, EffectiveMAC: $mac,
      Vlan: (.vlan_list[0].vlan // 0), VlanQoS: (.vlan_list[0].qos // 0),
      VlanProto: (if (.vlan_list[0].protocol // "802.1Q") == "802.1ad" then 34984 else 33024 end),
      MinTxRate: (.rate.min_tx // 0), MaxTxRate: (.rate.max_tx // 0),
      LinkState: ({"auto": 0, "enable": 1, "disable": 2}[.link_state // "auto"] // 0), MTU: $mtu}')
  [ -n "$_sc_orig" ] || { echo "the PF does not show VF $_sc_vf" >&2; return 1; }
  echo "sriov-cni's OrigVfState: $_sc_orig"

  _sc_mac=$(jq -r '.mac // empty' "$_sc_conf")
  set -- vf "$_sc_vf"
  _sc_v=$(jq -r '.vlan // empty' "$_sc_conf"); [ -n "$_sc_v" ] && set -- "$@" vlan "$_sc_v" qos "$(jq -r '.vlanQoS // 0' "$_sc_conf")"
  _sc_v=$(jq -r '.spoofchk // empty' "$_sc_conf"); [ -n "$_sc_v" ] && set -- "$@" spoofchk "$([ "$_sc_v" = on ] && echo on || echo off)"
  _sc_v=$(jq -r '.trust // empty' "$_sc_conf"); [ -n "$_sc_v" ] && set -- "$@" trust "$([ "$_sc_v" = on ] && echo on || echo off)"
  [ -n "$_sc_mac" ] && set -- "$@" mac "$_sc_mac"
  ip link set "$_sc_pf" "$@" || return 1
  if [ -n "$_sc_mac" ]; then lab_vf_bind "$_sc_vf" igbvf || return 1; fi

  _sc_now=$(lab_vf_netdev "$_sc_vf")
  ip link set "$_sc_now" netns "$_sc_ns" name net1 || return 1
  ip -n "$_sc_ns" link set net1 mtu 1400 up || return 1
  cni host-local ADD "$_sc_cid" "$_sc_ns" net1 < "$_sc_conf" > "/tmp/ipam-$_sc_cid.json" || { cat "/tmp/ipam-$_sc_cid.json"; return 1; }
  ip -n "$_sc_ns" addr add "$(jq -r '.ips[0].address' "/tmp/ipam-$_sc_cid.json")" dev net1 || return 1

  mkdir -p /var/lib/cni/sriov/pci
  jq -c --argjson orig "$_sc_orig" --arg pf "$_sc_pf" --argjson vfid "$_sc_vf" \
    --argjson mtu "$(cat "/sys/class/net/$_sc_pf/mtu")" '. + {
      OrigVfState: $orig, Master: $pf, VFID: $vfid, MAC: (.mac // ""), MTU: $mtu,
      vlanQoS: (if .vlan == null then null else (.vlanQoS // 0) end),
      vlanProto: (if .vlan == null then null else ((.vlanProto // "802.1q") | ascii_downcase) end),
      min_tx_rate: .min_tx_rate, max_tx_rate: .max_tx_rate, ipam: {type: .ipam.type}, dns: {},
      runtimeConfig: {}} | del(.mac)' "$_sc_conf" > "/var/lib/cni/sriov/$_sc_cid-net1" || return 1
  printf '/run/netns/%s' "$_sc_ns" > "/var/lib/cni/sriov/pci/$_sc_pci"
  echo "sriov-cni's cache: $(cat "/var/lib/cni/sriov/$_sc_cid-net1")"
}
