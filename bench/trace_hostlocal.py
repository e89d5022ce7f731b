#!/usr/bin/env python3
"""One warm host-local ADD and DEL, ours and Debian's Go one, under `perf trace`: the traces
bench/syscalls.py reads to say where the time of a host-local call goes.

    python3 bench/trace_hostlocal.py OUT_DIR OUR_BINARY [LEASES]      (make bench runs it)

The stand-in is the host-local bench's (plugins/host-local/benches/add_del.rs): a data
directory holding LEASES leases (default 10) of 10.200.0.0/16 in the on-disk format, each side
its own. Three ADD+DEL rounds warm the page cache, the next TRACED are traced, as the wrapped
benches trace theirs (bench/rust/wrapped.rs); the report reads the call of median wall time.
Writes OUT_DIR/host-local-{ours,go}-{ADD,DEL}.<n>.txt.
"""

import ipaddress
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GO = "/usr/lib/cni/host-local"
WARM = 3
TRACED = 5
BASE = ipaddress.IPv4Address("10.200.0.0")


def populate(data, n):
    """`n` leases, as the host-local bench writes them."""
    shutil.rmtree(data, ignore_errors=True)
    net = os.path.join(data, "bench")
    os.makedirs(net)
    open(os.path.join(net, "lock"), "w").close()
    for i in range(n):
        with open(os.path.join(net, str(BASE + 2 + i)), "w") as f:
            f.write(f"existing-{i}\r\neth0")
    if n:
        with open(os.path.join(net, "last_reserved_ip.0"), "w") as f:
            f.write(str(BASE + 1 + n))


def request(verb, cid, data):
    """The stdin and environment of a host-local call on the data directory `data`."""
    conf = ('{"cniVersion":"1.0.0","name":"bench","type":"host-local","ipam":{"type":"host-local",'
            f'"dataDir":"{data}","subnet":"10.200.0.0/16"}}}}')
    env = {"CNI_COMMAND": verb, "CNI_CONTAINERID": cid, "CNI_NETNS": "/var/run/netns/bench",
           "CNI_IFNAME": "eth0", "CNI_PATH": "/usr/lib/cni", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    return conf.encode(), env


def call(binary, verb, cid, data, trace=None):
    conf, env = request(verb, cid, data)
    argv = [binary] if trace is None else ["perf", "trace", "-o", trace, "--", binary]
    r = subprocess.run(argv, input=conf, env=env, capture_output=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"trace: {binary} {verb} {cid} failed: {r.stdout[:400]!r} {r.stderr[:400]!r}")


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    out, ours = os.path.abspath(argv[1]), argv[2]
    leases = int(argv[3]) if len(argv) == 4 else 10
    os.makedirs(out, exist_ok=True)
    for side, binary in (("ours", ours), ("go", GO)):
        data = os.path.join(out, f"data-{side}")
        populate(data, leases)
        for i in range(WARM + TRACED):
            for verb in ("ADD", "DEL"):
                trace = os.path.join(out, f"host-local-{side}-{verb}.{i}.txt") if i >= WARM else None
                call(binary, verb, f"{side}{i}", data, trace)
        shutil.rmtree(data)
    print(f"trace: host-local ADD and DEL at {leases} leases, ours and Go, in {out}")


if __name__ == "__main__":
    main(sys.argv)
