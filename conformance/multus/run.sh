#!/usr/bin/env bash
# make multus-replay: every case of testdata/multus/cases through Multus's and libcni's rules
# (conformance/multus/rules.py) into the release binaries, libcni's part checked against
# Debian's libcni, userspace against a real OVS-DPDK. Needs root. Binaries: $NFV_CNI_BIN_DIR
# (default target/release).
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf 'multus-replay: %s\n' "$*"; }
start=$(date +%s)

APT=(apt-get -o DPkg::Lock::Timeout=600 -q)
missing=()
for p in python3-yaml containernetworking-plugins iproute2 util-linux golang-go golang-github-appc-cni-dev; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  "${APT[@]}" update >/dev/null
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
export STATIC_DIR=${NFV_CNI_BIN_DIR:-$PWD/target/release}
for p in host-local sriov vdpa userspace; do
  [ -x "$STATIC_DIR/$p" ] || { say "$STATIC_DIR/$p missing: run make build"; exit 1; }
done

work=$(mktemp -d /tmp/nfvmr.XXXXXX)
# shellcheck source=conformance/ovs/ovs.sh
source conformance/ovs/ovs.sh
trap 'ovs_stop; rm -rf "$work"' EXIT
say "building the libcni driver (Debian's libcni v1.1.2) for the libcni check"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$work/gocache go build -o "$work/cnidriver" ./conformance/libcni/
ovs_install
say "starting OVS-DPDK for the userspace cases"
ovs_start "$work/ovs"
status=0
OVS_DIR=$work/ovs /usr/bin/python3 conformance/multus/replay.py --libcni-check "$work/cnidriver" "$@" || status=1
say "took $(( $(date +%s) - start )) s"
exit $status
