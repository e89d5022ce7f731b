fn main() {
    nfv_cni::run(
        &userspace::Userspace,
        "CNI userspace plugin (nfv-cni): OVS-DPDK vhost-user ports via OVSDB",
    )
}
