#!/bin/bash
# ADD+DEL latency against real OVS-DPDK: the userspace plugin (one OVSDB transaction per verb over
# the db socket) next to the ovs-vsctl sequence the Intel userspace-cni-network-plugin runs, and
# next to the floor, in the same run on the same daemons.
#
#   bash conformance/ovs/bench.sh        (root; N=50 iterations by default)
#
# The Intel plugin's host side for ovs-dpdk/vhostuser, per attachment (cniovs/ovsctrl.go):
#   ADD: ovs-vsctl find bridge name=BR; ovs-vsctl add-port BR P -- set Interface P type=...
#        options:vhost-server-path=...; ovs-vsctl --bare --columns=mac find port name=P
#   DEL: ovs-vsctl --if-exists del-port BR P; ovs-vsctl list-ports BR
# The floor, timed in this one process: connect, monitor cur_cfg, one transaction (insert
# Interface + Port, add it to Bridge.ports, bump next_cfg), wait until ovs-vswitchd has applied
# it (cur_cfg); DEL: the port's uuid looked up, one transaction taking it out of Bridge.ports,
# the same wait. Plus the socket directory's mkdir/rmdir, as both plugins do.
# The three alternate per attachment (5 warm-up rounds), so background load hits them alike.
# Everything waits for ovs-vswitchd to apply each change (ovs-vsctl without --no-wait; the
# plugin waits for cur_cfg). No IPAM. Client mode, an existing netdev bridge.
# Then a few memory rounds: the plugin's peak RSS, and the largest ovs-vsctl of the sequence.
# Raw samples go to $NFV_BENCH_OUT/userspace.json (default target/bench) for bench/report.py.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/ovs.sh"
N=${N:-${NFV_BENCH_ITERS:-50}}
OUT=${NFV_BENCH_OUT:-$ROOT/target/bench}
[ "$(id -u)" = 0 ] || { echo "ovs-bench: must run as root"; exit 1; }
ovs_install
if ! command -v python3 >/dev/null; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends python3 >/dev/null
fi
BIN_DIR=${NFV_BENCH_BIN_DIR:-${NFV_CNI_BIN_DIR:-$ROOT/target/release}}
[ -x "$BIN_DIR/userspace" ] || (cd "$ROOT" && cargo build --release -p userspace)
mkdir -p "$OUT"

# The plugin's places (docs/userspace.md): OVS in its run directory, sockets in /run/vhostuser.
OVSD=/run/openvswitch/nfv-bench-$$
D=/run/vhostuser/nfv-bench-$$
trap 'ovs_stop; rm -rf "$D" "$OVSD"' EXIT
echo "ovs-bench: starting ovsdb-server and ovs-vswitchd (DPDK, no hugepages)" >&2
ovs_start "$OVSD"
$VSCTL add-br br-bench -- set bridge br-bench datapath_type=netdev
mkdir -p "$D/s"

python3 - "$BIN_DIR/userspace" "$D" "$N" "$VSCTL" "$OVS_DB" "$OUT/userspace.json" <<'EOF'
import json, os, socket, statistics, subprocess, sys, time

plugin, d, n, vsctl, db, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(), sys.argv[5], sys.argv[6]
conf = json.dumps({
    "cniVersion": "1.0.0", "name": "bench", "type": "userspace",
    "ovsdbSocket": db, "sharedDir": f"{d}/s",
    "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "bridge",
             "vhost": {"mode": "client"}, "bridge": {"bridgeName": "br-bench"}},
}).encode()
RSS_FILE = f"{d}/rss.txt"

def run(argv, stdin=None, env=None, rss=False):
    if rss:
        argv = ["/usr/bin/time", "-f", "%M", "-o", RSS_FILE] + argv
    r = subprocess.run(argv, input=stdin, env=env, capture_output=True)
    if r.returncode != 0:
        sys.exit(f"{argv[0]} failed: {r.stdout.decode()} {r.stderr.decode()}")
    if rss:
        with open(RSS_FILE) as f:
            return int(f.read().split()[-1])
    return None

def ours(verb, cid, rss=False):
    env = dict(os.environ, CNI_COMMAND=verb, CNI_CONTAINERID=cid, CNI_IFNAME="net1",
               CNI_NETNS="/proc/self/ns/net", CNI_PATH="/nonexistent")
    return [run([plugin], conf, env, rss)]

def intel(verb, cid, rss=False):
    port = f"{cid[:12]}-net1"
    if verb == "ADD":
        os.makedirs(f"{d}/s/{cid[:12]}", exist_ok=True)
        return [run(vsctl + ["--bare", "--columns=name", "find", "bridge", "name=br-bench"], rss=rss),
                run(vsctl + ["add-port", "br-bench", port, "--", "set", "Interface", port,
                             "type=dpdkvhostuserclient", f"options:vhost-server-path={d}/s/{cid[:12]}/{port}"], rss=rss),
                run(vsctl + ["--bare", "--columns=mac", "find", "port", f"name={port}"], rss=rss)]
    r = [run(vsctl + ["--if-exists", "del-port", "br-bench", port], rss=rss),
         run(vsctl + ["list-ports", "br-bench"], rss=rss)]
    os.rmdir(f"{d}/s/{cid[:12]}")
    return r

class Ovsdb:
    """RFC 7047 JSON-RPC on the db socket: just enough for the floor."""
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)
        self.s.connect(path)
        self.buf, self.dec, self.seq, self.cur_cfg = "", json.JSONDecoder(), 0, 0

    def _next(self):
        while True:
            text = self.buf.lstrip()
            if text:
                try:
                    msg, end = self.dec.raw_decode(text)
                    self.buf = text[end:]
                    return msg
                except ValueError:
                    pass
            chunk = self.s.recv(65536)
            if not chunk:
                raise RuntimeError("ovsdb-server closed the connection")
            self.buf += chunk.decode()

    def _note(self, updates):
        for row in updates.get("Open_vSwitch", {}).values():
            self.cur_cfg = max(self.cur_cfg, row.get("new", {}).get("cur_cfg", 0))

    def call(self, method, params):
        self.seq += 1
        self.s.sendall(json.dumps({"method": method, "params": params, "id": self.seq}).encode())
        while True:
            m = self._next()
            if m.get("method") == "update":
                self._note(m["params"][1])
            elif m.get("method") == "echo":
                self.s.sendall(json.dumps({"result": m["params"], "error": None, "id": m["id"]}).encode())
            elif m.get("id") == self.seq:
                if m.get("error"):
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]

    def transact_and_wait(self, ops):
        self._note(self.call("monitor", ["Open_vSwitch", "cfg", {"Open_vSwitch": {"columns": ["cur_cfg"]}}]))
        ops = ops + [{"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["next_cfg", "+=", 1]]},
                     {"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["next_cfg"]}]
        res = self.call("transact", ["Open_vSwitch"] + ops)
        bad = [r for r in res if "error" in r]
        if bad:
            raise RuntimeError(f"transaction failed: {bad}")
        want = res[-1]["rows"][0]["next_cfg"]
        while self.cur_cfg < want:
            m = self._next()
            if m.get("method") == "update":
                self._note(m["params"][1])
        return res

    def close(self):
        self.s.close()

def floor(verb, cid):
    port = f"{cid[:12]}-net1"
    c = Ovsdb(db)
    try:
        if verb == "ADD":
            os.makedirs(f"{d}/s/{cid[:12]}", exist_ok=True)
            c.transact_and_wait([
                {"op": "insert", "table": "Interface", "uuid-name": "i",
                 "row": {"name": port, "type": "dpdkvhostuserclient",
                         "options": ["map", [["vhost-server-path", f"{d}/s/{cid[:12]}/{port}"]]]}},
                {"op": "insert", "table": "Port", "uuid-name": "p",
                 "row": {"name": port, "interfaces": ["named-uuid", "i"]}},
                {"op": "mutate", "table": "Bridge", "where": [["name", "==", "br-bench"]],
                 "mutations": [["ports", "insert", ["set", [["named-uuid", "p"]]]]]}])
        else:
            rows = c.call("transact", ["Open_vSwitch", {"op": "select", "table": "Port",
                          "where": [["name", "==", port]], "columns": ["_uuid"]}])[0]["rows"]
            c.transact_and_wait([
                {"op": "mutate", "table": "Bridge", "where": [["name", "==", "br-bench"]],
                 "mutations": [["ports", "delete", ["set", [r["_uuid"] for r in rows]]]]}])
            os.rmdir(f"{d}/s/{cid[:12]}")
    finally:
        c.close()

def timed(fn, verb, cid, into):
    t = time.perf_counter(); fn(verb, cid); into.append((time.perf_counter() - t) * 1000)

# Interleaved (the order rotates), so load from anything else on the machine hits all alike.
sides = [("o", ours), ("i", intel), ("f", floor)]
samples = {k: ([], []) for k, _ in sides}
warm = ([], [])
process = []  # a bare process (/bin/true spawned and waited for) per round
def bare():
    t = time.perf_counter(); subprocess.run(["/bin/true"], check=True); return (time.perf_counter() - t) * 1000
print(f"ovs-bench: {n} rounds of the userspace plugin ({plugin}), the ovs-vsctl sequence, the floor", file=sys.stderr)
for i in range(n + 5):
    for j in range(3):
        k, fn = sides[(i + j) % 3]
        add, dele = warm if i < 5 else samples[k]
        cid = f"{k}{i:011d}abcd"
        timed(fn, "ADD", cid, add)
        timed(fn, "DEL", cid, dele)
    p = bare()
    if i >= 5:
        process.append(p)
left = subprocess.run(vsctl + ["list-ports", "br-bench"], capture_output=True, text=True).stdout.split()
if left:
    sys.exit(f"ports left on br-bench: {left}")

print("ovs-bench: memory rounds (peak RSS of the plugin, of the largest ovs-vsctl)", file=sys.stderr)
rss = {"userspace": {"add": [], "del": []}, "ovs-vsctl": {"add": [], "del": []}}
for i in range(5):
    for name, fn, k in (("userspace", ours, "r"), ("ovs-vsctl", intel, "v")):
        cid = f"{k}{i:011d}abcd"
        rss[name]["add"].append(max(fn("ADD", cid, rss=True)))
        rss[name]["del"].append(max(fn("DEL", cid, rss=True)))

series = lambda name, k: {"name": name, "add": samples[k][0], "del": samples[k][1]}
doc = {"rows": [{
    "id": "userspace-ovs-dpdk", "processes": 2,
    "title": "userspace ADD+DEL against OVS-DPDK (vhost-user client port, no IPAM)",
    "ours": series("userspace", "o"),
    "peer": series("ovs-vsctl sequence of userspace-cni", "i"),
    "floor": series("floor", "f"),
    "process": process,
}], "rss": rss}
with open(out, "w") as f:
    json.dump(doc, f, indent=1)

ms = statistics.median
tot = lambda k: [a + b for a, b in zip(*samples[k])]
print(f"ovs-bench: median ADD+DEL ms: ours {ms(tot('o')):.2f}, ovs-vsctl {ms(tot('i')):.2f}, "
      f"floor {ms(tot('f')):.2f}; ovs-vsctl/ours {ms(tot('i')) / ms(tot('o')):.2f}x, "
      f"ours/floor {ms(tot('o')) / ms(tot('f')):.2f}x; samples in {out}")
EOF
