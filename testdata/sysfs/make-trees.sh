#!/bin/sh
# Build the fake sysfs trees the nfv-pci unit tests read. The trees are committed (git keeps
# symlinks); run this again after changing it:  sh testdata/sysfs/make-trees.sh
#
# Layout follows the real kernel's: devices live under devices/, bus/pci/devices/<addr> and
# class/net/<name> are relative symlinks to them, a VF has physfn -> its PF, a PF has
# virtfnN -> its VFs, driver -> bus/<bus>/drivers/<name>, iommu_group -> kernel/iommu_groups/N.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
R="$here/nic"
rm -rf "$R"
mkdir -p "$R"

# put FILE CONTENT
put() { mkdir -p "$(dirname "$1")"; printf '%s\n' "$2" > "$1"; }
# link TARGET NAME (relative symlink, like sysfs)
link() { mkdir -p "$(dirname "$2")" "$1"; ln -sr "$1" "$2"; }

pci_dev() { # pci_dev PARENT ADDR VENDOR DEVICE
    d="$R/devices/$1/$2"
    put "$d/vendor" "$3"
    put "$d/device" "$4"
    link "$d" "$R/bus/pci/devices/$2"
}
driver() { # driver DEVDIR BUS NAME
    put "$R/bus/$2/drivers/$3/uevent" "DRIVER=$3"
    ln -sr "$R/bus/$2/drivers/$3" "$1/driver"
}
netdev() { # netdev DEVDIR NAME MAC
    put "$1/net/$2/address" "$3"
    ln -s "../../../$(basename "$1")" "$1/net/$2/device"   # as the kernel writes it
    link "$1/net/$2" "$R/class/net/$2"
}
iommu() { # iommu DEVDIR GROUP [NAME]
    put "$R/kernel/iommu_groups/$2/type" "DMA"
    [ $# -gt 2 ] && put "$R/kernel/iommu_groups/$2/name" "$3"
    ln -sr "$R/kernel/iommu_groups/$2" "$1/iommu_group"
}

# An Intel 82576 (igb) PF with 5 of 7 VFs enabled, VFs bound to different drivers.
B=pci0000:00/0000:00:02.0
PF="$R/devices/$B/0000:01:00.0"
pci_dev "$B" 0000:01:00.0 0x8086 0x10c9
driver "$PF" pci igb
netdev "$PF" enp1s0 52:54:00:12:34:56
iommu "$PF" 10
put "$PF/sriov_numvfs" 5
put "$PF/sriov_totalvfs" 7
i=0
for vf in 0000:01:10.0 0000:01:10.2 0000:01:10.4 0000:01:10.6 0000:01:11.0; do
    pci_dev "$B" "$vf" 0x8086 0x10ca
    ln -sr "$R/devices/$B/$vf" "$PF/virtfn$i"
    ln -sr "$PF" "$R/devices/$B/$vf/physfn"
    i=$((i + 1))
done
V="$R/devices/$B"
driver "$V/0000:01:10.0" pci igbvf;           netdev "$V/0000:01:10.0" enp1s0v0 c6:1a:2b:3c:4d:50; iommu "$V/0000:01:10.0" 11
driver "$V/0000:01:10.2" pci vfio-pci;        iommu "$V/0000:01:10.2" 12
driver "$V/0000:01:10.4" pci vfio-pci;        iommu "$V/0000:01:10.4" 0 vfio-noiommu
: # 0000:01:10.6 is bound to no driver
driver "$V/0000:01:11.0" pci igb_uio

# A device that is not SR-IOV at all.
pci_dev pci0000:00 0000:00:1f.0 0x8086 0x2918

# A PF whose VFs carry vDPA devices: one on vhost_vdpa, one on virtio_vdpa.
B2=pci0000:00/0000:00:03.0
PF2="$R/devices/$B2/0000:02:00.0"
pci_dev "$B2" 0000:02:00.0 0x15b3 0x101d
driver "$PF2" pci mlx5_core
netdev "$PF2" enp2s0f0 52:54:00:aa:bb:00
put "$PF2/sriov_numvfs" 2
put "$PF2/sriov_totalvfs" 8
i=0
for vf in 0000:02:00.2 0000:02:00.3; do
    pci_dev "$B2" "$vf" 0x15b3 0x101e
    driver "$R/devices/$B2/$vf" pci mlx5_core
    ln -sr "$R/devices/$B2/$vf" "$PF2/virtfn$i"
    ln -sr "$PF2" "$R/devices/$B2/$vf/physfn"
    i=$((i + 1))
done
D0="$R/devices/$B2/0000:02:00.2/vdpa0"
put "$D0/uevent" "DEVTYPE=vdpa"
driver "$D0" vdpa vhost_vdpa
put "$D0/vhost-vdpa-0/dev" "236:0"
link "$D0" "$R/bus/vdpa/devices/vdpa0"
D1="$R/devices/$B2/0000:02:00.3/vdpa1"
put "$D1/uevent" "DEVTYPE=vdpa"
driver "$D1" vdpa virtio_vdpa
put "$D1/virtio1/net/eth5/address" 52:54:00:aa:bb:05
ln -s ../../../virtio1 "$D1/virtio1/net/eth5/device"
link "$D1/virtio1/net/eth5" "$R/class/net/eth5"
link "$D1" "$R/bus/vdpa/devices/vdpa1"

# The vdpa_sim_net simulator: a vDPA device without a PCI parent.
D2="$R/devices/vdpasim_net/vdpa2"
put "$D2/uevent" "DEVTYPE=vdpa"
driver "$D2" vdpa vhost_vdpa
put "$D2/vhost-vdpa-1/dev" "236:1"
link "$D2" "$R/bus/vdpa/devices/vdpa2"
