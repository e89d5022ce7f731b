# Passes: the baseline is there, and the cni helper runs a plugin from $LAB/bin the way a runtime
# does (environment, stdin, stdout, exit status).
. "$LAB/guest/lib.sh"

check "VF 0 has its igbvf netdev" test -n "$(lab_vf_netdev 0)"
check "the host's plugin binary is in \$LAB/bin" test -x "$LAB/bin/host-local"
check "make netns pod" lab_netns_new pod
out=$(echo '{"cniVersion":"1.1.0","name":"selftest","type":"host-local"}' \
  | cni host-local ADD cid-1 pod net1 "IgnoreUnknown=1;K8S_POD_NAME=p") || fail "cni ADD exited $?"
echo "$out"
field() { echo "$out" | jq -r "$1"; }
check_eq "CNI_COMMAND" ADD "$(field .command)"
check_eq "CNI_CONTAINERID" cid-1 "$(field .containerID)"
check_eq "CNI_NETNS (a name becomes /run/netns/NAME)" /run/netns/pod "$(field .netns)"
check_eq "CNI_IFNAME" net1 "$(field .ifname)"
check_eq "CNI_ARGS" "IgnoreUnknown=1;K8S_POD_NAME=p" "$(field .args)"
check_eq "CNI_PATH" "$LAB/bin" "$(field .path)"
check_eq "the netconf arrives on stdin" selftest "$(field .conf.name)"
export CNI_NETNS=/leaked/from/the/case
out=$(echo '{"exit":7}' | cni host-local DEL cid-1 "" net1)
check_eq "the plugin's exit status comes back" 7 "$?"
check_eq "an empty NETNS leaves CNI_NETNS unset" "<unset>" "$(field .netns)"
