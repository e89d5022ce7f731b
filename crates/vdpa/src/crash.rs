//! Crash points for the crash tests: with the `test-hooks` feature, `crash_point("x")` kills
//! the process with SIGKILL when NFV_VDPA_CRASH_AT is "x". Without the feature (every real
//! build) it compiles to nothing and the variable means nothing.

/// The points ADD passes in virtio mode, in order: the record, nfv-podnet's steps of giving
/// the netdev to the pod ([`nfv_podnet::give::STEPS`], so a step podnet adds is crashed at
/// too), IPAM, the addresses, the device-info file.
pub fn virtio_add_points() -> Vec<&'static str> {
    let mut points = vec!["after-record"];
    points.extend_from_slice(nfv_podnet::give::STEPS);
    points.extend(["after-ipam", "after-addresses", "after-device-info"]);
    points
}

/// The points ADD passes in vhost mode, in order.
pub const VHOST_ADD_POINTS: &[&str] = &["after-record", "after-ipam", "after-device-info"];

/// nfv-crashpoint's crash point under this plugin's variable, NFV_VDPA_CRASH_AT.
#[inline(always)]
pub fn crash_point(name: &str) {
    nfv_crashpoint::crash_point("NFV_VDPA_CRASH_AT", name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn virtio_points_are_the_record_podnets_steps_then_ours() {
        assert_eq!(
            super::virtio_add_points(),
            [
                "after-record",
                "after-set-down",
                "after-set-mac",
                "after-move",
                "after-mtu",
                "after-up",
                "after-ipam",
                "after-addresses",
                "after-device-info",
            ]
        );
    }
}
