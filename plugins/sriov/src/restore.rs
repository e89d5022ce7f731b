//! Putting a VF back the way a [`Record`] says it was: shared by DEL, GC and ADD's rollback.
//! Every step is tried; failures are collected and reported together (STYLE.md 5), and a VF
//! already back in place is success. The netdev side is `nfv_podnet::take_back`.

use nfv_netlink::{Netlink, Netns};
use nfv_podnet::HostNetdev;

use crate::record::Record;

pub use nfv_podnet::is_device;

impl Record {
    /// The VF netdev as it was in the host before ADD.
    pub fn host_netdev(&self) -> HostNetdev {
        HostNetdev {
            name: self.host_ifname.clone(),
            mac: self.host_mac.clone(),
            mtu: self.host_mtu,
            up: self.host_up,
        }
    }
}

/// Put the VF settings on the PF back, then bring the VF netdev back to the host namespace
/// under its original name, with its original MAC and MTU. `pod_ns` is the pod's namespace
/// when it still exists. Returns the failures (empty: fully restored).
pub fn restore(host: &mut Netlink, pod_ns: Option<&Netns>, r: &Record) -> Vec<String> {
    let mut failures = Vec::new();
    let dev = r.device.as_str();

    // 1. VF settings first: with igb, the admin MAC must be back before the netdev's own.
    let settings = r.saved_vf.restore_settings();
    if !settings.is_empty() {
        match host.link_by_name(&r.pf_netdev) {
            Ok(pf) => {
                for s in &settings {
                    if let Err(e) = host.set_vf(pf.index, r.vf_index, s) {
                        failures.push(format!("restoring VF {dev}: {e}"));
                    }
                }
            }
            Err(e) => failures.push(format!(
                "restoring VF {dev} settings: PF {}: {e}",
                r.pf_netdev
            )),
        }
    }

    // 2. The netdev: name, namespace, MAC, MTU, admin state.
    failures.extend(
        nfv_podnet::take_back::take_back(host, pod_ns, &r.host_netdev(), &r.ifname, dev)
            .into_iter()
            .map(|f| format!("VF {f}")),
    );

    if let Some(f) = &r.device_info_file {
        if let Err(e) = crate::devinfo::remove(std::path::Path::new(f)) {
            failures.push(e);
        }
    }
    failures
}
