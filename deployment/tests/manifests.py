#!/usr/bin/env python3
"""Offline validation of every manifest we ship: deployment/examples/**/*.yaml and the rendered
kustomize overlays given as arguments (`kubectl kustomize` output).

- Kubernetes kinds (Pod, ConfigMap, DaemonSet): the OpenAPI schemas kubernetes-validate bundles,
  strict (unknown fields refused), at the oldest and newest Kubernetes versions below.
- NetworkAttachmentDefinition: the CRD's own schema (schemas/network-attachment-definition-v1.json,
  from network-attachment-definition-client), then what the CRD leaves to a string: `config` is a
  JSON object with cniVersion, a `name` equal to the NAD's, a `type` that is one of our plugins;
  the resourceName annotation names a pool of the device plugin ConfigMap.
- The device plugin ConfigMap's config.json: schemas/sriovdp-config.json.
- Across files: every network a pod selects is an example NAD; the pod requests the NAD's device
  pool (requests equal to limits, as extended resources must); DPDK pods (hugepages) have
  IPC_LOCK and a HugePages volume; the DaemonSets never reach the API (no token, no service
  account) and mount only /opt/cni/bin writable.
- The validators are not no-ops: a broken copy of a pod and of a NAD must be refused.

Prints one line per check and `manifests: N passed, N failed`; exit 1 on a failure.
"""

import copy
import json
import re
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "deployment" / "examples"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
# The oldest Kubernetes telco clusters commonly still run, and the newest bundled.
VERSIONS = ["1.27.0", "1.37.0"]
PLUGINS = {"sriov", "vdpa", "userspace", "host-local"}
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

passed = failed = 0


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"manifests: ok - {what}", flush=True)
    else:
        failed += 1
        print(f"manifests: FAILED - {what}" + (f"\n    {detail}" if detail else ""), flush=True)
    return cond


def k8s_errors(doc):
    """Errors of a built-in kind against each version's strict schema."""
    errors = []
    for v in VERSIONS:
        try:
            kubernetes_validate.validate(doc, v, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as e:
            errors.append(f"{v}: {getattr(e, 'message', e)}")
    return errors


def nad_errors(doc, schema, pools):
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]
    if errors:
        return errors
    name = doc.get("metadata", {}).get("name", "")
    if not (DNS1123_SUBDOMAIN.match(name) and len(name) <= 253):
        errors.append(f"metadata.name {name!r} is not a DNS-1123 subdomain")
    try:
        conf = json.loads(doc["spec"]["config"])
    except json.JSONDecodeError as e:
        return errors + [f"spec.config is not JSON: {e}"]
    if not isinstance(conf, dict):
        return errors + ["spec.config is not a JSON object"]
    if not conf.get("cniVersion"):
        errors.append("config has no cniVersion")
    if conf.get("name") != name:
        errors.append(f"config name {conf.get('name')!r} differs from the NAD's {name!r}")
    if conf.get("type") not in PLUGINS:
        errors.append(f"config type {conf.get('type')!r} is none of ours")
    ipam = conf.get("ipam", {}).get("type")
    if ipam and ipam not in PLUGINS:
        errors.append(f"ipam type {ipam!r} is none of ours")
    resource = doc["metadata"].get("annotations", {}).get("k8s.v1.cni.cncf.io/resourceName")
    if resource is not None and resource not in pools:
        errors.append(f"resourceName {resource} is no pool of the device plugin ConfigMap ({sorted(pools)})")
    return errors


def selections(pod):
    raw = pod["metadata"].get("annotations", {}).get("k8s.v1.cni.cncf.io/networks", "").strip()
    if not raw:
        return []
    if raw.startswith("["):
        return [s["name"] for s in json.loads(raw)]
    return [n.strip() for n in raw.split(",")]


def pod_errors(pod, nads):
    errors = []
    containers = pod["spec"]["containers"]
    for net in selections(pod):
        nad = nads.get(net)
        if nad is None:
            errors.append(f"selects network {net!r}, which is no example NAD")
            continue
        resource = nad["metadata"].get("annotations", {}).get("k8s.v1.cni.cncf.io/resourceName")
        if resource:
            asks = [c for c in containers
                    if c.get("resources", {}).get("limits", {}).get(resource)
                    and c["resources"].get("requests", {}).get(resource, c["resources"]["limits"][resource])
                    == c["resources"]["limits"][resource]]
            if not asks:
                errors.append(f"network {net} needs a device of {resource}: no container requests it "
                              "(requests equal to limits)")
    for c in containers:
        limits = c.get("resources", {}).get("limits", {})
        if any(k.startswith("hugepages-") for k in limits):
            caps = c.get("securityContext", {}).get("capabilities", {}).get("add", [])
            if "IPC_LOCK" not in caps:
                errors.append(f"container {c['name']} uses hugepages without IPC_LOCK")
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            huge = [v for v in pod["spec"].get("volumes", [])
                    if v.get("emptyDir", {}).get("medium", "").startswith("HugePages") and v["name"] in mounts]
            if not huge:
                errors.append(f"container {c['name']} has no HugePages volume mounted")
    return errors


def workspace_version():
    for line in (ROOT / "Cargo.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    return None


def daemonset_errors(ds):
    errors = []
    spec = ds["spec"]["template"]["spec"]
    want = f"localhost/nfv-cni:{workspace_version()}"
    for c in spec.get("initContainers", []) + spec["containers"]:
        if c["image"] != want:
            errors.append(f"{c['name']} runs {c['image']}, not the image make image tags ({want})")
    if spec.get("automountServiceAccountToken") is not False or spec.get("serviceAccountName"):
        errors.append("the pod may reach the API (a token is mounted or a service account named)")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec.get("initContainers", []) + spec["containers"]:
        for m in c.get("volumeMounts", []):
            path = volumes[m["name"]].get("hostPath", {}).get("path")
            if path != "/opt/cni/bin" and not m.get("readOnly"):
                errors.append(f"{c['name']} mounts {path} writable")
        if c.get("securityContext", {}).get("capabilities", {}).get("drop") != ["ALL"]:
            errors.append(f"{c['name']} keeps capabilities")
    args = spec["initContainers"][0].get("args", [])
    if args[:1] not in (["install"], ["uninstall"]) or not args[1].startswith("--plugins="):
        errors.append(f"init container args {args}")
    return errors


def main(rendered):
    nad_schema = json.loads((SCHEMAS / "network-attachment-definition-v1.json").read_text())
    dp_schema = json.loads((SCHEMAS / "sriovdp-config.json").read_text())
    docs = []
    for path in sorted(EXAMPLES.rglob("*.yaml")) + [Path(p) for p in rendered]:
        for doc in yaml.safe_load_all(Path(path).read_text()):
            if doc:
                docs.append((Path(path).resolve().relative_to(ROOT), doc))

    pools = set()
    for path, doc in docs:
        if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == "sriovdp-config":
            config = json.loads(doc["data"]["config.json"])
            errs = [e.message for e in jsonschema.Draft202012Validator(dp_schema).iter_errors(config)]
            check(f"{path}: config.json is a valid sriov-network-device-plugin config", not errs, "; ".join(errs))
            pools |= {f"{r.get('resourcePrefix', 'intel.com')}/{r['resourceName']}" for r in config["resourceList"]}
    nads = {d["metadata"]["name"]: d for _, d in docs if d.get("kind") == "NetworkAttachmentDefinition"}

    for path, doc in docs:
        kind, name = doc.get("kind"), doc.get("metadata", {}).get("name")
        where = f"{path}: {kind} {name}"
        if kind == "NetworkAttachmentDefinition":
            errs = nad_errors(doc, nad_schema, pools)
            check(f"{where}: the CRD's schema, and a config for one of our plugins", not errs, "; ".join(errs))
            continue
        errs = k8s_errors(doc)
        check(f"{where}: Kubernetes {' and '.join(VERSIONS)} schemas (strict)", not errs, "; ".join(errs))
        if kind == "Pod":
            errs = pod_errors(doc, nads)
            check(f"{where}: its networks are example NADs and it asks for what they need", not errs, "; ".join(errs))
        if kind == "DaemonSet":
            errs = daemonset_errors(doc)
            check(f"{where}: the image make image writes, no API access, no capabilities, only /opt/cni/bin writable", not errs, "; ".join(errs))

    # The validators must refuse what is broken.
    pod = next(d for _, d in docs if d.get("kind") == "Pod")
    broken = copy.deepcopy(pod)
    broken["spec"]["containers"][0]["resources"]["limits"] = ["not", "a", "map"]
    check("a pod with a list for limits is refused", len(k8s_errors(broken)) == len(VERSIONS))
    broken = copy.deepcopy(pod)
    broken["spec"]["containers"][0]["securityContext"]["capabilitys"] = {}
    check("a pod with a misspelt field is refused (strict)", len(k8s_errors(broken)) == len(VERSIONS))
    nad = copy.deepcopy(next(iter(nads.values())))
    nad["spec"]["config"] = {"cniVersion": "1.1.0"}
    check("a NAD whose config is an object, not a string, is refused", nad_errors(nad, nad_schema, pools))
    nad["spec"]["config"] = json.dumps({"cniVersion": "1.1.0", "name": "other", "type": "sriov"})
    check("a NAD whose config names another network is refused", nad_errors(nad, nad_schema, pools))

    print(f"manifests: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
