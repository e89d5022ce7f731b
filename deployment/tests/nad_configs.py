#!/usr/bin/env python3
"""Every NetworkAttachmentDefinition in deployment/examples/, run through the real static plugin
binary the way Multus would run it for the example pod that uses it.

For each NAD and its pod:
  - the delegate config Multus hands the plugin: the NAD's `config`, `deviceID` from the device
    plugin's allocation (the NAD's resourceName pool, see below), `runtimeConfig` for the
    capabilities the config declares (mac from the pod's selection; CNIDeviceInfoFile under
    /var/run/k8s.cni.cncf.io/devinfo/cni/ only with a device, as Multus), CNI_ARGS with IgnoreUnknown=1 and the pod's
    K8S_POD_NAMESPACE/NAME/INFRA_CONTAINER_ID/UID, CNI_IFNAME from the selection ("net1" when it
    names none), CNI_PATH the static binaries (host-local for IPAM);
  - a scratch node: a host network namespace with veths standing in for the PF and VF
    netdevs and the virtio_vdpa netdev, a fake sysfs describing the pool's device the way the
    kernel does (VF on iavf, on vfio-pci with an IOMMU group or in no-IOMMU mode, VFs carrying
    vDPA devices on vhost_vdpa / virtio_vdpa), and for userspace a real ovsdb-server and
    ovs-vswitchd-dpdk (conformance/ovs/ovs.sh); the plugin runs in a private mount namespace
    where the fake sysfs is /sys and scratch directories are /var/lib, /var/log, /run's
    device-info tree and /run/openvswitch, so the config's own paths are used unchanged;
  - ADD, then what the pod and the node have (interface, MAC, MTU, address in the pod; device-info
    file; log file; OVS port), CHECK with the ADD result as prevResult, DEL, the node as before,
    DEL again.

A veth cannot take VF settings through a PF (vlan, spoofchk, trust, rates, admin MAC): a config
that has them is first run as it is, and must get past validation to the first VF setting, which
the veth refuses (error 121 naming it) with nothing left behind; then it runs without those
fields (and without runtimeConfig.mac, an admin MAC on the PF) to attach. The lab
(conformance/lab, real igb VFs) proves the VF settings themselves.

Prints one line per step, `nad-configs: N passed, N failed` at the end; exit 1 on a failure.
Needs root (namespaces, mounts), util-linux and iproute2.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "deployment" / "examples"
BIN = Path(os.environ.get("STATIC_DIR", ROOT / "target/x86_64-unknown-linux-gnu/release")).resolve()
DEVINFO = "/var/run/k8s.cni.cncf.io/devinfo/cni"

# The VF settings a veth PF refuses; runtimeConfig.mac is an admin MAC on the PF as well.
VF_SETTINGS = ["vlan", "vlanQoS", "vlanProto", "spoofchk", "trust", "link_state",
               "min_tx_rate", "max_tx_rate", "mac"]

# What each device plugin pool hands out, as the node's sysfs shows it. Checked against the
# pool's selectors in the device plugin ConfigMap (drivers, vdpaType) before use.
POOLS = {
    "intel.com/sriov_netdevice": "netdev",
    "intel.com/sriov_dpdk": "vfio",
    "intel.com/sriov_dpdk_vm": "vfio-noiommu",
    "nvidia.com/vdpa_vhost": "vdpa-vhost",
    "nvidia.com/vdpa_virtio": "vdpa-virtio",
}
PF, PF_NETDEV = "0000:3b:00.0", "ens1f0"
VF_BY_KIND = {  # pci address, VF index, netdev (kernel driver modes)
    "netdev": ("0000:3b:02.1", 1, "ens1f0v1"),
    "vfio": ("0000:3b:02.2", 2, None),
    "vfio-noiommu": ("0000:3b:02.3", 3, None),
    "vdpa-vhost": ("0000:3b:02.4", 4, None),
    "vdpa-virtio": ("0000:3b:02.5", 5, "eth_vdpa1"),
}

passed = failed = 0


def ok(what):
    global passed
    passed += 1
    print(f"nad-configs: ok - {what}", flush=True)


def fail(what, detail=""):
    global failed
    failed += 1
    print(f"nad-configs: FAILED - {what}" + (f"\n    {detail}" if detail else ""), flush=True)


def check(what, cond, detail=""):
    (ok if cond else lambda w: fail(w, detail))(what)
    return cond


def sh(*args, check=True, **kw):
    return subprocess.run(args, check=check, capture_output=True, text=True, **kw)


def load_docs():
    docs = []
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.relative_to(ROOT), doc))
    return docs


def pod_selections(pod):
    """The pod's network selections: [(name, {interface, mac, ...})]."""
    raw = pod["metadata"].get("annotations", {}).get("k8s.v1.cni.cncf.io/networks", "")
    raw = raw.strip()
    if raw.startswith("["):
        return [(s["name"], s) for s in json.loads(raw)]
    return [(n.strip(), {}) for n in raw.split(",") if n.strip()]


class Node:
    """A scratch node: host netns with veths, fake sysfs, scratch /var/lib, /var/log, devinfo."""

    seq = 0

    def __init__(self, kind):
        Node.seq += 1
        tag = f"{os.getpid()}-{Node.seq}"
        self.dir = Path(tempfile.mkdtemp(prefix="nfvex-"))
        self.host, self.pod = f"nfvexh-{tag}", f"nfvexp-{tag}"
        for sub in ["sys", "varlib/cni", "varlog/nfv-cni", "devinfo/cni", "keep-netns", "ovs"]:
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        sh("ip", "netns", "add", self.host)
        sh("ip", "netns", "add", self.pod)
        self.kind = kind
        self.vf, self.vf_index, self.vf_netdev = VF_BY_KIND[kind]
        self.veth(PF_NETDEV)
        if self.vf_netdev:
            self.veth(self.vf_netdev)
        self.sysfs()

    def veth(self, name):
        sh("ip", "-n", self.host, "link", "add", name, "type", "veth", "peer", "name", name[:9] + "p")
        sh("ip", "-n", self.host, "link", "set", name, "mtu", "1500")

    def link(self, target, at):
        at.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, at)

    def pci(self, addr, driver):
        s = self.dir / "sys"
        d = s / "devices/pci0000:00" / addr
        d.mkdir(parents=True)
        self.link(f"../../../devices/pci0000:00/{addr}", s / "bus/pci/devices" / addr)
        (s / "bus/pci/drivers" / driver).mkdir(parents=True, exist_ok=True)
        self.link(f"../../../bus/pci/drivers/{driver}", d / "driver")
        return d

    def sysfs(self):
        s = self.dir / "sys"
        pf = self.pci(PF, "ice")
        (pf / "net" / PF_NETDEV).mkdir(parents=True)
        (pf / "sriov_numvfs").write_text("8\n")
        driver = {"netdev": "iavf", "vfio": "vfio-pci", "vfio-noiommu": "vfio-pci"}.get(self.kind, "mlx5_core")
        vf = self.pci(self.vf, driver)
        self.link(f"../{self.vf}", pf / f"virtfn{self.vf_index}")
        self.link(f"../{PF}", vf / "physfn")
        if self.kind == "netdev":
            (vf / "net" / self.vf_netdev).mkdir(parents=True)
        if self.kind.startswith("vfio"):
            group = s / "kernel/iommu_groups/40"
            (group / "devices").mkdir(parents=True)
            if self.kind == "vfio-noiommu":
                (group / "name").write_text("vfio-noiommu\n")
            self.link("../../../kernel/iommu_groups/40", vf / "iommu_group")
        if self.kind.startswith("vdpa"):
            for drv in ["vhost_vdpa", "virtio_vdpa"]:
                (s / "bus/vdpa/drivers" / drv).mkdir(parents=True, exist_ok=True)
            dev = vf / "vdpa0"
            if self.kind == "vdpa-vhost":
                (dev / "vhost-vdpa-0").mkdir(parents=True)
                self.link("../../../../bus/vdpa/drivers/vhost_vdpa", dev / "driver")
            else:
                (dev / "virtio0/net" / self.vf_netdev).mkdir(parents=True)
                self.link("../../../../bus/vdpa/drivers/virtio_vdpa", dev / "driver")
            self.link(f"../../../devices/pci0000:00/{self.vf}/vdpa0", s / "bus/vdpa/devices/vdpa0")

    def run(self, plugin, command, conf, env, ovs_dir=None):
        """The plugin binary as the runtime runs it; returns (exit code, stdout JSON or None).
        `conf` is a JSON value, or a str handed over byte for byte; `plugin` a name in BIN or a path."""
        d = self.dir
        script = "\n".join([
            "set -e",
            f"mount --rbind /run/netns {d}/keep-netns",
            "mount -t tmpfs nfv-run /run",
            "mkdir -p /run/netns /run/k8s.cni.cncf.io/devinfo /run/openvswitch",
            f"mount --rbind {d}/keep-netns /run/netns",
            f"mount --bind {d}/devinfo /run/k8s.cni.cncf.io/devinfo",
            f"mount --bind {ovs_dir or d / 'ovs'} /run/openvswitch",
            f"mount --bind {d}/sys /sys",
            f"mount --bind {d}/varlib /var/lib",
            f"mount --bind {d}/varlog /var/log",
            # vhost mode: the char device the vhost_vdpa driver would have made (never opened)
            *(["mount -t tmpfs nfv-dev /dev", "mknod /dev/null c 1 3", "mknod /dev/urandom c 1 9",
               "mknod /dev/vhost-vdpa-0 c 511 0"] if self.kind == "vdpa-vhost" else []),
            f"exec {BIN / plugin}",
        ])
        full_env = {"PATH": os.environ["PATH"], "CNI_COMMAND": command, "CNI_PATH": str(BIN), **env}
        if command in ("ADD", "CHECK", "DEL"):
            full_env["CNI_NETNS"] = f"/var/run/netns/{self.pod}"
        p = subprocess.run(
            ["nsenter", f"--net=/run/netns/{self.host}", "--", "unshare", "--mount",
             "--propagation", "private", "--", "sh", "-c", script],
            input=conf if isinstance(conf, str) else json.dumps(conf), capture_output=True, text=True, env=full_env, timeout=120)
        out = json.loads(p.stdout) if p.stdout.strip() else None
        if p.returncode != 0 and p.stderr.strip():
            print("    stderr: " + p.stderr.strip().replace("\n", "\n    "), flush=True)
        return p.returncode, out

    def ip(self, ns, *args):
        return sh("ip", "-n", ns, "-j", *args, check=False)

    def link_in(self, ns, name):
        r = self.ip(ns, "-d", "link", "show", "dev", name)
        return json.loads(r.stdout)[0] if r.returncode == 0 else None

    def addrs_in_pod(self, name):
        r = self.ip(self.pod, "addr", "show", "dev", name)
        if r.returncode != 0:
            return []
        return [f"{a['local']}/{a['prefixlen']}" for a in json.loads(r.stdout)[0]["addr_info"] if a["family"] == "inet"]

    def leases(self, network):
        d = self.dir / "varlib/cni/networks" / network
        if not d.is_dir():
            return []
        return sorted(p.name for p in d.iterdir() if p.name[0].isdigit() or ":" in p.name)

    def close(self):
        sh("ip", "netns", "del", self.pod, check=False)
        sh("ip", "netns", "del", self.host, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def delegate_conf(nad_conf, selection, device_id, devinfo_file):
    """What Multus hands the delegate for this NAD and pod selection."""
    conf = json.loads(json.dumps(nad_conf))
    caps = conf.get("capabilities", {})
    if device_id:
        conf["deviceID"] = device_id
    rc = {}
    if caps.get("mac") and selection.get("mac"):
        rc["mac"] = selection["mac"]
    if caps.get("ips") and selection.get("ips"):
        rc["ips"] = selection["ips"]
    if caps.get("deviceID") and device_id:
        rc["deviceID"] = device_id
    # Multus makes up a device-info path only for a delegate that got a device (its
    # delegateRuntimeConfig, pkg/types/conf.go: when the merged runtime config has a deviceID),
    # and libcni passes it on only when the config declares the capability.
    if caps.get("CNIDeviceInfoFile") and device_id:
        rc["CNIDeviceInfoFile"] = devinfo_file
    if rc:
        conf["runtimeConfig"] = rc
    return conf


def pool_kind(resource, device_plugin):
    kind = POOLS.get(resource)
    pools = {f"{p.get('resourcePrefix', 'intel.com')}/{p['resourceName']}": p
             for p in device_plugin["resourceList"]}
    pool = pools.get(resource)
    if kind is None or pool is None:
        return None, f"{resource}: no pool in the device plugin ConfigMap or no fake device for it"
    sel = pool["selectors"][0] if isinstance(pool["selectors"], list) else pool["selectors"]
    drivers, vdpa = sel.get("drivers", []), sel.get("vdpaType")
    consistent = {
        "netdev": "vfio-pci" not in drivers and vdpa is None,
        "vfio": drivers == ["vfio-pci"] and vdpa is None,
        "vfio-noiommu": drivers == ["vfio-pci"] and vdpa is None,
        "vdpa-vhost": vdpa == "vhost",
        "vdpa-virtio": vdpa == "virtio",
    }[kind]
    return (kind, None) if consistent else (None, f"{resource}: selectors {sel} do not describe a {kind} device")


def validate(nad_path, nad, pod, device_plugin, ovs_dir):
    name = nad["metadata"]["name"]
    nad_conf = json.loads(nad["spec"]["config"])
    plugin = nad_conf["type"]
    selection = next(s for n, s in pod_selections(pod) if n == name)
    ifname = selection.get("interface", "net1")
    resource = nad["metadata"].get("annotations", {}).get("k8s.v1.cni.cncf.io/resourceName")
    kind = None
    if resource:
        kind, why = pool_kind(resource, device_plugin)
        if not check(f"{name}: pool {resource} is a {kind} pool in the device plugin ConfigMap", kind, why):
            return
    label = f"{name} ({plugin}{', ' + kind if kind else ''})"
    if plugin == "userspace" and not ovs_dir:
        fail(f"{label}: needs OVS-DPDK (OVS_DIR not set)")
        return
    node = Node(kind or "netdev")
    try:
        run_attachment(node, label, name, plugin, nad_conf, selection, ifname, ovs_dir, pod)
    finally:
        node.close()


def run_attachment(node, label, name, plugin, nad_conf, selection, ifname, ovs_dir, pod):
    cid = f"{os.getpid():x}{Node.seq:x}".ljust(64, "0")
    devinfo = f"{DEVINFO}/{cid}-{ifname}-device.json"
    conf = delegate_conf(nad_conf, selection, node.vf if plugin != "userspace" else None, devinfo)
    env = {
        "CNI_CONTAINERID": cid,
        "CNI_IFNAME": ifname,
        "CNI_ARGS": ";".join([
            "IgnoreUnknown=1", "K8S_POD_NAMESPACE=default",
            f"K8S_POD_NAME={pod['metadata']['name']}",
            f"K8S_POD_INFRA_CONTAINER_ID={cid}", "K8S_POD_UID=0b6f1c5e-5a4e-4c1e-9d55-0c0ffee00001"]),
    }
    network = nad_conf["name"]
    devinfo_local = node.dir / "devinfo/cni" / f"{cid}-{ifname}-device.json"

    settings = [k for k in VF_SETTINGS if k in conf]
    if plugin == "sriov" and (settings or conf.get("runtimeConfig", {}).get("mac")):
        code, err = node.run(plugin, "ADD", conf, env, ovs_dir)
        msg = (err or {}).get("msg", "")
        check(f"{label}: the config as Multus passes it gets past validation and the VF lookup in "
              f"sysfs to the PF's VF table, which a veth does not have (code {(err or {}).get('code')}: {msg[:70]})",
              code != 0 and (err or {}).get("code") == 121, json.dumps(err))
        check(f"{label}: that refused ADD left nothing behind (VF netdev home, no lease, no record, "
              f"no device-info file)",
              (node.vf_netdev is None or node.link_in(node.host, node.vf_netdev) is not None)
              and not node.leases(network) and not devinfo_local.exists()
              and not any((node.dir / "varlib/cni/nfv-sriov").glob("*.json")),
              f"leases {node.leases(network)}")
        for k in settings:
            conf.pop(k)
        conf.get("runtimeConfig", {}).pop("mac", None)
        label += f", without {', '.join(settings + (['runtimeConfig.mac'] if selection.get('mac') else []))}"

    code, result = node.run(plugin, "ADD", conf, env, ovs_dir)
    if not check(f"{label}: ADD succeeds", code == 0 and result and "interfaces" in result,
                 json.dumps(result)):
        node.run(plugin, "DEL", conf, env, ovs_dir)
        return
    iface = result["interfaces"][0]
    addr = (result.get("ips") or [{}])[0].get("address", "")
    subnet = nad_conf["ipam"]["ranges"][0][0]["subnet"]
    prefix = subnet.split("/")[0].rsplit(".", 1)[0] + "."
    check(f"{label}: result in cniVersion {nad_conf['cniVersion']}, interface {iface.get('name')}, address {addr}",
          result.get("cniVersion") == nad_conf["cniVersion"] and iface.get("name") == ifname
          and addr.startswith(prefix) and node.leases(network) == [addr.split("/")[0]],
          json.dumps(result))
    info = json.loads(devinfo_local.read_text()) if devinfo_local.exists() else {}
    if "CNIDeviceInfoFile" in conf.get("runtimeConfig", {}):
        want_type = {"sriov": "pci", "vdpa": "vdpa", "userspace": "vhost-user"}[plugin]
        check(f"{label}: device-info file written under {DEVINFO}/ (type {info.get('type')})",
              info.get("type") == want_type, json.dumps(info))
    else:
        # No device, so Multus asks for no device-info file, whatever the capabilities say: the
        # plugin must not make one up (its socket path is in the result and next to the socket).
        written = sorted(p.name for p in (node.dir / "devinfo").rglob("*") if p.is_file())
        check(f"{label}: no device was allocated, so no CNIDeviceInfoFile was passed and no "
              f"device-info file was written", not written, f"written: {written}")

    kind = node.kind
    if plugin == "sriov" and kind == "netdev" or plugin == "vdpa" and kind == "vdpa-virtio":
        link = node.link_in(node.pod, ifname)
        want_mtu = nad_conf.get("mtu", 1500)
        want_mac = conf.get("runtimeConfig", {}).get("mac")
        check(f"{label}: the pod has {ifname} (mtu {link and link.get('mtu')}, mac {link and link.get('address')}) "
              f"with {node.addrs_in_pod(ifname)}",
              link is not None and link.get("mtu") == want_mtu and (not want_mac or link.get("address") == want_mac)
              and addr in node.addrs_in_pod(ifname) and node.link_in(node.host, node.vf_netdev) is None,
              json.dumps(link))
    if kind and kind.startswith("vfio"):
        vfio = info.get("vfio", {})
        want = "/dev/vfio/noiommu-40" if kind == "vfio-noiommu" else "/dev/vfio/40"
        check(f"{label}: device-info names the vfio group device {vfio.get('device')} (noiommu {vfio.get('noiommu')})",
              vfio.get("device") == want and vfio.get("noiommu") == (kind == "vfio-noiommu"), json.dumps(info))
    if kind == "vdpa-vhost":
        check(f"{label}: the result and device-info name /dev/vhost-vdpa-0",
              info.get("vdpa", {}).get("path") == "/dev/vhost-vdpa-0", json.dumps(info))
    if plugin == "userspace":
        vsctl = ["ovs-vsctl", f"--db=unix:{ovs_dir}/db.sock", "--timeout=10"]
        port = iface.get("socketPath", "").rsplit("/", 1)[-1]
        row = sh(*vsctl, "--format=json", "--columns=type,options", "list", "Interface", port, check=False)
        tag = sh(*vsctl, "get", "Port", port, "tag", check=False).stdout.strip()
        bridge = sh(*vsctl, "port-to-br", port, check=False).stdout.strip()
        want_bridge = nad_conf["host"]["bridge"]["bridgeName"]
        want_tag = str(nad_conf["host"]["bridge"].get("vlanId", "[]"))
        check(f"{label}: OVS has port {port} on {bridge}, tag {tag}, dpdkvhostuserclient on {iface.get('socketPath')}",
              row.returncode == 0 and "dpdkvhostuserclient" in row.stdout and iface.get("socketPath", "") in row.stdout
              and bridge == want_bridge and tag == want_tag, row.stdout + row.stderr)
    if plugin == "userspace":
        sockdir = node.dir / "varlib/cni/usrspcni" / cid[:12]
        check(f"{label}: the pod's socket directory {nad_conf['sharedDir']}/{cid[:12]}/ exists",
              sockdir.is_dir())
        # Where the pod finds its socket without a device-info file (the example pod's comment
        # says so): next to it, configData-*.json names its file and <socket>.json its path.
        sock = iface.get("socketPath", "")
        cfg = sockdir / f"configData-{cid[:12]}-{ifname}.json"
        own = sockdir / (sock.rsplit("/", 1)[-1] + ".json")
        cfg_data = json.loads(cfg.read_text()) if cfg.is_file() else {}
        own_data = json.loads(own.read_text()) if own.is_file() else {}
        check(f"{label}: next to the socket, {cfg.name} names its file and {own.name} its path {sock}",
              bool(sock) and cfg_data.get("config", {}).get("vhost", {}).get("socketfile") == sock.rsplit("/", 1)[-1]
              and own_data.get("socketPath") == sock, json.dumps([cfg_data, own_data])[:400])
    if "logFile" in nad_conf:
        log = node.dir / "varlog" / Path(nad_conf["logFile"]).relative_to("/var/log")
        check(f"{label}: logFile {nad_conf['logFile']} opened by the plugin "
              f"({log.stat().st_size if log.is_file() else 'no'} bytes at logLevel {nad_conf.get('logLevel')})",
              log.is_file())

    check_conf = dict(conf, prevResult=result)
    code, out = node.run(plugin, "CHECK", check_conf, env, ovs_dir)
    check(f"{label}: CHECK with the ADD result as prevResult succeeds", code == 0, json.dumps(out))

    code, out = node.run(plugin, "DEL", conf, env, ovs_dir)
    home = node.vf_netdev is None or (node.link_in(node.host, node.vf_netdev) or {}).get("mtu") == 1500
    check(f"{label}: DEL succeeds and the node is as before (device home, lease released, "
          f"device-info file removed)",
          code == 0 and home and not node.leases(network) and not devinfo_local.exists(),
          json.dumps(out))
    if plugin == "userspace":
        vsctl = ["ovs-vsctl", f"--db=unix:{ovs_dir}/db.sock", "--timeout=10"]
        left = sh(*vsctl, "list-br", check=False).stdout.split()
        check(f"{label}: OVS holds no port or bridge of ours after DEL, the socket directory is gone",
              left == [] and not (node.dir / "varlib/cni/usrspcni" / cid[:12]).exists(), f"bridges {left}")
    code, out = node.run(plugin, "DEL", conf, env, ovs_dir)
    check(f"{label}: DEL again succeeds", code == 0, json.dumps(out))


def main():
    if os.geteuid() != 0:
        print("nad-configs: needs root (network namespaces, mounts)")
        return 1
    docs = load_docs()
    nads = [(p, d) for p, d in docs if d.get("kind") == "NetworkAttachmentDefinition"]
    pods = [d for _, d in docs if d.get("kind") == "Pod"]
    cms = [d for _, d in docs if d.get("kind") == "ConfigMap" and d["metadata"]["name"] == "sriovdp-config"]
    device_plugin = json.loads(cms[0]["data"]["config.json"])
    only = set(sys.argv[1:])
    for path, nad in nads:
        name = nad["metadata"]["name"]
        if only and name not in only:
            continue
        users = [p for p in pods if any(n == name for n, _ in pod_selections(p))]
        if not check(f"{name} ({path}): an example pod uses it", users):
            continue
        validate(path, nad, users[0], device_plugin, os.environ.get("OVS_DIR"))
    print(f"nad-configs: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
