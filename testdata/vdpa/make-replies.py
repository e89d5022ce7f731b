#!/usr/bin/env python3
"""Write nic-dev-dump.hex: the vdpa generic-netlink family's answer to VDPA_CMD_DEV_GET with
NLM_F_DUMP for the devices of testdata/sysfs/nic, one message per line in hex, laid out as the
kernel's vdpa_dev_fill() builds them (management device handle first, then name, device ID,
vendor ID, queue counts), little-endian. Run again after changing it:
    python3 testdata/vdpa/make-replies.py
"""
import os
import struct

FAMILY = 0x1B  # whatever the controller assigned; the parser does not look at it
NLM_F_MULTI = 2
VDPA_CMD_DEV_NEW = 3


def attr(kind, value):
    a = struct.pack("<HH", 4 + len(value), kind) + value
    return a + b"\0" * (-len(a) % 4)


def s(kind, text):
    return attr(kind, text.encode() + b"\0")


def u32(kind, n):
    return attr(kind, struct.pack("<I", n))


def u16(kind, n):
    return attr(kind, struct.pack("<H", n))


def dev(seq, name, bus, mgmt, vendor, max_vqs):
    attrs = b""
    if bus:
        attrs += s(1, bus)  # VDPA_ATTR_MGMTDEV_BUS_NAME
    attrs += s(2, mgmt)  # VDPA_ATTR_MGMTDEV_DEV_NAME
    attrs += s(4, name)  # VDPA_ATTR_DEV_NAME
    attrs += u32(5, 1)  # VDPA_ATTR_DEV_ID: virtio net
    attrs += u32(6, vendor)  # VDPA_ATTR_DEV_VENDOR_ID
    attrs += u32(7, max_vqs)  # VDPA_ATTR_DEV_MAX_VQS
    attrs += u16(8, 256)  # VDPA_ATTR_DEV_MAX_VQ_SIZE
    attrs += u16(9, 1)  # VDPA_ATTR_DEV_MIN_VQ_SIZE
    body = struct.pack("<BBH", VDPA_CMD_DEV_NEW, 1, 0) + attrs
    return struct.pack("<IHHII", 16 + len(body), FAMILY, NLM_F_MULTI, seq, 0) + body


msgs = [
    dev(2, "vdpa0", "pci", "0000:02:00.2", 0x15B3, 16),
    dev(2, "vdpa1", "pci", "0000:02:00.3", 0x15B3, 16),
    dev(2, "vdpa2", None, "vdpasim_net", 0, 3),  # the simulator: no bus
]
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "nic-dev-dump.hex"), "w") as f:
    for m in msgs:
        f.write(m.hex() + "\n")
