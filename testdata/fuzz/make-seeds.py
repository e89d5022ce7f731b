#!/usr/bin/env python3
"""Write the seed inputs of the fuzz targets (testdata/fuzz/<target>/seed-*) from the
repository's testdata and docs, in each target's input format (crates/fuzz-targets/src/*.rs).
Inputs under regressions/ are never touched. Deterministic: run it again after changing a
format or adding testdata, and commit what changes:

    python3 testdata/fuzz/make-seeds.py                    # everything but the live netlink part
    sudo python3 testdata/fuzz/make-seeds.py --record-netlink   # also re-record netlink_reply/
                                                                # from a scratch network namespace

The netlink_reply recording runs under `unshare --net`: a veth pair, a bridge, addresses and
routes, then link/address/route dumps, GETs, an ACK and errors with the kernel's extended ack.
"""
import glob
import json
import os
import re
import socket
import struct
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "testdata", "fuzz")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def clear(target):
    for p in glob.glob(os.path.join(OUT, target, "seed-*")):
        os.remove(p)


def frames(pieces):
    return b"".join(struct.pack("<H", len(p)) + p for p in pieces)


def dumps(v):
    return json.dumps(v, separators=(",", ":"))


def doc_json_blocks():
    """Every ```json block of the docs and plugin READMEs that parses."""
    out = []
    for f in sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")) +
                    glob.glob(os.path.join(ROOT, "plugins", "*", "README.md"))):
        for m in re.finditer(r"```json\n(.*?)```", open(f).read(), re.S):
            try:
                out.append(json.loads(m.group(1)))
            except ValueError:
                pass
    return out


# ---------------------------------------------------------------------------------------------
# Network configurations

def netconfs():
    docs = doc_json_blocks()
    rc = {"CNIDeviceInfoFile": "/var/run/k8s.cni.cncf.io/devinfo/cni/net-c1-net1-device.json"}
    sriov = [
        {"cniVersion": "1.1.0", "name": "sriov-net", "type": "sriov", "deviceID": "0000:01:10.0"},
        {"cniVersion": "1.0.0", "name": "sriov-net", "type": "sriov", "deviceID": "0000:01:10.0",
         "vlan": 100, "vlanQoS": 3, "vlanProto": "802.1ad", "mac": "02:00:00:00:00:01",
         "spoofchk": "on", "trust": "off", "link_state": "enable", "min_tx_rate": 10,
         "max_tx_rate": 100, "mtu": 9000, "logLevel": "debug", "logFile": "/var/log/sriov.log",
         "runtimeConfig": dict(rc, mac="02:00:00:00:00:02", deviceID="0000:01:10.0"),
         "ipam": {"type": "host-local", "subnet": "10.0.0.0/24"}},
        {"cniVersion": "0.4.0", "name": "n", "type": "sriov", "deviceID": "0000:01:10.0",
         "vlan": 4095, "spoofchk": "yes", "prevResult": {"cniVersion": "0.4.0", "ips": [
             {"version": "4", "address": "10.0.0.2/24"}]}},
        {"cniVersion": "1.1.0", "name": "n", "type": "sriov", "deviceID": "01:10.0",
         "runtimeConfig": {"deviceID": "0000:01:10.1", "CNIDeviceInfoFile": "relative/../x"}},
        {"cniVersion": "1.1.0", "name": "n", "type": "sriov", "vlanQoS": 1, "mtu": 67,
         "min_tx_rate": 200, "max_tx_rate": 100, "mac": "01:00:5e:00:00:01"},
    ]
    vdpa = [
        {"cniVersion": "1.1.0", "name": "vdpa-net", "type": "vdpa", "deviceID": "0000:01:10.2"},
        {"cniVersion": "1.1.0", "name": "vdpa-net", "type": "vdpa", "vdpaDevice": "vdpa1",
         "driver": "virtio", "mac": "02:00:00:00:00:09", "mtu": 1500, "runtimeConfig": rc},
        {"cniVersion": "1.0.0", "name": "v", "type": "vdpa", "vdpaDevice": "../x",
         "driver": "vhost", "mtu": 1500},
        {"cniVersion": "1.1.0", "name": "v", "type": "vdpa", "deviceID": "0000:01:10.2",
         "runtimeConfig": {"deviceID": "0000:01:10.3", "mac": 5}},
    ]
    userspace = [
        {"cniVersion": "1.1.0", "name": "userspace-net", "type": "userspace",
         "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "bridge",
                  "vhost": {"mode": "client"}, "bridge": {"bridgeName": "br-dpdk", "vlanId": 100}},
         "container": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "interface",
                       "vhost": {"mode": "server"}},
         "sharedDir": "/var/lib/cni/usrspcni", "ovsdbSocket": "/var/run/openvswitch/db.sock",
         "ovsTimeout": 5, "runtimeConfig": dict(rc, mac="02:00:00:00:00:05"),
         "ipam": {"type": "host-local", "subnet": "10.2.0.0/24"}},
        {"cniVersion": "1.0.0", "name": "u", "type": "userspace",
         "host": {"engine": "ovs-dpdk", "iftype": "vhostuser",
                  "vhost": {"mode": "server", "group": "qemu", "socketfile": "vhu0"}},
         "ovsSocketDir": "/run/openvswitch", "kubeconfig": "/etc/kube.conf"},
        {"cniVersion": "1.1.0", "name": "u", "type": "userspace",
         "host": {"engine": "vpp", "iftype": "memif"}, "sharedDir": "relative"},
        {"cniVersion": "1.1.0", "name": "u", "type": "userspace",
         "host": {"engine": "ovs-dpdk", "vhost": {"socketfile": "../../etc/passwd"},
                  "bridge": {"bridgeName": "this-name-is-too-long", "vlanId": 5000}},
         "ovsTimeout": 0, "ovsdbSocket": "db.sock"},
        {"cniVersion": "1.1.0", "name": "u", "type": "userspace",
         "host": {"engine": "ovs-dpdk"}, "sharedDir": "/" + "d" * 120},
    ]
    host_local = [
        {"cniVersion": "1.0.0", "name": "hl", "type": "host-local",
         "ipam": {"type": "host-local", "subnet": "10.10.0.0/28", "routes": [{"dst": "0.0.0.0/0"}]}},
        {"cniVersion": "1.1.0", "name": "hl", "ipam": {"type": "host-local", "ranges": [
            [{"subnet": "2001:db8:1::/124", "rangeStart": "2001:db8:1::4", "rangeEnd": "2001:db8:1::8",
              "gateway": "2001:db8:1::1"}], [{"subnet": "10.20.0.0/29"}, {"subnet": "10.21.0.0/29"}]],
            "routes": [{"dst": "10.0.0.0/8", "gw": "10.20.0.1", "mtu": 1400, "advmss": 1360,
                        "priority": 5, "table": 100, "scope": 253}],
            "dataDir": "/var/lib/cni/networks", "resolvConf": "/etc/resolv.conf"},
         "args": {"cni": {"ips": ["10.20.0.5"]}},
         "runtimeConfig": {"ips": ["2001:db8:1::5/124"], "ipRanges": [[{"subnet": "10.30.0.0/30"}]]}},
        {"cniVersion": "0.2.0", "name": "hl", "ipam": {"type": "host-local", "subnet": "10.40.0.0/29",
                                                    "ranges": [[{"subnet": "fd02::/125"}], [{"subnet": "10.41.0.0/29"}]]}},
        {"cniVersion": "1.0.0", "name": "hl", "ipam": {"type": "host-local", "subnet": "10.0.0.1/24",
                                                    "rangeStart": "10.0.0.50", "rangeEnd": "10.0.0.40"}},
        {"cniVersion": "1.0.0", "name": "hl", "ipam": {"type": "host-local", "SUBNET": "::ffff:10.0.0.0/120",
                                                    "gateway": "10.0.0.2"}},
        {"cniVersion": "1.0.0", "name": "hl", "ipam": {"type": "host-local",
                                                    "ranges": [[{"subnet": "10.0.0.0/31"}]]}},
        {"cniVersion": "1.0.0", "name": "hl", "ipam": {"type": "host-local", "subnet": "::/0"},
         "args": {"cni": {"ips": ["::"]}}},
    ]
    for d in docs:
        if not isinstance(d, dict):
            continue
        t = d.get("type")
        if t == "sriov":
            sriov.append(d)
        elif t == "vdpa":
            vdpa.append(d)
        elif t == "userspace":
            userspace.append(d)
        if isinstance(d.get("ipam"), dict) and d["ipam"].get("type") == "host-local":
            host_local.append(d)
    for f in sorted(glob.glob(os.path.join(ROOT, "testdata", "conformance", "netconf", "*"))):
        host_local.append(json.load(open(f)))
    for target, confs in [("netconf_sriov", sriov), ("netconf_vdpa", vdpa),
                          ("netconf_userspace", userspace), ("netconf_host_local", host_local)]:
        clear(target)
        for i, c in enumerate(confs):
            write(target, "%02d.json" % i, json.dumps(c, indent=1))
        write(target, "not-json", '{"cniVersion":"1.1.0","name":')
        write(target, "gc-1.1.0", dumps({"cniVersion": "1.1.0", "name": "n", "type": "t",
                                         "cni.dev/valid-attachments": [{"containerID": "c", "ifname": "net1"}],
                                         "cni.dev/attachments": None}))


# ---------------------------------------------------------------------------------------------
# Results

def results():
    clear("result")
    files = sorted(glob.glob(os.path.join(ROOT, "testdata", "results", "**", "*.json"), recursive=True))
    files += sorted(glob.glob(os.path.join(ROOT, "testdata", "host-local", "results", "*.json")))
    files += sorted(glob.glob(os.path.join(ROOT, "testdata", "conformance", "expected", "*.json")))
    for f in files:
        rel = os.path.relpath(f, os.path.join(ROOT, "testdata")).replace(os.sep, "-")
        write("result", rel, open(f, "rb").read())
    write("result", "extended-1.1.0.json", dumps({
        "cniVersion": "1.1.0",
        "interfaces": [{"name": "net1", "mac": "02:00:00:00:00:01", "mtu": 9000, "sandbox": "/run/netns/p",
                        "socketPath": "/var/lib/cni/usrspcni/c/s", "pciID": "0000:01:10.0"}],
        "ips": [{"address": "10.0.0.2/24", "gateway": "10.0.0.1", "interface": 0},
                {"address": "::ffff:10.0.0.3/120"}],
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.0.0.1", "mtu": 1400, "advmss": 1360, "priority": 5,
                    "table": 100, "scope": 253}],
        "dns": {"nameservers": ["10.0.0.53"], "domain": "d", "search": ["s"], "options": ["ndots:5"]}}))


# ---------------------------------------------------------------------------------------------
# CNI_ARGS and the environment: NUL-separated CNI_ARGS, COMMAND, CONTAINERID, IFNAME, NETNS,
# PATH, cniVersion

def cni_args():
    clear("cni_args")
    multus = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-0;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=0b5e"
    cases = {
        "multus-add": [multus, "ADD", "c0ffee0123456789", "net1", "/var/run/netns/p", "/opt/cni/bin", "1.1.0"],
        "host-local-ip": ["IP=10.0.0.5;IgnoreUnknown=true", "DEL", "c0ffee", "eth0", "", "/opt/cni/bin", "0.3.1"],
        "mac": ["MAC=02:00:00:00:00:01", "CHECK", "c", "net1", "/run/netns/x", "/a:/b", "0.4.0"],
        "bad-pairs": ["A=b=c;;=x;IgnoreUnknown=maybe", "GC", "-bad", "a/b", "", "", "01.1.0"],
        "no-command": ["", "", "", "", "", "", ""],
        "version": ["", "VERSION", "", "", "", "", "9.9.9"],
        "status": ["", "STATUS", "", "", "", "", "1.1.0"],
        "long-ifname": ["", "ADD", "c", "0123456789abcdef", "/n", "/p", "1.0.0"],
    }
    for name, fields in cases.items():
        write("cni_args", name, "\0".join(fields))


# ---------------------------------------------------------------------------------------------
# OVSDB: recorded exchanges in testdata/ovsdb

def ovsdb():
    clear("ovsdb_stream")
    clear("ovsdb_reply")
    for f in sorted(glob.glob(os.path.join(ROOT, "testdata", "ovsdb", "*.json"))):
        name = os.path.splitext(os.path.basename(f))[0]
        ex = json.load(open(f))["exchange"]
        server = "".join(m["bytes"] for m in ex if m["from"] == "server").encode()
        client = "".join(m["bytes"] for m in ex if m["from"] == "client").encode()
        # The stream target re-reads in small pieces: keep its inputs small (the parser re-reads
        # its whole buffer on every read, so time grows with the square of the size).
        write("ovsdb_stream", name + "-server", bytes([len(server) % 251]) + server[:8192])
        write("ovsdb_stream", name + "-client", bytes([len(client) % 251]) + client[:8192])
        write("ovsdb_reply", name + "-session", server)
        for i, m in enumerate(m for m in ex if m["from"] == "server"):
            write("ovsdb_reply", "%s-%d" % (name, i), m["bytes"])
    write("ovsdb_stream", "pretty", b"\x07" + b'{"id": 0,\n "result": [\n  "Open_vSwitch"\n ]}\n\n{"method":"echo","params":[],"id":"echo"}  ')
    write("ovsdb_reply", "rows", dumps({"id": 0, "error": None, "result": [
        {"rows": [{"_uuid": ["uuid", "18e5d9c6-50dc-4cb9-9e52-5e0fe0a26933"], "name": "br0",
                   "ports": ["set", [["uuid", "edf54bc7-bac9-42d1-9fb1-b1d11aacc087"]]],
                   "external_ids": ["map", [["nfv-cni/created-by", "userspace"]]]}]},
        {"rows": [{"_uuid": ["uuid", "edf54bc7-bac9-42d1-9fb1-b1d11aacc087"], "name": "c0ffee-net1",
                   "external_ids": ["map", [["nfv-cni/container-id", "c0ffee"], ["nfv-cni/ifname", "net1"],
                                            ["nfv-cni/socket-path", "/var/lib/cni/usrspcni/c0ffee/c0ffee-net1"],
                                            ["nfv-cni/mac", "02:00:00:00:00:01"]]]}]}]}))
    write("ovsdb_reply", "monitor-update", dumps({"method": "update", "params": [["cur_cfg", 7], {
        "Open_vSwitch": {"e95260fe-1e5b-4380-82e7-90e7de9b7edd": {"new": {"cur_cfg": 8}}}}], "id": None}))


# ---------------------------------------------------------------------------------------------
# Generic netlink, the vdpa family: testdata/vdpa (recorded in the lab, or built in the
# kernel's layout). One byte for what the request waits for (0 ACK, 1 one reply, 2 dump), then
# the datagrams; sequence numbers become 1, the first request's, and dumps end in NLMSG_DONE.

def hexfile(path):
    return [bytes.fromhex(l.strip()) for l in open(path) if l.strip()]


def with_seq(msg, seq=1):
    return msg[:8] + struct.pack("=I", seq) + msg[12:]


def done(seq=1, flags=2):
    return struct.pack("=IHHIIi", 20, 3, flags, seq, 0, 0)


def genl_vdpa():
    clear("genl_vdpa")
    d = os.path.join(ROOT, "testdata", "vdpa")
    fam = hexfile(os.path.join(d, "lab-6.12", "family.hex"))
    write("genl_vdpa", "family", b"\x01" + frames([with_seq(m) for m in fam]))
    get = hexfile(os.path.join(d, "lab-6.12", "dev-get.hex"))
    write("genl_vdpa", "dev-get", b"\x01" + frames([with_seq(m) for m in get]))
    missing = hexfile(os.path.join(d, "lab-6.12", "dev-get-missing.hex"))
    write("genl_vdpa", "dev-get-missing", b"\x01" + frames([with_seq(m) for m in missing]))
    for name in ["lab-6.12/dev-dump.hex", "nic-dev-dump.hex"]:
        msgs = [with_seq(m) for m in hexfile(os.path.join(d, name))]
        # One datagram holding every message and the DONE, and one datagram per message.
        write("genl_vdpa", name.replace("/", "-") + "-one-datagram", b"\x02" + frames([b"".join(msgs) + done()]))
        write("genl_vdpa", name.replace("/", "-") + "-per-message", b"\x02" + frames(msgs + [done()]))


# ---------------------------------------------------------------------------------------------
# rtnetlink: synthetic VF lists (the kernel's layout, as crates/netlink's vf.rs tests build it)
# plus, with --record-netlink, replies recorded from the kernel.

def nla(kind, value):
    a = struct.pack("=HH", 4 + len(value), kind) + value
    return a + b"\0" * (-len(a) % 4)


def u32s(*vals):
    return b"".join(struct.pack("=I", v) for v in vals)


def kernel_vf(vid, mac, vlan, qos, proto, spoof, trust, ls):
    m = u32s(vid) + bytes(mac) + b"\0" * 26
    vinfo = u32s(vid, vlan, qos) + struct.pack(">H", proto) + b"\0\0"
    b = nla(1, m) + nla(13, b"\xff" * 32) + nla(2, u32s(vid, vlan, qos))
    b += nla(12, nla(1, vinfo)) + nla(3, u32s(vid, 500)) + nla(6, u32s(vid, 0, 500))
    b += nla(4, u32s(vid, spoof)) + nla(5, u32s(vid, ls)) + nla(7, u32s(vid, 0))
    b += nla(9, u32s(vid, trust)) + nla(8 | 0x8000, nla(0, b"\0" * 8))
    return nla(1 | 0x8000, b)


def newlink(attrs, seq=1, flags=0):
    body = struct.pack("=BxHiII", 0, 1, 4, 0x1043, 0) + attrs
    return struct.pack("=IHHII", 16 + len(body), 16, flags, seq, 0) + body


def error_msg(code, seq=1, ext=None):
    req = struct.pack("=IHHII", 16, 19, 5, seq, 0)
    body = struct.pack("=i", code) + req
    flags = 0x100
    if ext is not None:
        flags |= 0x200
        body += nla(1, ext.encode() + b"\0")
    return struct.pack("=IHHII", 16 + len(body), 2, flags, seq, 0) + body


def netlink_synthetic():
    vfs = kernel_vf(0, [2, 0, 0, 0, 0, 1], 100, 3, 0x8100, 1, 0, 0)
    vfs += kernel_vf(1, [0] * 6, 7, 0, 0x88a8, 0xffffffff, 0xffffffff, 2)
    attrs = nla(3, b"enp1s0\0") + nla(21, u32s(2)) + nla(22 | 0x8000, vfs)
    write("netlink_reply", "vf-list", b"\x01" + frames([newlink(attrs)]))
    write("netlink_reply", "ack", b"\x00" + frames([error_msg(0)]))
    write("netlink_reply", "nack-extack", b"\x00" + frames([error_msg(-22, ext="MTU greater than device maximum")]))
    interrupted = newlink(nla(3, b"v0\0"), flags=2 | 0x10)
    write("netlink_reply", "dump-interrupted", b"\x02" + frames([
        interrupted + done(flags=2 | 0x10), newlink(nla(3, b"v0\0"), seq=2, flags=2) + done(seq=2)]))
    write("netlink_reply", "stale-then-reply", b"\x01" + frames([
        newlink(nla(3, b"old\0"), seq=77), newlink(nla(3, b"new\0"))]))


NETLINK_EXT_ACK = 11
NETLINK_CAP_ACK = 10
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300


def record_inner():
    """Inside a fresh network namespace: build links, addresses and routes, ask, record."""
    run = lambda *a: subprocess.run(["ip"] + list(a), check=True)
    run("link", "set", "lo", "up")
    run("link", "add", "v0", "type", "veth", "peer", "name", "v1")
    run("link", "add", "br0", "type", "bridge")
    run("link", "set", "v1", "master", "br0")
    for l in ["v0", "v1", "br0"]:
        run("link", "set", l, "up")
    run("addr", "add", "10.5.0.2/24", "dev", "v0")
    run("addr", "add", "fd00:5::2/64", "dev", "v0", "nodad")
    run("route", "add", "10.6.0.0/16", "via", "10.5.0.1", "dev", "v0", "mtu", "1400", "advmss", "1360", "metric", "50")
    run("route", "add", "default", "via", "10.5.0.1", "table", "100")
    run("-6", "route", "add", "fd00:6::/64", "via", "fd00:5::1", "dev", "v0")
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, 0))
    s.setsockopt(270, NETLINK_EXT_ACK, 1)
    s.setsockopt(270, NETLINK_CAP_ACK, 1)
    v0 = socket.if_nametoindex("v0")

    def ask(kind, flags, body):
        s.send(struct.pack("=IHHII", 16 + len(body), kind, flags | NLM_F_REQUEST, 1, 0) + body)
        got = []
        while True:
            d = s.recv(1 << 20)
            got.append(d)
            off, end = 0, False
            while off + 16 <= len(d):
                n, t = struct.unpack_from("=IH", d, off)
                if t in (2, 3):
                    end = True
                off += (n + 3) & ~3
            if end or not flags & NLM_F_DUMP:
                return got

    ifinfo = lambda idx: struct.pack("=BxHiII", 0, 0, idx, 0, 0)
    ext_mask_vf = nla(29, u32s(1))
    cases = [
        ("links-dump", 2, 18, NLM_F_DUMP, ifinfo(0) + ext_mask_vf),
        ("addresses-dump", 2, 22, NLM_F_DUMP, struct.pack("=BBBBI", 0, 0, 0, 0, 0)),
        ("routes-dump", 2, 26, NLM_F_DUMP, struct.pack("=BBBBBBBBI", 0, 0, 0, 0, 0, 0, 0, 0, 0)),
        ("link-get", 1, 18, 0, ifinfo(v0) + ext_mask_vf),
        ("link-get-missing", 1, 18, 0, ifinfo(0) + nla(3, b"nope0\0")),
        ("setlink-up-ack", 0, 19, NLM_F_ACK, struct.pack("=BxHiII", 0, 0, v0, 1, 1)),
        ("setlink-mtu-extack", 0, 19, NLM_F_ACK, ifinfo(v0) + nla(4, u32s(70000))),
        ("newlink-exists", 0, 16, NLM_F_ACK | 0x400 | 0x200,
         ifinfo(0) + nla(3, b"br0\0") + nla(18, nla(1, b"bridge\0"))),
    ]
    for name, expect, kind, flags, body in cases:
        write("netlink_reply", "recorded-" + name, bytes([expect]) + frames(ask(kind, flags, body)))


def netlink(record):
    for p in glob.glob(os.path.join(OUT, "netlink_reply", "seed-*")):
        if record or not os.path.basename(p).startswith("seed-recorded-"):
            os.remove(p)
    netlink_synthetic()
    if record:
        subprocess.run(["unshare", "--net", sys.executable, os.path.abspath(__file__), "--netlink-inner"], check=True)


# ---------------------------------------------------------------------------------------------
# host-local's files: sections `@lease/<name>`, `@index/state` (`@stamp` = the real one),
# `@index/owners/<bucket>`, `@resolv`

def fnv1a(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def index_for(leases):
    buckets = {}
    for ip, key in leases:
        buckets.setdefault(fnv1a(key) % 256, []).append("%s %s\n" % (ip, key.encode().hex()))
    out = "@index/state\nnfv-hostlocal owner index 2\n@stamp %d\n" % len(leases)
    for b in sorted(buckets):
        out += "@index/owners/%02x\n%s" % (b, "".join(buckets[b]))
    return out


def hostlocal():
    clear("hostlocal_disk")
    leases = [("10.9.0.2", "c1\r\neth0"), ("10.9.0.3", "c2\r\neth0"), ("fd00:9::2", "c2\r\neth0"),
              ("10.9.0.4", "c2"), ("10.9.0.5", "other\r\nnet9")]
    files = "".join("@lease/%s\n%s\n" % (ip, key) for ip, key in leases)
    files += "@lease/last_reserved_ip.0\n10.9.0.5\n@lease/last_reserved_ip.1\nfd00:9::2\n@lease/lock\n"
    write("hostlocal_disk", "leases", files)
    write("hostlocal_disk", "leases-trusted-index", files + index_for(leases))
    write("hostlocal_disk", "index-lies", files + index_for([("10.9.0.5", "c2\r\neth0"), ("10.9.0.2", "c3\r\nnet1")]))
    full = "".join("@lease/10.9.0.%d\nx%d\r\neth0\n" % (i, i) for i in range(2, 7))
    full += "".join("@lease/fd00:9::%x\ny%d\r\neth0\n" % (i, i) for i in range(2, 8))
    write("hostlocal_disk", "exhausted", full)
    write("hostlocal_disk", "garbage", b"@lease/10.9.0.2\n\xff\xfe\n@lease/last_reserved_ip.0\n999.1.1.1\n"
          b"@lease/10.09.0.3\nc2\r\neth0\n@lease/::ffff:10.9.0.4\nc2\r\neth0\n@index/state\n\n@index/owners/zz\nnope\n")
    write("hostlocal_disk", "resolv", "@resolv\n" + open(os.path.join(ROOT, "testdata", "host-local", "resolv.conf")).read())


def main():
    if "--netlink-inner" in sys.argv:
        record_inner()
        return
    netconfs()
    results()
    cni_args()
    ovsdb()
    genl_vdpa()
    netlink("--record-netlink" in sys.argv)
    hostlocal()


if __name__ == "__main__":
    main()
