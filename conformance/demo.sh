#!/bin/bash
# The main job (`make demo`): attach real interfaces to real pods with the release binaries.
#
#   1. OVS-DPDK: ovsdb-server and ovs-vswitchd-dpdk started here; two pods (network namespaces
#      running dpdk-testpmd on virtio_user) get vhost-user ports from the `userspace` plugin
#      through Debian's libcni, then 128 packets go A -> B -> A with exact counts.
#   2. The emulated SR-IOV lab: a QEMU guest with an Intel 82576 (igb) NIC and real VFs; the
#      plugin cases attach VFs (netdev and vfio-pci) and vDPA devices to pods and check them.
#
# Everything it needs is installed on first use (root, Debian bookworm). Exits non-zero when any
# part fails; prints "demo: N passed, N failed" at the end.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates namespaces, starts OVS and QEMU)"; exit 1; }
[ -x target/release/host-local ] || { echo "demo: build first: make build"; exit 1; }

PASSED=0 FAILED=0
part() {
  local name=$1; shift
  echo
  echo "=== $name"
  if "$@"; then PASSED=$((PASSED + 1)); echo "=== $name: ok"; else FAILED=$((FAILED + 1)); echo "=== $name: FAILED"; fi
}

if [ -x target/release/userspace ]; then
  part "OVS-DPDK: two testpmd pods on vhost-user ports from the userspace plugin" bash conformance/ovs/e2e.sh
fi
# The lab runs every case: its first ones prove the environment (VFs, vfio, vDPA), the plugin
# cases attach those devices to pods with our binaries.
part "Emulated SR-IOV lab: VFs, vfio groups and vDPA devices in pods" bash conformance/lab/lab.sh run

echo
echo "demo: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
