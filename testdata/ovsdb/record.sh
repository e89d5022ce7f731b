#!/bin/bash
# Re-record testdata/ovsdb/*.json from a real ovsdb-server (no ovs-vswitchd needed; python3).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../conformance/ovs/ovs.sh"
ovs_install
D=$(mktemp -d /tmp/ovsrec.XXXXXX)
trap 'ovs_stop; rm -rf "$D"' EXIT
OVS_NO_VSWITCHD=1 ovs_start "$D"
$VSCTL --no-wait -- --id=@m create Manager target="punix\:$D/probe.sock" inactivity_probe=1000 \
  -- add Open_vSwitch . manager_options @m >/dev/null
for i in $(seq 50); do [ -S "$D/probe.sock" ] && break; sleep 0.1; done
python3 "$HERE/record.py" "$D/db.sock" "$D/probe.sock" "$HERE"
echo "recorded with $(ovsdb-server --version | head -1)"
