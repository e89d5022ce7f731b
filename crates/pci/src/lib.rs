//! PCI, SR-IOV and vDPA discovery from sysfs.
