fn main() {
    nfv_cni::run(
        &sriov::Sriov::default(),
        "nfv-cni sriov plugin (SR-IOV VF, netdev mode)",
    )
}
