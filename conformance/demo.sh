#!/bin/bash
# The main job (`make demo`): a walk-through for a person of what the plugins do on a node, on real
# devices, step by step. For each kind of attachment: the NetworkAttachmentDefinition, what Multus
# would hand the plugin (stdin and CNI_* variables, built with the Multus replay tier's rules), the
# plugin's result, what the pod has then, the VF's settings as its PF shows them, traffic with its
# counters, DEL, and the node compared with how it was before (the difference must be empty).
#
#   sriov  two pods with a kernel VF each, VLAN 100, host-local; they ping each other   (lab guest)
#   vfio   a DPDK pod's VF on vfio-pci: settings through the PF, the VFIO group device (lab guest)
#   vdpa   vdpa_sim_net devices: vhost (a char device) and virtio (a netdev in the pod) (lab guest)
#   ovs    two testpmd pods on OVS-DPDK vhost-user ports, OVS's port counters          (this machine)
#
# The first three run in the emulated SR-IOV lab (conformance/lab: a QEMU guest with an igb NIC and
# its VFs, vfio and vDPA), one boot for all of them; ovs on this machine's OVS-DPDK. Whatever is
# missing is set up first (the lab's packages, kernel and image; OVS-DPDK), as the test tiers do.
#
#   DEMO_PAUSE=1          wait for Enter before each step (needs a terminal)
#   DEMO_ONLY=PART[,...]  only these parts: sriov, vfio, vdpa, ovs
#   NFV_CNI_BIN_DIR       the plugins (default target/release: make build)
#   DEMO_KEEP=1           keep the scratch directory (the calls, results, logs)
#
# Ends with a table (step, result, time) and exits non-zero when any step failed. Everything it
# starts or creates is stopped and removed on exit, on failure and on Ctrl-C. Colour on a terminal.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates namespaces, starts OVS and QEMU)"; exit 1; }

DEMO_PAUSE=${DEMO_PAUSE:-0}
DEMO_ONLY=${DEMO_ONLY:-sriov,vfio,vdpa,ovs}
for p in ${DEMO_ONLY//,/ }; do
  case $p in sriov | vfio | vdpa | ovs) ;; *) echo "demo: DEMO_ONLY: unknown part '$p' (sriov, vfio, vdpa, ovs)"; exit 2 ;; esac
done
wants() { case ",$DEMO_ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

BIN_DIR=${NFV_CNI_BIN_DIR:-$ROOT/target/release}
for b in sriov vdpa userspace host-local; do
  [ -x "$BIN_DIR/$b" ] || { echo "demo: $BIN_DIR/$b is missing: make build"; exit 1; }
done
if [ "$DEMO_PAUSE" = 1 ] && ! (: < /dev/tty) 2> /dev/null; then
  echo "demo: DEMO_PAUSE=1 needs a terminal to read Enter from; running without pauses"
  DEMO_PAUSE=0
fi
# What the host side needs itself (the lab and OVS parts install theirs): python3 and its yaml module
# for the Multus replay tier's rules.
need=()
command -v python3 > /dev/null || need+=(python3)
python3 -c 'import yaml' 2> /dev/null || need+=(python3-yaml)
if [ ${#need[@]} -gt 0 ]; then
  echo "demo: installing ${need[*]} from Debian"
  if ! apt-get -o DPkg::Lock::Timeout=600 -qq update ||
    ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq install -y --no-install-recommends "${need[@]}" > /dev/null; then
    echo "demo: cannot install ${need[*]}"
    exit 1
  fi
fi
DEMO_OUT=$(mktemp -d /tmp/nfv-demo.XXXXXX)

# shellcheck source=conformance/demo/lib.sh
. "$ROOT/conformance/demo/lib.sh"
# shellcheck source=conformance/demo/lab-parts.sh
. "$ROOT/conformance/demo/lab-parts.sh"
# shellcheck source=conformance/demo/ovs-part.sh
. "$ROOT/conformance/demo/ovs-part.sh"

# Stop the lab (lab.sh, QEMU, set-up: one session), undo the OVS part, remove the scratch files.
demo_cleanup() {
  local i
  if [ -n "${LAB_PGID:-}" ]; then
    kill -TERM -- "-$LAB_PGID" 2> /dev/null
    for i in $(seq 50); do kill -0 -- "-$LAB_PGID" 2> /dev/null || break; sleep 0.2; done
    kill -KILL -- "-$LAB_PGID" 2> /dev/null
    LAB_PGID=
  fi
  demo_ovs_cleanup
  if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "demo: kept $DEMO_OUT"; else rm -rf "$DEMO_OUT"; fi
}
trap demo_cleanup EXIT
# Interrupted: the table of what ran so far, then the cleanup (EXIT).
demo_stop() {
  echo
  echo "demo: $1; cleaning up"
  DEMO_FAILED=$((DEMO_FAILED + 1))
  demo_summary
  exit "$2"
}
trap 'demo_stop interrupted 130' INT
trap 'demo_stop terminated 143' TERM

printf '%snfv-cni demo%s: what the plugins do to a node and its pods, step by step, on real devices.\n' "$C_TITLE" "$C_OFF"
echo "Parts: ${DEMO_ONLY//,/, }. Plugins from $BIN_DIR.$([ "$DEMO_PAUSE" = 1 ] && echo ' Pausing before each step: press Enter to go on.')"

cases=()
wants sriov && cases+=(01-sriov-netdev)
wants vfio && cases+=(02-sriov-vfio)
wants vdpa && cases+=(03-vdpa)
if [ ${#cases[@]} -gt 0 ]; then
  demo_lab "The emulated SR-IOV lab" \
    "A QEMU guest with an Intel 82576 (igb) SR-IOV NIC: its VFs on igbvf (kernel netdevs) and on vfio-pci (for DPDK), and vDPA devices from vdpa_sim_net. The node here is the guest; the steps run there with our release binaries, and their output appears as the guest writes it." \
    "${cases[@]}"
fi
wants ovs && demo_ovs

demo_summary
