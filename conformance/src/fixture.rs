//! What the suites and the nfv-test-veth fixture (conformance/testplugin) share.

/// The fixture's host-side veth name for an attachment: stable per (container ID, ifname),
/// so the fixture's DEL finds it without state on disk, and a test can tell whether *this*
/// attachment left a link behind while other tests create theirs in parallel.
pub fn host_veth_name(container_id: &str, ifname: &str) -> String {
    // FNV-1a: short, deterministic, dependency-free.
    let mut h: u32 = 0x811c_9dc5;
    for b in container_id.bytes().chain([b'/']).chain(ifname.bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("nfvt{h:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_an_interface_name_and_differs_per_attachment() {
        let a = host_veth_name("ctr1", "net1");
        assert_eq!(a.len(), 12);
        assert_ne!(a, host_veth_name("ctr1", "net2"));
        assert_ne!(a, host_veth_name("ctr2", "net1"));
        assert_eq!(a, host_veth_name("ctr1", "net1"));
    }
}
