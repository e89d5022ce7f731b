//! host-local: the CNI IPAM plugin. All logic is in the library.
fn main() {
    nfv_cni::run(&host_local::HostLocal, host_local::ABOUT)
}
