#!/usr/bin/env python3
"""make multus-replay: a pod and its NetworkAttachmentDefinitions turned into exactly what
Multus hands each delegate, run through our real binaries, and the pod's network-status
annotation Multus would build from what they return.

For every case in testdata/multus/cases/ (manifests from deployment/examples/ or
testdata/multus/manifests/, the device plugin's allocation, the sandbox ID):

  ADD    for the cluster network (Debian's ptp, eth0) and then each selected network in order:
         Multus's rules (rules.py: deviceID/pciBusID in the config, net<N> or the asked name,
         CNI_ARGS, capability args, the device-info path it makes up, the device plugin's
         device-info file copied there) and libcni's (name, cniVersion, runtimeConfig from the
         declared capabilities, the result cached); the interface name checked free in the pod
         first, as Multus does. The stdin and CNI_* variables each plugin gets are compared with
         testdata/multus/expected/<case>/<ifname>.{ADD,DEL}.{stdin,env}.
  status the annotation from each result and device-info file, compared byte for byte with
         testdata/multus/expected/<case>/network-status.json; the pod's interfaces checked.
  DEL    with the NADs deleted from the "API" first: Multus takes every delegate from its
         scratch cache, libcni the prevResult from its own; last network first; Multus removes
         each device-info file. The node must be as before (devices home, no lease, no
         device-info file, no OVS port).
  A case whose ADD a plugin refuses (add_fails) replays Multus's rollback (DEL of that delegate
  and of those before it) and then the runtime's DEL of the sandbox.

libcni's own part is checked against the real library too (--libcni-check, Debian's v1.1.2 in
conformance/libcni): every case's delegate, set to cniVersion 1.0.0, through rules.py and
through libcni into a recording plugin must give the same stdin and CNI_ARGS at ADD and DEL.

Needs root (namespaces, mounts), util-linux, iproute2, python3-yaml, Debian's ptp; OVS_DIR set
to a running OVS-DPDK (conformance/ovs/ovs.sh) for cases with `ovs: true`.
  replay.py [--update] [--libcni-check DRIVER] [CASE...]
Prints one line per check and `multus-replay: N passed, N failed`.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "deployment" / "tests"))
import rules  # noqa: E402
from rules import go_json  # noqa: E402
import nad_configs  # noqa: E402  (the scratch node: netns, veths, fake sysfs, private mounts)
from nad_configs import Node  # noqa: E402

CASES = ROOT / "testdata" / "multus" / "cases"
EXPECTED = ROOT / "testdata" / "multus" / "expected"
BIN = nad_configs.BIN
CLUSTER_CONF = ('{"cniVersion":"1.0.0","name":"cluster-net","type":"ptp",'
                '"ipam":{"type":"host-local","subnet":"10.128.0.0/24"}}')

passed = failed = 0
UPDATE = False


def ok(what):
    global passed
    passed += 1
    print(f"multus-replay: ok - {what}", flush=True)


def fail(what, detail=""):
    global failed
    failed += 1
    print(f"multus-replay: FAILED - {what}" + (f"\n    {detail}" if detail else ""), flush=True)


def check(what, cond, detail=""):
    (ok if cond else lambda w: fail(w, detail))(what)
    return cond


def golden(case, name, actual, subst, what):
    """Compare with expected/<case>/<name> after putting the run's own values (netns path,
    bin dir, eth0's MAC) back as {{placeholders}}; --update writes the file instead."""
    for k, v in subst.items():
        actual = actual.replace(v, "{{" + k + "}}")
    path = EXPECTED / case / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        ok(f"{case}: wrote {path.relative_to(ROOT)}")
        return True
    want = path.read_text() if path.exists() else None
    return check(f"{case}: {what} is {path.relative_to(ROOT)}", want == actual,
                 f"got:\n{actual}\nwant:\n{want}")


def load_api(spec):
    """The case's pod and NADs as the API server would hand them to Multus."""
    docs = []
    for m in spec["manifests"]:
        docs += [d for d in yaml.safe_load_all((ROOT / m).read_text()) if d]
    for d in docs:
        d["metadata"].setdefault("namespace", spec.get("namespace") or "default")
    pod = next(d for d in docs if d["kind"] == "Pod")
    if spec.get("uid") != "from-manifest":
        pod["metadata"]["uid"] = spec["uid"]
    nads = {(d["metadata"]["namespace"], d["metadata"]["name"]): d
            for d in docs if d["kind"] == "NetworkAttachmentDefinition"}
    return pod, nads


class Replay:
    """One case: the node, the API objects, Multus's caches."""

    def __init__(self, name, spec, ovs_dir):
        self.name, self.spec, self.ovs_dir = name, spec, ovs_dir
        self.pod, self.nads = load_api(spec)
        self.sandbox = spec["sandbox"]
        if ovs_dir is None:  # the libcni check: Multus's rules only, no node
            return
        self.node = Node(spec["node"])
        d = self.node.dir
        (d / "devinfo/cni").rmdir()        # made by whoever writes there first (Multus: mode 0)
        self.bin = d / "opt-cni-bin"       # the node's /opt/cni/bin: ours and Debian's ptp
        self.bin.mkdir()
        for p in ["host-local", "sriov", "vdpa", "userspace"]:
            os.symlink(BIN / p, self.bin / p)
        os.symlink("/usr/lib/cni/ptp", self.bin / "ptp")
        self.netns = f"/var/run/netns/{self.node.pod}"
        self.subst = {"netns": self.netns, "bin": str(self.bin)}
        if spec.get("netdev_mac"):
            nad_configs.sh("ip", "-n", self.node.host, "link", "set", self.node.vf_netdev,
                           "address", spec["netdev_mac"])
        for dev, info in spec.get("device_plugin_files", {}).items():
            res = next(r for r, ids in spec["allocation"].items() if dev in ids)
            self.write_devinfo(rules.dp_devinfo_path(res, dev), go_json(rules.typed_devinfo(info)))
        self.multus_cache = self.local(rules.MULTUS_CNI_DIR)

    def local(self, path):
        """Where a node path is in the scratch tree (the plugin sees it at `path`)."""
        for node_root, here in [(rules.DEVINFO_ROOT, self.node.dir / "devinfo"),
                                ("/var/lib", self.node.dir / "varlib")]:
            if path.startswith(node_root + "/") or path == node_root:
                return here / path[len(node_root):].lstrip("/")
        raise ValueError(path)

    def write_devinfo(self, path, text):
        """nadutils saveDeviceInfo: the directory made with os.ModeDir (no permission bits),
        an existing file refused, the file 0444."""
        p = self.local(path)
        if not p.parent.exists():
            p.parent.mkdir(parents=True)
            os.chmod(p.parent, 0)
        if p.exists():
            raise FileExistsError(path)
        p.write_text(text)
        os.chmod(p, 0o444)

    # --- Multus ADD: the delegates --------------------------------------------------------

    def delegates(self):
        """The cluster network, then one delegate per selection (TryLoadPodDelegates)."""
        nets = rules.selections(self.pod)
        out = [{"name": "cluster-net", "bytes": CLUSTER_CONF.encode(), "master": True, "net": {},
                "ifname": "eth0", "device": None, "resource": None}]
        for i, (net, (res, dev)) in enumerate(zip(nets, rules.device_ids(self.nads, nets, self.spec["allocation"])), 1):
            nad = self.nads[(net["namespace"], net["name"])]
            out.append({"name": f"{net['namespace']}/{net['name']}", "bytes": rules.delegate_bytes(nad, dev),
                        "master": False, "net": net, "ifname": rules.ifname(net, i), "device": dev,
                        "resource": res})
        return out

    def save_delegates(self, dels):
        """saveDelegates: the list under /var/lib/cni/multus/<containerID> (config bytes base64)."""
        self.multus_cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.multus_cache / self.sandbox).write_text(json.dumps(
            [dict(d, bytes=base64.b64encode(d["bytes"]).decode()) for d in dels]))

    def cached_delegates(self):
        raw = json.loads((self.multus_cache / self.sandbox).read_text())
        return [dict(d, bytes=base64.b64decode(d["bytes"])) for d in raw]

    def rt(self, d):
        args, caps = rules.runtime_args(self.pod, self.sandbox, d["ifname"], d["net"], d["device"],
                                        d["name"], self.sandbox, self.spec.get("runtime_cni_args", ""))
        if d["master"]:
            caps = {}
        return args, caps

    # --- libcni ---------------------------------------------------------------------------

    def cache_file(self, net_name, ifn):
        return self.local(rules.MULTUS_CNI_DIR) / "results" / f"{net_name}-{self.sandbox}-{ifn}"

    def invoke(self, verb, d, prev=None):
        """libcni AddNetwork / DelNetwork for a single config; returns (code, stdout JSON)."""
        conf = rules.go_loads(d["bytes"])
        args, caps = self.rt(d)
        stdin = rules.libcni_conf(d["bytes"], caps, prev).decode()
        env = {"CNI_CONTAINERID": self.sandbox, "CNI_ARGS": rules.cni_args_env(args),
               "CNI_IFNAME": d["ifname"], "CNI_PATH": f"{self.bin}:{self.bin}"}
        shown = {"CNI_COMMAND": verb, "CNI_CONTAINERID": self.sandbox, "CNI_NETNS": self.netns,
                 "CNI_ARGS": env["CNI_ARGS"], "CNI_IFNAME": d["ifname"], "CNI_PATH": env["CNI_PATH"]}
        if not d["master"]:
            golden(self.name, f"{d['ifname']}.{verb}.stdin", stdin + "\n", self.subst,
                   f"{d['ifname']}: {verb} stdin ({conf['type']})")
            golden(self.name, f"{d['ifname']}.{verb}.env",
                   "".join(f"{k}={v}\n" for k, v in shown.items()), self.subst,
                   f"{d['ifname']}: {verb} CNI_* variables")
        code, out = self.node.run(str(self.bin / conf["type"]), verb, stdin, env, self.ovs_dir)
        return code, out, args, caps, stdin

    def add(self, d):
        code, out, args, caps, stdin = self.invoke("ADD", d)
        if code == 0:
            conf = rules.go_loads(d["bytes"])
            f = self.cache_file(conf["name"], d["ifname"])
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(rules.cache_entry(self.sandbox, d["ifname"], conf["name"], stdin.encode(),
                                                      args, caps, self.netns, rules.go_result(out))))
        return code, out

    def delete(self, d):
        """DelNetwork: the cached result as prevResult (cniVersion >= 0.4.0), cache dropped;
        then Multus removes the device-info file."""
        conf = rules.go_loads(d["bytes"])
        f = self.cache_file(conf["name"], d["ifname"])
        prev = json.loads(f.read_text())["result"] if f.exists() else None
        code, out, _, caps, _ = self.invoke("DEL", d, prev)
        if code == 0 and f.exists():
            f.unlink()
        if caps.get("CNIDeviceInfoFile"):
            p = self.local(caps["CNIDeviceInfoFile"])
            if p.exists():
                p.unlink()
        return code, out

    def pod_has(self, ifn):
        return self.node.link_in(self.node.pod, ifn) is not None

    # --- the whole pod --------------------------------------------------------------------

    def run(self):
        n = self.name
        dels = self.delegates()
        self.save_delegates(dels)
        results, statuses = {}, []
        for idx, d in enumerate(dels):
            if not check(f"{n}: {d['ifname']} is free in the pod before ADD (validateIfName)",
                         not self.pod_has(d["ifname"])):
                return
            args, caps = self.rt(d)
            if caps.get("CNIDeviceInfoFile") and d["resource"]:
                try:  # CopyDeviceInfoForCNIFromDP: errors are only logged
                    dp = self.local(rules.dp_devinfo_path(d["resource"], d["device"]))
                    self.write_devinfo(caps["CNIDeviceInfoFile"],
                                       go_json(rules.typed_devinfo(json.loads(dp.read_text()))))
                except OSError:
                    pass
            code, out = self.add(d)
            want_fail = self.spec.get("add_fails", {}).get(d["ifname"])
            if want_fail:
                check(f"{n}: {d['ifname']} ADD refused with code {want_fail} "
                      f"({(out or {}).get('msg', '')[:80]})", code != 0 and (out or {}).get("code") == want_fail,
                      json.dumps(out))
                self.rollback(dels, idx)
                return
            if not check(f"{n}: {d['ifname']} ADD ({rules.go_loads(d['bytes'])['type']}) succeeds",
                         code == 0, json.dumps(out)):
                self.rollback(dels, idx)
                return
            results[d["ifname"]] = out
            info = None
            if caps.get("CNIDeviceInfoFile") and self.local(caps["CNIDeviceInfoFile"]).exists():
                info = json.loads(self.local(caps["CNIDeviceInfoFile"]).read_text())
            statuses += rules.network_statuses(out, d["name"], d["master"], info)
        eth0 = (self.node.link_in(self.node.pod, "eth0") or {}).get("address", "eth0-missing")
        subst = dict(self.subst, **{"eth0.mac": eth0})
        for d in dels:  # a vhost-user port's MAC is made up by the plugin unless the pod asks
            iface = (results.get(d["ifname"], {}).get("interfaces") or [{}])[0]
            if iface.get("socketPath") and not d["net"].get("mac") and iface.get("mac"):
                subst[f"{d['ifname']}.mac"] = iface["mac"]
        golden(n, "network-status.json", rules.annotation(statuses) + "\n", subst,
               "the k8s.v1.cni.cncf.io/network-status annotation")
        self.check_pod(dels, results, statuses)
        # The NADs are gone from the API before DEL: nothing of DEL may need them.
        self.nads.clear()
        self.teardown(self.cached_delegates())
        self.check_clean(dels)

    def check_pod(self, dels, results, statuses):
        """The pod has what the annotation says: each status's interface, MAC, MTU, addresses."""
        n = self.name
        for st in statuses:
            if "interface" not in st:
                continue
            iface = (results.get(st["interface"], {}).get("interfaces") or [{}])[0]
            if "mac" not in st or iface.get("socketPath"):  # for DPDK: a name, no netdev
                check(f"{n}: {st['interface']} names a device for DPDK: no netdev in the pod, "
                      f"device-info {st.get('device-info', {}).get('type')}",
                      not self.pod_has(st["interface"]), json.dumps(st))
                continue
            link = self.node.link_in(self.node.pod, st["interface"])
            addrs = self.node.addrs_in_pod(st["interface"])
            check(f"{n}: the pod's {st['interface']} is as the annotation says "
                  f"(mac {st.get('mac')}, mtu {st.get('mtu', '-')}, ips {st.get('ips')})",
                  link is not None and link.get("address") == st.get("mac")
                  and (not st.get("mtu") or link.get("mtu") == st["mtu"])
                  and all(any(a.startswith(ip + "/") for a in addrs) for ip in st.get("ips", [])),
                  f"link {json.dumps(link)} addrs {addrs}")

    def rollback(self, dels, idx):
        """CmdAdd's failure path (delPlugins idx..0), then the runtime's DEL of the sandbox."""
        n = self.name
        codes = [self.delete(d)[0] for d in reversed(dels[:idx + 1])]
        check(f"{n}: Multus's rollback DELs ({', '.join(d['ifname'] for d in reversed(dels[:idx + 1]))}) succeed",
              codes == [0] * len(codes), str(codes))
        self.nads.clear()
        self.teardown(self.cached_delegates())
        self.check_clean(dels)

    def teardown(self, dels):
        """CmdDel with the scratch cache: every delegate, last first."""
        n = self.name
        codes = [(d["ifname"], self.delete(d)[0]) for d in reversed(dels)]
        check(f"{n}: DEL of every delegate from Multus's cache, NADs deleted, succeeds "
              f"({', '.join(f'{i}={c}' for i, c in codes)})", all(c == 0 for _, c in codes))
        (self.multus_cache / self.sandbox).unlink()

    def check_clean(self, dels):
        n = self.name
        node = self.node
        leases = sorted(str(p.relative_to(node.dir / "varlib/cni/networks"))
                        for p in (node.dir / "varlib/cni/networks").rglob("*")
                        if p.is_file() and (p.name[0].isdigit() or ":" in p.name))
        devinfo = sorted(p.name for p in (node.dir / "devinfo/cni").glob("*"))
        home = node.vf_netdev is None or node.link_in(node.host, node.vf_netdev) is not None
        pod_links = [li["ifname"] for li in json.loads(node.ip(node.pod, "link", "show").stdout or "[]")
                     if li["ifname"] != "lo"]
        results = list((self.multus_cache / "results").glob("*")) if (self.multus_cache / "results").exists() else []
        check(f"{n}: after DEL the node is as before (device home, no lease, no device-info file, "
              f"nothing in the pod, libcni cache empty)",
              home and not leases and not devinfo and not pod_links and not results,
              f"leases {leases} devinfo {devinfo} pod {pod_links} cache {results}")
        if self.ovs_dir and self.spec.get("ovs"):
            left = nad_configs.sh("ovs-vsctl", f"--db=unix:{self.ovs_dir}/db.sock", "--timeout=10",
                                  "list-br", check=False).stdout.split()
            check(f"{n}: OVS holds no bridge or port of ours", not left, str(left))

    def close(self):
        self.node.close()


# --- libcni itself, for the part rules.py says it does ---------------------------------------

RECORDER = """#!/bin/sh
# A CNI plugin that records what it was given and answers like a 1.0.0 plugin.
d=$(dirname "$0")/../rec
cat > "$d/$CNI_COMMAND.stdin"
env | grep '^CNI_' | sort > "$d/$CNI_COMMAND.env"
case "$CNI_COMMAND" in
  ADD) printf '%s' '{"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:01","sandbox":"/var/run/netns/x"}],"ips":[{"interface":0,"address":"10.1.2.3/24","gateway":"10.1.2.1"}],"routes":[{"dst":"10.2.0.0/16","gw":"10.1.2.1"}],"dns":{}}' ;;
  VERSION) printf '%s' '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}' ;;
esac
"""


def libcni_check(driver, names):
    """Each case's delegates at cniVersion 1.0.0: rules.libcni_conf against Debian's libcni."""
    for name in names:
        spec = yaml.safe_load((CASES / f"{name}.yaml").read_text())
        tmp = Path(tempfile.mkdtemp(prefix="nfvlibcni-"))
        try:
            r = Replay(name, spec, None)
            for d in r.delegates()[1:]:
                conf = rules.go_loads(d["bytes"])
                conf["cniVersion"] = "1.0.0"
                conf["type"] = "recorder"
                d["bytes"] = go_json(conf).encode()
                args, caps = r.rt(d)
                (tmp / "bin").mkdir(exist_ok=True)
                (tmp / "rec").mkdir(exist_ok=True)
                (tmp / "bin/recorder").write_text(RECORDER)
                os.chmod(tmp / "bin/recorder", 0o755)
                (tmp / "conf.json").write_bytes(d["bytes"])
                common = ["--conflist", str(tmp / "conf.json"), "--cache-dir", str(tmp / "cache"),
                          "--cni-path", str(tmp / "bin"), "--netns", "/var/run/netns/x",
                          "--ifname", d["ifname"], "--containerid", r.sandbox,
                          "--capabilities", json.dumps(caps), "--args", rules.cni_args_env(args)]
                add = subprocess.run([driver, "add", *common], capture_output=True, text=True)
                dele = subprocess.run([driver, "del", *common], capture_output=True, text=True)
                if not check(f"libcni: {name} {d['ifname']}: Debian's libcni runs ADD and DEL",
                             add.returncode == 0 and dele.returncode == 0, add.stdout + dele.stdout):
                    continue
                want_add = rules.libcni_conf(d["bytes"], caps).decode()
                result = rules.go_result(json.loads(add.stdout))
                want_del = rules.libcni_conf(d["bytes"], caps, result).decode()
                got_add = (tmp / "rec/ADD.stdin").read_text()
                got_del = (tmp / "rec/DEL.stdin").read_text()
                env = dict(line.split("=", 1) for line in (tmp / "rec/ADD.env").read_text().splitlines())
                check(f"libcni: {name} {d['ifname']}: ADD stdin byte for byte as rules.py builds it",
                      got_add == want_add, f"libcni:\n{got_add}\nrules.py:\n{want_add}")
                check(f"libcni: {name} {d['ifname']}: DEL stdin (cached prevResult) byte for byte",
                      got_del == want_del, f"libcni:\n{got_del}\nrules.py:\n{want_del}")
                check(f"libcni: {name} {d['ifname']}: CNI_ARGS as rules.py joins them",
                      env.get("CNI_ARGS") == rules.cni_args_env(args), env.get("CNI_ARGS", ""))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    global UPDATE
    argv = sys.argv[1:]
    if "--update" in argv:
        UPDATE = True
        argv.remove("--update")
    driver = None
    if "--libcni-check" in argv:
        i = argv.index("--libcni-check")
        driver = argv[i + 1]
        del argv[i:i + 2]
    if os.geteuid() != 0:
        print("multus-replay: needs root (network namespaces, mounts)")
        return 1
    names = argv or sorted(p.stem for p in CASES.glob("*.yaml"))
    if driver:
        libcni_check(driver, names)
    ovs_dir = os.environ.get("OVS_DIR")
    for name in names:
        spec = yaml.safe_load((CASES / f"{name}.yaml").read_text())
        if spec.get("ovs") and not ovs_dir:
            fail(f"{name}: needs OVS-DPDK (OVS_DIR not set)")
            continue
        r = Replay(name, spec, ovs_dir or "")
        try:
            r.run()
        finally:
            r.close()
    print(f"multus-replay: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
