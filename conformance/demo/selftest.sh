#!/bin/bash
# The demo's own test (make demo-selftest; root; about 30 s, no lab boot):
#   1. The calls the demo shows as Multus's are the Multus replay tier's: multus_call.py, given
#      what a replay case gives (the example NAD and pod, sandbox, uid, allocated device), writes
#      the stdin bytes and CNI_CONTAINERID/CNI_IFNAME/CNI_ARGS of testdata/multus/expected/.
#   2. A failing step fails the demo and the demo cleans up: the OVS part with a userspace
#      "plugin" that refuses every call must exit non-zero, mark ADD failed, skip the steps that
#      need it, still run DEL and the node comparison, and leave no OVS, namespace or directory.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
[ "$(id -u)" = 0 ] || { echo "demo-selftest: run as root"; exit 1; }
PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
T=$(mktemp -d /tmp/nfv-demo-selftest.XXXXXX)
trap 'rm -rf "$T"' EXIT

# --- 1. multus_call.py against the replay tier's expected calls ---------------------------------
for c in sriov-netdev sriov-vfio vdpa-virtio; do
  spec=testdata/multus/cases/$c.yaml
  read -r manifests sandbox uid dev < <(python3 -c '
import sys, yaml
s = yaml.safe_load(open(sys.argv[1]))
dev = [v for l in s["allocation"].values() for v in l][0]
print(",".join(s["manifests"]), s["sandbox"], s["uid"], dev)' "$spec")
  : > "$T/$c.yaml"
  for m in ${manifests//,/ }; do { cat "$m"; echo "---"; } >> "$T/$c.yaml"; done
  pod=$(python3 -c 'import sys, yaml; print([d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "Pod"][0]["metadata"]["name"])' "$T/$c.yaml")
  args=("$T/$c.yaml" "$pod" "$sandbox" "$dev" "$T/$c")
  [ "$uid" = from-manifest ] || args+=("$uid")
  if ! python3 conformance/demo/multus_call.py "${args[@]}"; then bad "$c: multus_call.py failed"; continue; fi
  want=testdata/multus/expected/$c/$(sed -n 's/^CNI_IFNAME=//p' "$T/$c.env").ADD
  if cmp -s <(cat "$want.stdin") <(cat "$T/$c.stdin"; echo); then ok "$c: the stdin is the replay tier's, byte for byte"; else
    bad "$c: the stdin differs from $want.stdin"; diff <(cat "$want.stdin") <(cat "$T/$c.stdin"; echo) | head -5
  fi
  keys='^CNI_(COMMAND|CONTAINERID|IFNAME|ARGS)='
  if diff <(grep -E "$keys" "$want.env") <(grep -E "$keys" "$T/$c.env"); then ok "$c: CNI_COMMAND, CNI_CONTAINERID, CNI_IFNAME, CNI_ARGS are the replay tier's"; else
    bad "$c: the CNI_* variables differ from $want.env"
  fi
done

# --- 2. a failing step: non-zero, the rest skipped but teardown, nothing left --------------------
mkdir -p "$T/bin"
for b in sriov vdpa host-local; do ln -s "$ROOT/target/release/$b" "$T/bin/$b"; done
cat > "$T/bin/userspace" <<'PLUGIN'
#!/bin/sh
# A plugin that refuses every call.
cat > /dev/null
echo '{"cniVersion":"1.1.0","code":7,"msg":"selftest: refused on purpose"}'
exit 1
PLUGIN
chmod +x "$T/bin/userspace"
NFV_CNI_BIN_DIR=$T/bin DEMO_ONLY=ovs bash conformance/demo.sh > "$T/demo.out" 2>&1
rc=$?
row() { grep -E "^[0-9]+ +ovs +$1 +$2 " "$T/demo.out" > /dev/null; }
t() {  # t DESCRIPTION CMD...: a check
  local d=$1
  shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
t "the demo exits non-zero when a step fails ($rc)" [ "$rc" != 0 ]
t "ADD's row says FAILED" row "ADD: the userspace plugin makes the ports" FAILED
t "the steps that need the ports are skipped" \
  eval 'row "What the pods have now" skipped && row "Traffic: testpmd over vhost-user, counted by OVS" skipped'
t "DEL and the node comparison still ran; the node is as before" row "The node after" ok
t "the plugin's error is shown" grep -q "selftest: refused on purpose" "$T/demo.out"
left=""
[ -e /run/openvswitch/nfv-demo ] && left="$left /run/openvswitch/nfv-demo"
for n in dpdk-vhost-a dpdk-vhost-b; do [ -e "/run/netns/$n" ] && left="$left netns:$n"; done
[ -e /var/lib/cni/networks/ovs-dpdk-net ] && left="$left /var/lib/cni/networks/ovs-dpdk-net"
[ -z "$(ls -d /tmp/nfv-demo.* 2> /dev/null)" ] || left="$left $(ls -d /tmp/nfv-demo.*)"
t "nothing left behind (OVS, namespaces, host-local's directory, scratch)${left:+: $left}" [ -z "$left" ]
[ "$FAILED" = 0 ] || { echo "--- the demo's output:"; cat "$T/demo.out"; }

echo "demo-selftest: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
