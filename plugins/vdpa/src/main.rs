fn main() {
    nfv_cni::run(
        &vdpa::VdpaPlugin::default(),
        "nfv-cni vdpa plugin (vhost_vdpa char device or virtio_vdpa netdev)",
    )
}
