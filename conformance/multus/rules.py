"""What Multus (thick or thin plugin, v4) and the libcni it links (v1.2) do between a pod, its
NetworkAttachmentDefinitions and a delegate plugin, written down as plain functions from
reading their sources (testdata/multus/README.md cites each file and commit). Nothing here
runs a plugin: replay.py does, with these functions' output.

Layers, in the order an ADD goes through them:
  selections()        the pod's k8s.v1.cni.cncf.io/networks annotation (JSON or comma form)
  delegate_bytes()    the NAD's spec.config with deviceID and pciBusID put in when the NAD's
                      resourceName pool gave the pod a device
  ifname()            net<index> unless the selection names an interface
  runtime_args()      CNI_ARGS pairs and capability args (mac, ips, deviceID, the device-info
                      file path Multus makes up when a device was allocated)
  libcni_conf()       libcni's stdin for the plugin: name and cniVersion put in, prevResult
                      for DEL, runtimeConfig holding the capability args the config declares
  network_status()    the pod annotation built from each delegate's result and device-info

Go's encoding/json writes every map with sorted keys and every struct in field order, and
escapes <, > and &: go_json() does the same, so byte comparisons hold.
"""

import base64
import ipaddress
import json
import re
from decimal import Decimal

DEVINFO_ROOT = "/var/run/k8s.cni.cncf.io/devinfo"
MULTUS_CNI_DIR = "/var/lib/cni/multus"  # types.defaultCNIDir: scratch cache and libcni cache


class GoMap(dict):
    """A JSON object decoded into Go's map[string]interface{}: encoded with sorted keys."""


def go_loads(text):
    """json.Unmarshal into interface{}: objects become GoMap (sorted on output), numbers float64."""
    return json.loads(text, object_pairs_hook=GoMap, parse_int=float)


def _go_float(f):
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError("Go's encoding/json refuses NaN and infinities")
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        s = repr(f)
        m = re.match(r"^(-?[0-9.]+)e([+-])0?([0-9]+)$", s)
        mant, sign, exp = m.group(1), m.group(2), m.group(3)
        if sign == "-" and len(exp) == 1:  # Go cleans e-09 to e-9 and keeps e+21
            return f"{mant}e-{exp}"
        return f"{mant}e{sign}{exp.zfill(2)}"
    s = format(Decimal(repr(f)), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def _go_string(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or ch in "<>&" or o in (0x2028, 0x2029):
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json(v, indent=None, _level=0):
    """encoding/json's Marshal (indent=None) or MarshalIndent(v, "", indent)."""
    nl = "" if indent is None else "\n"

    def pad(level):
        return "" if indent is None else indent * level

    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return _go_float(float(v))
    if isinstance(v, str):
        return _go_string(v)
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        items = [pad(_level + 1) + go_json(x, indent, _level + 1) for x in v]
        return "[" + nl + ("," + nl).join(items) + nl + pad(_level) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        keys = sorted(v) if isinstance(v, GoMap) else list(v)
        sep = ":" if indent is None else ": "
        items = [pad(_level + 1) + _go_string(k) + sep + go_json(v[k], indent, _level + 1) for k in keys]
        return "{" + nl + ("," + nl).join(items) + nl + pad(_level) + "}"
    raise TypeError(f"cannot encode {type(v)}")


# --- the pod's selections ------------------------------------------------------------------

SELECTION_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def selections(pod):
    """k8s.v1.cni.cncf.io/networks as Multus parses it (k8sclient parsePodNetworkAnnotation):
    a JSON list when the text has any of [ { ", else comma-separated [<ns>/]<name>[@<ifname>];
    a missing namespace is the pod's."""
    text = pod["metadata"].get("annotations", {}).get("k8s.v1.cni.cncf.io/networks", "")
    namespace = pod["metadata"].get("namespace", "default")
    if not text:
        return []
    if any(c in text for c in '[{"'):
        nets = json.loads(text)
        if isinstance(nets, dict):
            nets = [nets]
    else:
        nets = []
        for item in text.split(","):
            item = item.strip()
            parts = item.split("/")
            if len(parts) > 2:
                raise ValueError(f"invalid network object {item!r} (failed at '/')")
            ns, rest = (parts[0].strip(), parts[1]) if len(parts) == 2 else ("", parts[0])
            at = rest.split("@")
            if len(at) > 2:
                raise ValueError(f"invalid network object {item!r} (failed at '@')")
            name, ifn = at[0].strip(), (at[1].strip() if len(at) == 2 else "")
            for x in (ns, name, ifn):
                if x and not SELECTION_RE.match(x):
                    raise ValueError(f"{item!r}: {x!r} is not a DNS-1123 label")
            nets.append({"name": name, "namespace": ns, "interface": ifn})
    for n in nets:
        if not n.get("namespace"):
            n["namespace"] = namespace
    return nets


# --- the delegate --------------------------------------------------------------------------

def delegate_bytes(nad, device_id):
    """The delegate's config bytes (netutils.GetCNIConfig, types.LoadDelegateNetConf): the
    NAD's spec.config as written, re-encoded by Go only when something is put in: the name when
    missing, and deviceID + pciBusID (every plugin of a list) when a device was allocated."""
    raw = nad["spec"]["config"]
    conf = go_loads(raw)
    changed = False
    if not conf.get("name"):
        conf["name"] = nad["metadata"]["name"]
        changed = True
    if device_id:
        targets = conf["plugins"] if "plugins" in conf and not conf.get("type") else [conf]
        for p in targets:
            p["deviceID"] = device_id
            p["pciBusID"] = device_id
        changed = True
    return go_json(conf).encode() if changed else raw.encode()


def device_ids(nads, nets, allocation):
    """deviceID per selection: each NAD naming a resource takes that resource's next device ID
    the kubelet allocated to the pod (getKubernetesDelegate, ResourceInfo.Index)."""
    taken = {}
    out = []
    for net in nets:
        nad = nads[(net["namespace"], net["name"])]
        res = nad["metadata"].get("annotations", {}).get("k8s.v1.cni.cncf.io/resourceName")
        dev = None
        if res and res in allocation:
            i = taken.get(res, 0)
            if i < len(allocation[res]):
                dev = allocation[res][i]
                taken[res] = i + 1
        out.append((res, dev))
    return out


def ifname(net, index):
    """getIfname: the selection's interface, else net<index> (the cluster network is index 0)."""
    return net.get("interface") or f"net{index}"


def devinfo_path(delegate_name, container_id, ifn):
    """The CNIDeviceInfoFile Multus makes up for a delegate that got a device (delegateRuntimeConfig
    + nadutils.GetCNIDeviceInfoPath): <ns>-<nad>-<containerID>_<ifname>, no extension."""
    return f"{DEVINFO_ROOT}/cni/" + f"{delegate_name}-{container_id}_{ifn}".replace("/", "-")


def dp_devinfo_path(resource, device_id):
    """Where the device plugin leaves its file (nadutils getDPDeviceInfoPath)."""
    return f"{DEVINFO_ROOT}/dp/" + f"{resource.replace('/', '-')}-{device_id.replace('/', '-')}-device.json"


def runtime_args(pod, sandbox_id, ifn, net, device_id, delegate_name, container_id, runtime_cni_args=""):
    """CreateCNIRuntimeConf: the args pairs and capability args of one delegate.

    Args start with IgnoreUnknown=true and the four K8S_ keys; the CNI_ARGS Multus itself was
    called with (thin plugin: the runtime's; thick plugin: none) are appended pair by pair,
    filling an empty key or else added again. Capability args: the selection's mac and ips
    (mergeCNIRuntimeConfig), the allocated deviceID, and the made-up device-info path."""
    meta = pod["metadata"]
    args = [["IgnoreUnknown", "true"], ["K8S_POD_NAMESPACE", meta.get("namespace", "default")],
            ["K8S_POD_NAME", meta["name"]], ["K8S_POD_INFRA_CONTAINER_ID", sandbox_id],
            ["K8S_POD_UID", meta["uid"]]]
    for pair in filter(None, runtime_cni_args.split(";")):
        kv = pair.split("=", 1)
        if len(kv) != 2:
            continue
        for a in args:
            if a[0] == kv[0] and a[1] == "" and kv[1] != "":
                a[1] = kv[1]
                break
        else:
            args.append(kv)
    caps = {}
    if net.get("ips"):
        caps["ips"] = net["ips"]
    if net.get("mac"):
        caps["mac"] = net["mac"]
    if device_id:
        caps["deviceID"] = device_id
        caps["CNIDeviceInfoFile"] = devinfo_path(delegate_name, container_id, ifn)
    return args, caps


# --- libcni (v1.2): what the plugin reads ----------------------------------------------------

def libcni_conf(delegate, cap_args, prev_result=None):
    """buildOneConfig + injectRuntimeConfig for a single config: name and cniVersion (and
    prevResult) put in, then runtimeConfig = the capability args the config declares true,
    replacing any runtimeConfig the config had. Each step re-encodes the whole object."""
    conf = go_loads(delegate)
    conf["name"] = conf.get("name", "")
    conf["cniVersion"] = conf.get("cniVersion", "")
    if prev_result is not None:
        conf["prevResult"] = prev_result
    # InjectConf decodes what it was handed, so struct order survives only one encoding.
    conf = go_loads(go_json(conf))
    rc = GoMap({k: v for k, v in cap_args.items() if conf.get("capabilities", {}).get(k) is True})
    if rc:
        conf["runtimeConfig"] = go_loads(json.dumps(rc))
        return go_json(conf).encode()
    # Without runtimeConfig the bytes are those of the first InjectConf (prevResult in struct order).
    first = go_loads(delegate)
    first["name"] = first.get("name", "")
    first["cniVersion"] = first.get("cniVersion", "")
    if prev_result is not None:
        first["prevResult"] = prev_result
    return go_json(first).encode()


def cni_args_env(args):
    """invoke.Args: CNI_ARGS is K=V pairs joined by ';'."""
    return ";".join(f"{k}={v}" for k, v in args)


def _ip(s):
    return str(ipaddress.ip_address(s))


def _ipnet(s):
    ip, prefix = s.split("/")
    return f"{_ip(ip)}/{int(prefix)}"


def go_result(res):
    """The result as libcni's types/100 holds it (1.0.0 and 1.1.0 alike), in struct order:
    what it caches, hands back as prevResult and what Multus reads. Unknown keys are dropped."""
    out = {}
    if res.get("cniVersion"):
        out["cniVersion"] = res["cniVersion"]
    if res.get("interfaces"):
        out["interfaces"] = []
        for i in res["interfaces"]:
            o = {"name": i.get("name", "")}
            for k in ("mac", "mtu", "sandbox", "socketPath", "pciID"):
                if i.get(k):
                    o[k] = i[k]
            out["interfaces"].append(o)
    if res.get("ips"):
        out["ips"] = []
        for ip in res["ips"]:
            o = {}
            if ip.get("interface") is not None:
                o["interface"] = ip["interface"]
            o["address"] = _ipnet(ip["address"])
            if ip.get("gateway"):
                o["gateway"] = _ip(ip["gateway"])
            out["ips"].append(o)
    if res.get("routes"):
        out["routes"] = []
        for r in res["routes"]:
            o = {"dst": _ipnet(r["dst"])}
            if r.get("gw"):
                o["gw"] = _ip(r["gw"])
            for k in ("mtu", "advmss", "priority"):
                if r.get(k):
                    o[k] = r[k]
            for k in ("table", "scope"):
                if r.get(k) is not None:
                    o[k] = r[k]
            out["routes"].append(o)
    dns = res.get("dns") or {}
    out["dns"] = {k: dns[k] for k in ("nameservers", "domain", "search", "options") if dns.get(k)}
    return out


def cache_entry(container_id, ifn, net_name, conf_bytes, args, caps, netns, result):
    """libcni's cache file (<cacheDir>/results/<network>-<containerID>-<ifname>, kind cniCacheV1)."""
    return {"kind": "cniCacheV1", "containerId": container_id,
            "config": base64.b64encode(conf_bytes).decode(), "ifName": ifn, "networkName": net_name,
            "netns": netns, "cniArgs": args, "capabilityArgs": caps, "result": result}


# --- the network-status annotation -----------------------------------------------------------

DEVINFO_FIELDS = {
    "pci": ["pci-address", "vhost-net", "rdma-device", "pf-pci-address", "representor-device"],
    "vdpa": ["parent-device", "driver", "path", "pci-address", "pf-pci-address", "representor-device"],
    "vhost-user": ["mode", "path"],
    "memif": ["role", "path", "mode"],
}


def typed_devinfo(info):
    """A device-info file as the NAD client's DeviceInfo type holds it: the spec's fields only,
    in struct order; an extension object (ours: vfio, sriov, ...) does not survive."""
    if info is None:
        return None
    out = {}
    for k in ("type", "version"):
        if info.get(k):
            out[k] = info[k]
    for sub, fields in DEVINFO_FIELDS.items():
        if isinstance(info.get(sub), dict):
            out[sub] = {f: info[sub][f] for f in fields if info[sub].get(f)}
    return out


def _default_route(r):
    return r["dst"] in ("0.0.0.0/0", "::/0")


def _dns(d):
    return {k: d[k] for k in ("nameservers", "domain", "search", "options") if d.get(k)}


def network_statuses(result, name, default, devinfo):
    """nadutils.CreateNetworkStatuses: one interface -> the single-status rule (interface, mac
    and mtu only from an interface with a sandbox; every IP; default routes' gateways); any
    other count -> one status per sandbox interface, IPs by their interface index, none when no
    interface is in the sandbox. Struct order of NetworkStatus."""
    res = go_result(result)
    dev = typed_devinfo(devinfo)
    ifaces = res.get("interfaces", [])
    # net.IP(nil).String() is "<nil>": a default route without gw shows as that.
    gws = [r.get("gw", "<nil>") for r in res.get("routes", []) if _default_route(r)]
    if len(ifaces) == 1:
        st = {"name": name}
        for i in ifaces:
            if i.get("sandbox"):
                st["interface"], st["mac"], st["mtu"] = i["name"], i.get("mac", ""), i.get("mtu", 0)
        st["ips"] = [ip["address"].split("/")[0] for ip in res.get("ips", [])]
        st["default"] = default
        st["dns"] = _dns(res["dns"])
        st["device-info"] = dev
        st["gateway"] = gws
        return [_omit(st)]
    statuses, index = [], {}
    gw_idx = next((ip["interface"] for ip in res.get("ips", []) if ip.get("gateway") and "interface" in ip), -1) if default else -1
    first_done = set_default = False
    for i, iface in enumerate(ifaces):
        if not iface.get("sandbox"):
            continue
        is_default = False
        if default and i == gw_idx and not set_default:
            is_default = set_default = True
        if default and gw_idx == -1 and not first_done:
            is_default = first_done = True
        statuses.append({"name": name, "interface": iface["name"], "ips": [], "mac": iface.get("mac", ""),
                         "mtu": iface.get("mtu", 0), "default": is_default, "dns": _dns(res["dns"]),
                         "device-info": dev, "gateway": gws})
        index[i] = len(statuses) - 1
    for ip in res.get("ips", []):
        if "interface" in ip:
            if ip["interface"] in index:
                statuses[index[ip["interface"]]]["ips"].append(ip["address"].split("/")[0])
        elif statuses:
            statuses[-1]["ips"].append(ip["address"].split("/")[0])
    return [_omit(s) for s in statuses]


STATUS_FIELDS = ["name", "interface", "ips", "mac", "mtu", "default", "dns", "device-info", "gateway"]


def _omit(st):
    """NetworkStatus in field order, omitempty: name always, dns always (a struct), the rest
    when non-zero."""
    return {k: st[k] for k in STATUS_FIELDS if k in st and (k in ("name", "dns") or st[k])}


def annotation(statuses):
    """SetNetworkStatus: each status MarshalIndent'ed with four spaces, joined into a list."""
    return "[" + ",".join(go_json(s, indent="    ") for s in statuses) + "]"
