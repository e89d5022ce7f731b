#!/bin/bash
# ADD+DEL latency against real OVS-DPDK: the userspace plugin (one OVSDB transaction per verb over
# the db socket) next to the ovs-vsctl sequence the Intel userspace-cni-network-plugin runs, in
# the same run on the same daemons, with the ratio.
#
#   bash conformance/ovs/bench.sh        (root; N=50 iterations by default)
#
# The Intel plugin's host side for ovs-dpdk/vhostuser, per attachment (cniovs/ovsctrl.go):
#   ADD: ovs-vsctl find bridge name=BR; ovs-vsctl add-port BR P -- set Interface P type=...
#        options:vhost-server-path=...; ovs-vsctl --bare --columns=mac find port name=P
#   DEL: ovs-vsctl --if-exists del-port BR P; ovs-vsctl list-ports BR
# The two sides alternate per attachment (5 warm-up rounds), so background load hits both.
# Both sides wait for ovs-vswitchd to apply each change (ovs-vsctl without --no-wait; the plugin
# waits for cur_cfg). No IPAM on either side. Client mode, an existing netdev bridge.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/ovs.sh"
N=${N:-50}
[ "$(id -u)" = 0 ] || { echo "ovs-bench: must run as root"; exit 1; }
ovs_install
if ! command -v python3 >/dev/null; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends python3 >/dev/null
fi
BIN_DIR=${NFV_CNI_BIN_DIR:-$ROOT/target/release}
[ -x "$BIN_DIR/userspace" ] || (cd "$ROOT" && cargo build --release -p userspace)

# The plugin's places (docs/userspace.md): OVS in its run directory, sockets in /run/vhostuser.
OVSD=/run/openvswitch/nfv-bench-$$
D=/run/vhostuser/nfv-bench-$$
trap 'ovs_stop; rm -rf "$D" "$OVSD"' EXIT
ovs_start "$OVSD"
$VSCTL add-br br-bench -- set bridge br-bench datapath_type=netdev
mkdir -p "$D/s"

python3 - "$BIN_DIR/userspace" "$D" "$N" "$VSCTL" "$OVS_DB" <<'EOF'
import json, os, statistics, subprocess, sys, time

plugin, d, n, vsctl, db = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(), sys.argv[5]
conf = json.dumps({
    "cniVersion": "1.1.0", "name": "bench", "type": "userspace",
    "ovsdbSocket": db, "sharedDir": f"{d}/s",
    "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "bridge",
             "vhost": {"mode": "client"}, "bridge": {"bridgeName": "br-bench"}},
}).encode()

def run(argv, stdin=None, env=None):
    r = subprocess.run(argv, input=stdin, env=env, capture_output=True)
    if r.returncode != 0:
        sys.exit(f"{argv[0]} failed: {r.stdout.decode()} {r.stderr.decode()}")

def ours(verb, cid):
    env = dict(os.environ, CNI_COMMAND=verb, CNI_CONTAINERID=cid, CNI_IFNAME="net1",
               CNI_NETNS="/proc/self/ns/net", CNI_PATH="/nonexistent")
    run([plugin], conf, env)

def intel(verb, cid):
    port = f"{cid[:12]}-net1"
    if verb == "ADD":
        os.makedirs(f"{d}/s/{cid[:12]}", exist_ok=True)
        run(vsctl + ["--bare", "--columns=name", "find", "bridge", "name=br-bench"])
        run(vsctl + ["add-port", "br-bench", port, "--", "set", "Interface", port,
                     "type=dpdkvhostuserclient", f"options:vhost-server-path={d}/s/{cid[:12]}/{port}"])
        run(vsctl + ["--bare", "--columns=mac", "find", "port", f"name={port}"])
    else:
        run(vsctl + ["--if-exists", "del-port", "br-bench", port])
        run(vsctl + ["list-ports", "br-bench"])
        os.rmdir(f"{d}/s/{cid[:12]}")

def timed(fn, verb, cid, into):
    t = time.perf_counter(); fn(verb, cid); into.append(time.perf_counter() - t)

# Interleaved, so load from anything else on the machine hits both sides alike.
o_add, o_del, i_add, i_del, warm = [], [], [], [], []
for i in range(n + 5):
    first = i < 5
    timed(ours, "ADD", f"o{i:011d}abcd", warm if first else o_add)
    timed(ours, "DEL", f"o{i:011d}abcd", warm if first else o_del)
    timed(intel, "ADD", f"i{i:011d}abcd", warm if first else i_add)
    timed(intel, "DEL", f"i{i:011d}abcd", warm if first else i_del)
left = subprocess.run(vsctl + ["list-ports", "br-bench"], capture_output=True, text=True).stdout.split()
if left:
    sys.exit(f"ports left on br-bench: {left}")

ms = lambda xs: statistics.median(xs) * 1000
p90 = lambda xs: sorted(xs)[int(len(xs) * 0.9) - 1] * 1000
tot = lambda a, b: [x + y for x, y in zip(a, b)]
print(f"ovs-bench: ADD+DEL latency against OVS-DPDK, {n} attachments each (median / p90, ms)")
print(f"  {'':28} {'ADD':>15} {'DEL':>15} {'ADD+DEL':>15}")
for name, a, b in (("userspace (nfv-cni, OVSDB)", o_add, o_del), ("ovs-vsctl path (Intel)", i_add, i_del)):
    print(f"  {name:28} {ms(a):7.2f} / {p90(a):5.2f} {ms(b):7.2f} / {p90(b):5.2f} "
          f"{ms(tot(a, b)):7.2f} / {p90(tot(a, b)):5.2f}")
print(f"  ratio ovs-vsctl / ours (median ADD+DEL): {ms(tot(i_add, i_del)) / ms(tot(o_add, o_del)):.2f}x")
EOF
