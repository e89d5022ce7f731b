#!/usr/bin/env python3
"""What Multus hands a delegate plugin at ADD for one pod of the demo, built with the same
rules as the Multus replay tier (conformance/multus/rules.py): the pod's networks annotation,
deviceID and pciBusID put into the NAD's config when the NAD's resource pool gave the pod a
device, libcni's name/cniVersion/runtimeConfig, Multus's CNI_ARGS and the device-info path it
makes up.

  multus_call.py MANIFEST POD SANDBOX_ID DEVICE_ID OUT_PREFIX [POD_UID]

MANIFEST holds the NAD(s) and the pod (multi-document YAML); DEVICE_ID is what the device plugin
allocated ("" when none; the lab passes a placeholder the guest replaces with the VF's PCI
address, which only the guest knows). Writes OUT_PREFIX.stdin (the exact bytes) and
OUT_PREFIX.env (CNI_* lines; CNI_NETNS and CNI_PATH as @NETNS@ and @CNI_PATH@ for the caller).
POD_UID stands in for the pod's metadata.uid (the API server's) when the manifest has none.
"""

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "multus"))
import rules  # noqa: E402


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__)
    manifest, pod_name, sandbox, device_id, out = sys.argv[1:6]
    docs = [d for d in yaml.safe_load_all(Path(manifest).read_text()) if d]
    for d in docs:
        d["metadata"].setdefault("namespace", "default")
    pods = [d for d in docs if d["kind"] == "Pod" and d["metadata"]["name"] == pod_name]
    if len(pods) != 1:
        sys.exit(f"{manifest}: no single pod named {pod_name}")
    pod = pods[0]
    if len(sys.argv) == 7:
        pod["metadata"]["uid"] = sys.argv[6]
    nads = {(d["metadata"]["namespace"], d["metadata"]["name"]): d
            for d in docs if d["kind"] == "NetworkAttachmentDefinition"}
    nets = rules.selections(pod)
    if len(nets) != 1:
        sys.exit(f"{manifest}: pod {pod_name} selects {len(nets)} networks; the demo shows one")
    net = nets[0]
    nad = nads[(net["namespace"], net["name"])]
    resource = nad["metadata"].get("annotations", {}).get("k8s.v1.cni.cncf.io/resourceName")
    allocation = {resource: [device_id]} if resource and device_id else {}
    (_, dev), = rules.device_ids(nads, nets, allocation)
    delegate = rules.delegate_bytes(nad, dev)
    ifn = rules.ifname(net, 1)
    name = f"{net['namespace']}/{net['name']}"
    args, caps = rules.runtime_args(pod, sandbox, ifn, net, dev, name, sandbox)
    Path(out + ".stdin").write_bytes(rules.libcni_conf(delegate, caps))
    # In the order the Multus replay tier writes them (testdata/multus/expected/*/*.env).
    env = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": sandbox, "CNI_NETNS": "@NETNS@",
           "CNI_ARGS": rules.cni_args_env(args), "CNI_IFNAME": ifn, "CNI_PATH": "@CNI_PATH@"}
    Path(out + ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))


if __name__ == "__main__":
    main()
