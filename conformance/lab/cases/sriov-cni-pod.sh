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
  _cid=$1 _ns=$2 _vf=$3 _conf=$4
  _pf=$(lab_pf)
  _pci=$(lab_vf_pci "$_vf")
  _name=$(lab_vf_netdev "$_vf")
  [ -n "$_name" ] || { echo "VF $_vf has no netdev" >&2; return 1; }
  _orig=$(ip -j -d link show "$_pf" | jq -c --argjson vf "$_vf" --arg name "$_name" \
    --arg mac "$(cat "/sys/class/net/$_name/address")" --argjson mtu "$(cat "/sys/class/net/$_name/mtu")" \
    '.[0].vfinfo_list[] | select(.vf == $vf) | {
      HostIFName: $name, SpoofChk: (.spoofchk // true), Trust: (.trust // false),
      AdminMAC: .address, EffectiveMAC: $mac,
      Vlan: (.vlan_list[0].vlan // 0), VlanQoS: (.vlan_list[0].qos // 0),
      VlanProto: (if (.vlan_list[0].protocol // "802.1Q") == "802.1ad" then 34984 else 33024 end),
      MinTxRate: (.rate.min_tx // 0), MaxTxRate: (.rate.max_tx // 0),
      LinkState: ({"auto": 0, "enable": 1, "disable": 2}[.link_state // "auto"] // 0), MTU: $mtu}')
  [ -n "$_orig" ] || { echo "the PF does not show VF $_vf" >&2; return 1; }
  echo "sriov-cni's OrigVfState: $_orig"

  _mac=$(jq -r '.mac // empty' "$_conf")
  set -- vf "$_vf"
  _v=$(jq -r '.vlan // empty' "$_conf"); [ -n "$_v" ] && set -- "$@" vlan "$_v" qos "$(jq -r '.vlanQoS // 0' "$_conf")"
  _v=$(jq -r '.spoofchk // empty' "$_conf"); [ -n "$_v" ] && set -- "$@" spoofchk "$([ "$_v" = on ] && echo on || echo off)"
  _v=$(jq -r '.trust // empty' "$_conf"); [ -n "$_v" ] && set -- "$@" trust "$([ "$_v" = on ] && echo on || echo off)"
  [ -n "$_mac" ] && set -- "$@" mac "$_mac"
  ip link set "$_pf" "$@" || return 1
  if [ -n "$_mac" ]; then lab_vf_bind "$_vf" igbvf || return 1; fi

  _now=$(lab_vf_netdev "$_vf")
  ip link set "$_now" netns "$_ns" name net1 || return 1
  ip -n "$_ns" link set net1 mtu 1400 up || return 1
  cni host-local ADD "$_cid" "$_ns" net1 < "$_conf" > "/tmp/ipam-$_cid.json" || { cat "/tmp/ipam-$_cid.json"; return 1; }
  ip -n "$_ns" addr add "$(jq -r '.ips[0].address' "/tmp/ipam-$_cid.json")" dev net1 || return 1

  mkdir -p /var/lib/cni/sriov/pci
  jq -c --argjson orig "$_orig" --arg pf "$_pf" --argjson vfid "$_vf" \
    --argjson mtu "$(cat "/sys/class/net/$_pf/mtu")" '. + {
      OrigVfState: $orig, Master: $pf, VFID: $vfid, MAC: (.mac // ""), MTU: $mtu,
      vlanQoS: (if .vlan == null then null else (.vlanQoS // 0) end),
      vlanProto: (if .vlan == null then null else ((.vlanProto // "802.1q") | ascii_downcase) end),
      min_tx_rate: .min_tx_rate, max_tx_rate: .max_tx_rate, ipam: {type: .ipam.type}, dns: {},
      runtimeConfig: {}} | del(.mac)' "$_conf" > "/var/lib/cni/sriov/$_cid-net1" || return 1
  printf '/run/netns/%s' "$_ns" > "/var/lib/cni/sriov/pci/$_pci"
  echo "sriov-cni's cache: $(cat "/var/lib/cni/sriov/$_cid-net1")"
}
